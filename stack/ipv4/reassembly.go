package ipv4

import (
	"errors"
	"net/netip"
	"sort"
	"time"

	"stacklab/stack/wire"
)

// Config bounds a [Reassembler]. Zero fields take the defaults beside
// them.
type Config struct {
	// Timeout is how long a datagram may wait for its missing fragments,
	// counted from its first fragment; default 30s as in Linux
	// (RFC 1122 §3.3.2 recommends 60 s to 120 s, RFC 791 15 s).
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
}

// Reasons a fragment or a datagram is dropped, returned by
// [Reassembler.Add]. They are comparable sentinels, so the stack can
// count drops by reason.
var (
	// ErrBadFragment means a fragment that cannot be part of a valid
	// datagram: not a multiple of 8 bytes with MF set, past 65535 bytes,
	// or disagreeing with the datagram's known end. An inconsistent end
	// also discards the datagram.
	ErrBadFragment = errors.New("ipv4: malformed fragment")
	// ErrOverlap means a fragment that overlaps one already received
	// without being its exact duplicate; the whole datagram is discarded,
	// as RFC 5722 §4 requires for IPv6 and Linux does for IPv4.
	ErrOverlap = errors.New("ipv4: overlapping fragment; datagram discarded")
	// ErrDuplicate means an exact copy of a fragment already received; it
	// is dropped and the datagram kept.
	ErrDuplicate = errors.New("ipv4: duplicate fragment")
	// ErrNoMemory means accepting the fragment would exceed
	// Config.MaxBytes even with every other datagram evicted; the
	// fragment is dropped.
	ErrNoMemory = errors.New("ipv4: reassembly memory limit reached")
	// ErrTooManyFragments means the datagram exceeded
	// Config.MaxFragments; it is discarded.
	ErrTooManyFragments = errors.New("ipv4: too many fragments in one datagram; datagram discarded")
	// ErrTooBig means the reassembled datagram would exceed 65535 bytes;
	// it is discarded.
	ErrTooBig = errors.New("ipv4: reassembled datagram longer than 65535 bytes; datagram discarded")
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

// key identifies a datagram (RFC 791 §3.2: source, destination, protocol
// and identification).
type key struct {
	src, dst netip.Addr
	id       uint16
	proto    uint8
}

type span struct{ start, end int }

// headroom is the space kept before the data for the header.
const headroom = wire.IPv4MaxHeaderLen

type datagram struct {
	key     key
	created time.Time
	hdrLen  int    // header length of the offset-0 fragment; 0 until it arrives
	total   int    // payload length once the last fragment arrived, else -1
	frags   []span // sorted by start, never overlapping
	held    int    // payload bytes received
	extent  int    // payload bytes the buffer spans: the furthest end received
	buf     []byte // headroom, then the payload at its offsets
}

// Reassembler puts fragmented IPv4 datagrams back together. The zero
// value is not usable; call [NewReassembler].
type Reassembler struct {
	cfg      Config
	byKey    map[key]*datagram
	order    []*datagram // by creation time, oldest first
	free     []*datagram
	done     *datagram // handed out by the last call; recycled on the next
	held     int       // payload bytes received, all datagrams
	mem      int       // extents, all datagrams: what MaxBytes bounds
	counters Counters
}

// maxFree bounds the recycled datagrams kept with their buffers.
const maxFree = 8

// NewReassembler returns an empty reassembler configured by cfg.
func NewReassembler(cfg Config) *Reassembler {
	cfg.setDefaults()
	return &Reassembler{cfg: cfg, byKey: make(map[key]*datagram)}
}

// Config returns the configuration in use, defaults filled in.
func (r *Reassembler) Config() Config { return r.cfg }

// Counters returns a copy of the counters.
func (r *Reassembler) Counters() Counters { return r.counters }

// Len returns the number of datagrams waiting for fragments.
func (r *Reassembler) Len() int { return len(r.order) }

// Held returns the fragment payload bytes held.
func (r *Reassembler) Held() int { return r.held }

// Add takes one received, validated IPv4 packet (see wire.ParseIPv4).
// A packet that is not a fragment is returned as it is, without
// allocating. A fragment is copied in; when it completes its datagram,
// Add returns the whole datagram, with the header of the first fragment,
// its total length set, MF and the offset cleared and the checksum
// recomputed; the returned bytes belong to the Reassembler and stay valid
// until the next call to Add or Expire. Otherwise Add returns nil, and an
// error that says why the fragment was dropped, or nil if it is waiting
// for the rest.
func (r *Reassembler) Add(pkt wire.IPv4, now time.Time) (wire.IPv4, error) {
	if !pkt.IsFragment() {
		return pkt, nil
	}
	r.recycleDone()
	r.counters.ReasmReqds++
	data := pkt.Payload()
	start := int(pkt.FragmentOffset())
	end := start + len(data)
	more := pkt.More()
	// RFC 791 §3.2: every fragment but the last carries a multiple of 8
	// bytes; nothing may lie past 65535 bytes of datagram.
	if (more && (len(data) == 0 || len(data)%8 != 0)) || end > wire.IPv4MaxTotalLen-wire.IPv4MinHeaderLen {
		return nil, r.fail(&r.counters.BadFragments, ErrBadFragment)
	}
	k := key{src: pkt.Src(), dst: pkt.Dst(), id: pkt.ID(), proto: pkt.Protocol()}
	d := r.byKey[k]
	if d == nil {
		for len(r.order) > 0 && (len(r.order) >= r.cfg.MaxDatagrams || r.mem+end > r.cfg.MaxBytes) {
			r.evict(r.order[0])
		}
		if r.mem+end > r.cfg.MaxBytes {
			return nil, r.fail(&r.counters.MemoryDrops, ErrNoMemory)
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
			return nil, r.fail(&r.counters.MemoryDrops, ErrNoMemory)
		}
	}

	// The end of the datagram, once known, must agree with every fragment.
	if !more {
		if (d.total >= 0 && d.total != end) || (len(d.frags) > 0 && d.frags[len(d.frags)-1].end > end) {
			r.discard(d)
			return nil, r.fail(&r.counters.BadFragments, ErrBadFragment)
		}
	} else if d.total >= 0 && end > d.total {
		r.discard(d)
		return nil, r.fail(&r.counters.BadFragments, ErrBadFragment)
	}

	// Find the place of [start, end) among the received spans.
	i := sort.Search(len(d.frags), func(i int) bool { return d.frags[i].start >= start })
	if i < len(d.frags) && d.frags[i].start == start && d.frags[i].end == end {
		return nil, r.fail(&r.counters.Duplicates, ErrDuplicate)
	}
	if (i > 0 && d.frags[i-1].end > start) || (i < len(d.frags) && d.frags[i].start < end) ||
		(i < len(d.frags) && d.frags[i].start == start) {
		r.discard(d)
		return nil, r.fail(&r.counters.Overlaps, ErrOverlap)
	}
	if len(d.frags) >= r.cfg.MaxFragments {
		r.discard(d)
		return nil, r.fail(&r.counters.MemoryDrops, ErrTooManyFragments)
	}
	if start == 0 && end == 0 && !more && len(d.frags) == 0 && d.total < 0 {
		// An empty last fragment at offset 0 is no fragment at all.
		r.discard(d)
		return nil, r.fail(&r.counters.BadFragments, ErrBadFragment)
	}
	d.frags = append(d.frags, span{})
	copy(d.frags[i+1:], d.frags[i:])
	d.frags[i] = span{start, end}

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
		hl := pkt.HeaderLen()
		d.hdrLen = hl
		copy(d.buf[headroom-hl:], pkt[:hl])
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
		return nil, nil
	}
	// Complete: the spans do not overlap and add up to the total.
	r.remove(d)
	if d.hdrLen+d.total > wire.IPv4MaxTotalLen {
		r.recycle(d)
		return nil, r.fail(&r.counters.MemoryDrops, ErrTooBig)
	}
	out := wire.IPv4(d.buf[headroom-d.hdrLen : headroom+d.total])
	out.SetTotalLen(uint16(len(out)))
	out.SetFlagsFragment(out.DF(), false, 0)
	out.SetChecksum()
	r.counters.ReasmOKs++
	r.done = d
	return out, nil
}

