package tcp

import (
	"testing"
	"time"
)

// TestInjectOutOfWindowSYNChallenge plays testdata/pkt/robustness/
// oow-syn-challenge.pkt and checks the counters against what Linux 6.18's
// nstat showed after the same script: TCPSYNChallenge 4,
// TCPChallengeACK 2, TCPACKSkippedChallenge 2, TCPACKSkippedSeq 2.
func TestInjectOutOfWindowSYNChallenge(t *testing.T) {
	for _, profile := range []string{ProfileLinux, ProfileRFC} {
		t.Run(profile, func(t *testing.T) {
			j := newInj(t, Config{Profile: profile})
			c, iss := j.handshake(options{})
			step := func(d time.Duration) { j.w.clk.advance(d) }
			farSYN := func(seq uint32, flags uint8) {
				j.send(segSpec{seq: peerISN + 1 + seq, ack: iss + 1, flags: flags, wnd: 65535})
			}
			oowAck := func() {
				j.send(segSpec{seq: peerISN + 1 + 5000000, ack: iss + 1, flags: flagACK, wnd: 65535})
			}
			step(100 * time.Millisecond)
			farSYN(1000000, flagSYN)
			if a := j.expect(flagACK, iss+1, peerISN+1); a.why != whyChallengeAck {
				t.Fatalf("%v", a)
			}
			step(100 * time.Millisecond)
			farSYN(2000000, flagSYN)
			farSYN(2500000, flagSYN|flagACK)
			j.none()
			step(100 * time.Millisecond)
			oowAck()
			j.none()
			// Out-of-window data is always answered.
			j.send(segSpec{seq: peerISN + 1 + 5000000, ack: iss + 1, flags: flagACK | flagPSH, wnd: 65535, payload: []byte("0123456789")})
			j.expect(flagACK, iss+1, peerISN+1)
			step(400 * time.Millisecond)
			farSYN(3000000, flagSYN|flagACK)
			j.expect(flagACK, iss+1, peerISN+1)
			step(100 * time.Millisecond)
			oowAck()
			j.none()
			step(500 * time.Millisecond)
			oowAck()
			j.expect(flagACK, iss+1, peerISN+1)
			if c.State() != Established {
				t.Fatalf("state %v", c.State())
			}
			got := j.h.p.Counters()
			if got.SynChallenges != 4 || got.ChallengeACKs != 2 || got.DropChallengeLimit != 2 || got.AckSkippedSeq != 2 || got.DropChallengeGlobal != 0 {
				t.Fatalf("SynChallenges %d ChallengeACKs %d DropChallengeLimit %d AckSkippedSeq %d DropChallengeGlobal %d",
					got.SynChallenges, got.ChallengeACKs, got.DropChallengeLimit, got.AckSkippedSeq, got.DropChallengeGlobal)
			}
		})
	}
}

// TestInjectPAWSSynAndAckLimit: a SYN failing PAWS goes to its challenge
// ACK (Linux's tcp_validate_incoming) and pure ACKs failing PAWS are
// answered at most once per tcp_invalid_ratelimit; data is always answered.
func TestInjectPAWSSynAndAckLimit(t *testing.T) {
	j := newInj(t, Config{})
	c, iss := j.handshake(options{HasTS: true, TSVal: 5000})
	if !c.Info().Timestamps {
		t.Fatal("timestamps not negotiated")
	}
	old := options{HasTS: true, TSVal: 4000}
	j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, opts: old, wnd: 1000})
	j.expect(flagACK, iss+1, peerISN+1)
	j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, opts: old, wnd: 1000})
	j.none()
	j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, opts: old, wnd: 1000, payload: []byte("x")})
	j.expect(flagACK, iss+1, peerISN+1)
	j.send(segSpec{seq: peerISN + 100, flags: flagSYN, opts: old, wnd: 1000})
	j.none() // the challenge ACK shares the per-connection limit
	j.w.clk.advance(time.Second)
	j.send(segSpec{seq: peerISN + 100, flags: flagSYN, opts: old, wnd: 1000})
	if a := j.expect(flagACK, iss+1, peerISN+1); a.why != whyChallengeAck {
		t.Fatalf("%v", a)
	}
	got := j.h.p.Counters()
	if got.DropPAWS != 5 || got.AckSkippedPAWS != 1 || got.SynChallenges != 2 || got.ChallengeACKs != 1 || got.DropChallengeLimit != 1 {
		t.Fatalf("DropPAWS %d AckSkippedPAWS %d SynChallenges %d ChallengeACKs %d DropChallengeLimit %d",
			got.DropPAWS, got.AckSkippedPAWS, got.SynChallenges, got.ChallengeACKs, got.DropChallengeLimit)
	}
}

