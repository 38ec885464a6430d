package wire

import (
	"encoding/binary"
	"net/netip"
)

// ProtoICMPv6 is the Next Header value of ICMPv6 (RFC 4443 §1).
const ProtoICMPv6 = 58

// IPv6 header layout (RFC 8200 §3).
const (
	IPv6VersionOffset    = 0 // version (4 bits), traffic class (8), flow label (20)
	IPv6PayloadLenOffset = 4
	IPv6NextHeaderOffset = 6
	IPv6HopLimitOffset   = 7
	IPv6SrcOffset        = 8
	IPv6DstOffset        = 24
	IPv6HeaderLen        = 40
	// IPv6MinMTU is the MTU every IPv6 link must carry (RFC 8200 §5).
	IPv6MinMTU = 1280
	// IPv6MaxPayloadLen is the largest payload without a jumbogram
	// (RFC 2675), which stacklab does not support.
	IPv6MaxPayloadLen = 65535
)

// IPv6 is a view of an IPv6 packet: the fixed header, then extension
// headers and the upper-layer payload. Its getters need [ParseIPv6],
// [ParseIPv6Quoted] or [IPv6.IsValid] first.
type IPv6 []byte

// IPv6Fields are the fields of the fixed IPv6 header.
type IPv6Fields struct {
	TrafficClass uint8  // DSCP and ECN
	FlowLabel    uint32 // 20 bits
	PayloadLen   uint16 // everything after the fixed header, in bytes
	NextHeader   uint8  // the first extension header or the upper layer
	HopLimit     uint8
	Src, Dst     netip.Addr // IPv6 addresses (an IPv4-mapped one is written as such)
}

// ParseIPv6 validates b as a received IPv6 packet (RFC 8200 §3) and
// returns the view trimmed to the header plus the payload length, so
// link-layer padding is dropped. The errors are [ErrTruncated] for a
// buffer shorter than the header or than the payload length claims,
// [ErrBadVersion6] for a version other than 6, and [ErrBadLength] for a
// payload length of zero with a hop-by-hop header (a jumbogram, RFC 2675,
// which is not supported). Extension headers are walked by
// [IPv6.Chain].
func ParseIPv6(b []byte) (IPv6, error) {
	if len(b) < IPv6HeaderLen {
		return nil, ErrTruncated
	}
	if b[0]>>4 != 6 {
		return nil, ErrBadVersion6
	}
	ip := IPv6(b)
	n := IPv6HeaderLen + int(ip.PayloadLen())
	if ip.PayloadLen() == 0 && ip.NextHeader() == IPv6ExtHopByHop {
		return nil, ErrBadLength
	}
	if n > len(b) {
		return nil, ErrTruncated
	}
	return ip[:n], nil
}

// ParseIPv6Quoted validates the IPv6 header quoted in an ICMPv6 error
// (RFC 4443 §2.4(c)): the fixed header must be complete; the payload may
// be cut short. The view is trimmed to the payload length when the quote
// is longer.
func ParseIPv6Quoted(b []byte) (IPv6, error) {
	if len(b) < IPv6HeaderLen {
		return nil, ErrTruncated
	}
	if b[0]>>4 != 6 {
		return nil, ErrBadVersion6
	}
	ip := IPv6(b)
	if n := IPv6HeaderLen + int(ip.PayloadLen()); n < len(b) {
		ip = ip[:n]
	}
	return ip, nil
}

// IsValid reports whether b holds a complete IPv6 header whose payload
// length fits in b.
func (b IPv6) IsValid() bool {
	return len(b) >= IPv6HeaderLen && b[0]>>4 == 6 && IPv6HeaderLen+int(b.PayloadLen()) <= len(b)
}

// Version returns the version field (6).
func (b IPv6) Version() uint8 { return b[IPv6VersionOffset] >> 4 }

// TrafficClass returns the traffic class byte (DSCP and ECN).
func (b IPv6) TrafficClass() uint8 {
	return uint8(binary.BigEndian.Uint16(b[IPv6VersionOffset:]) >> 4)
}

// FlowLabel returns the 20-bit flow label.
func (b IPv6) FlowLabel() uint32 {
	return binary.BigEndian.Uint32(b[IPv6VersionOffset:]) & 0xfffff
}

