package wire_test

import (
	"fmt"
	"net/netip"

	"stacklab/stack/wire"
)

// Build a TCP SYN inside an IPv4 packet, as Linux lays it out, then parse
// it back.
func Example() {
	src, dst := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	opts := wire.TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true, HasTS: true, TSVal: 1, WScale: 7, HasWScale: true}
	tcpLen := wire.TCPMinHeaderLen + wire.TCPOptionsLen(&opts, true)

	var buf [128]byte
	pkt := buf[:wire.IPv4MinHeaderLen+tcpLen]
	ip := wire.IPv4(pkt)
	ip.Encode(&wire.IPv4Fields{TotalLen: uint16(len(pkt)), ID: 1, DF: true, TTL: 64, Protocol: wire.ProtoTCP, Src: src, Dst: dst})
	ip.SetChecksum()
	seg := wire.TCP(pkt[wire.IPv4MinHeaderLen:])
	seg.Encode(&wire.TCPFields{SrcPort: 49152, DstPort: 80, Seq: 1000, DataOffset: uint8(tcpLen), Flags: wire.SYN, Window: 64240})
	wire.EncodeTCPOptions(seg[wire.TCPMinHeaderLen:], &opts, true)
	seg.SetChecksum(src, dst)

	got, err := wire.ParseIPv4(pkt)
	if err != nil {
		fmt.Println(err)
		return
	}
	t, _ := wire.ParseTCP(got.Payload())
	var o wire.TCPOptions
	_ = wire.ParseTCPOptions(t.Options(), &o)
	fmt.Printf("%v > %v: Flags [%v], seq %d, win %d, mss %d, wscale %d, checksum ok %v\n",
		got.Src(), got.Dst(), t.Flags(), t.Seq(), t.Window(), o.MSS, o.WScale, t.IsChecksumValid(got.Src(), got.Dst()))
	// Output: 10.0.0.1 > 10.0.0.2: Flags [S], seq 1000, win 64240, mss 1460, wscale 7, checksum ok true
}

func ExampleChecksum() {
	// RFC 1071 §3's example words.
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	sum := wire.Fold(wire.Checksum(b, 0))
	fmt.Printf("sum %#04x, checksum field %#04x\n", sum, ^sum)
	// Output: sum 0xddf2, checksum field 0x220d
}
