// Package reasm puts fragmented datagrams back together, for IPv4 (RFC
// 791 §3.2, RFC 815) and IPv6 (RFC 8200 §4.5): the fragments of each
// datagram are kept in one buffer at their offsets, bounded in datagrams,
// fragments and bytes, overlaps discard the whole datagram (RFC 5722),
// and datagrams that wait too long are expired, oldest first. What is
// particular to a protocol (its key, its header, how the whole datagram's
// header is fixed up) stays with its caller: package ipv4 and the stack's
// IPv6 input.
package reasm

import (
	"errors"
	"sort"
	"time"
)

// Config bounds a [Queue]. Zero fields take the defaults beside them.
type Config struct {
	// Timeout is how long a datagram may wait for its missing fragments,
	// counted from its first fragment; default 30s (Linux's
	// ipfrag_time; its ip6frag_time is 60 s).
	Timeout time.Duration
	// MaxBytes bounds the memory held for all datagrams together;
	// default 4 MiB (Linux's ipfrag_high_thresh). A datagram is charged
	// for the span from its offset 0 to the end of its furthest fragment,
	// which its buffer must hold, not only for the bytes received: one
	// 8-byte fragment at offset 65000 costs 65 KB.
	MaxBytes int
	// MaxDatagrams bounds the datagrams reassembled at once; default 256.
	// When it or MaxBytes is reached, the oldest incomplete datagram is
	// evicted to make room for a new one, so that a flood of fragments
	// that never complete cannot lock reassembly for a whole Timeout.
	// (Linux has no count bound and refuses new fragments once past
	// ipfrag_high_thresh; 4 MiB holds some 1,800 such datagrams there.)
	MaxDatagrams int
	// MaxFragments bounds the fragments of one datagram; default 2048,
	// enough for a 64 KiB datagram over the minimum MTU of 68 bytes.
	MaxFragments int
	// MaxEnd is the furthest a fragment may reach, in bytes of the
	// fragmentable part; default 65535.
	MaxEnd int
	// MaxTotal bounds the whole datagram, header and data; default 65535.
	MaxTotal int
	// Headroom is the longest header kept from the first fragment;
	// default 60 (IPv4's longest header). A longer one is ErrBadFragment.
	Headroom int
}

func (c *Config) setDefaults() {
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 4 << 20
	}
	if c.MaxDatagrams <= 0 {
		c.MaxDatagrams = 256
	}
	if c.MaxFragments <= 0 {
		c.MaxFragments = 2048
	}
	if c.MaxEnd <= 0 {
		c.MaxEnd = 65535
	}
	if c.MaxTotal <= 0 {
		c.MaxTotal = 65535
	}
	if c.Headroom <= 0 {
		c.Headroom = 60
	}
}

// Reasons a fragment or a datagram is dropped, returned by [Queue.Add].
// They are comparable sentinels, so a stack can count drops by reason.
var (
	// ErrBadFragment means a fragment that cannot be part of a valid
	// datagram: not a multiple of 8 bytes with more to follow, past
	// Config.MaxEnd, or disagreeing with the datagram's known end. An
	// inconsistent end also discards the datagram.
	ErrBadFragment = errors.New("malformed fragment")
	// ErrOverlap means a fragment that overlaps one already received
	// without being its exact duplicate; the whole datagram is discarded,
	// as RFC 5722 §4 requires for IPv6 and Linux does for IPv4.
	ErrOverlap = errors.New("overlapping fragment; datagram discarded")
	// ErrDuplicate means an exact copy of a fragment already received; it
	// is dropped and the datagram kept.
	ErrDuplicate = errors.New("duplicate fragment")
	// ErrNoMemory means accepting the fragment would exceed
	// Config.MaxBytes even with every other datagram evicted; the
	// fragment is dropped.
	ErrNoMemory = errors.New("reassembly memory limit reached")
	// ErrTooManyFragments means the datagram exceeded
	// Config.MaxFragments; it is discarded.
	ErrTooManyFragments = errors.New("too many fragments in one datagram; datagram discarded")
	// ErrTooBig means the reassembled datagram would exceed
	// Config.MaxTotal; it is discarded.
	ErrTooBig = errors.New("reassembled datagram too long; datagram discarded")
)

