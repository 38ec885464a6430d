package ipv4

import (
	"net/netip"
	"time"

	"stacklab/stack/reasm"
	"stacklab/stack/wire"
)

// Config bounds a [Reassembler]: see [reasm.Config]. Zero fields take
// the defaults (30 s, 4 MiB, 256 datagrams, 2048 fragments each); its
// MaxEnd, MaxTotal and Headroom are IPv4's own and need not be set.
type Config = reasm.Config

// Reasons a fragment or a datagram is dropped, returned by
// [Reassembler.Add]: see package reasm.
var (
	ErrBadFragment      = reasm.ErrBadFragment
	ErrOverlap          = reasm.ErrOverlap
	ErrDuplicate        = reasm.ErrDuplicate
	ErrNoMemory         = reasm.ErrNoMemory
	ErrTooManyFragments = reasm.ErrTooManyFragments
	ErrTooBig           = reasm.ErrTooBig
)

// Counters follow the SNMP names of RFC 4293 (ipSystemStatsReasm*), with
// the failures split by reason.
type Counters = reasm.Counters

// key identifies a datagram (RFC 791 §3.2: source, destination, protocol
// and identification).
type key struct {
	src, dst netip.Addr
	id       uint16
	proto    uint8
}

// Reassembler puts fragmented IPv4 datagrams back together (RFC 791
// §3.2, RFC 815). The zero value is not usable; call [NewReassembler].
type Reassembler struct {
	q *reasm.Queue[key]
}

// NewReassembler returns an empty reassembler configured by cfg.
func NewReassembler(cfg Config) *Reassembler {
	cfg.MaxEnd = wire.IPv4MaxTotalLen - wire.IPv4MinHeaderLen
	cfg.MaxTotal = wire.IPv4MaxTotalLen
	cfg.Headroom = wire.IPv4MaxHeaderLen
	return &Reassembler{q: reasm.New[key](cfg)}
}

// Config returns the configuration in use, defaults filled in.
func (r *Reassembler) Config() Config { return r.q.Config() }

// Counters returns a copy of the counters.
func (r *Reassembler) Counters() Counters { return r.q.Counters() }

// Len returns the number of datagrams waiting for fragments.
func (r *Reassembler) Len() int { return r.q.Len() }

// Held returns the fragment payload bytes held.
func (r *Reassembler) Held() int { return r.q.Held() }

// Charged returns the bytes charged against Config.MaxBytes.
func (r *Reassembler) Charged() int { return r.q.Charged() }

// NextDeadline returns when the oldest datagram times out, and false if
// none is waiting.
func (r *Reassembler) NextDeadline() (time.Time, bool) { return r.q.NextDeadline() }

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
	k := key{src: pkt.Src(), dst: pkt.Dst(), id: pkt.ID(), proto: pkt.Protocol()}
	d, err := r.q.Add(k, reasm.Fragment{
		Start:  int(pkt.FragmentOffset()),
		Data:   pkt.Payload(),
		More:   pkt.More(),
		Header: pkt[:pkt.HeaderLen()],
	}, now)
	if err != nil || d.Bytes == nil {
		return nil, err
	}
	out := wire.IPv4(d.Bytes)
	out.SetTotalLen(uint16(len(out)))
	out.SetFlagsFragment(out.DF(), false, 0)
	out.SetChecksum()
	return out, nil
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
	r.q.Expire(now, func(first []byte) {
		if timedOut != nil {
			timedOut(wire.IPv4(first))
		}
	})
}
