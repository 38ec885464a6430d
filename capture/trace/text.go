package trace

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"stacklab/stack/core"
	"stacklab/stack/wire"
)

// appendTime appends d in seconds with 6 decimals, right-aligned in 9
// columns (" 0.001000"), rounded to the microsecond.
func appendTime(b []byte, d time.Duration) []byte {
	neg := d < 0
	if neg {
		d = -d
	}
	us := (int64(d) + 500) / 1000
	sec, frac := us/1_000_000, us%1_000_000
	var tmp [32]byte
	n := len(tmp)
	for i := 0; i < 6; i++ {
		n--
		tmp[n] = byte('0' + frac%10)
		frac /= 10
	}
	n--
	tmp[n] = '.'
	for {
		n--
		tmp[n] = byte('0' + sec%10)
		sec /= 10
		if sec == 0 {
			break
		}
	}
	if neg {
		n--
		tmp[n] = '-'
	}
	for w := len(tmp) - n; w < 9; w++ {
		b = append(b, ' ')
	}
	return append(b, tmp[n:]...)
}

// appendName appends a's host name, or a itself.
func (t *Tracer) appendNameText(b []byte, a netip.Addr) []byte {
	if n, ok := t.names.get(a); ok {
		return append(b, n...)
	}
	if !a.IsValid() {
		return append(b, '?')
	}
	return a.AppendTo(b)
}

// nameOf returns a's host name, or a as a string.
func (t *Tracer) nameOf(a netip.Addr) string {
	if n, ok := t.names.get(a); ok {
		return n
	}
	if !a.IsValid() {
		return "?"
	}
	return a.String()
}

const hexDigits = "0123456789abcdef"

func appendMAC(b []byte, m wire.MAC) []byte {
	for i, v := range m {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hexDigits[v>>4], hexDigits[v&0xf])
	}
	return b
}

func appendHex16(b []byte, v uint16) []byte {
	return append(b, '0', 'x', hexDigits[v>>12], hexDigits[v>>8&0xf], hexDigits[v>>4&0xf], hexDigits[v&0xf])
}

// appendUint appends v in decimal. It writes the digits in place, two
// at a time, which is faster than strconv.AppendUint's copy from a
// scratch array for the many short numbers of a trace.
func appendUint(b []byte, v uint64) []byte {
	if v < 10 {
		return append(b, byte('0'+v))
	}
	n := decimalLen(v)
	b = slicesGrow(b, n)
	i := len(b) + n
	b = b[:i]
	for v >= 100 {
		q := v / 100
		r := v - q*100
		i -= 2
		b[i], b[i+1] = digitPairs[2*r], digitPairs[2*r+1]
		v = q
	}
	if v >= 10 {
		i -= 2
		b[i], b[i+1] = digitPairs[2*v], digitPairs[2*v+1]
	} else {
		i--
		b[i] = byte('0' + v)
	}
	return b
}

const digitPairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

// decimalLen returns the number of decimal digits of v.
func decimalLen(v uint64) int {
	n := 1
	for v >= 10000 {
		v /= 10000
		n += 4
	}
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}

// slicesGrow makes room for n more bytes in b.
func slicesGrow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	return append(b, make([]byte, n)...)[:len(b)]
}

func appendAddrPort(b []byte, a netip.AddrPort) []byte { return a.AppendTo(b) }

// endpoints returns the source and destination the header line shows.
func (t *Tracer) appendEndpoints(b []byte, p *packet, arrow string) []byte {
	switch {
	case p.isIP():
		b = t.appendNameText(b, p.src())
		b = append(b, arrow...)
		return t.appendNameText(b, p.dst())
	case p.hasARP:
		b = t.appendNameText(b, p.arp.SenderIP())
		b = append(b, arrow...)
		if p.eth.Dst().IsBroadcast() {
			return append(b, "broadcast"...)
		}
		return t.appendNameText(b, p.arp.TargetIP())
	case p.hasEth:
		b = appendMAC(b, p.eth.Src())
		b = append(b, arrow...)
		return appendMAC(b, p.eth.Dst())
	}
	b = append(b, '?')
	b = append(b, arrow...)
	return append(b, '?')
}

