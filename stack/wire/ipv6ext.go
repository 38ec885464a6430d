package wire

import "encoding/binary"

// IPv6 extension header types and other Next Header values (RFC 8200 §4,
// IANA "Assigned Internet Protocol Numbers").
const (
	IPv6ExtHopByHop  = 0
	IPv6ExtRouting   = 43
	IPv6ExtFragment  = 44
	IPv6ExtESP       = 50
	IPv6ExtAH        = 51
	IPv6NoNextHeader = 59
	IPv6ExtDestOpts  = 60
)

// IPv6MaxExtHeaders bounds how many extension headers [IPv6.Chain] walks
// before it gives up with [ErrBadExtension]: RFC 8200 §4.1 names six kinds
// a packet should carry at most once (destination options twice), so a
// longer chain is an attack on the receiver's time, not a real packet.
const IPv6MaxExtHeaders = 8

// IPv6 option types in hop-by-hop and destination options headers
// (RFC 8200 §4.2, RFC 2711, RFC 2675).
const (
	IPv6OptPad1        = 0
	IPv6OptPadN        = 1
	IPv6OptRouterAlert = 5
	IPv6OptJumbo       = 0xc2
)

// Actions a receiver takes on an unrecognised option, from the two
// high-order bits of its type (RFC 8200 §4.2).
const (
	IPv6OptActSkip          = 0 // skip it and go on
	IPv6OptActDiscard       = 1 // discard the packet silently
	IPv6OptActDiscardICMP   = 2 // discard, send Parameter Problem code 2
	IPv6OptActDiscardICMPUC = 3 // discard, send Parameter Problem unless the destination is multicast
)

// IPv6OptionAction returns what to do with an unrecognised option of type
// typ: one of the IPv6OptAct constants.
func IPv6OptionAction(typ uint8) uint8 { return typ >> 6 }

// IPv6Options is a view of a hop-by-hop or destination options header:
// next header, length, then options in TLV form (RFC 8200 §4.3, §4.6).
type IPv6Options []byte

// NextHeader returns the type of the header that follows.
func (b IPv6Options) NextHeader() uint8 { return b[0] }

// Len returns the header's length in bytes: (Hdr Ext Len + 1) × 8.
func (b IPv6Options) Len() int { return (int(b[1]) + 1) * 8 }

// Options returns the option area, after the two fixed bytes.
func (b IPv6Options) Options() []byte { return b[2:b.Len()] }

// NextOption reads the option at offset off of the option area and
// returns its type, its data and the offset of the next one; ok is false
// at the end of the area. A length running past the area is
// [ErrBadOption]. Pad1 has no length byte and no data.
func (b IPv6Options) NextOption(off int) (typ uint8, data []byte, next int, ok bool, err error) {
	opts := b.Options()
	if off >= len(opts) {
		return 0, nil, off, false, nil
	}
	typ = opts[off]
	if typ == IPv6OptPad1 {
		return typ, nil, off + 1, true, nil
	}
	if off+2 > len(opts) || off+2+int(opts[off+1]) > len(opts) {
		return typ, nil, off, false, ErrBadOption
	}
	end := off + 2 + int(opts[off+1])
	return typ, opts[off+2 : end], end, true, nil
}

// IPv6RoutingHeader is a view of a routing header (RFC 8200 §4.4).
type IPv6RoutingHeader []byte

// NextHeader returns the type of the header that follows.
func (b IPv6RoutingHeader) NextHeader() uint8 { return b[0] }

// Len returns the header's length in bytes: (Hdr Ext Len + 1) × 8.
func (b IPv6RoutingHeader) Len() int { return (int(b[1]) + 1) * 8 }

// RoutingType returns the routing type (0 is deprecated by RFC 5095).
func (b IPv6RoutingHeader) RoutingType() uint8 { return b[2] }

// SegmentsLeft returns how many listed nodes are still to be visited.
func (b IPv6RoutingHeader) SegmentsLeft() uint8 { return b[3] }

// IPv6FragmentHeaderLen is the fixed length of a fragment header.
const IPv6FragmentHeaderLen = 8

// IPv6FragmentHeader is a view of a fragment header (RFC 8200 §4.5).
type IPv6FragmentHeader []byte

// IPv6FragmentFields are the fields of a fragment header.
type IPv6FragmentFields struct {
	NextHeader uint8
	Offset     uint16 // in bytes; a multiple of 8
	More       bool
	ID         uint32
}

// NextHeader returns the type of the first header of the fragmentable part.
func (b IPv6FragmentHeader) NextHeader() uint8 { return b[0] }

// Offset returns the fragment offset in bytes.
func (b IPv6FragmentHeader) Offset() uint16 { return binary.BigEndian.Uint16(b[2:]) &^ 7 }

// More reports whether the M (more fragments) flag is set.
func (b IPv6FragmentHeader) More() bool { return b[3]&1 != 0 }

// ID returns the 32-bit identification.
func (b IPv6FragmentHeader) ID() uint32 { return binary.BigEndian.Uint32(b[4:]) }

// IsAtomic reports whether the header describes a whole packet: offset 0
// and no more fragments (RFC 6946), which a receiver processes at once.
func (b IPv6FragmentHeader) IsAtomic() bool { return b.Offset() == 0 && !b.More() }

