package tcp

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"stacklab/stack/wire"
)

const peerISN = 1000

// handshake opens a connection to the DUT's listener by injection and
// returns the accepted Conn and the DUT's ISS.
func (j *inj) handshake(opts options) (*Conn, uint32) {
	j.t.Helper()
	l, err := j.h.p.Listen(j.me, 4, nil)
	if err != nil {
		j.t.Fatal(err)
	}
	j.send(segSpec{seq: peerISN, flags: flagSYN, wnd: 65535, opts: opts})
	sa := j.next()
	if sa.flags != flagSYN|flagACK || sa.ack != peerISN+1 {
		j.t.Fatalf("SYN-ACK: %v", sa)
	}
	iss := uint32(sa.seq)
	j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, wnd: 65535})
	j.none()
	c, err := l.Accept()
	if err != nil {
		j.t.Fatal(err)
	}
	return c, iss
}

func TestInjectHandshakeMSS(t *testing.T) {
	j := newInj(t, Config{})
	c, _ := j.handshake(options{HasMSS: true, MSS: 536})
	if c.Info().MSS != 536 || c.Info().SACK || c.Info().Timestamps || c.Info().SndWScale != -1 {
		t.Fatalf("%+v", c.Info())
	}
	c.Write(make([]byte, 2000))
	s := j.next()
	if len(s.payload) != 536 {
		t.Fatalf("first segment %d bytes", len(s.payload))
	}
}

func TestInjectRSTRules(t *testing.T) {
	j := newInj(t, Config{})
	c, iss := j.handshake(options{})
	// RST in window but not at RCV.NXT: challenge ACK (RFC 5961 §3.2).
	j.send(segSpec{seq: peerISN + 100, flags: flagRST})
	ack := j.expect(flagACK, iss+1, peerISN+1)
	if ack.why != whyChallengeAck || c.State() != Established {
		t.Fatalf("%v, state %v", ack, c.State())
	}
	// RST outside the window: silently dropped.
	j.send(segSpec{seq: peerISN + 1 + 1<<20, flags: flagRST})
	j.none()
	// SYN in ESTABLISHED: challenge ACK (RFC 5961 §4.2), once the
	// per-connection rate limit allows another.
	j.w.clk.advance(time.Second)
	j.send(segSpec{seq: peerISN + 1, flags: flagSYN, wnd: 100})
	j.expect(flagACK, iss+1, peerISN+1)
	// Exact RST: reset.
	j.send(segSpec{seq: peerISN + 1, flags: flagRST})
	j.none()
	if c.State() != Closed {
		t.Fatalf("state %v", c.State())
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read: %v", err)
	}
	if got := j.h.p.Counters(); got.ChallengeACKs != 2 || got.EstabResets != 1 {
		t.Fatalf("%+v", got)
	}
}

// TestInjectChallengeACKRateLimit: challenge ACKs are limited per
// connection, one per 500 ms as Linux (≥ 6.0) does: a flood of bad RSTs
// gets one answer per interval, and another connection's challenge ACK
// is not held back by it (no global budget to probe, CVE-2016-5696).
func TestInjectChallengeACKRateLimit(t *testing.T) {
	j := newInj(t, Config{})
	j.h.tracing = false
	_, _ = j.handshake(options{})
	for range 1005 {
		j.send(segSpec{seq: peerISN + 50, flags: flagRST})
	}
	if got := j.h.p.Counters(); got.ChallengeACKs != 1 || got.DropChallengeLimit != 1004 {
		t.Fatalf("%d challenge ACKs, %d limited", got.ChallengeACKs, got.DropChallengeLimit)
	}
	j.h.out = nil
	// A second connection, from another port, answers at once.
	other := ap("10.0.0.1:40001")
	j.send(segSpec{src: other, seq: 5000, flags: flagSYN, wnd: 65535})
	sa := j.next()
	j.send(segSpec{src: other, seq: 5001, ack: uint32(sa.seq) + 1, flags: flagACK, wnd: 65535})
	j.send(segSpec{src: other, seq: 5001 + 50, flags: flagRST})
	if s := j.next(); s.why != whyChallengeAck {
		t.Fatalf("second connection: %v, want a challenge ACK", s)
	}
	j.w.clk.advance(time.Second)
	j.send(segSpec{seq: peerISN + 50, flags: flagRST})
	j.next()
}

func TestInjectNoSocket(t *testing.T) {
	j := newInj(t, Config{})
	// SYN to a closed port: RST|ACK with ack = seq+1.
	j.send(segSpec{seq: 5, flags: flagSYN})
	j.expect(flagRST|flagACK, 0, 6)
	// ACK to a closed port: RST with seq = the ACK.
	j.send(segSpec{seq: 5, ack: 777, flags: flagACK, payload: []byte("abc")})
	j.expect(flagRST, 777, 0)
	// RST to a closed port: nothing.
	j.send(segSpec{seq: 5, flags: flagRST})
	j.none()
	// A stray ACK to a listener: RST.
	j.h.p.Listen(j.me, 1, nil)
	j.send(segSpec{seq: 5, ack: 999, flags: flagACK})
	j.expect(flagRST, 999, 0)
	if got := j.h.p.Counters(); got.OutRsts != 3 || got.DropNoSocket != 4 {
		t.Fatalf("%+v", got)
	}
}

