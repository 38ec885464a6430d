package pcapng

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"sync"
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
	bufferSize           = 64 << 10  // blocks this package writes, at first
	maxBufferSize        = 256 << 10 // ... and once the file is busy
	headerBufferSize     = 4096      // bw: the SHB and IDBs pcapgo writes
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
	bw     *bufio.Writer // shared with ng, which writes the SHB and IDBs
	ng     *pcapgo.NgWriter
	nintf  int
	err    error // first write error; later writes are refused
	closed bool
	// buf holds the blocks written by this package that bw has not
	// received yet: a packet's header, data and options are assembled
	// here in place, so the data is copied once.
	buf []byte
	// open is the offset in buf of the block begun by [Writer.Begin] and
	// not yet finished by [Writer.Commit], or -1; openDir and openID are
	// its options.
	open    int
	openDir Direction
	openID  uint64
	hdr     [epbHeaderLen]byte
	opt     [16]byte
}

// tailRoom is the room Begin keeps free in the buffer beyond the data,
// for the options Commit appends; longer comments make the buffer grow.
const tailRoom = 4096

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
	bw := bufio.NewWriterSize(w, headerBufferSize)
	ng, err := pcapgo.NewNgWriterInterface(bw, ngInterface(first), pcapgo.NgWriterOptions{
		SectionInfo: pcapgo.NgSectionInfo{Application: s.Application, Comment: s.Comment},
	})
	if err != nil {
		return nil, err
	}
	return &Writer{bw: bw, ng: ng, nintf: 1, buf: make([]byte, 0, bufferSize), open: -1}, nil
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
	w.commitOpen()
	w.spill() // the blocks before it go first
	if w.err != nil {
		return 0, w.err
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
	if _, err := w.Begin(p); err != nil {
		return err
	}
	return w.Commit(p.Comments)
}

// Begin starts an enhanced packet block for p (pcapng §4.3): it copies
// the block header and p.Data into the writer's buffer and returns that
// copy of the data, which stays valid and unchanged until the block is
// finished by [Writer.Commit]. p.Comments is ignored: Commit takes the
// comments, so that a caller can decide them after looking at the data.
// A block begun and not committed is committed without comments by the
// next Begin, AddInterface, Flush or Close. It allocates nothing.
func (w *Writer) Begin(p *Packet) ([]byte, error) {
	if err := w.usable(); err != nil {
		return nil, err
	}
	w.commitOpen()
	if p.Interface < 0 || p.Interface >= w.nintf {
		return nil, errors.New("pcapng: packet for an interface that was never added")
	}
	if uint64(len(p.Data)) > 0xffffffff-1024 || uint64(p.OrigLen) > 0xffffffff {
		return nil, errors.New("pcapng: packet too large")
	}
	dataLen := pad4(len(p.Data))
	if need := epbHeaderLen + dataLen + tailRoom; len(w.buf)+need > cap(w.buf) {
		w.spill()
		if w.err != nil {
			return nil, w.err
		}
		switch {
		case need > cap(w.buf):
			// A frame larger than the buffer (a 64 KiB frame): the buffer
			// grows once to hold it, and keeps that size.
			w.buf = make([]byte, 0, need+bufferSize)
		case cap(w.buf) < maxBufferSize:
			// The buffer filled: a busy file. Doubling it, up to 256
			// KiB, halves the write system calls, which cost as much as
			// copying the frames at 64 KiB a call; a quiet file keeps its
			// 64 KiB. The bytes written are the same either way. Not
			// more: every byte captured is written into the buffer, and
			// a buffer per file that the CPU's cache no longer holds
			// makes each frame's copy a miss (BenchmarkCaptureOverhead's
			// floor rows: copying each frame into 64 KiB +30 %, 256 KiB
			// +34 %, 1 MiB +45 %; pcapng alone, BenchmarkCaptureOverhead
			// interleaved in one binary, +52-63 % at 256 KiB against
			// +67-73 % at 1 MiB, and the runner writing pcapng 1.10-1.20×
			// the bare simulation against 1.45-1.49×).
			if c := 2 * cap(w.buf); c == maxBufferSize {
				w.buf = takeBuffer()
			} else {
				w.buf = make([]byte, 0, c)
			}
		}
	}
	ts := uint64(p.Time.UnixNano())
	orig := max(p.OrigLen, len(p.Data))
	le := binary.LittleEndian
	off := len(w.buf)
	b := le.AppendUint32(w.buf, blockEnhancedPacket)
	b = le.AppendUint32(b, 0) // block total length, set by Commit
	b = le.AppendUint32(b, uint32(p.Interface))
	b = le.AppendUint32(b, uint32(ts>>32))
	b = le.AppendUint32(b, uint32(ts))
	b = le.AppendUint32(b, uint32(len(p.Data)))
	b = le.AppendUint32(b, uint32(orig))
	b = append(b, p.Data...)
	for range dataLen - len(p.Data) {
		b = append(b, 0) // up to 3 bytes: cheaper than a copy
	}
	w.buf = b
	w.open, w.openDir, w.openID = off, p.Dir, p.ID
	return b[off+epbHeaderLen : off+epbHeaderLen+len(p.Data) : off+epbHeaderLen+len(p.Data)], nil
}

