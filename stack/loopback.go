package stack

import (
	"net"
	"net/netip"

	"stacklab/stack/ipv4"
)

// The loopback interface. Every stack has one, named "lo", with
// 127.0.0.1/8, as Linux does: datagrams to 127.0.0.0/8 and to any of the
// stack's own addresses go out of it and come straight back in, never
// onto a link. Like Linux's lo it carries Ethernet frames with zero
// addresses, has an MTU of 65536 (IPv4 packets stop at 65535, so TCP's
// MSS is 65495 over IPv4; IPv6's header is outside its payload length,
// so a whole 65536 bytes go, an MSS of 65476), and a capture
// sees each frame once, received. Frames wait in order in a queue
// bounded as Linux's netdev_max_backlog, and are delivered before the
// entry that sent them (a call, a frame, a timer) releases the stack's
// lock (stackMutex.Unlock), as Linux's softirq runs before the system
// call returns. Every sender holds the lock, so nothing else drains it.

// loopbackName is the loopback interface's name.
const loopbackName = "lo"

// loopbackMTU is lo's MTU, as Linux's; other interfaces stop at 65535.
const loopbackMTU = 65536

// loopbackBacklog bounds the frames waiting on lo (netdev_max_backlog).
const loopbackBacklog = 1000

// loopback is the queue behind the lo interface.
type loopback struct {
	q    []loFrame // frames q[head:] wait; q keeps its storage between drains
	head int
	free [][]byte // recycled frame buffers
}

type loFrame struct {
	id   uint64
	data []byte
	note string
}

// newLoopback makes the stack's lo interface; it is not in s.nics.
func (s *Stack) newLoopback() *NIC {
	n := &NIC{stack: s, loop: true, index: -1}
	n.cfg = NICConfig{
		Name: loopbackName,
		Type: LinkEthernet,
		MAC:  net.HardwareAddr{0, 0, 0, 0, 0, 0},
		Addr: netip.MustParsePrefix("127.0.0.1/8"),
		MTU:  loopbackMTU,
	}
	n.bcast = ipv4.DirectedBroadcast(n.cfg.Addr)
	n.addrs6 = []netip.Prefix{netip.PrefixFrom(ip6Loopback, 128)}
	return n
}

// Loopback returns the stack's loopback interface, "lo".
func (s *Stack) Loopback() *NIC { return s.lo }

// loopbackSend queues a frame sent out of lo, with the lock held.
func (s *Stack) loopbackSend(pkt Packet, note string) {
	l := &s.loq
	if len(l.q)-l.head >= loopbackBacklog {
		s.drop(&s.counters.Link.LoopbackDrops, "link.LoopbackDrops", "eth", "loopback backlog full", pkt.ID)
		return
	}
	var buf []byte
	if k := len(l.free); k > 0 {
		buf, l.free = l.free[k-1][:0], l.free[:k-1]
	}
	l.q = append(l.q, loFrame{id: pkt.ID, data: append(buf, pkt.Data...), note: note})
}

// loopbackDrainLocked delivers the queued frames in order, including
// those their delivery queues, until none is left; the lock is held
// (stackMutex.Unlock calls it).
func (s *Stack) loopbackDrainLocked() {
	l := &s.loq
	if s.destroyed {
		clear(l.q)
		l.q, l.head = l.q[:0], 0
		return
	}
	for l.head < len(l.q) {
		f := l.q[l.head]
		l.q[l.head] = loFrame{}
		l.head++
		// Each frame reads the clock afresh, as one from a NIC does:
		// the chain an exchange over lo makes is all one entry.
		s.mu.clockHeld = false
		s.deliverLocked(s.lo, Packet{ID: f.id, Data: f.data}, f.note)
		if len(l.free) < 16 {
			l.free = append(l.free, f.data)
		}
	}
	l.q, l.head = l.q[:0], 0
}
