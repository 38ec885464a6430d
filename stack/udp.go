package stack

import (
	"net/netip"
	"strconv"
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
	next   *udpEndpoint // older endpoints sharing local (SO_REUSEADDR)
	v6only bool         // IPV6_V6ONLY: bound to [::], takes no IPv4 datagrams
	shutRD bool         // shutdown(SHUT_RD): reads end at EOF once drained
}

type udpTable struct {
	bound map[netip.AddrPort]*udpEndpoint
	ports map[uint16]int // addresses bound per port, so portInUse is O(1)
}

func (t *udpTable) init() {
	t.bound = make(map[netip.AddrPort]*udpEndpoint)
	t.ports = make(map[uint16]int)
}

// add puts e in the table; among endpoints sharing an address the newest
// receives, as Linux puts the newest first in its hash chain.
func (t *udpTable) add(e *udpEndpoint) {
	e.next = t.bound[e.local]
	if e.next == nil {
		t.ports[e.local.Port()]++
	}
	t.bound[e.local] = e
}

// remove takes e out of the table.
func (t *udpTable) remove(e *udpEndpoint) {
	head := t.bound[e.local]
	if head == e {
		if e.next == nil {
			delete(t.bound, e.local)
			if t.ports[e.local.Port()]--; t.ports[e.local.Port()] <= 0 {
				delete(t.ports, e.local.Port())
			}
		} else {
			t.bound[e.local] = e.next
		}
	} else {
		for x := head; x != nil; x = x.next {
			if x.next == e {
				x.next = e.next
				break
			}
		}
	}
	e.next = nil
}

// lookup finds the endpoint bound to local exactly, or to the wildcard
// address with local's port.
func (t *udpTable) lookup(local netip.AddrPort) *udpEndpoint {
	if e := t.bound[local]; e != nil {
		return e
	}
	if local.Addr().Is6() {
		return t.bound[netip.AddrPortFrom(netip.IPv6Unspecified(), local.Port())]
	}
	if e := t.bound[netip.AddrPortFrom(netip.IPv4Unspecified(), local.Port())]; e != nil {
		return e
	}
	// A dual-stack socket on [::] takes IPv4 datagrams too.
	if e := t.bound[netip.AddrPortFrom(netip.IPv6Unspecified(), local.Port())]; e != nil && !e.v6only {
		return e
	}
	return nil
}

// portInUse reports whether any endpoint uses port.
func (t *udpTable) portInUse(port uint16) bool { return t.ports[port] > 0 }

// dgram is one queued datagram.
type dgram struct {
	from netip.AddrPort
	data []byte
}

// dgramQueue is a bounded FIFO of datagrams. Their bytes come from the
// stack's dgramPool and go back to it when read.
type dgramQueue struct {
	q      []dgram // q[head:] are queued
	head   int
	bytes  int
	limit  int
	pushed uint64 // datagrams ever queued: a new one is an edge for epoll
}

func (q *dgramQueue) push(pool *dgramPool, addr netip.Addr, port uint16, b []byte) bool {
	limit := q.limit
	if limit == 0 {
		limit = defaultDgramQueue
	}
	if q.bytes+len(b) > limit {
		return false
	}
	if q.head > 0 && len(q.q) == cap(q.q) {
		// Reuse the room of the datagrams already read.
		n := copy(q.q, q.q[q.head:])
		clear(q.q[n:])
		q.q, q.head = q.q[:n], 0
	}
	data := append(pool.get(len(b)), b...)
	q.q = append(q.q, dgram{from: netip.AddrPortFrom(addr, port), data: data})
	q.bytes += len(b)
	q.pushed++
	return true
}

// peek returns the oldest datagram without removing it.
func (q *dgramQueue) peek() (dgram, bool) {
	if q.head == len(q.q) {
		return dgram{}, false
	}
	return q.q[q.head], true
}

// pop removes the oldest datagram. Its data belongs to the caller, who
// may give it back with dgramPool.put once it is copied out.
func (q *dgramQueue) pop() (dgram, bool) {
	if q.head == len(q.q) {
		return dgram{}, false
	}
	d := q.q[q.head]
	q.q[q.head] = dgram{}
	q.head++
	if q.head == len(q.q) {
		q.q, q.head = q.q[:0], 0
	}
	q.bytes -= len(d.data)
	return d, true
}

// dgramPool recycles the buffers of queued datagrams, so that receiving
// a datagram allocates nothing once the stack is warm. Buffers come in
// two sizes, for datagrams that fit an Ethernet frame and for larger
// ones, and the pool keeps a bounded number of each.
type dgramPool struct {
	small, large [][]byte
}

const (
	dgramSmall     = 2048
	dgramLarge     = 65536
	dgramKeepSmall = 256
	dgramKeepLarge = 8
)

// get returns an empty buffer with room for n bytes.
func (p *dgramPool) get(n int) []byte {
	free := &p.small
	size := dgramSmall
	if n > dgramSmall {
		free, size = &p.large, dgramLarge
	}
	if k := len(*free); k > 0 && n <= size {
		b := (*free)[k-1]
		(*free)[k-1] = nil
		*free = (*free)[:k-1]
		return b
	}
	return make([]byte, 0, max(n, size))
}

// put gives back a buffer from get.
func (p *dgramPool) put(b []byte) {
	switch {
	case cap(b) == dgramSmall && len(p.small) < dgramKeepSmall:
		p.small = append(p.small, b[:0])
	case cap(b) == dgramLarge && len(p.large) < dgramKeepLarge:
		p.large = append(p.large, b[:0])
	}
}

func (q *dgramQueue) empty() bool { return q.head == len(q.q) }

