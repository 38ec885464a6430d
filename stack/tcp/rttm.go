package tcp

import (
	"math"
	"time"

	"stacklab/stack/tcp/seqnum"
)

// Round-trip time measurement and the retransmission timeout.
//
// Without timestamps the engine times one segment per round trip and
// drops the measurement when that segment is retransmitted (Karn's
// rule, RFC 6298 §3). With timestamps (RTTM, RFC 7323 §4) every ACK that
// advances SND.UNA gives a sample: the time since we sent the TSval it
// echoes. Only such ACKs may: a receiver echoes the TSval of the last
// segment that advanced its RCV.NXT (RFC 7323 §4.3), so while a hole is
// open every duplicate ACK echoes the same, ever older, TSval, and
// sampling them would grow SRTT and RTTVAR with the length of the loss
// episode. Once the hole is filled, the ACK echoes the TSval of the
// segment that filled it (a retransmission carries a fresh TSval), so
// the sample is a true round trip and retransmitted data is timed too.
// The receiver's echo of the earliest unacknowledged segment makes the
// samples include its ACK delay, as the RTO must.
//
// One echo is not a round trip even so: when the RTO resends data the
// receiver already holds (its ACKs were lost), the receiver rejects the
// duplicate as out of window before it would record its TSval
// (RFC 7323 §5.3 R2 before R3, as Linux does), so its answer, which
// advances SND.UNA, echoes the TSval of the original transmission and
// would time the whole timeout series. So after an RTO, echoes older than
// the TSval at that timeout give no sample, as Karn's rule would have it,
// until an echo shows the receiver has seen a later segment.
//
// Many samples per round trip would shorten the history that RFC 6298's
// gains keep, so with timestamps the gains are divided by the number of
// samples expected per window, ceil(FlightSize / (2·SMSS)) for a
// receiver that ACKs every second segment (RFC 7323 Appendix G).

// The linux profile measures and smooths as Linux does (tcp_ack_update_rtt,
// tcp_rtt_estimator, __tcp_set_rto), which differs from the RFCs in
// three ways, each checked with tcp_info on Linux 6.18:
//   - Every ACK gives a sample, with or without timestamps: the time
//     since the oldest segment it newly acknowledges cumulatively was
//     sent, unless it acknowledges one ever resent (Karn); failing
//     that, since the lowest segment it newly SACKs that was never
//     resent; failing that, when it advances SND.UNA, its timestamp
//     echo, in whole milliseconds and at least 1. Send times are exact,
//     so a sub-millisecond path has a sub-millisecond SRTT.
//   - Each sample weighs 1/8 in SRTT however many come per round trip
//     (no RFC 7323 Appendix G division). The deviation (mdev) follows
//     the error with a gain of 1/4, a fall in RTT counting an eighth as
//     much; the RTO's variance term (rttvar) takes the largest deviation
//     of each round trip, at least RTOMin, and falls a quarter of the way
//     back to it once a round trip.
//   - RTO = SRTT + rttvar, in whole ticks: with a steady RTT that is
//     SRTT + RTOMin, as the RFC's SRTT + max(4·RTTVAR, RTOMin); they part
//     when the RTT moves within a round trip.
// tcp_info reports SRTT and mdev/4 (tcpi_rtt, tcpi_rttvar). See
// testdata/pkt/rto/rtt-every-ack.pkt (GSO packet sizes follow the SRTT
// of samples 10, 20 and 30 ms old, which one timed segment a round trip
// never saw), rtt-sub-ms-timestamps.pkt and rtt-resent-timed-by-echo.pkt.

// linuxAckRTT takes the RTT sample of an ACK as Linux's
// tcp_ack_update_rtt chooses it, after the cumulative ACK and the SACK
// blocks have marked the retransmission queue (ls.seqRTT, ls.sackRTT),
// feeds it to Linux's estimator and returns it, or -1 if the ACK gives
// none.
func (c *Conn) linuxAckRTT(s *segment, advanced bool) time.Duration {
	ls := c.ls
	m := ls.seqRTT
	if m < 0 {
		m = ls.sackRTT
	}
	if m < 0 && advanced {
		if r, ok := c.tsRTT(s); ok {
			m = r
		}
	}
	if m < 0 {
		return -1
	}
	una := c.sndUna
	if advanced {
		una = s.ack // Linux moves snd_una before it cleans the queue
	}
	// tcpi_min_rtt takes ca_rtt_us: the newest segment acknowledged.
	if ca := ls.ackRTT; ls.seqRTT >= 0 && ca > 0 {
		c.tiRTT(ca)
	} else {
		c.tiRTT(m)
	}
	c.linuxEstimate(m, una)
	return m
}

