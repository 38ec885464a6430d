package tcp

import "stacklab/stack/core"

// series reports the connection's variables as an EventSeries when one
// of them changed since the last report. It is called after each
// segment, timer and socket call that may change them; when no observer
// takes series (Net.Series) it costs one call of that.
func (c *Conn) series() {
	if c.cc == nil || !c.p.net.Series() {
		return
	}
	v := core.TCPVars{
		Cwnd: c.cwnd(), Ssthresh: c.cc.Ssthresh(),
		SRTT: c.srtt, RTTVar: c.rttDev(), RTO: c.rto,
		InFlight: int(c.sndUna.Size(c.sndNxt)),
		SndWnd:   int(c.sndWnd),
		CAState:  "open",
	}
	if v.Ssthresh >= 1<<30 {
		v.Ssthresh = -1
	}
	if c.inRecovery && c.sb != nil && c.sackRecovery() {
		v.InFlight = c.sb.Pipe(c.sndNxt)
	} else if c.rackOn() {
		v.InFlight = c.pipe() // SACKed and lost data is not in flight (rack.go)
	}
	if w := c.rcvAdv - c.rcvNxt; int32(w) > 0 {
		v.RcvWnd = int(w)
	}
	switch {
	case c.backoff > 0:
		v.CAState = "loss"
	case c.inRecovery:
		v.CAState = "recovery"
	case c.dupAcks > 0 || c.rackOn() && c.ls != nil && c.ls.sacked > 0:
		v.CAState = "disorder"
	}
	if c.lastVars == nil {
		c.lastVars = new(core.TCPVars)
	} else if *c.lastVars == v {
		return
	}
	*c.lastVars = v
	// One event and one set of variables per Proto, reused: observers do
	// not retain events, and a new one per segment was the capture's
	// largest allocation.
	p := c.p
	p.seriesVars = v
	p.seriesEv = core.Event{Kind: core.EventSeries, FD: -1, Proto: "tcp", Conn: c.tuple, Vars: &p.seriesVars}
	p.net.Observe(&p.seriesEv)
}
