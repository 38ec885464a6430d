package wire

import (
	"encoding/binary"
	"net/netip"
)

// TCP header layout (RFC 9293 §3.1).
const (
	TCPSrcPortOffset    = 0
	TCPDstPortOffset    = 2
	TCPSeqOffset        = 4
	TCPAckOffset        = 8
	TCPDataOffsetOffset = 12
	TCPFlagsOffset      = 13
	TCPWindowOffset     = 14
	TCPChecksumOffset   = 16
	TCPUrgentOffset     = 18
	TCPMinHeaderLen     = 20
	TCPMaxHeaderLen     = 60
	// TCPMaxOptionsLen is the room for options in the largest header.
	TCPMaxOptionsLen = TCPMaxHeaderLen - TCPMinHeaderLen
)

// TCPFlags is the TCP control-bits byte.
type TCPFlags uint8

// TCP control bits (RFC 9293 §3.1, RFC 3168 §6.1 for ECE and CWR).
const (
	TCPFlagFIN TCPFlags = 1 << iota
	TCPFlagSYN
	TCPFlagRST
	TCPFlagPSH
	TCPFlagACK
	TCPFlagURG
	TCPFlagECE
	TCPFlagCWR
)

// Short aliases of the TCP control bits.
const (
	FIN = TCPFlagFIN
	SYN = TCPFlagSYN
	RST = TCPFlagRST
	PSH = TCPFlagPSH
	ACK = TCPFlagACK
	URG = TCPFlagURG
	ECE = TCPFlagECE
	CWR = TCPFlagCWR
)

var (
	tcpdumpFlags   [256]string
	wiresharkFlags [256]string
)

func init() {
	// tcpdump's print-tcp.c prints in the order F S R P . U E W and
	// "none" for no flags; Wireshark names them from the low bit up.
	letters := [8]byte{'F', 'S', 'R', 'P', '.', 'U', 'E', 'W'}
	names := [8]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}
	for v := range 256 {
		var s []byte
		var w string
		for i := range 8 {
			if v&(1<<i) != 0 {
				s = append(s, letters[i])
				if w != "" {
					w += ", "
				}
				w += names[i]
			}
		}
		if len(s) == 0 {
			tcpdumpFlags[v] = "none"
		} else {
			tcpdumpFlags[v] = string(s)
		}
		wiresharkFlags[v] = w
	}
}

// String returns the flags in tcpdump's notation, as in "Flags [S.]":
// "S", "S.", ".", "P.", "F.", "R", "R.", "FP.", or "none". It does not
// allocate.
func (f TCPFlags) String() string { return tcpdumpFlags[f] }

// Tcpdump is the same as [TCPFlags.String].
func (f TCPFlags) Tcpdump() string { return tcpdumpFlags[f] }

// Names returns the flags as Wireshark lists them, e.g. "SYN, ACK", or ""
// for none. It does not allocate.
func (f TCPFlags) Names() string { return wiresharkFlags[f] }

// Has reports whether every flag in g is set in f.
func (f TCPFlags) Has(g TCPFlags) bool { return f&g == g }

// TCP is a view of a TCP segment: header, options and payload. Its
// getters need [ParseTCP] or [TCP.IsValid] first. The checksum methods
// cover the whole view, so it must be exactly the segment.
type TCP []byte

// TCPFields are the fixed fields of a TCP header. DataOffset is the header
// length in bytes, options included; 0 means [TCPMinHeaderLen].
type TCPFields struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	DataOffset       uint8
	Flags            TCPFlags
	Window           uint16
	Urgent           uint16
}

// ParseTCP validates a received segment's header: [ErrTruncated] if b is
// shorter than 20 bytes or than the data offset, [ErrBadHeaderLen] if the
// data offset is below 5 words. The checksum needs the addresses: see
// [TCP.IsChecksumValid]; the options are parsed by [ParseTCPOptions].
func ParseTCP(b []byte) (TCP, error) {
	if len(b) < TCPMinHeaderLen {
		return nil, ErrTruncated
	}
	hl := int(b[TCPDataOffsetOffset]>>4) * 4
	if hl < TCPMinHeaderLen {
		return nil, ErrBadHeaderLen
	}
	if hl > len(b) {
		return nil, ErrTruncated
	}
	return TCP(b), nil
}

// IsValid reports whether [ParseTCP] accepts b.
func (b TCP) IsValid() bool {
	_, err := ParseTCP(b)
	return err == nil
}

// SrcPort returns the source port.
func (b TCP) SrcPort() uint16 { return binary.BigEndian.Uint16(b[TCPSrcPortOffset:]) }

// DstPort returns the destination port.
func (b TCP) DstPort() uint16 { return binary.BigEndian.Uint16(b[TCPDstPortOffset:]) }

// Seq returns the sequence number.
func (b TCP) Seq() uint32 { return binary.BigEndian.Uint32(b[TCPSeqOffset:]) }

// Ack returns the acknowledgment number.
func (b TCP) Ack() uint32 { return binary.BigEndian.Uint32(b[TCPAckOffset:]) }

// DataOffset returns the header length in bytes, options included.
func (b TCP) DataOffset() int { return int(b[TCPDataOffsetOffset]>>4) * 4 }

