package tcp

import (
	"bytes"
	"testing"
	"time"
)

// dutSYN makes the DUT connect to the injector and returns its SYN.
func (j *inj) dutSYN() segView {
	j.t.Helper()
	if _, err := j.h.p.Connect(j.me, j.peer, nil); err != nil {
		j.t.Fatal(err)
	}
	return j.next()
}

// TestLinuxSYN checks the SYN against Linux 6.18's, byte for byte in
// its options (testdata/linux: linux-*.pcap, and the kernel with
// tcp_timestamps=0): the window is the 64 KiB initial buffer rounded
// down to the MSS, the window scale comes from tcp_rmem[2] (32 MiB →
// 10). The rfc profile offers its 256 KiB buffer with the scale that
// fits it.
func TestLinuxSYN(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		wnd  uint16
		opts []byte // after the MSS option; TS values masked
	}{
		{"linux", Config{}, 64240, []byte{4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 10}},
		{"linux no timestamps", Config{NoTimestamps: true}, 64240, []byte{1, 1, 4, 2, 1, 3, 3, 10}},
		// A buffer above 64 KiB: rounded to the MSS, then cut to the
		// field; Linux 6.18 sends 65535 and wscale 5 for SO_RCVBUF 1 MiB
		// (net.core.rmem_max 4 MiB), and testdata/pkt/buffers/
		// upstream-defaults.pkt checks the SYN-ACK's 65535 on the kernel.
		{"linux SO_RCVBUF 1 MiB", Config{RecvBuffer: 1 << 20}, 65535, []byte{4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 5}},
		{"rfc", Config{Profile: ProfileRFC}, 65535, []byte{4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newInj(t, tt.cfg)
			s := j.dutSYN()
			o := append([]byte(nil), s.raw[headerLen+4:int(s.raw[12]>>4)*4]...)
			if len(o) == len(tt.opts) && len(o) > 8 {
				clear(o[4:12]) // TSval, TSecr
			}
			if s.wnd != tt.wnd || !bytes.Equal(o, tt.opts) {
				t.Fatalf("SYN win %d options %v, want win %d options %v", s.wnd, o, tt.wnd, tt.opts)
			}
		})
	}
}

// TestLinuxSynAckWindow: Linux's SYN-ACK offers the buffer rounded down
// to the MSS it will receive, less the timestamp option when agreed:
// 65160 with timestamps, 64240 without (testdata/linux).
func TestLinuxSynAckWindow(t *testing.T) {
	for _, tt := range []struct {
		ts  bool
		wnd uint16
	}{{true, 65160}, {false, 64240}} {
		j := newInj(t, Config{})
		if _, err := j.h.p.Listen(j.me, 4, nil); err != nil {
			t.Fatal(err)
		}
		j.send(segSpec{seq: peerISN, flags: flagSYN, wnd: 65535, opts: options{HasMSS: true, MSS: 1460, HasTS: tt.ts, TSVal: 5, SACKPermitted: true, HasWScale: true, WScale: 7}})
		if sa := j.next(); sa.wnd != tt.wnd {
			t.Errorf("timestamps %v: SYN-ACK win %d, want %d", tt.ts, sa.wnd, tt.wnd)
		}
	}
}

// TestLinuxPSHPerWrite: Linux marks the last segment of each write with
// PSH (tcp_push at the end of tcp_sendmsg), but a write whose bytes join
// the unsent tail skb clears that skb's PSH first, so writes queued
// behind a closed window go out as one packet with PSH at its end only
// (testdata/pkt/tso/append-clears-psh.pkt, checked on Linux 6.18); the
// rfc profile pushes when a segment empties the send buffer.
func TestLinuxPSHPerWrite(t *testing.T) {
	for _, tt := range []struct {
		profile string
		want    []uint8 // PSH bits of the segments sent once the window opens
	}{
		{ProfileLinux, []uint8{0, flagPSH}},
		{ProfileRFC, []uint8{0, flagPSH}},
	} {
		j := newInj(t, Config{Profile: tt.profile, NoTimestamps: true, NoDelay: true})
		c, iss := j.handshake(options{HasMSS: true, MSS: 1000})
		j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, wnd: 0})
		for range 3 {
			if n, err := c.Write(make([]byte, 600)); n != 600 || err != nil {
				t.Fatal(n, err)
			}
		}
		j.none()
		j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, wnd: 5000})
		var got []uint8
		for len(j.h.out) > 0 {
			s := j.next()
			if len(s.payload) > 0 {
				got = append(got, s.flags&flagPSH)
			}
		}
		// 1800 bytes: the three writes are one skb, [0,1800); under the
		// linux profile the ends at 600 and 1200 carry no PSH.
		if !bytes.Equal(got, tt.want) {
			t.Errorf("%s: PSH bits %v, want %v", tt.profile, got, tt.want)
		}
	}
}