func TestInjectBadSegments(t *testing.T) {
	j := newInj(t, Config{Profile: ProfileRFC})
	j.h.p.Listen(j.me, 1, nil)
	j.send(segSpec{seq: 5, flags: flagSYN, badChecksum: true})
	j.send(segSpec{seq: 5, flags: flagSYN, rawOptions: []byte{2, 9, 0, 0}}) // MSS with bad length
	j.h.p.Input(j.peer.Addr(), j.me.Addr(), []byte{1, 2, 3}, 0)
	j.none()
	got := j.h.p.Counters()
	if got.InErrs != 3 || got.InCsumErrors != 1 || got.DropMalformed != 2 {
		t.Fatalf("%+v", got)
	}
	var drops int
	for _, ev := range j.h.events {
		if ev.Kind == 5 {
			drops++
		}
	}
	if drops != 3 {
		t.Fatalf("%d drop events", drops)
	}
}

// TestInjectBadOptionLengths: under the linux profile (the default) an
// option with a bad length ends the parse and the segment is taken with
// the options before it, as Linux's tcp_parse_options does: a SYN whose
// MSS option claims 9 bytes in a 4-byte area is answered, with the
// default MSS of 536; a window-scale option after a good MSS but before
// a zero-length option is kept, and what follows is not.
func TestInjectBadOptionLengths(t *testing.T) {
	j := newInj(t, Config{NoTimestamps: true})
	l, err := j.h.p.Listen(j.me, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	j.send(segSpec{seq: 5, flags: flagSYN, wnd: 65535, rawOptions: []byte{2, 9, 0, 0}})
	sa := j.next()
	if sa.flags != flagSYN|flagACK || sa.ack != 6 {
		t.Fatalf("%v, want a SYN-ACK", sa)
	}
	j.send(segSpec{seq: 6, ack: uint32(sa.seq) + 1, flags: flagACK, wnd: 65535})
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if c.Info().MSS != 536 {
		t.Fatalf("MSS %d, want the default 536", c.Info().MSS)
	}
	// MSS 1000, wscale 3, then an option of length 0 and a SACK-permitted
	// that is never read.
	other := ap("10.0.0.1:40002")
	j.send(segSpec{src: other, seq: 50, flags: flagSYN, wnd: 65535,
		rawOptions: []byte{2, 4, 3, 0xe8, 1, 3, 3, 3, 30, 0, 4, 2}})
	sa = j.next()
	if sa.flags != flagSYN|flagACK || sa.ack != 51 {
		t.Fatalf("%v, want a SYN-ACK", sa)
	}
	if !sa.opts.HasWScale || sa.opts.SACKPermitted || sa.opts.MSS == 0 {
		t.Fatalf("SYN-ACK options %+v: want window scaling, no SACK", sa.opts)
	}
	j.send(segSpec{src: other, seq: 51, ack: uint32(sa.seq) + 1, flags: flagACK, wnd: 65535})
	c2, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if in := c2.Info(); in.MSS != 1000 || in.SndWScale != 3 || in.SACK {
		t.Fatalf("%+v", in)
	}
	// An established connection takes data with a bad option too.
	j.send(segSpec{src: other, seq: 51, ack: uint32(sa.seq) + 1, flags: flagACK | flagPSH, wnd: 65535,
		rawOptions: []byte{8, 40, 0, 0}, payload: []byte("data")})
	if n := c2.Buffered(); n != 4 {
		t.Fatalf("%d bytes buffered after a segment with a bad option, want 4", n)
	}
	if got := j.h.p.Counters(); got.InBadOptions != 3 || got.DropMalformed != 0 {
		t.Fatalf("InBadOptions %d DropMalformed %d", got.InBadOptions, got.DropMalformed)
	}
}

func TestInjectOutOfWindowAndAck(t *testing.T) {
	j := newInj(t, Config{Profile: ProfileRFC})
	c, iss := j.handshake(options{HasMSS: true, MSS: 1460})
	// Data far beyond the window: ACK, dropped.
	j.send(segSpec{seq: peerISN + 1 + 1<<20, ack: iss + 1, flags: flagACK, payload: []byte("x")})
	j.expect(flagACK, iss+1, peerISN+1)
	// ACK of data never sent: ACK, dropped (RFC 9293 §3.10.7.4).
	j.send(segSpec{seq: peerISN + 1, ack: iss + 1000, flags: flagACK, payload: []byte("y")})
	j.expect(flagACK, iss+1, peerISN+1)
	if c.Buffered() != 0 {
		t.Fatal("accepted data with a bad ACK")
	}
	// In-order data with a good ACK: delayed ACK after 40 ms.
	j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK | flagPSH, payload: []byte("hello"), wnd: 1000})
	j.none()
	j.w.clk.advance(39 * time.Millisecond)
	j.none()
	j.w.clk.advance(2 * time.Millisecond)
	a := j.expect(flagACK, iss+1, peerISN+6)
	if a.why != whyDelayedAck {
		t.Fatalf("%v", a)
	}
	// Two full segments: ACK at once.
	big := make([]byte, 1460)
	j.send(segSpec{seq: peerISN + 6, ack: iss + 1, flags: flagACK, payload: big, wnd: 1000})
	j.none()
	j.send(segSpec{seq: peerISN + 6 + 1460, ack: iss + 1, flags: flagACK, payload: big, wnd: 1000})
	j.expect(flagACK, iss+1, peerISN+6+2920)
	// Out of order: immediate duplicate ACK.
	j.send(segSpec{seq: peerISN + 6 + 2920 + 100, ack: iss + 1, flags: flagACK, payload: []byte("z"), wnd: 1000})
	d := j.expect(flagACK, iss+1, peerISN+6+2920)
	if d.why != whyDupAck {
		t.Fatalf("%v", d)
	}
}