// linuxEstimate takes sample r into SRTT, mdev and rttvar as Linux's
// tcp_rtt_estimator, in its integer microseconds, and sets the RTO. una
// is SND.UNA after the ACK.
func (c *Conn) linuxEstimate(r time.Duration, una seqnum.Value) {
	m := int64(r / time.Microsecond)
	srtt8 := c.srttUs8()
	rtoMin := int64(c.p.cfg.RTOMin / time.Microsecond)
	rttvar := int64(c.rttvar / time.Microsecond)
	mdev, mdevMax := int64(c.mdev), int64(c.mdevMax)
	if srtt8 == 0 {
		srtt8, mdev = m<<3, m<<1 // the RTO starts at 3 RTT
		rttvar = max(mdev, rtoMin)
		mdevMax = rttvar
		c.rttSeqL = c.sndMax
	} else {
		m -= srtt8 >> 3 // the error
		srtt8 += m      // 7/8 SRTT + 1/8 the sample
		if m < 0 {
			m = -m - mdev>>2
			if m > 0 {
				m >>= 3 // a fall in RTT moves mdev an eighth as much
			}
		} else {
			m -= mdev >> 2
		}
		mdev += m // 3/4 mdev + 1/4 |error|
		if mdev > mdevMax {
			mdevMax = mdev
			rttvar = max(rttvar, mdevMax)
		}
		if c.rttSeqL.LessThan(una) {
			// A round trip has passed: rttvar falls toward the
			// largest deviation it saw.
			if mdevMax < rttvar {
				rttvar -= (rttvar - mdevMax) >> 2
			}
			c.rttSeqL = c.sndMax
			mdevMax = rtoMin
		}
	}
	c.srtt = time.Duration(max(srtt8, 1)) * (time.Microsecond / 8)
	c.rttvar = time.Duration(rttvar) * time.Microsecond
	c.mdev, c.mdevMax = uint32(min(max(mdev, 0), math.MaxUint32)), uint32(min(mdevMax, math.MaxUint32))
	c.rto = c.computeRTO()
}

// srttUs8 is SRTT in eighths of a microsecond, as Linux keeps it
// (srtt_us), which its pacing rate divides by.
func (c *Conn) srttUs8() int64 { return int64(c.srtt / (time.Microsecond / 8)) }

// rttDev is the RTT's deviation as the connection reports it (Stats,
// the time series, tcp_info's tcpi_rttvar): RFC 6298's RTTVAR, or under
// the linux profile Linux's mdev/4, as tcp_info gives it, not the RTO's
// variance term.
func (c *Conn) rttDev() time.Duration {
	if c.linux() {
		return time.Duration(c.mdev>>2) * time.Microsecond
	}
	return c.rttvar
}

// tsRTT returns the RTT sample given by the timestamp that s echoes
// (RFC 7323 §4.1), with 1 ms resolution. It reports false when s echoes
// none, or a value we cannot have sent within the last RTOMax.
func (c *Conn) tsRTT(s *segment) (time.Duration, bool) {
	if !c.tsOK || !s.opts.HasTS || s.opts.TSEcr == 0 {
		return 0, false // Linux too ignores a zero TSecr
	}
	if c.rtoTSSet {
		if int32(s.opts.TSEcr-c.rtoTS) < 0 {
			return 0, false // echoes a transmission from before the RTO
		}
		c.rtoTSSet = false
	}
	d := int32(c.p.tsNow() + c.tsOffset - s.opts.TSEcr)
	if d == 0 && c.linux() {
		d = 1 // tcp_rtt_tsopt_us: at least one tick of the clock
	}
	r := time.Duration(d) * time.Millisecond
	if d < 0 || r > c.p.cfg.RTOMax {
		return 0, false
	}
	return r, true
}

// expectedSamples returns how many RTT samples a window of flight bytes
// gives (RFC 7323 Appendix G): one per two segments with timestamps,
// one otherwise.
func (c *Conn) expectedSamples(flight int) int {
	if !c.tsOK {
		return 1
	}
	m := 2 * c.sendMSS()
	return max(1, (flight+m-1)/m)
}

// updateRTO takes an RTT sample r (RFC 6298 §2), one of k expected per
// round trip (RFC 7323 Appendix G: α and β divided by k).
func (c *Conn) updateRTO(r time.Duration, k int) {
	if c.linux() {
		// The handshake's sample, or an ACK's before any data was
		// sent; the others come through linuxAckRTT.
		c.tiRTT(r)
		c.linuxEstimate(max(r, 0), c.sndUna)
		return
	}
	if r <= 0 {
		r = time.Microsecond
	}
	c.tiRTT(r)
	switch {
	case c.srtt == 0:
		c.srtt, c.rttvar = r, r/2
	case k <= 1:
		d := c.srtt - r
		if d < 0 {
			d = -d
		}
		c.rttvar = (3*c.rttvar + d) / 4
		c.srtt = (7*c.srtt + r) / 8
	default:
		d := c.srtt - r
		if d < 0 {
			d = -d
		}
		c.rttvar += (d - c.rttvar) / time.Duration(4*k)
		c.srtt += (r - c.srtt) / time.Duration(8*k)
	}
	c.rto = c.computeRTO()
}
