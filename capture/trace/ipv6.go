package trace

import (
	"strconv"

	"stacklab/stack/wire"
)

// The IPv6 and ICMPv6 layers of the text trace and the JSON lines.

// appendIPv6Text appends the trace line of an IPv6 header and its
// extension headers:
//
//	ipv6  2001:db8::1 → 2001:db8::2  hlim 64  flow 0xb5dcb  len 1456  frag 0 MF id 0x800fec40
func appendIPv6Text(b []byte, p *packet) []byte {
	ip := p.ip6
	b = append(b, "   ipv6  "...)
	b = ip.Src().AppendTo(b)
	b = append(b, " → "...)
	b = ip.Dst().AppendTo(b)
	b = append(b, "  hlim "...)
	b = appendUint(b, uint64(ip.HopLimit()))
	if fl := ip.FlowLabel(); fl != 0 {
		b = append(b, "  flow 0x"...)
		b = strconv.AppendUint(b, uint64(fl), 16)
	}
	if tc := ip.TrafficClass(); tc != 0 {
		b = append(b, "  tc 0x"...)
		b = append(b, hexDigits[tc>>4], hexDigits[tc&0xf])
	}
	b = append(b, "  len "...)
	b = appendUint(b, uint64(ip.PayloadLen()))
	c := &p.chain
	if c.HopByHop != nil {
		b = append(b, "  hbh"...)
	}
	if c.Routing != nil {
		b = append(b, "  rh type "...)
		b = appendUint(b, uint64(c.Routing.RoutingType()))
		b = append(b, " left "...)
		b = appendUint(b, uint64(c.Routing.SegmentsLeft()))
	}
	if c.DestOpts != nil {
		b = append(b, "  dstopts"...)
	}
	if f := c.Fragment; f != nil {
		b = append(b, "  frag "...)
		b = appendUint(b, uint64(f.Offset()))
		if f.More() {
			b = append(b, " MF"...)
		}
		b = append(b, " id 0x"...)
		b = strconv.AppendUint(b, uint64(f.ID()), 16)
	}
	switch c.Proto {
	case wire.ProtoTCP, wire.ProtoUDP, wire.ProtoICMPv6:
	case wire.IPv6NoNextHeader:
		b = append(b, "  no next header"...)
	default:
		b = append(b, "  nh "...)
		b = appendUint(b, uint64(c.Proto))
	}
	return append(b, '\n')
}

// appendIPv6JSON appends the "ipv6" layer object.
func appendIPv6JSON(o *jsonObj, p *packet) {
	ip := p.ip6
	o.key(`"ipv6":`)
	o.open()
	o.addr(`"src":`, ip.Src())
	o.addr(`"dst":`, ip.Dst())
	o.uint(`"hlim":`, uint64(ip.HopLimit()))
	o.uint(`"flow":`, uint64(ip.FlowLabel()))
	o.uint(`"tc":`, uint64(ip.TrafficClass()))
	o.uint(`"len":`, uint64(ip.PayloadLen()))
	o.uint(`"proto":`, uint64(p.chain.Proto))
	if c := &p.chain; c.HopByHop != nil || c.Routing != nil || c.DestOpts != nil {
		o.key(`"ext":`)
		sep := byte('[')
		for _, e := range [...]struct {
			present bool
			name    string
		}{{c.HopByHop != nil, `"hbh"`}, {c.Routing != nil, `"routing"`}, {c.DestOpts != nil, `"dstopts"`}} {
			if e.present {
				o.b = append(append(o.b, sep), e.name...)
				sep = ','
			}
		}
		o.b = append(o.b, ']')
	}
	if f := p.chain.Fragment; f != nil {
		o.key(`"frag":`)
		o.open()
		o.uint(`"offset":`, uint64(f.Offset()))
		o.bool(`"mf":`, f.More())
		o.uint(`"id":`, uint64(f.ID()))
		o.close()
	}
	o.close()
}