// Commit finishes the block begun by [Writer.Begin] with comments as
// opt_comment options, in order: empty ones are skipped, at most 8 are
// written, and each is cut to 65535 bytes at a rune boundary. It
// allocates nothing unless the comments are longer than 4 KiB.
func (w *Writer) Commit(comments []string) error {
	if err := w.usable(); err != nil {
		return err
	}
	if w.open < 0 {
		return errors.New("pcapng: Commit without Begin")
	}
	off := w.open
	w.open = -1
	le := binary.LittleEndian
	t := w.buf
	start := len(t)
	nc := 0
	for _, c := range comments {
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
	if w.openDir != DirUnknown {
		t = appendOptHeader(t, optEPBFlags, 4)
		t = le.AppendUint32(t, uint32(w.openDir))
	}
	if w.openID != 0 {
		t = appendOptHeader(t, optEPBPacketID, 8)
		t = le.AppendUint64(t, w.openID)
	}
	if len(t) > start {
		t = appendOptHeader(t, optEndOfOpt, 0)
	}
	total := len(t) + 4 - off
	t = le.AppendUint32(t, uint32(total))
	le.PutUint32(t[off+4:], uint32(total))
	w.buf = t
	return w.err
}

// commitOpen finishes a block left open by Begin, without comments.
func (w *Writer) commitOpen() {
	if w.open >= 0 {
		w.Commit(nil)
	}
}

// spill hands the buffered blocks to bw, which writes them through when
// they fill its buffer (without copying them when it is empty).
func (w *Writer) spill() {
	if len(w.buf) == 0 {
		return
	}
	if w.err == nil {
		_, w.err = w.bw.Write(w.buf)
	}
	w.buf = w.buf[:0]
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
	w.commitOpen()
	w.spill() // the blocks before it go first
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
	w.commitOpen()
	w.spill()
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
	if cap(w.buf) == maxBufferSize {
		giveBuffer(w.buf)
	}
	w.buf = nil
	return err
}

// freeBuffers holds the full-size buffers of closed Writers, at most
// maxFreeBuffers, for the next: a simulation run writes a file per
// vantage point, each busy enough to grow its buffer to 256 KiB, and
// without them each run allocated, zeroed and faulted in that memory
// anew.
var freeBuffers struct {
	mu   sync.Mutex
	list [][]byte
}

const maxFreeBuffers = 8

// takeBuffer returns an empty buffer of maxBufferSize.
func takeBuffer() []byte {
	freeBuffers.mu.Lock()
	defer freeBuffers.mu.Unlock()
	if n := len(freeBuffers.list); n > 0 {
		b := freeBuffers.list[n-1]
		freeBuffers.list[n-1] = nil
		freeBuffers.list = freeBuffers.list[:n-1]
		return b
	}
	return make([]byte, 0, maxBufferSize)
}

// giveBuffer keeps b for a later Writer, if there is room.
func giveBuffer(b []byte) {
	freeBuffers.mu.Lock()
	defer freeBuffers.mu.Unlock()
	if len(freeBuffers.list) < maxFreeBuffers {
		freeBuffers.list = append(freeBuffers.list, b[:0])
	}
}
