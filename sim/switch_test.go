package sim

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"stacklab/stack"
	"stacklab/stack/core"
)

// lan puts hosts h1..hN (10.0.0.1..N/24) on one switch (or hub).
func lan(t *testing.T, n int, cfg SwitchConfig, obs core.Observer, tap stack.Tap) (*Network, *Switch, []*stack.Stack) {
	t.Helper()
	nw := NewNetwork(NetworkOptions{Seed: 1, Observer: obs, Tap: tap})
	sw, err := nw.AddSwitch(cfg)
	mustOK(t, err)
	var hs []*stack.Stack
	for i := 1; i <= n; i++ {
		h := nw.AddHost("h"+string(rune('0'+i)), stack.Options{})
		_, err := nw.ConnectSwitch(h, nicCfg("10.0.0."+string(rune('0'+i))+"/24"), sw, Symmetric(Impairments{Delay: time.Millisecond}))
		mustOK(t, err)
		hs = append(hs, h)
	}
	return nw, sw, hs
}

// sendUDP sends one datagram from a to b's port 7 and returns what b's
// socket received.
func sendUDP(t *testing.T, nw *Network, a, b *stack.Stack, to string) string {
	t.Helper()
	srv := natUDP(t, b, to+":7", "")
	cli := natUDP(t, a, "0.0.0.0:0", "")
	if _, err := a.SendTo(cli, []byte("hello"), netip.MustParseAddrPort(to+":7")); err != nil {
		t.Fatal(err)
	}
	nw.RunFor(time.Second)
	buf := make([]byte, 64)
	k, _, err := b.RecvFrom(srv, buf)
	a.Close(cli)
	b.Close(srv)
	if err != nil {
		return ""
	}
	return string(buf[:k])
}

// countTap counts the frames each host receives.
type countTap struct{ in map[string]int }

func (c *countTap) Frame(nic *stack.NIC, dir stack.Dir, pkt stack.Packet, note string) {
	if dir == stack.DirIn {
		c.in[nic.Stack().Name()]++
	}
}

func TestSwitchLearnsAndForwards(t *testing.T) {
	obs := &recordEvents{}
	tap := &countTap{in: map[string]int{}}
	nw, sw, hs := lan(t, 4, SwitchConfig{Name: "sw"}, obs, tap)
	if got := sendUDP(t, nw, hs[0], hs[1], "10.0.0.2"); got != "hello" {
		t.Fatalf("h2 received %q", got)
	}
	// The ARP request was flooded to h2, h3 and h4; the reply and the
	// datagram went to one port each.
	if tap.in["h3"] != 1 || tap.in["h4"] != 1 {
		t.Errorf("h3, h4 received %d, %d frames; want the one flooded ARP request each", tap.in["h3"], tap.in["h4"])
	}
	if tap.in["h2"] != 2 || tap.in["h1"] != 1 {
		t.Errorf("h1, h2 received %d, %d frames; want 1 (ARP reply), 2 (ARP request, datagram)", tap.in["h1"], tap.in["h2"])
	}
	c := sw.Counters()
	if c.Learned != 2 || c.Flooded != 1 || c.Forwarded != 2 || c.Frames != 3 {
		t.Errorf("counters %+v", c)
	}
	tab := sw.Table()
	if len(tab) != 2 || tab[0].Port != 1 || tab[0].Host != "h1" || tab[1].Port != 2 || tab[1].Host != "h2" {
		t.Errorf("table %+v", tab)
	}
	var notes []string
	for _, ev := range obs.evs {
		if ev.Host == "sw" {
			notes = append(notes, ev.Detail)
		}
	}
	want := []string{"learned 02:00:00:00:00:01 on port 1 (h1)", "flood broadcast from port 1 (h1) to 2 (h2), 3 (h3), 4 (h4)", "learned 02:00:00:00:00:02 on port 2 (h2)"}
	if strings.Join(notes, "\n") != strings.Join(want, "\n") {
		t.Errorf("switch notes:\n%s\nwant:\n%s", strings.Join(notes, "\n"), strings.Join(want, "\n"))
	}
}

