package wire

import "encoding/binary"

// MAC is a 48-bit Ethernet address. It is comparable and can be a map key;
// the zero value is 00:00:00:00:00:00.
type MAC [6]byte

// BroadcastMAC is the Ethernet broadcast address ff:ff:ff:ff:ff:ff.
var BroadcastMAC = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// String returns the address in the colon notation, e.g. 02:00:00:00:00:01.
func (m MAC) String() string {
	const hex = "0123456789abcdef"
	var b [17]byte
	for i, v := range m {
		if i > 0 {
			b[3*i-1] = ':'
		}
		b[3*i] = hex[v>>4]
		b[3*i+1] = hex[v&0xf]
	}
	return string(b[:])
}

// IsBroadcast reports whether m is ff:ff:ff:ff:ff:ff.
func (m MAC) IsBroadcast() bool { return m == BroadcastMAC }

// IsMulticast reports whether m is a group address (the I/G bit is set),
// broadcast included.
func (m MAC) IsMulticast() bool { return m[0]&1 != 0 }

// EtherType values (IEEE 802 numbers).
const (
	EtherTypeIPv4 = 0x0800
	EtherTypeARP  = 0x0806
	EtherTypeIPv6 = 0x86dd
)

// Ethernet II header layout.
const (
	EthernetDstOffset  = 0
	EthernetSrcOffset  = 6
	EthernetTypeOffset = 12
	EthernetHeaderLen  = 14
	// EthernetMinFrameLen is the shortest frame on the wire without the
	// FCS; shorter frames are padded with zeros.
	EthernetMinFrameLen = 60
)

// Ethernet is a view of an Ethernet II frame: the 14-byte header followed
// by the payload. Its getters need len >= [EthernetHeaderLen]; see
// [ParseEthernet].
type Ethernet []byte

// EthernetFields are the fields of an Ethernet II header.
type EthernetFields struct {
	Dst, Src MAC
	Type     uint16 // EtherType, e.g. [EtherTypeIPv4]
}

// ParseEthernet returns b as an Ethernet view, or [ErrTruncated] if b
// is shorter than the header.
func ParseEthernet(b []byte) (Ethernet, error) {
	if len(b) < EthernetHeaderLen {
		return nil, ErrTruncated
	}
	return Ethernet(b), nil
}

// IsValid reports whether b is long enough to hold the header.
func (b Ethernet) IsValid() bool { return len(b) >= EthernetHeaderLen }

// Dst returns the destination address.
func (b Ethernet) Dst() MAC { return MAC(b[EthernetDstOffset:][:6]) }

// Src returns the source address.
func (b Ethernet) Src() MAC { return MAC(b[EthernetSrcOffset:][:6]) }

// Type returns the EtherType.
func (b Ethernet) Type() uint16 { return binary.BigEndian.Uint16(b[EthernetTypeOffset:]) }

// Payload returns the bytes after the header, padding included.
func (b Ethernet) Payload() []byte { return b[EthernetHeaderLen:] }

// SetDst sets the destination address.
func (b Ethernet) SetDst(m MAC) { copy(b[EthernetDstOffset:], m[:]) }

// SetSrc sets the source address.
func (b Ethernet) SetSrc(m MAC) { copy(b[EthernetSrcOffset:], m[:]) }

// SetType sets the EtherType.
func (b Ethernet) SetType(t uint16) { binary.BigEndian.PutUint16(b[EthernetTypeOffset:], t) }

// Encode writes the header from f into the first [EthernetHeaderLen]
// bytes of b.
func (b Ethernet) Encode(f *EthernetFields) {
	_ = b[EthernetHeaderLen-1]
	b.SetDst(f.Dst)
	b.SetSrc(f.Src)
	b.SetType(f.Type)
}

// Fields returns the header's fields.
func (b Ethernet) Fields() EthernetFields {
	return EthernetFields{Dst: b.Dst(), Src: b.Src(), Type: b.Type()}
}
