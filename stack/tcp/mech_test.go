package tcp

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"stacklab/stack/tcp/seqnum"
)

func TestWraparound(t *testing.T) {
	for _, start := range []uint32{0xffffffff, 0xffffffff - 3000, 0x7fffffff} {
		w, cl, sv := pair(Config{})
		cl.p.isnHook = func() seqnum.Value { return seqnum.Value(start) }
		sv.p.isnHook = func() seqnum.Value { return seqnum.Value(start - 10) }
		c, s, _ := dial(t, w, cl, sv, nil)
		w.filter = impair(rand.New(rand.NewPCG(uint64(start), 1)), 0.05)
		a := &pumpEnd{c: c, out: pattern(200_000, 5)}
		b := &pumpEnd{c: s, out: pattern(150_000, 6)}
		pump(t, w, a, b, true, 10*time.Minute)
		if !bytes.Equal(b.in.Bytes(), pattern(200_000, 5)) || !bytes.Equal(a.in.Bytes(), pattern(150_000, 6)) {
			t.Fatalf("start %#x: mismatch %d %d", start, b.in.Len(), a.in.Len())
		}
	}
}

func TestZeroWindow(t *testing.T) {
	w, cl, sv := pair(Config{Profile: ProfileRFC})
	w.keepLog = true
	c, s, _ := dial(t, w, cl, sv, &SockOpts{RecvBuffer: 8192})
	msg := pattern(40_000, 7)
	n, _ := c.Write(msg)
	if n != len(msg) {
		t.Fatal(n)
	}
	w.clk.advance(20 * time.Second)
	if s.Buffered() != 8192 {
		t.Fatalf("buffered %d", s.Buffered())
	}
	probes := cl.p.Counters().ZeroWindowProbes
	if probes < 3 || probes > 8 {
		t.Fatalf("%d zero-window probes in 20 s", probes)
	}
	// The probes back off.
	var at []time.Duration
	for _, l := range w.log {
		if l.why == whyZeroWindowProbe {
			at = append(at, l.at)
		}
	}
	if len(at) >= 3 && at[2]-at[1] <= at[1]-at[0] {
		t.Fatalf("no backoff: %v", at)
	}
	if c.State() != Established {
		t.Fatal(c.State())
	}
	// The application drains: a window update reopens the flow.
	var got bytes.Buffer
	buf := make([]byte, 4096)
	for i := 0; i < 1000 && got.Len() < len(msg); i++ {
		for {
			n, err := s.Read(buf)
			if err != nil {
				break
			}
			got.Write(buf[:n])
		}
		w.clk.advance(10 * time.Millisecond)
	}
	if !bytes.Equal(got.Bytes(), msg) {
		t.Fatalf("got %d bytes", got.Len())
	}
	var updates int
	for _, l := range w.log {
		if l.why == whyWindowUpdate {
			updates++
		}
	}
	if updates == 0 {
		t.Fatal("no window update")
	}
}

func TestKeepAliveDeadPeer(t *testing.T) {
	w, cl, sv := pair(Config{})
	c, _, _ := dial(t, w, cl, sv, nil)
	c.SetKeepAlive(true, 10*time.Second, 2*time.Second, 3)
	// A live peer answers: the connection survives a long idle time.
	w.clk.advance(5 * time.Minute)
	if sv.p.Counters().DropOutOfWindow != 0 {
		t.Fatalf("probes counted as drops: %+v", sv.p.Counters())
	}
	if c.State() != Established || cl.p.Counters().KeepAliveProbes < 20 {
		t.Fatalf("%v, %d probes", c.State(), cl.p.Counters().KeepAliveProbes)
	}
	// The peer dies.
	w.filter = func(h *host, seg []byte, why string) verdict { return verdict{drop: true} }
	before := cl.p.Counters().KeepAliveProbes
	w.clk.advance(10*time.Second + 3*2*time.Second + time.Second)
	if c.State() != Closed {
		t.Fatalf("%v", c.State())
	}
	if got := cl.p.Counters().KeepAliveProbes - before; got != 3 {
		t.Fatalf("%d probes", got)
	}
	if err := c.Err(); !errors.Is(err, syscall.ETIMEDOUT) {
		t.Fatal(err)
	}
}

func TestNagle(t *testing.T) {
	for _, nodelay := range []bool{false, true} {
		w, cl, sv := pair(Config{})
		w.keepLog = true
		c, s, _ := dial(t, w, cl, sv, &SockOpts{NoDelay: nodelay})
		w.log = nil
		for _, b := range []string{"a", "b", "c", "d"} {
			c.Write([]byte(b))
		}
		w.clk.advance(time.Second)
		var data int
		for _, l := range w.log {
			if l.from == "client" && len(parseOut(t, l).payload) > 0 && !strings.HasPrefix(l.why, "TLP") {
				data++ // (a tail loss probe may go before the delayed ACK)
			}
		}
		want := 2
		if nodelay {
			want = 4
		}
		if data != want {
			t.Fatalf("nodelay %v: %d data segments", nodelay, data)
		}
		buf := make([]byte, 10)
		if n, _ := s.Read(buf); string(buf[:n]) != "abcd" {
			t.Fatalf("%q", buf[:n])
		}
	}
}