// appendFrameText appends a packet block: a header line and one line a
// layer, or a one-line receipt for a frame already shown when sent.
func (t *Tracer) appendFrameText(b []byte, f *Frame, d time.Duration, rseq, rack uint32, seenBefore bool) []byte {
	p := &t.pkt
	b = t.cache.time.append(b, d, appendTime)
	b = append(b, ' ')
	if seenBefore && f.Drop == "" {
		// The frame was shown when it was sent: one line for its arrival.
		b = append(b, f.Vantage...)
		b = append(b, " ← "...)
		if p.isIP() {
			b = t.appendNameText(b, p.src())
		} else if p.hasARP {
			b = t.appendNameText(b, p.arp.SenderIP())
		} else {
			b = append(b, '?')
		}
		b = t.appendIDLen(b, f.ID, p.size)
		b = t.appendRTTText(b)
		b = appendNote(b, f.Note)
		return append(b, '\n')
	}
	if p.hasIP {
		var k lineKey
		copy(k[:], p.ip[12:20])
		if text, ok := t.cache.ends.get(&k); ok {
			b = append(b, text...)
		} else {
			start := len(b)
			b = t.appendEndpoints(b, p, " → ")
			t.cache.ends.put(&k, b[start:])
		}
	} else {
		b = t.appendEndpoints(b, p, " → ")
	}
	b = t.appendIDLen(b, f.ID, p.size)
	if f.Vantage != "" {
		switch {
		case f.Dir == DirOut && !t.isSource(f.Host, p):
			b = append(b, "  via "...)
			b = append(b, f.Vantage...)
		case f.Dir == DirIn:
			b = append(b, "  at "...)
			b = append(b, f.Vantage...)
		}
	}
	b = appendNote(b, f.Note)
	b = append(b, '\n')
	b = t.appendLayersText(b, p, rseq, rack)
	if f.Drop != "" {
		b = append(b, "   dropped  "...)
		b = append(b, f.Drop...)
		b = append(b, '\n')
	}
	return b
}

// isSource reports whether host may be the packet's source: its name,
// or an address with no name (then nothing says otherwise).
func (t *Tracer) isSource(host string, p *packet) bool {
	var n string
	var ok bool
	switch {
	case p.isIP():
		n, ok = t.names.get(p.src())
	case p.hasARP:
		n, ok = t.names.get(p.arp.SenderIP())
	}
	return !ok || n == host
}

func (t *Tracer) appendIDLen(b []byte, id uint64, size int) []byte {
	b = append(b, "  #"...)
	b = appendUint(b, id)
	b = append(b, "  "...)
	b = t.cache.num[numSize].append(b, uint64(size))
	return append(b, " B"...)
}

func appendNote(b []byte, note string) []byte {
	if note == "" {
		return b
	}
	b = append(b, "  ("...)
	b = append(b, note...)
	return append(b, ')')
}

