package run

import (
	"encoding/binary"
	"fmt"
	"strings"

	"stacklab/pkt"
	"stacklab/stack/wire"
)

// seg is one TCP segment the stack sent, decoded, with its options in the
// order they were written.
type seg struct {
	at    int64 // virtual nanoseconds since the start
	id    uint64
	proto uint8 // wire.ProtoTCP (the zero value means TCP too), ProtoUDP, ProtoICMP
	// ICMP: type, code and a frag-needed's MTU
	icmpType, icmpCode uint8
	icmpMTU            uint16
	ecn                uint8  // the IP header's ECN field
	flow               uint32 // the IPv6 header's flow label
	srcPort            uint16
	dstPort            uint16
	seq, ack           uint32
	flags              wire.TCPFlags
	win                uint16
	urg                uint16
	length             int
	opts               []opt
	merged             int // segments merged into this one (1 for one)
}

// opt is one TCP option as it appears on the wire.
type opt struct {
	kind         string // nop, eol, mss, wscale, sackOK, sack, TS, or "opt-N"
	value        uint32
	tsVal, tsEcr uint32
	blocks       [][2]uint32
}

// decodeSeg decodes an IPv4/TCP or IPv6/TCP packet the stack sent. ok is
// false for anything else (UDP, ICMP, a malformed packet).
func decodeSeg(b []byte) (s seg, ok bool) {
	proto, ecn, payload, _, ok := ipPayload(b)
	if !ok || proto != wire.ProtoTCP {
		return s, false
	}
	t, err := wire.ParseTCP(payload)
	if err != nil {
		return s, false
	}
	s = seg{
		proto: wire.ProtoTCP, ecn: ecn, flow: flowLabel(b), srcPort: t.SrcPort(), dstPort: t.DstPort(),
		seq: t.Seq(), ack: t.Ack(), flags: t.Flags(), win: t.Window(), urg: t.Urgent(),
		length: len(t.Payload()), merged: 1,
	}
	s.opts = walkOptions(t.Options())
	return s, true
}

// walkOptions lists TCP options in wire order. A malformed list ends
// with an "opt-bad" entry.
func walkOptions(b []byte) []opt {
	var out []opt
	for i := 0; i < len(b); {
		k := b[i]
		switch k {
		case 0:
			out = append(out, opt{kind: "eol"})
			return out
		case 1:
			out = append(out, opt{kind: "nop"})
			i++
			continue
		}
		if i+1 >= len(b) || b[i+1] < 2 || i+int(b[i+1]) > len(b) {
			return append(out, opt{kind: "opt-bad"})
		}
		l := int(b[i+1])
		body := b[i+2 : i+l]
		o := opt{kind: fmt.Sprintf("opt-%d", k)}
		switch {
		case k == 2 && l == 4:
			o = opt{kind: "mss", value: uint32(binary.BigEndian.Uint16(body))}
		case k == 3 && l == 3:
			o = opt{kind: "wscale", value: uint32(body[0])}
		case k == 4 && l == 2:
			o = opt{kind: "sackOK"}
		case k == 5 && (l-2)%8 == 0:
			o = opt{kind: "sack"}
			for j := 0; j+8 <= len(body); j += 8 {
				o.blocks = append(o.blocks, [2]uint32{binary.BigEndian.Uint32(body[j:]), binary.BigEndian.Uint32(body[j+4:])})
			}
		case k == 8 && l == 10:
			o = opt{kind: "TS", tsVal: binary.BigEndian.Uint32(body), tsEcr: binary.BigEndian.Uint32(body[4:])}
		}
		out = append(out, o)
		i += l
	}
	return out
}

