package run

import (
	"encoding/binary"
	"fmt"
	"strings"

	"stacklab/pkt"
	"stacklab/stack"
	"stacklab/stack/wire"
)

// UDP and ICMP packet lines: `< udp (N)` and `> udp (N)` are datagrams of
// N payload bytes of the flow under test; `< icmp unreachable
// port_unreachable [udp (N)]` is an ICMP error the remote end sends about
// a packet of that flow the stack sent (the quoted header's addresses,
// ports and, for TCP, sequence number are the live ones, as packetdrill
// fills them in); `> icmp ...` is one the stack must send.

// icmpTypes and icmpUnreachCodes are packetdrill's ICMPv4 names.
var icmpTypes = map[string]uint8{
	"echo_reply": wire.ICMPEchoReply, "unreachable": wire.ICMPDestUnreachable, "source_quench": 4,
	"redirect": wire.ICMPRedirect, "echo_request": wire.ICMPEcho, "time_exceeded": wire.ICMPTimeExceeded,
	"parameter_problem": wire.ICMPParamProblem, "timestamp_request": 13, "timestamp_reply": 14,
	"information_request": 15, "information_reply": 16, "address_mask_request": 17, "address_mask_reply": 18,
}

var icmpUnreachCodes = map[string]uint8{
	"net_unreachable": 0, "host_unreachable": 1, "protocol_unreachable": 2, "port_unreachable": 3,
	"frag_needed": 4, "source_route_failed": 5, "net_unknown": 6, "host_unknown": 7,
	"source_host_isolated": 8, "net_prohibited": 9, "host_prohibited": 10, "net_unreachable_for_tos": 11,
	"host_unreachable_for_tos": 12, "packet_filtered": 13, "precedence_violation": 14, "precedence_cutoff": 15,
}

// icmp6Types and icmp6Codes are packetdrill's ICMPv6 names, used over
// IPv6 (packetdrill reads a script's ICMP names with the table of the
// family it runs, so "frag_needed" is an error there and
// "packet_too_big" one over IPv4).
var icmp6Types = map[string]uint8{
	"unreachable": wire.ICMPv6DestUnreachable, "packet_too_big": wire.ICMPv6PacketTooBig,
	"time_exceeded": wire.ICMPv6TimeExceeded, "parameter_problem": wire.ICMPv6ParamProblem,
	"echo_request": wire.ICMPv6EchoRequest, "echo_reply": wire.ICMPv6EchoReply,
}

var icmp6Codes = map[uint8]map[string]uint8{
	wire.ICMPv6DestUnreachable: {"no_route": 0, "admin_prohibited": 1, "not_neighbour": 2, "address_unreachable": 3, "port_unreachable": 4},
	wire.ICMPv6TimeExceeded:    {"exceeded_hop_limit": 0, "exceeded_frag_time": 1},
	wire.ICMPv6ParamProblem:    {"header_field": 0, "unknown_next_header": 1, "unknown_option": 2},
}

// icmpNames returns the ICMP type names and the code names of a type,
// for the run's family.
func (r *runner) icmpNames(typ uint8) (types, codes map[string]uint8) {
	if r.v6() {
		return icmp6Types, icmp6Codes[typ]
	}
	if typ == wire.ICMPDestUnreachable {
		return icmpTypes, icmpUnreachCodes
	}
	return icmpTypes, nil
}