func (t *Tracer) appendLayersText(b []byte, p *packet, rseq, rack uint32) []byte {
	if p.hasEth {
		var k lineKey
		copy(k[:], p.eth[:wire.EthernetHeaderLen])
		if text, ok := t.cache.eth.get(&k); ok {
			b = append(b, text...)
		} else {
			start := len(b)
			b = append(b, "   eth   "...)
			b = appendMAC(b, p.eth.Src())
			b = append(b, " → "...)
			b = appendMAC(b, p.eth.Dst())
			b = append(b, "  "...)
			b = appendEtherType(b, p.eth.Type())
			b = append(b, '\n')
			t.cache.eth.put(&k, b[start:])
		}
	}
	if p.hasARP {
		b = append(b, "   arp   "...)
		b = appendARP(b, p.arp)
		b = append(b, '\n')
	}
	if p.hasIP {
		ip := p.ip
		var k lineKey
		copy(k[:], ip[12:20])
		k[8] = ip.TTL()
		if text, ok := t.cache.ip.get(&k); ok {
			b = append(b, text...)
		} else {
			start := len(b)
			b = append(b, "   ipv4  "...)
			b = ip.Src().AppendTo(b)
			b = append(b, " → "...)
			b = ip.Dst().AppendTo(b)
			b = append(b, "  ttl "...)
			b = appendUint(b, uint64(ip.TTL()))
			b = append(b, "  id "...)
			t.cache.ip.put(&k, b[start:])
		}
		b = appendUint(b, uint64(ip.ID()))
		if ip.DF() {
			b = append(b, "  DF"...)
		}
		if ip.More() {
			b = append(b, "  MF"...)
		}
		if off := ip.FragmentOffset(); off != 0 {
			b = append(b, "  frag "...)
			b = appendUint(b, uint64(off))
		}
		if tos := ip.TOS(); tos != 0 {
			b = append(b, "  tos 0x"...)
			b = append(b, hexDigits[tos>>4], hexDigits[tos&0xf])
		}
		b = append(b, "  len "...)
		b = t.cache.num[numIPLen].append(b, uint64(ip.TotalLen()))
		switch ip.Protocol() {
		case wire.ProtoTCP, wire.ProtoUDP, wire.ProtoICMP:
		default:
			b = append(b, "  proto "...)
			b = appendUint(b, uint64(ip.Protocol()))
		}
		if !p.ipOK {
			b = append(b, "  bad cksum"...)
		}
		b = append(b, '\n')
	}
	if p.hasIP6 {
		b = appendIPv6Text(b, p)
	}
	switch p.l4 {
	case l4TCP:
		b = t.appendTCPText(b, p, rseq, rack)
	case l4UDP:
		b = append(b, "   udp   "...)
		b = appendUint(b, uint64(p.udp.SrcPort()))
		b = append(b, " → "...)
		b = appendUint(b, uint64(p.udp.DstPort()))
		b = append(b, "  len "...)
		b = appendUint(b, uint64(p.payload))
		if !p.l4OK {
			b = append(b, "  bad cksum"...)
		}
		b = append(b, '\n')
	case l4ICMP:
		b = append(b, "   icmp  "...)
		b = appendICMP(b, p)
		if !p.l4OK {
			b = append(b, "  bad cksum"...)
		}
		b = append(b, '\n')
	case l4ICMP6:
		b = append(b, "   icmp6 "...)
		b = appendICMP6(b, p)
		if !p.l4OK {
			b = append(b, "  bad cksum"...)
		}
		b = append(b, '\n')
	}
	if p.badErr != nil {
		b = append(b, "   malformed  "...)
		b = append(b, p.badLayer...)
		b = append(b, ": "...)
		b = append(b, errText(p.badErr)...)
		b = append(b, '\n')
	}
	return b
}

func appendEtherType(b []byte, typ uint16) []byte {
	switch typ {
	case wire.EtherTypeIPv4:
		return append(b, "IPv4"...)
	case wire.EtherTypeARP:
		return append(b, "ARP"...)
	case wire.EtherTypeIPv6:
		return append(b, "IPv6"...)
	}
	return appendHex16(b, typ)
}

func appendARP(b []byte, a wire.ARP) []byte {
	switch a.Op() {
	case wire.ARPRequest:
		b = append(b, "who-has "...)
		b = a.TargetIP().AppendTo(b)
		b = append(b, " tell "...)
		return a.SenderIP().AppendTo(b)
	case wire.ARPReply:
		b = append(b, "reply "...)
		b = a.SenderIP().AppendTo(b)
		b = append(b, " is-at "...)
		return appendMAC(b, a.SenderMAC())
	}
	b = append(b, "op "...)
	return appendUint(b, uint64(a.Op()))
}

// appendICMPName appends an ICMP or ICMPv6 message's name, or its type
// and code when it has none.
func appendICMPName(b []byte, name string, typ, code uint8) []byte {
	if name != "" {
		return append(b, name...)
	}
	b = append(b, "type "...)
	b = appendUint(b, uint64(typ))
	b = append(b, " code "...)
	return appendUint(b, uint64(code))
}

