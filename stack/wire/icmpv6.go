package wire

import (
	"encoding/binary"
	"net/netip"
)

// ICMPv6 message types (RFC 4443 §2.1, RFC 4861 §4, RFC 3810 §5).
const (
	ICMPv6DestUnreachable = 1
	ICMPv6PacketTooBig    = 2
	ICMPv6TimeExceeded    = 3
	ICMPv6ParamProblem    = 4
	ICMPv6EchoRequest     = 128
	ICMPv6EchoReply       = 129
	ICMPv6MLDQuery        = 130
	ICMPv6MLDReport       = 131
	ICMPv6MLDDone         = 132
	ICMPv6RouterSolicit   = 133
	ICMPv6RouterAdvert    = 134
	ICMPv6NeighborSolicit = 135
	ICMPv6NeighborAdvert  = 136
	ICMPv6Redirect        = 137
	ICMPv6MLDv2Report     = 143
)

// ICMPv6 destination unreachable codes (RFC 4443 §3.1).
const (
	ICMPv6CodeNoRoute          = 0
	ICMPv6CodeAdminProhibited  = 1
	ICMPv6CodeBeyondScope      = 2
	ICMPv6CodeAddrUnreachable  = 3
	ICMPv6CodePortUnreachable  = 4
	ICMPv6CodeSourcePolicy     = 5
	ICMPv6CodeRejectRoute      = 6
	ICMPv6CodeHopLimitExceeded = 0 // time exceeded (RFC 4443 §3.3)
	ICMPv6CodeReassemblyTime   = 1 // time exceeded
)

// ICMPv6 parameter problem codes (RFC 4443 §3.4).
const (
	ICMPv6CodeBadHeaderField   = 0
	ICMPv6CodeUnknownNextHdr   = 1
	ICMPv6CodeUnknownOption    = 2
	ICMPv6CodeIncompleteHeader = 3 // RFC 7112 §5
)

// ICMPv6 header layout (RFC 4443 §2.1).
const (
	ICMPv6TypeOffset     = 0
	ICMPv6CodeOffset     = 1
	ICMPv6ChecksumOffset = 2
	ICMPv6RestOffset     = 4 // id+seq, MTU, pointer, NDP flags…
	ICMPv6HeaderLen      = 8
	// ICMPv6ErrorMaxLen is the largest an ICMPv6 error may be, quote
	// included: the minimum MTU (RFC 4443 §2.4(c)), less the IPv6 header.
	ICMPv6ErrorMaxLen = IPv6MinMTU - IPv6HeaderLen
)

// ICMPv6 is a view of an ICMPv6 message: the 8-byte header and the body.
// Its getters need len >= [ICMPv6HeaderLen]; see [ParseICMPv6].
type ICMPv6 []byte

// ICMPv6Fields are the fields of an ICMPv6 header. The second word is
// Rest | ID<<16 | Seq: set ID and Seq for echo messages, Rest for the
// others (the MTU of Packet Too Big, the pointer of Parameter Problem,
// the flags of NDP messages).
type ICMPv6Fields struct {
	Type, Code uint8
	ID, Seq    uint16
	Rest       uint32
}

// ParseICMPv6 validates a received ICMPv6 message carried from src to
// dst: [ErrTruncated] if it is shorter than the header, [ErrBadChecksum]
// if the checksum over the pseudo-header and the message does not verify
// (RFC 4443 §2.3: the checksum is mandatory).
func ParseICMPv6(b []byte, src, dst netip.Addr) (ICMPv6, error) {
	if len(b) < ICMPv6HeaderLen {
		return nil, ErrTruncated
	}
	m := ICMPv6(b)
	if !m.IsChecksumValid(src, dst) {
		return nil, ErrBadChecksum
	}
	return m, nil
}

// Type returns the message type.
func (b ICMPv6) Type() uint8 { return b[ICMPv6TypeOffset] }

// Code returns the message code.
func (b ICMPv6) Code() uint8 { return b[ICMPv6CodeOffset] }

// Checksum returns the checksum field.
func (b ICMPv6) Checksum() uint16 { return binary.BigEndian.Uint16(b[ICMPv6ChecksumOffset:]) }

// Rest returns the second word of the header.
func (b ICMPv6) Rest() uint32 { return binary.BigEndian.Uint32(b[ICMPv6RestOffset:]) }

// ID returns the identifier of an echo message.
func (b ICMPv6) ID() uint16 { return binary.BigEndian.Uint16(b[ICMPv6RestOffset:]) }

// Seq returns the sequence number of an echo message.
func (b ICMPv6) Seq() uint16 { return binary.BigEndian.Uint16(b[ICMPv6RestOffset+2:]) }

// MTU returns the MTU of a Packet Too Big message (RFC 4443 §3.2).
func (b ICMPv6) MTU() uint32 { return b.Rest() }

// Pointer returns the pointer of a Parameter Problem message: the offset
// of the faulty byte in the quoted packet (RFC 4443 §3.4).
func (b ICMPv6) Pointer() uint32 { return b.Rest() }

// IsError reports whether the message is an error message (types below
// 128, RFC 4443 §2.1), which must never be answered with another error.
func (b ICMPv6) IsError() bool { return b.Type() < 128 }

// Body returns the bytes after the 8-byte header: the quoted packet of an
// error, the data of an echo, the rest of an NDP message.
func (b ICMPv6) Body() []byte { return b[ICMPv6HeaderLen:] }

// SetChecksum computes the checksum over the pseudo-header (RFC 8200
// §8.1) and the whole view, and stores it.
func (b ICMPv6) SetChecksum(src, dst netip.Addr) {
	b[ICMPv6ChecksumOffset], b[ICMPv6ChecksumOffset+1] = 0, 0
	binary.BigEndian.PutUint16(b[ICMPv6ChecksumOffset:],
		^Fold(Checksum(b, PseudoHeaderSum(src, dst, ProtoICMPv6, uint16(len(b))))))
}

// IsChecksumValid reports whether the checksum verifies.
func (b ICMPv6) IsChecksumValid(src, dst netip.Addr) bool {
	return Fold(Checksum(b, PseudoHeaderSum(src, dst, ProtoICMPv6, uint16(len(b))))) == 0xffff
}

// Encode writes the header from f into b with the checksum field zero;
// write the body, then call [ICMPv6.SetChecksum].
func (b ICMPv6) Encode(f *ICMPv6Fields) {
	_ = b[ICMPv6HeaderLen-1]
	b[ICMPv6TypeOffset], b[ICMPv6CodeOffset] = f.Type, f.Code
	b[ICMPv6ChecksumOffset], b[ICMPv6ChecksumOffset+1] = 0, 0
	binary.BigEndian.PutUint32(b[ICMPv6RestOffset:], f.Rest|uint32(f.ID)<<16|uint32(f.Seq))
}

// Fields returns the header's fields: ID and Seq for echo messages, Rest
// for the others.
func (b ICMPv6) Fields() ICMPv6Fields {
	if t := b.Type(); t == ICMPv6EchoRequest || t == ICMPv6EchoReply {
		return ICMPv6Fields{Type: t, Code: b.Code(), ID: b.ID(), Seq: b.Seq()}
	}
	return ICMPv6Fields{Type: b.Type(), Code: b.Code(), Rest: b.Rest()}
}
