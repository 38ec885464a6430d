package trace

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"

	"stacklab/stack/core"
	"stacklab/stack/wire"
)

// The JSON lines schema is documented in capture/SCHEMA.md. Keys appear in a
// fixed order and empty optional fields are left out, so the same run
// gives the same bytes.

// appendJSONString appends s as a JSON string (RFC 8259 §7).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			// A run of characters that need no escape goes in at once.
			j := i + 1
			for j < len(s) && s[j] >= 0x20 && s[j] != '"' && s[j] != '\\' && s[j] < utf8.RuneSelf {
				j++
			}
			b = append(b, s[i:j]...)
			i = j
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// jsonObj helps write one object. Keys are passed as their whole token,
// quoted and with the colon (`"seq":`), so that each goes in with one
// append; key adds the comma when needed.
type jsonObj struct {
	b     []byte
	first bool
}

func (o *jsonObj) key(tok string) {
	if !o.first {
		o.b = append(o.b, ',')
	}
	o.first = false
	o.b = append(o.b, tok...)
}

func (o *jsonObj) open()  { o.b = append(o.b, '{'); o.first = true }
func (o *jsonObj) close() { o.b = append(o.b, '}'); o.first = false }

func (o *jsonObj) str(k, v string) {
	o.key(k)
	o.b = appendJSONString(o.b, v)
}

func (o *jsonObj) strIf(k, v string) {
	if v != "" {
		o.str(k, v)
	}
}

func (o *jsonObj) uint(k string, v uint64) {
	o.key(k)
	o.b = appendUint(o.b, v)
}

func (o *jsonObj) int(k string, v int64) {
	o.key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
}

func (o *jsonObj) bool(k string, v bool) {
	o.key(k)
	o.b = strconv.AppendBool(o.b, v)
}

// raw appends v, already formatted, as a string value.
func (o *jsonObj) addr(k string, a netip.Addr) {
	o.key(k)
	o.b = append(o.b, '"')
	o.b = a.AppendTo(o.b)
	o.b = append(o.b, '"')
}

func (o *jsonObj) addrPort(k string, a netip.AddrPort) {
	o.key(k)
	o.b = append(o.b, '"')
	o.b = a.AppendTo(o.b)
	o.b = append(o.b, '"')
}

func (o *jsonObj) mac(k string, m wire.MAC) {
	o.key(k)
	o.b = append(o.b, '"')
	o.b = appendMAC(o.b, m)
	o.b = append(o.b, '"')
}

// appendJSONTime appends the "time" key, seconds since the start with 6
// decimals.
func (t *Tracer) appendJSONTime(o *jsonObj, d time.Duration) {
	o.key(`"time":`)
	o.b = t.jfc.time.append(o.b, d, appendTimeJSON)
}

// appendTimeJSON is appendTime without the padding to 9 columns.
func appendTimeJSON(b []byte, d time.Duration) []byte {
	start := len(b)
	b = appendTime(b, d)
	i := start
	for i < len(b) && b[i] == ' ' {
		i++
	}
	return append(b[:start], b[i:]...)
}

func (t *Tracer) appendName(o *jsonObj, k string, a netip.Addr) {
	if n, ok := t.names.get(a); ok {
		o.str(k, n)
		return
	}
	o.key(k)
	o.b = append(o.b, '"')
	o.b = t.appendNameText(o.b, a)
	o.b = append(o.b, '"')
}

// appendRTTJSON appends the RTT the current frame's ACK measured.
func (t *Tracer) appendRTTJSON(o *jsonObj) {
	if t.rtt.ok {
		o.key(`"ack_rtt_us":`)
		o.b = appendMicros(o.b, t.rtt.rtt)
		o.uint(`"acks":`, t.rtt.acked)
	}
}