func TestSwitchAgingAndTableFull(t *testing.T) {
	obs := &recordEvents{}
	nw, sw, hs := lan(t, 3, SwitchConfig{Name: "sw", MaxMACs: 1, Aging: 10 * time.Second}, obs, nil)
	if got := sendUDP(t, nw, hs[0], hs[1], "10.0.0.2"); got != "hello" {
		t.Fatalf("h2 received %q", got)
	}
	c := sw.Counters()
	// h1 was learned, h2 refused (table full): frames to h2 flood.
	if c.Learned != 1 || c.TableFull == 0 || c.Flooded < 2 {
		t.Errorf("counters %+v", c)
	}
	nw.RunFor(20 * time.Second)
	if len(sw.Table()) != 0 {
		t.Errorf("table after 20 s idle: %+v", sw.Table())
	}
	if got := sendUDP(t, nw, hs[2], hs[0], "10.0.0.1"); got != "hello" {
		t.Fatalf("h1 received %q", got)
	}
	if c := sw.Counters(); c.Aged == 0 || c.Learned != 2 {
		t.Errorf("counters after ageing %+v", c)
	}
}

func TestHubRepeatsEverything(t *testing.T) {
	tap := &countTap{in: map[string]int{}}
	nw, sw, hs := lan(t, 3, SwitchConfig{Name: "hub", Hub: true}, nil, tap)
	if got := sendUDP(t, nw, hs[0], hs[1], "10.0.0.2"); got != "hello" {
		t.Fatalf("h2 received %q", got)
	}
	// h3 hears all three frames (ARP request, reply, datagram) and
	// drops them as not its own.
	if tap.in["h3"] != 3 {
		t.Errorf("h3 received %d frames on a hub, want 3", tap.in["h3"])
	}
	if c := sw.Counters(); c.Flooded != 3 || len(sw.Table()) != 0 {
		t.Errorf("hub counters %+v, table %v", c, sw.Table())
	}
}

func TestSwitchErrors(t *testing.T) {
	nw := NewNetwork(NetworkOptions{})
	if _, err := nw.AddSwitch(SwitchConfig{}); err == nil {
		t.Error("a switch without a name was accepted")
	}
	sw, err := nw.AddSwitch(SwitchConfig{Name: "sw"})
	mustOK(t, err)
	if _, err := nw.AddSwitch(SwitchConfig{Name: "sw"}); err == nil {
		t.Error("two switches of one name were accepted")
	}
	h := nw.AddHost("h", stack.Options{})
	if _, err := nw.ConnectSwitch(h, stack.NICConfig{Addr: netip.MustParsePrefix("10.0.0.1/24"), Type: stack.LinkRawIP}, sw, LinkConfig{}); err == nil {
		t.Error("a raw IP interface joined a switch")
	}
	if _, err := nw.ConnectSwitch(h, stack.NICConfig{}, sw, LinkConfig{}); err == nil {
		t.Error("an interface without an address joined a switch")
	}
	// A runt frame is counted, not a panic.
	sw.input(1, stack.Packet{Data: []byte{1, 2, 3}})
	if sw.Counters().Runts != 1 {
		t.Errorf("runts %d, want 1", sw.Counters().Runts)
	}
}

// gateTap records the frames each vantage sees.
type gateTap struct{ lines []string }

func (g *gateTap) Frame(nic *stack.NIC, dir stack.Dir, pkt stack.Packet, note string) {
	if pkt.Data[12] != 8 || pkt.Data[13] != 0 {
		return // ARP
	}
	src, dst := endpoints(pkt.Data[14:])
	g.lines = append(g.lines, nic.Stack().Name()+":"+nic.Name()+" "+dir.String()+" "+src.String()+" > "+dst.String())
}