// TestLinuxQuickAck: Linux acknowledges the first data segments at once
// (quick-ACK mode, tcp_incr_quickack); the rfc profile delays the ACK
// of a single segment (RFC 1122 §4.2.3.2).
func TestLinuxQuickAck(t *testing.T) {
	for _, tt := range []struct {
		profile string
		quick   bool
	}{{ProfileLinux, true}, {ProfileRFC, false}} {
		j := newInj(t, Config{Profile: tt.profile, NoTimestamps: true})
		_, iss := j.handshake(options{HasMSS: true, MSS: 1000})
		j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, wnd: 65535, payload: make([]byte, 1000)})
		if got := len(j.h.out) > 0; got != tt.quick {
			t.Fatalf("%s: ACK at once %v, want %v", tt.profile, got, tt.quick)
		}
		if tt.quick {
			j.expect(flagACK, iss+1, peerISN+1001)
		}
	}
}

// TestLinuxRTO checks the RTO formula: Linux's is SRTT + rttvar, its
// rttvar the variance term (four deviations), never below rto_min;
// RFC 6298 bounds SRTT + 4·RTTVAR below by 1 s.
func TestLinuxRTO(t *testing.T) {
	for _, tt := range []struct {
		profile      string
		srtt, rttvar time.Duration
		want         time.Duration
	}{
		{ProfileLinux, 40 * time.Millisecond, 20 * time.Millisecond, 240 * time.Millisecond},
		{ProfileLinux, 100 * time.Millisecond, 240 * time.Millisecond, 340 * time.Millisecond},
		{ProfileLinux, 40 * time.Millisecond, 30 * time.Millisecond, 240 * time.Millisecond},
		{ProfileRFC, 40 * time.Millisecond, 20 * time.Millisecond, time.Second},
		{ProfileRFC, 600 * time.Millisecond, 200 * time.Millisecond, 1400 * time.Millisecond},
	} {
		j := newInj(t, Config{Profile: tt.profile})
		c, _ := j.handshake(options{HasMSS: true, MSS: 1000})
		c.srtt, c.rttvar = tt.srtt, tt.rttvar
		if got := c.computeRTO(); got != tt.want {
			t.Errorf("%s: SRTT %v RTTVAR %v: RTO %v, want %v", tt.profile, tt.srtt, tt.rttvar, got, tt.want)
		}
	}
}

// TestLinuxSynAckRetries: a SYN-ACK is resent five times
// (tcp_synack_retries), then the half-open connection is dropped.
func TestLinuxSynAckRetries(t *testing.T) {
	j := newInj(t, Config{})
	l, _ := j.h.p.Listen(j.me, 4, nil)
	j.send(segSpec{seq: peerISN, flags: flagSYN, wnd: 65535, opts: options{HasMSS: true, MSS: 1000}})
	n := 0
	for range 200 {
		j.w.clk.advance(time.Second)
		for len(j.h.out) > 0 {
			if s := j.next(); s.flags == flagSYN|flagACK {
				n++
			}
		}
	}
	if syn, _ := l.QueueLens(); n != 6 || syn != 0 || j.h.p.NumConns() != 0 {
		t.Fatalf("%d SYN-ACKs (want 1 + 5 retries), SYN queue %d, %d connections", n, syn, j.h.p.NumConns())
	}
}