// flagsOf returns the TCP flags a script packet names.
func flagsOf(p *pkt.Packet) wire.TCPFlags {
	var f wire.TCPFlags
	for _, c := range p.Flags {
		switch c {
		case 'F':
			f |= wire.FIN
		case 'S':
			f |= wire.SYN
		case 'R':
			f |= wire.RST
		case 'P':
			f |= wire.PSH
		case 'E':
			f |= wire.ECE
		case 'W':
			f |= wire.CWR
		case 'U':
			f |= wire.URG
		}
	}
	if p.AckFlag {
		f |= wire.ACK
	}
	return f
}

// flagLetters writes flags as a script does: F S R P E W U, then '.'.
func flagLetters(f wire.TCPFlags) string {
	var b strings.Builder
	for _, x := range []struct {
		f wire.TCPFlags
		c byte
	}{{wire.FIN, 'F'}, {wire.SYN, 'S'}, {wire.RST, 'R'}, {wire.PSH, 'P'}, {wire.ECE, 'E'}, {wire.CWR, 'W'}, {wire.URG, 'U'}} {
		if f&x.f != 0 {
			b.WriteByte(x.c)
		}
	}
	if f&wire.ACK != 0 {
		b.WriteByte('.')
	}
	return b.String()
}

var ecnNames = [4]string{"noecn", "ect1", "ect0", "ce"}

// ecnField maps a script's ECN mark to the IP header's two bits; -1 for
// ect01 (either ECT codepoint) and for none written.
func ecnField(name string) int {
	switch name {
	case "noecn":
		return 0
	case "ect1":
		return 1
	case "ect0":
		return 2
	case "ce":
		return 3
	}
	return -1
}

// encodeOptions writes a script packet's options in its order. mapSack
// and mapEcr turn script values into live ones.
func encodeOptions(opts []pkt.TCPOption, mapSack func(uint32) uint32, mapEcr func(uint32) uint32) ([]byte, error) {
	var b []byte
	for _, o := range opts {
		switch o.Kind {
		case "nop":
			b = append(b, 1)
		case "eol":
			b = append(b, 0)
		case "mss":
			b = append(b, 2, 4, byte(o.Value>>8), byte(o.Value))
		case "wscale":
			b = append(b, 3, 3, byte(o.Value))
		case "sackOK":
			b = append(b, 4, 2)
		case "sack":
			b = append(b, 5, byte(2+8*len(o.Blocks)))
			for _, bl := range o.Blocks {
				b = binary.BigEndian.AppendUint32(b, mapSack(bl[0]))
				b = binary.BigEndian.AppendUint32(b, mapSack(bl[1]))
			}
		case "TS":
			b = append(b, 8, 10)
			b = binary.BigEndian.AppendUint32(b, o.TSVal)
			b = binary.BigEndian.AppendUint32(b, mapEcr(o.TSEcr))
		default:
			return nil, fmt.Errorf("%s: option %s cannot be injected by stacklab's runner", o.Pos, o.Kind)
		}
	}
	if len(b) > wire.TCPMaxOptionsLen {
		return nil, fmt.Errorf("options take %d bytes, more than the 40 a TCP header holds", len(b))
	}
	for len(b)%4 != 0 {
		b = append(b, 0) // EOL padding
	}
	return b, nil
}

// formatOpts writes options as a script would, with seq mapping applied
// by rel for SACK blocks.
func formatOpts(opts []opt, rel func(uint32) uint32) string {
	parts := make([]string, 0, len(opts))
	for _, o := range opts {
		switch o.kind {
		case "mss", "wscale":
			parts = append(parts, fmt.Sprintf("%s %d", o.kind, o.value))
		case "TS":
			parts = append(parts, fmt.Sprintf("TS val %d ecr %d", o.tsVal, o.tsEcr))
		case "sack":
			s := "sack"
			for _, bl := range o.blocks {
				s += fmt.Sprintf(" %d:%d", rel(bl[0]), rel(bl[1]))
			}
			parts = append(parts, s)
		default:
			parts = append(parts, o.kind)
		}
	}
	return "<" + strings.Join(parts, ",") + ">"
}
