package ipv4

import (
	"net/netip"
	"testing"

	"stacklab/stack/wire"
)

var subnet = netip.MustParsePrefix("10.0.0.2/24")

func TestIsBroadcast(t *testing.T) {
	tests := []struct {
		addr   string
		subnet string
		want   bool
	}{
		{"255.255.255.255", "10.0.0.2/24", true},
		{"10.0.0.255", "10.0.0.2/24", true},
		{"10.0.0.254", "10.0.0.2/24", false},
		{"10.0.1.255", "10.0.0.2/24", false}, // another subnet's
		{"10.0.0.127", "10.0.0.2/25", true},
		{"10.0.0.3", "10.0.0.2/31", false}, // RFC 3021: no broadcast
		{"10.0.0.2", "10.0.0.2/32", false},
		{"10.0.0.255", "", false},
	}
	for _, tt := range tests {
		var p netip.Prefix
		if tt.subnet != "" {
			p = netip.MustParsePrefix(tt.subnet)
		}
		if got := IsBroadcast(netip.MustParseAddr(tt.addr), p); got != tt.want {
			t.Errorf("IsBroadcast(%s, %s) = %v, want %v", tt.addr, tt.subnet, got, tt.want)
		}
	}
}

func TestIsMartianSource(t *testing.T) {
	tests := []struct {
		src  string
		want bool
	}{
		{"10.0.0.1", false},
		{"192.0.2.7", false},
		{"0.0.0.0", false}, // a host learning its address (DHCP)
		{"255.255.255.255", true},
		{"10.0.0.255", true},
		{"224.0.0.1", true},
		{"239.255.255.250", true},
		{"127.0.0.1", true},
		{"240.0.0.1", true},
		{"::1", true},
	}
	for _, tt := range tests {
		if got := IsMartianSource(netip.MustParseAddr(tt.src), subnet); got != tt.want {
			t.Errorf("IsMartianSource(%s) = %v, want %v", tt.src, got, tt.want)
		}
	}
}

func TestMayAnswerWithError(t *testing.T) {
	mk := func(src, dst string, proto uint8, payload []byte) wire.IPv4 {
		b := make([]byte, wire.IPv4MinHeaderLen+len(payload))
		ip := wire.IPv4(b)
		ip.Encode(&wire.IPv4Fields{TotalLen: uint16(len(b)), ID: 1, TTL: 64, Protocol: proto,
			Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst)})
		copy(b[wire.IPv4MinHeaderLen:], payload)
		ip.SetChecksum()
		return ip
	}
	udp := []byte{0x03, 0xe8, 0x00, 0x09, 0x00, 0x08, 0x00, 0x00}
	laterFrag := mk("10.0.0.1", "10.0.0.2", wire.ProtoUDP, udp)
	laterFrag.SetFlagsFragment(false, false, 8)
	firstFrag := mk("10.0.0.1", "10.0.0.2", wire.ProtoUDP, udp)
	firstFrag.SetFlagsFragment(false, true, 0)
	tests := []struct {
		name string
		pkt  wire.IPv4
		want bool
	}{
		{"unicast udp", mk("10.0.0.1", "10.0.0.2", wire.ProtoUDP, udp), true},
		{"from off-link host", mk("192.0.2.7", "10.0.0.2", wire.ProtoUDP, udp), true},
		{"first fragment", firstFrag, true},
		{"later fragment", laterFrag, false},
		{"to limited broadcast", mk("10.0.0.1", "255.255.255.255", wire.ProtoUDP, udp), false},
		{"to directed broadcast", mk("10.0.0.1", "10.0.0.255", wire.ProtoUDP, udp), false},
		{"to multicast", mk("10.0.0.1", "224.0.0.251", wire.ProtoUDP, udp), false},
		{"to class E", mk("10.0.0.1", "250.0.0.1", wire.ProtoUDP, udp), false},
		{"from 0.0.0.0", mk("0.0.0.0", "10.0.0.2", wire.ProtoUDP, udp), false},
		{"from limited broadcast", mk("255.255.255.255", "10.0.0.2", wire.ProtoUDP, udp), false},
		{"from directed broadcast", mk("10.0.0.255", "10.0.0.2", wire.ProtoUDP, udp), false},
		{"from multicast", mk("224.0.0.1", "10.0.0.2", wire.ProtoUDP, udp), false},
		{"from loopback", mk("127.0.0.1", "10.0.0.2", wire.ProtoUDP, udp), false},
		{"from class E", mk("240.0.0.1", "10.0.0.2", wire.ProtoUDP, udp), false},
		{"icmp echo", mk("10.0.0.1", "10.0.0.2", wire.ProtoICMP, []byte{8, 0, 0xf7, 0xff, 0, 0, 0, 0}), true},
		{"icmp timestamp", mk("10.0.0.1", "10.0.0.2", wire.ProtoICMP, []byte{13, 0, 0, 0, 0, 0, 0, 0}), true},
		{"icmp port unreachable", mk("10.0.0.1", "10.0.0.2", wire.ProtoICMP, []byte{3, 3, 0, 0, 0, 0, 0, 0}), false},
		{"icmp time exceeded", mk("10.0.0.1", "10.0.0.2", wire.ProtoICMP, []byte{11, 0, 0, 0, 0, 0, 0, 0}), false},
		{"icmp redirect", mk("10.0.0.1", "10.0.0.2", wire.ProtoICMP, []byte{5, 0, 0, 0, 0, 0, 0, 0}), false},
		{"icmp unknown type", mk("10.0.0.1", "10.0.0.2", wire.ProtoICMP, []byte{42, 0, 0, 0, 0, 0, 0, 0}), false},
		{"icmp empty", mk("10.0.0.1", "10.0.0.2", wire.ProtoICMP, nil), false},
		{"short", wire.IPv4{0x45, 0}, false},
	}
	for _, tt := range tests {
		if got := MayAnswerWithError(tt.pkt, subnet); got != tt.want {
			t.Errorf("%s: MayAnswerWithError = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAddrRulesAllocateNothing(t *testing.T) {
	pkt := wire.IPv4{0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		0x03, 0xe8, 0x00, 0x09, 0x00, 0x08, 0x00, 0x00}
	if n := testing.AllocsPerRun(100, func() {
		if !MayAnswerWithError(pkt, subnet) || IsMartianSource(pkt.Src(), subnet) {
			t.Fatal("wrong answer")
		}
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
