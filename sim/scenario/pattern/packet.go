// Package pattern reads and matches tcpdump-like packet patterns
// ("client > server [S.] ack 1") against frames decoded to summaries with
// relative sequence numbers, for scenario expectations, faults and
// injected segments, and for other runners of scripted packets.
package pattern

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"stacklab/stack"
)

// Summary is what expectations see of one frame at one vantage point.
type Summary struct {
	Time     time.Duration // since the start of the run
	Host     string        // the host whose NIC saw it
	Vantage  string        // "host:ifname"
	Dir      stack.Dir
	NSACK    uint8 // how many of SACK are set
	ID       uint64
	Src, Dst netip.AddrPort // port 0 for ICMP and ARP
	Proto    string         // "tcp", "udp", "icmp", "arp", "ip", "?"
	Flags    string         // tcpdump style: "S", "S.", ".", "P.", "F.", "R", "R."
	Seq, Ack uint32         // relative to each direction's ISN
	Len      int            // payload bytes (TCP/UDP), ICMP data
	Win      int
	ICMP     string // "echo", "echo-reply", "unreachable", "time-exceeded", …
	// SACK blocks (RFC 2018), relative to the other direction's ISN; nil
	// without a SACK option. Kept out of line: most segments carry none,
	// and the runner keeps a summary of every frame.
	SACK *[4][2]uint32
}

// flowKey names one direction of a transport flow.
type flowKey struct{ src, dst netip.AddrPort }

// Decoder turns frames into summaries, tracking each TCP direction's
// initial sequence number for relative numbers, as tcpdump and Wireshark do.
type Decoder struct {
	flows map[flowKey]*flowState
	n     int
	sacks [][4][2]uint32 // storage for Summary.SACK, handed out in chunks
	// last is the previous TCP segment's flow and its reverse, as in
	// flows (nil where flows has none): a transfer's data and ACKs
	// alternate between the two, and this saves two map lookups of
	// 64-byte keys per segment. Every change to flows updates it.
	lastKey        flowKey
	lastFs, lastBk *flowState
	lastOK         bool
}

// lookup returns the states of flow k and of its reverse.
func (d *Decoder) lookup(k flowKey) (fs, back *flowState) {
	if d.lastOK {
		switch k {
		case d.lastKey:
			return d.lastFs, d.lastBk
		case flowKey{d.lastKey.dst, d.lastKey.src}:
			return d.lastBk, d.lastFs
		}
	}
	fs, back = d.flows[k], d.flows[flowKey{k.dst, k.src}]
	d.lastKey, d.lastFs, d.lastBk, d.lastOK = k, fs, back, true
	return fs, back
}

func NewDecoder() *Decoder { return &Decoder{flows: map[flowKey]*flowState{}} }

// Decode fills sum from a frame; it never panics on short input.
func (d *Decoder) Decode(data []byte, lt stack.LinkType, sum *Summary) {
	sum.Proto = "?"
	if lt == stack.LinkEthernet {
		if len(data) < 14 {
			return
		}
		switch binary.BigEndian.Uint16(data[12:14]) {
		case 0x0806:
			sum.Proto = "arp"
			if len(data) >= 14+28 {
				a := data[14:]
				sum.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[14:18])), 0)
				sum.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[24:28])), 0)
				if binary.BigEndian.Uint16(a[6:8]) == 1 {
					sum.Flags = "request"
				} else {
					sum.Flags = "reply"
				}
			}
			return
		case 0x0800, 0x86dd:
			data = data[14:]
		default:
			return
		}
	}
	if len(data) >= 40 && data[0]>>4 == 6 {
		d.decode6(data, sum)
		return
	}
	if len(data) < 20 || data[0]>>4 != 4 {
		return
	}
	ihl := int(data[0]&0xf) * 4
	total := int(binary.BigEndian.Uint16(data[2:4]))
	if ihl < 20 || total < ihl || len(data) < ihl {
		return
	}
	if total < len(data) {
		data = data[:total]
	}
	src := netip.AddrFrom4([4]byte(data[12:16]))
	dst := netip.AddrFrom4([4]byte(data[16:20]))
	sum.Src, sum.Dst = netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 0)
	sum.Proto = "ip"
	if binary.BigEndian.Uint16(data[6:8])&0x1fff != 0 {
		return // a later fragment
	}
	d.decodeL4(data[9], src, dst, data[ihl:], sum)
}

