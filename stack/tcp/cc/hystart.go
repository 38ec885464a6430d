package cc

import (
	"time"

	"stacklab/stack/tcp/seqnum"
)

// HyStart++ (RFC 9406) constants, the RFC's recommended values.
const (
	hsMinRTTThresh  = 4 * time.Millisecond
	hsMaxRTTThresh  = 16 * time.Millisecond
	hsMinRTTDivisor = 8
	hsNRTTSample    = 8
	hsCSSGrowthDiv  = 4
	hsCSSRounds     = 5
	hsInfiniteRTT   = time.Duration(1<<63 - 1)
)

// HyStartPhase is where HyStart++ stands in the initial slow start.
type HyStartPhase uint8

// The phases of RFC 9406 §4.
const (
	// HyStartSlowStart is standard slow start, watching the round's
	// minimum RTT.
	HyStartSlowStart HyStartPhase = iota
	// HyStartCSS is Conservative Slow Start: growth divided by 4 while
	// the RTT stays raised, for at most 5 rounds.
	HyStartCSS
	// HyStartDone means the initial slow start is over (CSS ended it, or
	// a loss did), or HyStart++ is off.
	HyStartDone
)

// HyStartState describes HyStart++ for the trace. Transitions counts
// changes of Phase, so that the engine can report each.
type HyStartState struct {
	Phase                        HyStartPhase
	Transitions                  int
	LastRoundMinRTT, RoundMinRTT time.Duration
	Threshold, Baseline          time.Duration
	CSSRounds                    int
}

// HyStarter is implemented by controllers that run HyStart++ (both
// built-in ones); the engine reads it for the trace.
type HyStarter interface {
	HyStart() HyStartState
}

// hystart is RFC 9406's state; it is part of base.
type hystart struct {
	st        HyStartState
	windowEnd seqnum.Value
	started   bool
	samples   int
	div       int // growth divisor for this ACK: 1, or 4 in CSS
}

// HyStart implements [HyStarter].
func (b *base) HyStart() HyStartState { return b.hs.st }

func (b *base) hsInit(off bool) {
	b.hs = hystart{div: 1}
	b.hs.st.LastRoundMinRTT, b.hs.st.RoundMinRTT, b.hs.st.Baseline = hsInfiniteRTT, hsInfiniteRTT, hsInfiniteRTT
	if off {
		b.hs.st.Phase = HyStartDone
	}
}

// hsEnd ends HyStart++ for good: a loss or timeout set ssthresh, so
// later slow starts are standard (RFC 9406 §4.3).
func (b *base) hsEnd() {
	if b.hs.st.Phase != HyStartDone {
		b.hs.st.Phase = HyStartDone
		b.hs.st.Transitions++
	}
	b.hs.div = 1
}

// hsAck runs RFC 9406 §4.2 for one ACK in the initial slow start and
// sets the growth divisor for it.
func (b *base) hsAck(a Ack) {
	h := &b.hs
	h.div = 1
	if h.st.Phase == HyStartDone || b.ssthresh != InfiniteSsthresh || a.Nxt == 0 && a.Una == 0 {
		return
	}
	// A round ends when the ACK passes the SND.NXT noted at its start.
	if !h.started || h.windowEnd.LessThanEq(a.Una) {
		h.started = true
		h.windowEnd = a.Nxt
		h.st.LastRoundMinRTT = h.st.RoundMinRTT
		h.st.RoundMinRTT = hsInfiniteRTT
		h.samples = 0
		if h.st.Phase == HyStartCSS {
			h.st.CSSRounds++
			if h.st.CSSRounds >= hsCSSRounds {
				// CSS lasted CSS_ROUNDS: leave slow start.
				b.ssthresh = b.cwnd
				b.hsEnd()
				return
			}
		}
	}
	if a.RTT > 0 {
		h.st.RoundMinRTT = min(h.st.RoundMinRTT, a.RTT)
		h.samples++
	}
	switch h.st.Phase {
	case HyStartSlowStart:
		if h.samples >= hsNRTTSample && h.st.RoundMinRTT != hsInfiniteRTT && h.st.LastRoundMinRTT != hsInfiniteRTT {
			thresh := min(max(h.st.LastRoundMinRTT/hsMinRTTDivisor, hsMinRTTThresh), hsMaxRTTThresh)
			if h.st.RoundMinRTT >= h.st.LastRoundMinRTT+thresh {
				h.st.Threshold = thresh
				h.st.Baseline = h.st.RoundMinRTT
				h.st.CSSRounds = 0
				h.st.Phase = HyStartCSS
				h.st.Transitions++
			}
		}
	case HyStartCSS:
		if h.samples >= hsNRTTSample && h.st.RoundMinRTT < h.st.Baseline {
			// The RTT fell back: the rise was not the queue filling.
			h.st.Baseline = hsInfiniteRTT
			h.st.Phase = HyStartSlowStart
			h.st.Transitions++
		}
	}
	if h.st.Phase == HyStartCSS {
		h.div = hsCSSGrowthDiv
	}
}
