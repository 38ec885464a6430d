package stack_test

import (
	"context"
	"net/netip"
	"testing"

	"stacklab/stack"
)

// TestDialUnspecifiedReachesThisHost: a dial to the unspecified address
// reaches this host, as Linux routes INADDR_ANY to 127.0.0.1 and :: to
// ::1 (Go's Dial("tcp", ":80") relies on it); the connection's peer is
// that address.
func TestDialUnspecifiedReachesThisHost(t *testing.T) {
	s := stack.New(stack.Options{Name: "h"})
	for _, tc := range []struct{ listen, dial, peer string }{
		{"127.0.0.1:80", "0.0.0.0:80", "127.0.0.1:80"},
		{"[::1]:81", "[::]:81", "[::1]:81"},
	} {
		ln, err := s.ListenTCP(netip.MustParseAddrPort(tc.listen), 4)
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.DialTCP(context.Background(), netip.AddrPort{}, netip.MustParseAddrPort(tc.dial))
		if err != nil {
			t.Fatalf("dial %s: %v", tc.dial, err)
		}
		if got := c.RemoteAddr().String(); got != tc.peer {
			t.Errorf("dial %s: peer %s, want %s", tc.dial, got, tc.peer)
		}
		c.Close()
		ln.Close()
	}
}
