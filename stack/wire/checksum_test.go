package wire

import (
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// refSum is the textbook RFC 1071 sum, 16 bits at a time.
func refSum(b []byte) uint16 {
	var s uint64 // 2^48 bytes before it could overflow
	for i := 0; i+1 < len(b); i += 2 {
		s += uint64(b[i])<<8 | uint64(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint64(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

func TestChecksumRFC1071Example(t *testing.T) {
	// RFC 1071 §3: the sum of 0001 f203 f4f5 f6f7 is ddf2.
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := Fold(Checksum(b, 0)); got != 0xddf2 {
		t.Fatalf("Fold(Checksum) = %#04x, want 0xddf2", got)
	}
}

func TestChecksumMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 3000)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	// All-0xff data stresses the carries.
	ones := make([]byte, 2000)
	for i := range ones {
		ones[i] = 0xff
	}
	for _, data := range [][]byte{buf, ones} {
		for n := 0; n <= 300; n++ {
			if got, want := Fold(Checksum(data[:n], 0)), refSum(data[:n]); got != want {
				t.Fatalf("len %d: got %#04x, want %#04x", n, got, want)
			}
		}
		for _, n := range []int{1499, 1500, 2000} {
			if got, want := Fold(Checksum(data[:n], 0)), refSum(data[:n]); got != want {
				t.Fatalf("len %d: got %#04x, want %#04x", n, got, want)
			}
		}
	}
}

// TestChecksumLong: the vector sum (sum16AVX2, on CPUs with AVX2) agrees
// with the textbook sum from every start alignment, at its length
// threshold, at its per-call bound and across it, on all-0xff data, which
// brings its 32-bit lanes nearest to overflow.
func TestChecksumLong(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	buf := make([]byte, 3<<20+300)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	ones := make([]byte, len(buf))
	for i := range ones {
		ones[i] = 0xff
	}
	lens := []int{vecMinLen - 1, vecMinLen, vecMinLen + 1, vecMinLen + 63, vecMinLen + 64,
		1500, 9000, 65535, vecMaxLen - 64, vecMaxLen, vecMaxLen + 2, vecMaxLen + 130, 3 << 20}
	for _, data := range [][]byte{buf, ones} {
		for _, n := range lens {
			for off := range 8 {
				b := data[off : off+n]
				if got, want := Fold(Checksum(b, 0)), refSum(b); got != want {
					t.Fatalf("len %d at offset %d: got %#04x, want %#04x", n, off, got, want)
				}
			}
		}
	}
	if !vecSum {
		t.Log("no vector sum on this CPU: the scalar loop was tested")
		return
	}
	// The vector sum alone, as Checksum's callers never see it.
	for _, n := range []int{64, 128, 1472, vecMaxLen} {
		for _, data := range [][]byte{buf, ones} {
			got := fold64(sum16AVX2(data[1 : 1+n]))
			if want := bits.ReverseBytes16(refSum(data[1 : 1+n])); got != want {
				t.Fatalf("sum16AVX2 of %d bytes: got %#04x, want %#04x", n, got, want)
			}
		}
	}
}

func TestChecksumChains(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, 777)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	for _, cut := range []int{0, 2, 8, 34, 100, 776} {
		got := Fold(Checksum(b[cut:], Checksum(b[:cut], 0)))
		if want := refSum(b); got != want {
			t.Errorf("cut %d: got %#04x, want %#04x", cut, got, want)
		}
	}
	// A large initial value must not overflow.
	if got := Fold(Checksum([]byte{0, 1}, 0xffffffff)); got != 1 {
		t.Errorf("Fold(Checksum(0001, 0xffffffff)) = %#04x, want 0x0001", got)
	}
}

func TestPseudoHeaderSum(t *testing.T) {
	src, dst := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	b := []byte{10, 0, 0, 1, 10, 0, 0, 2, 0, ProtoTCP, 0, 40}
	if got, want := Fold(PseudoHeaderSum(src, dst, ProtoTCP, 40)), refSum(b); got != want {
		t.Fatalf("got %#04x, want %#04x", got, want)
	}
}

// TestPseudoHeaderSum6 checks the IPv6 pseudo-header (RFC 8200 §8.1)
// against the reference sum of its bytes, for addresses whose words
// carry (all ones) and an IPv4-mapped one.
func TestPseudoHeaderSum6(t *testing.T) {
	for _, c := range []struct{ src, dst string }{
		{"2001:db8::1", "2001:db8::2"},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::1:ffff:ffff:fffe"},
		{"::ffff:10.0.0.1", "::"},
	} {
		src, dst := netip.MustParseAddr(c.src), netip.MustParseAddr(c.dst)
		s16, d16 := src.As16(), dst.As16()
		b := append(append(s16[:], d16[:]...), 0, 0, 0x05, 0xa0, 0, 0, 0, ProtoTCP)
		if got, want := Fold(PseudoHeaderSum(src, dst, ProtoTCP, 0x5a0)), refSum(b); got != want {
			t.Errorf("%s → %s: got %#04x, want %#04x", src, dst, got, want)
		}
	}
}

func TestUpdateChecksum16(t *testing.T) {
	h := IPv4(hexBytes(t, fixtureIPv4ICMP))
	for ttl := 64; ttl > 0; ttl-- {
		h.DecTTL()
		if !h.IsChecksumValid() {
			t.Fatalf("ttl %d: checksum invalid after DecTTL", h.TTL())
		}
	}
	if h.TTL() != 0 || h.DecTTL() != 0 {
		t.Fatalf("TTL = %d, want 0 and no wrap", h.TTL())
	}
	// RFC 1624 §4: 0xdd2f, 0x5555 → 0x3285 gives 0x0000, not 0xffff.
	if got := UpdateChecksum16(0xdd2f, 0x5555, 0x3285); got != 0x0000 {
		t.Errorf("UpdateChecksum16 = %#04x, want 0x0000", got)
	}
}

func TestChecksumAllocs(t *testing.T) {
	b := make([]byte, 1500)
	if n := testing.AllocsPerRun(100, func() { _ = Checksum(b, 0) }); n != 0 {
		t.Fatalf("Checksum allocates %v", n)
	}
}

func BenchmarkChecksum(b *testing.B) {
	for _, n := range []int{20, 64, 128, 256, 576, 1500, 65535} {
		buf := make([]byte, n)
		b.Run(itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				_ = Checksum(buf, 0)
			}
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestChecksumPair: the checksum from a precomputed address pair sum is
// the checksum from the addresses, for both families and either order.
func TestChecksumPair(t *testing.T) {
	for _, pair := range [][2]string{{"10.0.0.1", "10.0.0.2"}, {"2001:db8::1", "fd3d:fa7b:d17d::ffff:1"}, {"::ffff:192.0.2.1", "::ffff:10.9.8.7"}} {
		src, dst := netip.MustParseAddr(pair[0]), netip.MustParseAddr(pair[1])
		for _, n := range []int{20, 21, 1460, 65515} {
			seg := make([]byte, n)
			for i := range seg {
				seg[i] = byte(i*7 + n)
			}
			seg[12] = 5 << 4
			a, b := TCP(append([]byte(nil), seg...)), TCP(append([]byte(nil), seg...))
			a.SetChecksum(src, dst)
			b.SetChecksumPair(AddrPairSum(dst, src))
			if string(a) != string(b) || !b.IsChecksumValidPair(AddrPairSum(src, dst)) || !b.IsChecksumValid(src, dst) {
				t.Errorf("%s → %s, %d bytes: checksums %x and %x differ or do not verify", src, dst, n, a[16:18], b[16:18])
			}
		}
	}
}

// TestHeaderSum checks the IPv4 header sum against the textbook one for
// random 20-byte headers, all-ones and all-zeros, and a header with
// options (the general loop).
func TestHeaderSum(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	h := make([]byte, 24)
	for i := range 10000 {
		for j := range h {
			switch i {
			case 0:
				h[j] = 0xff
			case 1:
				h[j] = 0
			default:
				h[j] = byte(r.Uint32())
			}
		}
		for _, n := range []int{IPv4MinHeaderLen, 24} {
			if got, want := headerSum(h[:n]), refSum(h[:n]); got != want {
				t.Fatalf("%x: got %#04x, want %#04x", h[:n], got, want)
			}
		}
	}
}

// FuzzChecksum: Checksum, whichever loop sums each part, is the textbook
// sum, from any start alignment and chained at any even cut.
func FuzzChecksum(f *testing.F) {
	f.Add([]byte{0x00, 0x01, 0xf2, 0x03}, uint8(0), uint16(0))
	f.Add(make([]byte, 1600), uint8(3), uint16(300))
	f.Fuzz(func(t *testing.T, b []byte, off uint8, cut uint16) {
		// Grow short inputs past the vector threshold by repeating them.
		for len(b) > 0 && len(b) < 2*vecMinLen {
			b = append(b, b...)
		}
		b = b[min(int(off), len(b)):]
		want := refSum(b)
		if got := Fold(Checksum(b, 0)); got != want {
			t.Fatalf("len %d: got %#04x, want %#04x", len(b), got, want)
		}
		c := min(int(cut)&^1, len(b))
		if got := Fold(Checksum(b[c:], Checksum(b[:c], 0))); got != want {
			t.Fatalf("len %d cut at %d: got %#04x, want %#04x", len(b), c, got, want)
		}
	})
}