// udpInput handles a UDP datagram b from src to dst, carried in the IP
// packet ip (an IPv4 or IPv6 one, for the port unreachable error).
func (s *Stack) udpInput(n *NIC, ip []byte, src, dst netip.Addr, b []byte, pktID uint64) {
	c, name := &s.counters.UDP, "udp."
	if !src.Is4() {
		c, name = &s.counters.UDP6, "udp6."
	}
	u, err := wire.ParseUDP(b)
	if err != nil || !s.rxChecksummed && !u.IsChecksumValid(src, dst) || !src.Is4() && u.Checksum() == 0 {
		// RFC 8200 §8.1: a zero UDP checksum is invalid over IPv6.
		s.drop(&c.InErrors, name+"InErrors", "udp", "bad UDP length or checksum", pktID)
		return
	}
	if dst.Is4() && !dst.IsMulticast() && s.groupAddr(dst) {
		s.udpBroadcast(c, name, src, dst, u, pktID)
		return
	}
	local := netip.AddrPortFrom(dst, u.DstPort())
	e := s.udp.lookup(local)
	if e != nil && e.remote.IsValid() && e.remote != netip.AddrPortFrom(src, u.SrcPort()) {
		e = nil
	}
	if e == nil {
		s.drop(&c.NoPorts, name+"NoPorts", "udp", "no socket on port "+strconv.Itoa(int(u.DstPort())), pktID)
		why := "udp: port " + strconv.Itoa(int(u.DstPort())) + " unreachable"
		switch {
		case src.Is4() && s.isLocal(dst):
			s.sendUnreachable(wire.IPv4(ip), wire.ICMPCodePortUnreachable, 0, why)
		case !src.Is4() && !dst.IsMulticast():
			s.sendICMP6Error(n, wire.IPv6(ip), wire.ICMPv6DestUnreachable, wire.ICMPv6CodePortUnreachable, 0, why)
		}
		return
	}
	if !e.queue.push(&s.dgrams, src, u.SrcPort(), u.Payload()) {
		s.drop(&c.RcvbufErrors, name+"RcvbufErrors", "udp", "receive queue full", pktID)
		return
	}
	// InDatagrams counts it when it is read, as Linux's udp_recvmsg.
	e.sock.notify()
}

// udpSend sends one datagram from e to dst.
func (s *Stack) udpSend(e *udpEndpoint, dst netip.AddrPort, payload []byte, why string) error {
	if len(payload) > maxUDPPayload(dst) {
		return syscall.EMSGSIZE
	}
	n, _, ok := s.route(dst.Addr())
	if !ok {
		s.counters.IP.OutNoRoutes++
		return syscall.ENETUNREACH
	}
	if d := dst.Addr(); d.Is4() && (d.As4() == [4]byte{255, 255, 255, 255} || d == n.bcast) && !e.sock.broadcast {
		return syscall.EACCES // a broadcast needs SO_BROADCAST (Linux's udp_sendmsg)
	}
	src := e.local.Addr()
	if src.IsUnspecified() || s.groupAddr(src) {
		if dst.Addr().Is6() {
			src = n.source6(dst.Addr())
		} else {
			src = sourceFor(n, dst.Addr())
		}
	}
	b := s.icmpScratch(wire.UDPHeaderLen + len(payload))
	u := wire.UDP(b)
	u.Encode(&wire.UDPFields{SrcPort: e.local.Port(), DstPort: dst.Port(), Length: uint16(len(b))})
	copy(b[wire.UDPHeaderLen:], payload)
	u.SetChecksum(src, dst.Addr())
	if dst.Addr().Is6() {
		s.counters.UDP6.OutDatagrams++
	} else {
		s.counters.UDP.OutDatagrams++
	}
	return s.ipSendChecksummed(e.sock.ipTTL(), e.sock.tos, src, dst.Addr(), wire.ProtoUDP, b, e.sock.dfPolicy(), why)
}

// udpBroadcast delivers an IPv4 broadcast datagram to every socket it
// matches, as Linux's __udp4_lib_mcast_deliver: each bound to its port
// on the broadcast address or on the any address (a dual-stack [::] one
// too), connected only to its sender if connected at all. None: it is
// counted as IgnoredMulti, with no ICMP error.
func (s *Stack) udpBroadcast(c *udpCounters, name string, src, dst netip.Addr, u wire.UDP, pktID uint64) {
	port := u.DstPort()
	from := netip.AddrPortFrom(src, u.SrcPort())
	delivered := 0
	for _, a := range [...]netip.Addr{dst, netip.IPv4Unspecified(), netip.IPv6Unspecified()} {
		for e := s.udp.bound[netip.AddrPortFrom(a, port)]; e != nil; e = e.next {
			if a.Is6() && e.v6only || e.remote.IsValid() && e.remote != from {
				continue
			}
			delivered++
			if !e.queue.push(&s.dgrams, src, u.SrcPort(), u.Payload()) {
				s.drop(&c.RcvbufErrors, name+"RcvbufErrors", "udp", "receive queue full", pktID)
				continue
			}
			e.sock.notify() // counted in InDatagrams when read
		}
	}
	if delivered == 0 {
		s.drop(&c.IgnoredMulti, name+"IgnoredMulti", "udp", "broadcast to no socket on port "+strconv.Itoa(int(port)), pktID)
	}
}

// ephemeralUDP picks a free ephemeral port (see bindPortUDP).
func (s *Stack) ephemeralUDP() (uint16, error) {
	p, ok := s.bindPortUDP(func(p uint16) bool { return !s.udp.portInUse(p) })
	if !ok {
		return 0, syscall.EADDRINUSE
	}
	return p, nil
}