func TestInjectSACKBlocks(t *testing.T) {
	j := newInj(t, Config{NoTimestamps: true})
	_, iss := j.handshake(options{SACKPermitted: true})
	base := uint32(peerISN + 1)
	for _, off := range []uint32{100, 300, 500} {
		j.send(segSpec{seq: base + off, ack: iss + 1, flags: flagACK, payload: make([]byte, 50), wnd: 1000})
	}
	j.next()
	j.next()
	s := j.next()
	want := []sackBlock{{Left: 1101 + 500 - 100, Right: 1101 + 550 - 100}}
	_ = want
	if s.opts.NSACK != 3 || uint32(s.opts.SACK[0].Left) != base+500 || uint32(s.opts.SACK[1].Left) != base+300 {
		t.Fatalf("SACK blocks %+v", s.opts.SACK[:s.opts.NSACK])
	}
	// Fill the gaps: one ACK covers everything.
	j.send(segSpec{seq: base, ack: iss + 1, flags: flagACK, payload: make([]byte, 550), wnd: 1000})
	a := j.expect(flagACK, iss+1, base+550)
	if a.opts.NSACK != 0 {
		t.Fatalf("%+v", a.opts)
	}
}

// intoTimeWait takes a connection that has just closed its side (a
// handshake's, iss) into TIME_WAIT: its FIN goes out, the peer's FIN
// with the ACK of it comes in, and the last ACK goes out.
func (j *inj) intoTimeWait(c *Conn, iss uint32) {
	j.t.Helper()
	j.expect(flagFIN|flagACK, iss+1, peerISN+1)
	j.send(segSpec{seq: peerISN + 1, ack: iss + 2, flags: flagFIN | flagACK, wnd: 1000})
	j.expect(flagACK, iss+2, peerISN+2)
	if c.State() != TimeWait {
		j.t.Fatalf("state %v, want TIME_WAIT", c.State())
	}
}

func TestInjectTimeWait(t *testing.T) {
	j := newInj(t, Config{MSL: time.Second})
	c, iss := j.handshake(options{})
	c.Close()
	j.intoTimeWait(c, iss)
	// A retransmitted FIN is ACKed again and restarts the timer.
	j.w.clk.advance(1500 * time.Millisecond)
	j.send(segSpec{seq: peerISN + 1, ack: iss + 2, flags: flagFIN | flagACK, wnd: 1000})
	j.expect(flagACK, iss+2, peerISN+2)
	j.w.clk.advance(1900 * time.Millisecond)
	if c.State() != TimeWait {
		t.Fatalf("timer not restarted: %v", c.State())
	}
	// A new SYN with a higher sequence number recycles it (RFC 6191).
	j.send(segSpec{seq: peerISN + 100000, flags: flagSYN, wnd: 1000})
	sa := j.next()
	if sa.flags != flagSYN|flagACK || sa.ack != peerISN+100001 {
		t.Fatalf("%v", sa)
	}
	if j.h.p.Counters().TimeWaitRecycled != 1 {
		t.Fatal("not recycled")
	}
}

func TestInjectTimeWaitExpires(t *testing.T) {
	j := newInj(t, Config{MSL: time.Second})
	c, iss := j.handshake(options{})
	c.Close()
	j.next()
	j.send(segSpec{seq: peerISN + 1, ack: iss + 2, flags: flagFIN | flagACK, wnd: 1000})
	j.next()
	j.w.clk.advance(1999 * time.Millisecond)
	if c.State() != TimeWait {
		t.Fatal(c.State())
	}
	j.w.clk.advance(2 * time.Millisecond)
	if c.State() != Closed || j.h.p.NumConns() != 0 {
		t.Fatal(c.State())
	}
}

func TestInjectPAWS(t *testing.T) {
	j := newInj(t, Config{Profile: ProfileRFC})
	c, iss := j.handshake(options{HasTS: true, TSVal: 5000})
	if !c.Info().Timestamps {
		t.Fatal("timestamps not negotiated")
	}
	ts := options{HasTS: true, TSVal: 5001}
	j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, opts: ts, payload: []byte("a"), wnd: 1000})
	old := options{HasTS: true, TSVal: 4000}
	j.send(segSpec{seq: peerISN + 2, ack: iss + 1, flags: flagACK, opts: old, payload: []byte("b"), wnd: 1000})
	a := j.expect(flagACK, iss+1, peerISN+2)
	if a.why != whyPAWS || a.opts.TSEcr != 5001 || c.Buffered() != 1 || j.h.p.Counters().DropPAWS != 1 {
		t.Fatalf("%v ecr %d buffered %d", a, a.opts.TSEcr, c.Buffered())
	}
}

