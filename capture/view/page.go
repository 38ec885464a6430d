package view

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	_ "embed"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
)

//go:embed assets/view.js
var viewJS string

//go:embed assets/view.css
var viewCSS string

// csp forbids every request: the page is one file and works offline.
const csp = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"

// RecChunk is how many records (JSON lines) one of the page's record
// elements holds: showing a packet's details inflates only its chunk
// (and its neighbour's, for the calls around it).
const RecChunk = 512

// maxPageBytes bounds the frames' bytes kept in a page; past it each
// frame keeps only its first 128 bytes (its headers).
const maxPageBytes = 16 << 20

// Marks and layers as bits of the page's columns.
const (
	markR = 1 << iota
	markD
	markX
	markL
	markZ
	markO
	markK
)

// layerBits names the bits of the page's layer column, in order.
var layerBits = []string{"tcp", "udp", "icmp", "arp", "ipv4", "ipv6", "icmp6"}

// tcpFlagBits are the tcpdump flag letters in the order of the page's
// flag column bits.
const tcpFlagBits = "FSRP.UEW"

// page is what the script reads at once. The hops are columns of
// numbers (typed arrays, base64 little-endian) and of strings (one
// string, lines separated by "\n"), so that a page of 100,000 packets
// parses in well under a second: no object per packet is made until one
// is drawn or selected. The records, for the packet details, are JSON
// lines in a second script element that is not parsed at all until a
// packet is selected, and then only that packet's line.
type page struct {
	Title  string         `json:"title"`
	About  string         `json:"about,omitempty"`
	Lang   string         `json:"lang,omitempty"` // "zh": the page's words in Simplified Chinese
	Nodes  []Node         `json:"nodes"`
	Links  []Link         `json:"links"`
	Hosts  []string       `json:"hosts"`
	Notes  []Note         `json:"notes"`
	Folds  []Fold         `json:"folds"`
	Conns  []pconn        `json:"conns"`
	Height float64        `json:"height"`
	States []string       `json:"states"`
	Layers []string       `json:"layers"`
	N      int            `json:"n"`      // packets (hops)
	NRecs  int            `json:"nrecs"`  // records, in script elements recs0, recs1, … of RecChunk lines each
	Chunk  int            `json:"rchunk"` // RecChunk
	Cols   map[string]int `json:"cols"`   // column name → byte offset in the binary block
	Strs   pageStrs       `json:"strs"`
	Sack   sackMap        `json:"sack"`
	Drop   stringMap      `json:"drop"`
	// Gap is the records the page left out (Model.Gap): the graphs
	// shade it and break their lines across it.
	Gap *pageGap `json:"gap,omitempty"`
}

type pageGap struct {
	From float64 `json:"f"`
	To   float64 `json:"t"`
	N    int     `json:"n"`
}

type pconn struct {
	Proto string `json:"p"`
	A     string `json:"a"`
	B     string `json:"b"`
	AName string `json:"an"`
	BName string `json:"bn"`
	Label string `json:"l"`
	// The series as JSON text, parsed when a graph needs them.
	SeriesA string `json:"sa"`
	SeriesB string `json:"sb"`
}

// colNames are the page's number columns, in the order they are laid
// out in its binary block, each starting at a multiple of 8 bytes:
// t, ti, y1, y2, id, rtt, ak Float64 (time sent, time arrived or sent
// when it never did, rows, packet id, the RTT the ACK measured in µs or
// -1, the id of the segment it acknowledges); o, i, c Int32 (record of the sent and
// received copy, -1 none; connection, -1 none); seq, ack, win, len
// Uint32 (TCP, relative; the window as on the wire); a, b Uint16
// (lifelines); dir, m, ly, fl Uint8 (direction in the connection;
// markR…; layerBits with bit 7 set when a vantage point sent it;
// tcpFlagBits); ws Int8 (window scale option, -1 none).
var colNames = []string{"t", "ti", "y1", "y2", "id", "rtt", "ak", "o", "i", "c", "seq", "ack", "win", "len", "a", "b", "dir", "m", "ly", "fl", "ws"}

// pageStrs holds string columns: lines joined with "\n".
type pageStrs struct {
	Label string `json:"l"` // the Flow Graph label
	Why   string `json:"w"` // why it was sent
}

type sackMap map[int][][2]int64
type stringMap map[int]string

func (m sackMap) MarshalJSON() ([]byte, error) {
	out := map[string][][2]int64{}
	for k, v := range m {
		out[strconv.Itoa(k)] = v
	}
	return json.Marshal(out)
}

func (m stringMap) MarshalJSON() ([]byte, error) {
	out := map[string]string{}
	for k, v := range m {
		out[strconv.Itoa(k)] = v
	}
	return json.Marshal(out)
}

// column collects one typed array.
type column struct{ b []byte }

