package wire

import (
	"encoding/binary"
	"net/netip"
)

// ARP operation codes (RFC 826).
const (
	ARPRequest = 1
	ARPReply   = 2
)

// ARP packet layout for Ethernet and IPv4 (RFC 826 "Packet format").
const (
	ARPHardwareTypeOffset = 0
	ARPProtocolTypeOffset = 2
	ARPHardwareLenOffset  = 4
	ARPProtocolLenOffset  = 5
	ARPOpOffset           = 6
	ARPSenderMACOffset    = 8
	ARPSenderIPOffset     = 14
	ARPTargetMACOffset    = 18
	ARPTargetIPOffset     = 24
	ARPLen                = 28

	// ARPHardwareEthernet is the hardware type of Ethernet (ares_hrd$Ethernet).
	ARPHardwareEthernet = 1
)

// ARP is a view of an ARP packet for IPv4 over Ethernet. Its getters need
// [ARP.IsValid] or [ParseARP] first.
type ARP []byte

// ARPFields are the variable fields of an ARP packet; the hardware and
// protocol types and lengths are always Ethernet and IPv4.
type ARPFields struct {
	Op        uint16 // [ARPRequest] or [ARPReply]
	SenderMAC MAC
	SenderIP  netip.Addr
	TargetMAC MAC
	TargetIP  netip.Addr
}

// ParseARP returns b as an ARP view: [ErrTruncated] if it is shorter than
// [ARPLen], [ErrUnsupported] if it is not IPv4 over Ethernet.
func ParseARP(b []byte) (ARP, error) {
	if len(b) < ARPLen {
		return nil, ErrTruncated
	}
	a := ARP(b)
	if a.HardwareType() != ARPHardwareEthernet || a.ProtocolType() != EtherTypeIPv4 ||
		b[ARPHardwareLenOffset] != 6 || b[ARPProtocolLenOffset] != 4 {
		return nil, ErrUnsupported
	}
	return a, nil
}

// IsValid reports whether b is a complete ARP packet for IPv4 over
// Ethernet.
func (b ARP) IsValid() bool {
	_, err := ParseARP(b)
	return err == nil
}

// HardwareType returns the hardware address space (1 for Ethernet).
func (b ARP) HardwareType() uint16 { return binary.BigEndian.Uint16(b[ARPHardwareTypeOffset:]) }

// ProtocolType returns the protocol address space (0x0800 for IPv4).
func (b ARP) ProtocolType() uint16 { return binary.BigEndian.Uint16(b[ARPProtocolTypeOffset:]) }

// Op returns the operation, [ARPRequest] or [ARPReply].
func (b ARP) Op() uint16 { return binary.BigEndian.Uint16(b[ARPOpOffset:]) }

// SenderMAC returns the sender hardware address.
func (b ARP) SenderMAC() MAC { return MAC(b[ARPSenderMACOffset:][:6]) }

// SenderIP returns the sender protocol address.
func (b ARP) SenderIP() netip.Addr { return netip.AddrFrom4([4]byte(b[ARPSenderIPOffset:][:4])) }

// TargetMAC returns the target hardware address (zero in a request).
func (b ARP) TargetMAC() MAC { return MAC(b[ARPTargetMACOffset:][:6]) }

// TargetIP returns the target protocol address.
func (b ARP) TargetIP() netip.Addr { return netip.AddrFrom4([4]byte(b[ARPTargetIPOffset:][:4])) }

// Encode writes a complete ARP packet from f into the first [ARPLen]
// bytes of b. Addresses that are not IPv4 are written as 0.0.0.0.
func (b ARP) Encode(f *ARPFields) {
	_ = b[ARPLen-1]
	binary.BigEndian.PutUint16(b[ARPHardwareTypeOffset:], ARPHardwareEthernet)
	binary.BigEndian.PutUint16(b[ARPProtocolTypeOffset:], EtherTypeIPv4)
	b[ARPHardwareLenOffset] = 6
	b[ARPProtocolLenOffset] = 4
	binary.BigEndian.PutUint16(b[ARPOpOffset:], f.Op)
	copy(b[ARPSenderMACOffset:], f.SenderMAC[:])
	putAddr4(b[ARPSenderIPOffset:], f.SenderIP)
	copy(b[ARPTargetMACOffset:], f.TargetMAC[:])
	putAddr4(b[ARPTargetIPOffset:], f.TargetIP)
}

// Fields returns the packet's fields.
func (b ARP) Fields() ARPFields {
	return ARPFields{Op: b.Op(), SenderMAC: b.SenderMAC(), SenderIP: b.SenderIP(),
		TargetMAC: b.TargetMAC(), TargetIP: b.TargetIP()}
}

// putAddr4 writes a as four bytes, or zeros if a is not IPv4.
func putAddr4(b []byte, a netip.Addr) {
	var v [4]byte
	if a.Is4() {
		v = a.As4()
	}
	copy(b[:4], v[:])
}