func TestInjectSynSent(t *testing.T) {
	j := newInj(t, Config{})
	c, err := j.h.p.Connect(j.me, j.peer, nil)
	if err != nil {
		t.Fatal(err)
	}
	syn := j.next()
	iss := uint32(syn.seq)
	// A bad ACK: RST with seq = the ACK.
	j.send(segSpec{src: j.peer, dst: j.me, seq: 1, ack: iss + 50, flags: flagSYN | flagACK})
	j.expect(flagRST, iss+50, 0)
	// A RST without ACK: ignored.
	j.send(segSpec{src: j.peer, dst: j.me, seq: 1, flags: flagRST})
	j.none()
	if c.State() != SynSent {
		t.Fatal(c.State())
	}
	// Simultaneous open: a SYN → SYN_RECEIVED and a SYN-ACK.
	j.send(segSpec{src: j.peer, dst: j.me, seq: 7000, flags: flagSYN, wnd: 1000, opts: options{HasMSS: true, MSS: 1000}})
	sa := j.expect(flagSYN|flagACK, iss, 7001)
	_ = sa
	if c.State() != SynReceived {
		t.Fatal(c.State())
	}
	// The peer's SYN-ACK completes it.
	j.send(segSpec{src: j.peer, dst: j.me, seq: 7000, ack: iss + 1, flags: flagSYN | flagACK, wnd: 1000})
	if c.State() != Established {
		t.Fatal(c.State())
	}
}

