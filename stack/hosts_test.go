package stack_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"stacklab/stack"
	"stacklab/stack/wire"
)

// TestHappyEyeballs: a name with an IPv6 address that never answers and
// an IPv4 one that does is dialled as Go's net.Dialer does (RFC 8305):
// IPv6 first, IPv4 after FallbackDelay, the IPv4 connection wins.
func TestHappyEyeballs(t *testing.T) {
	s := stack.New(stack.Options{Name: "h", Hosts: map[string][]netip.Addr{
		"Both.example": {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("2001:db8::99")},
		"v6.example":   {netip.MustParseAddr("2001:db8::99")},
	}})
	var syn6 atomic.Int32
	// IPv6 into the void: the SYN leaves and nothing answers.
	_, err := s.AddNIC(stack.NICConfig{Name: "tun0", Type: stack.LinkRawIP, Addr: netip.MustParsePrefix("10.9.0.1/24"),
		Addrs6: []netip.Prefix{netip.MustParsePrefix("2001:db8::1/64")}},
		stack.LinkFunc(func(p stack.Packet) {
			if len(p.Data) > 0 && p.Data[0]>>4 == 6 && wire.IPv6(p.Data).NextHeader() == wire.ProtoTCP {
				syn6.Add(1)
			}
		}))
	must(t, err)
	ln, err := s.ListenTCP(netip.MustParseAddrPort("127.0.0.1:80"), 8)
	must(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()

	if addrs, err := s.LookupHost("both.EXAMPLE."); err != nil || len(addrs) != 2 || !addrs[0].Is6() {
		t.Fatalf("LookupHost = %v, %v; want the IPv6 address first, then the IPv4 one", addrs, err)
	}
	var dnsErr *net.DNSError
	if _, err := s.DialContext(context.Background(), "tcp", "nowhere.example:80"); !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Fatalf("dial of an unknown name: %v, want a *net.DNSError that IsNotFound", err)
	}

	start := time.Now()
	c, err := s.DialContext(context.Background(), "tcp", "both.example:80")
	took := time.Since(start)
	must(t, err)
	defer c.Close()
	if got := c.RemoteAddr().String(); got != "127.0.0.1:80" {
		t.Errorf("connected to %s, want 127.0.0.1:80", got)
	}
	if syn6.Load() == 0 || took < stack.FallbackDelay || took > 5*time.Second {
		t.Errorf("%d IPv6 SYNs, connected after %v; want IPv6 tried first and IPv4 after %v", syn6.Load(), took, stack.FallbackDelay)
	}

	// tcp4 skips the IPv6 address: at once, no new IPv6 SYN.
	before := syn6.Load()
	start = time.Now()
	c4, err := s.DialContext(context.Background(), "tcp4", "both.example:80")
	must(t, err)
	c4.Close()
	if d := time.Since(start); d >= stack.FallbackDelay || syn6.Load() != before {
		t.Errorf("tcp4 dial took %v with %d new IPv6 SYNs; want at once, none", d, syn6.Load()-before)
	}
	if _, err := s.DialContext(context.Background(), "tcp4", "v6.example:80"); err == nil {
		t.Error("tcp4 dial of an IPv6-only name succeeded")
	}
}
