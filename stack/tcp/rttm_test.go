package tcp

import (
	"bytes"
	"testing"
	"time"
)

// TestSimultaneousOpenTSRecent checks that the SYN-ACK that completes a
// simultaneous open updates TS.Recent (RFC 7323 §4.3): the next segment
// echoes its TSval, not the one of the peer's SYN.
func TestSimultaneousOpenTSRecent(t *testing.T) {
	j := newInj(t, Config{})
	c, err := j.h.p.Connect(j.me, j.peer, nil)
	if err != nil {
		t.Fatal(err)
	}
	iss := uint32(j.next().seq)
	j.send(segSpec{seq: 7000, flags: flagSYN, wnd: 1000,
		opts: options{HasMSS: true, MSS: 1000, HasTS: true, TSVal: 100}})
	if sa := j.expect(flagSYN|flagACK, iss, 7001); sa.opts.TSEcr != 100 {
		t.Fatalf("SYN-ACK echoes %d, want 100", sa.opts.TSEcr)
	}
	j.send(segSpec{seq: 7000, ack: iss + 1, flags: flagSYN | flagACK, wnd: 1000,
		opts: options{HasMSS: true, MSS: 1000, HasTS: true, TSVal: 150, TSEcr: 1}})
	if c.State() != Established {
		t.Fatal(c.State())
	}
	j.h.out = nil
	c.Write([]byte("x"))
	if s := j.expect(flagACK|flagPSH, iss+1, 7001); s.opts.TSEcr != 150 {
		t.Fatalf("first data segment echoes %d, want 150 (the SYN-ACK's TSval)", s.opts.TSEcr)
	}
	// A segment with a TSval older than the SYN-ACK's fails PAWS.
	j.send(segSpec{seq: 7001, ack: iss + 2, flags: flagACK, wnd: 1000,
		opts: options{HasTS: true, TSVal: 120}, payload: []byte("y")})
	if a := j.next(); a.why != whyPAWS {
		t.Fatalf("old TSval answered with %v", a)
	}
}

// TestRTTFromTimestamps checks RTT measurement with timestamps
// (RFC 7323 §4): duplicate ACKs, which echo the TSval of the last
// in-order segment however old it is, give no sample; the ACK of
// retransmitted data gives one (the echo tells which transmission it
// answers, where Karn's rule must skip it), with the gains of RFC 7323
// Appendix G. The linux profile takes the same samples, each with a
// gain of 1/8 (Linux's tcp_rtt_estimator; the retransmission's ACK is
// timed by its echo, tcp_ack_update_rtt's fallback).
func TestRTTFromTimestamps(t *testing.T) {
	for _, profile := range []string{ProfileRFC, ProfileLinux} {
		t.Run(profile, func(t *testing.T) { testRTTFromTimestamps(t, profile) })
	}
}

func testRTTFromTimestamps(t *testing.T, profile string) {
	j := newInj(t, Config{Profile: profile})
	c, iss := j.handshake(options{HasMSS: true, MSS: 1000, HasTS: true, TSVal: 1})
	if srtt := c.Info().SRTT; srtt > time.Millisecond {
		t.Fatalf("SRTT %v after an instant handshake", srtt)
	}
	// Ten segments; the first is lost, and the peer's duplicate ACKs
	// echo an older TSval each time: RTT estimates do not move.
	c.Write(make([]byte, 10*988))
	var segs []segView
	for len(j.h.out) > 0 {
		segs = append(segs, j.next())
	}
	if len(segs) != 10 {
		t.Fatalf("sent %d segments", len(segs))
	}
	before := c.Info()
	for i := 0; i < 2; i++ {
		j.w.clk.advance(50 * time.Millisecond)
		j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, wnd: 65535,
			opts: options{HasTS: true, TSVal: 2, TSEcr: segs[0].opts.TSVal - 1}})
	}
	if in := c.Info(); in.SRTT != before.SRTT || in.RTTVar != before.RTTVar {
		t.Fatalf("duplicate ACKs moved SRTT %v → %v, RTTVAR %v → %v", before.SRTT, in.SRTT, before.RTTVar, in.RTTVar)
	}
	// The RTO, armed when the segments left, resends the first one with
	// a new TSval; 30ms later the ACK of all ten echoes it.
	j.h.out = nil
	j.w.clk.advance(before.RTO - 100*time.Millisecond)
	rexmit := j.next()
	if rexmit.seq != segs[0].seq || rexmit.opts.TSVal == segs[0].opts.TSVal {
		t.Fatalf("retransmission %v TSval %d, first TSval %d", rexmit, rexmit.opts.TSVal, segs[0].opts.TSVal)
	}
	j.w.clk.advance(30 * time.Millisecond)
	j.send(segSpec{seq: peerISN + 1, ack: iss + 1 + 9880, flags: flagACK, wnd: 65535,
		opts: options{HasTS: true, TSVal: 3, TSEcr: rexmit.opts.TSVal}})
	// Five samples were expected for the ten segments in flight
	// (ceil(9880 / (2·988))): α = 1/40, β = 1/20.
	r := 30 * time.Millisecond
	d := before.SRTT - r
	if d < 0 {
		d = -d
	}
	in := c.Info()
	if profile == ProfileLinux {
		// srtt_us, in eighths of a µs, was 1: 1 + 30000.
		if want := 30001 * time.Microsecond / 8; in.SRTT != want {
			t.Fatalf("SRTT %v after the ACK of the retransmission, want %v (was %v)", in.SRTT, want, before.SRTT)
		}
		return
	}
	if want := before.SRTT + (r-before.SRTT)/40; in.SRTT != want {
		t.Fatalf("SRTT %v after the ACK of the retransmission, want %v (was %v)", in.SRTT, want, before.SRTT)
	}
	if want := before.RTTVar + (d-before.RTTVar)/20; in.RTTVar != want {
		t.Fatalf("RTTVAR %v, want %v", in.RTTVar, want)
	}
}