func TestSimultaneousOpen(t *testing.T) {
	w, a, b := pair(Config{})
	w.keepLog = true
	ca, err := a.p.Connect(ap("10.0.0.1:5000"), ap("10.0.0.2:6000"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := b.p.Connect(ap("10.0.0.2:6000"), ap("10.0.0.1:5000"), nil)
	if err != nil {
		t.Fatal(err)
	}
	w.clk.advance(100 * time.Millisecond)
	if ca.State() != Established || cb.State() != Established {
		t.Fatalf("%v %v", ca.State(), cb.State())
	}
	ca.Write([]byte("ping"))
	w.clk.advance(100 * time.Millisecond)
	buf := make([]byte, 10)
	if n, _ := cb.Read(buf); string(buf[:n]) != "ping" {
		t.Fatalf("%q", buf[:n])
	}
	if len(w.log) < 4 {
		t.Fatal(len(w.log))
	}
}

// TestListenBacklog: the SYN and accept queues each hold one more than
// the listen backlog, as Linux's (checked on Linux 6.18: listen(2) on
// loopback holds 3 established connections, further SYNs are dropped
// and counted in ListenOverflows).
func TestListenBacklog(t *testing.T) {
	j := newInj(t, Config{NoSynCookies: true}) // with cookies, see TestInjectSynFloodCookies
	l, _ := j.h.p.Listen(j.me, 1, nil)
	for i := 0; i < 3; i++ {
		j.send(segSpec{src: ap("10.0.0.9:" + string(rune('1'+i)) + "000"), seq: 10, flags: flagSYN})
	}
	if syn, _ := l.QueueLens(); syn != 2 || j.h.p.Counters().DropSynQueueFull != 1 {
		t.Fatalf("syn queue %d, %+v", syn, j.h.p.Counters())
	}
	// Complete both; the accept queue (backlog 1) then holds 2 and is
	// full: a new SYN is dropped.
	sa := j.next()
	j.send(segSpec{src: ap("10.0.0.9:1000"), seq: 11, ack: uint32(sa.seq) + 1, flags: flagACK})
	sa2 := j.next()
	j.send(segSpec{src: ap("10.0.0.9:2000"), seq: 11, ack: uint32(sa2.seq) + 1, flags: flagACK})
	j.send(segSpec{src: ap("10.0.0.9:4000"), seq: 10, flags: flagSYN})
	if syn, acc := l.QueueLens(); syn != 0 || acc != 2 || j.h.p.Counters().DropListenOverflow != 1 {
		t.Fatalf("queues %d %d %+v", syn, acc, j.h.p.Counters())
	}
	if !l.Readable() {
		t.Fatal("not readable")
	}
	// Close resets both children.
	j.h.out = nil
	l.Close()
	if n := len(j.h.out); n != 2 || j.h.p.NumConns() != 0 {
		t.Fatalf("%d RSTs, %d conns", n, j.h.p.NumConns())
	}
	if _, err := j.h.p.Listen(j.me, 1, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := j.h.p.Listen(ap("0.0.0.0:80"), 1, nil); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatal(err)
	}
}

func TestInjectLimitedTransmitAndFastRetransmit(t *testing.T) {
	j := newInj(t, Config{Profile: ProfileRFC, NoTimestamps: true})
	c, iss := j.handshake(options{HasMSS: true, MSS: 1000})
	c.Write(make([]byte, 20_000))
	var sent int
	for len(j.h.out) > 0 {
		j.next()
		sent++
	}
	if sent != 10 {
		t.Fatalf("initial window %d segments", sent)
	}
	dup := segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, wnd: 65535}
	// First two duplicate ACKs: one new segment each (RFC 3042).
	for i := 0; i < 2; i++ {
		j.send(dup)
		s := j.next()
		if uint32(s.seq) != iss+1+uint32(10+i)*1000 {
			t.Fatalf("limited transmit %d: %v", i, s)
		}
		j.none()
	}
	// Third: fast retransmit of the first segment.
	j.send(dup)
	s := j.next()
	if uint32(s.seq) != iss+1 || len(s.payload) != 1000 {
		t.Fatalf("fast retransmit: %v", s)
	}
	in := c.Info()
	if in.FastRetransmits != 1 || in.Ssthresh != 6000 {
		t.Fatalf("%+v", in)
	}
	// A partial ACK retransmits the next hole at once (RFC 6582).
	j.h.out = nil
	j.send(segSpec{seq: peerISN + 1, ack: iss + 1 + 3000, flags: flagACK, wnd: 65535})
	s = j.next()
	if uint32(s.seq) != iss+1+3000 || s.why != whyPartialAck {
		t.Fatalf("partial ACK: %v", s)
	}
	// The full ACK ends recovery.
	j.send(segSpec{seq: peerISN + 1, ack: iss + 1 + 12000, flags: flagACK, wnd: 65535})
	if c.inRecovery || c.Info().Cwnd > 6000+1000 {
		t.Fatalf("after full ACK: %+v", c.Info())
	}
}

func TestInjectReceiverSWS(t *testing.T) {
	j := newInj(t, Config{NoTimestamps: true, NoWindowScale: true, RecvBuffer: 8000, NoDelayedAck: true})
	c, iss := j.handshake(options{HasMSS: true, MSS: 1000})
	// Fill the buffer: the window closes.
	for i := 0; i < 8; i++ {
		j.send(segSpec{seq: peerISN + 1 + uint32(i)*1000, ack: iss + 1, flags: flagACK, wnd: 65535, payload: make([]byte, 1000)})
	}
	var last segView
	for len(j.h.out) > 0 {
		last = j.next()
	}
	if last.wnd != 0 {
		t.Fatalf("window %d after filling the buffer", last.wnd)
	}
	// Reading less than an MSS sends nothing (RFC 9293 §3.8.6.2.2).
	c.Read(make([]byte, 500))
	j.none()
	// Reading an MSS or more announces the window: in whole segments,
	// as Linux's __tcp_select_window rounds an unscaled window down to
	// the MSS it receives.
	c.Read(make([]byte, 600))
	j.none() // not before the application has had its turn
	j.w.clk.advance(0)
	s := j.next()
	if s.why != whyWindowUpdate || s.wnd != 1000 {
		t.Fatalf("%v", s)
	}
}

func TestInjectLingerZeroAndAbort(t *testing.T) {
	j := newInj(t, Config{})
	c, iss := j.handshake(options{})
	c.SetLinger(true, 0)
	c.Close()
	j.expect(flagRST|flagACK, iss+1, peerISN+1)
	if ctr := j.h.p.Counters(); c.State() != Closed || j.h.p.NumConns() != 0 || ctr.EstabResets != 1 ||
		ctr.AbortOnData != 1 || ctr.AbortOnClose != 0 {
		t.Fatalf("%v %+v", c.State(), ctr)
	}
	// Data for a closed connection: RST (no socket).
	j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, payload: []byte("late")})
	j.expect(flagRST, iss+1, 0)
}

// TestInjectOrphanFinWait2Data: data for an orphan already in FIN_WAIT_2
// (a timewait socket in Linux) gets a RST made from the segment, and is
// not counted as TCPAbortOnData, which Linux counts only where the full
// socket meets the data (6.18's nstat: +0 for a write after the peer's
// close, the write-after-close lesson).
func TestInjectOrphanFinWait2Data(t *testing.T) {
	j := newInj(t, Config{})
	c, iss := j.handshake(options{})
	c.Close()
	j.expect(flagFIN|flagACK, iss+1, peerISN+1)
	j.send(segSpec{seq: peerISN + 1, ack: iss + 2, flags: flagACK, wnd: 1000})
	j.none()
	j.send(segSpec{seq: peerISN + 1, ack: iss + 2, flags: flagPSH | flagACK, wnd: 1000, payload: []byte("query2")})
	r := j.expect(flagRST, iss+2, 0)
	if ctr := j.h.p.Counters(); r.why != whyRSTData || j.h.p.NumConns() != 0 || ctr.AbortOnData != 0 {
		t.Fatalf("%v, %d connections, AbortOnData %d; want a RST, none, 0", r, j.h.p.NumConns(), ctr.AbortOnData)
	}
}

