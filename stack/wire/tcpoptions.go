package wire

import "encoding/binary"

// TCP option kinds (IANA "TCP Option Kind Numbers").
const (
	TCPOptEOL           = 0
	TCPOptNOP           = 1
	TCPOptMSS           = 2 // RFC 9293 §3.2
	TCPOptWScale        = 3 // RFC 7323 §2
	TCPOptSACKPermitted = 4 // RFC 2018 §2
	TCPOptSACK          = 5 // RFC 2018 §3
	TCPOptTimestamps    = 8 // RFC 7323 §3
)

// TCP option lengths, kind and length bytes included.
const (
	TCPOptMSSLen           = 4
	TCPOptWScaleLen        = 3
	TCPOptSACKPermittedLen = 2
	TCPOptTimestampsLen    = 10
	TCPOptSACKBlockLen     = 8
	// TCPMaxSACKBlocks is how many SACK blocks fit beside nothing else;
	// with timestamps only three fit (RFC 2018 §3).
	TCPMaxSACKBlocks = 4
	// TCPMaxWScale is the largest shift allowed (RFC 7323 §2.3).
	TCPMaxWScale = 14
)

// SACKBlock is one block of a SACK option: the sequence numbers of the
// first byte received and of the byte after the last (RFC 2018 §3).
type SACKBlock struct {
	Left, Right uint32
}

// TCPOptions holds the options of a TCP header that stacklab understands.
// The zero value means no options. WScale holds the shift as received;
// callers clamp it to [TCPMaxWScale].
type TCPOptions struct {
	MSS           uint16
	HasMSS        bool
	WScale        uint8
	HasWScale     bool
	SACKPermitted bool
	HasTS         bool
	TSVal, TSEcr  uint32
	NSACK         int // number of valid blocks in SACK
	SACK          [TCPMaxSACKBlocks]SACKBlock
}

// ParseTCPOptions parses the option bytes of a TCP header (see
// [TCP.Options]) into o, which it resets first. EOL ends the list;
// unknown kinds are skipped. It returns [ErrBadOption] when a length byte
// is missing, below 2 or runs past the end; the options parsed before the
// bad one stay in o. A known option with a wrong length is skipped, as
// Linux does. It never panics and does not allocate.
func ParseTCPOptions(b []byte, o *TCPOptions) error {
	*o = TCPOptions{}
	for i := 0; i < len(b); {
		kind := b[i]
		switch kind {
		case TCPOptEOL:
			return nil
		case TCPOptNOP:
			i++
			continue
		}
		if i+1 >= len(b) {
			return ErrBadOption
		}
		n := int(b[i+1])
		if n < 2 || i+n > len(b) {
			return ErrBadOption
		}
		v := b[i+2 : i+n]
		switch kind {
		case TCPOptMSS:
			if n == TCPOptMSSLen {
				o.MSS, o.HasMSS = binary.BigEndian.Uint16(v), true
			}
		case TCPOptWScale:
			if n == TCPOptWScaleLen {
				o.WScale, o.HasWScale = v[0], true
			}
		case TCPOptSACKPermitted:
			if n == TCPOptSACKPermittedLen {
				o.SACKPermitted = true
			}
		case TCPOptTimestamps:
			if n == TCPOptTimestampsLen {
				o.HasTS = true
				o.TSVal = binary.BigEndian.Uint32(v)
				o.TSEcr = binary.BigEndian.Uint32(v[4:])
			}
		case TCPOptSACK:
			if k := len(v) / TCPOptSACKBlockLen; len(v)%TCPOptSACKBlockLen == 0 && k >= 1 && k <= TCPMaxSACKBlocks {
				// A later SACK option replaces an earlier one, as in
				// Linux's tcp_parse_options: no stale blocks stay
				// beyond NSACK.
				o.NSACK, o.SACK = k, [TCPMaxSACKBlocks]SACKBlock{}
				for j := range k {
					o.SACK[j] = SACKBlock{
						Left:  binary.BigEndian.Uint32(v[j*8:]),
						Right: binary.BigEndian.Uint32(v[j*8+4:]),
					}
				}
			}
		}
		i += n
	}
	return nil
}

