package ipv4_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"time"

	"stacklab/stack/ipv4"
	"stacklab/stack/wire"
)

// Split a 3000-byte datagram for a 1500-byte MTU and put it back together.
func ExampleFragment() {
	pkt := make([]byte, 3020)
	ip := wire.IPv4(pkt)
	ip.Encode(&wire.IPv4Fields{TotalLen: 3020, ID: 7, TTL: 64, Protocol: wire.ProtoUDP,
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")})
	ip.SetChecksum()

	r := ipv4.NewReassembler(ipv4.Config{})
	now := time.Unix(0, 0)
	scratch := make([]byte, 1500)
	_ = ipv4.Fragment(ip, 1500, scratch, func(f wire.IPv4) {
		fmt.Printf("fragment: %d bytes at offset %d, MF %v\n", len(f), f.FragmentOffset(), f.More())
		whole, err := r.Add(f, now)
		if whole != nil && err == nil {
			fmt.Println("reassembled, identical:", bytes.Equal(whole, pkt))
		}
	})
	// Output:
	// fragment: 1500 bytes at offset 0, MF true
	// fragment: 1500 bytes at offset 1480, MF true
	// fragment: 60 bytes at offset 2960, MF false
	// reassembled, identical: true
}