// Counters follow the SNMP names of RFC 4293 (ipSystemStatsReasm*), with
// the failures split by reason.
type Counters struct {
	ReasmReqds   uint64 // fragments received
	ReasmOKs     uint64 // datagrams reassembled
	ReasmFails   uint64 // datagrams discarded or fragments dropped, any reason
	Timeouts     uint64 // datagrams discarded by Expire
	Overlaps     uint64
	Duplicates   uint64
	BadFragments uint64
	MemoryDrops  uint64 // ErrNoMemory, ErrTooManyFragments, ErrTooBig
	// Evictions counts incomplete datagrams discarded, oldest first, to
	// make room for a new one when MaxDatagrams or MaxBytes is reached.
	Evictions uint64
}

// Fragment is one fragment as its protocol sees it.
type Fragment struct {
	Start int    // offset of Data in the fragmentable part, in bytes
	Data  []byte // the fragment's part of the fragmentable part
	More  bool   // more fragments follow (IPv4's MF, IPv6's M)
	// Header is what precedes the fragmentable part; the first
	// fragment's (Start 0) is kept to head the whole datagram.
	Header []byte
	// Proto is kept from the first fragment (IPv6's Next Header, which
	// may differ between fragments: RFC 8200 §4.5 uses the first's) and,
	// if ProtoAt > 0, written at that offset of the whole datagram's
	// header.
	Proto   uint8
	ProtoAt int
}

// Datagram is a whole datagram handed out by [Queue.Add]: the first
// fragment's header, then the data. Its bytes belong to the Queue and
// stay valid until the next call to Add or Expire.
type Datagram struct {
	Bytes     []byte
	HeaderLen int
	Proto     uint8
}

type span struct{ start, end int }

type datagram[K comparable] struct {
	key     K
	created time.Time
	hdrLen  int    // header length of the offset-0 fragment; 0 until it arrives
	proto   uint8  // the offset-0 fragment's Proto
	protoAt int    // and its ProtoAt
	total   int    // payload length once the last fragment arrived, else -1
	frags   []span // sorted by start, never overlapping
	held    int    // payload bytes received
	extent  int    // payload bytes the buffer spans: the furthest end received
	buf     []byte // headroom, then the payload at its offsets
}

// Queue puts fragmented datagrams back together, each named by a key of
// type K (for IPv4 source, destination, protocol and identification; for
// IPv6 source, destination and identification). The zero value is not
// usable; call [New].
type Queue[K comparable] struct {
	cfg      Config
	byKey    map[K]*datagram[K]
	order    []*datagram[K] // by creation time, oldest first
	free     []*datagram[K]
	done     *datagram[K] // handed out by the last call; recycled on the next
	held     int          // payload bytes received, all datagrams
	mem      int          // extents, all datagrams: what MaxBytes bounds
	counters Counters
}

// maxFree bounds the recycled datagrams kept with their buffers.
const maxFree = 8

// New returns an empty queue configured by cfg.
func New[K comparable](cfg Config) *Queue[K] {
	cfg.setDefaults()
	return &Queue[K]{cfg: cfg, byKey: make(map[K]*datagram[K])}
}

// Config returns the configuration in use, defaults filled in.
func (r *Queue[K]) Config() Config { return r.cfg }

// Counters returns a copy of the counters.
func (r *Queue[K]) Counters() Counters { return r.counters }

// Len returns the number of datagrams waiting for fragments.
func (r *Queue[K]) Len() int { return len(r.order) }

// Held returns the fragment payload bytes held.
func (r *Queue[K]) Held() int { return r.held }

// Charged returns the bytes charged against Config.MaxBytes: each
// datagram's span from offset 0 to its furthest fragment.
func (r *Queue[K]) Charged() int { return r.mem }