// PayloadLen returns the payload length field: every byte after the
// fixed header, extension headers included.
func (b IPv6) PayloadLen() uint16 { return binary.BigEndian.Uint16(b[IPv6PayloadLenOffset:]) }

// NextHeader returns the type of the header after the fixed one.
func (b IPv6) NextHeader() uint8 { return b[IPv6NextHeaderOffset] }

// HopLimit returns the hop limit.
func (b IPv6) HopLimit() uint8 { return b[IPv6HopLimitOffset] }

// Src returns the source address.
func (b IPv6) Src() netip.Addr { return netip.AddrFrom16([16]byte(b[IPv6SrcOffset:][:16])) }

// Dst returns the destination address.
func (b IPv6) Dst() netip.Addr { return netip.AddrFrom16([16]byte(b[IPv6DstOffset:][:16])) }

// Payload returns the bytes after the fixed header up to the payload
// length, or up to the end of b if b is shorter (a quoted packet).
func (b IPv6) Payload() []byte {
	end := min(IPv6HeaderLen+int(b.PayloadLen()), len(b))
	return b[IPv6HeaderLen:end]
}

// SetTrafficClass sets the traffic class byte.
func (b IPv6) SetTrafficClass(v uint8) {
	w := binary.BigEndian.Uint32(b[IPv6VersionOffset:])
	w = w&^(0xff<<20) | uint32(v)<<20
	binary.BigEndian.PutUint32(b[IPv6VersionOffset:], w)
}

// SetPayloadLen sets the payload length field.
func (b IPv6) SetPayloadLen(v uint16) { binary.BigEndian.PutUint16(b[IPv6PayloadLenOffset:], v) }

// SetNextHeader sets the next header field.
func (b IPv6) SetNextHeader(v uint8) { b[IPv6NextHeaderOffset] = v }

// SetHopLimit sets the hop limit (IPv6 has no header checksum to update).
func (b IPv6) SetHopLimit(v uint8) { b[IPv6HopLimitOffset] = v }

// SetSrc sets the source address.
func (b IPv6) SetSrc(a netip.Addr) { putAddr16(b[IPv6SrcOffset:], a) }

// SetDst sets the destination address.
func (b IPv6) SetDst(a netip.Addr) { putAddr16(b[IPv6DstOffset:], a) }

// Encode writes the fixed header from f into b.
func (b IPv6) Encode(f *IPv6Fields) {
	b.Put(f.TrafficClass, f.FlowLabel, f.PayloadLen, f.NextHeader, f.HopLimit, f.Src, f.Dst)
}

// Put writes the fixed header from its fields given one by one (the flow
// label's low 20 bits): [IPv6.Encode] without a fields struct to fill,
// for the send path of every segment.
func (b IPv6) Put(tc uint8, flow uint32, payloadLen uint16, nextHeader, hopLimit uint8, src, dst netip.Addr) {
	_ = b[IPv6HeaderLen-1]
	binary.BigEndian.PutUint32(b[IPv6VersionOffset:], 6<<28|uint32(tc)<<20|flow&0xfffff)
	binary.BigEndian.PutUint16(b[IPv6PayloadLenOffset:], payloadLen)
	b[IPv6NextHeaderOffset], b[IPv6HopLimitOffset] = nextHeader, hopLimit
	putAddr16(b[IPv6SrcOffset:], src)
	putAddr16(b[IPv6DstOffset:], dst)
}

// Fields returns the fixed header's fields.
func (b IPv6) Fields() IPv6Fields {
	return IPv6Fields{
		TrafficClass: b.TrafficClass(), FlowLabel: b.FlowLabel(), PayloadLen: b.PayloadLen(),
		NextHeader: b.NextHeader(), HopLimit: b.HopLimit(), Src: b.Src(), Dst: b.Dst(),
	}
}

// putAddr16 writes a as 16 bytes; an IPv4 address is written
// IPv4-mapped, an invalid one as zeros.
func putAddr16(b []byte, a netip.Addr) {
	switch {
	case !a.IsValid():
		clear(b[:16])
	case a.Is6() && a.Zone() == "":
		// In place, 16 bytes at most (the capacity stops a zone): As16
		// returns an array whose copy stalls on store forwarding, and
		// this runs twice per IPv6 packet sent.
		a.AppendBinary(b[:0:16])
	default:
		v := a.As16()
		copy(b[:16], v[:])
	}
}
