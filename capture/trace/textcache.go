package trace

import (
	"time"

	"stacklab/stack/core"
)

// Frames of one flow repeat most of their text: the Ethernet line, the
// addresses and TTL of the IPv4 line, the ports and flags of the TCP
// line, the names in the header line, and in virtual time often the time
// itself. The text trace keeps the last few of each, keyed by the header
// bytes they are made of, and copies them instead of formatting them
// again. The output is the same byte for byte.

// lineKey holds the header bytes a cached piece of text is made of.
type lineKey [16]byte

// memoSize is the number of entries per cache: both directions of a
// couple of flows, or a flow seen at both ends.
const memoSize = 4

// memo maps a few keys to text, replacing entries round robin. Every
// cache of formatted text in this package is one.
type memo[K comparable] struct {
	ent  [memoSize]memoEntry[K]
	next int
}

type memoEntry[K comparable] struct {
	ok   bool
	key  K
	text []byte
}

// lineCache maps header bytes to the text made of them.
type lineCache = memo[lineKey]

// get returns the text cached for k.
func (c *memo[K]) get(k *K) ([]byte, bool) {
	for i := range c.ent {
		e := &c.ent[i]
		if e.ok && e.key == *k {
			return e.text, true
		}
	}
	return nil, false
}

// put caches text for k. The entry's buffer is reused, so this allocates
// only while the cache fills.
func (c *memo[K]) put(k *K, text []byte) {
	e := &c.ent[c.next]
	c.next = (c.next + 1) % memoSize
	e.ok, e.key = true, *k
	e.text = append(e.text[:0], text...)
}

// reset forgets every entry (the names they were made with changed).
func (c *memo[K]) reset() {
	for i := range c.ent {
		c.ent[i].ok = false
	}
}

// numMemo remembers the text of the last two values of one field (the
// two directions of a flow: 1514 and 66 bytes, a window, a timestamp).
type numMemo struct {
	v    [2]uint64
	n    [2]uint8
	b    [2][20]byte
	ok   [2]bool
	next uint8
}

// append appends v in decimal.
func (m *numMemo) append(b []byte, v uint64) []byte {
	for i := range m.v {
		if m.ok[i] && m.v[i] == v {
			return append(b, m.b[i][:m.n[i]]...)
		}
	}
	start := len(b)
	b = appendUint(b, v)
	i := m.next
	m.next ^= 1
	m.ok[i], m.v[i], m.n[i] = true, v, uint8(copy(m.b[i][:], b[start:]))
	return b
}

// Fields whose values repeat from frame to frame.
const (
	numSize = iota
	numIPLen
	numAck
	numWin
	numLen
	numTSVal
	numTSEcr
	numAckRaw    // JSON only
	numWinScaled // JSON only
	numFields
)

// textCache is the text trace's set of caches.
type textCache struct {
	num                [numFields]numMemo
	eth, ip, tcp, ends lineCache
	time               timeMemo
}

// timeMemo remembers the time formatted last: in virtual time many
// frames share one.
type timeMemo struct {
	ok bool
	d  time.Duration
	b  [24]byte
	n  int
}

// append appends format(d), copied when d is the time formatted last.
func (m *timeMemo) append(b []byte, d time.Duration, format func([]byte, time.Duration) []byte) []byte {
	if m.ok && d == m.d {
		return append(b, m.b[:m.n]...)
	}
	start := len(b)
	b = format(b, d)
	if n := len(b) - start; n <= len(m.b) {
		m.ok, m.d, m.n = true, d, copy(m.b[:], b[start:])
	}
	return b
}

// jsonCache is the JSON trace's set of caches: the Ethernet, IPv4 and
// TCP objects' fixed parts and the names of the ends (as the text
// trace's), a frame line's head (type, vantage and direction), its note,
// the end of its IPv4 object, a series event's head, the numbers that
// repeat, and the last time.
type jsonCache struct {
	eth, ip, tcp, ends lineCache
	head               memo[headKey]
	note               memo[string]
	ipTail             lineCache
	series             memo[seriesKey]
	num                [numFields]numMemo
	vars               [varFields]numMemo
	time               timeMemo
}

// headKey is what a frame line's head is made of.
type headKey struct {
	vantage string
	dir     Dir
}

// seriesKey is what a series event's head is made of: the event has no
// other field but its time and variables.
type seriesKey struct {
	host  string
	kind  core.EventKind
	fd    int
	proto string
	conn  core.Tuple
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// The congestion variables of a series event, each remembered.
const (
	varCwnd = iota
	varSsthresh
	varSRTT
	varRTTVar
	varRTO
	varInFlight
	varRwnd
	varSndWnd
	varFields
)