// Flags returns the control bits.
func (b TCP) Flags() TCPFlags { return TCPFlags(b[TCPFlagsOffset]) }

// Window returns the window field, not scaled.
func (b TCP) Window() uint16 { return binary.BigEndian.Uint16(b[TCPWindowOffset:]) }

// Checksum returns the checksum field.
func (b TCP) Checksum() uint16 { return binary.BigEndian.Uint16(b[TCPChecksumOffset:]) }

// Urgent returns the urgent pointer.
func (b TCP) Urgent() uint16 { return binary.BigEndian.Uint16(b[TCPUrgentOffset:]) }

// Options returns the option bytes between the fixed header and the data.
func (b TCP) Options() []byte { return b[TCPMinHeaderLen:b.DataOffset()] }

// Payload returns the data after the header.
func (b TCP) Payload() []byte { return b[b.DataOffset():] }

// SetSrcPort sets the source port.
func (b TCP) SetSrcPort(v uint16) { binary.BigEndian.PutUint16(b[TCPSrcPortOffset:], v) }

// SetDstPort sets the destination port.
func (b TCP) SetDstPort(v uint16) { binary.BigEndian.PutUint16(b[TCPDstPortOffset:], v) }

// SetSeq sets the sequence number.
func (b TCP) SetSeq(v uint32) { binary.BigEndian.PutUint32(b[TCPSeqOffset:], v) }

// SetAck sets the acknowledgment number.
func (b TCP) SetAck(v uint32) { binary.BigEndian.PutUint32(b[TCPAckOffset:], v) }

// SetDataOffset sets the header length in bytes (20..60, a multiple of 4).
func (b TCP) SetDataOffset(n int) {
	b[TCPDataOffsetOffset] = b[TCPDataOffsetOffset]&0x0f | uint8(n/4)<<4
}

// SetFlags sets the control bits.
func (b TCP) SetFlags(f TCPFlags) { b[TCPFlagsOffset] = uint8(f) }

// SetWindow sets the window field.
func (b TCP) SetWindow(v uint16) { binary.BigEndian.PutUint16(b[TCPWindowOffset:], v) }

// SetUrgent sets the urgent pointer.
func (b TCP) SetUrgent(v uint16) { binary.BigEndian.PutUint16(b[TCPUrgentOffset:], v) }

// SetChecksum computes the checksum over the pseudo-header and the whole
// view and stores it (RFC 9293 §3.1).
func (b TCP) SetChecksum(src, dst netip.Addr) {
	b[TCPChecksumOffset], b[TCPChecksumOffset+1] = 0, 0
	c := ^Fold(Checksum(b, PseudoHeaderSum(src, dst, ProtoTCP, uint16(len(b)))))
	binary.BigEndian.PutUint16(b[TCPChecksumOffset:], c)
}

// IsChecksumValid reports whether the checksum verifies.
func (b TCP) IsChecksumValid(src, dst netip.Addr) bool {
	return Fold(Checksum(b, PseudoHeaderSum(src, dst, ProtoTCP, uint16(len(b))))) == 0xffff
}

// SetChecksumPair is [TCP.SetChecksum] with the addresses' part of the
// pseudo-header sum already computed ([AddrPairSum]): a sender that
// keeps it for its connection skips summing the addresses per segment.
func (b TCP) SetChecksumPair(pair uint32) {
	b[TCPChecksumOffset], b[TCPChecksumOffset+1] = 0, 0
	c := ^Fold(Checksum(b, pair+uint32(ProtoTCP)+uint32(len(b))))
	binary.BigEndian.PutUint16(b[TCPChecksumOffset:], c)
}

// IsChecksumValidPair is [TCP.IsChecksumValid] with the addresses' sum
// given ([AddrPairSum]).
func (b TCP) IsChecksumValidPair(pair uint32) bool {
	return Fold(Checksum(b, pair+uint32(ProtoTCP)+uint32(len(b)))) == 0xffff
}

// Encode writes the fixed header from f into b with the checksum field
// zero. Write the options (see [EncodeTCPOptions]) and payload, then call
// [TCP.SetChecksum].
func (b TCP) Encode(f *TCPFields) {
	_ = b[TCPMinHeaderLen-1]
	do := int(f.DataOffset)
	if do == 0 {
		do = TCPMinHeaderLen
	}
	b.SetSrcPort(f.SrcPort)
	b.SetDstPort(f.DstPort)
	b.SetSeq(f.Seq)
	b.SetAck(f.Ack)
	b[TCPDataOffsetOffset] = uint8(do/4) << 4
	b.SetFlags(f.Flags)
	b.SetWindow(f.Window)
	b[TCPChecksumOffset], b[TCPChecksumOffset+1] = 0, 0
	b.SetUrgent(f.Urgent)
}

// Fields returns the fixed header's fields.
func (b TCP) Fields() TCPFields {
	return TCPFields{
		SrcPort: b.SrcPort(), DstPort: b.DstPort(), Seq: b.Seq(), Ack: b.Ack(),
		DataOffset: uint8(b.DataOffset()), Flags: b.Flags(), Window: b.Window(), Urgent: b.Urgent(),
	}
}
