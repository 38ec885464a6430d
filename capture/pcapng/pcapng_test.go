package pcapng

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// syn is a TCP SYN from 10.0.0.1:49152 to 10.0.0.2:80 in an Ethernet
// frame, with correct checksums.
var syn = []byte{
	0x02, 0x00, 0x0a, 0x00, 0x00, 0x02, 0x02, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x08, 0x00, // eth
	0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x26, 0xcd, // ipv4 …
	0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,
	0xc0, 0x00, 0x00, 0x50, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, // tcp
	0x50, 0x02, 0xfa, 0xf0, 0xe0, 0x3a, 0x00, 0x00,
}

func TestWriteReadBack(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Section{Application: "stacklab test", Comment: "scenario x, seed 1"},
		Interface{Name: "client:eth0", Description: "10 ms, 100 Mbit/s", LinkType: layers.LinkTypeEthernet})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteNames([]NameRecord{
		{Addr: netip.MustParseAddr("10.0.0.1"), Names: []string{"client"}},
		{Addr: netip.MustParseAddr("10.0.0.2"), Names: []string{"server", "srv"}},
		{Addr: netip.MustParseAddr("::1"), Names: []string{"skipped"}},
	}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1000, 123456789)
	pkts := []Packet{
		{Interface: 0, Time: t0, Data: syn, Dir: DirOutbound, ID: 3, Comments: []string{"connect(3)"}},
		{Interface: 0, Time: t0.Add(time.Millisecond), Data: syn[:15], Dir: DirInbound, ID: 1 << 40,
			Comments: []string{"", "dropped: link.InTruncated", "second"}},
		{Interface: 0, Time: t0.Add(2 * time.Millisecond), Data: syn},
	}
	for i := range pkts[:2] {
		if err := w.WritePacket(&pkts[i]); err != nil {
			t.Fatal(err)
		}
	}
	id, err := w.AddInterface(Interface{Name: "tun:tun0", LinkType: layers.LinkTypeRaw})
	if err != nil || id != 1 {
		t.Fatalf("AddInterface = %d, %v; want 1, nil", id, err)
	}
	pkts = append(pkts, Packet{Interface: 1, Time: t0, Data: syn[14:], Dir: DirInbound, ID: 9})
	for i := range pkts[2:] {
		if err := w.WritePacket(&pkts[2+i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WritePacket(&Packet{Interface: 2, Data: syn}); err == nil {
		t.Error("WritePacket to interface 2 succeeded; want an error")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.WritePacket(&pkts[0]); !errors.Is(err, ErrClosed) {
		t.Errorf("WritePacket after Close = %v, want ErrClosed", err)
	}

	r, err := pcapgo.NewNgReader(bytes.NewReader(buf.Bytes()), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []Packet
	for {
		data, ci, opts, err := r.ReadPacketDataWithOptions()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading back: %v", err)
		}
		p := Packet{Interface: ci.InterfaceIndex, Time: ci.Timestamp, Data: data, Comments: opts.Comments}
		if opts.Flags != nil {
			p.Dir = Direction(opts.Flags.Direction)
		}
		if opts.PacketID != nil {
			p.ID = *opts.PacketID
		}
		got = append(got, p)
	}
	if len(got) != len(pkts) {
		t.Fatalf("read %d packets, want %d", len(got), len(pkts))
	}
	for i, want := range pkts {
		g := got[i]
		var wantComments []string
		for _, c := range want.Comments {
			if c != "" {
				wantComments = append(wantComments, c)
			}
		}
		if g.Interface != want.Interface || !g.Time.Equal(want.Time) || !bytes.Equal(g.Data, want.Data) ||
			g.Dir != want.Dir || g.ID != want.ID || strings.Join(g.Comments, "|") != strings.Join(wantComments, "|") {
			t.Errorf("packet %d: got %+v\nwant %+v", i, g, want)
		}
	}
	if si := r.SectionInfo(); si.Application != "stacklab test" || si.Comment != "scenario x, seed 1" || si.OS != "" || si.Hardware != "" {
		t.Errorf("section info %+v", si)
	}
	if r.NInterfaces() != 2 {
		t.Fatalf("%d interfaces, want 2", r.NInterfaces())
	}
	for i, want := range []struct {
		name, desc string
		lt         layers.LinkType
	}{{"client:eth0", "10 ms, 100 Mbit/s", layers.LinkTypeEthernet}, {"tun:tun0", "", layers.LinkTypeRaw}} {
		intf, _ := r.Interface(i)
		if intf.Name != want.name || intf.Description != want.desc || intf.LinkType != want.lt || intf.TimestampResolution != 9 {
			t.Errorf("interface %d = %+v", i, intf)
		}
	}
	if r.NNames() != 2 {
		t.Fatalf("%d name records, want 2", r.NNames())
	}
	for i, want := range []string{"10.0.0.1 client", "10.0.0.2 server,srv"} {
		nr, _ := r.Name(i)
		ip, _ := nr.Addr.(*pcapgo.NgIPAddress)
		var got string
		if ip != nil {
			got = ip.Addr.String() + " " + strings.Join(nr.Names, ",")
		}
		if got != want {
			t.Errorf("name record %d = %q, want %q", i, got, want)
		}
	}
}

func TestCutComment(t *testing.T) {
	long := strings.Repeat("é", 40000) // 80000 bytes
	c := cutComment(long)
	if len(c) > maxOptionValueLen || len(c)%2 != 0 {
		t.Errorf("cut to %d bytes", len(c))
	}
	if cutComment("short") != "short" {
		t.Error("short comment changed")
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(b []byte) (int, error) {
	if f.n -= len(b); f.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(b), nil
}

func TestWriteErrorIsReported(t *testing.T) {
	w, err := NewWriter(&failWriter{n: 200}, Section{}, Interface{Name: "a:b", LinkType: layers.LinkTypeEthernet})
	if err != nil {
		t.Fatal(err)
	}
	var first error
	for i := 0; i < 100000 && first == nil; i++ {
		first = w.WritePacket(&Packet{Data: syn, ID: 1})
	}
	if first == nil {
		t.Fatal("no error after writing 5 MB into a 200-byte writer")
	}
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Close = %v, want the disk full error", err)
	}
}

func TestWritePacketAllocs(t *testing.T) {
	w, err := NewWriter(io.Discard, Section{}, Interface{Name: "a:b", LinkType: layers.LinkTypeEthernet})
	if err != nil {
		t.Fatal(err)
	}
	comments := []string{"rto, backoff 2"}
	p := Packet{Time: time.Unix(1, 2), Data: syn, Dir: DirOutbound, ID: 77, Comments: comments}
	if n := testing.AllocsPerRun(1000, func() { _ = w.WritePacket(&p) }); n != 0 {
		t.Errorf("WritePacket allocates %v times per packet, want 0", n)
	}
}

func BenchmarkWritePacket(b *testing.B) {
	w, _ := NewWriter(io.Discard, Section{}, Interface{Name: "a:b", LinkType: layers.LinkTypeEthernet})
	data := make([]byte, 1514)
	p := Packet{Time: time.Unix(1, 2), Data: data, Dir: DirOutbound, ID: 77, Comments: []string{"send(3)"}}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		p.ID++
		_ = w.WritePacket(&p)
	}
}

// TestBeginCommit checks that a block written in two steps is the block
// WritePacket writes, that Begin returns the buffered copy of the data,
// and that a block left open is finished by Flush.
func TestBeginCommit(t *testing.T) {
	newW := func(b *bytes.Buffer) *Writer {
		w, err := NewWriter(b, Section{}, Interface{Name: "a:b", LinkType: layers.LinkTypeEthernet})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	p := Packet{Time: time.Unix(5, 6), Data: syn[:51], Dir: DirInbound, ID: 12, Comments: []string{"send", "dropped: x"}}
	var one, two bytes.Buffer
	w1 := newW(&one)
	if err := w1.WritePacket(&p); err != nil {
		t.Fatal(err)
	}
	w1.Close()
	w2 := newW(&two)
	data, err := w2.Begin(&p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, p.Data) {
		t.Errorf("Begin returned % x, want % x", data, p.Data)
	}
	if err := w2.Commit(p.Comments); err != nil {
		t.Fatal(err)
	}
	w2.Close()
	if !bytes.Equal(one.Bytes(), two.Bytes()) {
		t.Errorf("Begin+Commit wrote\n% x\nWritePacket wrote\n% x", two.Bytes(), one.Bytes())
	}
	if err := w2.Commit(nil); err == nil {
		t.Error("Commit after Close succeeded")
	}

	// Left open: Flush finishes it without comments.
	var three, four bytes.Buffer
	noComments := p
	noComments.Comments = nil
	w3 := newW(&three)
	w3.WritePacket(&noComments)
	w3.Close()
	w4 := newW(&four)
	if _, err := w4.Begin(&p); err != nil {
		t.Fatal(err)
	}
	w4.Close()
	if !bytes.Equal(three.Bytes(), four.Bytes()) {
		t.Errorf("open block flushed as\n% x\nwant\n% x", four.Bytes(), three.Bytes())
	}
	w5 := newW(&four)
	if err := w5.Commit(nil); err == nil {
		t.Error("Commit without Begin succeeded")
	}
}

// TestLargeFramesDoNotAllocate checks that 64 KiB frames, larger than
// the buffer, grow it once rather than once per frame.
func TestLargeFramesDoNotAllocate(t *testing.T) {
	w, err := NewWriter(io.Discard, Section{}, Interface{Name: "a:b", LinkType: layers.LinkTypeEthernet})
	if err != nil {
		t.Fatal(err)
	}
	p := Packet{Time: time.Unix(1, 2), Data: make([]byte, 65535+14), Dir: DirOutbound, ID: 1, Comments: []string{"send"}}
	w.WritePacket(&p)
	if n := testing.AllocsPerRun(100, func() { _ = w.WritePacket(&p) }); n != 0 {
		t.Errorf("WritePacket of a 64 KiB frame allocates %v times, want 0", n)
	}
}

// TestBusyWriterBufferGrows checks the write buffer's growth: a busy
// writer's buffer doubles each time it fills, up to maxBufferSize, and
// the file is the same bytes as one written with a flush after every
// packet (whose buffer never fills).
func TestBusyWriterBufferGrows(t *testing.T) {
	var busy, flushed bytes.Buffer
	wb, err := NewWriter(&busy, Section{}, Interface{Name: "a:b", LinkType: layers.LinkTypeEthernet})
	if err != nil {
		t.Fatal(err)
	}
	wf, err := NewWriter(&flushed, Section{}, Interface{Name: "a:b", LinkType: layers.LinkTypeEthernet})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 1514)
	for i := range 3000 {
		data[i%len(data)] = byte(i)
		p := Packet{Time: time.Unix(1, int64(i)), Data: data, Dir: DirOutbound, ID: uint64(i + 1), Comments: []string{"send"}}
		if err := wb.WritePacket(&p); err != nil {
			t.Fatal(err)
		}
		if err := wf.WritePacket(&p); err != nil {
			t.Fatal(err)
		}
		if err := wf.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if got := cap(wb.buf); got != maxBufferSize {
		t.Errorf("a busy writer's buffer is %d bytes, want %d", got, maxBufferSize)
	}
	if got := cap(wf.buf); got != bufferSize {
		t.Errorf("a writer flushed after every packet has a %d-byte buffer, want %d", got, bufferSize)
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(busy.Bytes(), flushed.Bytes()) {
		t.Errorf("the busy writer wrote %d bytes, the flushed one %d: they differ", busy.Len(), flushed.Len())
	}
}

// TestWriterReusesBuffer checks that a busy Writer's full-size buffer
// serves the next Writer once the first is closed, and that both files
// hold every packet.
func TestWriterReusesBuffer(t *testing.T) {
	data := make([]byte, 1500)
	write := func(out *bytes.Buffer) *Writer {
		w, err := NewWriter(out, Section{}, Interface{Name: "a:b", LinkType: layers.LinkTypeEthernet})
		if err != nil {
			t.Fatal(err)
		}
		for range 2000 { // 3 MB: the buffer grows to maxBufferSize
			if err := w.WritePacket(&Packet{Data: data}); err != nil {
				t.Fatal(err)
			}
		}
		return w
	}
	var first, second bytes.Buffer
	w := write(&first)
	if cap(w.buf) != maxBufferSize {
		t.Fatalf("a busy Writer's buffer is %d bytes, want %d", cap(w.buf), maxBufferSize)
	}
	buf := &w.buf[:1][0]
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w2 := write(&second)
	if &w2.buf[:1][0] != buf {
		t.Error("the next busy Writer allocated its buffer anew")
	}
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) || first.Len() < 2000*1500 {
		t.Errorf("the two files differ or are short: %d and %d bytes", first.Len(), second.Len())
	}
}
