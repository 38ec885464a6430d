package sim

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"slices"
	"syscall"
	"testing"
	"time"

	"stacklab/stack"
	"stacklab/stack/core"
)

// skipUnimplemented skips a test that needs the stack's bodies while they
// are still stubs.
func skipUnimplemented(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, syscall.ENOSYS) {
		t.Skip("stack not implemented yet:", err)
	}
}

func nicCfg(addr string) stack.NICConfig {
	return stack.NICConfig{Addr: netip.MustParsePrefix(addr)}
}

func TestNetworkRandDerivation(t *testing.T) {
	draw := func(n *Network, label string) []uint64 {
		r := n.Rand(label)
		return []uint64{r.Uint64(), r.Uint64(), r.Uint64()}
	}
	n1 := NewNetwork(NetworkOptions{Seed: 1})
	n1b := NewNetwork(NetworkOptions{Seed: 1})
	n2 := NewNetwork(NetworkOptions{Seed: 2})
	if !slices.Equal(draw(n1, "host/a"), draw(n1b, "host/a")) {
		t.Error("same seed and label gave different numbers")
	}
	if slices.Equal(draw(n1, "host/a"), draw(n1, "host/b")) {
		t.Error("different labels gave the same numbers")
	}
	if slices.Equal(draw(n1, "host/a"), draw(n2, "host/a")) {
		t.Error("different seeds gave the same numbers")
	}
}

func TestNetworkDefaults(t *testing.T) {
	n := NewNetwork(NetworkOptions{})
	if !n.Now().Equal(DefaultStart) {
		t.Errorf("start %v, want %v", n.Now(), DefaultStart)
	}
	if a, b := n.NextPacketID(), n.NextPacketID(); a != 1 || b != 2 {
		t.Errorf("packet ids %d, %d", a, b)
	}
	s := n.AddHost("client", stack.Options{})
	if s.Name() != "client" || s.Clock() != core.Clock(n.Clock()) || n.Host("client") != s || n.Host("nobody") != nil {
		t.Error("AddHost did not fill in the name and clock, or Host does not find it")
	}
	if len(n.Hosts()) != 1 {
		t.Errorf("hosts %v", n.Hosts())
	}
}

func TestConnectErrors(t *testing.T) {
	n := NewNetwork(NetworkOptions{})
	a := n.AddHost("a", stack.Options{})
	b := n.AddHost("b", stack.Options{})
	tests := []struct {
		name       string
		aCfg, bCfg stack.NICConfig
		cfg        LinkConfig
	}{
		{"no address", stack.NICConfig{}, nicCfg("10.0.0.2/24"), LinkConfig{}},
		{"mixed types", stack.NICConfig{Addr: netip.MustParsePrefix("10.0.0.1/24"), Type: stack.LinkRawIP}, nicCfg("10.0.0.2/24"), LinkConfig{}},
		{"bad loss", nicCfg("10.0.0.1/24"), nicCfg("10.0.0.2/24"), LinkConfig{AB: Impairments{Loss: 2}}},
		{"negative delay", nicCfg("10.0.0.1/24"), nicCfg("10.0.0.2/24"), LinkConfig{BA: Impairments{Delay: -1}}},
	}
	for _, tt := range tests {
		if _, err := n.Connect(a, tt.aCfg, b, tt.bCfg, tt.cfg); err == nil {
			t.Errorf("%s: Connect succeeded", tt.name)
		}
	}
	if _, err := n.Connect(nil, nicCfg("10.0.0.1/24"), b, nicCfg("10.0.0.2/24"), LinkConfig{}); err == nil {
		t.Error("Connect with a nil host succeeded")
	}
}

// pair builds a two-host network with one link.
func pair(t *testing.T, opts NetworkOptions, cfg LinkConfig) (*Network, *stack.Stack, *stack.Stack, *Link) {
	t.Helper()
	n := NewNetwork(opts)
	a := n.AddHost("client", stack.Options{})
	b := n.AddHost("server", stack.Options{})
	l, err := n.Connect(a, nicCfg("10.0.0.1/24"), b, nicCfg("10.0.0.2/24"), cfg)
	skipUnimplemented(t, err)
	if err != nil {
		t.Fatal(err)
	}
	return n, a, b, l
}