// TestAutotuning moves 4 MB over a 20 ms round trip with the linux
// profile's defaults: the receiver's buffer and the window it offers
// grow past the initial 64 KiB (tcp_rcv_space_adjust, tcp_grow_window),
// and so does the sender's buffer (tcp_sndbuf_expand); with the
// buffers fixed at 64 KiB they stay there.
func TestAutotuning(t *testing.T) {
	run := func(cfg Config) (rcvBuf, sndBuf, maxWnd int, took time.Duration) {
		w, cl, sv := pair(cfg)
		w.delay = 10 * time.Millisecond
		c, s, _ := dial(t, w, cl, sv, nil)
		msg := pattern(4_000_000, 3)
		a := &pumpEnd{c: c, out: msg}
		b := &pumpEnd{c: s}
		start := w.clk.now
		pump(t, w, a, b, true, time.Minute)
		if !bytes.Equal(b.in.Bytes(), msg) {
			t.Fatalf("got %d bytes", b.in.Len())
		}
		return s.rcvBufSize, c.sndBufSize, int(c.maxSndWnd), w.clk.now.Sub(start)
	}
	rcv, snd, wnd, auto := run(Config{})
	if rcv <= linuxRmemDefault/2 || snd <= linuxWmemDefault || wnd <= 1<<20 {
		t.Errorf("autotuned: receive buffer %d, send buffer %d, largest window %d", rcv, snd, wnd)
	}
	rcv, snd, wnd, fixed := run(Config{RecvBuffer: 64 << 10, SendBuffer: 64 << 10})
	if rcv != 64<<10 || snd != 64<<10 || wnd > 64<<10 {
		t.Errorf("fixed: receive buffer %d, send buffer %d, largest window %d", rcv, snd, wnd)
	}
	if auto*3 > fixed {
		t.Errorf("autotuned transfer took %v, fixed 64 KiB buffers %v: want at least 3× faster", auto, fixed)
	}
	t.Logf("4 MB over 20 ms RTT: autotuned %v, fixed 64 KiB %v", auto, fixed)
}

// TestRingHoldsWhatItNeeds moves 4 MB over a 20 ms round trip with
// autotuning, the reader taking everything at once: the receive
// buffer's limit grows past 1 MB, but the receive ring's storage stays
// as small as what it held needs (at most 256 KiB here), while the send
// ring, which holds the unacknowledged flight, grows with it.
func TestRingHoldsWhatItNeeds(t *testing.T) {
	w, cl, sv := pair(Config{})
	w.delay = 10 * time.Millisecond
	c, s, _ := dial(t, w, cl, sv, nil)
	msg := pattern(4_000_000, 5)
	a := &pumpEnd{c: c, out: msg}
	b := &pumpEnd{c: s}
	maxRcv, maxSnd := 0, 0
	end := w.clk.now.Add(time.Minute)
	for w.clk.now.Before(end) && b.in.Len() < len(msg) {
		a.step(t, false)
		b.step(t, false)
		if !w.clk.step(end) {
			break
		}
		// After the deliveries, before the reader takes them.
		maxRcv, maxSnd = max(maxRcv, len(s.rcvBuf.buf)), max(maxSnd, len(c.sndBuf.buf))
	}
	if !bytes.Equal(b.in.Bytes(), msg) {
		t.Fatalf("got %d bytes", b.in.Len())
	}
	if s.rcvBufSize < 1<<20 {
		t.Fatalf("receive buffer autotuned to %d only", s.rcvBufSize)
	}
	if maxRcv > 256<<10 || maxRcv == 0 {
		t.Errorf("receive ring storage reached %d bytes for a limit of %d, want ≤ 256 KiB", maxRcv, s.rcvBufSize)
	}
	if maxSnd < 1<<20 {
		t.Errorf("send ring storage reached %d bytes only", maxSnd)
	}
	t.Logf("receive limit %d, ring at most %d; send limit %d, ring at most %d", s.rcvBufSize, maxRcv, c.sndBufSize, maxSnd)
}

// TestMinSndMSS: a peer's MSS below the floor is raised to it: Linux's
// tcp_min_snd_mss, 48 (mss/tiny-peer-mss.pkt, checked on Linux 6.18),
// under the linux profile, stacklab's 64 under the rfc profile.
func TestMinSndMSS(t *testing.T) {
	for _, tt := range []struct {
		profile string
		want    int
	}{{ProfileLinux, 48}, {ProfileRFC, 64}} {
		j := newInj(t, Config{Profile: tt.profile, NoTimestamps: true})
		c, _ := j.handshake(options{HasMSS: true, MSS: 40})
		if got := c.sendMSS(); got != tt.want {
			t.Errorf("%s: MSS %d for a peer's 40, want %d", tt.profile, got, tt.want)
		}
	}
}

