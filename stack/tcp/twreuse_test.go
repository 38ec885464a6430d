package tcp

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"stacklab/stack/core"
)

// TestConnectReusesTimeWait fills the ephemeral range with connections
// the client closed first and keeps in TIME_WAIT. A further connect
// recycles one of them, as Linux's tcp_tw_reuse does, once the timestamp
// clock has moved on since the old connection's last segment: the new
// SYN's TSval is then above anything the old incarnation sent (RFC 6191,
// RFC 7323 §5), and the server, which closed its end, accepts it.
func TestConnectReusesTimeWait(t *testing.T) {
	w, cl, sv := pair(Config{TimeWaitReuse: TimeWaitReuseOn}) // tcp_tw_reuse 1: 10.0.0.0/24 is not loopback
	l, err := sv.p.Listen(ap("0.0.0.0:80"), 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	// One connection through a real close, the client first.
	w.keepLog = true
	c, err := cl.p.Connect(netip0(), ap("10.0.0.2:80"), nil)
	if err != nil {
		t.Fatal(err)
	}
	w.clk.advance(100 * time.Millisecond)
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	w.clk.advance(100 * time.Millisecond)
	s.Close()
	firstSYN := parseOut(t, w.log[0])
	var lastServerTSVal uint32
	for _, l := range w.log {
		if l.from == "server" {
			lastServerTSVal = parseOut(t, l).opts.TSVal
		}
	}
	w.keepLog, w.log = false, nil
	if c.twReusable() {
		t.Fatal("TIME_WAIT reusable in the millisecond of its last segment")
	}
	w.clk.advance(900 * time.Millisecond)
	if c.twReusable() {
		t.Fatal("TIME_WAIT reusable before tcp_tw_reuse_delay (1 s) has passed")
	}
	w.clk.advance(200 * time.Millisecond)
	if c.State() != TimeWait || s.State() != Closed || !c.twReusable() {
		t.Fatalf("client %v (reusable %v), server %v", c.State(), c.twReusable(), s.State())
	}
	// Every other ephemeral port holds a TIME_WAIT too.
	for port := DefaultPortFirst; port <= DefaultPortLast; port++ {
		tp := core.Tuple{Local: netip.AddrPortFrom(cl.addr, uint16(port)), Remote: ap("10.0.0.2:80")}
		if cl.p.conns[tp] != nil || cl.p.tw[tp] != nil {
			continue
		}
		tw := cl.p.newConn(tp, nil, 1500)
		tw.tsOK = true
		tw.enterTimeWait()
		cl.p.addConn(tp, tw)
	}
	// Only c's TIME_WAIT is older than this millisecond: the connect
	// takes its port and the server accepts the new SYN.
	w.keepLog = true
	c2, err := cl.p.Connect(netip0(), ap("10.0.0.2:80"), nil)
	if err != nil || c2.Tuple() != c.Tuple() {
		t.Fatalf("connect with every port in TIME_WAIT: %v (want the tuple of %v)", err, c.Tuple())
	}
	// It inherits TS.Recent, as tcp_twsk_unique: the SYN echoes the last
	// TS val the server sent, and its window is rounded to the MSS less
	// the timestamp option, as tcp_connect_init (65160, not a fresh
	// connect's 64240; close/time-wait-connect.pkt checks both against
	// Linux).
	w.keepLog = false
	if syn := parseOut(t, w.log[len(w.log)-1]); syn.flags != flagSYN || syn.opts.TSEcr != lastServerTSVal || syn.wnd != 45*1448 {
		t.Fatalf("successor's SYN %v, TS ecr %d: want a SYN echoing the server's last TS val %d, window %d",
			syn, syn.opts.TSEcr, lastServerTSVal, 45*1448)
	}
	if firstSYN.wnd != 44*1460 || firstSYN.opts.TSEcr != 0 {
		t.Fatalf("a fresh connect's SYN %v, TS ecr %d: want window %d, TS ecr 0", firstSYN, firstSYN.opts.TSEcr, 44*1460)
	}
	w.clk.advance(100 * time.Millisecond)
	if _, err := l.Accept(); err != nil || c2.State() != Established {
		t.Fatalf("accept after TIME_WAIT reuse: %v, client %v", err, c2.State())
	}
	if got := cl.p.Counters().RetransSegs; got != 0 {
		t.Fatalf("%d retransmissions", got)
	}
	if got := cl.p.Counters().TimeWaitRecycled; got != 1 {
		t.Fatalf("TimeWaitRecycled %d", got)
	}
	// The others are older than tcp_tw_reuse_delay a second later.
	w.clk.advance(time.Second)
	if _, err := cl.p.Connect(netip0(), ap("10.0.0.2:80"), nil); err != nil {
		t.Fatal(err)
	}
	// Without timestamps a TIME_WAIT is never reused.
	c.enterTimeWait()
	w.clk.advance(time.Second)
	c.tsOK = false
	if c.twReusable() {
		t.Fatal("TIME_WAIT without timestamps reusable")
	}
}

// TestConnectBoundPortTimeWait connects twice from one bound local port,
// the client closing first: as Linux's __inet_check_established for a
// port the socket bound, the second connect takes the TIME_WAIT over at
// once whatever tcp_tw_reuse says (checked against Linux 6.18 by the
// differential case connect/time-wait-4-tuple), with the ISN Linux's
// tcp_twsk_unique gives it, the old SND.NXT + 65535 + 2; without
// timestamps, and over a connection still open, it is EADDRNOTAVAIL.
func TestConnectBoundPortTimeWait(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want error
	}{
		{Config{}, nil},
		{Config{TimeWaitReuse: TimeWaitReuseOff}, nil},
		{Config{TimeWaitReuse: TimeWaitReuseOn}, nil},
		{Config{NoTimestamps: true}, syscall.EADDRNOTAVAIL},
	} {
		w, cl, sv := pair(tc.cfg)
		l, _ := sv.p.Listen(ap("0.0.0.0:80"), 16, nil)
		local := ap("10.0.0.1:40000")
		c, err := cl.p.Connect(local, ap("10.0.0.2:80"), nil)
		if err != nil {
			t.Fatal(err)
		}
		w.clk.advance(100 * time.Millisecond)
		s, _ := l.Accept()
		if _, err := cl.p.Connect(local, ap("10.0.0.2:80"), nil); !errors.Is(err, syscall.EADDRNOTAVAIL) {
			t.Errorf("%+v: connect over an established 4-tuple: %v, want EADDRNOTAVAIL", tc.cfg, err)
		}
		c.Close()
		w.clk.advance(100 * time.Millisecond)
		s.Close()
		w.clk.advance(100 * time.Millisecond)
		if c.State() != TimeWait {
			t.Fatalf("%+v: client in %v, want TIME_WAIT", tc.cfg, c.State())
		}
		oldNxt := c.sndNxt
		c2, err := cl.p.Connect(local, ap("10.0.0.2:80"), nil)
		if !errors.Is(err, tc.want) || err != nil && tc.want == nil {
			t.Fatalf("%+v: connect over its TIME_WAIT: %v, want %v", tc.cfg, err, tc.want)
		}
		if err != nil {
			continue
		}
		if c2.iss != oldNxt.Add(65535+2) {
			t.Errorf("%+v: the new ISN is %d, want the old SND.NXT + 65537 (%d)", tc.cfg, c2.iss, oldNxt.Add(65535+2))
		}
		w.clk.advance(100 * time.Millisecond)
		if _, err := l.Accept(); err != nil || c2.State() != Established || c.State() != Closed {
			t.Fatalf("%+v: accept %v, new %v, old %v", tc.cfg, err, c2.State(), c.State())
		}
	}
}