func TestConnectWiring(t *testing.T) {
	n, a, b, l := pair(t, NetworkOptions{}, LinkConfig{})
	if l.Name() != "client—server" || n.Link("client—server") != l {
		t.Errorf("link name %q", l.Name())
	}
	na, nb := l.NICs()
	if na.Name() != "eth0" || nb.Name() != "eth0" || na.Stack() != a || nb.Stack() != b {
		t.Errorf("interfaces %s@%s, %s@%s", na.Name(), na.Stack().Name(), nb.Name(), nb.Stack().Name())
	}
	if na.MAC().String() != "02:00:00:00:00:01" || nb.MAC().String() != "02:00:00:00:00:02" {
		t.Errorf("MACs %v, %v", na.MAC(), nb.MAC())
	}
	if d, ok := l.DirFrom("server"); !ok || d != BtoA {
		t.Errorf("DirFrom(server) = %v, %v", d, ok)
	}
	if _, ok := l.DirFrom("nobody"); ok {
		t.Error("DirFrom(nobody) found a direction")
	}
	// A second link between the same hosts gets its own name and eth1.
	l2, err := n.Connect(a, nicCfg("10.1.0.1/24"), b, nicCfg("10.1.0.2/24"), LinkConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if na2, _ := l2.NICs(); l2.Name() != "client—server#2" || na2.Name() != "eth1" || na2.MAC().String() != "02:00:00:00:00:03" {
		t.Errorf("second link %q, %s, %v", l2.Name(), na2.Name(), na2.MAC())
	}
	if _, err := n.Connect(a, nicCfg("10.2.0.1/24"), b, nicCfg("10.2.0.2/24"), LinkConfig{Name: "client—server"}); err == nil {
		t.Error("duplicate link name accepted")
	}
}

// udpExchange sends count datagrams from client to server's port 7 and
// returns the payloads the server received.
func udpExchange(t *testing.T, n *Network, a, b *stack.Stack, count int) [][]byte {
	t.Helper()
	srv, err := b.Socket(stack.SockDgram)
	skipUnimplemented(t, err)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetNonblock(srv, true); err != nil {
		t.Fatal(err)
	}
	if err := b.Bind(srv, netip.MustParseAddrPort("10.0.0.2:7")); err != nil {
		t.Fatal(err)
	}
	cli, err := a.Socket(stack.SockDgram)
	if err != nil {
		t.Fatal(err)
	}
	a.SetNonblock(cli, true)
	var got [][]byte
	buf := make([]byte, 2048)
	drain := func() {
		for {
			k, _, err := b.RecvFrom(srv, buf)
			if err != nil {
				return
			}
			got = append(got, bytes.Clone(buf[:k]))
		}
	}
	for i := range count {
		msg := []byte{byte(i), byte(i >> 8), 'x'}
		if _, err := a.SendTo(cli, msg, netip.MustParseAddrPort("10.0.0.2:7")); err != nil {
			t.Fatalf("SendTo #%d: %v", i, err)
		}
		n.RunFor(time.Millisecond)
		drain()
	}
	n.Run()
	drain()
	a.Close(cli)
	b.Close(srv)
	return got
}

func TestNetworkUDP(t *testing.T) {
	n, a, b, l := pair(t, NetworkOptions{}, Symmetric(Impairments{Delay: 10 * time.Millisecond, Rate: 100e6}))
	got := udpExchange(t, n, a, b, 20)
	if len(got) != 20 {
		t.Fatalf("server received %d datagrams, want 20", len(got))
	}
	for i, g := range got {
		if g[0] != byte(i) {
			t.Fatalf("datagram %d out of order", i)
		}
	}
	ab := l.Counters(AtoB)
	if ab.Delivered < 21 || ab.Dropped() != 0 { // ARP request + 20 datagrams
		t.Errorf("a→b counters %+v", ab)
	}
}

type recordEvents struct{ evs []core.Event }

func (r *recordEvents) Observe(ev *core.Event) { r.evs = append(r.evs, *ev) }

func TestNetworkLinkEventsAndDown(t *testing.T) {
	obs := &recordEvents{}
	n, a, b, l := pair(t, NetworkOptions{Observer: obs}, LinkConfig{})
	got := udpExchange(t, n, a, b, 1)
	if len(got) != 1 {
		t.Fatalf("received %d before the link went down", len(got))
	}
	l.SetUp(false)
	if l.Up() {
		t.Fatal("link up after SetUp(false)")
	}
	got = udpExchange(t, n, a, b, 3)
	if len(got) != 0 {
		t.Fatalf("received %d over a down link", len(got))
	}
	var drops int
	for _, ev := range obs.evs {
		if ev.Kind == core.EventDrop && ev.Host == "client—server" {
			drops++
			if ev.Detail != "link: dropped, link down" || ev.PacketID == 0 || ev.From != "client" || ev.To != "server" {
				t.Errorf("drop event %+v", ev)
			}
		}
	}
	if drops == 0 || uint64(drops) != l.Counters(Both).DropDown {
		t.Errorf("%d drop events, counters say %d", drops, l.Counters(Both).DropDown)
	}
}

// capture records the frames a tap sees, to compare runs.
type capture struct{ lines []string }

func (c *capture) Frame(nic *stack.NIC, dir stack.Dir, pkt stack.Packet, note string) {
	c.lines = append(c.lines, nic.Stack().Clock().Now().Format(time.RFC3339Nano)+" "+nic.Stack().Name()+" "+dir.String()+" "+
		net.HardwareAddr(pkt.Data[:6]).String()+" "+string(rune(pkt.ID))+string(pkt.Data))
}

func TestNetworkDeterministic(t *testing.T) {
	run := func(seed uint64) []string {
		c := &capture{}
		n, a, b, _ := pair(t, NetworkOptions{Seed: seed, Tap: c},
			Symmetric(Impairments{Delay: 5 * time.Millisecond, Jitter: 2 * time.Millisecond, Loss: 0.2, Duplicate: 0.1}))
		udpExchange(t, n, a, b, 50)
		return c.lines
	}
	x, y, z := run(3), run(3), run(4)
	if len(x) == 0 {
		t.Fatal("no frames seen")
	}
	if !slices.Equal(x, y) {
		t.Fatal("same seed, different frames")
	}
	if slices.Equal(x, z) {
		t.Fatal("different seeds, same frames")
	}
}

// TestNetworkIsolation checks that adding a link elsewhere does not change
// a link's random choices.
func TestNetworkIsolation(t *testing.T) {
	run := func(extra bool) Counters {
		n := NewNetwork(NetworkOptions{Seed: 5})
		a := n.AddHost("client", stack.Options{})
		b := n.AddHost("server", stack.Options{})
		if extra {
			c := n.AddHost("other", stack.Options{})
			if _, err := n.Connect(c, nicCfg("10.9.0.1/24"), b, nicCfg("10.9.0.2/24"), Symmetric(Impairments{Loss: 0.5})); err != nil {
				skipUnimplemented(t, err)
				t.Fatal(err)
			}
		}
		l, err := n.Connect(a, nicCfg("10.0.0.1/24"), b, nicCfg("10.0.0.2/24"), Symmetric(Impairments{Loss: 0.3}))
		skipUnimplemented(t, err)
		if err != nil {
			t.Fatal(err)
		}
		udpExchange(t, n, a, b, 40)
		return l.Counters(AtoB)
	}
	if x, y := run(false), run(true); x != y {
		t.Fatalf("another link changed this one's losses:\n%+v\n%+v", x, y)
	}
}

// routed builds client (10.0.1.1) — r1 — server (10.0.2.1) with 1 ms
// links and each host's default route via r1; bOpts are the server's
// options.
func routed(t *testing.T, opts NetworkOptions, bOpts stack.Options) (n *Network, a, b *stack.Stack, l1, l2 *Link) {
	t.Helper()
	n = NewNetwork(opts)
	a = n.AddHost("client", stack.Options{})
	r := n.AddRouter("r1", stack.Options{})
	b = n.AddHost("server", bOpts)
	l1, err := n.Connect(a, nicCfg("10.0.1.1/24"), r, nicCfg("10.0.1.254/24"), Symmetric(Impairments{Delay: time.Millisecond}))
	skipUnimplemented(t, err)
	if err != nil {
		t.Fatal(err)
	}
	l2, err = n.Connect(r, nicCfg("10.0.2.254/24"), b, nicCfg("10.0.2.1/24"), Symmetric(Impairments{Delay: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := l1.NICs()
	_, cb := l2.NICs()
	a.AddRoute(stack.Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.0.1.254"), NIC: ca})
	b.AddRoute(stack.Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.0.2.254"), NIC: cb})
	return n, a, b, l1, l2
}

func TestNetworkRouter(t *testing.T) {
	obs := &recordEvents{}
	n, a, b, _, l2 := routed(t, NetworkOptions{Observer: obs}, stack.Options{})
	if rn, _ := l2.NICs(); rn.Name() != "eth1" {
		t.Errorf("router's second interface is %s", rn.Name())
	}

	srv, err := b.Socket(stack.SockDgram)
	skipUnimplemented(t, err)
	b.SetNonblock(srv, true)
	if err := b.Bind(srv, netip.MustParseAddrPort("10.0.2.1:7")); err != nil {
		t.Fatal(err)
	}
	cli, _ := a.Socket(stack.SockDgram)
	a.SetNonblock(cli, true)
	for i := range 3 {
		if _, err := a.SendTo(cli, []byte{byte(i)}, netip.MustParseAddrPort("10.0.2.1:7")); err != nil {
			t.Fatal(err)
		}
	}
	n.Run()
	buf := make([]byte, 16)
	got := 0
	for {
		k, from, err := b.RecvFrom(srv, buf)
		if err != nil {
			break
		}
		if k != 1 || buf[0] != byte(got) || from.Addr() != netip.MustParseAddr("10.0.1.1") {
			t.Fatalf("datagram %d: %v from %v", got, buf[:k], from)
		}
		got++
	}
	if got != 3 {
		t.Fatalf("server received %d of 3 datagrams through the router", got)
	}
	// Two links each way carried them: ARP on both segments plus the data.
	if c := l2.Counters(AtoB); c.Delivered < 4 {
		t.Errorf("r1→server delivered %d frames", c.Delivered)
	}
}

func TestNetworkRawIP(t *testing.T) {
	n := NewNetwork(NetworkOptions{})
	a := n.AddHost("client", stack.Options{})
	b := n.AddHost("server", stack.Options{})
	raw := func(addr string) stack.NICConfig {
		return stack.NICConfig{Type: stack.LinkRawIP, Addr: netip.MustParsePrefix(addr)}
	}
	l, err := n.Connect(a, raw("10.0.0.1/24"), b, raw("10.0.0.2/24"), Symmetric(Impairments{Delay: time.Millisecond, MTU: 1500}))
	skipUnimplemented(t, err)
	if err != nil {
		t.Fatal(err)
	}
	if na, _ := l.NICs(); na.MAC() != nil {
		t.Errorf("raw IP interface got MAC %v", na.MAC())
	}
	if got := udpExchange(t, n, a, b, 5); len(got) != 5 {
		t.Fatalf("received %d of 5 over raw IP", len(got))
	}
	// No ARP on raw IP: exactly the five datagrams crossed.
	if c := l.Counters(AtoB); c.Sent != 5 {
		t.Errorf("a→b sent %d frames, want 5", c.Sent)
	}
}