func appendICMP(b []byte, p *packet) []byte {
	m := p.icmp
	b = appendICMPName(b, icmpName(m.Type(), m.Code()), m.Type(), m.Code())
	switch m.Type() {
	case wire.ICMPEcho, wire.ICMPEchoReply:
		b = append(b, "  id "...)
		b = appendUint(b, uint64(m.ID()))
		b = append(b, "  seq "...)
		b = appendUint(b, uint64(m.Seq()))
		b = append(b, "  len "...)
		b = appendUint(b, uint64(p.payload))
	case wire.ICMPDestUnreachable:
		if m.Code() == wire.ICMPCodeFragNeeded {
			b = append(b, "  mtu "...)
			b = appendUint(b, uint64(m.MTU()))
		}
	}
	if p.hasQuote {
		b = appendQuote(b, p)
	}
	return b
}

// appendQuote appends what an ICMP or ICMPv6 error quotes: protocol and
// addresses (with ports for TCP and UDP).
func appendQuote(b []byte, p *packet) []byte {
	b = append(b, "  ("...)
	switch p.quoteProto {
	case wire.ProtoTCP:
		b = append(b, "tcp "...)
	case wire.ProtoUDP:
		b = append(b, "udp "...)
	case wire.ProtoICMP:
		b = append(b, "icmp "...)
	case wire.ProtoICMPv6:
		b = append(b, "icmp6 "...)
	default:
		b = append(b, "proto "...)
		b = appendUint(b, uint64(p.quoteProto))
		b = append(b, ' ')
	}
	if p.quoteSrc.Port() != 0 || p.quoteDst.Port() != 0 {
		b = appendAddrPort(b, p.quoteSrc)
		b = append(b, " → "...)
		b = appendAddrPort(b, p.quoteDst)
	} else {
		b = p.quoteSrc.Addr().AppendTo(b)
		b = append(b, " → "...)
		b = p.quoteDst.Addr().AppendTo(b)
	}
	return append(b, ')')
}

func (t *Tracer) appendTCPText(b []byte, p *packet, rseq, rack uint32) []byte {
	tcp := p.tcp
	fl := tcp.Flags()
	var k lineKey
	copy(k[:4], tcp[0:4]) // ports
	k[4] = byte(fl)
	if text, ok := t.cache.tcp.get(&k); ok {
		b = append(b, text...)
	} else {
		start := len(b)
		b = append(b, "   tcp   "...)
		b = appendUint(b, uint64(tcp.SrcPort()))
		b = append(b, " → "...)
		b = appendUint(b, uint64(tcp.DstPort()))
		b = append(b, "  ["...)
		if names := fl.Names(); names != "" {
			b = append(b, names...)
		} else {
			b = append(b, "<none>"...)
		}
		b = append(b, "]  seq "...)
		t.cache.tcp.put(&k, b[start:])
	}
	b = appendUint(b, uint64(rseq))
	if fl&wire.SYN != 0 {
		// The initial sequence number, once per direction, beside the
		// relative numbers counted from it.
		b = append(b, " (ISN "...)
		b = appendUint(b, uint64(tcp.Seq()))
		b = append(b, ')')
	}
	if fl&wire.ACK != 0 {
		b = append(b, "  ack "...)
		b = t.cache.num[numAck].append(b, uint64(rack))
	}
	b = append(b, "  win "...)
	if w := t.ana.scaledWin; w >= 0 && w != int64(tcp.Window()) {
		// Scaled as the receiver reads it: 64512 (63×1024).
		b = t.cache.num[numWin].append(b, uint64(w))
		b = append(b, " ("...)
		b = appendUint(b, uint64(tcp.Window()))
		b = append(b, "×"...)
		b = appendUint(b, uint64(w)/max(uint64(tcp.Window()), 1))
		b = append(b, ')')
	} else {
		b = t.cache.num[numWin].append(b, uint64(tcp.Window()))
	}
	if fl&wire.URG != 0 {
		b = append(b, "  urg "...)
		b = appendUint(b, uint64(tcp.Urgent()))
	}
	if len(tcp.Options()) > 0 {
		b = append(b, "  <"...)
		b = t.appendTCPOptions(b, p)
		b = append(b, '>')
	}
	if p.payload > 0 {
		b = append(b, "  len "...)
		b = t.cache.num[numLen].append(b, uint64(p.payload))
	}
	if !p.l4OK {
		b = append(b, "  bad cksum"...)
	}
	b = t.appendAnalysisText(b)
	b = t.appendRTTText(b)
	return append(b, '\n')
}

