package stack

import (
	"net/netip"
	"strconv"
	"syscall"

	"stacklab/stack/ipv4"
	"stacklab/stack/wire"
)

// ICMPv6 (RFC 4443): echo replies, errors received and sent (rate
// limited), and the NDP messages (ndp.go).

func (s *Stack) icmp6Input(n *NIC, ip wire.IPv6, b []byte, pktID uint64) {
	c := &s.counters.ICMP6
	c.InMsgs++
	m, err := wire.ParseICMPv6(b, ip.Src(), ip.Dst())
	if err != nil {
		s.drop(&c.InErrors, "icmp6.InErrors", "icmpv6", "bad ICMPv6 length or checksum", pktID)
		return
	}
	if m.IsNDP() {
		s.ndpInput(n, ip, m, pktID)
		return
	}
	switch m.Type() {
	case wire.ICMPv6EchoRequest:
		c.InEchos++
		src := ip.Dst()
		if src.IsMulticast() {
			// Linux answers echo requests to a multicast group it is
			// in (icmpv6_echo_ignore_multicast=0), from its address.
			src = n.source6(ip.Src())
		}
		reply := s.icmpScratch(len(m))
		copy(reply, m)
		r := wire.ICMPv6(reply)
		r[wire.ICMPv6TypeOffset] = wire.ICMPv6EchoReply
		r.SetChecksum(src, ip.Src())
		c.OutMsgs++
		c.OutEchoReplies++
		// With the request's traffic class, as Linux's icmpv6_echo_reply.
		s.ip6Send(s.opts.TTL, ip.TrafficClass(), src, ip.Src(), wire.ProtoICMPv6, reply, "echo reply")
	case wire.ICMPv6EchoReply:
		c.InEchoReplies++
		e := s.icmp.byID[m.ID()]
		if e == nil || !e.sock.v6() {
			s.drop(&c.InIgnored, "icmp6.InIgnored", "icmpv6", "echo reply for no ICMPv6 echo socket (id "+strconv.Itoa(int(m.ID()))+")", pktID)
			return
		}
		if !e.queue.push(&s.dgrams, ip.Src(), 0, m) {
			s.drop(&s.counters.UDP6.RcvbufErrors, "udp6.RcvbufErrors", "icmpv6", "receive queue full", pktID)
			return
		}
		e.sock.notify()
	case wire.ICMPv6DestUnreachable:
		c.InDestUnreachs++
		// As Linux's icmpv6_err_convert: port unreachable and the
		// policy codes are hard, no route and address unreachable soft.
		errno, hard := syscall.EHOSTUNREACH, false
		switch m.Code() {
		case wire.ICMPv6CodePortUnreachable:
			errno, hard = syscall.ECONNREFUSED, true
		case wire.ICMPv6CodeNoRoute:
			errno = syscall.ENETUNREACH
		case wire.ICMPv6CodeAdminProhibited, 5, 6: // 5, 6: source address failed policy, reject route (RFC 4443)
			errno, hard = syscall.EACCES, true
		}
		s.icmp6ErrorInput(m, errno, hard)
	case wire.ICMPv6PacketTooBig:
		c.InPktTooBigs++
		s.icmp6ErrorInput(m, syscall.EMSGSIZE, true)
	case wire.ICMPv6TimeExceeded:
		c.InTimeExcds++
		s.icmp6ErrorInput(m, syscall.EHOSTUNREACH, false)
	case wire.ICMPv6ParamProblem:
		c.InParmProblems++
		s.icmp6ErrorInput(m, syscall.EPROTO, true)
	default:
		s.drop(&c.InIgnored, "icmp6.InIgnored", "icmpv6", "ICMPv6 type "+strconv.Itoa(int(m.Type()))+" not handled", pktID)
	}
}

// sendEcho6 sends an ICMPv6 echo request with the payload b from an
// AF_INET6 echo socket ("ping socket", socket(AF_INET6, SOCK_DGRAM,
// IPPROTO_ICMPV6) on Linux): the stack writes the header with the
// socket's id and a counting sequence number, and the checksum over the
// IPv6 pseudo-header.
func (s *Stack) sendEcho6(sk *socket, b []byte, dst netip.Addr, call string) (int, error) {
	n, _, ok := s.route(dst)
	if !ok {
		s.counters.IP6.OutNoRoutes++
		return 0, syscall.ENETUNREACH
	}
	src := sk.local.Addr()
	if !src.Is6() || src.IsUnspecified() {
		src = n.source6(dst)
	}
	m := s.icmpScratch(wire.ICMPv6HeaderLen + len(b))
	seq := uint16(s.counters.ICMP6.OutEchos + 1)
	wire.ICMPv6(m).Encode(&wire.ICMPv6Fields{Type: wire.ICMPv6EchoRequest, ID: sk.icmp.id, Seq: seq})
	copy(m[wire.ICMPv6HeaderLen:], b)
	wire.ICMPv6(m).SetChecksum(src, dst)
	s.counters.ICMP6.OutMsgs++
	s.counters.ICMP6.OutEchos++
	why := call + "(" + strconv.Itoa(sk.fd) + ") → echo request seq " + strconv.Itoa(int(seq))
	if err := s.ip6Send(sk.ipTTL(), 0, src, dst, wire.ProtoICMPv6, m, why); err != nil {
		return 0, err
	}
	return len(b), nil
}