var icmp6UnreachNames = [...]string{
	wire.ICMPv6CodeNoRoute:         "no route",
	wire.ICMPv6CodeAdminProhibited: "administratively prohibited",
	wire.ICMPv6CodeBeyondScope:     "beyond scope",
	wire.ICMPv6CodeAddrUnreachable: "address unreachable",
	wire.ICMPv6CodePortUnreachable: "port unreachable",
	wire.ICMPv6CodeSourcePolicy:    "source address failed policy",
	wire.ICMPv6CodeRejectRoute:     "reject route",
}

// icmp6Name describes an ICMPv6 message type and code, as tcpdump does.
func icmp6Name(typ, code uint8) string {
	switch typ {
	case wire.ICMPv6DestUnreachable:
		if int(code) < len(icmp6UnreachNames) {
			return icmp6UnreachNames[code]
		}
		return "destination unreachable"
	case wire.ICMPv6PacketTooBig:
		return "packet too big"
	case wire.ICMPv6TimeExceeded:
		if code == wire.ICMPv6CodeReassemblyTime {
			return "time exceeded in reassembly"
		}
		return "hop limit exceeded"
	case wire.ICMPv6ParamProblem:
		return "parameter problem"
	case wire.ICMPv6EchoRequest:
		return "echo request"
	case wire.ICMPv6EchoReply:
		return "echo reply"
	case wire.ICMPv6MLDQuery:
		return "multicast listener query"
	case wire.ICMPv6MLDReport, wire.ICMPv6MLDv2Report:
		return "multicast listener report"
	case wire.ICMPv6MLDDone:
		return "multicast listener done"
	case wire.ICMPv6RouterSolicit:
		return "router solicitation"
	case wire.ICMPv6RouterAdvert:
		return "router advertisement"
	case wire.ICMPv6NeighborSolicit:
		return "neighbor solicitation"
	case wire.ICMPv6NeighborAdvert:
		return "neighbor advertisement"
	case wire.ICMPv6Redirect:
		return "redirect"
	}
	return ""
}

// appendICMP6 appends the body of an ICMPv6 trace line:
//
//	neighbor solicitation who-has 2001:db8::2  src lladdr 0e:a3:2a:53:cb:7b
func appendICMP6(b []byte, p *packet) []byte {
	m := p.icmp6
	b = appendICMPName(b, icmp6Name(m.Type(), m.Code()), m.Type(), m.Code())
	ndp := m.NDPOptions() != nil // an NDP message long enough for its fixed part
	switch m.Type() {
	case wire.ICMPv6EchoRequest, wire.ICMPv6EchoReply:
		b = append(b, "  id "...)
		b = appendUint(b, uint64(m.ID()))
		b = append(b, "  seq "...)
		b = appendUint(b, uint64(m.Seq()))
		b = append(b, "  len "...)
		b = appendUint(b, uint64(p.payload))
	case wire.ICMPv6PacketTooBig:
		b = append(b, "  mtu "...)
		b = appendUint(b, uint64(m.MTU()))
	case wire.ICMPv6ParamProblem:
		b = append(b, "  pointer "...)
		b = appendUint(b, uint64(m.Pointer()))
	case wire.ICMPv6NeighborSolicit:
		if ndp {
			b = append(b, " who-has "...)
			b = m.NDPTarget().AppendTo(b)
		}
	case wire.ICMPv6NeighborAdvert:
		if ndp {
			b = append(b, ' ')
			b = m.NDPTarget().AppendTo(b)
			fl := m.NDPFlags()
			for _, f := range [...]struct {
				bit  uint32
				name string
			}{{wire.NDPRouterFlag, " router"}, {wire.NDPSolicitedFlag, " solicited"}, {wire.NDPOverrideFlag, " override"}} {
				if fl&f.bit != 0 {
					b = append(b, f.name...)
				}
			}
		}
	case wire.ICMPv6RouterAdvert:
		if ndp {
			b = append(b, "  hlim "...)
			b = appendUint(b, uint64(m.RACurHopLimit()))
			b = append(b, "  lifetime "...)
			b = appendUint(b, uint64(m.RARouterLifetime()))
			b = append(b, 's')
		}
	case wire.ICMPv6Redirect:
		if ndp {
			b = append(b, ' ')
			b = m.NDPRedirectDst().AppendTo(b)
			b = append(b, " via "...)
			b = m.NDPTarget().AppendTo(b)
		}
	}
	if ndp {
		b = appendNDPOptions(b, m.NDPOptions())
	}
	if p.hasQuote {
		b = appendQuote(b, p)
	}
	return b
}

