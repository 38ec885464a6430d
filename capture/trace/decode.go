package trace

import (
	"encoding/binary"
	"net/netip"

	"stacklab/stack/wire"
)

// LinkType says what a frame starts with.
type LinkType uint8

const (
	// LinkEthernet frames start with an Ethernet II header.
	LinkEthernet LinkType = iota + 1
	// LinkRawIP frames start with an IPv4 or IPv6 header, told apart by
	// the version (a TUN device, LINKTYPE_RAW).
	LinkRawIP
)

// l4 protocols the decoder understands.
const (
	l4None = iota
	l4TCP
	l4UDP
	l4ICMP
	l4ICMP6
	l4Other
)

// packet is one decoded frame: views into the frame's bytes plus what
// the decoder worked out. It is reused from frame to frame.
type packet struct {
	size int

	hasEth bool
	eth    wire.Ethernet

	hasARP bool
	arp    wire.ARP

	hasIP  bool
	ip     wire.IPv4
	ipOK   bool // header checksum verified (or not checked)
	ipFrag bool // a non-first fragment: no transport header

	hasIP6 bool
	ip6    wire.IPv6
	chain  wire.IPv6Chain // the extension headers of ip6

	l4       int
	tcp      wire.TCP
	opts     wire.TCPOptions // valid once optsDone
	optErr   bool
	optsDone bool
	udp      wire.UDP
	icmp     wire.ICMPv4
	icmp6    wire.ICMPv6
	l4OK     bool // transport checksum verified (or not checked)

	// ICMP errors quote the offending packet's IP header and ports.
	hasQuote   bool
	quoteProto uint8
	quoteSrc   netip.AddrPort
	quoteDst   netip.AddrPort

	payload int // transport payload bytes

	// badLayer and badErr say where decoding stopped and why.
	badLayer string
	badErr   error
}

// tcpOptions parses the TCP options on first use and returns them, and
// whether they were malformed.
func (p *packet) tcpOptions() (*wire.TCPOptions, bool) {
	if !p.optsDone {
		p.optsDone = true
		p.optErr = wire.ParseTCPOptions(p.tcp.Options(), &p.opts) != nil
	}
	return &p.opts, p.optErr
}

func (p *packet) malformed(layer string, err error) {
	p.badLayer, p.badErr = layer, err
}

// decode fills p from frame, which may be the first bytes of a longer
// frame of origLen bytes (zero: not cut). checksums turns on checksum
// verification. It never panics and allocates nothing.
func (p *packet) decode(link LinkType, frame []byte, origLen int, checksums bool) {
	*p = packet{size: max(len(frame), origLen), ipOK: true, l4OK: true}
	cut := origLen > len(frame) // captured with a snap length
	b := frame
	if link == LinkEthernet {
		eth, err := wire.ParseEthernet(b)
		if err != nil {
			p.malformed("eth", err)
			return
		}
		p.hasEth, p.eth = true, eth
		b = eth.Payload()
		switch eth.Type() {
		case wire.EtherTypeIPv4:
		case wire.EtherTypeIPv6:
			p.decodeIPv6(b, cut, checksums)
			return
		case wire.EtherTypeARP:
			arp, err := wire.ParseARP(b)
			if err != nil {
				p.malformed("arp", err)
				return
			}
			p.hasARP, p.arp = true, arp
			return
		default:
			return
		}
	} else if len(b) > 0 && b[0]>>4 == 6 {
		p.decodeIPv6(b, cut, checksums)
		return
	}
	// ParseIPv4Quoted checks the header without the checksum and trims
	// Ethernet padding; a packet cut short is reported, not decoded.
	ip, err := wire.ParseIPv4Quoted(b)
	if err != nil {
		p.malformed("ipv4", err)
		return
	}
	total := int(ip.TotalLen())
	if total > len(b) && !cut {
		p.hasIP, p.ip = true, ip
		p.malformed("ipv4", wire.ErrTruncated)
		return
	}
	p.hasIP, p.ip = true, ip
	// rest is how many bytes of the datagram the capture lacks.
	rest := max(0, total-len(ip))
	if checksums {
		p.ipOK = ip.IsChecksumValid()
	}
	if ip.FragmentOffset() != 0 {
		p.ipFrag = true
		p.payload = len(ip.Payload()) + rest
		return
	}
	// A first fragment, or a cut capture, lacks the end of the segment.
	p.decodeL4(ip.Protocol(), ip.Payload(), ip.Src(), ip.Dst(), rest, ip.More(), !ip.More() && rest == 0, checksums)
}