// icmp6ErrorInput passes an ICMPv6 error to the socket that sent the
// packet it quotes (RFC 4443 §2.4 (a)).
func (s *Stack) icmp6ErrorInput(m wire.ICMPv6, errno syscall.Errno, hard bool) {
	inner, err := wire.ParseIPv6Quoted(m.Body())
	if err != nil {
		s.counters.ICMP6.InErrors++
		return
	}
	ch, err := inner.Chain()
	local, remote := inner.Src(), inner.Dst()
	if errno == syscall.EMSGSIZE && err == nil && ch.Fragment != nil && ch.Fragment.Offset() != 0 && s.isLocal6(local) {
		// A later fragment names no socket, but the path is the same.
		s.learnPMTU6(remote, int(m.MTU()))
		return
	}
	if err != nil || ch.Offset+8 > len(inner) || ch.Fragment != nil && ch.Fragment.Offset() != 0 {
		s.counters.ICMP6.InErrors++
		return
	}
	p := inner[ch.Offset:]
	if errno == syscall.EMSGSIZE {
		if !s.isLocal6(local) {
			s.counters.ICMP6.InErrors++
			return
		}
		if ch.Proto == wire.ProtoTCP {
			t := wire.TCP(p)
			s.tcp.PathMTU(netip.AddrPortFrom(local, t.SrcPort()), netip.AddrPortFrom(remote, t.DstPort()), t.Seq(), int(m.MTU()))
			return
		}
		// Other packets are fragmented to the path MTU from now on; a
		// connected UDP socket's next call fails with EMSGSIZE, as
		// Linux's __udp6_lib_err (the datagram itself is lost).
		s.learnPMTU6(remote, int(m.MTU()))
		s.quotedError(local, remote, ch.Proto, p, errno, true)
		return
	}
	s.quotedError(local, remote, ch.Proto, p, errno, hard)
}

// quotedError gives a hard errno to the socket that sent a datagram
// from local to remote whose transport header starts p: a connected UDP
// socket's next call fails with it (soft errors are dropped, as Linux's
// __udp6_lib_err without IPV6_RECVERR); a TCP connection still being
// opened ends with it (RFC 1122 §4.2.3.9: port unreachable, an
// unresolvable next hop). Other errors are soft for TCP: its own timers
// decide.
func (s *Stack) quotedError(local, remote netip.Addr, proto uint8, p []byte, errno syscall.Errno, hard bool) {
	if len(p) < 8 {
		return
	}
	switch proto {
	case wire.ProtoUDP:
		u := wire.UDP(p)
		l, r := netip.AddrPortFrom(local, u.SrcPort()), netip.AddrPortFrom(remote, u.DstPort())
		if e := s.udp.lookup(l); e != nil && e.remote == r && hard {
			e.err = errno
			e.sock.notify()
		}
	case wire.ProtoTCP:
		t := wire.TCP(p)
		s.tcp.HardError(netip.AddrPortFrom(local, t.SrcPort()), netip.AddrPortFrom(remote, t.DstPort()), t.Seq(), errno, hard)
	}
}

// sendICMP6Error sends an ICMPv6 error about orig, received on in,
// quoting as much of it as fits in the minimum MTU (RFC 4443 §2.4 (c)),
// but never about an ICMPv6 error or a redirect, a packet from an
// unspecified or multicast source, or to a multicast destination (except
// Packet Too Big and an unknown-option Parameter Problem, RFC 4443 §2.4
// (e)); and no more than the rate limit allows (RFC 4443 §2.4 (f)),
// except on lo, as Linux.
func (s *Stack) sendICMP6Error(in *NIC, orig wire.IPv6, typ, code uint8, rest uint32, why string) {
	s.finishQuoted(orig)
	src, dst := orig.Src(), orig.Dst()
	if src.IsUnspecified() || src.IsMulticast() {
		return
	}
	if dst.IsMulticast() && typ != wire.ICMPv6PacketTooBig && !(typ == wire.ICMPv6ParamProblem && code == wire.ICMPv6CodeUnknownOption) {
		return
	}
	if ch, err := orig.Chain(); err == nil && ch.Proto == wire.ProtoICMPv6 && ch.Offset < len(orig) {
		if t := orig[ch.Offset]; t < 128 || t == wire.ICMPv6Redirect {
			return
		}
	}
	if s.icmp6Limit == nil {
		s.icmp6Limit = ipv4.NewRateLimiter(0, 0)
	}
	if !in.loop && !s.icmp6Limit.Allow(s.now()) {
		s.counters.ICMP6.OutRateLimited++
		return
	}
	quote := min(len(orig), wire.ICMPv6ErrorMaxLen-wire.ICMPv6HeaderLen)
	b := s.icmpScratch(wire.ICMPv6HeaderLen + quote)
	m := wire.ICMPv6(b)
	m.Encode(&wire.ICMPv6Fields{Type: typ, Code: code, Rest: rest})
	copy(b[wire.ICMPv6HeaderLen:], orig[:quote])
	from := dst
	if !s.isLocal6(dst) {
		from = in.source6(src)
	}
	m.SetChecksum(from, src)
	c := &s.counters.ICMP6
	c.OutMsgs++
	switch typ {
	case wire.ICMPv6DestUnreachable:
		c.OutDestUnreachs++
	case wire.ICMPv6PacketTooBig:
		c.OutPktTooBigs++
	case wire.ICMPv6TimeExceeded:
		c.OutTimeExcds++
	case wire.ICMPv6ParamProblem:
		c.OutParmProblems++
	}
	s.ip6Send(s.opts.TTL, 0, from, src, wire.ProtoICMPv6, b, why)
}
