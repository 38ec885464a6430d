package pcapng

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"time"
	"unicode/utf8"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Block types and option codes, pcapng specification §4 and §3.5.
const (
	blockNameResolution  = 0x00000004
	blockEnhancedPacket  = 0x00000006
	optEndOfOpt          = 0
	optComment           = 1
	optEPBFlags          = 2
	optEPBPacketID       = 5
	nrbRecordEnd         = 0
	nrbRecordIPv4        = 1
	epbHeaderLen         = 28 // block type … original length
	maxOptionValueLen    = 0xffff
	bufferSize           = 64 << 10
	maxCommentsPerPacket = 8
)

// Direction is the direction bits of an enhanced packet block's epb_flags
// option (pcapng §4.3.1): inbound or outbound. The zero value means the
// direction is not known and no flags option is written.
type Direction uint8

const (
	// DirUnknown writes no epb_flags option.
	DirUnknown Direction = iota
	// DirInbound marks a packet the interface received.
	DirInbound
	// DirOutbound marks a packet the interface sent.
	DirOutbound
)

// Section describes the section header block that starts a file.
// Hardware and operating system options are left out on purpose, so that
// the same run gives the same bytes on every machine.
type Section struct {
	// Application names the program that wrote the file ("stacklab v0.1").
	Application string
	// Comment is the file comment (scenario, seed, what the file holds).
	Comment string
}

// Interface describes one interface description block.
type Interface struct {
	// Name is if_name, "host:ifname" in stacklab's files.
	Name string
	// Description is if_description: the link parameters.
	Description string
	// LinkType is the block's link type: [layers.LinkTypeEthernet] or
	// [layers.LinkTypeRaw].
	LinkType layers.LinkType
}

// Packet is one enhanced packet block. Its fields are only read during
// [Writer.WritePacket].
type Packet struct {
	// Interface is the index returned by [NewWriter] (0) or
	// [Writer.AddInterface].
	Interface int
	// Time is the capture time, written with nanosecond resolution.
	Time time.Time
	// Data is the frame as captured. It is written unchanged.
	Data []byte
	// OrigLen is the frame's length on the wire when Data holds only its
	// first bytes (a snap length); zero means len(Data).
	OrigLen int
	// Dir is written as the epb_flags direction bits unless DirUnknown.
	Dir Direction
	// ID is written as epb_packetid (option 5) unless zero.
	ID uint64
	// Comments are written as opt_comment options, in order; empty ones are
	// skipped, at most 8 are written, and each is cut to 65535 bytes at a
	// rune boundary.
	Comments []string
}

// NameRecord maps one IPv4 address to names in a name resolution block.
type NameRecord struct {
	Addr  netip.Addr
	Names []string
}

// ErrClosed is returned by writes after [Writer.Close].
var ErrClosed = errors.New("pcapng: write to a closed writer")

// Writer writes a pcapng file with one section. Blocks are buffered;
// call [Writer.Flush] or [Writer.Close] to write them out.
type Writer struct {
	bw     *bufio.Writer
	ng     *pcapgo.NgWriter
	nintf  int
	err    error // first write error; later writes are refused
	closed bool
	hdr    [epbHeaderLen]byte
	opt    [16]byte
	tail   []byte // scratch for the end of an enhanced packet block
}

// maxTailKeep bounds the scratch buffer kept between packets; a packet
// with longer comments gets a buffer of its own.
const maxTailKeep = 4096

func appendOptHeader(b []byte, code uint16, n int) []byte {
	b = binary.LittleEndian.AppendUint16(b, code)
	return binary.LittleEndian.AppendUint16(b, uint16(n))
}

// NewWriter writes a section header block and the first interface
// description block (index 0) to w.
func NewWriter(w io.Writer, s Section, first Interface) (*Writer, error) {
	// pcapgo wraps w in bufio.NewWriter, which returns a *bufio.Writer
	// unchanged when it is big enough: the NgWriter and this package then
	// share one buffer, and blocks keep their order.
	bw := bufio.NewWriterSize(w, bufferSize)
	ng, err := pcapgo.NewNgWriterInterface(bw, ngInterface(first), pcapgo.NgWriterOptions{
		SectionInfo: pcapgo.NgSectionInfo{Application: s.Application, Comment: s.Comment},
	})
	if err != nil {
		return nil, err
	}
	return &Writer{bw: bw, ng: ng, nintf: 1, tail: make([]byte, 0, 512)}, nil
}

func ngInterface(i Interface) pcapgo.NgInterface {
	return pcapgo.NgInterface{
		Name:                i.Name,
		Description:         i.Description,
		LinkType:            i.LinkType,
		TimestampResolution: 9,
	}
}

// AddInterface writes an interface description block and returns its
// index for [Packet.Interface].
func (w *Writer) AddInterface(i Interface) (int, error) {
	if err := w.usable(); err != nil {
		return 0, err
	}
	id, err := w.ng.AddInterface(ngInterface(i))
	if err != nil {
		w.err = err
		return 0, err
	}
	w.nintf++
	return id, nil
}

// Interfaces returns the number of interfaces written so far.
func (w *Writer) Interfaces() int { return w.nintf }

func (w *Writer) usable() error {
	if w.closed {
		return ErrClosed
	}
	return w.err
}