func (c *column) f64(v float64) { c.b = binary.LittleEndian.AppendUint64(c.b, math.Float64bits(v)) }
func (c *column) u32(v uint32)  { c.b = binary.LittleEndian.AppendUint32(c.b, v) }
func (c *column) u16(v uint16)  { c.b = binary.LittleEndian.AppendUint16(c.b, v) }
func (c *column) u8(v uint8)    { c.b = append(c.b, v) }

// oneLine keeps a string on one line of a string column.
func oneLine(s string) string {
	if strings.ContainsAny(s, "\r\n") {
		s = strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	}
	return s
}

// page lays the model out in columns.
func (m *Model) page() (*page, []byte) {
	p := &page{Title: m.Title, About: m.About, Lang: m.Lang, Nodes: m.Nodes, Links: m.Links, Hosts: m.Hosts, Notes: m.Notes, Folds: m.Folds,
		Height: m.Height, States: m.States, Layers: layerBits, N: len(m.Hops), NRecs: len(m.Recs), Chunk: RecChunk, Sack: sackMap{}, Drop: stringMap{}}
	if g := m.Gap; g != nil {
		p.Gap = &pageGap{From: g.From, To: g.To, N: g.N}
	}
	for _, c := range m.Conns {
		pc := pconn{Proto: c.Proto, A: c.A, B: c.B, AName: c.AName, BName: c.BName, Label: c.Label, SeriesA: "[]", SeriesB: "[]"}
		if b, err := json.Marshal(c.SeriesA); err == nil && c.SeriesA != nil {
			pc.SeriesA = string(b)
		}
		if b, err := json.Marshal(c.SeriesB); err == nil && c.SeriesB != nil {
			pc.SeriesB = string(b)
		}
		p.Conns = append(p.Conns, pc)
	}
	var t, ti, y1, y2, o, in, a, b, cn, dir, mk, ly, id, rtt, ak, fl, seq, ack, win, ln, ws column
	var labels, why strings.Builder
	for i, h := range m.Hops {
		r := m.recs.at(h.Out)
		t.f64(h.T)
		if h.In >= 0 {
			ti.f64(m.recs.at(h.In).Time)
		} else {
			ti.f64(h.T)
		}
		y1.f64(h.Y1)
		y2.f64(h.Y2)
		rtt.f64(h.RTT)
		ak.f64(float64(h.Acks))
		o.u32(uint32(int32(h.Out)))
		in.u32(uint32(int32(h.In)))
		a.u16(uint16(h.From))
		b.u16(uint16(h.To))
		cn.u32(uint32(int32(h.Conn)))
		dir.u8(uint8(h.Dir))
		var marks uint8
		for _, c := range h.Marks {
			marks |= map[rune]uint8{'R': markR, 'D': markD, 'X': markX, 'L': markL, 'Z': markZ, 'O': markO, 'K': markK}[c]
		}
		mk.u8(marks)
		L := &r.Layers
		var bits uint8
		for k, has := range []bool{L.TCP != nil, L.UDP != nil, L.ICMP != nil, L.ARP != nil, L.IPv4 != nil, L.IPv6 != nil, L.ICMP6 != nil} {
			if has {
				bits |= 1 << k
			}
		}
		if r.Vantage != "" {
			bits |= 1 << 7
		}
		ly.u8(bits)
		id.f64(float64(r.ID))
		var flags uint8
		var tseq, tack, twin, tlen uint32
		wscale := int8(-1)
		if tc := L.TCP; tc != nil {
			for k := range len(tcpFlagBits) {
				if strings.IndexByte(tc.Flags, tcpFlagBits[k]) >= 0 {
					flags |= 1 << k
				}
			}
			tseq, tack, twin, tlen = tc.Seq, tc.Ack, uint32(tc.Win), uint32(tc.Len)
			if o := tc.Options; o != nil {
				if o.WScale != nil {
					wscale = int8(*o.WScale)
				}
				for _, s := range o.SACK {
					if len(s) == 2 {
						p.Sack[i] = append(p.Sack[i], [2]int64{s[0], s[1]})
					}
				}
			}
		}
		fl.u8(flags)
		seq.u32(tseq)
		ack.u32(tack)
		win.u32(twin)
		ln.u32(tlen)
		ws.u8(uint8(wscale))
		if h.Drop != "" {
			p.Drop[i] = h.Drop
		}
		labels.WriteString(oneLine(h.Label))
		labels.WriteByte('\n')
		why.WriteString(oneLine(r.Note))
		why.WriteByte('\n')
	}
	p.Strs = pageStrs{Label: labels.String(), Why: why.String()}
	p.Cols = map[string]int{}
	var block []byte
	for k, c := range []*column{&t, &ti, &y1, &y2, &id, &rtt, &ak, &o, &in, &cn, &seq, &ack, &win, &ln, &a, &b, &dir, &mk, &ly, &fl, &ws} {
		for len(block)%8 != 0 {
			block = append(block, 0)
		}
		p.Cols[colNames[k]] = len(block)
		block = append(block, c.b...)
	}
	return p, block
}

