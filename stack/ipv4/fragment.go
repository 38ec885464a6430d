package ipv4

import (
	"syscall"

	"stacklab/stack/wire"
)

// Fragment sends pkt, a complete and valid IPv4 packet, through emit in
// pieces of at most mtu bytes (RFC 791 §3.2 "Fragmentation"). A packet
// that fits is passed to emit unchanged and nothing is allocated.
// Otherwise each fragment carries a multiple of 8 bytes of data except the
// last; the first keeps the whole header, the others only the options
// whose copied flag is set (RFC 791 §3.1); all keep the identification,
// and a packet that was itself a fragment keeps its offset and MF bit on
// the last piece. Fragments are built in scratch, which must hold mtu
// bytes (it is allocated if shorter), and are valid only during emit.
//
// It returns syscall.EMSGSIZE, sending nothing, if pkt does not fit and
// has DF set (the caller answers with ICMP fragmentation needed), and
// syscall.EINVAL, sending nothing, if mtu is below 68 or too small for
// the header plus 8 bytes, or if pkt is a fragment whose data reaches past
// the 65535 bytes a datagram may have (its pieces' offsets would wrap
// around to the start of the datagram).
func Fragment(pkt wire.IPv4, mtu int, scratch []byte, emit func(frag wire.IPv4)) error {
	if len(pkt) <= mtu {
		emit(pkt)
		return nil
	}
	if pkt.DF() {
		return syscall.EMSGSIZE
	}
	if mtu < wire.IPv4MinMTU {
		return syscall.EINVAL
	}
	if int(pkt.FragmentOffset())+len(pkt.Payload()) > wire.IPv4MaxTotalLen-wire.IPv4MinHeaderLen {
		return syscall.EINVAL // RFC 791 §3.2: no datagram is longer
	}
	hl := pkt.HeaderLen()
	// The header of later fragments: the fixed part and copied options.
	var later [wire.IPv4MaxHeaderLen]byte
	copy(later[:], pkt[:wire.IPv4MinHeaderLen])
	hl2 := wire.IPv4MinHeaderLen + copyOptions(later[wire.IPv4MinHeaderLen:], pkt.Options())
	later[0] = 4<<4 | byte(hl2/4)

	firstPer := (mtu - hl) &^ 7
	laterPer := (mtu - hl2) &^ 7
	if firstPer <= 0 || laterPer <= 0 {
		return syscall.EINVAL
	}
	if len(scratch) < mtu {
		scratch = make([]byte, mtu)
	}
	data := pkt.Payload()
	base := pkt.FragmentOffset()
	lastMF := pkt.More()
	for off := 0; off < len(data); {
		h, per := pkt[:hl], firstPer
		if off > 0 {
			h, per = later[:hl2], laterPer
		}
		end := min(off+per, len(data))
		n := copy(scratch, h)
		n += copy(scratch[n:], data[off:end])
		f := wire.IPv4(scratch[:n])
		f.SetTotalLen(uint16(n))
		f.SetFlagsFragment(false, end < len(data) || lastMF, base+uint16(off))
		f.SetChecksum()
		emit(f)
		off = end
	}
	return nil
}

// copyOptions copies into dst the options of src whose copied flag is
// set, pads them with EOL to a multiple of 4 and returns their length.
// Malformed options end the copy.
func copyOptions(dst, src []byte) int {
	n := 0
	for i := 0; i < len(src); {
		t := src[i]
		if t == 0 { // EOL
			break
		}
		if t == 1 { // NOP
			i++
			continue
		}
		if i+1 >= len(src) {
			break
		}
		l := int(src[i+1])
		if l < 2 || i+l > len(src) {
			break
		}
		if t&0x80 != 0 {
			n += copy(dst[n:], src[i:i+l])
		}
		i += l
	}
	for n%4 != 0 {
		dst[n] = 0
		n++
	}
	return n
}