// Encode writes the fragment header from f into b.
func (b IPv6FragmentHeader) Encode(f *IPv6FragmentFields) {
	_ = b[IPv6FragmentHeaderLen-1]
	b[0], b[1] = f.NextHeader, 0
	w := f.Offset &^ 7
	if f.More {
		w |= 1
	}
	binary.BigEndian.PutUint16(b[2:], w)
	binary.BigEndian.PutUint32(b[4:], f.ID)
}

// Fields returns the fragment header's fields.
func (b IPv6FragmentHeader) Fields() IPv6FragmentFields {
	return IPv6FragmentFields{NextHeader: b.NextHeader(), Offset: b.Offset(), More: b.More(), ID: b.ID()}
}

// IPv6Chain is what [IPv6.Chain] finds walking a packet's extension
// headers. Offsets count from the first byte of the IPv6 header, as the
// pointer of an ICMPv6 Parameter Problem does (RFC 4443 §3.4). A header
// kind the packet lacks is a nil view.
type IPv6Chain struct {
	// Proto is the upper-layer protocol (e.g. [ProtoTCP]), or
	// [IPv6NoNextHeader], or a value the walker does not know, which the
	// receiver answers with Parameter Problem code 1 pointing at
	// ProtoOffset (RFC 8200 §4).
	Proto uint8
	// ProtoOffset is the offset of the Next Header byte that named Proto.
	ProtoOffset int
	// Offset is where the upper-layer header starts; after a fragment
	// header it is where the fragment's data starts.
	Offset int
	// HopByHop, Routing and DestOpts are the last header of each kind
	// seen (destination options may stand before a routing header and
	// after it; the one before the upper layer is kept).
	HopByHop IPv6Options
	Routing  IPv6RoutingHeader
	DestOpts IPv6Options
	// Fragment is the fragment header and FragmentAt its offset: the
	// unfragmentable part, which every fragment repeats, ends there.
	// FragmentNamedAt is the offset of the Next Header byte that named
	// the fragment header, which names the fragment's contents once the
	// packet is reassembled.
	Fragment        IPv6FragmentHeader
	FragmentAt      int
	FragmentNamedAt int
}

// IsIPv6ExtHeader reports whether nh names an extension header that
// [IPv6.Chain] walks (hop-by-hop, routing, fragment, destination options,
// AH); any other value is the upper layer, No Next Header, or one it
// does not know.
func IsIPv6ExtHeader(nh uint8) bool {
	switch nh {
	case IPv6ExtHopByHop, IPv6ExtRouting, IPv6ExtDestOpts, IPv6ExtFragment, IPv6ExtAH:
		return true
	}
	return false
}

// IPv6ExtHeaderLen returns the length of the extension header of type nh
// at the start of h (RFC 8200 §4: hop-by-hop, routing and destination
// options in 8-octet units beyond the first 8, the fragment header's
// fixed 8, AH in 4-octet units minus 2, RFC 4302 §2.2), and false if h
// is too short to say or to hold it.
func IPv6ExtHeaderLen(nh uint8, h []byte) (int, bool) {
	if len(h) < 8 {
		return 0, false
	}
	size := (int(h[1]) + 1) * 8
	switch nh {
	case IPv6ExtFragment:
		size = IPv6FragmentHeaderLen
	case IPv6ExtAH:
		size = (int(h[1]) + 2) * 4
	}
	return size, size <= len(h)
}

// Chain walks the extension headers of a validated packet (RFC 8200 §4)
// up to the upper-layer header, the end of the headers (No Next Header),
// a fragment header (the fragmentable part after it is data until the
// packet is reassembled), or a Next Header value it does not know. It
// does not act on options; the receiver checks them with
// [IPv6Options.NextOption] and [IPv6OptionAction]. The errors are
// [ErrTruncated] for a header running past the payload, and
// [ErrBadExtension] for a hop-by-hop header anywhere but first (RFC 8200
// §4.3; ProtoOffset then points at the Next Header byte that named it) or
// more than [IPv6MaxExtHeaders] headers. It does not allocate.
func (b IPv6) Chain() (IPv6Chain, error) {
	c := IPv6Chain{Proto: b.NextHeader(), ProtoOffset: IPv6NextHeaderOffset, Offset: IPv6HeaderLen}
	end := min(IPv6HeaderLen+int(b.PayloadLen()), len(b))
	for n := 0; ; n++ {
		if !IsIPv6ExtHeader(c.Proto) {
			return c, nil
		}
		if n == IPv6MaxExtHeaders {
			return c, ErrBadExtension
		}
		if c.Proto == IPv6ExtHopByHop && n > 0 {
			return c, ErrBadExtension
		}
		h := b[c.Offset:end]
		size, ok := IPv6ExtHeaderLen(c.Proto, h)
		if !ok {
			return c, ErrTruncated
		}
		h = h[:size]
		switch c.Proto {
		case IPv6ExtHopByHop:
			c.HopByHop = IPv6Options(h)
		case IPv6ExtRouting:
			c.Routing = IPv6RoutingHeader(h)
		case IPv6ExtDestOpts:
			c.DestOpts = IPv6Options(h)
		case IPv6ExtFragment:
			c.Fragment, c.FragmentAt, c.FragmentNamedAt = IPv6FragmentHeader(h), c.Offset, c.ProtoOffset
		}
		c.Proto, c.ProtoOffset = h[0], c.Offset
		c.Offset += size
		if c.Fragment != nil && !c.Fragment.IsAtomic() {
			return c, nil // what follows is a piece of the fragmentable part
		}
	}
}