// decode6 fills sum from an IPv6 packet, walking its extension headers.
func (d *Decoder) decode6(data []byte, sum *Summary) {
	if n := 40 + int(binary.BigEndian.Uint16(data[4:6])); n < len(data) {
		data = data[:n]
	}
	src := netip.AddrFrom16([16]byte(data[8:24]))
	dst := netip.AddrFrom16([16]byte(data[24:40]))
	sum.Src, sum.Dst = netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 0)
	sum.Proto = "ip"
	next, off := data[6], 40
	for range 8 {
		switch next {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if off+8 > len(data) {
				return
			}
			next, off = data[off], off+(int(data[off+1])+1)*8
			continue
		case 44: // fragment
			if off+8 > len(data) || binary.BigEndian.Uint16(data[off+2:off+4])&^7 != 0 {
				return // a later fragment
			}
			next, off = data[off], off+8
			continue
		}
		break
	}
	if off > len(data) {
		return
	}
	d.decodeL4(next, src, dst, data[off:], sum)
}

// icmp6Names are the ICMPv6 types as patterns name them.
var icmp6Names = map[uint8]string{1: "unreachable", 2: "too-big", 3: "time-exceeded", 4: "param-problem",
	128: "echo", 129: "echo-reply", 133: "rs", 134: "ra", 135: "ns", 136: "na", 137: "redirect"}

// decodeL4 fills sum from a transport header of protocol proto.
func (d *Decoder) decodeL4(proto uint8, src, dst netip.Addr, l4 []byte, sum *Summary) {
	switch proto {
	case 58:
		sum.Proto = "icmp6"
		if len(l4) < 8 {
			return
		}
		sum.Len = len(l4) - 8
		if n, ok := icmp6Names[l4[0]]; ok {
			sum.ICMP = n
		} else {
			sum.ICMP = fmt.Sprintf("type-%d", l4[0])
		}
		if l4[0] == 128 || l4[0] == 129 {
			sum.Seq = uint32(binary.BigEndian.Uint16(l4[6:8]))
		}
	case 1:
		sum.Proto = "icmp"
		if len(l4) < 8 {
			return
		}
		sum.Len = len(l4) - 8
		switch l4[0] {
		case 0:
			sum.ICMP = "echo-reply"
		case 8:
			sum.ICMP = "echo"
		case 3:
			sum.ICMP = "unreachable"
		case 11:
			sum.ICMP = "time-exceeded"
		default:
			sum.ICMP = fmt.Sprintf("type-%d", l4[0])
		}
		if l4[0] == 0 || l4[0] == 8 {
			sum.Seq = uint32(binary.BigEndian.Uint16(l4[6:8]))
		}
	case 17:
		sum.Proto = "udp"
		if len(l4) < 8 {
			return
		}
		sum.Src, sum.Dst = l4Ports(src, dst, l4)
		// The header's length, which counts the whole datagram even when
		// this is only its first fragment.
		sum.Len = max(int(binary.BigEndian.Uint16(l4[4:6]))-8, 0)
	case 6:
		sum.Proto = "tcp"
		if len(l4) < 20 {
			return
		}
		sum.Src, sum.Dst = l4Ports(src, dst, l4)
		off := int(l4[12]>>4) * 4
		if off < 20 || off > len(l4) {
			return
		}
		sum.Len = len(l4) - off
		fl := l4[13]
		sum.Flags = TCPFlags(fl)
		sum.Win = int(binary.BigEndian.Uint16(l4[14:16]))
		seq := binary.BigEndian.Uint32(l4[4:8])
		ack := binary.BigEndian.Uint32(l4[8:12])
		k := flowKey{sum.Src, sum.Dst}
		fs, back := d.lookup(k)
		// A SYN starts a new connection on the same ports only once the
		// old one has ended; a SYN inside a live connection (RFC 5961 §4)
		// is numbered as part of it.
		if fs == nil || fl&0x02 != 0 && seq != fs.isn && (fs.ended || back != nil && back.ended) {
			fs = &flowState{isn: seq}
			d.flows[k] = fs
			if back != nil && fl&0x10 == 0 {
				delete(d.flows, flowKey{sum.Dst, sum.Src})
				back = nil
			}
			d.lastKey, d.lastFs, d.lastBk, d.lastOK = k, fs, back, true
		}
		// A FIN ends the flow, and so does a RST at the expected sequence
		// number; one elsewhere in the window is ignored (RFC 5961 §3).
		if fl&0x01 != 0 || fl&0x04 != 0 && seq-fs.isn == fs.next {
			fs.ended = true
		}
		d.n++
		fs.seen = d.n
		seq -= fs.isn
		sum.Seq = seq
		end := seq + uint32(sum.Len)
		if fl&0x03 != 0 {
			end++ // SYN and FIN take a sequence number
		}
		if int32(end-fs.next) > 0 {
			fs.next = end
		}
		if fl&0x10 != 0 {
			if back != nil {
				ack -= back.isn
			}
			sum.Ack = ack
		}
		d.decodeSACK(sum, l4[20:off], back)
	}
}