// fail counts a failure with its reason and returns err.
func (r *Reassembler) fail(reason *uint64, err error) error {
	*reason++
	r.counters.ReasmFails++
	return err
}

func (r *Reassembler) newDatagram(k key, now time.Time) *datagram {
	var d *datagram
	if n := len(r.free); n > 0 {
		d = r.free[n-1]
		r.free = r.free[:n-1]
	} else {
		d = new(datagram)
	}
	*d = datagram{key: k, created: now, total: -1, frags: d.frags[:0], buf: d.buf[:0]}
	r.byKey[k] = d
	r.order = append(r.order, d)
	return d
}

// remove takes d out of the tables and releases its bytes from the
// memory count, keeping its buffer.
func (r *Reassembler) remove(d *datagram) {
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

func (r *Reassembler) recycle(d *datagram) {
	if len(r.free) < maxFree {
		r.free = append(r.free, d)
	}
}

// evict discards an incomplete datagram to make room, counting it.
func (r *Reassembler) evict(d *datagram) {
	r.counters.Evictions++
	r.counters.ReasmFails++
	r.discard(d)
}

// discard drops a datagram and every fragment of it.
func (r *Reassembler) discard(d *datagram) {
	r.remove(d)
	r.recycle(d)
}

func (r *Reassembler) recycleDone() {
	if r.done != nil {
		r.recycle(r.done)
		r.done = nil
	}
}

// NextDeadline returns when the oldest datagram times out, and false if
// none is waiting.
func (r *Reassembler) NextDeadline() (time.Time, bool) {
	if len(r.order) == 0 {
		return time.Time{}, false
	}
	return r.order[0].created.Add(r.cfg.Timeout), true
}

// Expire discards the datagrams that have waited Config.Timeout or more
// at now, calling timedOut, if not nil, once for each, so the caller can
// count and trace every drop. first is the datagram's first fragment
// (offset 0) as received, so the caller can send ICMP time exceeded,
// code 1 "fragment reassembly time exceeded" (RFC 792, RFC 1122 §3.3.2);
// it is nil when the first fragment never arrived, and then no ICMP is
// due. first is valid only during the call. Datagrams are visited oldest
// first.
func (r *Reassembler) Expire(now time.Time, timedOut func(first wire.IPv4)) {
	r.recycleDone()
	for len(r.order) > 0 && !now.Before(r.order[0].created.Add(r.cfg.Timeout)) {
		d := r.order[0]
		r.counters.Timeouts++
		r.counters.ReasmFails++
		if timedOut != nil {
			var first wire.IPv4
			if d.hdrLen > 0 {
				f := d.frags[0] // sorted: the span at offset 0
				first = wire.IPv4(d.buf[headroom-d.hdrLen : headroom+f.end])
			}
			timedOut(first)
		}
		r.discard(d)
	}
}