// icmpTypeCode reads a packet line's ICMP type and code names (or
// type_N and code_N, as packetdrill), in the run's family's names.
func (r *runner) icmpTypeCode(p *pkt.Packet) (typ, code uint8, err error) {
	types, _ := r.icmpNames(0)
	t, ok := types[p.ICMPType]
	if !ok {
		var n int
		if _, e := fmt.Sscanf(p.ICMPType, "type_%d", &n); e != nil || n < 0 || n > 255 {
			if r.v6() {
				return 0, 0, fmt.Errorf("unknown ICMPv6 type %q (unreachable, packet_too_big, time_exceeded… or type_N; over IPv6 the names are ICMPv6's)", p.ICMPType)
			}
			return 0, 0, fmt.Errorf("unknown ICMP type %q (unreachable, time_exceeded, echo_request… or type_N)", p.ICMPType)
		}
		t = uint8(n)
	}
	if p.ICMPCode == "" {
		return t, 0, nil
	}
	if _, codes := r.icmpNames(t); codes != nil {
		if c, ok := codes[p.ICMPCode]; ok {
			return t, c, nil
		}
	}
	var n int
	if _, e := fmt.Sscanf(p.ICMPCode, "code_%d", &n); e != nil || n < 0 || n > 255 {
		if r.v6() {
			return 0, 0, fmt.Errorf("unknown ICMPv6 code %q for type %s (e.g. port_unreachable, address_unreachable, or code_N; over IPv6 the names are ICMPv6's)", p.ICMPCode, p.ICMPType)
		}
		return 0, 0, fmt.Errorf("unknown ICMP code %q for type %s (e.g. port_unreachable, frag_needed, or code_N)", p.ICMPCode, p.ICMPType)
	}
	return t, uint8(n), nil
}

// decodeDgram decodes an IPv4 or IPv6 UDP or ICMP packet the stack
// sent. An ICMPv6 message is ProtoICMP too; only its errors and echo
// messages count (neighbour discovery and MLD are the link's business).
func decodeDgram(b []byte) (s seg, ok bool) {
	proto, ecn, payload, v6, ok := ipPayload(b)
	if !ok {
		return s, false
	}
	s = seg{proto: proto, ecn: ecn, flow: flowLabel(b), merged: 1}
	switch proto {
	case wire.ProtoUDP:
		u, err := wire.ParseUDP(payload)
		if err != nil {
			return s, false
		}
		s.srcPort, s.dstPort, s.length = u.SrcPort(), u.DstPort(), len(u.Payload())
		return s, true
	case wire.ProtoICMPv6:
		m := wire.ICMPv6(payload)
		if len(m) < wire.ICMPv6HeaderLen || (m.Type() > wire.ICMPv6ParamProblem && m.Type() != wire.ICMPv6EchoRequest && m.Type() != wire.ICMPv6EchoReply) {
			return s, false
		}
		s.proto, s.icmpType, s.icmpCode = wire.ProtoICMP, m.Type(), m.Code()
		if s.icmpType == wire.ICMPv6PacketTooBig {
			s.icmpMTU = uint16(min(m.MTU(), 65535))
		}
		return s, true
	case wire.ProtoICMP:
		if v6 {
			return s, false
		}
		m := wire.ICMPv4(payload)
		if len(m) < wire.ICMPv4HeaderLen {
			return s, false
		}
		s.icmpType, s.icmpCode = m.Type(), m.Code()
		if s.icmpType == wire.ICMPDestUnreachable && s.icmpCode == wire.ICMPCodeFragNeeded {
			s.icmpMTU = m.MTU()
		}
		return s, true
	}
	return s, false
}

// ipPayload reads the IP header of a packet the stack sent, IPv4 or
// IPv6 (without extension headers: fragments and the like are not the
// flow's): its upper-layer protocol, ECN bits and payload.
func ipPayload(b []byte) (proto, ecn uint8, payload []byte, v6, ok bool) {
	if len(b) > 0 && b[0]>>4 == 6 {
		ip, err := wire.ParseIPv6(b)
		if err != nil {
			return 0, 0, nil, true, false
		}
		return ip.NextHeader(), ip.TrafficClass() & 3, ip.Payload(), true, true
	}
	ip, err := wire.ParseIPv4(b)
	if err != nil || ip.IsFragment() {
		return 0, 0, nil, false, false
	}
	return ip.Protocol(), ip.TOS() & 3, ip.Payload(), false, true
}

// flowLabel is the flow label of an IPv6 packet, 0 for IPv4.
func flowLabel(b []byte) uint32 {
	if len(b) >= wire.IPv6HeaderLen && b[0]>>4 == 6 {
		return wire.IPv6(b).FlowLabel()
	}
	return 0
}

// flowProto is the IP protocol of a script packet line.
func flowProto(p *pkt.Packet) uint8 {
	switch p.Proto {
	case "udp":
		return wire.ProtoUDP
	case "icmp":
		return wire.ProtoICMP
	}
	return wire.ProtoTCP
}