// Add copies one fragment in. When it completes its datagram, Add
// returns the whole datagram (the caller fixes up its header); otherwise
// a zero Datagram, and an error that says why the fragment was dropped,
// or nil if it is waiting for the rest.
func (r *Queue[K]) Add(k K, f Fragment, now time.Time) (Datagram, error) {
	r.recycleDone()
	r.counters.ReasmReqds++
	data := f.Data
	start := f.Start
	end := start + len(data)
	more := f.More
	// Every fragment but the last carries a multiple of 8 bytes; nothing
	// may lie past MaxEnd.
	if (more && (len(data) == 0 || len(data)%8 != 0)) || start%8 != 0 || end > r.cfg.MaxEnd ||
		(start == 0 && len(f.Header) > r.cfg.Headroom) {
		return Datagram{}, r.fail(&r.counters.BadFragments, ErrBadFragment)
	}
	d := r.byKey[k]
	if d == nil {
		for len(r.order) > 0 && (len(r.order) >= r.cfg.MaxDatagrams || r.mem+end > r.cfg.MaxBytes) {
			r.evict(r.order[0])
		}
		if r.mem+end > r.cfg.MaxBytes {
			return Datagram{}, r.fail(&r.counters.MemoryDrops, ErrNoMemory)
		}
		d = r.newDatagram(k, now)
	} else {
		for i := 0; i < len(r.order) && r.mem+max(end-d.extent, 0) > r.cfg.MaxBytes; {
			if e := r.order[i]; e != d {
				r.evict(e)
			} else {
				i++
			}
		}
		if r.mem+max(end-d.extent, 0) > r.cfg.MaxBytes {
			return Datagram{}, r.fail(&r.counters.MemoryDrops, ErrNoMemory)
		}
	}

	// The end of the datagram, once known, must agree with every fragment.
	if !more {
		if (d.total >= 0 && d.total != end) || (len(d.frags) > 0 && d.frags[len(d.frags)-1].end > end) {
			r.discard(d)
			return Datagram{}, r.fail(&r.counters.BadFragments, ErrBadFragment)
		}
	} else if d.total >= 0 && end > d.total {
		r.discard(d)
		return Datagram{}, r.fail(&r.counters.BadFragments, ErrBadFragment)
	}

	// Find the place of [start, end) among the received spans.
	i := sort.Search(len(d.frags), func(i int) bool { return d.frags[i].start >= start })
	if i < len(d.frags) && d.frags[i].start == start && d.frags[i].end == end {
		return Datagram{}, r.fail(&r.counters.Duplicates, ErrDuplicate)
	}
	if (i > 0 && d.frags[i-1].end > start) || (i < len(d.frags) && d.frags[i].start < end) ||
		(i < len(d.frags) && d.frags[i].start == start) {
		r.discard(d)
		return Datagram{}, r.fail(&r.counters.Overlaps, ErrOverlap)
	}
	if len(d.frags) >= r.cfg.MaxFragments {
		r.discard(d)
		return Datagram{}, r.fail(&r.counters.MemoryDrops, ErrTooManyFragments)
	}
	if start == 0 && end == 0 && !more && len(d.frags) == 0 && d.total < 0 {
		// An empty last fragment at offset 0 is no fragment at all.
		r.discard(d)
		return Datagram{}, r.fail(&r.counters.BadFragments, ErrBadFragment)
	}
	d.frags = append(d.frags, span{})
	copy(d.frags[i+1:], d.frags[i:])
	d.frags[i] = span{start, end}

	headroom := r.cfg.Headroom
	if need := headroom + end; need > len(d.buf) {
		if need > cap(d.buf) {
			nb := make([]byte, need, max(need, 2*cap(d.buf), headroom+1500))
			copy(nb, d.buf)
			d.buf = nb
		}
		d.buf = d.buf[:need]
	}
	copy(d.buf[headroom+start:], data)
	if start == 0 {
		d.hdrLen = len(f.Header)
		d.proto, d.protoAt = f.Proto, f.ProtoAt
		copy(d.buf[headroom-d.hdrLen:], f.Header)
	}
	if !more {
		d.total = end
	}
	d.held += len(data)
	r.held += len(data)
	if end > d.extent {
		r.mem += end - d.extent
		d.extent = end
	}

	if d.total < 0 || d.held != d.total {
		return Datagram{}, nil
	}
	// Complete: the spans do not overlap and add up to the total.
	r.remove(d)
	if d.hdrLen+d.total > r.cfg.MaxTotal {
		r.recycle(d)
		return Datagram{}, r.fail(&r.counters.MemoryDrops, ErrTooBig)
	}
	r.counters.ReasmOKs++
	r.done = d
	whole := d.buf[headroom-d.hdrLen : headroom+d.total]
	if d.protoAt > 0 && d.protoAt < d.hdrLen {
		whole[d.protoAt] = d.proto
	}
	return Datagram{Bytes: whole, HeaderLen: d.hdrLen, Proto: d.proto}, nil
}

