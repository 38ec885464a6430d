package tcp

import "time"

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
