package stack

import (
	"net/netip"
	"strconv"
	"syscall"

	"stacklab/stack/ipv4"
	"stacklab/stack/wire"
)

// ICMP (RFC 792, RFC 1122 §3.2.2): echo reply, destination unreachable,
// time exceeded, and echo sockets ("ping sockets").

// icmpEndpoint is an ICMP echo socket: it sends echo requests with its id
// and receives the matching replies.
type icmpEndpoint struct {
	sock   *socket
	id     uint16
	remote netip.Addr // connected peer, if any
	queue  dgramQueue
}

type icmpTable struct {
	byID   map[uint16]*icmpEndpoint
	nextID uint16
}

func (t *icmpTable) init() { t.byID = make(map[uint16]*icmpEndpoint) }

// freeID picks an identifier for a ping socket bound to id 0: a rover,
// advanced by jump, then walked past the identifiers in use (Linux's
// ping_get_port walks its rover the same way), never 0. It fails only
// when all 65,535 are taken. The rover stays where the last search
// ended, so a run of binds costs O(1) each, amortised.
func (t *icmpTable) freeID(jump int) (uint16, bool) {
	if len(t.byID) >= 65535 {
		return 0, false
	}
	id := t.nextID + 1 + uint16(jump)
	for i := 0; i < 65536; i, id = i+1, id+1 {
		if id != 0 && t.byID[id] == nil {
			t.nextID = id
			return id, true
		}
	}
	return 0, false
}

func (s *Stack) icmpInput(n *NIC, ip wire.IPv4, b []byte, pktID uint64) {
	s.counters.ICMP.InMsgs++
	m := wire.ICMPv4(b)
	if len(m) < wire.ICMPv4HeaderLen || !m.IsChecksumValid() {
		s.drop(&s.counters.ICMP.InErrors, "icmp.InErrors", "icmp", "bad ICMP length or checksum", pktID)
		return
	}
	switch m.Type() {
	case wire.ICMPEcho:
		s.counters.ICMP.InEchos++
		if ip.Dst() != n.cfg.Addr.Addr() && !s.isLocal(ip.Dst()) {
			// No replies to broadcast pings (RFC 1122 §3.2.2.6 allows
			// either; Linux ignores them by default).
			s.drop(&s.counters.ICMP.InIgnored, "icmp.InIgnored", "icmp", "echo request to a broadcast address: not answered", pktID)
			return
		}
		s.counters.ICMP.OutMsgs++
		s.counters.ICMP.OutEchoReps++
		reply := s.icmpScratch(len(m))
		copy(reply, m)
		r := wire.ICMPv4(reply)
		r.SetType(wire.ICMPEchoReply)
		r.SetCode(0)
		r.SetChecksum()
		if ip.HeaderLen() > wire.IPv4MinHeaderLen {
			s.echoWithOptions(ip, reply)
			return
		}
		// With the request's TOS byte, ECN bits and all, as Linux's
		// icmp_reply.
		s.ipSendTOS(s.opts.TTL, ip.TOS(), ip.Dst(), ip.Src(), wire.ProtoICMP, reply, dfOff, "echo reply")
	case wire.ICMPEchoReply:
		s.counters.ICMP.InEchoReps++
		e := s.icmp.byID[m.ID()]
		if e == nil {
			return
		}
		if !e.queue.push(&s.dgrams, ip.Src(), 0, m) {
			s.drop(&s.counters.UDP.RcvbufErrors, "udp.RcvbufErrors", "icmp", "receive queue full", pktID)
			return
		}
		e.sock.notify()
	case wire.ICMPDestUnreachable:
		s.counters.ICMP.InDestUnreachs++
		errno, hard := unreachErr(m.Code())
		s.icmpErrorInput(m, errno, hard)
	case wire.ICMPTimeExceeded:
		s.counters.ICMP.InTimeExcds++
		s.icmpErrorInput(m, syscall.EHOSTUNREACH, false)
	default:
		s.drop(&s.counters.ICMP.InIgnored, "icmp.InIgnored", "icmp", "ICMP type "+strconv.Itoa(int(m.Type()))+" not handled", pktID)
	}
}