// TestConnectBoundPortFinWait2 is TestConnectBoundPortTimeWait for an
// orphan in FIN_WAIT_2 (the client closed first, the server has not):
// Linux's is a timewait socket in its FIN_WAIT2 substate, which a
// connect from the bound port takes over at once when timestamps were
// in use, at the old SND.NXT + 65535 + 2 (checked against Linux 6.18 by
// the differential case connect/fin-wait-2-4-tuple), packed or not;
// without timestamps it is EADDRNOTAVAIL. The ephemeral search never
// takes one (tcp_twsk_unique's reuse is 0 for that substate).
func TestConnectBoundPortFinWait2(t *testing.T) {
	for _, tc := range []struct {
		cfg    Config
		noPack bool
		want   error
	}{
		{Config{}, false, nil},
		{Config{}, true, nil},
		{Config{NoTimestamps: true}, false, syscall.EADDRNOTAVAIL},
		{Config{NoTimestamps: true}, true, syscall.EADDRNOTAVAIL},
	} {
		w, cl, sv := pair(tc.cfg)
		cl.p.noPack = tc.noPack
		l, _ := sv.p.Listen(ap("0.0.0.0:80"), 16, nil)
		local := ap("10.0.0.1:40000")
		c, err := cl.p.Connect(local, ap("10.0.0.2:80"), nil)
		if err != nil {
			t.Fatal(err)
		}
		w.clk.advance(100 * time.Millisecond)
		l.Accept()
		c.Close()
		w.clk.advance(100 * time.Millisecond)
		if c.State() != FinWait2 {
			t.Fatalf("%+v: client in %v, want FIN_WAIT_2", tc, c.State())
		}
		if _, packed := cl.p.tw[c.Tuple()]; packed == tc.noPack {
			t.Fatalf("%+v: packed %v", tc, packed)
		}
		oldNxt := c.sndNxt
		c2, err := cl.p.Connect(local, ap("10.0.0.2:80"), nil)
		if !errors.Is(err, tc.want) || err != nil && tc.want == nil {
			t.Fatalf("%+v: connect over its FIN_WAIT_2: %v, want %v", tc, err, tc.want)
		}
		if err != nil {
			continue
		}
		if c2.iss != oldNxt.Add(65535+2) || c.State() != Closed || cl.p.Counters().TimeWaitRecycled != 1 {
			t.Errorf("%+v: new ISN %d (want the old SND.NXT + 65537, %d), old %v, TimeWaitRecycled %d",
				tc, c2.iss, oldNxt.Add(65535+2), c.State(), cl.p.Counters().TimeWaitRecycled)
		}
	}
	// The ephemeral search passes a port whose 4-tuple an orphan in
	// FIN_WAIT_2 holds, even where it would take a TIME_WAIT's.
	w, cl, sv := pair(Config{TimeWaitReuse: TimeWaitReuseOn})
	l, _ := sv.p.Listen(ap("0.0.0.0:80"), 16, nil)
	c, _ := cl.p.Connect(netip0(), ap("10.0.0.2:80"), nil)
	w.clk.advance(100 * time.Millisecond)
	l.Accept()
	c.Close()
	w.clk.advance(5 * time.Second)
	for port := DefaultPortFirst; port <= DefaultPortLast; port++ {
		tp := core.Tuple{Local: netip.AddrPortFrom(cl.addr, uint16(port)), Remote: ap("10.0.0.2:80")}
		if tp == c.Tuple() {
			continue
		}
		busy := cl.p.newConn(tp, nil, 1500)
		cl.p.addConn(tp, busy)
	}
	if _, err := cl.p.Connect(netip0(), ap("10.0.0.2:80"), nil); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Fatalf("ephemeral connect with only a FIN_WAIT_2 orphan's port left: %v, want EADDRNOTAVAIL", err)
	}
}

// TestEphemeralTimeWaitReuseSetting: the ephemeral port search takes
// over a TIME_WAIT only as tcp_tw_reuse allows: with Linux's default (2)
// never to a destination that is not loopback, so a client whose every
// port holds a TIME_WAIT to it gets EADDRNOTAVAIL; with 1, after
// tcp_tw_reuse_delay (TestConnectReusesTimeWait).
func TestEphemeralTimeWaitReuseSetting(t *testing.T) {
	w, cl, _ := pair(Config{})
	for port := DefaultPortFirst; port <= DefaultPortLast; port++ {
		tp := core.Tuple{Local: netip.AddrPortFrom(cl.addr, uint16(port)), Remote: ap("10.0.0.2:80")}
		tw := cl.p.newConn(tp, nil, 1500)
		tw.tsOK = true
		tw.enterTimeWait()
		cl.p.addConn(tp, tw)
	}
	w.clk.advance(10 * time.Second)
	if _, err := cl.p.Connect(netip0(), ap("10.0.0.2:80"), nil); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Fatalf("connect with every port in TIME_WAIT to a non-loopback peer, tcp_tw_reuse 2: %v, want EADDRNOTAVAIL", err)
	}
}
