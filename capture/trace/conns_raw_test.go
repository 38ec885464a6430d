package trace

import (
	"net/netip"
	"testing"
)

// TestRawFindFollowsEviction checks that the wire-key shortcut gives the
// same connections as find, also after the table evicts one.
func TestRawFindFollowsEviction(t *testing.T) {
	c := newConns(2)
	ap := func(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
	key := func(src, dst netip.AddrPort) *rawKey {
		var k rawKey
		a, b := src.Addr().As4(), dst.Addr().As4()
		copy(k[:4], a[:])
		copy(k[4:8], b[:])
		k[8], k[9], k[10], k[11] = byte(src.Port()>>8), byte(src.Port()), byte(dst.Port()>>8), byte(dst.Port())
		return &k
	}
	rel := func(src, dst netip.AddrPort, seq uint32) uint32 {
		cn, d := c.rawFind(key(src, dst), func() netip.AddrPort { return src }, func() netip.AddrPort { return dst })
		r, _ := c.update(cn, d, seq, 0, false, false)
		return r
	}
	a, b := ap("10.0.0.1:1000"), ap("10.0.0.2:80")
	if r := rel(a, b, 100); r != 1 {
		t.Fatalf("first segment at %d, want 1", r)
	}
	if r := rel(a, b, 200); r != 101 {
		t.Fatalf("second segment at %d, want 101", r)
	}
	// Two more connections evict a → b; it then starts afresh, as it
	// does through find.
	rel(ap("10.0.0.1:1001"), b, 5)
	rel(ap("10.0.0.1:1002"), b, 5)
	if r := rel(a, b, 300); r != 1 {
		t.Errorf("after eviction, segment at %d, want 1 (a new base)", r)
	}
	// The reverse direction shares the connection.
	cn1, d1 := c.rawFind(key(a, b), func() netip.AddrPort { return a }, func() netip.AddrPort { return b })
	cn2, d2 := c.rawFind(key(b, a), func() netip.AddrPort { return b }, func() netip.AddrPort { return a })
	if cn1 != cn2 || d1 == d2 {
		t.Errorf("the two directions map to %p/%d and %p/%d", cn1, d1, cn2, d2)
	}
}
