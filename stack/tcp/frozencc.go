package tcp

import (
	"time"

	"stacklab/stack/tcp/cc"
)

// frozenCC stands in for the congestion controller of a connection in
// TIME_WAIT revived from its packed form (timewait.go): everything it
// sent is acknowledged and it will send nothing more, so its window can
// only be read (the JSON trace's variables). It keeps the last values
// and ignores every event.
type frozenCC struct {
	name           string
	cwnd, ssthresh int
	inSlowStart    bool
}

func (f *frozenCC) Name() string                      { return f.name }
func (f *frozenCC) SetMSS(int)                        {}
func (f *frozenCC) Cwnd() int                         { return f.cwnd }
func (f *frozenCC) Ssthresh() int                     { return f.ssthresh }
func (f *frozenCC) InSlowStart() bool                 { return f.inSlowStart }
func (f *frozenCC) InRecovery() bool                  { return false }
func (f *frozenCC) OnAck(cc.Ack)                      {}
func (f *frozenCC) EnterRecovery(time.Time, int)      {}
func (f *frozenCC) Inflate(int)                       {}
func (f *frozenCC) Deflate(int)                       {}
func (f *frozenCC) ExitRecovery(time.Time, int)       {}
func (f *frozenCC) OnRTO(time.Time, int)              {}
func (f *frozenCC) OnIdle(time.Time, time.Duration)   {}
func (f *frozenCC) Undo(priorCwnd, priorSsthresh int) {}
