package wire

import "testing"

func TestNoAllocations(t *testing.T) {
	syn := hexBytes(t, fixtureSYN)
	ping := hexBytes(t, fixturePing)
	udp := hexBytes(t, fixtureUDP)
	arp := hexBytes(t, fixtureARPRequest)
	out := make([]byte, 1500)
	var sink int
	ns := hexBytes(t, fixtureNS)
	syn6 := hexBytes(t, fixtureSYN6)
	cases := map[string]func(){
		"parse ipv6 ndp": func() {
			ip, _ := ParseIPv6(ns[EthernetHeaderLen:])
			c, _ := ip.Chain()
			m, _ := ParseICMPv6(ip[c.Offset:], ip.Src(), ip.Dst())
			if m.ValidateNDP(ip.HopLimit()) == nil {
				mac, _ := NDPLinkAddr(FindNDPOption(m.NDPOptions(), NDPOptSourceLinkAddr))
				sink += int(mac[0]) + int(SolicitedNodeAddr(m.NDPTarget()).As16()[15])
			}
		},
		"parse tcp over ipv6": func() {
			ip, _ := ParseIPv6(syn6[EthernetHeaderLen:])
			c, _ := ip.Chain()
			seg, _ := ParseTCP(ip[c.Offset:])
			if seg.IsChecksumValid(ip.Src(), ip.Dst()) {
				sink += int(seg.DstPort())
			}
		},
		"parse tcp": func() {
			eth, _ := ParseEthernet(syn)
			ip, _ := ParseIPv4(eth.Payload())
			seg, _ := ParseTCP(ip.Payload())
			var o TCPOptions
			_ = ParseTCPOptions(seg.Options(), &o)
			if seg.IsChecksumValid(ip.Src(), ip.Dst()) {
				sink += int(o.MSS) + len(seg.Flags().String())
			}
		},
		"parse udp": func() {
			ip, _ := ParseIPv4(udp[EthernetHeaderLen:])
			u, _ := ParseUDP(ip.Payload())
			if u.IsChecksumValid(ip.Src(), ip.Dst()) {
				sink += len(u.Payload())
			}
		},
		"parse icmp": func() {
			ip, _ := ParseIPv4(ping[EthernetHeaderLen:])
			m, _ := ParseICMPv4(ip.Payload())
			sink += int(m.ID())
		},
		"parse arp": func() {
			a, _ := ParseARP(arp[EthernetHeaderLen:])
			sink += int(a.SenderIP().As4()[0])
		},
		"parse errors": func() {
			_, err := ParseIPv4(syn[:30])
			_, err2 := ParseTCP(syn[:5])
			if err != nil && err2 != nil {
				sink++
			}
		},
		"encode tcp": func() {
			Ethernet(out).Encode(&EthernetFields{Dst: serverMAC, Src: clientMAC, Type: EtherTypeIPv4})
			ip := IPv4(out[EthernetHeaderLen:])
			ip.Encode(&IPv4Fields{TotalLen: 60, TTL: 64, Protocol: ProtoTCP, Src: client, Dst: server, DF: true})
			ip.SetChecksum()
			seg := TCP(ip[IPv4MinHeaderLen:60])
			o := TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true, HasTS: true, HasWScale: true, WScale: 7}
			seg.Encode(&TCPFields{SrcPort: 1, DstPort: 2, DataOffset: uint8(TCPMinHeaderLen + TCPOptionsLen(&o, true)), Flags: SYN})
			EncodeTCPOptions(seg[TCPMinHeaderLen:], &o, true)
			seg.SetChecksum(client, server)
		},
		"encode udp icmp arp": func() {
			u := UDP(out[:100])
			u.Encode(&UDPFields{SrcPort: 1, DstPort: 2, Length: 100})
			u.SetChecksum(client, server)
			m := ICMPv4(out[:64])
			m.Encode(&ICMPv4Fields{Type: ICMPEcho, ID: 1, Seq: 2})
			m.SetChecksum()
			ARP(out).Encode(&ARPFields{Op: ARPRequest, SenderMAC: clientMAC, SenderIP: client, TargetIP: server})
			IPv4(out).DecTTL()
		},
	}
	for name, f := range cases {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, n)
		}
	}
	_ = sink
}

func BenchmarkParseTCP(b *testing.B) {
	syn := hexBytes(b, fixtureSYN)
	b.ReportAllocs()
	for b.Loop() {
		ip, _ := ParseIPv4(syn[EthernetHeaderLen:])
		seg, _ := ParseTCP(ip.Payload())
		var o TCPOptions
		_ = ParseTCPOptions(seg.Options(), &o)
		_ = seg.IsChecksumValid(ip.Src(), ip.Dst())
	}
}