// TestInjectCloseInTimeWait: closing with a linger of 0 the descriptor of
// a connection already in TIME_WAIT sends nothing, counts nothing and
// ends no TIME_WAIT, as Linux's close of a socket whose connection is a
// timewait socket (the differential case close/names-in-time-wait with
// its counters).
func TestInjectCloseInTimeWait(t *testing.T) {
	j := newInj(t, Config{})
	c, iss := j.handshake(options{})
	c.CloseWrite()
	j.intoTimeWait(c, iss)
	c.SetLinger(true, 0)
	c.Close()
	j.none()
	if ctr := j.h.p.Counters(); c.State() != TimeWait || j.h.p.NumConns() != 1 || ctr.AbortOnData != 0 || ctr.OutRsts != 0 {
		t.Fatalf("%v, %d connections, %+v; want TIME_WAIT kept, nothing counted", c.State(), j.h.p.NumConns(), ctr)
	}
}

// TestInjectCloseUnread: a close that finds unread data resets the
// connection and counts TCPAbortOnClose, where a linger of 0 counts
// TCPAbortOnData (as Linux 6.18's nstat shows for each).
func TestInjectCloseUnread(t *testing.T) {
	j := newInj(t, Config{})
	c, iss := j.handshake(options{})
	j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK | flagPSH, payload: []byte("unread"), wnd: 1000})
	j.w.clk.advance(0)
	j.h.out = nil // the ACK of the data, whenever it went
	c.Close()
	r := j.expect(flagRST|flagACK, iss+1, peerISN+7)
	if ctr := j.h.p.Counters(); r.why != whyRSTUnread || c.State() != Closed || ctr.AbortOnClose != 1 || ctr.AbortOnData != 0 {
		t.Fatalf("%v %v %+v", r, c.State(), ctr)
	}
}

func TestInjectDataAfterClose(t *testing.T) {
	j := newInj(t, Config{})
	c, iss := j.handshake(options{})
	c.Close()
	j.expect(flagFIN|flagACK, iss+1, peerISN+1)
	j.send(segSpec{seq: peerISN + 1, ack: iss + 2, flags: flagACK, payload: []byte("more"), wnd: 1000})
	// As Linux's tcp_v4_send_reset: a RST made from the segment, its
	// sequence number the segment's ACK (checked on Linux 6.18 by
	// testdata/pkt/close/fin-wait-2-orphan-data.pkt).
	r := j.expect(flagRST, iss+2, 0)
	if r.why != whyRSTData || c.State() != Closed || j.h.p.Counters().AbortOnData != 1 {
		t.Fatalf("%v %v, AbortOnData %d", r, c.State(), j.h.p.Counters().AbortOnData)
	}
}

// TestInjectDataAfterPeerFIN: in CLOSE_WAIT, a segment that starts
// before RCV.NXT and brings bytes past the peer's FIN resets the
// connection under the linux profile (a RST made from the segment,
// EPIPE, TCPAbortOnData; testdata/pkt/close/close-wait-data-after-fin.pkt,
// checked on Linux 6.18); the rfc profile ignores it (RFC 9293
// §3.10.7.4 step 7), and both ignore data from RCV.NXT on.
func TestInjectDataAfterPeerFIN(t *testing.T) {
	for _, profile := range []string{ProfileLinux, ProfileRFC} {
		j := newInj(t, Config{Profile: profile, NoTimestamps: true})
		c, iss := j.handshake(options{HasMSS: true, MSS: 1000})
		j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagFIN | flagACK, wnd: 1000})
		j.expect(flagACK, iss+1, peerISN+2)
		if c.State() != CloseWait {
			t.Fatalf("%s: %v after the peer's FIN", profile, c.State())
		}
		j.send(segSpec{seq: peerISN + 2, ack: iss + 1, flags: flagPSH | flagACK, wnd: 1000, payload: make([]byte, 10)})
		j.none()
		j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagPSH | flagACK, wnd: 1000, payload: make([]byte, 100)})
		ctr := j.h.p.Counters()
		if profile == ProfileRFC {
			j.none()
			if c.State() != CloseWait || ctr.AbortOnData != 0 {
				t.Errorf("rfc: %v, AbortOnData %d; want CLOSE_WAIT kept", c.State(), ctr.AbortOnData)
			}
			continue
		}
		r := j.expect(flagRST, iss+1, 0)
		if r.why != whyRSTDataAfterFIN || c.State() != Closed || ctr.AbortOnData != 1 || ctr.EstabResets != 1 {
			t.Errorf("linux: %v %v, AbortOnData %d, EstabResets %d", r, c.State(), ctr.AbortOnData, ctr.EstabResets)
		}
		if _, err := c.Write([]byte("x")); err != syscall.EPIPE {
			t.Errorf("linux: write after the reset: %v, want EPIPE", err)
		}
	}
}