// TestChallengeACKGlobalLimit: with ChallengeACKLimit (Linux's
// tcp_challenge_ack_limit) set, the whole stack's challenge ACKs share a
// per-second budget; by default (Linux ≥ 6.0) there is none.
func TestChallengeACKGlobalLimit(t *testing.T) {
	for _, limit := range []int{0, 1} {
		j := newInj(t, Config{ChallengeACKLimit: limit})
		j.h.tracing = false
		_, iss := j.handshake(options{})
		other := ap("10.0.0.1:40001")
		j.send(segSpec{src: other, seq: 5000, flags: flagSYN, wnd: 65535})
		sa := j.next()
		j.send(segSpec{src: other, seq: 5001, ack: uint32(sa.seq) + 1, flags: flagACK, wnd: 65535})
		j.h.out = nil
		j.send(segSpec{seq: peerISN + 50, flags: flagRST})
		j.expect(flagACK, iss+1, peerISN+1)
		// Another connection's challenge in the same second: with a limit
		// of 1 (a budget of exactly 1 a second) it is suppressed.
		j.send(segSpec{src: other, seq: 5001 + 50, flags: flagRST})
		got := j.h.p.Counters()
		if limit == 0 {
			if s := j.next(); s.why != whyChallengeAck || got.DropChallengeGlobal != 0 {
				t.Fatalf("no limit: %v, %d suppressed", s, got.DropChallengeGlobal)
			}
			continue
		}
		j.none()
		if got.DropChallengeGlobal != 1 || got.ChallengeACKs != 1 {
			t.Fatalf("limit 1: DropChallengeGlobal %d ChallengeACKs %d", got.DropChallengeGlobal, got.ChallengeACKs)
		}
		// The next second has a new budget (and the second connection's
		// own 500 ms, charged first as Linux does, has passed).
		j.w.clk.advance(time.Second)
		j.send(segSpec{src: other, seq: 5001 + 50, flags: flagRST})
		if s := j.next(); s.why != whyChallengeAck {
			t.Fatalf("next second: %v", s)
		}
	}
}

// TestInjectPAWSWindow: the linux profile accepts a TSval one tick older
// than TS.Recent (tcp_paws_check's TCP_PAWS_WINDOW), so data the network
// delayed behind a later segment is kept, and a reordered pure duplicate
// ACK within the RTO (tcp_disordered_ack); the rfc profile drops both
// (RFC 7323 §5.3). Two ticks older data is dropped by both.
func TestInjectPAWSWindow(t *testing.T) {
	for _, profile := range ProfileNames {
		t.Run(profile, func(t *testing.T) {
			j := newInj(t, Config{Profile: profile})
			c, iss := j.handshake(options{HasTS: true, TSVal: 5000})
			j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, wnd: 1000, opts: options{HasTS: true, TSVal: 5010}, payload: []byte("a")})
			j.send(segSpec{seq: peerISN + 2, ack: iss + 1, flags: flagACK, wnd: 1000, opts: options{HasTS: true, TSVal: 5009}, payload: []byte("b")})
			j.send(segSpec{seq: peerISN + 3, ack: iss + 1, flags: flagACK, wnd: 1000, opts: options{HasTS: true, TSVal: 5000}})
			j.send(segSpec{seq: peerISN + 2, ack: iss + 1, flags: flagACK, wnd: 1000, opts: options{HasTS: true, TSVal: 5008}, payload: []byte("c")})
			got := j.h.p.Counters().DropPAWS
			in := c.Info().BytesReceived
			switch profile {
			case ProfileLinux:
				// "b" (one tick) and the duplicate ACK are accepted; "c"
				// (two ticks, data) is dropped.
				if in != 2 || got != 1 {
					t.Fatalf("linux: received %d bytes, DropPAWS %d; want 2 and 1", in, got)
				}
			default:
				if in != 1 || got != 3 {
					t.Fatalf("rfc: received %d bytes, DropPAWS %d; want 1 and 3", in, got)
				}
			}
		})
	}
}
