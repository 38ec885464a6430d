package cc

import (
	"math"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// round acknowledges one window (cwnd bytes) in ACKs of ackSegs
// segments each (the last one possibly smaller), spread evenly over rtt
// starting at now, and returns the time at the end of the round.
func round(c Controller, mss, ackSegs int, now time.Time, rtt time.Duration) time.Time {
	total := c.Cwnd()
	n := (total + ackSegs*mss - 1) / (ackSegs * mss)
	inflight := total
	for i := 0; i < n; i++ {
		acked := min(ackSegs*mss, inflight)
		c.OnAck(Ack{Now: now.Add(rtt * time.Duration(i) / time.Duration(n)), Acked: acked, RTT: rtt, Inflight: inflight})
		inflight -= acked
	}
	return now.Add(rtt)
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name, want string
	}{{"", "newreno"}, {"newreno", "newreno"}, {"reno", "newreno"}, {"cubic", "cubic"}} {
		c, err := New(tc.name, 1460)
		if err != nil {
			t.Fatalf("New(%q): %v", tc.name, err)
		}
		if c.Name() != tc.want {
			t.Errorf("New(%q).Name() = %q, want %q", tc.name, c.Name(), tc.want)
		}
	}
	_, err := New("bbr", 1460)
	if err == nil || !strings.Contains(err.Error(), "newreno") || !strings.Contains(err.Error(), "cubic") || !strings.Contains(err.Error(), `"bbr"`) {
		t.Errorf("New(bbr) error = %v, want one naming bbr and the valid names", err)
	}
	if got := Names(); len(got) != 2 || got[0] != "newreno" || got[1] != "cubic" {
		t.Errorf("Names() = %v", got)
	}
}

// RFC 6928 §2: IW = min(10·MSS, max(2·MSS, 14600)).
func TestInitialWindow(t *testing.T) {
	for _, tc := range []struct {
		mss, segs, want int
	}{
		{1460, 0, 14600},
		{536, 0, 5360},
		{4000, 0, 14600},
		{9000, 0, 18000},
		{1460, 3, 4380},
		{1460, 1, 1460},
		{0, 0, 5360}, // MSS defaults to 536
	} {
		for _, name := range Names() {
			c, _ := NewConfig(name, Config{MSS: tc.mss, InitialSegments: tc.segs})
			if c.Cwnd() != tc.want {
				t.Errorf("%s mss %d segs %d: cwnd %d, want %d", name, tc.mss, tc.segs, c.Cwnd(), tc.want)
			}
			if c.Ssthresh() != InfiniteSsthresh || !c.InSlowStart() || c.InRecovery() {
				t.Errorf("%s: ssthresh %d slowstart %v recovery %v", name, c.Ssthresh(), c.InSlowStart(), c.InRecovery())
			}
		}
	}
}

func TestSetMSS(t *testing.T) {
	for _, name := range Names() {
		c, _ := New(name, 536)
		c.SetMSS(1460)
		if c.Cwnd() != 14600 {
			t.Errorf("%s: cwnd after SetMSS before any ACK = %d, want IW 14600", name, c.Cwnd())
		}
		c.OnAck(Ack{Now: t0, Acked: 1460})
		before := c.Cwnd()
		c.SetMSS(1000)
		if c.Cwnd() != before {
			t.Errorf("%s: SetMSS after an ACK changed cwnd %d → %d", name, before, c.Cwnd())
		}
		c.SetMSS(100000)
		if c.Cwnd() != 100000 {
			t.Errorf("%s: cwnd %d below one MSS", name, c.Cwnd())
		}
	}
}

// RFC 5681 §3.1 with RFC 3465 L=2: slow start doubles cwnd every RTT
// whether every segment or every second segment is acknowledged; stretch
// ACKs of 4 segments grow by only 2·SMSS each.
func TestSlowStartDoubling(t *testing.T) {
	const mss = 1000
	for _, tc := range []struct {
		ackSegs int
		want    []int // cwnd in segments after each round
	}{
		{1, []int{20, 40, 80, 160}},
		{2, []int{20, 40, 80, 160}},
		{4, []int{16, 24, 36, 54}},
	} {
		for _, name := range Names() {
			c, _ := New(name, mss)
			now := t0
			for r, want := range tc.want {
				now = round(c, mss, tc.ackSegs, now, 50*time.Millisecond)
				if got := c.Cwnd() / mss; got != want {
					t.Errorf("%s ack every %d: round %d cwnd %d segments, want %d", name, tc.ackSegs, r+1, got, want)
				}
			}
		}
	}
}