// TestInjectShutdownBothData: shut down both ways (not closed), in
// FIN_WAIT, new data resets the connection under the linux profile and
// leaves ECONNRESET (testdata/pkt/close/shutdown-rdwr-data.pkt); the rfc
// profile, which has no shutdown(SHUT_RD), takes it. Old data with the
// peer's FIN resets nothing (close/orphan-old-data-with-fin.pkt).
func TestInjectShutdownBothData(t *testing.T) {
	for _, profile := range []string{ProfileLinux, ProfileRFC} {
		j := newInj(t, Config{Profile: profile, NoTimestamps: true})
		c, iss := j.handshake(options{HasMSS: true, MSS: 1000})
		c.CloseRead()
		c.CloseWrite()
		j.expect(flagFIN|flagACK, iss+1, peerISN+1)
		j.send(segSpec{seq: peerISN + 1, ack: iss + 2, flags: flagACK, wnd: 1000})
		j.send(segSpec{seq: peerISN + 1, ack: iss + 2, flags: flagPSH | flagACK, wnd: 1000, payload: make([]byte, 100)})
		if profile == ProfileRFC {
			if c.State() != FinWait2 || j.h.p.Counters().AbortOnData != 0 {
				t.Errorf("rfc: %v, AbortOnData %d; want FIN_WAIT_2 kept", c.State(), j.h.p.Counters().AbortOnData)
			}
			continue
		}
		j.expect(flagRST, iss+2, 0)
		if _, err := c.Read(make([]byte, 10)); err != syscall.ECONNRESET || c.State() != Closed {
			t.Errorf("linux: read after the reset: %v, %v; want ECONNRESET, CLOSED", err, c.State())
		}
	}
	// A closed socket: old data with a new FIN is no abort.
	j := newInj(t, Config{NoTimestamps: true})
	c, iss := j.handshake(options{HasMSS: true, MSS: 1000})
	j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagPSH | flagACK, wnd: 1000, payload: make([]byte, 10)})
	j.expect(flagACK, iss+1, peerISN+11)
	c.Read(make([]byte, 10))
	c.Close()
	j.expect(flagFIN|flagACK, iss+1, peerISN+11)
	j.send(segSpec{seq: peerISN + 1, ack: iss + 2, flags: flagFIN | flagACK, wnd: 1000, payload: make([]byte, 10)})
	j.expect(flagACK, iss+2, peerISN+12)
	if c.State() != TimeWait || j.h.p.Counters().AbortOnData != 0 {
		t.Errorf("old data with a FIN: %v, AbortOnData %d; want TIME_WAIT", c.State(), j.h.p.Counters().AbortOnData)
	}
}

// TestInjectRetransmitShrunkWindow: under the linux profile a
// retransmission takes only what the peer's window, shrunk since the
// segments went, still offers (rack/tlp-shrunk-window.pkt,
// rto/rto-shrunk-window.pkt, checked on Linux 6.18): the RTO resends
// SND.UNA's segment cut to the window, or whole when the window is
// closed (a probe).
func TestInjectRetransmitShrunkWindow(t *testing.T) {
	for _, tt := range []struct {
		wnd  uint16 // offered with the ACK of the first segment
		seq  uint32 // the first retransmission, from the ISS
		size int
	}{
		{wnd: 500, seq: 1001, size: 500}, // edge at 1501: the RTO's head, cut
		{wnd: 0, seq: 1001, size: 1000},  // no window: the head whole, a probe
	} {
		j := newInj(t, Config{NoTimestamps: true})
		c, iss := j.handshake(options{HasMSS: true, MSS: 1000})
		if _, err := c.Write(make([]byte, 3000)); err != nil {
			t.Fatal(err)
		}
		for len(j.h.out) > 0 {
			j.next()
		}
		j.send(segSpec{seq: peerISN + 1, ack: iss + 1001, flags: flagACK, wnd: tt.wnd})
		for i := 0; i < 100 && len(j.h.out) == 0; i++ {
			j.w.clk.advance(10 * time.Millisecond)
		}
		r := j.next()
		if got := uint32(r.seq) - iss; got != tt.seq || len(r.payload) != tt.size {
			t.Errorf("window %d: retransmitted %d bytes at %d, want %d at %d", tt.wnd, len(r.payload), got, tt.size, tt.seq)
		}
	}
}

func TestInjectRSTInSynReceived(t *testing.T) {
	j := newInj(t, Config{})
	l, _ := j.h.p.Listen(j.me, 4, nil)
	j.send(segSpec{seq: peerISN, flags: flagSYN, wnd: 1000})
	j.next()
	// Not at RCV.NXT: challenge ACK; exact: the child goes, the listener stays.
	j.send(segSpec{seq: peerISN + 10, flags: flagRST})
	j.next()
	j.send(segSpec{seq: peerISN + 1, flags: flagRST})
	j.none()
	if syn, acc := l.QueueLens(); syn != 0 || acc != 0 || j.h.p.NumConns() != 0 {
		t.Fatalf("queues %d %d, %d conns", syn, acc, j.h.p.NumConns())
	}
	// The listener still answers.
	j.send(segSpec{seq: peerISN + 5000, flags: flagSYN, wnd: 1000})
	if s := j.next(); s.flags != flagSYN|flagACK {
		t.Fatalf("%v", s)
	}
}

