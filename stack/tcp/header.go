package tcp

import (
	"encoding/binary"
	"net/netip"

	"stacklab/stack/tcp/seqnum"
	"stacklab/stack/wire"
)

// TCP header flag bits (RFC 9293 §3.1).
const (
	flagFIN = uint8(wire.TCPFlagFIN)
	flagSYN = uint8(wire.TCPFlagSYN)
	flagRST = uint8(wire.TCPFlagRST)
	flagPSH = uint8(wire.TCPFlagPSH)
	flagACK = uint8(wire.TCPFlagACK)
	flagURG = uint8(wire.TCPFlagURG)
)

const (
	headerLen    = wire.TCPMinHeaderLen
	maxOptionLen = wire.TCPMaxOptionsLen
	maxSACKIn    = wire.TCPMaxSACKBlocks // SACK blocks kept from one segment
)

// sackBlock is one range [Left, Right) of sequence space (RFC 2018 §3).
type sackBlock struct {
	Left, Right seqnum.Value
}

// options are the TCP options of one segment, parsed or to be encoded.
type options = wire.TCPOptions

// segment is a parsed inbound segment. payload aliases the packet.
type segment struct {
	srcPort, dstPort uint16
	seq, ack         seqnum.Value
	flags            uint8
	hdrLen           uint8 // the TCP header's length with its options, in bytes
	wnd              uint16
	urg              uint16 // the urgent pointer
	payload          []byte
	opts             options
	pktID            uint64
	ecn              uint8  // the IP header's ECN codepoint
	v6               bool   // it came in an IPv6 packet
	flow             uint32 // that packet's flow label
	badOpts          bool   // an option's length was bad: the options after it were not read
}

// seqLen returns the segment's length in sequence space: payload plus
// one each for SYN and FIN (RFC 9293 §3.4).
func (s *segment) seqLen() seqnum.Size {
	n := seqnum.Size(len(s.payload))
	if s.flags&flagSYN != 0 {
		n++
	}
	if s.flags&flagFIN != 0 {
		n++
	}
	return n
}

func (s *segment) has(f uint8) bool { return s.flags&f != 0 }

// parseSegment validates b as a TCP segment with [wire.ParseTCP] and
// [wire.ParseTCPOptions] and fills s. It reports false for a malformed
// header or options; it never panics.
func parseSegment(b []byte, s *segment) bool {
	t, err := wire.ParseTCP(b)
	if err != nil {
		return false
	}
	s.srcPort = t.SrcPort()
	s.dstPort = t.DstPort()
	s.seq = seqnum.Value(t.Seq())
	s.ack = seqnum.Value(t.Ack())
	s.flags = uint8(t.Flags())
	s.wnd = t.Window()
	s.urg = t.Urgent()
	s.payload = t.Payload()
	s.hdrLen = uint8(len(b) - len(s.payload))
	// An option with a bad length ends the parse, keeping the options
	// before it (as Linux's tcp_parse_options does); the caller decides
	// whether the segment is still taken.
	s.badOpts = wire.ParseTCPOptions(t.Options(), &s.opts) != nil
	return true
}

// encodeOptions writes o into b (maxOptionLen bytes) in the Linux
// kernel's order and returns the length, a multiple of 4.
func encodeOptions(b []byte, o *options, syn bool) int {
	return wire.EncodeTCPOptions(b, o, syn)
}

// checksumOK verifies a segment's checksum.
func (p *Proto) checksumOK(src, dst netip.Addr, b []byte) bool {
	return wire.TCP(b).IsChecksumValidPair(p.pair.sum(src, dst))
}

// pairSum remembers the pseudo-header sum of the last address pair a
// segment was checked or sent with: a connection's segments both ways
// share it, so a bulk transfer sums its addresses (eight words each
// over IPv6) once, not twice per segment.
type pairSum struct {
	a, b netip.Addr
	v    uint32
}

// sum returns the addresses' pseudo-header sum, from the remembered
// pair when it is this one, either way round.
func (c *pairSum) sum(src, dst netip.Addr) uint32 {
	if (src == c.a && dst == c.b) || (src == c.b && dst == c.a) {
		return c.v
	}
	c.a, c.b, c.v = src, dst, wire.AddrPairSum(src, dst)
	return c.v
}

// writeHeader fills the fixed header of seg (whose options and payload
// are in place) and its checksum.
func writeHeader(seg []byte, srcPort, dstPort uint16, seq, ack seqnum.Value, flags uint8, wnd uint16, hl int) {
	binary.BigEndian.PutUint16(seg[0:], srcPort)
	binary.BigEndian.PutUint16(seg[2:], dstPort)
	binary.BigEndian.PutUint32(seg[4:], uint32(seq))
	binary.BigEndian.PutUint32(seg[8:], uint32(ack))
	seg[12] = byte(hl/4) << 4
	seg[13] = flags
	binary.BigEndian.PutUint16(seg[14:], wnd)
	seg[18], seg[19] = 0, 0
}

// toWire converts a sequence range to a SACK option block.
func toWire(b sackBlock) wire.SACKBlock {
	return wire.SACKBlock{Left: uint32(b.Left), Right: uint32(b.Right)}
}