// echoWithOptions sends an echo reply to a request with IP options as
// Linux does: the request's record route and timestamp are filled in on
// arrival (ip_options_compile), copied into the reply with a slot for the
// reply's own entry (ip_options_echo) and that slot filled as it leaves
// (ip_options_build), so `ping -R` shows this host twice; other options
// are not returned. A request whose option has a partial slot left is not
// answered, as on Linux.
func (s *Stack) echoWithOptions(ip wire.IPv4, reply []byte) {
	hdr := make(wire.IPv4, ip.HeaderLen())
	copy(hdr, ip)
	rec := hdr.RecordIPv4Options(ip.Dst(), wire.IPv4Timestamp(s.now()), s.isLocal)
	opts, out, ok := hdr.EchoIPv4Options(rec, s.isLocal)
	if !ok {
		s.counters.ICMP.OutMsgs--
		s.counters.ICMP.OutEchoReps--
		s.drop(&s.counters.ICMP.InIgnored, "icmp.InIgnored", "icmp", "echo request not answered: part of a slot left in its record-route or timestamp option", 0)
		return
	}
	var recp *wire.IPv4OptRecord
	if out.RRNeedAddr || out.TSNeedAddr || out.TSNeedTime {
		recp = &out
	}
	s.ipSendOpts(s.opts.TTL, ip.TOS(), ip.Dst(), ip.Src(), wire.ProtoICMP, reply, opts, recp, dfOff, "echo reply")
}

// unreachErrs is the errno of each destination unreachable code and
// whether the error is hard (fatal), as Linux's icmp_err_convert: a
// connected UDP socket learns of hard errors only (soft ones — net and
// host unreachable, source route failed, the TOS ones — are dropped, as
// __udp4_lib_err without IP_RECVERR). Fragmentation needed is EMSGSIZE,
// hard for UDP with path MTU discovery.
var unreachErrs = [...]struct {
	errno syscall.Errno
	hard  bool
}{
	{syscall.ENETUNREACH, false},  // net unreachable
	{syscall.EHOSTUNREACH, false}, // host unreachable
	{syscall.ENOPROTOOPT, true},   // protocol unreachable
	{syscall.ECONNREFUSED, true},  // port unreachable
	{syscall.EMSGSIZE, true},      // fragmentation needed
	{syscall.EOPNOTSUPP, false},   // source route failed
	{syscall.ENETUNREACH, true},   // net unknown
	{syscall.EHOSTDOWN, true},     // host unknown
	{syscall.ENONET, true},        // host isolated
	{syscall.ENETUNREACH, true},   // net prohibited
	{syscall.EHOSTUNREACH, true},  // host prohibited
	{syscall.ENETUNREACH, false},  // net unreachable for TOS
	{syscall.EHOSTUNREACH, false}, // host unreachable for TOS
	{syscall.EHOSTUNREACH, true},  // communication administratively prohibited
	{syscall.EHOSTUNREACH, true},  // host precedence violation
	{syscall.EHOSTUNREACH, true},  // precedence cutoff
}

// unreachErr returns the errno of a destination unreachable code and
// whether it is hard; an unknown code is a soft EHOSTUNREACH.
func unreachErr(code uint8) (syscall.Errno, bool) {
	if int(code) < len(unreachErrs) {
		e := unreachErrs[code]
		return e.errno, e.hard
	}
	return syscall.EHOSTUNREACH, false
}

// icmpErrorInput passes an ICMP error to the socket that sent the packet
// it quotes (RFC 1122 §3.2.2.1): a connected UDP socket's next call
// fails with a hard error; TCP decides by errno.
func (s *Stack) icmpErrorInput(m wire.ICMPv4, errno syscall.Errno, hard bool) {
	inner, err := wire.ParseIPv4Quoted(m.Payload())
	if err != nil || len(inner.Payload()) < 8 {
		// RFC 792: the error quotes the header and 8 bytes of payload.
		s.counters.ICMP.InErrors++
		return
	}
	p := inner.Payload()
	switch inner.Protocol() {
	case wire.ProtoUDP:
		u := wire.UDP(p)
		local := netip.AddrPortFrom(inner.Src(), u.SrcPort())
		remote := netip.AddrPortFrom(inner.Dst(), u.DstPort())
		if e := s.udp.lookup(local); e != nil && e.remote == remote && hard {
			// Only connected sockets learn of it, and only of hard
			// errors, as on Linux without IP_RECVERR.
			e.err = errno
			e.sock.notify()
		}
	case wire.ProtoTCP:
		// Path MTU discovery (RFC 1191): "fragmentation needed" shrinks
		// the connection's segments. Other errors end a connect still in
		// SYN_SENT, as Linux's tcp_v4_err; a passive opening only for
		// time exceeded and net or host unreachable, which drop Linux's
		// request socket; an established connection's own timers decide
		// (RFC 1122 §4.2.3.9).
		t := wire.TCP(p)
		local, remote := netip.AddrPortFrom(inner.Src(), t.SrcPort()), netip.AddrPortFrom(inner.Dst(), t.DstPort())
		if errno != syscall.EMSGSIZE && (m.Type() != wire.ICMPDestUnreachable || int(m.Code()) < len(unreachErrs)) {
			synRecv := m.Type() == wire.ICMPTimeExceeded || m.Type() == wire.ICMPDestUnreachable && m.Code() <= wire.ICMPCodeHostUnreachable
			s.tcp.HardError(local, remote, t.Seq(), errno, synRecv)
		}
		if errno == syscall.EMSGSIZE {
			mtu := int(m.MTU())
			if mtu == 0 {
				mtu = 576 // a router from before RFC 1191: assume the minimum
			}
			s.tcp.PathMTU(local, remote, t.Seq(), mtu)
		}
	}
}