// jsonLayers keeps the "layers" object of a TCP frame sent, in two
// pieces around the RTT its ACK measured (which is not the same at the
// receiver), with what it was made of: a receiver's copy of the frame
// with the same headers shows the same layers, copied instead of
// formatted again. A bulk transfer's every segment is seen twice.
type jsonLayers struct {
	gen        uint32 // Tracer.jgen when stored; 0 is never valid
	id         uint64
	link       LinkType
	hdr        []byte // the frame up to its TCP payload
	size       int
	rseq, rack uint32
	ipOK, l4OK bool
	head, tail []byte
}

// layersKey reports whether the current frame's layers can be kept or
// reused: a TCP segment, decoded whole, not cut short.
func (t *Tracer) layersKey(f *Frame) ([]byte, bool) {
	p := &t.pkt
	if p.l4 != l4TCP || p.badErr != nil || p.hasQuote || (f.OrigLen != 0 && f.OrigLen != len(f.Data)) {
		return nil, false
	}
	n := len(f.Data) - p.payload
	if n < wire.IPv4MinHeaderLen+wire.TCPMinHeaderLen || n > maxLayersKey {
		return nil, false
	}
	return f.Data[:n], true
}

// jspace returns b emptied if it holds n bytes, or else room for n bytes
// (and a quarter more) carved from an arena of 64 KiB blocks, so that
// filling the table allocates once per block, not once per frame.
func (t *Tracer) jspace(b []byte, n int) []byte {
	if cap(b) >= n {
		return b[:0]
	}
	n += n / 4
	if len(t.jarena) < n {
		t.jarena = make([]byte, max(64<<10, n))
	}
	b, t.jarena = t.jarena[:0:n], t.jarena[n:]
	return b
}

// maxLayersKey bounds the headers a jsonLayers keeps.
const maxLayersKey = 256

// matches reports whether e holds the layers of the current frame.
func (e *jsonLayers) matches(t *Tracer, f *Frame, hdr []byte, rseq, rack uint32) bool {
	p := &t.pkt
	return e.gen == t.jgen && e.id == f.ID && e.link == f.Link && e.size == len(f.Data) && e.rseq == rseq && e.rack == rack &&
		e.ipOK == p.ipOK && e.l4OK == p.l4OK && bytes.Equal(e.hdr, hdr)
}

