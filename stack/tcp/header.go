package tcp

import (
	"encoding/binary"
	"net/netip"

	"stacklab/stack/tcp/seqnum"
)

// TCP header flag bits (RFC 9293 §3.1).
const (
	flagFIN = 1 << 0
	flagSYN = 1 << 1
	flagRST = 1 << 2
	flagPSH = 1 << 3
	flagACK = 1 << 4
	flagURG = 1 << 5
)

const (
	headerLen    = 20
	maxOptionLen = 40
	maxSACKIn    = 4 // SACK blocks kept from one segment
)

// TCP option kinds (IANA).
const (
	optEOL       = 0
	optNOP       = 1
	optMSS       = 2
	optWScale    = 3
	optSACKPerm  = 4
	optSACK      = 5
	optTimestamp = 8
)

// sackBlock is one SACK block [Left, Right) (RFC 2018 §3).
type sackBlock struct {
	Left, Right seqnum.Value
}

// options are the TCP options of one segment, parsed or to be encoded.
type options struct {
	mss       uint16
	hasMSS    bool
	wscale    uint8
	hasWScale bool
	sackPerm  bool
	hasTS     bool
	tsVal     uint32
	tsEcr     uint32
	nsack     int
	sack      [maxSACKIn]sackBlock
}

// segment is a parsed inbound segment. payload aliases the packet.
type segment struct {
	srcPort, dstPort uint16
	seq, ack         seqnum.Value
	flags            uint8
	wnd              uint16
	payload          []byte
	opts             options
	pktID            uint64
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

// parseSegment validates b as a TCP segment and fills s. It reports false
// for a malformed header or options; it never panics.
func parseSegment(b []byte, s *segment) bool {
	if len(b) < headerLen {
		return false
	}
	off := int(b[12]>>4) * 4
	if off < headerLen || off > len(b) {
		return false
	}
	s.srcPort = binary.BigEndian.Uint16(b[0:])
	s.dstPort = binary.BigEndian.Uint16(b[2:])
	s.seq = seqnum.Value(binary.BigEndian.Uint32(b[4:]))
	s.ack = seqnum.Value(binary.BigEndian.Uint32(b[8:]))
	s.flags = b[13]
	s.wnd = binary.BigEndian.Uint16(b[14:])
	s.payload = b[off:]
	return parseOptions(b[headerLen:off], &s.opts)
}

// parseOptions parses TCP options (RFC 9293 §3.2). Unknown kinds are
// skipped; a malformed length makes it report false.
func parseOptions(b []byte, o *options) bool {
	*o = options{}
	for len(b) > 0 {
		kind := b[0]
		switch kind {
		case optEOL:
			return true
		case optNOP:
			b = b[1:]
			continue
		}
		if len(b) < 2 {
			return false
		}
		l := int(b[1])
		if l < 2 || l > len(b) {
			return false
		}
		v := b[2:l]
		switch kind {
		case optMSS:
			if l != 4 {
				return false
			}
			o.mss, o.hasMSS = binary.BigEndian.Uint16(v), true
		case optWScale:
			if l != 3 {
				return false
			}
			o.wscale, o.hasWScale = v[0], true
		case optSACKPerm:
			if l != 2 {
				return false
			}
			o.sackPerm = true
		case optTimestamp:
			if l != 10 {
				return false
			}
			o.hasTS = true
			o.tsVal = binary.BigEndian.Uint32(v)
			o.tsEcr = binary.BigEndian.Uint32(v[4:])
		case optSACK:
			if (l-2)%8 != 0 || l == 2 {
				return false
			}
			o.nsack = 0
			for i := 0; i+8 <= len(v) && o.nsack < maxSACKIn; i += 8 {
				o.sack[o.nsack] = sackBlock{
					seqnum.Value(binary.BigEndian.Uint32(v[i:])),
					seqnum.Value(binary.BigEndian.Uint32(v[i+4:])),
				}
				o.nsack++
			}
		}
		b = b[l:]
	}
	return true
}

// encodeOptions writes o into b in the Linux kernel's order and layout
// (SYN: MSS, SACK-permitted, timestamps, NOP, window scale; otherwise NOP
// NOP timestamps, NOP NOP SACK) and returns the length, a multiple of 4.
// b must hold maxOptionLen bytes.
func encodeOptions(b []byte, o *options) int {
	n := 0
	if o.hasMSS {
		b[0], b[1] = optMSS, 4
		binary.BigEndian.PutUint16(b[2:], o.mss)
		n = 4
	}
	switch {
	case o.sackPerm && o.hasTS:
		b[n], b[n+1] = optSACKPerm, 2
		n += 2
	case o.sackPerm:
		b[n], b[n+1], b[n+2], b[n+3] = optNOP, optNOP, optSACKPerm, 2
		n += 4
	case o.hasTS:
		b[n], b[n+1] = optNOP, optNOP
		n += 2
	}
	if o.hasTS {
		b[n], b[n+1] = optTimestamp, 10
		binary.BigEndian.PutUint32(b[n+2:], o.tsVal)
		binary.BigEndian.PutUint32(b[n+6:], o.tsEcr)
		n += 10
	}
	if o.hasWScale {
		b[n], b[n+1], b[n+2], b[n+3] = optNOP, optWScale, 3, o.wscale
		n += 4
	}
	if o.nsack > 0 {
		b[n], b[n+1], b[n+2], b[n+3] = optNOP, optNOP, optSACK, byte(2+8*o.nsack)
		n += 4
		for i := 0; i < o.nsack; i++ {
			binary.BigEndian.PutUint32(b[n:], uint32(o.sack[i].Left))
			binary.BigEndian.PutUint32(b[n+4:], uint32(o.sack[i].Right))
			n += 8
		}
	}
	return n
}

// checksum returns the one's-complement sum of b added to initial,
// unfolded (RFC 1071).
func checksum(b []byte, initial uint64) uint64 {
	s := initial
	for len(b) >= 8 {
		v := binary.BigEndian.Uint64(b)
		s += v >> 32
		s += v & 0xffffffff
		b = b[8:]
	}
	for len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return s
}

// fold folds a 64-bit sum to 16 bits.
func fold(s uint64) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// pseudoSum is the IPv4 pseudo-header sum for a TCP segment of length n
// (RFC 9293 §3.1).
func pseudoSum(src, dst netip.Addr, n int) uint64 {
	a, d := src.As4(), dst.As4()
	return uint64(binary.BigEndian.Uint16(a[0:])) + uint64(binary.BigEndian.Uint16(a[2:])) +
		uint64(binary.BigEndian.Uint16(d[0:])) + uint64(binary.BigEndian.Uint16(d[2:])) +
		6 + uint64(n)
}

// checksumOK verifies a segment's checksum.
func checksumOK(src, dst netip.Addr, b []byte) bool {
	return fold(checksum(b, pseudoSum(src, dst, len(b)))) == 0xffff
}
