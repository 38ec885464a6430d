package wire

import "encoding/binary"

// ICMPv4 message types (RFC 792).
const (
	ICMPEchoReply       = 0
	ICMPDestUnreachable = 3
	ICMPRedirect        = 5
	ICMPEcho            = 8
	ICMPTimeExceeded    = 11
	ICMPParamProblem    = 12
)

// ICMPv4 destination unreachable codes (RFC 792, RFC 1191, RFC 1812 §5.2.7.1).
const (
	ICMPCodeNetUnreachable   = 0
	ICMPCodeHostUnreachable  = 1
	ICMPCodeProtoUnreachable = 2
	ICMPCodePortUnreachable  = 3
	ICMPCodeFragNeeded       = 4 // carries the next-hop MTU (RFC 1191 §4)
	ICMPCodeSourceRouteFail  = 5
	ICMPCodeNetProhibited    = 9
	ICMPCodeHostProhibited   = 10
	ICMPCodeAdminProhibited  = 13
)

// ICMPv4 time exceeded codes (RFC 792).
const (
	ICMPCodeTTLExceeded        = 0
	ICMPCodeReassemblyExceeded = 1
)

// ICMPv4 header layout (RFC 792).
const (
	ICMPv4TypeOffset     = 0
	ICMPv4CodeOffset     = 1
	ICMPv4ChecksumOffset = 2
	ICMPv4RestOffset     = 4 // rest of header: id+seq, unused+MTU, pointer…
	ICMPv4IDOffset       = 4
	ICMPv4SeqOffset      = 6
	ICMPv4MTUOffset      = 6
	ICMPv4HeaderLen      = 8
)

// ICMPv4 is a view of an ICMPv4 message: the 8-byte header and the body.
// Its getters need len >= [ICMPv4HeaderLen]; see [ParseICMPv4].
type ICMPv4 []byte

// ICMPv4Fields are the fields of an ICMPv4 header. The second word is
// Rest | ID<<16 | Seq: set ID and Seq for echo messages, Rest for the
// others (the next-hop MTU of [ICMPCodeFragNeeded] is Rest's low half).
type ICMPv4Fields struct {
	Type, Code uint8
	ID, Seq    uint16
	Rest       uint32
}

// ParseICMPv4 validates a received ICMPv4 message: [ErrTruncated] if it is
// shorter than the header, [ErrBadChecksum] if the checksum over the whole
// message does not verify.
func ParseICMPv4(b []byte) (ICMPv4, error) {
	if len(b) < ICMPv4HeaderLen {
		return nil, ErrTruncated
	}
	m := ICMPv4(b)
	if !m.IsChecksumValid() {
		return nil, ErrBadChecksum
	}
	return m, nil
}

// Type returns the message type.
func (b ICMPv4) Type() uint8 { return b[ICMPv4TypeOffset] }

// Code returns the message code.
func (b ICMPv4) Code() uint8 { return b[ICMPv4CodeOffset] }

// Checksum returns the checksum field.
func (b ICMPv4) Checksum() uint16 { return binary.BigEndian.Uint16(b[ICMPv4ChecksumOffset:]) }

// Rest returns the second header word.
func (b ICMPv4) Rest() uint32 { return binary.BigEndian.Uint32(b[ICMPv4RestOffset:]) }

// ID returns the identifier of an echo or echo reply.
func (b ICMPv4) ID() uint16 { return binary.BigEndian.Uint16(b[ICMPv4IDOffset:]) }

// Seq returns the sequence number of an echo or echo reply.
func (b ICMPv4) Seq() uint16 { return binary.BigEndian.Uint16(b[ICMPv4SeqOffset:]) }

// MTU returns the next-hop MTU of a fragmentation-needed message
// (RFC 1191 §4); 0 from an old router.
func (b ICMPv4) MTU() uint16 { return binary.BigEndian.Uint16(b[ICMPv4MTUOffset:]) }

// Payload returns the body after the header: echo data, or the quoted
// IPv4 header and first bytes of an error message.
func (b ICMPv4) Payload() []byte { return b[ICMPv4HeaderLen:] }

// SetType sets the message type.
func (b ICMPv4) SetType(v uint8) { b[ICMPv4TypeOffset] = v }

// SetCode sets the message code.
func (b ICMPv4) SetCode(v uint8) { b[ICMPv4CodeOffset] = v }

// SetRest sets the second header word.
func (b ICMPv4) SetRest(v uint32) { binary.BigEndian.PutUint32(b[ICMPv4RestOffset:], v) }

// SetID sets the echo identifier.
func (b ICMPv4) SetID(v uint16) { binary.BigEndian.PutUint16(b[ICMPv4IDOffset:], v) }

// SetSeq sets the echo sequence number.
func (b ICMPv4) SetSeq(v uint16) { binary.BigEndian.PutUint16(b[ICMPv4SeqOffset:], v) }

// SetChecksum computes the checksum over the whole message and stores it.
func (b ICMPv4) SetChecksum() {
	b[ICMPv4ChecksumOffset], b[ICMPv4ChecksumOffset+1] = 0, 0
	binary.BigEndian.PutUint16(b[ICMPv4ChecksumOffset:], ^Fold(Checksum(b, 0)))
}

// IsChecksumValid reports whether the checksum over the whole message
// verifies.
func (b ICMPv4) IsChecksumValid() bool { return Fold(Checksum(b, 0)) == 0xffff }

// Encode writes the header from f into b with the checksum field zero;
// write the body, then call [ICMPv4.SetChecksum].
func (b ICMPv4) Encode(f *ICMPv4Fields) {
	_ = b[ICMPv4HeaderLen-1]
	b.SetType(f.Type)
	b.SetCode(f.Code)
	b[ICMPv4ChecksumOffset], b[ICMPv4ChecksumOffset+1] = 0, 0
	b.SetRest(f.Rest | uint32(f.ID)<<16 | uint32(f.Seq))
}

// Fields returns the header's fields. For echo and echo reply it fills ID
// and Seq; for other types, Rest.
func (b ICMPv4) Fields() ICMPv4Fields {
	f := ICMPv4Fields{Type: b.Type(), Code: b.Code()}
	if f.Type == ICMPEcho || f.Type == ICMPEchoReply {
		f.ID, f.Seq = b.ID(), b.Seq()
	} else {
		f.Rest = b.Rest()
	}
	return f
}
