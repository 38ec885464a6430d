package ipv4

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"stacklab/stack/wire"
)

var (
	t0  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	src = netip.MustParseAddr("10.0.0.1")
	dst = netip.MustParseAddr("10.0.0.2")
)

func at(d time.Duration) time.Time { return t0.Add(d) }

// packet builds a valid IPv4 packet with the given options and payload.
func packet(id uint16, df bool, opts []byte, payload []byte) wire.IPv4 {
	hl := wire.IPv4MinHeaderLen + len(opts)
	b := make([]byte, hl+len(payload))
	ip := wire.IPv4(b)
	ip.Encode(&wire.IPv4Fields{TotalLen: uint16(len(b)), ID: id, DF: df, TTL: 64, Protocol: wire.ProtoUDP,
		Src: src, Dst: dst, HeaderLen: uint8(hl)})
	copy(b[wire.IPv4MinHeaderLen:], opts)
	copy(b[hl:], payload)
	ip.SetChecksum()
	return ip
}

// fragment is a test helper that collects copies of the fragments.
func fragment(t *testing.T, pkt wire.IPv4, mtu int) []wire.IPv4 {
	t.Helper()
	var out []wire.IPv4
	if err := Fragment(pkt, mtu, nil, func(f wire.IPv4) { out = append(out, bytes.Clone(f)) }); err != nil {
		t.Fatalf("Fragment: %v", err)
	}
	return out
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func TestFragmentLiteral(t *testing.T) {
	// 56 bytes of data over the minimum MTU of 68: 48 bytes, then 8.
	pkt := packet(0x1234, false, nil, seq(56))
	frags := fragment(t, pkt, 68)
	want := []string{
		"4500004412342000401100000a0000010a000002" + hexString(seq(48)),
		"4500001c12340006401100000a0000010a000002" + "3031323334353637",
	}
	if len(frags) != len(want) {
		t.Fatalf("%d fragments, want %d", len(frags), len(want))
	}
	for i, f := range frags {
		if _, err := wire.ParseIPv4(f); err != nil {
			t.Fatalf("fragment %d: %v", i, err)
		}
		g := bytes.Clone(f)
		g[10], g[11] = 0, 0 // compare without the checksum, checked above
		if got := hexString(g); got != want[i] {
			t.Errorf("fragment %d:\n got %s\nwant %s", i, got, want[i])
		}
	}
}

func hexString(b []byte) string {
	const h = "0123456789abcdef"
	s := make([]byte, 0, 2*len(b))
	for _, v := range b {
		s = append(s, h[v>>4], h[v&15])
	}
	return string(s)
}

func TestFragmentSizes(t *testing.T) {
	tests := []struct {
		name    string
		payload int
		mtu     int
		sizes   []int // total lengths
		offsets []uint16
	}{
		{"fits", 1480, 1500, []int{1500}, []uint16{0}},
		{"udp 4000", 4000, 1500, []int{1500, 1500, 1060}, []uint16{0, 1480, 2960}},
		{"odd mtu", 100, 69, []int{68, 68, 24}, []uint16{0, 48, 96}},
		{"max", 65515, 1500, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkt := packet(7, false, nil, seq(tt.payload))
			frags := fragment(t, pkt, tt.mtu)
			total := 0
			for i, f := range frags {
				if len(f) > tt.mtu || f.ID() != 7 || f.More() != (i < len(frags)-1) {
					t.Fatalf("fragment %d: len %d id %d MF %v", i, len(f), f.ID(), f.More())
				}
				if tt.sizes != nil && (len(f) != tt.sizes[i] || f.FragmentOffset() != tt.offsets[i]) {
					t.Fatalf("fragment %d: len %d off %d, want %d %d", i, len(f), f.FragmentOffset(), tt.sizes[i], tt.offsets[i])
				}
				if i < len(frags)-1 && len(f.Payload())%8 != 0 {
					t.Fatalf("fragment %d carries %d bytes", i, len(f.Payload()))
				}
				total += len(f.Payload())
			}
			if tt.sizes != nil && len(frags) != len(tt.sizes) {
				t.Fatalf("%d fragments, want %d", len(frags), len(tt.sizes))
			}
			if total != tt.payload {
				t.Fatalf("fragments carry %d bytes, want %d", total, tt.payload)
			}
		})
	}
}

