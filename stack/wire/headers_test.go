package wire

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

var (
	client    = netip.MustParseAddr("10.0.0.1")
	server    = netip.MustParseAddr("10.0.0.2")
	clientMAC = MAC{0x46, 0x2b, 0x27, 0x5b, 0x8d, 0xd4}
	serverMAC = MAC{0xa6, 0xd5, 0xfc, 0x24, 0x6d, 0x7d}
)

// splitFrame parses a fixture down to the transport layer.
func splitFrame(t *testing.T, s string) (Ethernet, IPv4) {
	t.Helper()
	eth, err := ParseEthernet(hexBytes(t, s))
	if err != nil {
		t.Fatalf("ParseEthernet: %v", err)
	}
	ip, err := ParseIPv4(eth.Payload())
	if err != nil {
		t.Fatalf("ParseIPv4: %v", err)
	}
	return eth, ip
}

func TestMAC(t *testing.T) {
	if got := clientMAC.String(); got != "46:2b:27:5b:8d:d4" {
		t.Errorf("String = %q", got)
	}
	if !BroadcastMAC.IsBroadcast() || !BroadcastMAC.IsMulticast() || clientMAC.IsMulticast() {
		t.Error("IsBroadcast/IsMulticast wrong")
	}
	if (MAC{0x01, 0x00, 0x5e}).IsMulticast() != true {
		t.Error("01:00:5e:… should be multicast")
	}
}

