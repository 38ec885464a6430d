package wire

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

const capturesDir = "../../testdata/linux"

// TestCapturesAgainstGopacket decodes every frame of the reference Linux
// captures with this package and with gopacket/layers and compares every
// field, then re-encodes each header and expects the original bytes.
func TestCapturesAgainstGopacket(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(capturesDir, "*.pcap"))
	if len(files) == 0 {
		t.Fatalf("no captures in %s: the reference captures belong to the repository (testdata/linux)", capturesDir)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := pcapgo.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			limit := 400 // the bulk capture is long; its start covers every case
			for i := 0; i < limit; i++ {
				data, _, err := r.ReadPacketData()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				compareFrame(t, i, data)
			}
		})
	}
}

func compareFrame(t *testing.T, i int, data []byte) {
	t.Helper()
	pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.NoCopy)
	gEth, _ := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	eth, err := ParseEthernet(data)
	if err != nil || gEth == nil {
		t.Fatalf("#%d: ethernet: %v", i, err)
	}
	if eth.Dst() != MAC(gEth.DstMAC) || eth.Src() != MAC(gEth.SrcMAC) || eth.Type() != uint16(gEth.EthernetType) {
		t.Errorf("#%d: ethernet %+v vs gopacket %v %v %v", i, eth.Fields(), gEth.DstMAC, gEth.SrcMAC, gEth.EthernetType)
	}
	reencode(t, i, "ethernet", eth[:EthernetHeaderLen], func(b []byte) { f := eth.Fields(); Ethernet(b).Encode(&f) })

	switch eth.Type() {
	case EtherTypeARP:
		g := pkt.Layer(layers.LayerTypeARP).(*layers.ARP)
		a, err := ParseARP(eth.Payload())
		if err != nil {
			t.Fatalf("#%d: arp: %v", i, err)
		}
		if a.Op() != g.Operation || a.SenderMAC() != MAC(g.SourceHwAddress) || a.SenderIP() != addr4(g.SourceProtAddress) ||
			a.TargetMAC() != MAC(g.DstHwAddress) || a.TargetIP() != addr4(g.DstProtAddress) {
			t.Errorf("#%d: arp %+v vs gopacket %+v", i, a.Fields(), g)
		}
		reencode(t, i, "arp", a[:ARPLen], func(b []byte) { f := a.Fields(); ARP(b).Encode(&f) })
	case EtherTypeIPv4:
		compareIPv4(t, i, pkt, eth.Payload())
	case EtherTypeIPv6:
		compareIPv6(t, i, pkt, eth.Payload())
	}
}

func compareIPv4(t *testing.T, i int, pkt gopacket.Packet, b []byte) {
	t.Helper()
	g := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	ip, err := ParseIPv4(b)
	if err != nil {
		t.Fatalf("#%d: ipv4: %v", i, err)
	}
	if ip.Version() != g.Version || ip.HeaderLen() != int(g.IHL)*4 || ip.TOS() != g.TOS || ip.TotalLen() != g.Length ||
		ip.ID() != g.Id || ip.DF() != (g.Flags&layers.IPv4DontFragment != 0) || ip.More() != (g.Flags&layers.IPv4MoreFragments != 0) ||
		ip.FragmentOffset() != g.FragOffset*8 || ip.TTL() != g.TTL || ip.Protocol() != uint8(g.Protocol) ||
		ip.Checksum() != g.Checksum || ip.Src() != addr4(g.SrcIP) || ip.Dst() != addr4(g.DstIP) {
		t.Errorf("#%d: ipv4 %+v vs gopacket %+v", i, ip.Fields(), g)
	}
	reencode(t, i, "ipv4", ip[:ip.HeaderLen()], func(b []byte) {
		f := ip.Fields()
		IPv4(b).Encode(&f)
		IPv4(b).SetChecksum()
	})
	compareTransport(t, i, pkt, ip.Protocol(), ip.Payload(), ip.Src(), ip.Dst())
}