// icmpScratch returns a buffer for building an ICMP message, separate
// from s.out (which ipSend uses for the frame).
func (s *Stack) icmpScratch(n int) []byte {
	if cap(s.icmpBuf) < n {
		s.icmpBuf = make([]byte, n)
	}
	return s.icmpBuf[:n]
}

// sendUnreachable answers orig with a destination unreachable message.
func (s *Stack) sendUnreachable(orig wire.IPv4, code uint8, mtu uint16, why string) {
	s.sendICMPError(orig, wire.ICMPDestUnreachable, code, uint32(mtu), why)
}

// sendICMPError sends an ICMP error about orig, quoting its header and as
// much of its payload as fits in 576 bytes (RFC 1812 §4.3.2.3), but never
// about an ICMP error, a broadcast or multicast (at the IP or the link
// layer), a non-initial fragment, or a source that names no host
// (RFC 1122 §3.2.2, RFC 1812 §4.3.2.7); and no more than the rate limit
// allows.
func (s *Stack) sendICMPError(orig wire.IPv4, typ, code uint8, rest uint32, why string) {
	s.finishQuoted(orig)
	n, _, ok := s.route(orig.Src())
	if !ok || s.rxLinkBroadcast {
		return
	}
	if n.loop && !ipv4.MayAnswerOnLoopback(orig) || !n.loop && !ipv4.MayAnswerWithError(orig, n.cfg.Addr) {
		return
	}
	// RFC 1812 §4.3.2.8: errors are rate-limited, except on lo (as
	// Linux's icmpv4_xrlim_allow).
	if s.icmpLimit == nil {
		s.icmpLimit = ipv4.NewRateLimiter(0, 0)
	}
	if !n.loop && !s.icmpLimit.Allow(s.now()) {
		s.counters.ICMP.OutRateLimited++
		return
	}
	quote := len(orig)
	if quote > 576-wire.IPv4MinHeaderLen-wire.ICMPv4HeaderLen {
		quote = 576 - wire.IPv4MinHeaderLen - wire.ICMPv4HeaderLen
	}
	b := s.icmpScratch(wire.ICMPv4HeaderLen + quote)
	m := wire.ICMPv4(b)
	m.Encode(&wire.ICMPv4Fields{Type: typ, Code: code, Rest: rest})
	copy(b[wire.ICMPv4HeaderLen:], orig[:quote])
	m.SetChecksum()
	s.counters.ICMP.OutMsgs++
	switch typ {
	case wire.ICMPDestUnreachable:
		s.counters.ICMP.OutDestUnreachs++
	case wire.ICMPTimeExceeded:
		s.counters.ICMP.OutTimeExcds++
	case wire.ICMPParamProblem:
		s.counters.ICMP.OutParmProbs++
	}
	var src netip.Addr
	if s.isLocal(orig.Dst()) {
		src = orig.Dst()
	}
	// Linux's icmp_send: the offending packet's TOS bits (RT_TOS) under
	// the precedence of internetwork control.
	tos := orig.TOS()&iptosTOSMask | iptosPrecInternetControl
	s.ipSendTOS(s.opts.TTL, tos, src, orig.Src(), wire.ProtoICMP, b, dfOff, why)
}

// The TOS byte's fields as Linux names them (IPTOS_TOS_MASK,
// IPTOS_PREC_INTERNETCONTROL).
const (
	iptosTOSMask             = 0x1e
	iptosPrecInternetControl = 0xc0
)

// finishQuoted finishes the TCP checksum of the packet being received,
// if its sender left it to the link, before an ICMP error quotes it.
func (s *Stack) finishQuoted(ip []byte) {
	if s.rxPartial {
		wire.FinishTCPChecksum(ip, false)
		s.rxPartial = false
	}
}