func TestFragmentErrors(t *testing.T) {
	big := packet(1, true, nil, seq(2000))
	if err := Fragment(big, 1500, nil, func(wire.IPv4) { t.Fatal("emitted with DF") }); !errors.Is(err, syscall.EMSGSIZE) {
		t.Fatalf("DF: %v", err)
	}
	if err := Fragment(packet(1, false, nil, seq(100)), 60, nil, func(wire.IPv4) {}); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("small mtu: %v", err)
	}
	// A received fragment at offset 65000 with 1400 bytes ends past any
	// datagram; split for MTU 576 its later pieces' offsets would wrap to
	// the start of the datagram.
	far := packet(1, false, nil, seq(1400))
	far.SetFlagsFragment(false, true, 65000)
	far.SetChecksum()
	if err := Fragment(far, 576, nil, func(f wire.IPv4) { t.Fatalf("emitted offset %d", f.FragmentOffset()) }); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("fragment past 65535: %v", err)
	}
}

func TestFragmentOptions(t *testing.T) {
	// Loose source route (0x83, copied) and record route (0x07, not copied).
	lsrr := []byte{0x83, 7, 4, 10, 0, 0, 9}
	rr := []byte{0x07, 7, 4, 0, 0, 0, 0}
	opts := append(append(append([]byte{}, lsrr...), rr...), 0, 0) // 16 bytes
	pkt := packet(3, false, opts, seq(200))
	frags := fragment(t, pkt, 100)
	if !bytes.Equal(frags[0].Options(), opts) {
		t.Fatalf("first fragment options %x", frags[0].Options())
	}
	for _, f := range frags[1:] {
		if want := append(bytes.Clone(lsrr), 0); !bytes.Equal(f.Options(), want) {
			t.Fatalf("later options %x, want %x", f.Options(), want)
		}
		if !f.IsChecksumValid() {
			t.Fatal("bad checksum")
		}
	}
	// Reassembly gives the original back, first header included.
	r := NewReassembler(Config{})
	var got wire.IPv4
	for _, f := range frags {
		out, err := r.Add(f, t0)
		if err != nil {
			t.Fatal(err)
		}
		if out != nil {
			got = bytes.Clone(out)
		}
	}
	if !bytes.Equal(got, pkt) {
		t.Fatalf("reassembled:\n got %x\nwant %x", []byte(got), []byte(pkt))
	}
}

func TestFragmentOfFragment(t *testing.T) {
	// A router refragments a middle fragment: offsets add up, MF stays.
	pkt := packet(9, false, nil, seq(3000))
	first := fragment(t, pkt, 1500)
	again := fragment(t, first[1], 600)
	r := NewReassembler(Config{})
	var got wire.IPv4
	for _, f := range append(append([]wire.IPv4{first[0]}, again...), first[2:]...) {
		out, err := r.Add(f, t0)
		if err != nil {
			t.Fatal(err)
		}
		if out != nil {
			got = bytes.Clone(out)
		}
	}
	if !bytes.Equal(got, pkt) {
		t.Fatal("refragmented datagram not reassembled")
	}
}

func TestReassemblyOrders(t *testing.T) {
	pkt := packet(42, false, nil, seq(5000))
	frags := fragment(t, pkt, 576)
	rng := rand.New(rand.NewPCG(1, 1))
	for trial := range 20 {
		order := rng.Perm(len(frags))
		if trial == 0 {
			for i := range order {
				order[i] = len(frags) - 1 - i // reverse
			}
		}
		r := NewReassembler(Config{})
		for n, i := range order {
			out, err := r.Add(frags[i], t0)
			if err != nil {
				t.Fatalf("trial %d: %v", trial, err)
			}
			if (out != nil) != (n == len(order)-1) {
				t.Fatalf("trial %d: completed after %d of %d", trial, n+1, len(order))
			}
			if out != nil && !bytes.Equal(out, pkt) {
				t.Fatalf("trial %d: reassembled bytes differ", trial)
			}
		}
		if r.Len() != 0 || r.Held() != 0 || r.Counters().ReasmOKs != 1 || r.Counters().ReasmReqds != uint64(len(frags)) {
			t.Fatalf("trial %d: len %d held %d counters %+v", trial, r.Len(), r.Held(), r.Counters())
		}
	}
}

func TestReassemblyInterleaved(t *testing.T) {
	a := packet(1, false, nil, seq(3000))
	b := packet(2, false, nil, bytes.Repeat([]byte{7}, 3000))
	fa, fb := fragment(t, a, 1500), fragment(t, b, 1500)
	r := NewReassembler(Config{})
	var done []wire.IPv4
	for i := range fa {
		for _, f := range []wire.IPv4{fa[i], fb[i]} {
			out, err := r.Add(f, t0)
			if err != nil {
				t.Fatal(err)
			}
			if out != nil {
				done = append(done, bytes.Clone(out))
			}
		}
	}
	if len(done) != 2 || !bytes.Equal(done[0], a) || !bytes.Equal(done[1], b) {
		t.Fatal("interleaved datagrams mixed up")
	}
}