// l4Ports pairs the addresses with the source and destination ports that
// open a UDP or TCP header.
func l4Ports(src, dst netip.Addr, l4 []byte) (netip.AddrPort, netip.AddrPort) {
	return netip.AddrPortFrom(src, binary.BigEndian.Uint16(l4[0:2])), netip.AddrPortFrom(dst, binary.BigEndian.Uint16(l4[2:4]))
}

// decodeSACK reads the SACK option's blocks (RFC 2018 §3) from a TCP
// header's options, relative to the ISN of back (the data's direction).
func (d *Decoder) decodeSACK(sum *Summary, opts []byte, back *flowState) {
	for len(opts) > 0 {
		kind := opts[0]
		if kind == 0 {
			return
		}
		if kind == 1 {
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 || int(opts[1]) < 2 || int(opts[1]) > len(opts) {
			return
		}
		if kind == 5 && opts[1] >= 10 {
			if len(d.sacks) == cap(d.sacks) {
				d.sacks = make([][4][2]uint32, 0, 256)
			}
			d.sacks = d.sacks[:len(d.sacks)+1]
			sum.SACK = &d.sacks[len(d.sacks)-1]
			b := opts[2:opts[1]]
			for len(b) >= 8 && int(sum.NSACK) < len(sum.SACK) {
				l, r := binary.BigEndian.Uint32(b[0:4]), binary.BigEndian.Uint32(b[4:8])
				if back != nil {
					l, r = l-back.isn, r-back.isn
				}
				sum.SACK[sum.NSACK] = [2]uint32{l, r}
				sum.NSACK++
				b = b[8:]
			}
		}
		opts = opts[opts[1]:]
	}
}

// sackString writes the SACK blocks as a pattern does: "4345:5793,7241:8689",
// or "none".
func (sum *Summary) sackString() string {
	if sum.NSACK == 0 {
		return "none"
	}
	var b strings.Builder
	for i := 0; i < int(sum.NSACK); i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%d:%d", sum.SACK[i][0], sum.SACK[i][1])
	}
	return b.String()
}

// tcpFlagLetters names each TCP flag bit by its tcpdump letter, in the
// order tcpdump prints them: F S R P U E W, then "." for ACK.
var tcpFlagLetters = [...]struct {
	bit byte
	c   byte
}{{0x01, 'F'}, {0x02, 'S'}, {0x04, 'R'}, {0x08, 'P'}, {0x20, 'U'}, {0x40, 'E'}, {0x80, 'W'}, {0x10, '.'}}

