package trace

import "net/netip"

// connKey names a TCP connection independent of direction: the endpoint
// that sorts first is a.
type connKey struct {
	a, b netip.AddrPort
}

// half is one direction of a connection.
type half struct {
	base    uint32 // sequence number that shows as 0
	hasBase bool
}

type conn struct {
	dir [2]half // [0]: a → b, [1]: b → a
	ana anaConn
}

// conns tracks relative sequence numbers per connection, as Wireshark
// does: each direction's numbers count from its initial sequence number
// (the SYN shows as seq 0). A direction first seen without a SYN counts
// from the byte before the first sequence number seen, so data starts at
// 1. The table holds at most max connections; when full, the one seen
// first is forgotten. Same input, same output: it is deterministic.
type conns struct {
	m map[connKey]*conn
	// last is the connection looked up last: a bulk transfer asks for
	// the same one again and again, and comparing keys is cheaper than
	// hashing them.
	lastK connKey
	last  *conn
	ring  []connKey // insertion order, for eviction
	next  int
	max   int
	// raw holds the last two segments' wire keys (both directions of a
	// busy connection); see rawFind.
	raw     [2]rawEntry
	rawNext int
}

func newConns(max int) *conns {
	if max <= 0 {
		max = 4096
	}
	return &conns{m: make(map[connKey]*conn), max: max}
}

func addrPortLess(x, y netip.AddrPort) bool {
	if c := x.Addr().Compare(y.Addr()); c != 0 {
		return c < 0
	}
	return x.Port() < y.Port()
}

// relative returns the relative sequence and acknowledgment numbers of a
// segment from src to dst, learning the bases as it goes. syn and ack
// are the segment's SYN and ACK flags.
func (c *conns) relative(src, dst netip.AddrPort, seq, ackNum uint32, syn, ack bool) (rseq, rack uint32) {
	cn, d := c.find(src, dst)
	return c.update(cn, d, seq, ackNum, syn, ack)
}

// find returns the connection from src to dst, added if new, and the
// index of that direction in it.
func (c *conns) find(src, dst netip.AddrPort) (*conn, int) {
	k, d := connKey{src, dst}, 0
	if addrPortLess(dst, src) {
		k, d = connKey{dst, src}, 1
	}
	cn := c.lookup(k)
	if cn == nil {
		cn = c.insert(k)
		c.lastK, c.last = k, cn
	}
	return cn, d
}

// update learns from a segment of direction d of cn and returns its
// relative numbers.
func (c *conns) update(cn *conn, d int, seq, ackNum uint32, syn, ack bool) (rseq, rack uint32) {
	fwd, rev := &cn.dir[d], &cn.dir[1-d]
	switch {
	case syn && !ack && fwd.hasBase && fwd.base != seq:
		// A new SYN with another ISN: a new incarnation of the tuple.
		*cn = conn{}
		fwd.base, fwd.hasBase = seq, true
	case syn && (!fwd.hasBase || fwd.base != seq):
		fwd.base, fwd.hasBase = seq, true
	case !fwd.hasBase:
		fwd.base, fwd.hasBase = seq-1, true
	}
	if ack && !rev.hasBase {
		rev.base, rev.hasBase = ackNum-1, true
	}
	rseq = seq - fwd.base
	if ack {
		rack = ackNum - rev.base
	}
	return rseq, rack
}

// rawKey is a segment's addresses and ports as they are on the wire:
// source and destination address (8 bytes for IPv4, 32 for IPv6, zeros
// after), TCP source and destination port, and the IP version.
type rawKey [37]byte

// rawEntry maps a rawKey to its connection and direction, so that the
// segments of a busy connection skip building and ordering AddrPorts.
type rawEntry struct {
	ok  bool
	key rawKey
	cn  *conn
	d   int
}

// rawFind is find for a segment given by its wire bytes; src and dst
// build the AddrPorts when the key is not among the last two seen.
func (c *conns) rawFind(k *rawKey, src, dst func() netip.AddrPort) (*conn, int) {
	for i := range c.raw {
		if e := &c.raw[i]; e.ok && e.key == *k {
			return e.cn, e.d
		}
	}
	cn, d := c.find(src(), dst())
	c.raw[c.rawNext] = rawEntry{ok: true, key: *k, cn: cn, d: d}
	c.rawNext ^= 1
	return cn, d
}

// base returns the base of the direction from src to dst, for relative
// SACK blocks.
func (c *conns) base(src, dst netip.AddrPort) (uint32, bool) {
	k, d := connKey{src, dst}, 0
	if addrPortLess(dst, src) {
		k, d = connKey{dst, src}, 1
	}
	cn := c.lookup(k)
	if cn == nil {
		return 0, false
	}
	return cn.dir[d].base, cn.dir[d].hasBase
}

// lookup finds the connection k, or nil.
func (c *conns) lookup(k connKey) *conn {
	if c.last != nil && k == c.lastK {
		return c.last
	}
	cn := c.m[k]
	if cn != nil {
		c.lastK, c.last = k, cn
	}
	return cn
}

func (c *conns) insert(k connKey) *conn {
	// The raw entries may point at the connection evicted below.
	c.raw = [2]rawEntry{}
	if len(c.ring) < c.max {
		c.ring = append(c.ring, k)
	} else {
		if c.ring[c.next] == c.lastK {
			c.last = nil
		}
		delete(c.m, c.ring[c.next])
		c.ring[c.next] = k
		c.next = (c.next + 1) % c.max
	}
	cn := &conn{}
	c.m[k] = cn
	return cn
}