// appendFrameJSON appends a frame's line; again says the frame was seen
// sent before (its copy at a receiver).
func (t *Tracer) appendFrameJSON(b []byte, f *Frame, d time.Duration, rseq, rack uint32, again bool) []byte {
	p := &t.pkt
	o := jsonObj{b: b}
	o.open()
	t.appendJSONTime(&o, d)
	// ,"type":"packet","vantage":V,"dir":D,"id": from a cache.
	hk := headKey{f.Vantage, f.Dir}
	if h, ok := t.jfc.head.get(&hk); ok {
		o.b = append(o.b, h...)
	} else {
		start := len(o.b)
		o.str(`"type":`, "packet")
		o.strIf(`"vantage":`, f.Vantage)
		if f.Dir != DirUnknown {
			o.str(`"dir":`, f.Dir.String())
		}
		o.key(`"id":`)
		t.jfc.head.put(&hk, o.b[start:])
	}
	o.b = appendUint(o.b, f.ID)
	o.b = append(o.b, `,"len":`...)
	o.b = t.jfc.num[numSize].append(o.b, uint64(p.size))
	switch {
	case p.hasIP6:
		t.appendName(&o, `"src":`, p.ip6.Src())
		t.appendName(&o, `"dst":`, p.ip6.Dst())
	case p.hasIP:
		// ,"src":NAME,"dst":NAME from a cache keyed by the addresses.
		var k lineKey
		copy(k[:], p.ip[12:20])
		if text, ok := t.jfc.ends.get(&k); ok && !o.first {
			o.b = append(o.b, text...)
		} else {
			start := len(o.b)
			t.appendName(&o, `"src":`, p.ip.Src())
			t.appendName(&o, `"dst":`, p.ip.Dst())
			if o.b[start] == ',' {
				t.jfc.ends.put(&k, o.b[start:])
			}
		}
	case p.hasARP:
		t.appendName(&o, `"src":`, p.arp.SenderIP())
		if p.eth.Dst().IsBroadcast() {
			o.str(`"dst":`, "broadcast")
		} else {
			t.appendName(&o, `"dst":`, p.arp.TargetIP())
		}
	}
	if f.Note != "" {
		o.key(`"note":`)
		if text, ok := t.jfc.note.get(&f.Note); ok {
			o.b = append(o.b, text...)
		} else {
			start := len(o.b)
			o.b = appendJSONString(o.b, f.Note)
			t.jfc.note.put(&f.Note, o.b[start:])
		}
	}
	o.strIf(`"drop":`, f.Drop)
	o.key(`"layers":`)
	// A frame sent is kept; its copy at the receiver reuses it.
	var keep *jsonLayers
	if f.ID != 0 {
		if hdr, ok := t.layersKey(f); ok {
			if t.jlay == nil {
				t.jlay = make([]jsonLayers, seenSize)
			}
			e := &t.jlay[f.ID%seenSize]
			if again && e.matches(t, f, hdr, rseq, rack) {
				o.b = append(o.b, e.head...)
				t.appendRTTJSON(&o)
				o.b = append(o.b, e.tail...)
				o.first = false
				return t.appendFrameJSONEnd(&o, f, again)
			}
			if f.Dir == DirOut && !again {
				keep = e
				keep.gen, keep.id, keep.link, keep.size, keep.rseq, keep.rack = 0, f.ID, f.Link, len(f.Data), rseq, rack
				keep.ipOK, keep.l4OK = t.pkt.ipOK, t.pkt.l4OK
				keep.hdr = append(t.jspace(keep.hdr, len(hdr)), hdr...)
			}
		}
	}
	layers := len(o.b)
	t.jrtt = [2]int{-1, -1}
	o.open()
	if p.hasEth {
		// "eth":{...} from a cache keyed by the header.
		var k lineKey
		copy(k[:], p.eth[:wire.EthernetHeaderLen])
		if text, ok := t.jfc.eth.get(&k); ok {
			o.b = append(o.b, text...)
			o.first = false
		} else {
			start := len(o.b)
			o.key(`"eth":`)
			o.open()
			o.mac(`"src":`, p.eth.Src())
			o.mac(`"dst":`, p.eth.Dst())
			o.key(`"type":`)
			o.b = append(o.b, '"')
			o.b = appendEtherType(o.b, p.eth.Type())
			o.b = append(o.b, '"')
			o.close()
			t.jfc.eth.put(&k, o.b[start:])
		}
	}
	if p.hasARP {
		a := p.arp
		o.key(`"arp":`)
		o.open()
		switch a.Op() {
		case wire.ARPRequest:
			o.str(`"op":`, "request")
		case wire.ARPReply:
			o.str(`"op":`, "reply")
		default:
			o.uint(`"op":`, uint64(a.Op()))
		}
		o.mac(`"sender_mac":`, a.SenderMAC())
		o.addr(`"sender_ip":`, a.SenderIP())
		o.mac(`"target_mac":`, a.TargetMAC())
		o.addr(`"target_ip":`, a.TargetIP())
		o.close()
	}
	if p.hasIP {
		ip := p.ip
		// ,"ipv4":{"src":S,"dst":D,"ttl":T,"id": and, after the id,
		// the rest of the object, each from a cache keyed by the header
		// bytes it is made of.
		var k lineKey
		copy(k[:], ip[12:20])
		k[8] = ip.TTL()
		k[9] = boolByte(o.first)
		if text, ok := t.jfc.ip.get(&k); ok {
			o.b = append(o.b, text...)
		} else {
			start := len(o.b)
			o.key(`"ipv4":`)
			o.open()
			o.addr(`"src":`, ip.Src())
			o.addr(`"dst":`, ip.Dst())
			o.uint(`"ttl":`, uint64(ip.TTL()))
			o.key(`"id":`)
			t.jfc.ip.put(&k, o.b[start:])
		}
		o.b = appendUint(o.b, uint64(ip.ID()))
		k = lineKey{ip[1], ip[2], ip[3], ip[6], ip[7], ip[9], boolByte(t.checksums), boolByte(p.ipOK)}
		if text, ok := t.jfc.ipTail.get(&k); ok {
			o.b = append(o.b, text...)
		} else {
			start := len(o.b)
			o.first = false
			o.bool(`"df":`, ip.DF())
			o.bool(`"mf":`, ip.More())
			o.uint(`"frag":`, uint64(ip.FragmentOffset()))
			o.uint(`"tos":`, uint64(ip.TOS()))
			o.uint(`"len":`, uint64(ip.TotalLen()))
			o.uint(`"proto":`, uint64(ip.Protocol()))
			if t.checksums {
				o.bool(`"checksum_ok":`, p.ipOK)
			}
			o.close()
			t.jfc.ipTail.put(&k, o.b[start:])
		}
		o.first = false
	}
	if p.hasIP6 {
		appendIPv6JSON(&o, p)
	}
	switch p.l4 {
	case l4TCP:
		t.appendTCPJSON(&o, p, rseq, rack)
	case l4UDP:
		o.key(`"udp":`)
		o.open()
		o.uint(`"sport":`, uint64(p.udp.SrcPort()))
		o.uint(`"dport":`, uint64(p.udp.DstPort()))
		o.int(`"len":`, int64(p.payload))
		if t.checksums {
			o.bool(`"checksum_ok":`, p.l4OK)
		}
		o.close()
	case l4ICMP:
		m := p.icmp
		o.key(`"icmp":`)
		o.open()
		o.uint(`"type":`, uint64(m.Type()))
		o.uint(`"code":`, uint64(m.Code()))
		o.strIf(`"name":`, icmpName(m.Type(), m.Code()))
		switch m.Type() {
		case wire.ICMPEcho, wire.ICMPEchoReply:
			o.uint(`"id":`, uint64(m.ID()))
			o.uint(`"seq":`, uint64(m.Seq()))
		case wire.ICMPDestUnreachable:
			if m.Code() == wire.ICMPCodeFragNeeded {
				o.uint(`"mtu":`, uint64(m.MTU()))
			}
		}
		o.int(`"len":`, int64(p.payload))
		appendQuotedJSON(&o, p)
		if t.checksums {
			o.bool(`"checksum_ok":`, p.l4OK)
		}
		o.close()
	case l4ICMP6:
		appendICMP6JSON(&o, p, t.checksums)
	}
	o.close()
	if keep != nil && t.jrtt[0] >= layers && t.jrtt[1] >= t.jrtt[0] {
		head, tail := o.b[layers:t.jrtt[0]], o.b[t.jrtt[1]:]
		keep.head = append(t.jspace(keep.head, len(head)), head...)
		keep.tail = append(t.jspace(keep.tail, len(tail)), tail...)
		keep.gen = t.jgen
	}
	return t.appendFrameJSONEnd(&o, f, again)
}

