package wire

import (
	"encoding/binary"
	"net/netip"
)

// UDP header layout (RFC 768).
const (
	UDPSrcPortOffset  = 0
	UDPDstPortOffset  = 2
	UDPLengthOffset   = 4
	UDPChecksumOffset = 6
	UDPHeaderLen      = 8
)

// UDP is a view of a UDP datagram: header and payload. Its getters need
// len >= [UDPHeaderLen]; see [ParseUDP]. The checksum methods cover the
// whole view, so it must be exactly the datagram.
type UDP []byte

// UDPFields are the fields of a UDP header; the checksum is set apart.
type UDPFields struct {
	SrcPort, DstPort uint16
	Length           uint16 // header + payload, in bytes
}

// ParseUDP validates a received datagram and returns the view trimmed to
// its length field: [ErrTruncated] if b is shorter than the header or the
// length, [ErrBadLength] if the length is below 8. It does not check the
// checksum, which needs the addresses: see [UDP.IsChecksumValid].
func ParseUDP(b []byte) (UDP, error) {
	if len(b) < UDPHeaderLen {
		return nil, ErrTruncated
	}
	n := int(binary.BigEndian.Uint16(b[UDPLengthOffset:]))
	if n < UDPHeaderLen {
		return nil, ErrBadLength
	}
	if n > len(b) {
		return nil, ErrTruncated
	}
	return UDP(b[:n]), nil
}

// SrcPort returns the source port.
func (b UDP) SrcPort() uint16 { return binary.BigEndian.Uint16(b[UDPSrcPortOffset:]) }

// DstPort returns the destination port.
func (b UDP) DstPort() uint16 { return binary.BigEndian.Uint16(b[UDPDstPortOffset:]) }

// Length returns the length field.
func (b UDP) Length() uint16 { return binary.BigEndian.Uint16(b[UDPLengthOffset:]) }

// Checksum returns the checksum field; 0 means none was computed.
func (b UDP) Checksum() uint16 { return binary.BigEndian.Uint16(b[UDPChecksumOffset:]) }

// Payload returns the bytes after the header.
func (b UDP) Payload() []byte { return b[UDPHeaderLen:] }

// SetSrcPort sets the source port.
func (b UDP) SetSrcPort(v uint16) { binary.BigEndian.PutUint16(b[UDPSrcPortOffset:], v) }

// SetDstPort sets the destination port.
func (b UDP) SetDstPort(v uint16) { binary.BigEndian.PutUint16(b[UDPDstPortOffset:], v) }

// SetLength sets the length field.
func (b UDP) SetLength(v uint16) { binary.BigEndian.PutUint16(b[UDPLengthOffset:], v) }

// SetChecksum computes the checksum over the pseudo-header and the whole
// view and stores it; a computed 0 is sent as 0xffff (RFC 768).
func (b UDP) SetChecksum(src, dst netip.Addr) {
	b[UDPChecksumOffset], b[UDPChecksumOffset+1] = 0, 0
	c := ^Fold(Checksum(b, PseudoHeaderSum(src, dst, ProtoUDP, uint16(len(b)))))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(b[UDPChecksumOffset:], c)
}

// IsChecksumValid reports whether the checksum verifies. Over IPv4 a zero
// checksum field means the sender computed none and is accepted (RFC 768,
// RFC 1122 §4.1.3.4); over IPv6 the checksum is mandatory and a zero one
// is refused (RFC 8200 §8.1).
func (b UDP) IsChecksumValid(src, dst netip.Addr) bool {
	if b.Checksum() == 0 {
		return !src.Is6()
	}
	return Fold(Checksum(b, PseudoHeaderSum(src, dst, ProtoUDP, uint16(len(b))))) == 0xffff
}

// Encode writes the header from f into b with the checksum field zero;
// write the payload, then call [UDP.SetChecksum].
func (b UDP) Encode(f *UDPFields) {
	_ = b[UDPHeaderLen-1]
	b.SetSrcPort(f.SrcPort)
	b.SetDstPort(f.DstPort)
	b.SetLength(f.Length)
	b[UDPChecksumOffset], b[UDPChecksumOffset+1] = 0, 0
}

// Fields returns the header's fields.
func (b UDP) Fields() UDPFields {
	return UDPFields{SrcPort: b.SrcPort(), DstPort: b.DstPort(), Length: b.Length()}
}