// skipNIC is a host's own tap that leaves one interface to its gate.
type skipNIC struct {
	next stack.Tap
	name string
}

func (s skipNIC) Frame(nic *stack.NIC, dir stack.Dir, pkt stack.Packet, note string) {
	if nic.Name() != s.name {
		s.next.Frame(nic, dir, pkt, note)
	}
}

// TestGateNATCapture puts a NAT on a router's outside interface: the
// router's two captures show the packet before and after translation.
func TestGateNATCapture(t *testing.T) {
	tap := &gateTap{}
	n := NewNetwork(NetworkOptions{Seed: 1})
	cl := n.AddHost("client", stack.Options{Tap: tap})
	r := n.AddRouter("nat", stack.Options{Tap: skipNIC{tap, "eth1"}})
	sv := n.AddHost("server", stack.Options{Tap: tap})
	imp := Symmetric(Impairments{Delay: time.Millisecond})
	l1, err := n.Connect(cl, nicCfg("192.168.1.10/24"), r, nicCfg("192.168.1.1/24"), imp)
	mustOK(t, err)
	nat, err := NewNAT(n.Clock(), NATConfig{Public: netip.MustParseAddr("203.0.113.1")})
	mustOK(t, err)
	imp.GateA = &Gate{Box: nat, Tap: tap}
	_, err = n.Connect(r, nicCfg("203.0.113.1/24"), sv, nicCfg("203.0.113.2/24"), imp)
	mustOK(t, err)
	cn, _ := l1.NICs()
	cl.AddRoute(stack.Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.168.1.1"), NIC: cn})
	srv := natUDP(t, sv, "203.0.113.2:7", "")
	cli := natUDP(t, cl, "192.168.1.10:5000", "203.0.113.2:7")
	if _, err := cl.Send(cli, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	n.RunFor(time.Second)
	buf := make([]byte, 16)
	k, from, err := sv.RecvFrom(srv, buf)
	if err != nil || string(buf[:k]) != "hi" || from.String() != "203.0.113.1:30000" {
		t.Fatalf("server got %q from %v, %v", buf[:k], from, err)
	}
	if _, err := sv.SendTo(srv, []byte("back"), from); err != nil {
		t.Fatal(err)
	}
	n.RunFor(time.Second)
	if k, err := cl.Recv(cli, buf); err != nil || string(buf[:k]) != "back" {
		t.Fatalf("client got %q, %v", buf[:k], err)
	}
	ip := tap.lines
	want := []string{
		"client:eth0 out 192.168.1.10:5000 > 203.0.113.2:7",
		"nat:eth0 in 192.168.1.10:5000 > 203.0.113.2:7",
		"nat:eth1 out 203.0.113.1:30000 > 203.0.113.2:7",
		"server:eth0 in 203.0.113.1:30000 > 203.0.113.2:7",
		"server:eth0 out 203.0.113.2:7 > 203.0.113.1:30000",
		"nat:eth1 in 203.0.113.2:7 > 203.0.113.1:30000",
		"nat:eth0 out 203.0.113.2:7 > 192.168.1.10:5000",
		"client:eth0 in 203.0.113.2:7 > 192.168.1.10:5000",
	}
	if strings.Join(ip, "\n") != strings.Join(want, "\n") {
		t.Errorf("captures:\n%s\nwant:\n%s", strings.Join(ip, "\n"), strings.Join(want, "\n"))
	}
}

// TestSwitchTree joins two switches: h1, h2 on sw1, h3, h4 on sw2. The
// ARP broadcast floods across the link to every host; each switch learns
// the far hosts on its port toward the other switch; the datagram goes
// only along the path; a tap on sw2's port toward sw1 sees both ways; a
// third link closing a loop is refused.
func TestSwitchTree(t *testing.T) {
	tap := &countTap{in: map[string]int{}}
	nw := NewNetwork(NetworkOptions{Seed: 1, Tap: tap})
	sw1, err := nw.AddSwitch(SwitchConfig{Name: "sw1"})
	mustOK(t, err)
	sw2, err := nw.AddSwitch(SwitchConfig{Name: "sw2"})
	mustOK(t, err)
	sw3, err := nw.AddSwitch(SwitchConfig{Name: "sw3"})
	mustOK(t, err)
	var hs []*stack.Stack
	for i := 1; i <= 4; i++ {
		h := nw.AddHost("h"+string(rune('0'+i)), stack.Options{})
		sw := sw1
		if i > 2 {
			sw = sw2
		}
		_, err := nw.ConnectSwitch(h, nicCfg("10.0.0."+string(rune('0'+i))+"/24"), sw, Symmetric(Impairments{Delay: time.Millisecond}))
		mustOK(t, err)
		hs = append(hs, h)
	}
	l, err := nw.ConnectSwitches(sw1, sw2, Symmetric(Impairments{Delay: time.Millisecond}))
	mustOK(t, err)
	if a, b := l.DirFrom("sw1"); a != AtoB || !b {
		t.Errorf("DirFrom(sw1) = %v, %v", a, b)
	}
	_, err = nw.ConnectSwitches(sw2, sw3, Symmetric(Impairments{}))
	mustOK(t, err)
	if _, err := nw.ConnectSwitches(sw3, sw1, Symmetric(Impairments{})); err == nil || !strings.Contains(err.Error(), "loop") {
		t.Errorf("a loop of switches: %v", err)
	}
	seen := map[stack.Dir]int{}
	if !sw2.SetTap("sw1", func(dir stack.Dir, pkt stack.Packet) { seen[dir]++ }) {
		t.Fatal("no port of sw2 leads to sw1")
	}
	if sw2.SetTap("nobody", func(stack.Dir, stack.Packet) {}) {
		t.Error("SetTap found a port toward nobody")
	}
	if got := sendUDP(t, nw, hs[0], hs[3], "10.0.0.4"); got != "hello" {
		t.Fatalf("h4 received %q", got)
	}
	// The ARP request reached h2, h3 (flooded on both switches); h4
	// got it and the datagram.
	if tap.in["h2"] != 1 || tap.in["h3"] != 1 || tap.in["h4"] != 2 || tap.in["h1"] != 1 {
		t.Errorf("frames received: %v", tap.in)
	}
	// sw2 learned h1 on its port 3 (toward sw1), sw1 learned h4 on its
	// port 3 (toward sw2).
	for _, c := range []struct {
		sw   *Switch
		host string
	}{{sw1, "h1"}, {sw1, "h4"}, {sw2, "h1"}, {sw2, "h4"}} {
		found := false
		for _, e := range c.sw.Table() {
			want := c.host
			if (c.sw == sw1) != (c.host == "h1") {
				want = map[*Switch]string{sw1: "sw2", sw2: "sw1"}[c.sw]
			}
			if e.MAC.String() == macOf(hs, c.host) && e.Host == want {
				found = true
			}
		}
		if !found {
			t.Errorf("%s's table lacks %s: %+v", c.sw.Name(), c.host, c.sw.Table())
		}
	}
	// sw2's port toward sw1: the request and the datagram in, the reply out.
	if seen[stack.DirIn] != 2 || seen[stack.DirOut] != 1 {
		t.Errorf("tap on sw2's port toward sw1 saw %v", seen)
	}
	// sw3 heard the flooded broadcast only.
	if c := sw3.Counters(); c.Frames != 1 || c.Flooded != 1 {
		t.Errorf("sw3 counters %+v", c)
	}
}

func macOf(hs []*stack.Stack, name string) string {
	for _, h := range hs {
		if h.Name() == name {
			return h.NICs()[0].MAC().String()
		}
	}
	return ""
}