func TestReassemblyDrops(t *testing.T) {
	mk := func(off uint16, mf bool, n int) wire.IPv4 {
		f := packet(5, false, nil, seq(n))
		f.SetFlagsFragment(false, mf, off)
		f.SetChecksum()
		return f
	}
	frags := []wire.IPv4{mk(0, true, 24), mk(24, true, 24), mk(48, false, 16)}
	tests := []struct {
		name   string
		in     []wire.IPv4
		errs   []error
		left   int // datagrams still waiting
		reason func(Counters) uint64
	}{
		{"duplicate kept", []wire.IPv4{frags[0], frags[0]}, []error{nil, ErrDuplicate}, 1,
			func(c Counters) uint64 { return c.Duplicates }},
		{"partial overlap discards", []wire.IPv4{frags[0], mk(16, true, 16)}, []error{nil, ErrOverlap}, 0,
			func(c Counters) uint64 { return c.Overlaps }},
		{"same start other length discards", []wire.IPv4{frags[1], mk(24, true, 8)}, []error{nil, ErrOverlap}, 0,
			func(c Counters) uint64 { return c.Overlaps }},
		{"covering overlap discards", []wire.IPv4{frags[1], mk(16, true, 40)}, []error{nil, ErrOverlap}, 0,
			func(c Counters) uint64 { return c.Overlaps }},
		{"MF not multiple of 8", []wire.IPv4{mk(0, true, 12)}, []error{ErrBadFragment}, 0,
			func(c Counters) uint64 { return c.BadFragments }},
		{"past 65535", []wire.IPv4{mk(65512, false, 16)}, []error{ErrBadFragment}, 0,
			func(c Counters) uint64 { return c.BadFragments }},
		{"two different ends", []wire.IPv4{frags[2], mk(48, false, 8)}, []error{nil, ErrBadFragment}, 0,
			func(c Counters) uint64 { return c.BadFragments }},
		{"data past the end", []wire.IPv4{frags[2], mk(64, true, 8)}, []error{nil, ErrBadFragment}, 0,
			func(c Counters) uint64 { return c.BadFragments }},
		{"end before data", []wire.IPv4{frags[1], mk(8, false, 8)}, []error{nil, ErrBadFragment}, 0,
			func(c Counters) uint64 { return c.BadFragments }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReassembler(Config{})
			for i, f := range tt.in {
				out, err := r.Add(f, t0)
				if out != nil || !errors.Is(err, tt.errs[i]) {
					t.Fatalf("fragment %d: out %v err %v, want %v", i, out != nil, err, tt.errs[i])
				}
			}
			if r.Len() != tt.left || tt.reason(r.Counters()) != 1 || r.Counters().ReasmFails != 1 {
				t.Fatalf("len %d counters %+v", r.Len(), r.Counters())
			}
			if tt.left == 0 && r.Held() != 0 {
				t.Fatalf("held %d after discard", r.Held())
			}
		})
	}
}

