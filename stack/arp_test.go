package stack_test

import (
	"net/netip"
	"testing"
	"time"

	"stacklab/stack"
	"stacklab/stack/wire"
)

// TestNeighbourShortcut checks the NIC's remembered neighbour against
// the table it stands in for: a changed MAC (a gratuitous ARP reply) is
// used at once, and a neighbour silent for the reachable time is probed
// before use, with or without traffic from it just before.
func TestNeighbourShortcut(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	var lastDst wire.MAC
	p.filter = func(from *stack.NIC, data []byte) bool {
		if from == p.anic && wire.Ethernet(data).Type() == wire.EtherTypeIPv4 {
			lastDst = wire.Ethernet(data).Dst()
		}
		return true
	}
	afd, err := p.a.Socket(stack.SockDgram)
	must(t, err)
	must(t, p.a.SetNonblock(afd, true))
	bfd, err := p.b.Socket(stack.SockDgram)
	must(t, err)
	must(t, p.b.Bind(bfd, netip.AddrPortFrom(p.bAddr, 7)))
	must(t, p.b.SetNonblock(bfd, true))
	to := netip.AddrPortFrom(p.bAddr, 7)
	send := func() {
		t.Helper()
		if _, err := p.a.SendTo(afd, []byte("x"), to); err != nil {
			t.Fatal(err)
		}
		p.clock.RunFor(10 * time.Millisecond)
	}
	// b answers each datagram, so a's entry for b is confirmed by
	// every reply.
	reply := func() {
		t.Helper()
		buf := make([]byte, 16)
		for {
			_, from, err := p.b.RecvFrom(bfd, buf)
			if err != nil {
				break
			}
			if _, err := p.b.SendTo(bfd, []byte("y"), from); err != nil {
				t.Fatal(err)
			}
		}
		p.clock.RunFor(10 * time.Millisecond)
	}
	bMAC := wire.MAC(p.bnic.MAC())
	for range 3 {
		send()
		reply()
	}
	if lastDst != bMAC || counter(t, p.a, "arp.OutRequests") != 1 {
		t.Fatalf("to %v after %d requests; want %v after 1", lastDst, counter(t, p.a, "arp.OutRequests"), bMAC)
	}

	// A gratuitous reply moves b to another MAC: the next datagram goes
	// there.
	moved := wire.MAC{0x02, 0, 0, 0, 0, 0x99}
	frame := make([]byte, wire.EthernetHeaderLen+28)
	wire.Ethernet(frame).Encode(&wire.EthernetFields{Dst: wire.MAC(p.anic.MAC()), Src: moved, Type: wire.EtherTypeARP})
	arp := frame[wire.EthernetHeaderLen:]
	copy(arp, []byte{0, 1, 8, 0, 6, 4, 0, 2})
	copy(arp[8:], moved[:])
	b4, a4 := p.bAddr.As4(), p.aAddr.As4()
	copy(arp[14:], b4[:])
	copy(arp[18:], p.anic.MAC())
	copy(arp[24:], a4[:])
	p.anic.Deliver(stack.Packet{ID: 1000, Data: frame})
	send()
	if lastDst != moved {
		t.Fatalf("after the gratuitous reply, sent to %v, want %v", lastDst, moved)
	}
	p.clock.RunFor(10 * time.Second) // the probe of the moved entry fails; back to b
	send()
	reply()
	send()
	reply()

	// Silence from b for longer than the reachable time (30 s): the
	// next datagram makes a probe the entry, as the table alone would.
	before := counter(t, p.a, "arp.OutRequests")
	p.clock.RunFor(31 * time.Second)
	send()
	if got := counter(t, p.a, "arp.OutRequests"); got != before+1 {
		t.Errorf("after 31 s of silence, %d ARP requests, want %d (a probe)", got, before+1)
	}
}