// compareTransport compares a TCP, UDP or ICMPv4 header carried from src
// to dst (IPv4 or IPv6 addresses) with gopacket's decoding.
func compareTransport(t *testing.T, i int, pkt gopacket.Packet, proto uint8, payload []byte, src, dst netip.Addr) {
	t.Helper()
	switch proto {
	case ProtoTCP:
		g := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		seg, err := ParseTCP(payload)
		if err != nil {
			t.Fatalf("#%d: tcp: %v", i, err)
		}
		fl := seg.Flags()
		if seg.SrcPort() != uint16(g.SrcPort) || seg.DstPort() != uint16(g.DstPort) || seg.Seq() != g.Seq || seg.Ack() != g.Ack ||
			seg.DataOffset() != int(g.DataOffset)*4 || seg.Window() != g.Window || seg.Checksum() != g.Checksum ||
			seg.Urgent() != g.Urgent || fl.Has(FIN) != g.FIN || fl.Has(SYN) != g.SYN || fl.Has(RST) != g.RST ||
			fl.Has(PSH) != g.PSH || fl.Has(ACK) != g.ACK || fl.Has(URG) != g.URG || fl.Has(ECE) != g.ECE || fl.Has(CWR) != g.CWR ||
			len(seg.Payload()) != len(g.Payload) {
			t.Errorf("#%d: tcp %+v vs gopacket %+v", i, seg.Fields(), g)
		}
		if !seg.IsChecksumValid(src, dst) {
			t.Errorf("#%d: tcp checksum does not verify", i)
		}
		var o TCPOptions
		if err := ParseTCPOptions(seg.Options(), &o); err != nil {
			t.Fatalf("#%d: tcp options: %v", i, err)
		}
		compareTCPOptions(t, i, &o, g.Options)
		reencode(t, i, "tcp", seg, func(b []byte) {
			f := seg.Fields()
			TCP(b).Encode(&f)
			n := EncodeTCPOptions(b[TCPMinHeaderLen:], &o, fl.Has(SYN))
			if TCPMinHeaderLen+n != seg.DataOffset() {
				t.Errorf("#%d: options re-encoded to %d bytes, want %d", i, n, seg.DataOffset()-TCPMinHeaderLen)
			}
			copy(b[seg.DataOffset():], seg.Payload())
			TCP(b).SetChecksum(src, dst)
		})
	case ProtoUDP:
		g := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
		u, err := ParseUDP(payload)
		if err != nil {
			t.Fatalf("#%d: udp: %v", i, err)
		}
		if u.SrcPort() != uint16(g.SrcPort) || u.DstPort() != uint16(g.DstPort) || u.Length() != g.Length || u.Checksum() != g.Checksum {
			t.Errorf("#%d: udp %+v vs gopacket %+v", i, u.Fields(), g)
		}
		if !u.IsChecksumValid(src, dst) {
			t.Errorf("#%d: udp checksum does not verify", i)
		}
		reencode(t, i, "udp", u, func(b []byte) {
			f := u.Fields()
			UDP(b).Encode(&f)
			copy(b[UDPHeaderLen:], u.Payload())
			UDP(b).SetChecksum(src, dst)
		})
	case ProtoICMP:
		g := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		m, err := ParseICMPv4(payload)
		if err != nil {
			t.Fatalf("#%d: icmp: %v", i, err)
		}
		if m.Type() != g.TypeCode.Type() || m.Code() != g.TypeCode.Code() || m.Checksum() != g.Checksum ||
			(g.TypeCode.Type() == ICMPEcho || g.TypeCode.Type() == ICMPEchoReply) && (m.ID() != g.Id || m.Seq() != g.Seq) {
			t.Errorf("#%d: icmp %+v vs gopacket %+v", i, m.Fields(), g)
		}
		reencode(t, i, "icmp", m, func(b []byte) {
			f := m.Fields()
			ICMPv4(b).Encode(&f)
			copy(b[ICMPv4HeaderLen:], m.Payload())
			ICMPv4(b).SetChecksum()
		})
	}
}