func TestReassemblyLimits(t *testing.T) {
	frags := func(id uint16) []wire.IPv4 { return fragment(t, packet(id, false, nil, seq(3000)), 1500) }
	t.Run("datagrams", func(t *testing.T) {
		// A new datagram evicts the oldest incomplete one: a flood of
		// first fragments that never complete cannot lock reassembly.
		r := NewReassembler(Config{MaxDatagrams: 2})
		r.Add(frags(1)[0], t0)
		r.Add(frags(2)[0], t0)
		if _, err := r.Add(frags(3)[0], t0); err != nil {
			t.Fatalf("err %v", err)
		}
		if r.Len() != 2 || r.Counters().Evictions != 1 || r.Counters().ReasmFails != 1 {
			t.Fatalf("len %d counters %+v", r.Len(), r.Counters())
		}
		// The survivors still complete.
		var whole wire.IPv4
		for _, f := range frags(2)[1:] {
			out, err := r.Add(f, t0)
			if err != nil {
				t.Fatal(err)
			}
			whole = out
		}
		if whole == nil {
			t.Fatal("datagram 2 not reassembled")
		}
	})
	t.Run("bytes", func(t *testing.T) {
		r := NewReassembler(Config{MaxBytes: 2000})
		r.Add(frags(1)[0], t0)
		if _, err := r.Add(frags(2)[0], t0); err != nil || r.Counters().Evictions != 1 {
			t.Fatalf("err %v counters %+v", err, r.Counters())
		}
		// Datagram 2 alone outgrows the bound: its fragment is refused.
		if _, err := r.Add(frags(2)[1], t0); !errors.Is(err, ErrNoMemory) {
			t.Fatalf("err %v", err)
		}
		if r.Held() != 1480 || r.Counters().MemoryDrops != 1 {
			t.Fatalf("held %d counters %+v", r.Held(), r.Counters())
		}
	})
	t.Run("far fragments", func(t *testing.T) {
		// An 8-byte fragment at offset 65000 makes the datagram's buffer
		// span 65 KB, and is charged for it: 64 such datagrams would hold
		// 4 MiB of buffers while counting only 512 bytes of data. Three
		// fit in 200 KB; each new one evicts the oldest.
		r := NewReassembler(Config{MaxBytes: 200_000})
		for id := range uint16(64) {
			f := packet(id, false, nil, seq(8))
			f.SetFlagsFragment(false, true, 65000)
			f.SetChecksum()
			if _, err := r.Add(f, t0); err != nil {
				t.Fatalf("datagram %d: %v", id, err)
			}
		}
		if r.Len() != 3 || r.Held() != 24 || r.Counters().Evictions != 61 || r.Charged() > 200_000 {
			t.Fatalf("len %d held %d mem %d counters %+v", r.Len(), r.Held(), r.Charged(), r.Counters())
		}
		r.Expire(at(time.Hour), nil)
		if r.Len() != 0 || r.Charged() != 0 {
			t.Fatalf("len %d mem %d after expiry", r.Len(), r.Charged())
		}
	})
	t.Run("fragments", func(t *testing.T) {
		r := NewReassembler(Config{MaxFragments: 2})
		f := frags(1)
		r.Add(f[0], t0)
		r.Add(f[1], t0)
		if _, err := r.Add(f[2], t0); !errors.Is(err, ErrTooManyFragments) || r.Len() != 0 {
			t.Fatalf("err %v len %d", err, r.Len())
		}
	})
}

func TestReassemblyTimeout(t *testing.T) {
	pkt := packet(8, false, nil, seq(3000))
	frags := fragment(t, pkt, 1500)
	r := NewReassembler(Config{})
	if _, ok := r.NextDeadline(); ok {
		t.Fatal("deadline with nothing waiting")
	}
	r.Add(frags[0], t0)                                                            // with the first fragment
	r.Add(fragment(t, packet(9, false, nil, seq(3000)), 1500)[1], at(time.Second)) // without
	if d, ok := r.NextDeadline(); !ok || !d.Equal(at(30*time.Second)) {
		t.Fatalf("NextDeadline %v", d.Sub(t0))
	}
	// Every expired datagram is reported, so the caller can count the
	// drop; only one with its first fragment comes with a packet to quote.
	var got []wire.IPv4
	calls := 0
	cb := func(first wire.IPv4) {
		calls++
		if first != nil {
			got = append(got, bytes.Clone(first))
		}
	}
	r.Expire(at(29*time.Second), cb)
	if r.Len() != 2 || len(got) != 0 {
		t.Fatal("expired too early")
	}
	r.Expire(at(30*time.Second), cb)
	if r.Len() != 1 || len(got) != 1 || !bytes.Equal(got[0], frags[0]) {
		t.Fatalf("len %d, timed out %d", r.Len(), len(got))
	}
	if d, _ := r.NextDeadline(); !d.Equal(at(31 * time.Second)) {
		t.Fatalf("NextDeadline %v", d.Sub(t0))
	}
	r.Expire(at(40*time.Second), cb)
	if r.Len() != 0 || len(got) != 1 || calls != 2 || r.Counters().Timeouts != 2 || r.Held() != 0 {
		t.Fatalf("len %d got %d calls %d counters %+v", r.Len(), len(got), calls, r.Counters())
	}
}

func TestNoAllocationsUnfragmented(t *testing.T) {
	pkt := packet(1, true, nil, seq(1000))
	r := NewReassembler(Config{})
	scratch := make([]byte, 1500)
	n := testing.AllocsPerRun(100, func() {
		out, err := r.Add(pkt, t0)
		if err != nil || len(out) != len(pkt) {
			t.Fatal("non-fragment changed")
		}
		_ = Fragment(pkt, 1500, scratch, func(wire.IPv4) {})
	})
	if n != 0 {
		t.Fatalf("%v allocations per packet", n)
	}
	// Steady-state reassembly reuses its buffers too.
	frags := fragment(t, packet(2, false, nil, seq(3000)), 1500)
	n = testing.AllocsPerRun(50, func() {
		for _, f := range frags {
			r.Add(f, t0)
		}
	})
	if n != 0 {
		t.Fatalf("steady-state reassembly: %v allocations", n)
	}
}