// appendFrameJSONEnd appends what follows a frame line's layers. The
// bytes (Options.Bytes) are a frame's where it was sent, or where it
// was received when its sending was not seen (again false: a packet
// injected onto a link), which a page then draws from its receipt.
func (t *Tracer) appendFrameJSONEnd(o *jsonObj, f *Frame, again bool) []byte {
	p := &t.pkt
	if p.badErr != nil {
		o.key(`"malformed":`)
		o.b = append(o.b, '"')
		o.b = append(o.b, p.badLayer...)
		o.b = append(o.b, ": "...)
		o.b = append(o.b, errText(p.badErr)...)
		o.b = append(o.b, '"')
	}
	if t.bytes > 0 && len(f.Data) > 0 && (f.Dir != DirIn || !again) {
		o.key(`"bytes":`)
		o.b = append(o.b, '"')
		o.b = hex.AppendEncode(o.b, f.Data[:min(len(f.Data), t.bytes)])
		o.b = append(o.b, '"')
	}
	o.close()
	return append(o.b, '\n')
}

func (t *Tracer) appendTCPJSON(o *jsonObj, p *packet, rseq, rack uint32) {
	tcp := p.tcp
	fl := tcp.Flags()
	// ,"tcp":{"sport":S,"dport":D,"flags":F,"seq": from a cache keyed by
	// the ports and flags.
	var k lineKey
	copy(k[:4], tcp[0:4]) // ports
	k[4] = byte(fl)
	k[5] = boolByte(o.first)
	if text, ok := t.jfc.tcp.get(&k); ok {
		o.b = append(o.b, text...)
	} else {
		start := len(o.b)
		o.key(`"tcp":`)
		o.open()
		o.uint(`"sport":`, uint64(tcp.SrcPort()))
		o.uint(`"dport":`, uint64(tcp.DstPort()))
		o.str(`"flags":`, fl.String())
		o.key(`"seq":`)
		t.jfc.tcp.put(&k, o.b[start:])
	}
	o.first = false
	num := &t.jfc.num
	o.b = appendUint(o.b, uint64(rseq))
	o.b = append(o.b, `,"ack":`...)
	o.b = num[numAck].append(o.b, uint64(rack))
	o.b = append(o.b, `,"seq_raw":`...)
	o.b = appendUint(o.b, uint64(tcp.Seq()))
	o.b = append(o.b, `,"ack_raw":`...)
	o.b = num[numAckRaw].append(o.b, uint64(tcp.Ack()))
	o.b = append(o.b, `,"win":`...)
	o.b = num[numWin].append(o.b, uint64(tcp.Window()))
	if t.ana.scaledWin >= 0 {
		o.b = append(o.b, `,"win_scaled":`...)
		o.b = num[numWinScaled].append(o.b, uint64(t.ana.scaledWin))
	}
	if tcp.Flags()&wire.URG != 0 {
		o.b = append(o.b, `,"urg":`...)
		o.b = appendUint(o.b, uint64(tcp.Urgent()))
	}
	if a := t.ana.flags; a != 0 {
		o.key(`"analysis":`)
		o.b = append(o.b, '[')
		first := true
		for _, n := range analysisNames {
			if a&n.flag == 0 {
				continue
			}
			if !first {
				o.b = append(o.b, ',')
			}
			first = false
			o.b = append(o.b, '"')
			o.b = append(o.b, n.json...)
			o.b = append(o.b, '"')
		}
		o.b = append(o.b, ']')
		if a&DupAck != 0 {
			o.uint(`"dup_ack_of":`, t.ana.dupOf)
			o.uint(`"dup_ack_num":`, uint64(t.ana.dupN))
		}
	}
	t.jrtt[0] = len(o.b)
	t.appendRTTJSON(o)
	t.jrtt[1] = len(o.b)
	if len(tcp.Options()) > 0 {
		opts, optErr := p.tcpOptions()
		o.key(`"options":`)
		o.open()
		if opts.HasMSS {
			o.uint(`"mss":`, uint64(opts.MSS))
		}
		if opts.SACKPermitted {
			o.bool(`"sack_ok":`, true)
		}
		if opts.HasTS {
			o.key(`"ts":[`)
			o.b = num[numTSVal].append(o.b, uint64(opts.TSVal))
			o.b = append(o.b, ',')
			o.b = num[numTSEcr].append(o.b, uint64(opts.TSEcr))
			o.b = append(o.b, ']')
		}
		if opts.HasWScale {
			o.uint(`"wscale":`, uint64(opts.WScale))
		}
		if opts.NSACK > 0 {
			base, _ := t.conns.base(netip.AddrPortFrom(p.dst(), tcp.DstPort()), netip.AddrPortFrom(p.src(), tcp.SrcPort()))
			o.key(`"sack":`)
			o.b = append(o.b, '[')
			for i := 0; i < opts.NSACK && i < len(opts.SACK); i++ {
				if i > 0 {
					o.b = append(o.b, ',')
				}
				o.b = append(o.b, '[')
				o.b = appendUint(o.b, uint64(opts.SACK[i].Left-base))
				o.b = append(o.b, ',')
				o.b = appendUint(o.b, uint64(opts.SACK[i].Right-base))
				o.b = append(o.b, ']')
			}
			o.b = append(o.b, ']')
		}
		if optErr {
			o.bool(`"malformed":`, true)
		}
		o.close()
	}
	o.b = append(o.b, `,"len":`...)
	o.b = num[numLen].append(o.b, uint64(p.payload))
	if t.checksums {
		o.bool(`"checksum_ok":`, p.l4OK)
	}
	o.close()
}