// appendRTTText appends the RTT an ACK measured, as Wireshark's
// "The RTT to ACK the segment was" says: "  [RTT 20.119 ms, ACK of #3]".
func (t *Tracer) appendRTTText(b []byte) []byte {
	if !t.rtt.ok {
		return b
	}
	b = append(b, "  [RTT "...)
	us := t.rtt.rtt / time.Microsecond
	if us < 0 {
		b = append(b, '-')
		us = -us
	}
	b = appendUint(b, uint64(us/1000))
	b = append(b, '.', byte('0'+us%1000/100), byte('0'+us%100/10), byte('0'+us%10))
	b = append(b, " ms, ACK of #"...)
	b = appendUint(b, t.rtt.acked)
	return append(b, ']')
}

// appendAnalysisText appends the analysis as Wireshark's Info column
// writes it: "  [TCP Dup ACK 57#2]", "  [TCP Retransmission]"; a fast or
// spurious retransmission is not called a retransmission twice.
func (t *Tracer) appendAnalysisText(b []byte) []byte {
	a := t.ana.flags
	if a&(FastRetransmission|SpuriousRetransmission) != 0 {
		a &^= Retransmission
	}
	for _, n := range analysisNames {
		if a&n.flag == 0 {
			continue
		}
		b = append(b, "  ["...)
		b = append(b, n.text...)
		if n.flag == DupAck {
			b = append(b, ' ')
			b = appendUint(b, t.ana.dupOf)
			b = append(b, '#')
			b = appendUint(b, uint64(t.ana.dupN))
		}
		b = append(b, ']')
	}
	return b
}

// appendTCPOptions appends the options as "mss 1460,sackOK,TS 1 0,wscale
// 7,sack 1 {1:1449}"; SACK blocks are relative to the receiver's base
// (the sender of the data), as Wireshark shows them.
func (t *Tracer) appendTCPOptions(b []byte, p *packet) []byte {
	o, optErr := p.tcpOptions()
	start := len(b)
	sep := func(b []byte) []byte {
		if len(b) > start {
			b = append(b, ',')
		}
		return b
	}
	if o.HasMSS {
		b = append(sep(b), "mss "...)
		b = appendUint(b, uint64(o.MSS))
	}
	if o.SACKPermitted {
		b = append(sep(b), "sackOK"...)
	}
	if o.HasTS {
		b = append(sep(b), "TS "...)
		b = t.cache.num[numTSVal].append(b, uint64(o.TSVal))
		b = append(b, ' ')
		b = t.cache.num[numTSEcr].append(b, uint64(o.TSEcr))
	}
	if o.HasWScale {
		b = append(sep(b), "wscale "...)
		b = appendUint(b, uint64(o.WScale))
	}
	if o.NSACK > 0 {
		// The blocks acknowledge data flowing the other way.
		base, _ := t.conns.base(netip.AddrPortFrom(p.dst(), p.tcp.DstPort()), netip.AddrPortFrom(p.src(), p.tcp.SrcPort()))
		b = append(sep(b), "sack "...)
		b = appendUint(b, uint64(o.NSACK))
		for i := 0; i < o.NSACK && i < len(o.SACK); i++ {
			b = append(b, " {"...)
			b = appendUint(b, uint64(o.SACK[i].Left-base))
			b = append(b, ':')
			b = appendUint(b, uint64(o.SACK[i].Right-base))
			b = append(b, '}')
		}
	}
	if optErr {
		b = append(sep(b), "malformed"...)
	}
	return b
}

// Event text.

func appendEventPrefix(b []byte, d time.Duration, host string) []byte {
	b = appendTime(b, d)
	b = append(b, ' ')
	b = append(b, host...)
	return append(b, "  "...)
}