// injectUDP sends a script datagram of the flow under test into the stack.
func (r *runner) injectUDP(ev *pkt.Event) *failure {
	p := ev.Packet
	if !r.flowSet {
		r.setFlow(wire.ProtoUDP, bindPort, remotePort)
	}
	if r.flowProto != wire.ProtoUDP {
		return r.failf(ev.Pos.Line, "%s: a UDP packet, but the flow under test is TCP (one flow per script)", ev.Pos)
	}
	b, l4 := r.packet(p.ECN, p.FlowLabel, wire.ProtoUDP, wire.UDPHeaderLen+p.UDPLen)
	u := wire.UDP(l4)
	u.Encode(&wire.UDPFields{SrcPort: r.remPort, DstPort: r.localPort, Length: uint16(wire.UDPHeaderLen + p.UDPLen)})
	u.SetChecksum(r.remote, r.local)
	r.deliver(b)
	return nil
}

// injectICMP sends a script ICMP message into the stack (ICMPv6 over
// IPv6). An error message quotes the IP header and first 8 bytes of a
// packet of the flow under test as the stack sent it (for TCP: its
// ports and the script's sequence number mapped to the live one).
func (r *runner) injectICMP(ev *pkt.Event) *failure {
	p := ev.Packet
	typ, code, err := r.icmpTypeCode(p)
	if err != nil {
		return r.failf(ev.Pos.Line, "%s: %v", ev.Pos, err)
	}
	proto := uint8(wire.ProtoTCP)
	if p.Echoed == "udp" {
		proto = wire.ProtoUDP
	}
	l4len := wire.TCPMinHeaderLen + p.EchoLen
	if proto == wire.ProtoUDP {
		l4len = wire.UDPHeaderLen + p.EchoLen
	}
	// The quoted header is the stack's: its address first, DF as the
	// stack sets it on TCP and on UDP with path MTU discovery.
	var quoted []byte
	if r.v6() {
		quoted = make([]byte, wire.IPv6HeaderLen+8)
		wire.IPv6(quoted).Encode(&wire.IPv6Fields{PayloadLen: uint16(l4len), NextHeader: proto, HopLimit: 64, Src: r.local, Dst: r.remote})
	} else {
		quoted = make([]byte, wire.IPv4MinHeaderLen+8)
		wire.IPv4(quoted).Encode(&wire.IPv4Fields{TotalLen: uint16(wire.IPv4MinHeaderLen + l4len), DF: true, TTL: 64, Protocol: proto, Src: r.local, Dst: r.remote})
		wire.IPv4(quoted).SetChecksum()
	}
	l4 := quoted[len(quoted)-8:]
	binary.BigEndian.PutUint16(l4[0:], r.localPort)
	binary.BigEndian.PutUint16(l4[2:], r.remPort)
	if proto == wire.ProtoTCP {
		binary.BigEndian.PutUint32(l4[4:], p.EchoSeq+r.localISN)
	} else {
		binary.BigEndian.PutUint16(l4[4:], uint16(l4len))
	}
	if r.v6() {
		b, msg := r.packet(p.ECN, p.FlowLabel, wire.ProtoICMPv6, wire.ICMPv6HeaderLen+len(quoted))
		m := wire.ICMPv6(msg)
		f := wire.ICMPv6Fields{Type: typ, Code: code, Rest: uint32(p.ICMPMTU)}
		if p.HasICMPID {
			f.Rest, f.ID = 0, uint16(p.ICMPID)
		}
		m.Encode(&f)
		copy(msg[wire.ICMPv6HeaderLen:], quoted)
		m.SetChecksum(r.remote, r.local)
		r.deliver(b)
		return nil
	}
	b, msg := r.packet(p.ECN, p.FlowLabel, wire.ProtoICMP, wire.ICMPv4HeaderLen+len(quoted))
	m := wire.ICMPv4(msg)
	f := wire.ICMPv4Fields{Type: typ, Code: code}
	if p.ICMPMTU != 0 {
		f.Rest = uint32(p.ICMPMTU)
	}
	if p.HasICMPID {
		f.ID = uint16(p.ICMPID)
	}
	m.Encode(&f)
	copy(msg[wire.ICMPv4HeaderLen:], quoted)
	m.SetChecksum()
	r.deliver(b)
	return nil
}

