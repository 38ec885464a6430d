package tcp

import (
	"testing"
	"time"
)

// TestInjectSynRecvNewSYN: a new SYN inside the window of a passive open
// in SYN_RECEIVED ends it with a RST under the linux profile, as Linux's
// tcp_check_req (embryonic_reset); a RST inside the window but not at
// RCV.NXT gets a challenge ACK first. The RST answers a segment without
// ACK, so its sequence number is 0, which a packetdrill script cannot
// state (it is relative to our ISN): Linux 6.18 sent R. seq 0 ack 1001 to
// the same SYN, and its nstat showed TCPChallengeACK 1, then
// TcpAttemptFails 1, TcpOutRsts 1, TcpExtEmbryonicRsts 1. The rfc profile
// returns to LISTEN silently (RFC 9293 §3.10.7.4, fourth, SYN-RECEIVED).
func TestInjectSynRecvNewSYN(t *testing.T) {
	for _, profile := range []string{ProfileLinux, ProfileRFC} {
		t.Run(profile, func(t *testing.T) {
			j := newInj(t, Config{Profile: profile})
			if _, err := j.h.p.Listen(j.me, 4, nil); err != nil {
				t.Fatal(err)
			}
			j.send(segSpec{seq: peerISN, flags: flagSYN, wnd: 65535})
			iss := j.synAck()
			if profile == ProfileLinux {
				j.w.clk.advance(100 * time.Millisecond)
				j.send(segSpec{seq: peerISN + 100, flags: flagRST})
				if a := j.expect(flagACK, iss+1, peerISN+1); a.why != whyChallengeAck {
					t.Fatalf("%v", a)
				}
			}
			before := j.h.p.Counters()
			j.w.clk.advance(100 * time.Millisecond)
			j.send(segSpec{seq: peerISN + 1000, flags: flagSYN, wnd: 65535})
			if profile == ProfileLinux {
				if r := j.next(); r.flags != flagRST|flagACK || r.seq != 0 || r.ack != peerISN+1001 {
					t.Fatalf("want R. seq 0 ack %d, got %v", peerISN+1001, r)
				}
			} else {
				j.none()
			}
			got := j.h.p.Counters()
			wantRst := uint64(0)
			if profile == ProfileLinux {
				wantRst = 1
				if got.ChallengeACKs != 1 {
					t.Errorf("ChallengeACKs %d, want 1", got.ChallengeACKs)
				}
			}
			if got.AttemptFails-before.AttemptFails != 1 || got.OutRsts-before.OutRsts != wantRst || got.EmbryonicRsts != wantRst {
				t.Errorf("AttemptFails +%d OutRsts +%d EmbryonicRsts %d, want +1 +%d %d",
					got.AttemptFails-before.AttemptFails, got.OutRsts-before.OutRsts, got.EmbryonicRsts, wantRst, wantRst)
			}
			// The connection is gone: the handshake's ACK meets the listener.
			j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, wnd: 65535})
			j.expect(flagRST, iss+1, 0)
		})
	}
}

// TestInjectSynRecvLimits: in SYN_RECEIVED the retransmitted SYN, the
// answers to unacceptable segments and the challenge ACK to a RST share
// one per-connection limit (tcp_invalid_ratelimit), and a RST at RCV.NXT
// ends the connection silently. The same segments against Linux 6.18
// (after a retransmitted SYN answered at +100 ms: a RST inside the window,
// an out-of-window ACK and SYN; then a RST at RCV.NXT) gave nstat
// TCPACKSkippedSynRecv 2, TCPACKSkippedChallenge 1, then TcpAttemptFails 1,
// EmbryonicRsts 1.
func TestInjectSynRecvLimits(t *testing.T) {
	j := newInj(t, Config{})
	if _, err := j.h.p.Listen(j.me, 4, nil); err != nil {
		t.Fatal(err)
	}
	j.send(segSpec{seq: peerISN, flags: flagSYN, wnd: 65535})
	iss := j.synAck()
	j.w.clk.advance(100 * time.Millisecond)
	j.send(segSpec{seq: peerISN, flags: flagSYN, wnd: 65535})
	if sa := j.expect(flagSYN|flagACK, iss, peerISN+1); sa.why != whySynAckDupSyn {
		t.Fatalf("%v", sa)
	}
	j.w.clk.advance(100 * time.Millisecond)
	j.send(segSpec{seq: peerISN + 100, flags: flagRST})
	j.w.clk.advance(100 * time.Millisecond)
	j.send(segSpec{seq: peerISN + 1000000, ack: iss + 1, flags: flagACK, wnd: 65535})
	j.w.clk.advance(100 * time.Millisecond)
	j.send(segSpec{seq: peerISN + 2000000, flags: flagSYN, wnd: 65535})
	j.none()
	got := j.h.p.Counters()
	if got.AckSkippedSynRecv != 2 || got.DropChallengeLimit != 1 || got.ChallengeACKs != 0 {
		t.Fatalf("AckSkippedSynRecv %d DropChallengeLimit %d ChallengeACKs %d, want 2 1 0",
			got.AckSkippedSynRecv, got.DropChallengeLimit, got.ChallengeACKs)
	}
	j.w.clk.advance(300 * time.Millisecond)
	j.send(segSpec{seq: peerISN + 1, flags: flagRST})
	j.none()
	got = j.h.p.Counters()
	if got.AttemptFails != 1 || got.EmbryonicRsts != 1 {
		t.Fatalf("AttemptFails %d EmbryonicRsts %d, want 1 1", got.AttemptFails, got.EmbryonicRsts)
	}
	j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, wnd: 65535})
	j.expect(flagRST, iss+1, 0)
}

// synAck returns the ISN of the SYN-ACK the DUT must have sent.
func (j *inj) synAck() uint32 {
	j.t.Helper()
	sa := j.next()
	if sa.flags != flagSYN|flagACK || sa.ack != peerISN+1 {
		j.t.Fatalf("want a SYN-ACK, got %v", sa)
	}
	return uint32(sa.seq)
}