// TCPFlags writes flags as tcpdump does: F S R P U E W, then "." for ACK.
func TCPFlags(f byte) string {
	var b [9]byte
	n := 0
	for _, x := range tcpFlagLetters {
		if f&x.bit != 0 {
			b[n] = x.c
			n++
		}
	}
	if n == 0 {
		return "none"
	}
	return string(b[:n])
}

// ParseTCPFlags reads flags written as tcpdump letters ("S.", "P.");
// letters it does not know are ignored.
func ParseTCPFlags(s string) byte {
	var f byte
	for _, c := range s {
		for _, x := range tcpFlagLetters {
			if rune(x.c) == c {
				f |= x.bit
			}
		}
	}
	return f
}

// Format prints the summary in the terse style patterns are written in,
// with names for known addresses.
func (p *Summary) Format(names map[netip.Addr]string) string {
	name := func(ap netip.AddrPort) string {
		n, ok := names[ap.Addr()]
		if !ok {
			n = ap.Addr().String()
		}
		if ap.Port() != 0 {
			n = fmt.Sprintf("%s:%d", n, ap.Port())
		}
		return n
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s > %s", name(p.Src), name(p.Dst))
	switch p.Proto {
	case "tcp":
		fmt.Fprintf(&b, " [%s] seq %d", p.Flags, p.Seq)
		if p.Len > 0 {
			fmt.Fprintf(&b, ":%d", p.Seq+uint32(p.Len))
		}
		if strings.Contains(p.Flags, ".") {
			fmt.Fprintf(&b, " ack %d", p.Ack)
		}
		fmt.Fprintf(&b, " win %d len %d", p.Win, p.Len)
		if p.NSACK > 0 {
			b.WriteString(" sack " + p.sackString())
		}
	case "udp":
		fmt.Fprintf(&b, " udp len %d", p.Len)
	case "icmp", "icmp6":
		fmt.Fprintf(&b, " %s %s", p.Proto, p.ICMP)
		if p.ICMP == "echo" || p.ICMP == "echo-reply" {
			fmt.Fprintf(&b, " seq %d", p.Seq)
		}
	case "arp":
		fmt.Fprintf(&b, " arp %s", p.Flags)
	default:
		b.WriteString(" " + p.Proto)
	}
	return b.String()
}

// flowState is what the decoder knows of one direction of a TCP flow:
// where its sequence numbers start and how far they got, so that an
// injected segment can be written in relative numbers.
type flowState struct {
	isn   uint32
	next  uint32 // relative: the highest sequence number sent plus one
	seen  int    // order of the last packet, to find the latest flow
	ended bool   // a FIN or RST was seen
}

// Flow is where one direction of a TCP flow stands: its initial sequence
// number and the relative number after the highest one sent, and the same
// for the other direction when it was seen (HasBack).
type Flow struct {
	Src, Dst          netip.AddrPort
	ISN, Next         uint32
	HasBack           bool
	BackISN, BackNext uint32
}

// Latest returns the direction of a TCP flow seen most recently among
// those fit accepts.
func (d *Decoder) Latest(fit func(src, dst netip.AddrPort) bool) (Flow, bool) {
	var key flowKey
	var fs *flowState
	for k, st := range d.flows {
		if !fit(k.src, k.dst) {
			continue
		}
		if fs == nil || st.seen > fs.seen {
			key, fs = k, st
		}
	}
	if fs == nil {
		return Flow{}, false
	}
	f := Flow{Src: key.src, Dst: key.dst, ISN: fs.isn, Next: fs.next}
	if back := d.flows[flowKey{key.dst, key.src}]; back != nil {
		f.HasBack, f.BackISN, f.BackNext = true, back.isn, back.next
	}
	return f, true
}
