package tcp

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"stacklab/stack/core"
)

// TestEphemeralSuccessive checks RFC 6056 Algorithm 4 as Linux runs it:
// successive connects to one destination take distinct ports, walking
// the range in steps of two from a hashed offset, so no 4-tuple comes
// back before the range is used up; another destination starts
// elsewhere.
func TestEphemeralSuccessive(t *testing.T) {
	_, cl, _ := pair(Config{})
	seen := map[uint16]bool{}
	var prev uint16
	for i := range 1000 {
		c, err := cl.p.Connect(netip0(), ap("10.0.0.2:80"), nil)
		if err != nil {
			t.Fatal(err)
		}
		port := c.Tuple().Local.Port()
		if port < DefaultPortFirst || port > DefaultPortLast {
			t.Fatalf("port %d outside %d–%d", port, DefaultPortFirst, DefaultPortLast)
		}
		if seen[port] {
			t.Fatalf("connect #%d reused port %d", i, port)
		}
		seen[port] = true
		if i > 0 && port != prev+2 && !(prev+2 > DefaultPortLast && port < prev) {
			t.Fatalf("connect #%d took %d after %d, want the next port of the same parity", i, port, prev)
		}
		// A closed connection frees its 4-tuple at once; the next
		// connect still moves on.
		c.destroy()
		prev = port
	}
	c, err := cl.p.Connect(netip0(), ap("10.0.0.2:443"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Tuple().Local.Port(); p == prev+2 {
		t.Errorf("another destination continued the first one's sequence at %d", p)
	}
}

// TestEphemeralExhausted fills every port to one destination: the next
// connect fails with EADDRNOTAVAIL, as Linux's does, and is counted; a
// repeat fails at once from the remembered search; once a connection
// goes, its port is taken again.
func TestEphemeralExhausted(t *testing.T) {
	_, cl, _ := pair(Config{})
	remote := ap("10.0.0.2:80")
	var one *Conn
	for port := DefaultPortFirst; port <= DefaultPortLast; port++ {
		tp := core.Tuple{Local: netip.AddrPortFrom(cl.addr, uint16(port)), Remote: remote}
		c := cl.p.newConn(tp, nil, 1500)
		c.setState(Established)
		cl.p.addConn(tp, c)
		if port == 40001 {
			one = c
		}
	}
	for i := range 3 {
		if _, err := cl.p.Connect(netip0(), remote, nil); !errors.Is(err, syscall.EADDRNOTAVAIL) {
			t.Fatalf("connect #%d with every port taken: %v, want EADDRNOTAVAIL", i, err)
		}
	}
	if got := cl.p.Counters().PortsExhausted; got != 3 {
		t.Errorf("PortsExhausted %d, want 3", got)
	}
	// Another destination has every port.
	if _, err := cl.p.Connect(netip0(), ap("10.0.0.2:81"), nil); err != nil {
		t.Fatalf("connect to another port of the server: %v", err)
	}
	one.destroy()
	c, err := cl.p.Connect(netip0(), remote, nil)
	if err != nil || c.Tuple().Local.Port() != 40001 {
		t.Fatalf("connect after port 40001 was freed: %v, %v", c, err)
	}
}

// TestISNClock64ns checks the ISN's clock ticks every 64 ns, as Linux's:
// a reused 4-tuple microseconds later starts well past the old ISN.
func TestISNClock64ns(t *testing.T) {
	w, cl, _ := pair(Config{})
	tp := core.Tuple{Local: ap("10.0.0.1:40000"), Remote: ap("10.0.0.2:80")}
	a := cl.p.isn(tp)
	w.clk.advance(640 * time.Nanosecond)
	b := cl.p.isn(tp)
	if d := uint32(b - a); d != 10 {
		t.Errorf("ISN moved by %d in 640 ns, want 10 (one per 64 ns)", d)
	}
}

// TestEphemeralRange: a connect takes its port from Config's range
// (ip_local_port_range), the even ports first and then the odd, as
// Linux 6.18 does with "40000 40009" (which took 40004, 40006, 40008,
// 40000, 40002, then the odd ones); with every port held, EADDRNOTAVAIL.
func TestEphemeralRange(t *testing.T) {
	for _, r := range [][2]uint16{{40000, 40009}, {50000, 50000}, {61000, 61004}} {
		_, cl, _ := pair(Config{PortFirst: r[0], PortLast: r[1]})
		n := int(r[1]-r[0]) + 1
		seen := map[uint16]bool{}
		for i := range n {
			c, err := cl.p.Connect(netip0(), ap("10.0.0.2:80"), nil)
			if err != nil {
				t.Fatalf("%v: connect #%d: %v", r, i, err)
			}
			port := c.Tuple().Local.Port()
			if port < r[0] || port > r[1] || seen[port] {
				t.Fatalf("%v: connect #%d took %d (seen before: %v)", r, i, port, seen[port])
			}
			if i < (n+1)/2 && (port-r[0])%2 != 0 { // the offsets from PortFirst, even then odd
				t.Errorf("%v: connect #%d took %d, an odd offset before the even ones ran out", r, i, port)
			}
			seen[port] = true
		}
		if _, err := cl.p.Connect(netip0(), ap("10.0.0.2:80"), nil); !errors.Is(err, syscall.EADDRNOTAVAIL) {
			t.Errorf("%v: connect with every port held: %v, want EADDRNOTAVAIL", r, err)
		}
	}
}