func TestSlowStartStopsAtSsthresh(t *testing.T) {
	c := NewNewReno(Config{MSS: 1000})
	c.EnterRecovery(t0, 30000) // ssthresh 15000
	c.ExitRecovery(t0, 0)      // cwnd = min(15000, max(0, 1000)+1000) = 2000
	if c.Cwnd() != 2000 || c.Ssthresh() != 15000 {
		t.Fatalf("cwnd %d ssthresh %d, want 2000 15000", c.Cwnd(), c.Ssthresh())
	}
	for i := 0; i < 6; i++ {
		c.OnAck(Ack{Now: t0, Acked: 2000})
	}
	// 2000 + 6·2000 = 14000 < 15000: still slow start.
	if c.Cwnd() != 14000 || !c.InSlowStart() {
		t.Fatalf("cwnd %d, want 14000 in slow start", c.Cwnd())
	}
	c.OnAck(Ack{Now: t0, Acked: 2000}) // crosses ssthresh: capped, 1000 left for CA
	if c.Cwnd() != 15000 || c.InSlowStart() {
		t.Fatalf("cwnd %d, want 15000 = ssthresh", c.Cwnd())
	}
}

// RFC 5681 §3.1 / RFC 3465 §2.1: congestion avoidance adds one SMSS per
// window of acknowledged data.
func TestNewRenoCongestionAvoidance(t *testing.T) {
	const mss = 1000
	c := NewNewReno(Config{MSS: mss})
	c.EnterRecovery(t0, 20*mss) // ssthresh 10 segments
	c.ExitRecovery(t0, 20*mss)  // cwnd = ssthresh
	if c.Cwnd() != 10*mss || c.InSlowStart() {
		t.Fatalf("cwnd %d, want %d in CA", c.Cwnd(), 10*mss)
	}
	now := t0
	for r := 1; r <= 5; r++ {
		now = round(c, mss, 1, now, 10*time.Millisecond)
		if want := (10 + r) * mss; c.Cwnd() != want {
			t.Fatalf("round %d: cwnd %d, want %d", r, c.Cwnd(), want)
		}
	}
}

// RFC 5681 eq. (4) and §3.2, RFC 6582 §3.2.
func TestNewRenoRecovery(t *testing.T) {
	const mss = 1000
	for _, tc := range []struct {
		flight, wantSsthresh int
	}{
		{20 * mss, 10 * mss},
		{3 * mss, 2 * mss}, // floor 2·SMSS
		{0, 2 * mss},
		{7 * mss, 3500},
	} {
		c := NewNewReno(Config{MSS: mss})
		c.EnterRecovery(t0, tc.flight)
		if c.Ssthresh() != tc.wantSsthresh || c.Cwnd() != tc.wantSsthresh || !c.InRecovery() {
			t.Errorf("flight %d: ssthresh %d cwnd %d recovery %v, want %d", tc.flight, c.Ssthresh(), c.Cwnd(), c.InRecovery(), tc.wantSsthresh)
		}
	}

	c := NewNewReno(Config{MSS: mss})
	c.EnterRecovery(t0, 20*mss)
	c.Inflate(3 * mss) // RFC 5681 §3.2 step 3: ssthresh + 3·SMSS
	if c.Cwnd() != 13*mss {
		t.Fatalf("after inflate 3: cwnd %d", c.Cwnd())
	}
	c.Inflate(mss)
	c.Inflate(mss)
	if c.Cwnd() != 15*mss {
		t.Fatalf("after 2 more dup ACKs: cwnd %d", c.Cwnd())
	}
	// ACKs inside recovery do not grow the window.
	c.OnAck(Ack{Now: t0, Acked: 3 * mss})
	if c.Cwnd() != 15*mss {
		t.Fatalf("OnAck in recovery changed cwnd to %d", c.Cwnd())
	}
	c.Deflate(4 * mss) // partial ACK of 4 segments: −4 + 1
	if c.Cwnd() != 12*mss {
		t.Fatalf("after partial ACK of 4 segments: cwnd %d, want %d", c.Cwnd(), 12*mss)
	}
	c.Deflate(500) // less than SMSS: no add-back
	if c.Cwnd() != 12*mss-500 {
		t.Fatalf("after partial ACK of 500 bytes: cwnd %d", c.Cwnd())
	}
	c.Deflate(100 * mss)
	if c.Cwnd() != mss {
		t.Fatalf("deflate below one MSS: cwnd %d", c.Cwnd())
	}
	c.Inflate(20 * mss)
	c.ExitRecovery(t0, 4*mss) // min(10, 4+1) segments
	if c.Cwnd() != 5*mss || c.InRecovery() {
		t.Fatalf("exit with flight 4 segments: cwnd %d recovery %v", c.Cwnd(), c.InRecovery())
	}
	c.EnterRecovery(t0, 20*mss)
	c.ExitRecovery(t0, 15*mss) // min(ssthresh 10, 16)
	if c.Cwnd() != 10*mss {
		t.Fatalf("exit with flight 15 segments: cwnd %d", c.Cwnd())
	}
}