// TestInjectAckFullSegmentAndTail checks the receiver's ACK rule: more
// than one full-sized segment unacknowledged is acknowledged at once
// (RFC 1122 §4.2.3.2, as Linux's __tcp_ack_snd_check), so a full segment
// followed by a short tail is not left to the delayed-ACK timer while a
// Nagle sender holds its next tail.
func TestInjectAckFullSegmentAndTail(t *testing.T) {
	j := newInj(t, Config{Profile: ProfileRFC, NoTimestamps: true})
	_, iss := j.handshake(options{HasMSS: true, MSS: 1460})
	seq := uint32(peerISN + 1)
	for _, tc := range []struct {
		sizes []int
		ack   bool // an ACK follows the last segment at once
	}{
		{[]int{100}, false},       // a small segment alone: delayed
		{[]int{1460}, false},      // one full segment: delayed
		{[]int{1460, 41}, true},   // a full segment and a tail
		{[]int{1000, 1000}, true}, // more than a full segment's worth
		{[]int{1460, 1460}, true}, // every second full segment
	} {
		for i, n := range tc.sizes {
			j.send(segSpec{seq: seq, ack: iss + 1, flags: flagACK | flagPSH, payload: make([]byte, n), wnd: 1000})
			seq += uint32(n)
			if i < len(tc.sizes)-1 {
				j.none()
			}
		}
		if tc.ack {
			if a := j.expect(flagACK, iss+1, seq); a.why != whyAckOfData {
				t.Fatalf("%v: %v", tc.sizes, a)
			}
			continue
		}
		j.none()
		j.w.clk.advance(50 * time.Millisecond)
		if a := j.expect(flagACK, iss+1, seq); a.why != whyDelayedAck {
			t.Fatalf("%v: %v", tc.sizes, a)
		}
	}
}

// TestInjectRetransmitWaitsForQueue: while the interface's transmit
// queue is full (TxQueueNet), new data and retransmissions wait, as
// Linux's TCP small queues hold a retransmission (__tcp_retransmit_skb:
// -EBUSY) — a go-back-N after an RTO must not pour its window into a
// full queue, which drops it — and only the RTO's own segment goes;
// TxReady sends what waited.
func TestInjectRetransmitWaitsForQueue(t *testing.T) {
	j := newInj(t, Config{NoTimestamps: true})
	c, iss := j.handshake(options{HasMSS: true, MSS: 1000})
	c.Write(make([]byte, 10000))
	for range 10 {
		j.next() // the initial window, all lost
	}
	j.h.full = true
	j.w.clk.advance(250 * time.Millisecond) // the RTO (200 ms: the handshake measured no RTT)
	rto := j.next()
	if uint32(rto.seq) != iss+1 || len(rto.payload) != 1000 {
		t.Fatalf("RTO retransmission %v, want the first segment", rto)
	}
	j.none()
	// Its ACK opens the window (cwnd 2 in slow start): the next
	// retransmissions wait for room.
	j.send(segSpec{seq: peerISN + 1, ack: iss + 1001, flags: flagACK, wnd: 65535})
	j.none()
	if j.h.p.Counters().TxQueueFull == 0 {
		t.Fatal("the full queue was never consulted")
	}
	j.h.full = false
	j.h.p.TxReady()
	a, b := j.next(), j.next()
	if uint32(a.seq) != iss+1001 || uint32(b.seq) != iss+2001 {
		t.Fatalf("after TxReady: %v, %v; want the go-back-N retransmissions from %d", a, b, iss+1001)
	}
}

// TestInjectRACKRetransmitWaitsForQueue is TestInjectRetransmitWaitsForQueue
// for RACK's recovery: segments SACKed above a hole mark it lost, and
// while the interface's queue is full its retransmission waits (as
// Linux's __tcp_retransmit_skb refuses one with -EBUSY) instead of going
// into a queue that would drop it; TxReady sends it.
func TestInjectRACKRetransmitWaitsForQueue(t *testing.T) {
	j := newInj(t, Config{NoTimestamps: true})
	c, iss := j.handshake(options{HasMSS: true, MSS: 1000, SACKPermitted: true})
	c.Write(make([]byte, 10000))
	for range 10 {
		j.next() // the initial window; the first segment is lost
	}
	j.h.full = true
	// Duplicate ACKs SACKing the second to the fifth segment: three
	// segments SACKed above the hole make RACK deem it lost at once.
	for k := uint32(2); k <= 5; k++ {
		j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, wnd: 65535,
			opts: options{NSACK: 1, SACK: [4]wire.SACKBlock{{Left: iss + 1001, Right: iss + 1 + k*1000}}}})
	}
	j.none()
	if c.Info().Retransmits != 0 || j.h.p.Counters().TxQueueFull == 0 {
		t.Fatalf("with the queue full: %d retransmitted, %d waits; want none sent and a wait", c.Info().Retransmits, j.h.p.Counters().TxQueueFull)
	}
	j.h.full = false
	j.h.p.TxReady()
	if s := j.next(); uint32(s.seq) != iss+1 || len(s.payload) != 1000 {
		t.Fatalf("after TxReady: %v, want the lost first segment", s)
	}
}