// appendCall appends "connect(3, 10.0.0.2:80) → blocks" from a call
// event whose Detail is "3, 10.0.0.2:80 → blocks". A Detail that already
// starts with the call's name and "(" is used as it is.
func appendCall(b []byte, ev *core.Event) []byte {
	d := ev.Detail
	if ev.Name == "" || (len(d) > len(ev.Name) && d[:len(ev.Name)] == ev.Name && d[len(ev.Name)] == '(') {
		return append(b, d...)
	}
	b = append(b, ev.Name...)
	b = append(b, '(')
	if i := indexArrow(d); i >= 0 {
		b = append(b, d[:i]...)
		b = append(b, ')')
		return append(b, d[i:]...)
	}
	b = append(b, d...)
	return append(b, ')')
}

// indexArrow finds " → " (or " -> ") in s.
func indexArrow(s string) int {
	for i := 0; i+3 <= len(s); i++ {
		if s[i] == ' ' {
			if len(s) >= i+5 && s[i+1:i+5] == "→ " {
				return i
			}
			if len(s) >= i+4 && s[i+1:i+4] == "-> " {
				return i
			}
		}
	}
	return -1
}

func appendTuple(b []byte, c core.Tuple) []byte {
	b = appendAddrPort(b, c.Local)
	b = append(b, " → "...)
	return appendAddrPort(b, c.Remote)
}

func appendStateChange(b []byte, ev *core.Event) []byte {
	b = append(b, ev.From...)
	b = append(b, " → "...)
	return append(b, ev.To...)
}

// callColumn is where the state change starts on a merged call line.
const callColumn = 40

// appendMerged appends a call and the state change it made on one line.
func appendMerged(b []byte, call, state *core.Event) []byte {
	start := len(b)
	b = appendCall(b, call)
	n := utf8.RuneCount(b[start:])
	for i := n; i < callColumn-2; i++ {
		b = append(b, ' ')
	}
	b = append(b, "  "...)
	b = appendStateChange(b, state)
	return append(b, '\n')
}

func appendEventText(b []byte, ev *core.Event) []byte {
	hasConn := ev.Conn.Local.IsValid() || ev.Conn.Remote.IsValid()
	switch ev.Kind {
	case core.EventCall:
		b = appendCall(b, ev)
	case core.EventState:
		if ev.Proto != "" {
			b = append(b, ev.Proto...)
			b = append(b, ' ')
		}
		if hasConn {
			b = appendTuple(b, ev.Conn)
		} else if ev.FD >= 0 {
			b = append(b, "fd "...)
			b = strconv.AppendInt(b, int64(ev.FD), 10)
		}
		b = append(b, "  "...)
		b = appendStateChange(b, ev)
	case core.EventDrop:
		b = append(b, "drop"...)
		if ev.PacketID != 0 {
			b = append(b, " #"...)
			b = appendUint(b, ev.PacketID)
		}
		b = append(b, "  "...)
		b = append(b, DropReason(ev)...)
	default:
		switch ev.Kind {
		case core.EventTimer:
			b = append(b, "timer "...)
			b = append(b, ev.Name...)
		case core.EventRetransmit:
			b = append(b, "retransmit"...)
		case core.EventCongestion:
			b = append(b, "cc"...)
		default:
			b = append(b, ev.Name...)
		}
		if hasConn {
			b = append(b, "  "...)
			b = appendTuple(b, ev.Conn)
		}
		if ev.PacketID != 0 {
			b = append(b, "  #"...)
			b = appendUint(b, ev.PacketID)
		}
		if ev.Detail != "" {
			b = append(b, "  "...)
			b = append(b, ev.Detail...)
		}
	}
	return append(b, '\n')
}

// DropReason joins a drop event's counter name and detail, leaving out
// the name when the detail already says it ("link: dropped, random
// loss", "nat: dropped, no mapping").
func DropReason(ev *core.Event) string {
	switch {
	case ev.Name == "" || strings.Contains(ev.Detail, ev.Name):
		return ev.Detail
	case ev.Detail == "":
		return ev.Name
	}
	return ev.Name + ": " + ev.Detail
}
