package stack

import (
	"net/netip"
	"syscall"

	"stacklab/stack/wire"
)

// UDP (RFC 768) endpoints and the datagram queue shared with ICMP
// echo sockets.

const defaultDgramQueue = 208 * 1024 // bytes, like Linux's rmem_default

type udpEndpoint struct {
	sock   *socket
	local  netip.AddrPort
	remote netip.AddrPort // valid when connected
	err    syscall.Errno  // pending error (ICMP port unreachable → ECONNREFUSED)
	queue  dgramQueue
}

type udpTable struct {
	bound map[netip.AddrPort]*udpEndpoint
}

func (t *udpTable) init() { t.bound = make(map[netip.AddrPort]*udpEndpoint) }

// lookup finds the endpoint bound to local exactly, or to the wildcard
// address with local's port.
func (t *udpTable) lookup(local netip.AddrPort) *udpEndpoint {
	if e := t.bound[local]; e != nil {
		return e
	}
	return t.bound[netip.AddrPortFrom(netip.IPv4Unspecified(), local.Port())]
}

// portInUse reports whether any endpoint uses port.
func (t *udpTable) portInUse(port uint16) bool {
	for ap := range t.bound {
		if ap.Port() == port {
			return true
		}
	}
	return false
}

// dgram is one queued datagram.
type dgram struct {
	from netip.AddrPort
	data []byte
}

// dgramQueue is a bounded FIFO of datagrams.
type dgramQueue struct {
	q     []dgram
	bytes int
	limit int
}

func (q *dgramQueue) push(addr netip.Addr, port uint16, b []byte) bool {
	limit := q.limit
	if limit == 0 {
		limit = defaultDgramQueue
	}
	if q.bytes+len(b) > limit {
		return false
	}
	q.q = append(q.q, dgram{from: netip.AddrPortFrom(addr, port), data: append([]byte(nil), b...)})
	q.bytes += len(b)
	return true
}

func (q *dgramQueue) pop() (dgram, bool) {
	if len(q.q) == 0 {
		return dgram{}, false
	}
	d := q.q[0]
	q.q[0] = dgram{}
	q.q = q.q[1:]
	q.bytes -= len(d.data)
	return d, true
}

func (q *dgramQueue) empty() bool { return len(q.q) == 0 }

func (s *Stack) udpInput(n *NIC, ip wire.IPv4, b []byte, pktID uint64) {
	u, err := wire.ParseUDP(b)
	if err != nil || !u.IsChecksumValid(ip.Src(), ip.Dst()) {
		s.drop(&s.counters.UDP.InErrors, "udp.InErrors", "udp", "bad UDP length or checksum", pktID)
		return
	}
	local := netip.AddrPortFrom(ip.Dst(), u.DstPort())
	e := s.udp.lookup(local)
	if e != nil && e.remote.IsValid() && e.remote != netip.AddrPortFrom(ip.Src(), u.SrcPort()) {
		e = nil
	}
	if e == nil {
		s.drop(&s.counters.UDP.NoPorts, "udp.NoPorts", "udp", "no socket on port "+itoa(int(u.DstPort())), pktID)
		if s.isLocal(ip.Dst()) {
			s.sendUnreachable(ip, wire.ICMPCodePortUnreachable, 0, "udp: port "+itoa(int(u.DstPort()))+" unreachable")
		}
		return
	}
	if !e.queue.push(ip.Src(), u.SrcPort(), u.Payload()) {
		s.drop(&s.counters.UDP.RcvbufErrors, "udp.RcvbufErrors", "udp", "receive queue full", pktID)
		return
	}
	s.counters.UDP.InDatagrams++
	e.sock.notify()
}

// udpSend sends one datagram from e to dst.
func (s *Stack) udpSend(e *udpEndpoint, dst netip.AddrPort, payload []byte, why string) error {
	if len(payload) > 65535-wire.UDPHeaderLen-wire.IPv4MinHeaderLen {
		return syscall.EMSGSIZE
	}
	src := e.local.Addr()
	if src.IsUnspecified() {
		n, _, ok := s.route(dst.Addr())
		if !ok {
			s.counters.IP.OutNoRoutes++
			return syscall.ENETUNREACH
		}
		src = n.cfg.Addr.Addr()
	}
	b := s.icmpScratch(wire.UDPHeaderLen + len(payload))
	u := wire.UDP(b)
	u.Encode(&wire.UDPFields{SrcPort: e.local.Port(), DstPort: dst.Port(), Length: uint16(len(b))})
	copy(b[wire.UDPHeaderLen:], payload)
	u.SetChecksum(src, dst.Addr())
	s.counters.UDP.OutDatagrams++
	return s.ipSend(src, dst.Addr(), wire.ProtoUDP, b, false, why)
}

// ephemeralUDP picks a free ephemeral port (RFC 6056 style, random start).
func (s *Stack) ephemeralUDP() (uint16, error) {
	const lo, hi = 49152, 65535
	start := lo + s.opts.Rand.IntN(hi-lo+1)
	for i := 0; i <= hi-lo; i++ {
		p := uint16(lo + (start-lo+i)%(hi-lo+1))
		if !s.udp.portInUse(p) {
			return p, nil
		}
	}
	return 0, syscall.EADDRINUSE
}
