package stack_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"stacklab/stack"
)

// TestSockets sees the server's listener, its accepted connection with 5
// unread bytes, a bound UDP socket, and — after the client closes first —
// the client's connection without a descriptor in FIN_WAIT_2 and then
// TIME_WAIT.
func TestSockets(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	c, s, l := connected(t, p)
	u, _ := p.b.Socket(stack.SockDgram)
	must(t, p.b.Bind(u, netip.AddrPortFrom(netip.Addr{}, 53)))
	if _, err := p.a.Send(c, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	p.clock.Run()
	table := func(st *stack.Stack) string {
		var b strings.Builder
		for _, e := range st.Sockets() {
			fmt.Fprintf(&b, "%s %s %v %v %d %d %d\n", e.Proto, e.State, e.Local, e.Remote, e.RecvQ, e.SendQ, e.FD)
		}
		return b.String()
	}
	got := table(p.b)
	for _, w := range []string{
		fmt.Sprintf("tcp LISTEN 0.0.0.0:80 invalid AddrPort 0 8 %d\n", l),
		fmt.Sprintf("tcp ESTABLISHED %v:80 %v", p.bAddr, p.aAddr),
		fmt.Sprintf(" 5 0 %d\n", s),
		fmt.Sprintf("udp UNCONN 0.0.0.0:53 invalid AddrPort 0 0 %d\n", u),
	} {
		if !strings.Contains(got, w) {
			t.Errorf("server's table lacks %q:\n%s", w, got)
		}
	}
	must(t, p.a.Close(c))
	// The server's ACK of a FIN after data waits for its delayed-ACK
	// timer (40 ms), as Linux's in pingpong mode (tcp_fin).
	p.clock.RunFor(100e6)
	if got := table(p.a); !strings.Contains(got, "tcp FIN_WAIT_2 ") || !strings.HasSuffix(got, " -1\n") {
		t.Errorf("client after close:\n%s", got)
	}
	// (read first: closing with unread data would send a RST)
	if n, err := p.b.Recv(s, make([]byte, 8)); n != 5 || err != nil {
		t.Fatalf("recv: %d %v", n, err)
	}
	must(t, p.b.Close(s))
	p.clock.RunFor(10e6)
	if got := table(p.a); !strings.Contains(got, "tcp TIME_WAIT ") {
		t.Errorf("client after both closed:\n%s", got)
	}
}