// TestRTTUnderLoss checks that losses leave SRTT near the path's round
// trip and RTO near its floor: no sample comes from a stale echo.
func TestRTTUnderLoss(t *testing.T) {
	for _, cfg := range []Config{{}, {NoSACK: true}} {
		w, cl, sv := pair(cfg)
		c, s, _ := dial(t, w, cl, sv, nil)
		w.filter = dropNth("client", 30, 31, 32, 90, 200, 205, 600)
		msg := pattern(4<<20, 9)
		a := &pumpEnd{c: c, out: msg}
		b := &pumpEnd{c: s}
		pump(t, w, a, b, false, time.Minute)
		if !bytes.Equal(b.in.Bytes(), msg) {
			t.Fatalf("got %d bytes", b.in.Len())
		}
		in := c.Info()
		if in.Retransmits < 7 || in.SRTT < 10*time.Millisecond || in.SRTT > 20*time.Millisecond || in.RTO > 250*time.Millisecond {
			t.Fatalf("NoSACK %v: SRTT %v RTTVAR %v RTO %v after %d retransmissions", cfg.NoSACK, in.SRTT, in.RTTVar, in.RTO, in.Retransmits)
		}
	}
}

// TestLinuxRTTEveryAck: under the linux profile every ACK gives an RTT
// sample, without timestamps too, from the oldest segment it newly
// acknowledges, and they are smoothed as Linux's tcp_rtt_estimator
// does (testdata/pkt/rtt/every-ack-sample.pkt checks the same on the
// kernel). A handshake of 10 ms, ten segments sent at once, then ACKs
// of two segments 10, 20 and 30 ms after they were sent. The rfc
// profile times one segment a round trip, so it keeps 10 ms.
func TestLinuxRTTEveryAck(t *testing.T) {
	type state struct{ srtt, dev, rttvar, rto time.Duration }
	us := time.Microsecond
	for _, tt := range []struct {
		profile string
		want    []state
	}{
		{ProfileLinux, []state{
			// The handshake: mdev 2·10 ms; the RTO in whole 4 ms ticks.
			{10000 * us, 5000 * us, 200 * time.Millisecond, 212 * time.Millisecond},
			{10000 * us, 3750 * us, 200 * time.Millisecond, 212 * time.Millisecond},
			{11250 * us, 5312 * us, 200 * time.Millisecond, 212 * time.Millisecond},
			{13593750 * time.Nanosecond, 8672 * us, 200 * time.Millisecond, 216 * time.Millisecond},
		}},
		{ProfileRFC, []state{
			{10 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond, time.Second},
			{10 * time.Millisecond, 3750 * us, 3750 * us, time.Second},
			{10 * time.Millisecond, 3750 * us, 3750 * us, time.Second},
			{10 * time.Millisecond, 3750 * us, 3750 * us, time.Second},
		}},
	} {
		j := newInj(t, Config{Profile: tt.profile, NoTimestamps: true})
		l, err := j.h.p.Listen(j.me, 4, nil)
		if err != nil {
			t.Fatal(err)
		}
		j.send(segSpec{seq: peerISN, flags: flagSYN, wnd: 65535, opts: options{HasMSS: true, MSS: 1000}})
		iss := uint32(j.next().seq)
		j.w.clk.advance(10 * time.Millisecond)
		j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, wnd: 65535})
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		check := func(step int) {
			t.Helper()
			got := state{c.srtt, c.rttDev(), c.rttvar, c.rto}
			if got != tt.want[step] {
				t.Errorf("%s, step %d: SRTT, deviation, rttvar, RTO %v, want %v", tt.profile, step, got, tt.want[step])
			}
		}
		check(0)
		c.Write(make([]byte, 10000))
		j.h.out = nil
		for i := 1; i <= 3; i++ {
			j.w.clk.advance(10 * time.Millisecond)
			j.send(segSpec{seq: peerISN + 1, ack: iss + 1 + uint32(2000*i), flags: flagACK, wnd: 65535})
			check(i)
		}
	}
}
