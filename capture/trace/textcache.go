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

// lineCacheSize is the number of entries per cache: both directions of a
// couple of flows.
const lineCacheSize = 4

// lineCache maps a few keys to text, replacing entries round robin.
type lineCache struct {
	ent  [lineCacheSize]lineEntry
	next int
}

type lineEntry struct {
	ok   bool
	key  lineKey
	text []byte
}

// get returns the text cached for k.
func (c *lineCache) get(k *lineKey) ([]byte, bool) {
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
func (c *lineCache) put(k *lineKey, text []byte) {
	e := &c.ent[c.next]
	c.next = (c.next + 1) % lineCacheSize
	e.ok, e.key = true, *k
	e.text = append(e.text[:0], text...)
}

// reset forgets every entry (the names they were made with changed).
func (c *lineCache) reset() {
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
	// The time formatted last.
	timeOK bool
	timeD  time.Duration
	timeB  [24]byte
	timeN  int
}

// appendTime is appendTime with the last time remembered.
func (c *textCache) appendTime(b []byte, d time.Duration) []byte {
	if c.timeOK && d == c.timeD {
		return append(b, c.timeB[:c.timeN]...)
	}
	start := len(b)
	b = appendTime(b, d)
	if n := len(b) - start; n <= len(c.timeB) {
		c.timeOK, c.timeD, c.timeN = true, d, copy(c.timeB[:], b[start:])
	}
	return b
}

// jsonCache is the JSON trace's set of caches beyond jcache's: a frame
// line's head (type, vantage and direction), the end of its IPv4 object,
// the numbers that repeat, and the last time.
type jsonCache struct {
	head   headMemo
	note   noteMemo
	ipTail lineCache
	num    [numFields]numMemo
	series seriesMemo
	vars   [varFields]numMemo
	timeOK bool
	timeD  time.Duration
	timeB  [24]byte
	timeN  int
}

// headMemo remembers a frame line's head for the last four vantage points
// and directions: a flow seen at both ends is four.
type headMemo struct {
	ent  [4]headEntry
	next int
}

type headEntry struct {
	ok      bool
	vantage string
	dir     Dir
	text    []byte
}

func (m *headMemo) get(vantage string, dir Dir) []byte {
	for i := range m.ent {
		if e := &m.ent[i]; e.ok && e.dir == dir && e.vantage == vantage {
			return e.text
		}
	}
	return nil
}

func (m *headMemo) put(vantage string, dir Dir, text []byte) {
	e := &m.ent[m.next]
	m.next = (m.next + 1) % len(m.ent)
	e.ok, e.vantage, e.dir = true, vantage, dir
	e.text = append(e.text[:0], text...)
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

// seriesMemo remembers the head of a series event's line for the last
// two connections (their hosts, descriptors and tuples).
type seriesMemo struct {
	ent  [2]seriesEntry
	next int
}

type seriesEntry struct {
	ok    bool
	host  string
	kind  core.EventKind
	fd    int
	proto string
	conn  core.Tuple
	text  []byte
}

func (m *seriesMemo) get(ev *core.Event) []byte {
	for i := range m.ent {
		e := &m.ent[i]
		if e.ok && e.kind == ev.Kind && e.fd == ev.FD && e.conn == ev.Conn && e.host == ev.Host && e.proto == ev.Proto {
			return e.text
		}
	}
	return nil
}

func (m *seriesMemo) put(ev *core.Event, text []byte) {
	e := &m.ent[m.next]
	m.next ^= 1
	e.ok, e.host, e.kind, e.fd, e.proto, e.conn = true, ev.Host, ev.Kind, ev.FD, ev.Proto, ev.Conn
	e.text = append(e.text[:0], text...)
}

// noteMemo remembers the last two notes as JSON strings.
type noteMemo struct {
	note [2]string
	text [2][]byte
	next int
}

// append appends s as a JSON string.
func (m *noteMemo) append(b []byte, s string) []byte {
	for i := range m.note {
		if m.text[i] != nil && m.note[i] == s {
			return append(b, m.text[i]...)
		}
	}
	start := len(b)
	b = appendJSONString(b, s)
	i := m.next
	m.next ^= 1
	m.note[i], m.text[i] = s, append(m.text[i][:0], b[start:]...)
	return b
}