// decodeIPv6 decodes an IPv6 packet b and what it carries.
func (p *packet) decodeIPv6(b []byte, cut, checksums bool) {
	ip, err := wire.ParseIPv6Quoted(b)
	if err != nil {
		p.malformed("ipv6", err)
		return
	}
	p.hasIP6, p.ip6 = true, ip
	total := wire.IPv6HeaderLen + int(ip.PayloadLen())
	if total > len(b) && !cut {
		p.malformed("ipv6", wire.ErrTruncated)
		return
	}
	rest := max(0, total-len(ip))
	c, err := ip.Chain()
	if err != nil {
		p.malformed("ipv6", err)
		return
	}
	p.chain = c
	more := false
	if c.Fragment != nil {
		more = c.Fragment.More()
		if c.Fragment.Offset() != 0 {
			p.ipFrag = true
			p.payload = len(ip) - c.Offset + rest
			return
		}
	}
	p.decodeL4(c.Proto, ip[c.Offset:], ip.Src(), ip.Dst(), rest, more, !more && rest == 0, checksums)
}

// decodeL4 decodes the transport header seg carried from src to dst; rest
// is how many bytes of it the capture lacks, more says a fragment follows,
// and whole that seg is complete (so its checksum can be checked).
func (p *packet) decodeL4(proto uint8, seg []byte, src, dst netip.Addr, rest int, more, whole, checksums bool) {
	switch proto {
	case wire.ProtoTCP:
		tcp, err := wire.ParseTCP(seg)
		if err != nil {
			p.malformed("tcp", err)
			return
		}
		p.l4, p.tcp = l4TCP, tcp
		// The options are parsed when shown (tcpOptions): an arrival
		// line does not show them.
		p.payload = len(tcp.Payload()) + rest
		if checksums && whole {
			p.l4OK = tcp.IsChecksumValid(src, dst)
		}
	case wire.ProtoUDP:
		if len(seg) < wire.UDPHeaderLen {
			p.malformed("udp", wire.ErrTruncated)
			return
		}
		udp := wire.UDP(seg)
		n := int(udp.Length())
		if n < wire.UDPHeaderLen || (!more && n > len(seg)+rest) {
			p.l4, p.udp = l4UDP, udp[:wire.UDPHeaderLen]
			p.malformed("udp", wire.ErrBadLength)
			return
		}
		if n <= len(seg) {
			udp = udp[:n]
		}
		p.l4, p.udp = l4UDP, udp
		p.payload = n - wire.UDPHeaderLen
		if checksums && whole && udp.Checksum() != 0 {
			p.l4OK = udp.IsChecksumValid(src, dst)
		}
	case wire.ProtoICMP:
		if len(seg) < wire.ICMPv4HeaderLen {
			p.malformed("icmp", wire.ErrTruncated)
			return
		}
		m := wire.ICMPv4(seg)
		p.l4, p.icmp = l4ICMP, m
		p.payload = len(m.Payload()) + rest
		if checksums && whole {
			p.l4OK = m.IsChecksumValid()
		}
		switch m.Type() {
		case wire.ICMPDestUnreachable, wire.ICMPTimeExceeded, wire.ICMPParamProblem, wire.ICMPRedirect:
			p.decodeQuote(m.Payload())
		}
	case wire.ProtoICMPv6:
		if len(seg) < wire.ICMPv6HeaderLen {
			p.malformed("icmp6", wire.ErrTruncated)
			return
		}
		m := wire.ICMPv6(seg)
		p.l4, p.icmp6 = l4ICMP6, m
		p.payload = len(m.Body()) + rest
		if checksums && whole {
			p.l4OK = m.IsChecksumValid(src, dst)
		}
		if m.IsError() {
			p.decodeQuote6(m.Body())
		}
	default:
		p.l4 = l4Other
		p.payload = len(seg)
	}
}

// decodeQuote reads the IP header and the first 8 bytes of the datagram
// an ICMP error quotes (RFC 792).
func (p *packet) decodeQuote(b []byte) {
	q, err := wire.ParseIPv4Quoted(b)
	if err != nil {
		return
	}
	p.setQuote(q.Protocol(), q.Src(), q.Dst(), q[q.HeaderLen():])
}

// decodeQuote6 reads the IPv6 header and the ports of the packet an
// ICMPv6 error quotes (RFC 4443 §2.4(c)).
func (p *packet) decodeQuote6(b []byte) {
	q, err := wire.ParseIPv6Quoted(b)
	if err != nil {
		return
	}
	c, _ := q.Chain()
	p.setQuote(c.Proto, q.Src(), q.Dst(), q[min(c.Offset, len(q)):])
}

// setQuote records the quoted packet's protocol and addresses, with the
// ports read from the start of its transport header l4 for TCP and UDP.
func (p *packet) setQuote(proto uint8, src, dst netip.Addr, l4 []byte) {
	p.hasQuote, p.quoteProto = true, proto
	var sp, dp uint16
	if len(l4) >= 4 && (proto == wire.ProtoTCP || proto == wire.ProtoUDP) {
		sp = uint16(l4[0])<<8 | uint16(l4[1])
		dp = uint16(l4[2])<<8 | uint16(l4[3])
	}
	p.quoteSrc = netip.AddrPortFrom(src, sp)
	p.quoteDst = netip.AddrPortFrom(dst, dp)
}

