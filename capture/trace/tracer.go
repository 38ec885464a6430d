package trace

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"stacklab/stack/core"
	"stacklab/stack/wire"
)

// Format selects the trace output.
type Format uint8

const (
	// Text is the layered, human-readable trace of DESIGN.md.
	Text Format = iota
	// JSON is one JSON object a line; see capture/SCHEMA.md.
	JSON
)

func (f Format) String() string {
	if f == JSON {
		return "json"
	}
	return "text"
}

// ParseFormat parses "text" or "json".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "text", "":
		return Text, nil
	case "json":
		return JSON, nil
	}
	return Text, fmt.Errorf("unknown trace format %q: use text or json", s)
}

// Options configure a [Tracer]. The zero value writes a text trace whose
// times count from the first frame or event, with addresses for names.
type Options struct {
	Format Format
	// Start is the time shown as 0; zero means the first frame's or
	// event's time.
	Start time.Time
	// Names maps addresses to host names ("client"). The map is copied.
	Names map[netip.Addr]string
	// Checksums verifies IPv4, TCP, UDP and ICMP checksums and marks bad
	// ones ("bad cksum"). It is for foreign captures: the stack verifies
	// its own input and reports drops.
	Checksums bool
	// Bytes, if positive, adds the first Bytes bytes of each frame sent
	// (or of unknown direction) to its JSON object, in hex ("bytes"), for
	// the HTML page; a received copy holds the same bytes.
	Bytes int
	// MaxConns bounds the connections tracked for relative sequence
	// numbers; default 4096.
	MaxConns int
}

// Frame is one captured frame at one vantage point. Its fields are only
// read during [Tracer.Frame].
type Frame struct {
	Time time.Time
	// Host and Vantage ("host:ifname") name where the frame was captured;
	// both are empty for a foreign capture.
	Host, Vantage string
	Link          LinkType
	Dir           Dir
	// ID is the packet id (the frame number for a foreign capture).
	ID   uint64
	Data []byte
	// OrigLen is the frame's length on the wire when Data holds only its
	// first bytes (a capture with a snap length); zero means len(Data).
	// Headers are decoded as far as they were captured; checksums of a
	// cut payload are not verified.
	OrigLen int
	// Note says why the frame was sent.
	Note string
	// Drop is set when the frame was dropped at this vantage, with the
	// reason ("ip.InHdrErrors: bad checksum").
	Drop string
}

// seenSize is the size of the table of recently sent packet ids.
const seenSize = 4096

// seenEntry remembers a frame sent: its id and a fingerprint of its IP
// (or ARP) header, which a receiver sees unchanged. Stacks that count
// packet ids on their own (TUN mode) can reuse an id; the fingerprint
// keeps a different packet from passing for one already shown.
type seenEntry struct {
	id  uint64
	fp  uint64
	ana segAnalysis // what the analysis found when it was first seen
}

// segAnalysis is the analysis of one TCP segment, shown with it.
type segAnalysis struct {
	flags     Analysis
	dupOf     uint64 // a duplicate ACK: the id of the ACK it repeats
	dupN      int    // and how many times it did
	scaledWin int64  // the window scaled; -1 when the scale is unknown
}

// maxHeldFrames bounds the frames held back behind a state change while
// waiting for the socket call that caused it.
const maxHeldFrames = 8

// Tracer formats frames and stack events as a text or JSON lines trace,
// and summarizes frames for expectations. It tracks relative sequence
// numbers per connection. Formatting allocates nothing per frame. A
// Tracer is not safe for concurrent use.
type Tracer struct {
	w          io.Writer // nil: no trace output, summaries only
	out        []byte    // the lines not yet written to w (see line)
	format     Format
	start      time.Time
	hasStart   bool
	names      nameTable
	checksums  bool
	bytes      int
	conns      *conns
	pkt        packet
	seen       [seenSize]seenEntry // frames sent, direct-mapped by id
	err        error
	cache      textCache
	ana        segAnalysis   // the current frame's TCP analysis
	rtt        ackRTT        // the RTT the current frame's ACK measured
	changes    []stateChange // the TCP states the current frame changed (foreign captures)
	changesDir int           // and the direction it was sent in
	jfc        jsonCache     // the same for JSON
	jlay       []jsonLayers  // JSON: the layers of frames sent, by seen slot
	jgen       uint32        // the generation of jlay's entries; forgetCaches moves it
	jrtt       [2]int        // where the RTT's text starts and ends in the line being formatted
	jarena     []byte        // room for jlay's bytes
	sinceOK    bool          // sinceT, sinceD hold the last time converted by since
	sinceT     time.Time
	sinceD     time.Duration

	// Text mode: a state change held back until the socket call that made
	// it is reported, so the two can share a line as in DESIGN.md, and the
	// frames sent meanwhile.
	held       bool
	heldEv     core.Event
	heldFrames []byte
	heldCount  int
}

