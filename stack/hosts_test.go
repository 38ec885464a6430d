package stack_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
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

// TestDialerListenConfigFamilies: Dialer and ListenConfig take both
// families and names as net.Dialer and net.ListenConfig do. A "tcp"
// listener on ":0" is one dual-stack socket that accepts IPv4 and IPv6;
// "tcp6" is IPv6 only; Control sees the resolved network and address.
func TestDialerListenConfigFamilies(t *testing.T) {
	s := stack.New(stack.Options{Name: "h", Hosts: map[string][]netip.Addr{
		"self.example": {netip.MustParseAddr("::1")},
	}})
	var ctrl []string
	control := func(network, address string, fd int) error {
		ctrl = append(ctrl, network+" "+address)
		return nil
	}
	lc := &stack.ListenConfig{Stack: s, Control: control}
	ln, err := lc.Listen(context.Background(), "tcp", ":0")
	must(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := netip.MustParseAddrPort(ln.Addr().String()).Port()
	if got := ln.Addr().String(); got != netip.AddrPortFrom(netip.IPv6Unspecified(), port).String() {
		t.Errorf(`Listen("tcp", ":0") on %s, want [::]:port as Go's`, got)
	}
	d := &stack.Dialer{Stack: s, Control: control}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, addr := range []string{
		netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port).String(),
		netip.AddrPortFrom(netip.MustParseAddr("::1"), port).String(),
		net.JoinHostPort("self.example", strconv.Itoa(int(port))),
	} {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			t.Fatalf("Dialer to the dual-stack listener at %s: %v", addr, err)
		}
		c.Close()
	}
	p := strconv.Itoa(int(port))
	if want := []string{"tcp6 [::]:0", "tcp4 127.0.0.1:" + p, "tcp6 [::1]:" + p, "tcp6 [::1]:" + p}; strings.Join(ctrl, ",") != strings.Join(want, ",") {
		t.Errorf("Control saw %q, want %q: the resolved network and address, as net's", ctrl, want)
	}

	ln6, err := lc.Listen(context.Background(), "tcp6", ":0")
	must(t, err)
	defer ln6.Close()
	port6 := netip.MustParseAddrPort(ln6.Addr().String()).Port()
	if _, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port6).String()); err == nil {
		t.Error(`a "tcp6" listener accepted IPv4: want IPV6_V6ONLY as Go's`)
	}
	if _, err := lc.Listen(context.Background(), "tcp4", "[::]:0"); err == nil {
		t.Error(`Listen("tcp4", "[::]:0") succeeded: want an address-family error`)
	}
	if _, err := d.DialContext(ctx, "udp6", "127.0.0.1:53"); err == nil {
		t.Error(`dial "udp6" to an IPv4 address succeeded`)
	}
	pc, err := lc.ListenPacket(context.Background(), "udp", "[::1]:0")
	must(t, err)
	defer pc.Close()
	uc, err := d.DialContext(ctx, "udp", pc.LocalAddr().String())
	must(t, err)
	defer uc.Close()
	if _, err := uc.Write([]byte("over v6")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _, err := pc.ReadFrom(buf); err != nil || string(buf[:n]) != "over v6" {
		t.Errorf("UDP over v6 through Dialer/ListenPacket: %q, %v", buf[:n], err)
	}
}
