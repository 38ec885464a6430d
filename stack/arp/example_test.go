package arp_test

import (
	"fmt"
	"net/netip"
	"time"

	"stacklab/stack/arp"
	"stacklab/stack/wire"
)

// Queue a packet for an unknown neighbour, then flush it when the reply
// arrives.
func Example() {
	local, peer := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	c := arp.New(arp.Config{})
	now := time.Unix(0, 0)

	if _, ok := c.Lookup(peer, now); !ok {
		send, _ := c.Enqueue(peer, arp.Packet{Data: []byte("ip packet"), Note: "first"}, now, nil)
		fmt.Println("send request:", send)
	}

	reply := make(wire.ARP, wire.ARPLen)
	reply.Encode(&wire.ARPFields{Op: wire.ARPReply, SenderMAC: wire.MAC{2, 0, 0, 0, 0, 2}, SenderIP: peer,
		TargetMAC: wire.MAC{2, 0, 0, 0, 0, 1}, TargetIP: local})
	c.Input(reply, local, now.Add(time.Millisecond), func(mac wire.MAC, p arp.Packet) {
		fmt.Printf("flush %q to %v\n", p.Data, mac)
	})
	fmt.Println(c.State(peer, now.Add(time.Second)))
	// Output:
	// send request: true
	// flush "ip packet" to 02:00:00:00:00:02
	// reachable
}
