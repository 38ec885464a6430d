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
	w, cl, sv := pair(Config{})
	l, err := sv.p.Listen(ap("0.0.0.0:80"), 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	// One connection through a real close, the client first.
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
	if c.twReusable() {
		t.Fatal("TIME_WAIT reusable in the millisecond of its last segment")
	}
	w.clk.advance(100 * time.Millisecond)
	if c.State() != TimeWait || s.State() != Closed || !c.twReusable() {
		t.Fatalf("client %v (reusable %v), server %v", c.State(), c.twReusable(), s.State())
	}
	// Every other ephemeral port holds a TIME_WAIT too.
	for port := ephemeralFirst; port <= ephemeralLast; port++ {
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
	c2, err := cl.p.Connect(netip0(), ap("10.0.0.2:80"), nil)
	if err != nil || c2.Tuple() != c.Tuple() {
		t.Fatalf("connect with every port in TIME_WAIT: %v (want the tuple of %v)", err, c.Tuple())
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
	// The others are older now.
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
// the client closing first each time: the second connect takes over the
// TIME_WAIT once the timestamp clock has ticked, and not before.
func TestConnectBoundPortTimeWait(t *testing.T) {
	w, cl, sv := pair(Config{})
	l, _ := sv.p.Listen(ap("0.0.0.0:80"), 16, nil)
	local := ap("10.0.0.1:40000")
	c, err := cl.p.Connect(local, ap("10.0.0.2:80"), nil)
	if err != nil {
		t.Fatal(err)
	}
	w.clk.advance(100 * time.Millisecond)
	s, _ := l.Accept()
	c.Close()
	w.clk.advance(100 * time.Millisecond)
	s.Close()
	if _, err := cl.p.Connect(local, ap("10.0.0.2:80"), nil); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("connect in the TIME_WAIT's last millisecond: %v", err)
	}
	w.clk.advance(100 * time.Millisecond)
	c2, err := cl.p.Connect(local, ap("10.0.0.2:80"), nil)
	if err != nil {
		t.Fatal(err)
	}
	w.clk.advance(100 * time.Millisecond)
	if _, err := l.Accept(); err != nil || c2.State() != Established || c.State() != Closed {
		t.Fatalf("accept %v, new %v, old %v", err, c2.State(), c.State())
	}
}