// TestDelackDueSendsNow: small segments 7 ms apart while an ACK waits
// for the delayed-ACK timer (pingpong mode, 40 ms). Under the linux
// profile the segment that finds the timer due within a quarter of ato
// takes the ACK at once (tcp_send_delayed_ack): the sixth, 35 ms after
// the first, and the ACK covers it; the rfc profile's timer keeps its
// expiry and sends the ACK of the first six at 40 ms
// (testdata/pkt/delack/timer-due-acks-now.pkt on the kernel).
func TestDelackDueSendsNow(t *testing.T) {
	for _, tt := range []struct {
		profile string
		at      time.Duration // when the first ACK leaves, after the first segment
		ack     uint32        // what it acknowledges
	}{{ProfileLinux, 35 * time.Millisecond, 301}, {ProfileRFC, 40 * time.Millisecond, 301}} {
		j := newInj(t, Config{Profile: tt.profile, NoTimestamps: true, DelayedAckTime: 40 * time.Millisecond})
		c, iss := j.handshake(options{HasMSS: true, MSS: 1000})
		c.SetQuickAck(false)
		c.pingpong = true // TCP_QUICKACK 0 under linux; rfc delays ACKs anyway
		c.quickAcks = 0
		var at time.Duration
		for i := range 6 {
			if i > 0 {
				j.w.clk.advance(7 * time.Millisecond)
			}
			if len(j.h.out) == 0 {
				at = time.Duration(i) * 7 * time.Millisecond
			}
			j.send(segSpec{seq: peerISN + 1 + uint32(50*i), ack: iss + 1, flags: flagACK | flagPSH, wnd: 65535, payload: make([]byte, 50)})
		}
		if len(j.h.out) == 0 {
			j.w.clk.advance(5 * time.Millisecond) // the rfc profile's timer, 40 ms after the first
			at = 40 * time.Millisecond
		}
		if len(j.h.out) == 0 {
			t.Fatalf("%s: no ACK by 40 ms", tt.profile)
		}
		if at != tt.at {
			t.Errorf("%s: first ACK %v after the first segment, want %v", tt.profile, at, tt.at)
		}
		j.expect(flagACK, iss+1, peerISN+tt.ack)
	}
}

// TestDeferAccept: under TCP_DEFER_ACCEPT the handshake's bare ACK leaves
// the connection half-open (counted as DeferAcceptDrop) and data
// completes it, in both profiles (a Linux socket option, not a
// difference from the RFCs); the seconds convert to SYN-ACK timeouts
// and back as Linux's secs_to_retrans and retrans_to_secs
// (testdata/pkt/handshake/defer-accept*.pkt on the kernel).
func TestDeferAccept(t *testing.T) {
	for _, c := range []struct{ secs, timeouts, back int }{{-1, 0, 0}, {0, 0, 0}, {1, 1, 1}, {2, 2, 3}, {3, 2, 3}, {4, 3, 7}, {10, 4, 15}, {1000, 15, 1087}} {
		if got := DeferAcceptTimeouts(c.secs); got != c.timeouts {
			t.Errorf("DeferAcceptTimeouts(%d) = %d, want %d", c.secs, got, c.timeouts)
		}
		if got := DeferAcceptSeconds(c.timeouts); got != c.back {
			t.Errorf("DeferAcceptSeconds(%d) = %d, want %d", c.timeouts, got, c.back)
		}
	}
	for _, profile := range []string{ProfileLinux, ProfileRFC} {
		j := newInj(t, Config{Profile: profile, NoTimestamps: true})
		l, _ := j.h.p.Listen(j.me, 4, &SockOpts{DeferAccept: 2})
		j.send(segSpec{seq: peerISN, flags: flagSYN, wnd: 65535, opts: options{HasMSS: true, MSS: 1000}})
		synack := j.next()
		iss := uint32(synack.seq)
		j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, wnd: 65535})
		if _, acc := l.QueueLens(); acc != 0 || j.h.p.Counters().DeferAcceptDrop != 1 {
			t.Fatalf("%s: after the bare ACK: accept queue %d, DeferAcceptDrop %d; want 0, 1", profile, acc, j.h.p.Counters().DeferAcceptDrop)
		}
		j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK | flagPSH, wnd: 65535, payload: []byte("GET /")})
		c, err := l.Accept()
		if err != nil {
			t.Fatalf("%s: accept after data: %v", profile, err)
		}
		if b := make([]byte, 16); func() bool { n, _ := c.Read(b); return string(b[:n]) != "GET /" }() {
			t.Errorf("%s: the data did not come with the connection", profile)
		}
	}
}