// RFC 5681 §3.1: on timeout, ssthresh per eq. (4) once, held on further
// backoffs; cwnd = LW = 1 SMSS; slow start again afterwards.
func TestRTO(t *testing.T) {
	const mss = 1000
	for _, name := range Names() {
		c, _ := New(name, mss)
		c.OnRTO(t0, 40*mss)
		want := 20 * mss
		if name == "cubic" {
			want = 7 * mss // 0.7 · cwnd (IW 10)
		}
		if c.Cwnd() != mss || c.Ssthresh() != want {
			t.Errorf("%s first RTO: cwnd %d ssthresh %d, want %d %d", name, c.Cwnd(), c.Ssthresh(), mss, want)
		}
		c.OnRTO(t0.Add(time.Second), 40*mss)
		if c.Cwnd() != mss || c.Ssthresh() != want {
			t.Errorf("%s second RTO: cwnd %d ssthresh %d, want held %d", name, c.Cwnd(), c.Ssthresh(), want)
		}
		c.OnAck(Ack{Now: t0.Add(2 * time.Second), Acked: 5 * mss})
		if c.Cwnd() != 2*mss || !c.InSlowStart() {
			t.Errorf("%s: after RTO a stretch ACK should slow start with L = 1 SMSS: cwnd %d", name, c.Cwnd())
		}
		c.EnterRecovery(t0, 40*mss)
		c.OnRTO(t0.Add(3*time.Second), 40*mss)
		if c.InRecovery() {
			t.Errorf("%s: OnRTO left recovery on", name)
		}
	}
}

// RFC 5681 §4.1: restart window after idle.
func TestOnIdle(t *testing.T) {
	const mss = 1000
	for _, name := range Names() {
		c, _ := New(name, mss)
		now := t0
		for i := 0; i < 3; i++ {
			now = round(c, mss, 1, now, 10*time.Millisecond)
		}
		if c.Cwnd() != 80*mss {
			t.Fatalf("%s: cwnd %d", name, c.Cwnd())
		}
		c.OnIdle(now, time.Second)
		if c.Cwnd() != 10*mss {
			t.Errorf("%s: cwnd after idle %d, want IW", name, c.Cwnd())
		}
		c.OnRTO(now, 10*mss)
		c.OnIdle(now, time.Second)
		if c.Cwnd() != mss {
			t.Errorf("%s: idle restart must not raise cwnd above %d: %d", name, mss, c.Cwnd())
		}
	}
}

func TestAppLimitedDoesNotGrow(t *testing.T) {
	for _, name := range Names() {
		c, _ := New(name, 1000)
		for i := 0; i < 10; i++ {
			c.OnAck(Ack{Now: t0, Acked: 1000, AppLimited: true})
		}
		if c.Cwnd() != 10000 {
			t.Errorf("%s: app-limited ACKs grew cwnd to %d", name, c.Cwnd())
		}
	}
}

func TestHugeWindowsDoNotOverflow(t *testing.T) {
	for _, name := range Names() {
		c, _ := New(name, 65000)
		now := t0
		for i := 0; i < 200; i++ {
			c.OnAck(Ack{Now: now, Acked: math.MaxInt32, RTT: time.Millisecond})
			c.Inflate(math.MaxInt32)
			now = now.Add(time.Second)
		}
		if c.Cwnd() <= 0 || c.Cwnd() > maxCwnd {
			t.Errorf("%s: cwnd %d out of range", name, c.Cwnd())
		}
		c.EnterRecovery(now, math.MaxInt32)
		c.ExitRecovery(now, math.MaxInt32)
		for i := 0; i < 200; i++ {
			now = now.Add(time.Hour)
			c.OnAck(Ack{Now: now, Acked: math.MaxInt32, RTT: time.Millisecond})
		}
		if c.Cwnd() <= 0 || c.Cwnd() > maxCwnd {
			t.Errorf("%s: cwnd %d out of range in CA", name, c.Cwnd())
		}
	}
}

func TestOnAckAllocatesNothing(t *testing.T) {
	for _, name := range Names() {
		c, _ := New(name, 1460)
		c.EnterRecovery(t0, 100*1460)
		c.ExitRecovery(t0, 100*1460)
		now := t0
		allocs := testing.AllocsPerRun(1000, func() {
			now = now.Add(time.Millisecond)
			c.OnAck(Ack{Now: now, Acked: 1460, RTT: 20 * time.Millisecond, Inflight: 50000})
			c.Inflate(1460)
			c.Deflate(1460)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per ACK", name, allocs)
		}
	}
}

// TestSlowStartPerPacket: with PerPacket (Linux's tcp_slow_start) an
// ACK of three segments grows cwnd by three, and a partial segment
// counts whole; byte counting (RFC 3465) stops at L = 2 segments.
func TestSlowStartPerPacket(t *testing.T) {
	for _, tt := range []struct {
		perPacket bool
		acked     int
		want      int
	}{
		{true, 3000, 13000},
		{true, 1500, 12000},
		{false, 3000, 12000},
		{false, 1500, 11500},
	} {
		for _, name := range Names() {
			c, _ := NewConfig(name, Config{MSS: 1000, PerPacket: tt.perPacket})
			c.OnAck(Ack{Acked: tt.acked, Inflight: 10000})
			if c.Cwnd() != tt.want {
				t.Errorf("%s per packet %v: ACK of %d B: cwnd %d, want %d", name, tt.perPacket, tt.acked, c.Cwnd(), tt.want)
			}
		}
	}
}
