package wire

import "encoding/binary"

// FinishTCPChecksum computes and stores the TCP checksum of the segment
// in an IPv4 or IPv6 packet whose sender left it to the link: Linux's
// CHECKSUM_PARTIAL, finished by skb_checksum_help when the device
// cannot do it, and by whatever must show or change the bytes (a
// capture, a middlebox, a corrupting link). frame starts at the
// Ethernet header when ethernet is true, at the IP header otherwise. It
// reports false, changing nothing, when the frame is not an unfragmented
// TCP segment with its whole length present.
func FinishTCPChecksum(frame []byte, ethernet bool) bool {
	b := frame
	if ethernet {
		if len(b) < EthernetHeaderLen {
			return false
		}
		switch binary.BigEndian.Uint16(b[12:]) {
		case EtherTypeIPv4, EtherTypeIPv6:
		default:
			return false
		}
		b = b[EthernetHeaderLen:]
	}
	if len(b) < 1 {
		return false
	}
	switch b[0] >> 4 {
	case 4:
		if len(b) < IPv4MinHeaderLen {
			return false
		}
		ip := IPv4(b)
		hl, total := ip.HeaderLen(), int(ip.TotalLen())
		if ip.Protocol() != ProtoTCP || hl < IPv4MinHeaderLen || total < hl+TCPMinHeaderLen || total > len(b) ||
			ip.More() || ip.FragmentOffset() != 0 {
			return false
		}
		TCP(b[hl:total]).SetChecksum(ip.Src(), ip.Dst())
		return true
	case 6:
		if len(b) < IPv6HeaderLen {
			return false
		}
		ip := IPv6(b)
		end := IPv6HeaderLen + int(ip.PayloadLen())
		if ip.NextHeader() != ProtoTCP || end < IPv6HeaderLen+TCPMinHeaderLen || end > len(b) {
			return false
		}
		TCP(b[IPv6HeaderLen:end]).SetChecksum(ip.Src(), ip.Dst())
		return true
	}
	return false
}