// isIP reports whether an IPv4 or IPv6 header was decoded.
func (p *packet) isIP() bool { return p.hasIP || p.hasIP6 }

// src returns the IP source address (IPv4 or IPv6).
func (p *packet) src() netip.Addr {
	if p.hasIP6 {
		return p.ip6.Src()
	}
	return p.ip.Src()
}

// dst returns the IP destination address (IPv4 or IPv6).
func (p *packet) dst() netip.Addr {
	if p.hasIP6 {
		return p.ip6.Dst()
	}
	return p.ip.Dst()
}

// ports returns the transport ports, or zeros.
func (p *packet) ports() (src, dst uint16) {
	switch p.l4 {
	case l4TCP:
		return p.tcp.SrcPort(), p.tcp.DstPort()
	case l4UDP:
		return p.udp.SrcPort(), p.udp.DstPort()
	}
	return 0, 0
}

// protoName names the innermost protocol decoded.
func (p *packet) protoName() string {
	switch {
	case p.hasARP:
		return "arp"
	case p.l4 == l4TCP:
		return "tcp"
	case p.l4 == l4UDP:
		return "udp"
	case p.l4 == l4ICMP:
		return "icmp"
	case p.l4 == l4ICMP6:
		return "icmp6"
	case p.hasIP:
		return "ipv4"
	case p.hasIP6:
		return "ipv6"
	case p.hasEth:
		return "eth"
	}
	return ""
}

var icmpUnreachNames = [...]string{
	wire.ICMPCodeNetUnreachable:   "net unreachable",
	wire.ICMPCodeHostUnreachable:  "host unreachable",
	wire.ICMPCodeProtoUnreachable: "protocol unreachable",
	wire.ICMPCodePortUnreachable:  "port unreachable",
	wire.ICMPCodeFragNeeded:       "fragmentation needed",
	wire.ICMPCodeSourceRouteFail:  "source route failed",
	6:                             "net unknown",
	7:                             "host unknown",
	8:                             "source host isolated",
	wire.ICMPCodeNetProhibited:    "net prohibited",
	wire.ICMPCodeHostProhibited:   "host prohibited",
	11:                            "net unreachable for tos",
	12:                            "host unreachable for tos",
	wire.ICMPCodeAdminProhibited:  "administratively prohibited",
}

// icmpName describes an ICMP message type and code, as tcpdump does.
func icmpName(typ, code uint8) string {
	switch typ {
	case wire.ICMPEchoReply:
		return "echo reply"
	case wire.ICMPEcho:
		return "echo request"
	case wire.ICMPDestUnreachable:
		if int(code) < len(icmpUnreachNames) && icmpUnreachNames[code] != "" {
			return icmpUnreachNames[code]
		}
		return "destination unreachable"
	case wire.ICMPRedirect:
		return "redirect"
	case wire.ICMPTimeExceeded:
		if code == wire.ICMPCodeReassemblyExceeded {
			return "time exceeded in reassembly"
		}
		return "time exceeded in transit"
	case wire.ICMPParamProblem:
		return "parameter problem"
	case 13:
		return "timestamp request"
	case 14:
		return "timestamp reply"
	}
	return ""
}

// fingerprint hashes the fields of the IP (or ARP) header that stay the
// same from sender to receiver on one link: addresses, IP id, length,
// protocol; zero for anything else.
func (p *packet) fingerprint() uint64 {
	switch {
	case p.hasIP:
		ip := p.ip
		be := binary.BigEndian
		// Length, id and protocol in the top bits, mixed with the
		// addresses: equal headers give equal fingerprints, and the
		// fields that tell two packets of one flow apart never cancel.
		h := uint64(be.Uint16(ip[2:]))<<48 | uint64(be.Uint16(ip[4:]))<<32 | uint64(ip[9])<<24
		return h ^ (uint64(be.Uint32(ip[12:]))*0x9e3779b97f4a7c15 + uint64(be.Uint32(ip[16:])))
	case p.hasIP6:
		// Payload length, next header and flow label, mixed with the
		// addresses (and a fragment's id, which tells fragments apart).
		ip := p.ip6
		be := binary.BigEndian
		h := uint64(be.Uint32(ip[0:]))<<32 | uint64(be.Uint32(ip[4:]))
		for i := wire.IPv6SrcOffset; i < wire.IPv6HeaderLen; i += 8 {
			h = h*0x9e3779b97f4a7c15 + be.Uint64(ip[i:])
		}
		if p.chain.Fragment != nil {
			h ^= uint64(p.chain.Fragment.ID())<<16 | uint64(p.chain.Fragment.Offset())
		}
		return h
	case p.hasARP:
		a := p.arp
		be := binary.BigEndian
		h := uint64(be.Uint16(a[6:])) << 48
		return h ^ (uint64(be.Uint32(a[14:]))*0x9e3779b97f4a7c15 + uint64(be.Uint32(a[24:])))
	}
	return 0
}