// appendEventJSON appends an event's line. The head of a congestion
// series event (everything after the time up to the first variable) is
// the same for each connection: the last two are remembered.
func (t *Tracer) appendEventJSON(b []byte, ev *core.Event, d time.Duration) []byte {
	o := jsonObj{b: b}
	o.open()
	t.appendJSONTime(&o, d)
	series := ev.Vars != nil && ev.From == "" && ev.To == "" && ev.Name == "" && ev.Detail == "" && ev.PacketID == 0
	sk := seriesKey{ev.Host, ev.Kind, ev.FD, ev.Proto, ev.Conn}
	var head []byte
	if series {
		head, _ = t.jfc.series.get(&sk)
	}
	if head != nil {
		o.b = append(o.b, head...)
	} else {
		start := len(o.b)
		o.str(`"type":`, "event")
		o.str(`"host":`, ev.Host)
		o.str(`"kind":`, ev.Kind.String())
		if ev.FD >= 0 && (ev.FD != 0 || ev.Kind == core.EventCall) {
			o.int(`"fd":`, int64(ev.FD))
		}
		o.strIf(`"proto":`, ev.Proto)
		if ev.Conn.Local.IsValid() {
			o.addrPort(`"local":`, ev.Conn.Local)
		}
		if ev.Conn.Remote.IsValid() {
			o.addrPort(`"remote":`, ev.Conn.Remote)
		}
		o.strIf(`"from":`, ev.From)
		o.strIf(`"to":`, ev.To)
		o.strIf(`"name":`, ev.Name)
		o.strIf(`"detail":`, ev.Detail)
		if ev.PacketID != 0 {
			o.uint(`"packet":`, ev.PacketID)
		}
		if ev.Vars != nil {
			o.key(`"vars":`)
			o.open()
			o.key(`"cwnd":`)
			if series {
				t.jfc.series.put(&sk, o.b[start:])
			}
		}
	}
	if v := ev.Vars; v != nil {
		num := &t.jfc.vars
		o.b = appendIntMemo(&num[varCwnd], o.b, int64(v.Cwnd))
		if v.Ssthresh >= 0 {
			o.b = append(o.b, `,"ssthresh":`...)
			o.b = appendIntMemo(&num[varSsthresh], o.b, int64(v.Ssthresh))
		}
		o.b = append(o.b, `,"srtt_us":`...)
		o.b = appendIntMemo(&num[varSRTT], o.b, v.SRTT.Microseconds())
		o.b = append(o.b, `,"rttvar_us":`...)
		o.b = appendIntMemo(&num[varRTTVar], o.b, v.RTTVar.Microseconds())
		o.b = append(o.b, `,"rto_us":`...)
		o.b = appendIntMemo(&num[varRTO], o.b, v.RTO.Microseconds())
		o.b = append(o.b, `,"in_flight":`...)
		o.b = appendIntMemo(&num[varInFlight], o.b, int64(v.InFlight))
		o.b = append(o.b, `,"rwnd":`...)
		o.b = appendIntMemo(&num[varRwnd], o.b, int64(v.RcvWnd))
		o.b = append(o.b, `,"snd_wnd":`...)
		o.b = appendIntMemo(&num[varSndWnd], o.b, int64(v.SndWnd))
		o.first = false
		o.str(`"ca_state":`, v.CAState)
		o.close()
	}
	o.close()
	return append(o.b, '\n')
}