// WritePacket writes one enhanced packet block (pcapng §4.3). It
// allocates nothing.
func (w *Writer) WritePacket(p *Packet) error {
	if err := w.usable(); err != nil {
		return err
	}
	if p.Interface < 0 || p.Interface >= w.nintf {
		return errors.New("pcapng: packet for an interface that was never added")
	}
	if uint64(len(p.Data)) > 0xffffffff-1024 || uint64(p.OrigLen) > 0xffffffff {
		return errors.New("pcapng: packet too large")
	}
	optLen := 0
	if p.Dir != DirUnknown {
		optLen += 4 + 4
	}
	if p.ID != 0 {
		optLen += 4 + 8
	}
	nc := 0
	for _, c := range p.Comments {
		if c == "" {
			continue
		}
		if nc == maxCommentsPerPacket {
			break
		}
		nc++
		optLen += 4 + pad4(len(cutComment(c)))
	}
	if optLen > 0 {
		optLen += 4 // opt_endofopt
	}
	dataLen := pad4(len(p.Data))
	total := epbHeaderLen + dataLen + optLen + 4

	ts := uint64(p.Time.UnixNano())
	h := w.hdr[:]
	le := binary.LittleEndian
	le.PutUint32(h[0:], blockEnhancedPacket)
	le.PutUint32(h[4:], uint32(total))
	le.PutUint32(h[8:], uint32(p.Interface))
	le.PutUint32(h[12:], uint32(ts>>32))
	le.PutUint32(h[16:], uint32(ts))
	orig := max(p.OrigLen, len(p.Data))
	le.PutUint32(h[20:], uint32(len(p.Data)))
	le.PutUint32(h[24:], uint32(orig))
	w.write(h)
	w.write(p.Data)
	// The rest of the block (padding, options, trailer) goes out in one
	// write, assembled in a reused buffer.
	t := w.tail[:0]
	t = append(t, zeros[:dataLen-len(p.Data)]...)
	if nc > 0 {
		nc = 0
		for _, c := range p.Comments {
			if c == "" {
				continue
			}
			if nc == maxCommentsPerPacket {
				break
			}
			nc++
			c = cutComment(c)
			t = appendOptHeader(t, optComment, len(c))
			t = append(t, c...)
			t = append(t, zeros[:pad4(len(c))-len(c)]...)
		}
	}
	if p.Dir != DirUnknown {
		t = appendOptHeader(t, optEPBFlags, 4)
		t = le.AppendUint32(t, uint32(p.Dir))
	}
	if p.ID != 0 {
		t = appendOptHeader(t, optEPBPacketID, 8)
		t = le.AppendUint64(t, p.ID)
	}
	if optLen > 0 {
		t = appendOptHeader(t, optEndOfOpt, 0)
	}
	t = le.AppendUint32(t, uint32(total))
	w.write(t)
	if cap(t) <= maxTailKeep {
		w.tail = t[:0]
	}
	return w.err
}

// WriteNames writes a name resolution block (pcapng §4.5) with one
// nrb_record_ipv4 per record that has an IPv4 address and at least one
// name. Names are cut at the first NUL byte.
func (w *Writer) WriteNames(records []NameRecord) error {
	if err := w.usable(); err != nil {
		return err
	}
	body := 0
	for _, r := range records {
		if n := nrbValueLen(r); n > 0 {
			body += 4 + pad4(n)
		}
	}
	if body == 0 {
		return nil
	}
	body += 4 // nrb_record_end
	total := 8 + body + 4
	le := binary.LittleEndian
	le.PutUint32(w.hdr[0:], blockNameResolution)
	le.PutUint32(w.hdr[4:], uint32(total))
	w.write(w.hdr[:8])
	for _, r := range records {
		n := nrbValueLen(r)
		if n == 0 {
			continue
		}
		w.optHeader(nrbRecordIPv4, n)
		a := r.Addr.As4()
		w.write(a[:])
		for _, name := range r.Names {
			name = cutName(name)
			if name == "" {
				continue
			}
			w.writeString(name)
			w.zero(1)
		}
		w.zero(pad4(n) - n)
	}
	w.optHeader(nrbRecordEnd, 0)
	le.PutUint32(w.opt[:4], uint32(total))
	w.write(w.opt[:4])
	return w.err
}

func nrbValueLen(r NameRecord) int {
	if !r.Addr.Is4() {
		return 0
	}
	n := 0
	for _, name := range r.Names {
		if name = cutName(name); name != "" {
			n += len(name) + 1
		}
	}
	if n == 0 || 4+n > maxOptionValueLen {
		return 0
	}
	return 4 + n
}

func cutName(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return s[:i]
		}
	}
	return s
}

// cutComment shortens c to fit an option, at a rune boundary.
func cutComment(c string) string {
	if len(c) <= maxOptionValueLen {
		return c
	}
	n := maxOptionValueLen
	for n > 0 && !utf8.RuneStart(c[n]) {
		n--
	}
	return c[:n]
}

func pad4(n int) int { return (n + 3) &^ 3 }

func (w *Writer) optHeader(code uint16, n int) {
	binary.LittleEndian.PutUint16(w.opt[0:], code)
	binary.LittleEndian.PutUint16(w.opt[2:], uint16(n))
	w.write(w.opt[:4])
}

func (w *Writer) write(b []byte) {
	if w.err != nil {
		return
	}
	_, w.err = w.bw.Write(b)
}

func (w *Writer) writeString(s string) {
	if w.err != nil {
		return
	}
	_, w.err = w.bw.WriteString(s)
}

var zeros [4]byte

func (w *Writer) zero(n int) {
	if n > 0 {
		w.write(zeros[:n])
	}
}

// Flush writes buffered blocks to the underlying writer.
func (w *Writer) Flush() error {
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		// Keep what was written: flush anyway, report the first error.
		w.bw.Flush()
		return w.err
	}
	w.err = w.bw.Flush()
	return w.err
}

// Close flushes the writer and refuses later writes. It does not close
// the underlying writer. It reports the first error the writer met.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	err := w.Flush()
	w.closed = true
	return err
}