// TestNagleMinshall checks Nagle's algorithm with Minshall's modification
// (Linux's tcp_minshall_check): the partial tail of a write goes out at
// once behind full segments still in flight, and only a partial segment
// still unacknowledged holds the next one back.
func TestNagleMinshall(t *testing.T) {
	w, cl, sv := pair(Config{})
	w.keepLog = true
	c, s, _ := dial(t, w, cl, sv, nil)
	mss := c.sendMSS()
	w.log = nil
	if n, _ := c.Write(pattern(2*mss+41, 3)); n != 2*mss+41 {
		t.Fatalf("wrote %d", n)
	}
	// Nothing has been acknowledged yet: all three segments left at once.
	var sizes []int
	for _, l := range w.log {
		if v := parseOut(t, l); l.from == "client" && len(v.payload) > 0 {
			sizes = append(sizes, len(v.payload))
		}
	}
	if len(sizes) != 3 || sizes[2] != 41 {
		t.Fatalf("segments sent before any ACK: %v, want [%d %d 41]", sizes, mss, mss)
	}
	// The 41-byte tail is unacknowledged: a small write waits for it.
	w.log = nil
	c.Write([]byte("x"))
	if len(w.log) != 0 {
		t.Fatalf("small segment sent behind an unacknowledged small segment: %v", parseOut(t, w.log[0]))
	}
	w.clk.advance(time.Second)
	buf := make([]byte, 3*mss)
	if n, _ := s.Read(buf); n != 2*mss+42 {
		t.Fatalf("read %d bytes", n)
	}
}

func TestEphemeralDeterministic(t *testing.T) {
	ports := func() []uint16 {
		_, cl, _ := pair(Config{})
		var p []uint16
		for i := 0; i < 5; i++ {
			c, err := cl.p.Connect(netip0(), ap("10.0.0.2:80"), nil)
			if err != nil {
				t.Fatal(err)
			}
			p = append(p, c.Tuple().Local.Port())
		}
		return p
	}
	a, b := ports(), ports()
	for i := range a {
		if a[i] != b[i] || a[i] < DefaultPortFirst {
			t.Fatalf("%v vs %v", a, b)
		}
	}
}

func TestISNDiffersPerTuple(t *testing.T) {
	_, cl, _ := pair(Config{})
	c1, _ := cl.p.Connect(ap("10.0.0.1:1000"), ap("10.0.0.2:80"), nil)
	c2, _ := cl.p.Connect(ap("10.0.0.1:1001"), ap("10.0.0.2:80"), nil)
	if c1.iss == c2.iss {
		t.Fatal("same ISN for two tuples")
	}
	// The same 4-tuple again: EADDRNOTAVAIL, as Linux's
	// __inet_check_established.
	if _, err := cl.p.Connect(ap("10.0.0.1:1000"), ap("10.0.0.2:80"), nil); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Fatal(err)
	}
}

func TestIdleConnMemory(t *testing.T) {
	w, cl, sv := pair(Config{})
	c, s, _ := dial(t, w, cl, sv, nil)
	c.Write([]byte("hello"))
	w.clk.advance(time.Second)
	s.Read(make([]byte, 10))
	if c.sndBuf.buf != nil || s.rcvBuf.buf != nil {
		t.Fatal("buffers held by an idle connection")
	}
}

// TestSegmentsFitMTU checks that no segment exceeds the MSS (payload plus
// options), with and without timestamps, while SACK blocks are in use.
func TestSegmentsFitMTU(t *testing.T) {
	for _, cfg := range []Config{{}, {NoTimestamps: true}} {
		w, cl, sv := pair(cfg)
		w.keepLog = true
		c, s, _ := dial(t, w, cl, sv, nil)
		w.filter = impair(rand.New(rand.NewPCG(3, 3)), 0.1)
		a := &pumpEnd{c: c, out: pattern(300_000, 1)}
		b := &pumpEnd{c: s, out: pattern(300_000, 2)}
		pump(t, w, a, b, true, time.Hour)
		var sacks int
		for _, l := range w.log {
			v := parseOut(t, l)
			if len(l.seg)-headerLen > 1460 {
				t.Fatalf("%d-byte TCP segment: %v", len(l.seg), v)
			}
			if v.opts.NSACK > 0 && len(v.payload) > 0 {
				sacks++
			}
		}
		if sacks == 0 {
			t.Errorf("%+v: no data segment carried SACK blocks", cfg)
		}
	}
}

func TestLostHandshakeSegments(t *testing.T) {
	for _, which := range []string{"SYN", "SYN-ACK", "ACK"} {
		w, cl, sv := pair(Config{})
		dropped := false
		w.filter = func(h *host, seg []byte, why string) verdict {
			var s segment
			parseSegment(seg, &s)
			hit := which == "SYN" && s.flags == flagSYN ||
				which == "SYN-ACK" && s.flags == flagSYN|flagACK ||
				which == "ACK" && s.flags == flagACK && h.name == "client"
			if hit && !dropped {
				dropped = true
				return verdict{drop: true}
			}
			return verdict{}
		}
		l, _ := sv.p.Listen(ap("0.0.0.0:80"), 4, nil)
		c, _ := cl.p.Connect(netip0(), ap("10.0.0.2:80"), nil)
		w.clk.advance(5 * time.Second)
		s, err := l.Accept()
		if err != nil || c.State() != Established || s.State() != Established {
			t.Fatalf("lost %s: %v, states %v", which, err, c.State())
		}
		// A lost SYN-ACK is resent by the server's timer and again in
		// answer to the client's retransmitted SYN, as Linux does.
		want := map[string]uint64{"SYN": 1, "SYN-ACK": 3, "ACK": 1}[which]
		if got := cl.p.Counters().RetransSegs + sv.p.Counters().RetransSegs; got != want {
			t.Errorf("lost %s: %d retransmissions", which, got)
		}
	}
}
