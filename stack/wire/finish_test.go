package wire

import (
	"net/netip"
	"testing"
)

// partialFrame builds an Ethernet frame holding a TCP segment over
// IPv4 or IPv6 whose checksum field is zero, as a sender that leaves it
// to the link writes it, and returns it with the checksum it should get.
func partialFrame(t *testing.T, v6 bool) ([]byte, uint16) {
	t.Helper()
	src, dst := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	if v6 {
		src, dst = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	}
	payload := []byte("partial checksum, finished by the link")
	seg := make([]byte, TCPMinHeaderLen+len(payload))
	TCP(seg).Encode(&TCPFields{SrcPort: 40000, DstPort: 80, Seq: 1, Ack: 2, Flags: TCPFlagACK | TCPFlagPSH, Window: 512})
	copy(seg[TCPMinHeaderLen:], payload)
	TCP(seg).SetChecksum(src, dst)
	want := TCP(seg).Checksum()
	seg[TCPChecksumOffset], seg[TCPChecksumOffset+1] = 0, 0

	var ip []byte
	if v6 {
		ip = make([]byte, IPv6HeaderLen+len(seg))
		IPv6(ip).Encode(&IPv6Fields{PayloadLen: uint16(len(seg)), NextHeader: ProtoTCP, HopLimit: 64, Src: src, Dst: dst})
		copy(ip[IPv6HeaderLen:], seg)
	} else {
		ip = make([]byte, IPv4MinHeaderLen+len(seg))
		IPv4(ip).Encode(&IPv4Fields{TotalLen: uint16(len(ip)), TTL: 64, Protocol: ProtoTCP, Src: src, Dst: dst, DF: true})
		IPv4(ip).SetChecksum()
		copy(ip[IPv4MinHeaderLen:], seg)
	}
	typ := uint16(EtherTypeIPv4)
	if v6 {
		typ = EtherTypeIPv6
	}
	frame := make([]byte, EthernetHeaderLen+len(ip))
	Ethernet(frame).Encode(&EthernetFields{Type: typ})
	copy(frame[EthernetHeaderLen:], ip)
	return frame, want
}

// TestFinishTCPChecksum checks that the checksum a sender left to the
// link is computed over IPv4 and IPv6, in Ethernet frames and bare IP
// packets, and that frames it cannot finish are left as they are.
func TestFinishTCPChecksum(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		for _, eth := range []bool{true, false} {
			frame, want := partialFrame(t, v6)
			b := frame
			if !eth {
				b = frame[EthernetHeaderLen:]
			}
			if !FinishTCPChecksum(b, eth) {
				t.Fatalf("v6 %v, ethernet %v: not finished", v6, eth)
			}
			l4 := frame[EthernetHeaderLen+IPv4MinHeaderLen:]
			if v6 {
				l4 = frame[EthernetHeaderLen+IPv6HeaderLen:]
			}
			if got := TCP(l4).Checksum(); got != want {
				t.Errorf("v6 %v, ethernet %v: checksum %#04x, want %#04x", v6, eth, got, want)
			}
		}
	}

	frame, _ := partialFrame(t, false)
	for name, mutate := range map[string]func([]byte){
		"udp":       func(b []byte) { IPv4(b[EthernetHeaderLen:]).SetProtocol(ProtoUDP) },
		"fragment":  func(b []byte) { b[EthernetHeaderLen+6] |= 0x20 }, // MF
		"truncated": func(b []byte) {},
		"arp":       func(b []byte) { Ethernet(b).SetType(EtherTypeARP) },
	} {
		b := append([]byte(nil), frame...)
		mutate(b)
		if name == "truncated" {
			b = b[:len(b)-1]
		}
		before := append([]byte(nil), b...)
		if FinishTCPChecksum(b, true) {
			t.Errorf("%s: finished", name)
		}
		if string(b) != string(before) {
			t.Errorf("%s: frame changed", name)
		}
	}
	if FinishTCPChecksum(nil, false) || FinishTCPChecksum([]byte{0x45}, false) || FinishTCPChecksum(make([]byte, 10), true) {
		t.Error("a runt was finished")
	}
}
