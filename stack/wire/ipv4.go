package wire

import (
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers (IANA "Assigned Internet Protocol Numbers").
const (
	ProtoICMP = 1
	ProtoTCP  = 6
	ProtoUDP  = 17
)

// IPv4 header layout (RFC 791 §3.1).
const (
	IPv4VersionIHLOffset = 0
	IPv4TOSOffset        = 1
	IPv4TotalLenOffset   = 2
	IPv4IDOffset         = 4
	IPv4FlagsFragOffset  = 6
	IPv4TTLOffset        = 8
	IPv4ProtocolOffset   = 9
	IPv4ChecksumOffset   = 10
	IPv4SrcOffset        = 12
	IPv4DstOffset        = 16
	IPv4MinHeaderLen     = 20
	IPv4MaxHeaderLen     = 60
	IPv4MaxTotalLen      = 65535
	// IPv4MinMTU is the MTU every IPv4 link must carry without further
	// fragmentation (RFC 791 §3.2).
	IPv4MinMTU = 68

	// IPv4FlagDF and IPv4FlagMF are the Don't Fragment and More Fragments
	// bits of the 16-bit flags and fragment offset word.
	IPv4FlagDF = 0x4000
	IPv4FlagMF = 0x2000
	// IPv4FragOffsetMask selects the offset, in 8-byte units.
	IPv4FragOffsetMask = 0x1fff
)

// IPv4 is a view of an IPv4 packet: header, options and payload. Its
// getters need [ParseIPv4], [ParseIPv4Quoted] or [IPv4.IsValid] first.
type IPv4 []byte

// IPv4Fields are the fields of an IPv4 header. The zero value of
// HeaderLen means [IPv4MinHeaderLen], no options.
type IPv4Fields struct {
	TOS            uint8
	TotalLen       uint16 // header + payload, in bytes
	ID             uint16
	DF, MF         bool   // Don't Fragment, More Fragments
	FragmentOffset uint16 // in bytes; a multiple of 8
	TTL            uint8
	Protocol       uint8 // e.g. [ProtoTCP]
	Src, Dst       netip.Addr
	HeaderLen      uint8 // 20..60, a multiple of 4; 0 means 20
}

// ParseIPv4 validates b as a received IPv4 packet (RFC 1122 §3.2.1.1-2)
// and returns the view trimmed to the total length, so link-layer padding
// is dropped. The errors are [ErrTruncated], [ErrBadVersion],
// [ErrBadHeaderLen], [ErrBadLength], [ErrBadChecksum], and [ErrBadOption]
// for an option list whose lengths do not add up (RFC 791 §3.1: an
// option other than EOL and NOP has a length of 2 or more that stays
// within the header), which Linux also drops.
func ParseIPv4(b []byte) (IPv4, error) {
	ip, err := parseIPv4Header(b)
	if err != nil {
		return nil, err
	}
	total := int(ip.TotalLen())
	if total < ip.HeaderLen() {
		return nil, ErrBadLength
	}
	if total > len(b) {
		return nil, ErrTruncated
	}
	if headerSum(b[:ip.HeaderLen()]) != 0xffff {
		return nil, ErrBadChecksum
	}
	if ip.HeaderLen() > IPv4MinHeaderLen && !validIPv4Options(ip.Options()) {
		return nil, ErrBadOption
	}
	return ip[:total], nil
}

// validIPv4Options reports whether an option list is well formed
// (RFC 791 §3.1): EOL ends it, NOP is one byte, and every other option
// has a length byte of at least 2 that keeps it within the list.
func validIPv4Options(b []byte) bool { return badIPv4Option(b) < 0 }

// badIPv4Option returns the index in b of the first malformed option,
// or -1.
func badIPv4Option(b []byte) int {
	for i := 0; i < len(b); {
		switch b[i] {
		case 0: // EOL: the rest is padding
			return -1
		case 1: // NOP
			i++
			continue
		}
		if i+1 >= len(b) {
			return i
		}
		n := int(b[i+1])
		if n < 2 || i+n > len(b) {
			return i
		}
		i += n
	}
	return -1
}

// BadOptionOffset returns the offset from the start of the header of the
// first malformed option (what an ICMP parameter problem points at,
// RFC 792), or -1 when the options are well formed.
func (b IPv4) BadOptionOffset() int {
	if i := badIPv4Option(b.Options()); i >= 0 {
		return IPv4MinHeaderLen + i
	}
	return -1
}

// ParseIPv4Quoted validates the IPv4 header quoted in an ICMP error
// message (RFC 792, RFC 1812 §4.3.2.3): the header must be complete, but
// the payload may be cut short, and the checksum is not checked. The view
// is trimmed to the total length when the quote is longer.
func ParseIPv4Quoted(b []byte) (IPv4, error) {
	ip, err := parseIPv4Header(b)
	if err != nil {
		return nil, err
	}
	total := int(ip.TotalLen())
	if total < ip.HeaderLen() {
		return nil, ErrBadLength
	}
	if total < len(b) {
		ip = ip[:total]
	}
	return ip, nil
}

func parseIPv4Header(b []byte) (IPv4, error) {
	if len(b) < IPv4MinHeaderLen {
		return nil, ErrTruncated
	}
	if b[0]>>4 != 4 {
		return nil, ErrBadVersion
	}
	hl := int(b[0]&0xf) * 4
	if hl < IPv4MinHeaderLen {
		return nil, ErrBadHeaderLen
	}
	if hl > len(b) {
		return nil, ErrTruncated
	}
	return IPv4(b), nil
}

// IsValid reports whether b holds a complete IPv4 header with a sane
// header length and a total length that fits in b; it does not check the
// checksum (see [IPv4.IsChecksumValid]).
func (b IPv4) IsValid() bool {
	ip, err := parseIPv4Header(b)
	return err == nil && int(ip.TotalLen()) >= ip.HeaderLen() && int(ip.TotalLen()) <= len(b)
}

// Version returns the version field (4).
func (b IPv4) Version() uint8 { return b[IPv4VersionIHLOffset] >> 4 }

// HeaderLen returns the header length in bytes, options included.
func (b IPv4) HeaderLen() int { return int(b[IPv4VersionIHLOffset]&0xf) * 4 }

// TOS returns the type-of-service byte (DSCP and ECN).
func (b IPv4) TOS() uint8 { return b[IPv4TOSOffset] }

// TotalLen returns the total length field.
func (b IPv4) TotalLen() uint16 { return binary.BigEndian.Uint16(b[IPv4TotalLenOffset:]) }

// ID returns the identification field.
func (b IPv4) ID() uint16 { return binary.BigEndian.Uint16(b[IPv4IDOffset:]) }

// FlagsFragment returns the raw flags and fragment offset word.
func (b IPv4) FlagsFragment() uint16 { return binary.BigEndian.Uint16(b[IPv4FlagsFragOffset:]) }

// DF reports whether the Don't Fragment bit is set.
func (b IPv4) DF() bool { return b.FlagsFragment()&IPv4FlagDF != 0 }

// More reports whether the More Fragments bit is set.
func (b IPv4) More() bool { return b.FlagsFragment()&IPv4FlagMF != 0 }

// FragmentOffset returns the fragment offset in bytes.
func (b IPv4) FragmentOffset() uint16 { return (b.FlagsFragment() & IPv4FragOffsetMask) * 8 }

// IsFragment reports whether the packet is a fragment: MF set or a
// nonzero offset.
func (b IPv4) IsFragment() bool { return b.FlagsFragment()&(IPv4FlagMF|IPv4FragOffsetMask) != 0 }

// TTL returns the time to live.
func (b IPv4) TTL() uint8 { return b[IPv4TTLOffset] }

// Protocol returns the protocol number, e.g. [ProtoTCP].
func (b IPv4) Protocol() uint8 { return b[IPv4ProtocolOffset] }

// Checksum returns the header checksum field.
func (b IPv4) Checksum() uint16 { return binary.BigEndian.Uint16(b[IPv4ChecksumOffset:]) }

// Src returns the source address.
func (b IPv4) Src() netip.Addr { return netip.AddrFrom4([4]byte(b[IPv4SrcOffset:][:4])) }

// Dst returns the destination address.
func (b IPv4) Dst() netip.Addr { return netip.AddrFrom4([4]byte(b[IPv4DstOffset:][:4])) }

// Options returns the header options, empty without any.
func (b IPv4) Options() []byte { return b[IPv4MinHeaderLen:b.HeaderLen()] }

// Payload returns the bytes after the header up to the total length, or
// up to the end of b if b is shorter (a quoted packet).
func (b IPv4) Payload() []byte {
	end := min(int(b.TotalLen()), len(b))
	hl := b.HeaderLen()
	if end < hl {
		return b[hl:hl]
	}
	return b[hl:end]
}

// SetTOS sets the type-of-service byte.
func (b IPv4) SetTOS(v uint8) { b[IPv4TOSOffset] = v }

// SetTotalLen sets the total length field.
func (b IPv4) SetTotalLen(v uint16) { binary.BigEndian.PutUint16(b[IPv4TotalLenOffset:], v) }

// SetID sets the identification field.
func (b IPv4) SetID(v uint16) { binary.BigEndian.PutUint16(b[IPv4IDOffset:], v) }

// SetFlagsFragment sets the DF and MF bits and the fragment offset, given
// in bytes (a multiple of 8).
func (b IPv4) SetFlagsFragment(df, mf bool, offset uint16) {
	v := (offset / 8) & IPv4FragOffsetMask
	if df {
		v |= IPv4FlagDF
	}
	if mf {
		v |= IPv4FlagMF
	}
	binary.BigEndian.PutUint16(b[IPv4FlagsFragOffset:], v)
}

// SetTTL sets the time to live; the checksum must be updated after.
func (b IPv4) SetTTL(v uint8) { b[IPv4TTLOffset] = v }

// SetProtocol sets the protocol number.
func (b IPv4) SetProtocol(v uint8) { b[IPv4ProtocolOffset] = v }

// SetSrc sets the source address.
func (b IPv4) SetSrc(a netip.Addr) { putAddr4(b[IPv4SrcOffset:], a) }

// SetDst sets the destination address.
func (b IPv4) SetDst(a netip.Addr) { putAddr4(b[IPv4DstOffset:], a) }

// SetChecksum computes the header checksum and stores it (RFC 791 §3.1).
func (b IPv4) SetChecksum() {
	b[IPv4ChecksumOffset], b[IPv4ChecksumOffset+1] = 0, 0
	binary.BigEndian.PutUint16(b[IPv4ChecksumOffset:], ^headerSum(b[:b.HeaderLen()]))
}

// IsChecksumValid reports whether the header checksum verifies.
func (b IPv4) IsChecksumValid() bool {
	return headerSum(b[:b.HeaderLen()]) == 0xffff
}

// DecTTL decrements the TTL by one and updates the checksum incrementally
// (RFC 1812 §5.3.1, RFC 1624 §4). It returns the new TTL; a TTL of 0 is
// left alone.
func (b IPv4) DecTTL() uint8 {
	ttl := b.TTL()
	if ttl == 0 {
		return 0
	}
	// TTL and protocol share one 16-bit word.
	old := binary.BigEndian.Uint16(b[IPv4TTLOffset:])
	b[IPv4TTLOffset] = ttl - 1
	binary.BigEndian.PutUint16(b[IPv4ChecksumOffset:],
		UpdateChecksum16(b.Checksum(), old, binary.BigEndian.Uint16(b[IPv4TTLOffset:])))
	return ttl - 1
}

// Encode writes the header from f into b, with the checksum field zero;
// call [IPv4.SetChecksum] after. Options, when f.HeaderLen > 20, are left
// for the caller to write.
func (b IPv4) Encode(f *IPv4Fields) {
	hl := f.HeaderLen
	if hl == 0 {
		hl = IPv4MinHeaderLen
	}
	_ = b[IPv4MinHeaderLen-1]
	b[IPv4VersionIHLOffset] = 4<<4 | (hl/4)&0xf
	b.SetTOS(f.TOS)
	b.SetTotalLen(f.TotalLen)
	b.SetID(f.ID)
	b.SetFlagsFragment(f.DF, f.MF, f.FragmentOffset)
	b.SetTTL(f.TTL)
	b.SetProtocol(f.Protocol)
	b[IPv4ChecksumOffset], b[IPv4ChecksumOffset+1] = 0, 0
	b.SetSrc(f.Src)
	b.SetDst(f.Dst)
}

// Fields returns the header's fields.
func (b IPv4) Fields() IPv4Fields {
	return IPv4Fields{
		TOS: b.TOS(), TotalLen: b.TotalLen(), ID: b.ID(), DF: b.DF(), MF: b.More(),
		FragmentOffset: b.FragmentOffset(), TTL: b.TTL(), Protocol: b.Protocol(),
		Src: b.Src(), Dst: b.Dst(), HeaderLen: uint8(b.HeaderLen()),
	}
}