// packet makes an inbound packet from the remote end with an IP header
// of the run's family (ECN from the script's mark) and room for l4len
// bytes of proto after it, which it returns too. Over IPv6 it carries
// the flow label flow.
func (r *runner) packet(ecn string, flow uint32, proto uint8, l4len int) (b, l4 []byte) {
	tos := uint8(0)
	if e := ecnField(ecn); e >= 0 {
		tos = uint8(e)
	}
	if r.v6() {
		b = make([]byte, wire.IPv6HeaderLen+l4len)
		wire.IPv6(b).Encode(&wire.IPv6Fields{TrafficClass: tos, FlowLabel: flow, PayloadLen: uint16(l4len), NextHeader: proto, HopLimit: 64, Src: r.remote, Dst: r.local})
		return b, b[wire.IPv6HeaderLen:]
	}
	b = make([]byte, wire.IPv4MinHeaderLen+l4len)
	r.ipID++
	ip := wire.IPv4(b)
	ip.Encode(&wire.IPv4Fields{TOS: tos, TotalLen: uint16(len(b)), ID: r.ipID, TTL: 64, Protocol: proto, Src: r.remote, Dst: r.local})
	ip.SetChecksum()
	return b, b[wire.IPv4MinHeaderLen:]
}

// deliver hands an inbound packet to the stack.
func (r *runner) deliver(b []byte) {
	r.pktID++
	r.nic.Deliver(stack.Packet{ID: r.pktID, Data: b})
}

// compareDgram checks an outbound UDP or ICMP packet against the
// script's line and says what differs first, or "".
func (r *runner) compareDgram(p *pkt.Packet, s seg) string {
	if want := flowProto(p); s.proto != want {
		return fmt.Sprintf("a %s packet, expected %s", protoName(s.proto), p.Proto)
	}
	if e := ecnField(p.ECN); e >= 0 && uint8(e) != s.ecn {
		return fmt.Sprintf("ECN %s, expected %s", ecnNames[s.ecn], ecnNames[e])
	}
	if s.proto == wire.ProtoUDP {
		if s.length != p.UDPLen {
			return fmt.Sprintf("UDP payload of %d bytes, expected %d", s.length, p.UDPLen)
		}
		return ""
	}
	typ, code, err := r.icmpTypeCode(p)
	if err != nil {
		return err.Error()
	}
	if s.icmpType != typ || s.icmpCode != code {
		return fmt.Sprintf("ICMP type %d code %d, expected %s %s (type %d code %d)", s.icmpType, s.icmpCode, p.ICMPType, p.ICMPCode, typ, code)
	}
	if p.ICMPMTU != 0 && int(s.icmpMTU) != p.ICMPMTU {
		return fmt.Sprintf("ICMP MTU %d, expected %d", s.icmpMTU, p.ICMPMTU)
	}
	return ""
}

// describeDgram writes an outbound UDP or ICMP packet as a script line,
// in the run's family's ICMP names.
func (r *runner) describeDgram(s seg) string {
	var b strings.Builder
	b.WriteString("> ")
	if s.ecn != 0 {
		fmt.Fprintf(&b, "[%s] ", ecnNames[s.ecn])
	}
	if s.proto == wire.ProtoUDP {
		fmt.Fprintf(&b, "udp (%d)", s.length)
		return b.String()
	}
	types, codes := r.icmpNames(s.icmpType)
	typ := fmt.Sprintf("type_%d", s.icmpType)
	for n, v := range types {
		if v == s.icmpType {
			typ = n
		}
	}
	code := fmt.Sprintf("code_%d", s.icmpCode)
	for n, v := range codes {
		if v == s.icmpCode {
			code = n
		}
	}
	fmt.Fprintf(&b, "icmp %s %s", typ, code)
	if s.icmpMTU != 0 {
		fmt.Fprintf(&b, " mtu %d", s.icmpMTU)
	}
	return b.String()
}

func protoName(p uint8) string {
	switch p {
	case wire.ProtoUDP:
		return "udp"
	case wire.ProtoICMP:
		return "icmp"
	}
	return "tcp"
}
