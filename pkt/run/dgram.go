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

// icmpTypeCode reads a packet line's ICMP type and code names (or
// type_N and code_N, as packetdrill).
func icmpTypeCode(p *pkt.Packet) (typ, code uint8, err error) {
	t, ok := icmpTypes[p.ICMPType]
	if !ok {
		var n int
		if _, e := fmt.Sscanf(p.ICMPType, "type_%d", &n); e != nil || n < 0 || n > 255 {
			return 0, 0, fmt.Errorf("unknown ICMP type %q (unreachable, time_exceeded, echo_request… or type_N)", p.ICMPType)
		}
		t = uint8(n)
	}
	if p.ICMPCode == "" {
		return t, 0, nil
	}
	if c, ok := icmpUnreachCodes[p.ICMPCode]; ok && t == wire.ICMPDestUnreachable {
		return t, c, nil
	}
	var n int
	if _, e := fmt.Sscanf(p.ICMPCode, "code_%d", &n); e != nil || n < 0 || n > 255 {
		return 0, 0, fmt.Errorf("unknown ICMP code %q for type %s (e.g. port_unreachable, frag_needed, or code_N)", p.ICMPCode, p.ICMPType)
	}
	return t, uint8(n), nil
}

// decodeDgram decodes an IPv4 UDP or ICMP packet the stack sent.
func decodeDgram(b []byte) (s seg, ok bool) {
	ip, err := wire.ParseIPv4(b)
	if err != nil || ip.IsFragment() {
		return s, false
	}
	s = seg{proto: ip.Protocol(), ecn: ip.TOS() & 3, merged: 1}
	switch ip.Protocol() {
	case wire.ProtoUDP:
		u, err := wire.ParseUDP(ip.Payload())
		if err != nil {
			return s, false
		}
		s.srcPort, s.dstPort, s.length = u.SrcPort(), u.DstPort(), len(u.Payload())
		return s, true
	case wire.ProtoICMP:
		m := wire.ICMPv4(ip.Payload())
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
	total := wire.IPv4MinHeaderLen + wire.UDPHeaderLen + p.UDPLen
	b := make([]byte, total)
	r.ipHeader(b, p.ECN, wire.ProtoUDP)
	u := wire.UDP(b[wire.IPv4MinHeaderLen:])
	u.Encode(&wire.UDPFields{SrcPort: r.remPort, DstPort: r.localPort, Length: uint16(wire.UDPHeaderLen + p.UDPLen)})
	u.SetChecksum(RemoteAddr, LocalAddr)
	r.deliver(b)
	return nil
}

// injectICMP sends a script ICMP message into the stack. An error
// message quotes the IPv4 header and first 8 bytes of a packet of the
// flow under test as the stack sent it (for TCP: its ports and the
// script's sequence number mapped to the live one).
func (r *runner) injectICMP(ev *pkt.Event) *failure {
	p := ev.Packet
	typ, code, err := icmpTypeCode(p)
	if err != nil {
		return r.failf(ev.Pos.Line, "%s: %v", ev.Pos, err)
	}
	proto := uint8(wire.ProtoTCP)
	if p.Echoed == "udp" {
		proto = wire.ProtoUDP
	}
	const quoted = wire.IPv4MinHeaderLen + 8
	total := wire.IPv4MinHeaderLen + wire.ICMPv4HeaderLen + quoted
	b := make([]byte, total)
	r.ipHeader(b, p.ECN, wire.ProtoICMP)
	m := wire.ICMPv4(b[wire.IPv4MinHeaderLen:])
	f := wire.ICMPv4Fields{Type: typ, Code: code}
	if p.ICMPMTU != 0 {
		f.Rest = uint32(p.ICMPMTU)
	}
	if p.HasICMPID {
		f.ID = uint16(p.ICMPID)
	}
	m.Encode(&f)
	q := b[wire.IPv4MinHeaderLen+wire.ICMPv4HeaderLen:]
	l4len := wire.TCPMinHeaderLen + p.EchoLen
	if proto == wire.ProtoUDP {
		l4len = wire.UDPHeaderLen + p.EchoLen
	}
	// The quoted header is the stack's: its address first, DF as the
	// stack sets it on TCP and on UDP with path MTU discovery.
	wire.IPv4(q).Encode(&wire.IPv4Fields{TotalLen: uint16(wire.IPv4MinHeaderLen + l4len), DF: true, TTL: 64, Protocol: proto, Src: LocalAddr, Dst: RemoteAddr})
	wire.IPv4(q).SetChecksum()
	l4 := q[wire.IPv4MinHeaderLen:]
	binary.BigEndian.PutUint16(l4[0:], r.localPort)
	binary.BigEndian.PutUint16(l4[2:], r.remPort)
	if proto == wire.ProtoTCP {
		binary.BigEndian.PutUint32(l4[4:], p.EchoSeq+r.localISN)
	} else {
		binary.BigEndian.PutUint16(l4[4:], uint16(l4len))
	}
	m.SetChecksum()
	r.deliver(b)
	return nil
}

// ipHeader writes an inbound packet's IPv4 header from the remote end.
func (r *runner) ipHeader(b []byte, ecn string, proto uint8) {
	tos := uint8(0)
	if e := ecnField(ecn); e >= 0 {
		tos = uint8(e)
	}
	r.ipID++
	ip := wire.IPv4(b)
	ip.Encode(&wire.IPv4Fields{TOS: tos, TotalLen: uint16(len(b)), ID: r.ipID, TTL: 64, Protocol: proto, Src: RemoteAddr, Dst: LocalAddr})
	ip.SetChecksum()
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
	typ, code, err := icmpTypeCode(p)
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

// describeDgram writes an outbound UDP or ICMP packet as a script line.
func describeDgram(s seg) string {
	var b strings.Builder
	b.WriteString("> ")
	if s.ecn != 0 {
		fmt.Fprintf(&b, "[%s] ", ecnNames[s.ecn])
	}
	if s.proto == wire.ProtoUDP {
		fmt.Fprintf(&b, "udp (%d)", s.length)
		return b.String()
	}
	typ := fmt.Sprintf("type_%d", s.icmpType)
	for n, v := range icmpTypes {
		if v == s.icmpType {
			typ = n
		}
	}
	code := fmt.Sprintf("code_%d", s.icmpCode)
	if s.icmpType == wire.ICMPDestUnreachable {
		for n, v := range icmpUnreachCodes {
			if v == s.icmpCode {
				code = n
			}
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