// fail counts a failure with its reason and returns err.
func (r *Queue[K]) fail(reason *uint64, err error) error {
	*reason++
	r.counters.ReasmFails++
	return err
}

func (r *Queue[K]) newDatagram(k K, now time.Time) *datagram[K] {
	var d *datagram[K]
	if n := len(r.free); n > 0 {
		d = r.free[n-1]
		r.free = r.free[:n-1]
	} else {
		d = new(datagram[K])
	}
	*d = datagram[K]{key: k, created: now, total: -1, frags: d.frags[:0], buf: d.buf[:0]}
	r.byKey[k] = d
	r.order = append(r.order, d)
	return d
}

// remove takes d out of the tables and releases its bytes from the
// memory count, keeping its buffer.
func (r *Queue[K]) remove(d *datagram[K]) {
	delete(r.byKey, d.key)
	for i, e := range r.order {
		if e == d {
			copy(r.order[i:], r.order[i+1:])
			r.order[len(r.order)-1] = nil
			r.order = r.order[:len(r.order)-1]
			break
		}
	}
	r.held -= d.held
	r.mem -= d.extent
	d.held, d.extent = 0, 0
}

func (r *Queue[K]) recycle(d *datagram[K]) {
	if len(r.free) < maxFree {
		r.free = append(r.free, d)
	}
}

// evict discards an incomplete datagram to make room, counting it.
func (r *Queue[K]) evict(d *datagram[K]) {
	r.counters.Evictions++
	r.counters.ReasmFails++
	r.discard(d)
}

// discard drops a datagram and every fragment of it.
func (r *Queue[K]) discard(d *datagram[K]) {
	r.remove(d)
	r.recycle(d)
}

func (r *Queue[K]) recycleDone() {
	if r.done != nil {
		r.recycle(r.done)
		r.done = nil
	}
}

// NextDeadline returns when the oldest datagram times out, and false if
// none is waiting.
func (r *Queue[K]) NextDeadline() (time.Time, bool) {
	if len(r.order) == 0 {
		return time.Time{}, false
	}
	return r.order[0].created.Add(r.cfg.Timeout), true
}

// Expire discards the datagrams that have waited Config.Timeout or more
// at now, calling timedOut, if not nil, once for each, so the caller can
// count and trace every drop. first is the datagram's first fragment
// (offset 0) as received, header and data, so the caller can send ICMP
// time exceeded, code 1 "fragment reassembly time exceeded" (RFC 792,
// RFC 1122 §3.3.2, RFC 8200 §4.5); it is nil when the first fragment
// never arrived, and then no ICMP is due. first is valid only during the
// call. Datagrams are visited oldest first.
func (r *Queue[K]) Expire(now time.Time, timedOut func(first []byte)) {
	headroom := r.cfg.Headroom
	r.recycleDone()
	for len(r.order) > 0 && !now.Before(r.order[0].created.Add(r.cfg.Timeout)) {
		d := r.order[0]
		r.counters.Timeouts++
		r.counters.ReasmFails++
		if timedOut != nil {
			var first []byte
			if d.hdrLen > 0 {
				f := d.frags[0] // sorted: the span at offset 0
				first = d.buf[headroom-d.hdrLen : headroom+f.end]
			}
			timedOut(first)
		}
		r.discard(d)
	}
}