func compareIPv6(t *testing.T, i int, pkt gopacket.Packet, b []byte) {
	t.Helper()
	g := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	ip, err := ParseIPv6(b)
	if err != nil {
		t.Fatalf("#%d: ipv6: %v", i, err)
	}
	if ip.Version() != g.Version || ip.TrafficClass() != g.TrafficClass || ip.FlowLabel() != g.FlowLabel ||
		ip.PayloadLen() != g.Length || ip.NextHeader() != uint8(g.NextHeader) || ip.HopLimit() != g.HopLimit ||
		ip.Src() != addr16(g.SrcIP) || ip.Dst() != addr16(g.DstIP) {
		t.Errorf("#%d: ipv6 %+v vs gopacket %+v", i, ip.Fields(), g)
	}
	reencode(t, i, "ipv6", ip[:IPv6HeaderLen], func(b []byte) { f := ip.Fields(); IPv6(b).Encode(&f) })
	c, err := ip.Chain()
	if err != nil {
		t.Fatalf("#%d: ipv6 chain: %v", i, err)
	}
	if gf, ok := pkt.Layer(layers.LayerTypeIPv6Fragment).(*layers.IPv6Fragment); ok {
		if c.Fragment == nil || c.Fragment.NextHeader() != uint8(gf.NextHeader) || c.Fragment.Offset() != gf.FragmentOffset*8 ||
			c.Fragment.More() != gf.MoreFragments || c.Fragment.ID() != gf.Identification {
			t.Errorf("#%d: fragment header %+v vs gopacket %+v", i, c.Fragment, gf)
		}
		reencode(t, i, "ipv6 fragment", c.Fragment, func(b []byte) { f := c.Fragment.Fields(); IPv6FragmentHeader(b).Encode(&f) })
		if !c.Fragment.IsAtomic() {
			return // the upper layer is split across fragments
		}
	} else if c.Fragment != nil {
		t.Errorf("#%d: fragment header that gopacket does not see", i)
	}
	if c.Proto != ProtoICMPv6 {
		compareTransport(t, i, pkt, c.Proto, ip[c.Offset:], ip.Src(), ip.Dst())
		return
	}
	gm := pkt.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
	m, err := ParseICMPv6(ip[c.Offset:], ip.Src(), ip.Dst())
	if err != nil {
		t.Fatalf("#%d: icmpv6: %v", i, err)
	}
	if m.Type() != gm.TypeCode.Type() || m.Code() != gm.TypeCode.Code() || m.Checksum() != gm.Checksum {
		t.Errorf("#%d: icmpv6 %+v vs gopacket %+v", i, m.Fields(), gm)
	}
	reencode(t, i, "icmpv6", m, func(b []byte) {
		f := m.Fields()
		ICMPv6(b).Encode(&f)
		copy(b[ICMPv6HeaderLen:], m.Body())
		ICMPv6(b).SetChecksum(ip.Src(), ip.Dst())
	})
	switch m.Type() {
	case ICMPv6EchoRequest, ICMPv6EchoReply:
		ge := pkt.Layer(layers.LayerTypeICMPv6Echo).(*layers.ICMPv6Echo)
		if m.ID() != ge.Identifier || m.Seq() != ge.SeqNumber {
			t.Errorf("#%d: echo id %d seq %d vs gopacket %+v", i, m.ID(), m.Seq(), ge)
		}
	case ICMPv6NeighborSolicit:
		gn := pkt.Layer(layers.LayerTypeICMPv6NeighborSolicitation).(*layers.ICMPv6NeighborSolicitation)
		compareNDP(t, i, m, ip.HopLimit(), addr16(gn.TargetAddress), gn.Options)
	case ICMPv6NeighborAdvert:
		gn := pkt.Layer(layers.LayerTypeICMPv6NeighborAdvertisement).(*layers.ICMPv6NeighborAdvertisement)
		if m.NDPFlags()>>24 != uint32(gn.Flags) {
			t.Errorf("#%d: NA flags %#x vs gopacket %#x", i, m.NDPFlags()>>24, gn.Flags)
		}
		compareNDP(t, i, m, ip.HopLimit(), addr16(gn.TargetAddress), gn.Options)
	case ICMPv6DestUnreachable:
		q, err := ParseIPv6Quoted(m.Body())
		if err != nil || q.Dst() != ip.Src() {
			t.Errorf("#%d: quoted packet %v, dst %v", i, err, q.Dst())
		}
	}
}

// compareNDP checks an NS or NA's validity, target and options against
// gopacket's.
func compareNDP(t *testing.T, i int, m ICMPv6, hop uint8, target netip.Addr, g layers.ICMPv6Options) {
	t.Helper()
	if err := m.ValidateNDP(hop); err != nil {
		t.Errorf("#%d: %v", i, err)
	}
	if m.NDPTarget() != target {
		t.Errorf("#%d: target %v vs gopacket %v", i, m.NDPTarget(), target)
	}
	opts := m.NDPOptions()
	for _, o := range g {
		typ, body, rest, err := NextNDPOption(opts)
		if err != nil || typ != uint8(o.Type) || !bytes.Equal(body, o.Data) {
			t.Errorf("#%d: option %d %x (%v) vs gopacket %d %x", i, typ, body, err, o.Type, o.Data)
		}
		opts = rest
	}
	if len(opts) != 0 {
		t.Errorf("#%d: %d option bytes that gopacket does not see", i, len(opts))
	}
}

func addr16(b []byte) netip.Addr {
	a, _ := netip.AddrFromSlice(b)
	return a
}

func compareTCPOptions(t *testing.T, i int, o *TCPOptions, g []layers.TCPOption) {
	t.Helper()
	var want TCPOptions
	for _, opt := range g {
		d := opt.OptionData
		switch opt.OptionType {
		case layers.TCPOptionKindMSS:
			want.MSS, want.HasMSS = uint16(d[0])<<8|uint16(d[1]), true
		case layers.TCPOptionKindWindowScale:
			want.WScale, want.HasWScale = d[0], true
		case layers.TCPOptionKindSACKPermitted:
			want.SACKPermitted = true
		case layers.TCPOptionKindTimestamps:
			want.HasTS = true
			want.TSVal = be32(d)
			want.TSEcr = be32(d[4:])
		case layers.TCPOptionKindSACK:
			for j := 0; j+8 <= len(d); j += 8 {
				want.SACK[want.NSACK] = SACKBlock{be32(d[j:]), be32(d[j+4:])}
				want.NSACK++
			}
		}
	}
	if *o != want {
		t.Errorf("#%d: options %+v, gopacket %+v", i, *o, want)
	}
}

// reencode encodes into a fresh buffer and expects orig.
func reencode(t *testing.T, i int, layer string, orig []byte, encode func([]byte)) {
	t.Helper()
	b := make([]byte, len(orig))
	for j := range b {
		b[j] = 0xa5 // every byte must be written
	}
	encode(b)
	if string(b) != string(orig) {
		t.Errorf("#%d: %s re-encoded:\n got %x\nwant %x", i, layer, b, orig)
	}
}

func addr4(b []byte) netip.Addr {
	a, _ := netip.AddrFromSlice(b)
	return a.Unmap()
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