// appendNDPOptions appends the NDP options a reader looks for: the link
// addresses, prefixes and MTU.
func appendNDPOptions(b []byte, opts []byte) []byte {
	for len(opts) > 0 {
		typ, body, rest, err := wire.NextNDPOption(opts)
		if err != nil {
			return append(b, "  bad option"...)
		}
		switch typ {
		case wire.NDPOptSourceLinkAddr, wire.NDPOptTargetLinkAddr:
			if mac, ok := wire.NDPLinkAddr(body); ok {
				if typ == wire.NDPOptSourceLinkAddr {
					b = append(b, "  src lladdr "...)
				} else {
					b = append(b, "  tgt lladdr "...)
				}
				b = appendMAC(b, mac)
			}
		case wire.NDPOptPrefixInfo:
			if pf, ok := wire.ParseNDPPrefix(body); ok {
				b = append(b, "  prefix "...)
				b = pf.Prefix.AppendTo(b)
				if pf.Autonomous {
					b = append(b, " auto"...)
				}
			}
		case wire.NDPOptMTU:
			if mtu, ok := wire.NDPMTU(body); ok {
				b = append(b, "  mtu "...)
				b = appendUint(b, uint64(mtu))
			}
		}
		opts = rest
	}
	return b
}

// appendICMP6JSON appends the "icmp6" layer object.
func appendICMP6JSON(o *jsonObj, p *packet, checksums bool) {
	m := p.icmp6
	o.key(`"icmp6":`)
	o.open()
	o.uint(`"type":`, uint64(m.Type()))
	o.uint(`"code":`, uint64(m.Code()))
	o.strIf(`"name":`, icmp6Name(m.Type(), m.Code()))
	switch m.Type() {
	case wire.ICMPv6EchoRequest, wire.ICMPv6EchoReply:
		o.uint(`"id":`, uint64(m.ID()))
		o.uint(`"seq":`, uint64(m.Seq()))
	case wire.ICMPv6PacketTooBig:
		o.uint(`"mtu":`, uint64(m.MTU()))
	case wire.ICMPv6ParamProblem:
		o.uint(`"pointer":`, uint64(m.Pointer()))
	case wire.ICMPv6NeighborSolicit, wire.ICMPv6NeighborAdvert, wire.ICMPv6Redirect:
		if m.NDPOptions() != nil {
			o.addr(`"target":`, m.NDPTarget())
			if mac, ok := wire.NDPLinkAddr(wire.FindNDPOption(m.NDPOptions(), wire.NDPOptSourceLinkAddr)); ok {
				o.mac(`"src_lladdr":`, mac)
			}
			if mac, ok := wire.NDPLinkAddr(wire.FindNDPOption(m.NDPOptions(), wire.NDPOptTargetLinkAddr)); ok {
				o.mac(`"tgt_lladdr":`, mac)
			}
		}
	}
	if m.Type() == wire.ICMPv6NeighborAdvert && m.NDPOptions() != nil {
		o.uint(`"flags":`, uint64(m.NDPFlags()>>24))
	}
	o.int(`"len":`, int64(p.payload))
	appendQuotedJSON(o, p)
	if checksums {
		o.bool(`"checksum_ok":`, p.l4OK)
	}
	o.close()
}