func TestEthernetAndARPFixtures(t *testing.T) {
	tests := []struct {
		name     string
		frame    string
		eth      EthernetFields
		arp      ARPFields
		reencode bool
	}{
		{"request", fixtureARPRequest,
			EthernetFields{Dst: BroadcastMAC, Src: clientMAC, Type: EtherTypeARP},
			ARPFields{Op: ARPRequest, SenderMAC: clientMAC, SenderIP: client, TargetIP: server}, true},
		{"reply", fixtureARPReply,
			EthernetFields{Dst: clientMAC, Src: serverMAC, Type: EtherTypeARP},
			ARPFields{Op: ARPReply, SenderMAC: serverMAC, SenderIP: server, TargetMAC: clientMAC, TargetIP: client}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := hexBytes(t, tt.frame)
			eth, err := ParseEthernet(b)
			if err != nil {
				t.Fatal(err)
			}
			if got := eth.Fields(); got != tt.eth {
				t.Errorf("Ethernet = %+v, want %+v", got, tt.eth)
			}
			a, err := ParseARP(eth.Payload())
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Fields(); got != tt.arp {
				t.Errorf("ARP = %+v, want %+v", got, tt.arp)
			}
			out := make([]byte, EthernetHeaderLen+ARPLen)
			Ethernet(out).Encode(&tt.eth)
			ARP(out[EthernetHeaderLen:]).Encode(&tt.arp)
			if !bytes.Equal(out, b) {
				t.Errorf("encode:\n got %x\nwant %x", out, b)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	ipHdr := hexBytes(t, fixtureIPv4ICMP)
	mod := func(b []byte, i int, v byte) []byte {
		c := bytes.Clone(b)
		c[i] = v
		return c
	}
	arp := hexBytes(t, fixtureARPRequest)[EthernetHeaderLen:]
	tests := []struct {
		name  string
		parse func([]byte) error
		in    []byte
		want  error
	}{
		{"eth short", func(b []byte) error { _, err := ParseEthernet(b); return err }, make([]byte, 13), ErrTruncated},
		{"arp short", func(b []byte) error { _, err := ParseARP(b); return err }, arp[:27], ErrTruncated},
		{"arp htype", func(b []byte) error { _, err := ParseARP(b); return err }, mod(arp, 1, 6), ErrUnsupported},
		{"arp plen", func(b []byte) error { _, err := ParseARP(b); return err }, mod(arp, 5, 16), ErrUnsupported},
		{"ipv4 short", func(b []byte) error { _, err := ParseIPv4(b); return err }, ipHdr[:19], ErrTruncated},
		{"ipv4 version", func(b []byte) error { _, err := ParseIPv4(b); return err }, mod(ipHdr, 0, 0x65), ErrBadVersion},
		{"ipv4 ihl", func(b []byte) error { _, err := ParseIPv4(b); return err }, mod(ipHdr, 0, 0x44), ErrBadHeaderLen},
		{"ipv4 ihl past end", func(b []byte) error { _, err := ParseIPv4(b); return err }, mod(ipHdr, 0, 0x4f)[:40], ErrTruncated},
		{"ipv4 totlen small", func(b []byte) error { _, err := ParseIPv4(b); return err }, mod(ipHdr, 3, 10), ErrBadLength},
		{"ipv4 totlen big", func(b []byte) error { _, err := ParseIPv4(b); return err }, ipHdr[:80], ErrTruncated},
		{"ipv4 checksum", func(b []byte) error { _, err := ParseIPv4(b); return err }, mod(ipHdr, 8, 63), ErrBadChecksum},
		{"icmp short", func(b []byte) error { _, err := ParseICMPv4(b); return err }, ipHdr[20:27], ErrTruncated},
		{"icmp checksum", func(b []byte) error { _, err := ParseICMPv4(b); return err }, mod(ipHdr[20:], 30, 0), ErrBadChecksum},
		{"udp short", func(b []byte) error { _, err := ParseUDP(b); return err }, make([]byte, 7), ErrTruncated},
		{"udp len small", func(b []byte) error { _, err := ParseUDP(b); return err }, []byte{0, 1, 0, 2, 0, 7, 0, 0}, ErrBadLength},
		{"udp len big", func(b []byte) error { _, err := ParseUDP(b); return err }, []byte{0, 1, 0, 2, 0, 9, 0, 0}, ErrTruncated},
		{"tcp short", func(b []byte) error { _, err := ParseTCP(b); return err }, make([]byte, 19), ErrTruncated},
		{"tcp doff small", func(b []byte) error { _, err := ParseTCP(b); return err }, make([]byte, 20), ErrBadHeaderLen},
		{"tcp doff big", func(b []byte) error { b[12] = 0x60; _, err := ParseTCP(b); return err }, make([]byte, 20), ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.parse(tt.in); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if (ARP(arp[:27])).IsValid() || !ARP(arp).IsValid() {
		t.Error("ARP.IsValid wrong")
	}
}

func TestIPv4Fixture(t *testing.T) {
	_, ip := splitFrame(t, fixturePing)
	want := IPv4Fields{TotalLen: 84, ID: 0xd866, DF: true, TTL: 64, Protocol: ProtoICMP,
		Src: client, Dst: server, HeaderLen: 20}
	if got := ip.Fields(); got != want {
		t.Fatalf("Fields = %+v, want %+v", got, want)
	}
	if ip.More() || ip.IsFragment() || ip.FragmentOffset() != 0 || ip.Version() != 4 || len(ip.Options()) != 0 {
		t.Error("flag getters wrong")
	}
	out := make([]byte, len(ip))
	IPv4(out).Encode(&want)
	copy(out[20:], ip.Payload())
	IPv4(out).SetChecksum()
	if !bytes.Equal(out, ip) {
		t.Fatalf("encode:\n got %x\nwant %x", out, []byte(ip))
	}
	// Link-layer padding is trimmed.
	padded := append(bytes.Clone(ip), 0, 0, 0, 0)
	if p, err := ParseIPv4(padded); err != nil || len(p) != len(ip) {
		t.Fatalf("padded: len %d err %v", len(p), err)
	}
}

func TestIPv4Fragments(t *testing.T) {
	b := make([]byte, 28)
	f := IPv4Fields{TotalLen: 28, ID: 7, MF: true, FragmentOffset: 1480, TTL: 9, Protocol: ProtoUDP, Src: client, Dst: server}
	IPv4(b).Encode(&f)
	IPv4(b).SetChecksum()
	ip, err := ParseIPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	if !ip.More() || ip.DF() || ip.FragmentOffset() != 1480 || !ip.IsFragment() || ip.FlagsFragment() != 0x2000|185 {
		t.Fatalf("fragment fields wrong: %#04x", ip.FlagsFragment())
	}
	if got := ip.Fields(); got.FragmentOffset != 1480 || !got.MF {
		t.Fatalf("Fields = %+v", got)
	}
}

func TestIPv4Quoted(t *testing.T) {
	_, ip := splitFrame(t, fixturePortUnreach)
	if ip.TOS() != 0xc0 {
		t.Errorf("TOS = %#x", ip.TOS())
	}
	m, err := ParseICMPv4(ip.Payload())
	if err != nil {
		t.Fatal(err)
	}
	if m.Type() != ICMPDestUnreachable || m.Code() != ICMPCodePortUnreachable || m.Rest() != 0 {
		t.Fatalf("ICMP %d/%d rest %d", m.Type(), m.Code(), m.Rest())
	}
	inner, err := ParseIPv4Quoted(m.Payload())
	if err != nil {
		t.Fatal(err)
	}
	if inner.Src() != client || inner.Dst() != server || inner.Protocol() != ProtoUDP {
		t.Fatalf("inner %v → %v proto %d", inner.Src(), inner.Dst(), inner.Protocol())
	}
	u := UDP(inner.Payload())
	if u.SrcPort() != 47610 || u.DstPort() != 5999 {
		t.Fatalf("inner udp %d → %d", u.SrcPort(), u.DstPort())
	}
	// A quote cut after 8 bytes of payload is still accepted.
	cut, err := ParseIPv4Quoted(m.Payload()[:28])
	if err != nil || len(cut.Payload()) != 8 {
		t.Fatalf("cut quote: %v, payload %d", err, len(cut.Payload()))
	}
	if _, err := ParseIPv4(m.Payload()[:28]); err != ErrTruncated {
		t.Fatalf("ParseIPv4 on a cut quote: %v, want ErrTruncated", err)
	}
}

func TestICMPv4Echo(t *testing.T) {
	_, ip := splitFrame(t, fixturePing)
	m, err := ParseICMPv4(ip.Payload())
	if err != nil {
		t.Fatal(err)
	}
	want := ICMPv4Fields{Type: ICMPEcho, ID: 0x5c31, Seq: 1}
	if got := m.Fields(); got != want {
		t.Fatalf("Fields = %+v, want %+v", got, want)
	}
	out := make([]byte, len(m))
	ICMPv4(out).Encode(&want)
	copy(out[ICMPv4HeaderLen:], m.Payload())
	ICMPv4(out).SetChecksum()
	if !bytes.Equal(out, m) {
		t.Fatalf("encode:\n got %x\nwant %x", out, []byte(m))
	}
	// Turn it into the reply as a kernel does.
	r := ICMPv4(out)
	r.SetType(ICMPEchoReply)
	r.SetChecksum()
	if r.Checksum() != 0x8c5b || !r.IsChecksumValid() {
		t.Fatalf("reply checksum %#04x, want 0x8c5b as in linux-ping.pcap #1", r.Checksum())
	}
	r.SetID(1)
	r.SetSeq(2)
	if r.Rest() != 0x00010002 {
		t.Fatalf("Rest = %#x", r.Rest())
	}
	var fn ICMPv4Fields = ICMPv4Fields{Type: ICMPDestUnreachable, Code: ICMPCodeFragNeeded, Rest: 1400}
	ICMPv4(out).Encode(&fn)
	if ICMPv4(out).MTU() != 1400 || ICMPv4(out).Fields() != fn {
		t.Fatalf("frag needed: MTU %d", ICMPv4(out).MTU())
	}
}

func TestUDPFixture(t *testing.T) {
	_, ip := splitFrame(t, fixtureUDP)
	u, err := ParseUDP(ip.Payload())
	if err != nil {
		t.Fatal(err)
	}
	want := UDPFields{SrcPort: 57950, DstPort: 7007, Length: 14}
	if got := u.Fields(); got != want {
		t.Fatalf("Fields = %+v, want %+v", got, want)
	}
	if string(u.Payload()) != "hello\n" || !u.IsChecksumValid(client, server) || u.IsChecksumValid(server, server) {
		t.Fatal("payload or checksum wrong")
	}
	out := make([]byte, len(u))
	UDP(out).Encode(&want)
	copy(out[UDPHeaderLen:], u.Payload())
	UDP(out).SetChecksum(client, server)
	if !bytes.Equal(out, u) {
		t.Fatalf("encode:\n got %x\nwant %x", out, []byte(u))
	}
	// Zero means no checksum.
	UDP(out).SetLength(14)
	out[6], out[7] = 0, 0
	if !UDP(out).IsChecksumValid(server, server) {
		t.Error("zero checksum must be accepted")
	}
}

func TestUDPChecksumZeroBecomesFFFF(t *testing.T) {
	// Find a payload whose checksum computes to 0 and check it is sent as 0xffff.
	b := make([]byte, 10)
	UDP(b).Encode(&UDPFields{SrcPort: 1, DstPort: 2, Length: 10})
	for v := range 1 << 16 {
		b[8], b[9] = byte(v>>8), byte(v)
		UDP(b).SetChecksum(client, server)
		if UDP(b).Checksum() == 0xffff {
			if !UDP(b).IsChecksumValid(client, server) {
				t.Fatal("0xffff checksum does not verify")
			}
			return
		}
	}
	t.Fatal("no payload gave a zero checksum")
}

func TestTCPFixtures(t *testing.T) {
	tests := []struct {
		name    string
		frame   string
		fields  TCPFields
		flags   string
		opts    TCPOptions
		syn     bool
		payload int
	}{
		{"syn", fixtureSYN,
			TCPFields{SrcPort: 50104, DstPort: 8080, Seq: 0xb169ca47, DataOffset: 40, Flags: SYN, Window: 64240},
			"S", TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true, HasTS: true, TSVal: 0x581436e9, WScale: 10, HasWScale: true}, true, 0},
		{"syn-ack", fixtureSYNACK,
			TCPFields{SrcPort: 8080, DstPort: 50104, Seq: 0xf1b35952, Ack: 0xb169ca48, DataOffset: 40, Flags: SYN | ACK, Window: 65160},
			"S.", TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true, HasTS: true, TSVal: 0xf47b1941, TSEcr: 0x581436e9, WScale: 10, HasWScale: true}, true, 0},
		{"ack", fixtureACK,
			TCPFields{SrcPort: 50104, DstPort: 8080, Seq: 0xb169ca48, Ack: 0xf1b35953, DataOffset: 32, Flags: ACK, Window: 63},
			".", TCPOptions{HasTS: true, TSVal: 0x581436e9, TSEcr: 0xf47b1941}, false, 0},
		{"rst-ack", fixtureRSTACK,
			TCPFields{SrcPort: 9, DstPort: 46828, Ack: 0xea55bcd7, DataOffset: 20, Flags: RST | ACK},
			"R.", TCPOptions{}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ip := splitFrame(t, tt.frame)
			seg, err := ParseTCP(ip.Payload())
			if err != nil {
				t.Fatal(err)
			}
			if got := seg.Fields(); got != tt.fields {
				t.Errorf("Fields = %+v\nwant %+v", got, tt.fields)
			}
			if got := seg.Flags().String(); got != tt.flags {
				t.Errorf("Flags = %q, want %q", got, tt.flags)
			}
			if !seg.IsChecksumValid(ip.Src(), ip.Dst()) {
				t.Error("checksum does not verify")
			}
			var o TCPOptions
			if err := ParseTCPOptions(seg.Options(), &o); err != nil {
				t.Fatal(err)
			}
			if o != tt.opts {
				t.Errorf("options = %+v\nwant %+v", o, tt.opts)
			}
			if len(seg.Payload()) != tt.payload {
				t.Errorf("payload %d bytes", len(seg.Payload()))
			}
			// Rebuild the segment: header, options in Linux order, checksum.
			out := make([]byte, len(seg))
			f := tt.fields
			TCP(out).Encode(&f)
			if n := EncodeTCPOptions(out[TCPMinHeaderLen:], &tt.opts, tt.syn); n != TCPOptionsLen(&tt.opts, tt.syn) || TCPMinHeaderLen+n != int(f.DataOffset) {
				t.Fatalf("EncodeTCPOptions wrote %d bytes", n)
			}
			copy(out[f.DataOffset:], seg.Payload())
			TCP(out).SetChecksum(ip.Src(), ip.Dst())
			if !bytes.Equal(out, seg) {
				t.Errorf("encode:\n got %x\nwant %x", out, []byte(seg))
			}
		})
	}
}

func TestTCPSetters(t *testing.T) {
	b := make([]byte, 24)
	seg := TCP(b)
	seg.Encode(&TCPFields{})
	seg.SetDataOffset(24)
	seg.SetSrcPort(1)
	seg.SetDstPort(2)
	seg.SetSeq(3)
	seg.SetAck(4)
	seg.SetFlags(FIN | PSH | ACK)
	seg.SetWindow(5)
	seg.SetUrgent(6)
	want := TCPFields{SrcPort: 1, DstPort: 2, Seq: 3, Ack: 4, DataOffset: 24, Flags: FIN | PSH | ACK, Window: 5, Urgent: 6}
	if got := seg.Fields(); got != want {
		t.Fatalf("Fields = %+v", got)
	}
	if len(seg.Options()) != 4 || len(seg.Payload()) != 0 {
		t.Fatal("options/payload split wrong")
	}
}

func TestTCPFlagsString(t *testing.T) {
	tests := []struct {
		f           TCPFlags
		dump, names string
	}{
		{0, "none", ""},
		{SYN, "S", "SYN"},
		{SYN | ACK, "S.", "SYN, ACK"},
		{ACK, ".", "ACK"},
		{PSH | ACK, "P.", "PSH, ACK"},
		{FIN | ACK, "F.", "FIN, ACK"},
		{FIN | PSH | ACK, "FP.", "FIN, PSH, ACK"},
		{RST, "R", "RST"},
		{RST | ACK, "R.", "RST, ACK"},
		{SYN | ECE | CWR, "SEW", "SYN, ECE, CWR"},
		{URG | ACK, ".U", "ACK, URG"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.dump {
			t.Errorf("%#x String = %q, want %q", uint8(tt.f), got, tt.dump)
		}
		if got := tt.f.Tcpdump(); got != tt.dump {
			t.Errorf("%#x Tcpdump = %q", uint8(tt.f), got)
		}
		if got := tt.f.Names(); got != tt.names {
			t.Errorf("%#x Names = %q, want %q", uint8(tt.f), got, tt.names)
		}
	}
	if !(SYN | ACK).Has(SYN) || SYN.Has(SYN|ACK) {
		t.Error("Has wrong")
	}
}

// TestIPv4Options: a header with well-formed options parses; one whose
// option lengths do not add up is refused with ErrBadOption.
func TestIPv4Options(t *testing.T) {
	tests := []struct {
		name string
		opts []byte // 4 or 8 bytes
		want error
	}{
		{"router alert", []byte{0x94, 0x04, 0x00, 0x00}, nil},
		{"nops then eol", []byte{0x01, 0x01, 0x01, 0x00}, nil},
		{"eol then junk", []byte{0x00, 0xff, 0xff, 0xff}, nil},
		{"timestamp", []byte{0x44, 0x08, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00}, nil},
		{"length zero", []byte{0x07, 0x00, 0x00, 0x00}, ErrBadOption},
		{"length one", []byte{0x01, 0x83, 0x01, 0x00}, ErrBadOption},
		{"past the header", []byte{0x01, 0x07, 0x0b, 0x04}, ErrBadOption},
		{"length byte missing", []byte{0x01, 0x01, 0x01, 0x83}, ErrBadOption},
	}
	for _, tt := range tests {
		b := make([]byte, 20+len(tt.opts)+4)
		ip := IPv4(b)
		ip.Encode(&IPv4Fields{TotalLen: uint16(len(b)), ID: 1, TTL: 64, Protocol: ProtoUDP,
			Src: client, Dst: server, HeaderLen: uint8(20 + len(tt.opts))})
		copy(b[20:], tt.opts)
		ip.SetChecksum()
		if _, err := ParseIPv4(b); !errors.Is(err, tt.want) {
			t.Errorf("%s: err %v, want %v", tt.name, err, tt.want)
		}
		if _, err := ParseIPv4Quoted(b); err != nil {
			t.Errorf("%s: quoted header refused: %v", tt.name, err)
		}
	}
}
