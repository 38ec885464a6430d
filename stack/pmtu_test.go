package stack_test

import (
	"net/netip"
	"testing"
	"time"

	"stacklab/sim"
	"stacklab/stack"
)

func nic(addr string) stack.NICConfig {
	return stack.NICConfig{Addr: netip.MustParsePrefix(addr)}
}

// TestPathMTUDiscovery: client — r1 —(MTU 1000)— r2 — server. The client
// sends full 1460-byte segments with DF; r1 answers "fragmentation
// needed, next hop MTU 1000" (RFC 1191); the client's TCP shrinks its
// segments and resends, and every byte arrives.
func TestPathMTUDiscovery(t *testing.T) {
	n := sim.NewNetwork(sim.NetworkOptions{Seed: 1})
	cl := n.AddHost("client", stack.Options{})
	r1 := n.AddRouter("r1", stack.Options{})
	r2 := n.AddRouter("r2", stack.Options{})
	sv := n.AddHost("server", stack.Options{})
	imp := sim.Symmetric(sim.Impairments{Delay: time.Millisecond})
	l1, err := n.Connect(cl, nic("192.168.1.10/24"), r1, nic("192.168.1.1/24"), imp)
	must(t, err)
	a, b := nic("172.16.0.1/24"), nic("172.16.0.2/24")
	a.MTU, b.MTU = 1000, 1000
	lm, err := n.Connect(r1, a, r2, b, imp)
	must(t, err)
	l2, err := n.Connect(r2, nic("10.0.0.1/24"), sv, nic("10.0.0.2/24"), imp)
	must(t, err)
	cn, _ := l1.NICs()
	cl.AddRoute(stack.Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.168.1.1"), NIC: cn})
	_, sn := l2.NICs()
	sv.AddRoute(stack.Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.0.0.1"), NIC: sn})
	r1n, r2n := lm.NICs()
	r1.AddRoute(stack.Route{Dst: netip.MustParsePrefix("10.0.0.0/24"), Gateway: netip.MustParseAddr("172.16.0.2"), NIC: r1n})
	r2.AddRoute(stack.Route{Dst: netip.MustParsePrefix("192.168.1.0/24"), Gateway: netip.MustParseAddr("172.16.0.1"), NIC: r2n})

	lfd, _ := sv.Socket(stack.SockStream)
	must(t, sv.Bind(lfd, netip.MustParseAddrPort("10.0.0.2:80")))
	must(t, sv.Listen(lfd, 4))
	must(t, sv.SetNonblock(lfd, true))
	cfd, _ := cl.Socket(stack.SockStream)
	must(t, cl.SetNonblock(cfd, true))
	cl.Connect(cfd, netip.MustParseAddrPort("10.0.0.2:80"))
	n.RunFor(time.Second)
	sfd, _, err := sv.Accept(lfd)
	must(t, err)
	must(t, sv.SetNonblock(sfd, true))
	data := make([]byte, 20000)
	for i := range data {
		data[i] = byte(i)
	}
	sent, err := cl.Send(cfd, data)
	must(t, err)
	if sent != len(data) {
		t.Fatalf("sent %d", sent)
	}
	// Well under one RTO (200 ms at least): the resend is immediate.
	n.RunFor(100 * time.Millisecond)
	got := make([]byte, 0, len(data))
	buf := make([]byte, 65536)
	for {
		k, err := sv.Recv(sfd, buf)
		if err != nil || k == 0 {
			break
		}
		got = append(got, buf[:k]...)
	}
	if string(got) != string(data) {
		t.Fatalf("server got %d of %d bytes", len(got), len(data))
	}
	in, _ := cl.TCPInfo(cfd)
	if in.MSS != 960 {
		t.Errorf("client MSS %d after PMTU 1000, want 960", in.MSS)
	}
	if in.RTOs != 0 {
		t.Errorf("%d RTOs: the resend should not wait for the timer", in.RTOs)
	}
	if v, _ := r1.Counter("ip.FragFails"); v == 0 {
		t.Errorf("r1 dropped nothing: the path was not narrower")
	}
}