// New returns a Tracer writing to w, which may be nil for summaries only.
func New(w io.Writer, o Options) *Tracer {
	t := &Tracer{
		format:    o.Format,
		names:     nameTable{v4: make(map[uint32]string, len(o.Names)), other: map[netip.Addr]string{}},
		checksums: o.Checksums,
		bytes:     o.Bytes,
		conns:     newConns(o.MaxConns),
		jgen:      1,
	}
	if w != nil {
		t.w, t.out = w, make([]byte, 0, outSize)
	}
	if !o.Start.IsZero() {
		t.start, t.hasStart = o.Start, true
	}
	for a, n := range o.Names {
		t.names.set(a, n)
	}
	return t
}

// SetName names an address from now on.
func (t *Tracer) SetName(a netip.Addr, name string) {
	t.names.set(a, name)
	t.cache.ends.reset()
	t.jfc.ends.reset()
}

// nameTable maps addresses to host names. IPv4 addresses, the only kind
// the stack has, are keyed by their 32 bits, which hash faster than a
// netip.Addr on the per-packet path.
type nameTable struct {
	v4    map[uint32]string
	other map[netip.Addr]string
}

func v4key(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func (nt *nameTable) set(a netip.Addr, name string) {
	if a.Is4() {
		nt.v4[v4key(a)] = name
		return
	}
	nt.other[a] = name
}

func (nt *nameTable) get(a netip.Addr) (string, bool) {
	if a.Is4() {
		n, ok := nt.v4[v4key(a)]
		return n, ok
	}
	n, ok := nt.other[a]
	return n, ok
}

// Start returns the time shown as 0, and whether it is known yet.
func (t *Tracer) Start() (time.Time, bool) { return t.start, t.hasStart }

func (t *Tracer) since(tm time.Time) time.Duration {
	if !t.hasStart {
		t.start, t.hasStart = tm, true
	}
	// Frames and events come in bursts at one instant: the same time
	// value gives the same duration (a different value for the same
	// instant only misses).
	if t.sinceOK && tm == t.sinceT {
		return t.sinceD
	}
	d := tm.Sub(t.start)
	t.sinceOK, t.sinceT, t.sinceD = true, tm, d
	return d
}

// Frame traces f and, when sum is not nil, fills it in.
func (t *Tracer) Frame(f *Frame, sum *Summary) {
	if t.w == nil && sum == nil {
		return // nothing to write or fill: skip decoding
	}
	if forgetEach {
		t.forgetCaches()
	}
	p := &t.pkt
	p.decode(f.Link, f.Data, f.OrigLen, t.checksums)
	rseq, rack, cn, dir := t.relative(p)
	d := t.since(f.Time)
	if sum != nil {
		t.summarize(f, d, rseq, rack, sum)
	}
	seenBefore, again := false, false
	var slot *seenEntry
	var fp uint64
	if f.ID != 0 {
		slot = &t.seen[f.ID%seenSize]
		fp = p.fingerprint()
		again = slot.id == f.ID && slot.fp == fp
		seenBefore = f.Dir == DirIn && again
	}
	// A frame is analysed where it is first seen (its sender, in a
	// simulation); its copies further on show the same.
	switch {
	case cn == nil:
		t.ana = segAnalysis{scaledWin: -1}
	case again:
		t.ana = slot.ana
	default:
		t.ana = t.analyze(p, cn, dir, f.ID, d)
	}
	if slot != nil && f.Dir == DirOut && !again {
		*slot = seenEntry{f.ID, fp, t.ana}
	}
	if sum != nil {
		sum.Analysis = t.ana.flags
	}
	// A foreign capture shows no state changes: infer them.
	t.changes = t.changes[:0]
	if cn != nil && f.Host == "" && !again && p.l4OK {
		s := t.segment(p, f.ID, d)
		t.changes, t.changesDir = cn.ana.infer(dir, &s, t.changes), dir
	}
	t.rtt = ackRTT{}
	if cn != nil && f.Drop == "" && (f.Host == "" || f.Dir == DirOut && !again || f.Dir == DirIn) {
		s := t.segment(p, f.ID, d)
		t.rtt = cn.ana.rtt.track(dir, &s, f.Host, f.Dir == DirOut)
	}
	if t.w == nil {
		return
	}
	if t.format == JSON {
		b := t.appendFrameJSON(t.line(), f, d, rseq, rack, again)
		t.write(b)
		t.writeInferred(f, d)
		return
	}
	if t.held {
		ev := &t.heldEv
		if ev.Kind == core.EventState && f.Dir == DirOut && f.Host == ev.Host && f.Time.Equal(ev.Time) &&
			t.heldCount < maxHeldFrames {
			t.heldFrames = t.appendFrameText(t.heldFrames, f, d, rseq, rack, seenBefore)
			t.heldCount++
			return
		}
		t.flushHeld()
	}
	b := t.appendFrameText(t.line(), f, d, rseq, rack, seenBefore)
	t.write(b)
	t.writeInferred(f, d)
}

// writeInferred writes the TCP state changes inferred from the current
// frame as state events of the ends' hosts, marked "inferred".
func (t *Tracer) writeInferred(f *Frame, d time.Duration) {
	p := &t.pkt
	for _, c := range t.changes {
		src := netip.AddrPortFrom(p.src(), p.tcp.SrcPort())
		dst := netip.AddrPortFrom(p.dst(), p.tcp.DstPort())
		conn := core.Tuple{Local: src, Remote: dst}
		if c.side != t.changesDir {
			conn = core.Tuple{Local: dst, Remote: src}
		}
		ev := core.Event{Time: f.Time, Host: t.nameOf(conn.Local.Addr()), Kind: core.EventState, FD: -1, Proto: "tcp",
			Conn: conn, From: c.from.String(), To: c.to.String(), Detail: "inferred"}
		var b []byte
		if t.format == JSON {
			b = t.appendEventJSON(t.line(), &ev, d)
		} else {
			b = appendEventPrefix(t.line(), d, ev.Host)
			b = appendEventText(b, &ev)
			b = append(b[:len(b)-1], "  (inferred)\n"...)
		}
		t.write(b)
	}
}

// relative returns the relative seq and ack of a TCP segment, its
// connection and direction (nil for other packets).
func (t *Tracer) relative(p *packet) (seq, ack uint32, cn *conn, d int) {
	if p.l4 != l4TCP || p.hasQuote {
		return 0, 0, nil, 0
	}
	fl := p.tcp.Flags()
	var k rawKey
	if p.hasIP6 {
		copy(k[:32], p.ip6[wire.IPv6SrcOffset:wire.IPv6HeaderLen])
		k[36] = 6
	} else {
		copy(k[:8], p.ip[12:20])
		k[36] = 4
	}
	copy(k[32:36], p.tcp[0:4])
	cn, d = t.conns.rawFind(&k,
		func() netip.AddrPort { return netip.AddrPortFrom(p.src(), p.tcp.SrcPort()) },
		func() netip.AddrPort { return netip.AddrPortFrom(p.dst(), p.tcp.DstPort()) })
	const syn, ackf = 0x02, 0x10
	seq, ack = t.conns.update(cn, d, p.tcp.Seq(), p.tcp.Ack(), fl&syn != 0, fl&ackf != 0)
	return seq, ack, cn, d
}

// analyze runs the TCP analysis on the current segment.
func (t *Tracer) analyze(p *packet, cn *conn, dir int, id uint64, now time.Duration) segAnalysis {
	s := t.segment(p, id, now)
	if s.syn && len(p.tcp.Options()) > 0 {
		if o, _ := p.tcpOptions(); o.HasWScale {
			s.wscale = int8(min(o.WScale, 14))
		}
	}
	var a segAnalysis
	a.flags, a.dupOf, a.dupN, a.scaledWin = cn.ana.analyze(dir, &s)
	return a
}

// segment reads what the analysis needs of the current TCP segment.
func (t *Tracer) segment(p *packet, id uint64, now time.Duration) segment {
	tcp := p.tcp
	fl := tcp.Flags()
	return segment{seq: tcp.Seq(), ack: tcp.Ack(), len: uint32(p.payload), win: tcp.Window(),
		syn: fl&wire.SYN != 0, fin: fl&wire.FIN != 0, rst: fl&wire.RST != 0, ackf: fl&wire.ACK != 0,
		wscale: -1, id: id, now: now}
}

// Event traces a stack event.
func (t *Tracer) Event(ev *core.Event) {
	if forgetEach {
		t.forgetCaches()
	}
	d := t.since(ev.Time)
	if t.w == nil {
		return
	}
	if t.format == JSON {
		b := t.appendEventJSON(t.line(), ev, d)
		t.write(b)
		return
	}
	if ev.Kind == core.EventSeries {
		return // data for JSON, CSV and graphs; the text shows congestion events
	}
	if t.held {
		h := &t.heldEv
		if ev.Kind == core.EventCall && ev.Host == h.Host && ev.Time.Equal(h.Time) && causedBy(h, ev) {
			b := appendEventPrefix(t.line(), d, ev.Host)
			b = appendMerged(b, ev, h)
			t.write(b)
			t.write(t.heldFrames)
			t.clearHeld()
			return
		}
		t.flushHeld()
	}
	if ev.Kind == core.EventState {
		t.held, t.heldEv = true, *ev
		return
	}
	b := appendEventPrefix(t.line(), d, ev.Host)
	b = appendEventText(b, ev)
	t.write(b)
}

// causedBy reports whether the socket call could have made the state
// change: only then do the two share a line. Calls are reported when they
// return, after the state changes they made, but other state changes
// (a segment arriving at the same instant) may come between, so the call
// must be one that makes this transition (RFC 9293 §3.3.2, Figure 5).
func causedBy(st, call *core.Event) bool {
	if st.FD >= 0 && call.FD >= 0 && st.FD != call.FD {
		return false
	}
	switch call.Name {
	case "connect":
		return st.To == "SYN_SENT" || st.From == "SYN_SENT" && st.To == "ESTABLISHED"
	case "listen":
		return st.To == "LISTEN"
	case "close", "shutdown":
		switch st.To {
		case "FIN_WAIT_1", "LAST_ACK", "CLOSED":
			return true
		}
	}
	return false
}

func (t *Tracer) flushHeld() {
	if !t.held {
		return
	}
	h := &t.heldEv
	b := appendEventPrefix(t.line(), t.since(h.Time), h.Host)
	b = appendEventText(b, h)
	t.write(b)
	t.write(t.heldFrames)
	t.clearHeld()
}

func (t *Tracer) clearHeld() {
	t.held = false
	t.heldEv = core.Event{}
	t.heldFrames = t.heldFrames[:0]
	t.heldCount = 0
}

// The trace's lines are built where they are kept, at the end of out
// (line), and written to w in blocks of up to outSize bytes: a bufio
// Writer copied every line once more, a twentieth of the JSON trace's
// time. A line longer than lineRoom may outgrow out's room; it is then
// copied.
const (
	outSize  = 64 << 10
	lineRoom = 16 << 10
)

// line returns an empty slice at the end of out, with room for a line.
func (t *Tracer) line() []byte {
	if cap(t.out)-len(t.out) < lineRoom {
		t.flushOut()
	}
	return t.out[len(t.out):len(t.out)]
}

// write keeps b, a line built by line or another buffer, for w.
func (t *Tracer) write(b []byte) {
	if t.err != nil || len(b) == 0 {
		return
	}
	n := len(t.out)
	switch {
	case n < cap(t.out) && &t.out[:n+1][n] == &b[0] && len(b) <= cap(t.out)-n:
		t.out = t.out[:n+len(b)] // built in place
	case len(b) <= cap(t.out)-n:
		t.out = append(t.out, b...)
	default:
		t.flushOut()
		if t.err == nil {
			_, t.err = t.w.Write(b)
		}
	}
}

// flushOut writes out's lines to w.
func (t *Tracer) flushOut() {
	if len(t.out) > 0 && t.err == nil {
		_, t.err = t.w.Write(t.out)
	}
	t.out = t.out[:0]
}

// Flush writes out anything held back or buffered and reports the first
// write error.
func (t *Tracer) Flush() error {
	if t.w == nil {
		return nil
	}
	t.flushHeld()
	t.flushOut()
	return t.err
}

// Err returns the first write error.
func (t *Tracer) Err() error { return t.err }

// errText shortens a wire error for display ("packet truncated").
func errText(err error) string {
	if err == nil {
		return ""
	}
	return strings.TrimPrefix(err.Error(), "wire: ")
}

// forgetEach makes the Tracer forget every cached piece of text before
// each frame and event: the tests' way to check that the caches never
// change a byte.
var forgetEach bool

func (t *Tracer) forgetCaches() {
	t.cache = textCache{}
	t.jfc = jsonCache{}
	t.jgen++
}