// WriteHTML writes the model as one self-contained HTML page: the
// topology, the ladder, the packet details and the TCP graphs. The page
// makes no request: its script and style are inline. Its data are three
// gzip streams in base64 (the browser's DecompressionStream inflates
// them): the page's JSON, the number columns, and the records as JSON
// lines in chunks, each inflated only when a packet in it is first shown.
func (m *Model) WriteHTML(w io.Writer) error {
	m.trimBytes()
	p, block := m.page()
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	lang := "en"
	if m.Lang == "zh" {
		lang = "zh-Hans"
	}
	fmt.Fprintf(bw, `<!DOCTYPE html>
<html lang="%s"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="%s">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%s — stacklab</title>
<style>%s</style>
</head><body>
`, lang, csp, html.EscapeString(m.Title), viewCSS)
	var zw *gzip.Writer // one compressor for every part: each takes a megabyte
	part := func(id string, data []byte) error {
		fmt.Fprintf(bw, "<script id=%q type=\"application/octet-stream\">", id)
		if err := writeGzipBase64(bw, &zw, data); err != nil {
			return err
		}
		_, err := bw.WriteString("</script>\n")
		return err
	}
	if err := part("data", data); err != nil {
		return err
	}
	if err := part("cols", block); err != nil {
		return err
	}
	bw.WriteString("<script>\n")
	bw.WriteString(viewJS)
	bw.WriteString("</script>\n")
	// The records come after the script, so that the page is drawn
	// while the browser still reads them, in chunks of RecChunk lines,
	// so that showing a packet inflates only the few it needs.
	var recs bytes.Buffer
	for c := 0; c*RecChunk < len(m.Recs); c++ {
		recs.Reset()
		for _, r := range m.Recs[c*RecChunk : min(len(m.Recs), (c+1)*RecChunk)] {
			recs.Write(r)
			recs.WriteByte('\n')
		}
		if err := part("recs"+strconv.Itoa(c), recs.Bytes()); err != nil {
			return err
		}
	}
	bw.WriteString("</body></html>\n")
	return bw.Flush()
}

// writeGzipBase64 writes data gzipped, in base64 without padding (so
// that no "=" can follow letters in the page), with *zw, made at the
// first call and reset at the next.
func writeGzipBase64(w io.Writer, zw **gzip.Writer, data []byte) error {
	enc := base64.NewEncoder(base64.RawStdEncoding, w)
	if *zw == nil {
		z, err := gzip.NewWriterLevel(enc, gzip.DefaultCompression)
		if err != nil {
			return err
		}
		*zw = z
	} else {
		(*zw).Reset(enc)
	}
	if _, err := (*zw).Write(data); err != nil {
		return err
	}
	if err := (*zw).Close(); err != nil {
		return err
	}
	return enc.Close()
}

// trimBytes cuts each frame's bytes to its first 128 when all of them
// would make the page larger than maxPageBytes.
func (m *Model) trimBytes() {
	total := 0
	for _, r := range m.Recs {
		total += len(r)
	}
	if total <= m.pageLimit() {
		return
	}
	for i, r := range m.Recs {
		m.Recs[i] = trimRecord(r)
	}
}

// pageLimit is maxPageBytes, or a test's smaller bound.
func (m *Model) pageLimit() int { return cmp.Or(m.maxBytes, maxPageBytes) }

// trimRecord returns a record with its frame's bytes cut to the first
// 128 (256 hex digits), or the record itself if they are no longer.
func trimRecord(r json.RawMessage) json.RawMessage {
	start, end, ok := hexTail(r)
	switch {
	case ok:
	case start < 0:
		return r // no bytes
	default:
		const key = `,"bytes":"`
		k := bytes.LastIndex(r, []byte(key))
		start = k + len(key)
		end = bytes.IndexByte(r[start:], '"')
		if end < 0 {
			return r
		}
		end += start
	}
	return cutBytes(r, start, end)
}

// cutBytes cuts the hex digits r[start:end] to their first 256.
func cutBytes(r json.RawMessage, start, end int) json.RawMessage {
	if end-start <= 256 {
		return r
	}
	out := make(json.RawMessage, 0, len(r)-(end-start-256))
	return append(append(out, r[:start+256]...), r[end:]...)
}

// hexTail finds a frame's bytes where the tracer writes them: a record
// that ends with its "bytes" field, a string of hex digits. It returns
// where the digits start and end (the closing quote) in r, or false
// (with start -1 when r has no "bytes" field at all).
// The bytes are most of a record (2,048 of them as 4,096 digits): found
// from the front and checked digit by digit, they are not scanned again
// by a JSON decoder.
func hexTail(r []byte) (start, end int, ok bool) {
	const key = `,"bytes":"`
	k := bytes.Index(r, []byte(key))
	if k < 0 {
		return -1, 0, false
	}
	if len(r) < k+len(key)+2 || !bytes.HasSuffix(r, []byte(`"}`)) {
		return 0, 0, false
	}
	start, end = k+len(key), len(r)-2
	for _, c := range r[start:end] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return 0, 0, false
		}
	}
	return start, end, true
}