// tcpSACKFit returns how many of o's SACK blocks fit beside the other
// options of a non-SYN segment.
func tcpSACKFit(o *TCPOptions) int {
	room := TCPMaxOptionsLen
	if o.HasTS {
		room -= 2 + TCPOptTimestampsLen
	}
	return min(max(o.NSACK, 0), (room-4)/TCPOptSACKBlockLen, TCPMaxSACKBlocks)
}

// TCPOptionsLen returns the number of bytes [EncodeTCPOptions] writes for
// o, a multiple of 4 and at most [TCPMaxOptionsLen].
func TCPOptionsLen(o *TCPOptions, syn bool) int {
	n := 0
	if syn {
		if o.HasMSS {
			n += TCPOptMSSLen
		}
		if o.HasTS {
			n += 2 + TCPOptTimestampsLen // SACK-permitted or two NOPs, then TS
		}
		if o.HasWScale {
			n += 1 + TCPOptWScaleLen
		}
		if o.SACKPermitted && !o.HasTS {
			n += 2 + TCPOptSACKPermittedLen
		}
		return n
	}
	if o.HasTS {
		n += 2 + TCPOptTimestampsLen
	}
	if k := tcpSACKFit(o); k > 0 {
		n += 4 + k*TCPOptSACKBlockLen
	}
	return n
}

// EncodeTCPOptions writes o into b in the Linux kernel's order and layout
// (tcp_options_write) and returns the number of bytes written, always a
// multiple of 4. With syn set it writes the options of a SYN or SYN-ACK:
// MSS, SACK-permitted, timestamps, NOP, window scale (two NOPs replace
// SACK-permitted without it; without timestamps it comes as NOP NOP
// SACK-permitted before the window scale, as Linux 6.18 sends it). Without syn it writes NOP NOP timestamps and then
// NOP NOP SACK, with as many blocks as fit (three beside timestamps,
// RFC 2018 §3). b must hold [TCPOptionsLen] bytes.
func EncodeTCPOptions(b []byte, o *TCPOptions, syn bool) int {
	_ = b[:TCPOptionsLen(o, syn)]
	i := 0
	if syn && o.HasMSS {
		b[i], b[i+1] = TCPOptMSS, TCPOptMSSLen
		binary.BigEndian.PutUint16(b[i+2:], o.MSS)
		i += TCPOptMSSLen
	}
	if o.HasTS {
		if syn && o.SACKPermitted {
			b[i], b[i+1] = TCPOptSACKPermitted, TCPOptSACKPermittedLen
		} else {
			b[i], b[i+1] = TCPOptNOP, TCPOptNOP
		}
		b[i+2], b[i+3] = TCPOptTimestamps, TCPOptTimestampsLen
		binary.BigEndian.PutUint32(b[i+4:], o.TSVal)
		binary.BigEndian.PutUint32(b[i+8:], o.TSEcr)
		i += 2 + TCPOptTimestampsLen
	}
	if syn {
		// Linux's tcp_options_write: without timestamps, SACK-permitted
		// comes before the window scale: <mss,nop,nop,sackOK,nop,wscale>.
		if o.SACKPermitted && !o.HasTS {
			b[i], b[i+1], b[i+2], b[i+3] = TCPOptNOP, TCPOptNOP, TCPOptSACKPermitted, TCPOptSACKPermittedLen
			i += 4
		}
		if o.HasWScale {
			b[i], b[i+1], b[i+2], b[i+3] = TCPOptNOP, TCPOptWScale, TCPOptWScaleLen, o.WScale
			i += 4
		}
		return i
	}
	if k := tcpSACKFit(o); k > 0 {
		b[i], b[i+1], b[i+2], b[i+3] = TCPOptNOP, TCPOptNOP, TCPOptSACK, byte(2+k*TCPOptSACKBlockLen)
		i += 4
		for j := range k {
			binary.BigEndian.PutUint32(b[i:], o.SACK[j].Left)
			binary.BigEndian.PutUint32(b[i+4:], o.SACK[j].Right)
			i += TCPOptSACKBlockLen
		}
	}
	return i
}