// appendIntMemo appends v in decimal, through m when it is not negative.
func appendIntMemo(m *numMemo, b []byte, v int64) []byte {
	if v < 0 {
		return strconv.AppendInt(b, v, 10)
	}
	return m.append(b, uint64(v))
}

// summarize fills s from the decoded packet. It allocates the strings a
// Summary holds; it runs only when summaries are wanted.
func (t *Tracer) summarize(f *Frame, d time.Duration, rseq, rack uint32, s *Summary) {
	p := &t.pkt
	*s = Summary{
		Time: d, Vantage: f.Vantage, Dir: f.Dir, ID: f.ID,
		Proto: p.protoName(), Len: p.payload, Note: f.Note, Drop: f.Drop,
	}
	switch {
	case p.isIP():
		sp, dp := p.ports()
		s.SrcAddr = netip.AddrPortFrom(p.src(), sp)
		s.DstAddr = netip.AddrPortFrom(p.dst(), dp)
		s.Src, s.Dst = t.nameOf(p.src()), t.nameOf(p.dst())
	case p.hasARP:
		s.SrcAddr = netip.AddrPortFrom(p.arp.SenderIP(), 0)
		s.DstAddr = netip.AddrPortFrom(p.arp.TargetIP(), 0)
		s.Src = t.nameOf(p.arp.SenderIP())
		if p.eth.Dst().IsBroadcast() {
			s.Dst = "broadcast"
		} else {
			s.Dst = t.nameOf(p.arp.TargetIP())
		}
		s.Info = string(appendARP(nil, p.arp))
	}
	switch p.l4 {
	case l4TCP:
		fl := p.tcp.Flags()
		s.Flags = fl.String()
		s.Seq = rseq
		if fl&wire.ACK != 0 {
			s.Ack, s.HasAck = rack, true
		}
		s.Win = p.tcp.Window()
		if len(p.tcp.Options()) > 0 {
			s.Options = string(t.appendTCPOptions(nil, p))
		}
	case l4ICMP:
		s.Info = string(appendICMP(nil, p))
	case l4ICMP6:
		s.Info = string(appendICMP6(nil, p))
	}
	if p.badErr != nil {
		s.Malformed = p.badLayer + ": " + errText(p.badErr)
	}
}

// appendQuotedJSON appends the "quoted" object of an ICMP or ICMPv6 error:
// the protocol and endpoints of the packet it quotes.
func appendQuotedJSON(o *jsonObj, p *packet) {
	if !p.hasQuote {
		return
	}
	o.key(`"quoted":`)
	o.open()
	o.uint(`"proto":`, uint64(p.quoteProto))
	o.addrPort(`"src":`, p.quoteSrc)
	o.addrPort(`"dst":`, p.quoteDst)
	o.close()
}

// appendMicros appends d in microseconds, with up to three decimals.
func appendMicros(b []byte, d time.Duration) []byte {
	if d < 0 {
		b = append(b, '-')
		d = -d
	}
	b = appendUint(b, uint64(d/time.Microsecond))
	if ns := uint64(d % time.Microsecond); ns != 0 {
		b = append(b, '.', byte('0'+ns/100), byte('0'+ns/10%10), byte('0'+ns%10))
		for b[len(b)-1] == '0' {
			b = b[:len(b)-1]
		}
	}
	return b
}
