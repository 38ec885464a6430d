package sack

import (
	"reflect"
	"testing"

	"stacklab/stack/tcp/seqnum"
)

// bases run every scenario at an ordinary point of sequence space, just
// below 2³² (so the data wraps) and around 2³¹.
var bases = []seqnum.Value{0, 0xffffff00, 0xfffffc18, 0x7fffff00}

type blk [2]uint32

func mk(base seqnum.Value, bs []blk) []Block {
	out := make([]Block, len(bs))
	for i, b := range bs {
		out[i] = Block{base + seqnum.Value(b[0]), base + seqnum.Value(b[1])}
	}
	return out
}

func TestUpdateMerging(t *testing.T) {
	for _, tc := range []struct {
		name string
		acks []struct {
			ack    uint32
			blocks []blk
		}
		want  []blk
		added int // by the last ACK
	}{
		{"single", []struct {
			ack    uint32
			blocks []blk
		}{{1000, []blk{{1100, 1200}}}}, []blk{{1100, 1200}}, 100},
		{"disjoint sorted", []struct {
			ack    uint32
			blocks []blk
		}{{1000, []blk{{1500, 1600}, {1100, 1200}, {1300, 1400}}}}, []blk{{1100, 1200}, {1300, 1400}, {1500, 1600}}, 300},
		{"adjacent merge", []struct {
			ack    uint32
			blocks []blk
		}{{1000, []blk{{1100, 1200}}}, {1000, []blk{{1200, 1300}}}}, []blk{{1100, 1300}}, 100},
		{"bridge three", []struct {
			ack    uint32
			blocks []blk
		}{{1000, []blk{{1100, 1200}, {1300, 1400}, {1500, 1600}}}, {1000, []blk{{1150, 1550}}}}, []blk{{1100, 1600}}, 200},
		{"duplicate adds nothing", []struct {
			ack    uint32
			blocks []blk
		}{{1000, []blk{{1100, 1200}}}, {1000, []blk{{1100, 1200}, {1120, 1180}}}}, []blk{{1100, 1200}}, 0},
		{"cum ack drops and clips", []struct {
			ack    uint32
			blocks []blk
		}{{1000, []blk{{1100, 1200}, {1300, 1400}}}, {1350, nil}}, []blk{{1350, 1400}}, 0},
		{"cum ack covers all", []struct {
			ack    uint32
			blocks []blk
		}{{1000, []blk{{1100, 1200}}}, {1200, nil}}, nil, 0},
		{"dsack below una ignored", []struct {
			ack    uint32
			blocks []blk
		}{{1000, []blk{{900, 1000}, {1100, 1200}}}}, []blk{{1100, 1200}}, 100},
		{"straddling una clipped", []struct {
			ack    uint32
			blocks []blk
		}{{1000, []blk{{950, 1050}}}}, []blk{{1000, 1050}}, 50},
		{"beyond snd.nxt ignored", []struct {
			ack    uint32
			blocks []blk
		}{{1000, []blk{{1900, 2100}, {1100, 1200}}}}, []blk{{1100, 1200}}, 100},
		{"empty and inverted ignored", []struct {
			ack    uint32
			blocks []blk
		}{{1000, []blk{{1100, 1100}, {1200, 1150}}}}, nil, 0},
		{"old ack does not move una back", []struct {
			ack    uint32
			blocks []blk
		}{{1000, []blk{{1100, 1200}}}, {900, []blk{{1300, 1400}}}}, []blk{{1100, 1200}, {1300, 1400}}, 100},
		{"ack beyond snd.nxt ignored", []struct {
			ack    uint32
			blocks []blk
		}{{3000, []blk{{1100, 1200}}}}, []blk{{1100, 1200}}, 100},
	} {
		for _, base := range bases {
			var sb Scoreboard
			sb.Init(base+1000, 100)
			added := 0
			for _, a := range tc.acks {
				added = sb.Update(base+seqnum.Value(a.ack), base+2000, mk(base, a.blocks))
			}
			got := sb.Blocks()
			want := mk(base, tc.want)
			if len(got) != 0 || len(want) != 0 {
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s base %#x: ranges %v, want %v", tc.name, base, rel(got, base), tc.want)
				}
			}
			if added != tc.added {
				t.Errorf("%s base %#x: newly SACKed %d, want %d", tc.name, base, added, tc.added)
			}
			sum := 0
			for _, b := range want {
				sum += b.Len()
			}
			if sb.SACKedBytes() != sum {
				t.Errorf("%s base %#x: SACKedBytes %d, want %d", tc.name, base, sb.SACKedBytes(), sum)
			}
		}
	}
}

// RFC 6675 §4 IsLost: DupThresh SACKed segments, or more than
// (DupThresh−1)·SMSS SACKed octets, above the octet.
func TestIsLost(t *testing.T) {
	for _, tc := range []struct {
		name   string
		blocks []blk
		lost   []uint32
		kept   []uint32
	}{
		{"one segment", []blk{{1100, 1200}}, nil, []uint32{1000, 1050}},
		{"two segments", []blk{{1100, 1200}, {1300, 1400}}, nil, []uint32{1000, 1250}},
		{"three segments", []blk{{1100, 1200}, {1300, 1400}, {1500, 1600}}, []uint32{1000, 1099}, []uint32{1100, 1150, 1200, 1299, 1400, 1650, 999}},
		{"200 bytes in one block", []blk{{1100, 1300}}, nil, []uint32{1000}},
		{"201 bytes in one block", []blk{{1100, 1301}}, []uint32{1000, 1099}, []uint32{1100, 1301, 1500}},
		{"three small segments", []blk{{1100, 1110}, {1200, 1210}, {1300, 1310}}, []uint32{1000, 1099}, []uint32{1110, 1250}},
		{"lots above", []blk{{1100, 1200}, {1300, 1400}, {1500, 1600}, {1700, 1800}, {1900, 2000}}, []uint32{1000, 1250, 1450}, []uint32{1650, 1850}},
	} {
		for _, base := range bases {
			var sb Scoreboard
			sb.Init(base+1000, 100)
			sb.Update(base+1000, base+2000, mk(base, tc.blocks))
			for _, s := range tc.lost {
				if !sb.IsLost(base + seqnum.Value(s)) {
					t.Errorf("%s base %#x: IsLost(%d) = false, want true", tc.name, base, s)
				}
			}
			for _, s := range tc.kept {
				if sb.IsLost(base + seqnum.Value(s)) {
					t.Errorf("%s base %#x: IsLost(%d) = true, want false", tc.name, base, s)
				}
			}
		}
	}
}

func TestQueries(t *testing.T) {
	for _, base := range bases {
		v := func(n uint32) seqnum.Value { return base + seqnum.Value(n) }
		var sb Scoreboard
		sb.Init(v(1000), 100)
		if _, ok := sb.HighSACKed(); ok {
			t.Fatal("HighSACKed on an empty scoreboard")
		}
		sb.Update(v(1000), v(2000), mk(base, []blk{{1100, 1200}, {1300, 1400}}))
		if h, ok := sb.HighSACKed(); !ok || h != v(1400) {
			t.Errorf("base %#x: HighSACKed %d %v", base, h-base, ok)
		}
		for _, tc := range []struct {
			a, b uint32
			want int
		}{{1000, 2000, 200}, {1150, 1350, 100}, {1200, 1300, 0}, {1050, 1150, 50}, {1399, 1400, 1}, {1400, 1100, 0}} {
			if got := sb.SACKed(v(tc.a), v(tc.b)); got != tc.want {
				t.Errorf("base %#x: SACKed(%d, %d) = %d, want %d", base, tc.a, tc.b, got, tc.want)
			}
		}
		for s, want := range map[uint32]bool{1099: false, 1100: true, 1199: true, 1200: false, 1350: true, 1400: false} {
			if sb.IsSACKed(v(s)) != want {
				t.Errorf("base %#x: IsSACKed(%d) != %v", base, s, want)
			}
		}
	}
}

// A whole SACK recovery episode (RFC 6675 §5) with SetPipe and each
// NextSeg rule, at several points of the sequence space.
func TestRecoveryEpisode(t *testing.T) {
	for _, base := range bases {
		v := func(n uint32) seqnum.Value { return base + seqnum.Value(n) }
		var sb Scoreboard
		sb.Init(v(1000), 100)
		sndNxt := v(2000) // ten segments of 100 outstanding: 1000..2000
		check := func(step string, seg Segment, ok bool, wantOK bool, rule Rule, s, e uint32) {
			t.Helper()
			if ok != wantOK || (ok && (seg.Rule != rule || seg.Start != v(s) || seg.End != v(e))) {
				t.Fatalf("base %#x %s: NextSeg = %v [%d,%d) %v, want %v %v [%d,%d)", base, step, ok, seg.Start-base, seg.End-base, seg.Rule, wantOK, rule, s, e)
			}
		}
		if p := sb.Pipe(sndNxt); p != 1000 {
			t.Fatalf("pipe %d before loss, want 1000", p)
		}
		// Segments 1000 and 1200 and 1400 lost; others SACKed one by one.
		sb.Update(v(1000), sndNxt, mk(base, []blk{{1100, 1200}}))
		sb.Update(v(1000), sndNxt, mk(base, []blk{{1300, 1400}, {1100, 1200}}))
		if sb.IsLost(v(1000)) {
			t.Fatal("lost after two SACKed segments")
		}
		n := sb.Update(v(1000), sndNxt, mk(base, []blk{{1500, 1600}, {1300, 1400}, {1100, 1200}}))
		if n != 100 || !sb.IsLost(v(1000)) {
			t.Fatalf("third SACK: added %d, IsLost(1000) %v", n, sb.IsLost(v(1000)))
		}
		// SetPipe: 700 unSACKed octets, 100 of them lost, none retransmitted.
		if p := sb.Pipe(sndNxt); p != 600 {
			t.Fatalf("pipe %d, want 600", p)
		}
		first := sb.StartRecovery(sndNxt)
		if first != (Segment{v(1000), v(1100), RuleFirst}) {
			t.Fatalf("first retransmission %v", first)
		}
		if p := sb.Pipe(sndNxt); p != 700 { // + the retransmission
			t.Fatalf("pipe after first retransmission %d, want 700", p)
		}
		seg, ok := sb.NextSeg(sndNxt, true)
		check("new data", seg, ok, true, RuleNew, 2000, 2100)
		seg, ok = sb.NextSeg(sndNxt, false)
		check("rule 3", seg, ok, true, RuleUnSACKed, 1200, 1300)
		sb.Sent(seg)
		seg, ok = sb.NextSeg(sndNxt, false)
		check("rule 3 again", seg, ok, true, RuleUnSACKed, 1400, 1500)
		// New data goes out instead (rule 2): HighData moves.
		sndNxt = v(2100)
		// More SACKs make 1400 lost (three SACKed segments above it):
		// rule 1 wins over rule 2.
		sb.Update(v(1000), sndNxt, mk(base, []blk{{1900, 2000}, {1700, 1800}, {1500, 1600}}))
		seg, ok = sb.NextSeg(sndNxt, true)
		check("rule 1", seg, ok, true, RuleLost, 1400, 1500)
		sb.Sent(Segment{seg.Start, seg.Start + 50, seg.Rule}) // engine sent only half
		seg, ok = sb.NextSeg(sndNxt, false)
		check("rule 1 rest", seg, ok, true, RuleLost, 1450, 1500)
		sb.Sent(seg)
		if sb.HighRxt() != v(1500) {
			t.Fatalf("HighRxt %d", sb.HighRxt()-base)
		}
		// Holes above HighRxt with fewer than three segments above: rule 3.
		seg, ok = sb.NextSeg(sndNxt, false)
		check("rule 3 above HighRxt", seg, ok, true, RuleUnSACKed, 1600, 1700)
		sb.Sent(seg)
		seg, ok = sb.NextSeg(sndNxt, false)
		check("rule 3 last hole", seg, ok, true, RuleUnSACKed, 1800, 1900)
		sb.Sent(seg)
		// No hole left below the highest SACK; no rescue yet: HighACK
		// (999) is not above RescueRxt (1099).
		seg, ok = sb.NextSeg(sndNxt, false)
		check("nothing", seg, ok, false, 0, 0, 0)
		// Partial ACK up to 1100 (HighACK 1099): still no rescue.
		sb.Update(v(1100), sndNxt, mk(base, []blk{{1300, 1400}, {1500, 1600}, {1700, 1800}}))
		seg, ok = sb.NextSeg(sndNxt, false)
		check("no rescue at HighACK == RescueRxt", seg, ok, false, 0, 0, 0)
		// Partial ACK to 1200 (merges the SACKed 1100..1200): rescue
		// retransmission of the highest unSACKed segment, once.
		sb.Update(v(1200), sndNxt, mk(base, []blk{{1300, 1400}}))
		seg, ok = sb.NextSeg(sndNxt, false)
		check("rescue", seg, ok, true, RuleRescue, 2000, 2100)
		hr := sb.HighRxt()
		sb.Sent(seg)
		if sb.HighRxt() != hr {
			t.Fatal("rescue moved HighRxt")
		}
		seg, ok = sb.NextSeg(sndNxt, false)
		check("only one rescue", seg, ok, false, 0, 0, 0)
		// Pipe now: una 1200, sndNxt 2100; SACKed 1300-1400, 1500-1600,
		// 1700-1800, 1900-2000 (500 unSACKed of 900). Lost boundary 1500:
		// [1200,1300) and [1400,1500) lost. HighRxt 1900: unSACKed
		// retransmitted octets in [1200,1900) = 400.
		if p, want := sb.Pipe(sndNxt), (500-200)+400; p != want {
			t.Fatalf("pipe %d, want %d", p, want)
		}
		// RTO: forget everything.
		sb.Reset(v(1200))
		if sb.SACKedBytes() != 0 || len(sb.Blocks()) != 0 || sb.IsLost(v(1200)) || sb.Pipe(sndNxt) != 900 {
			t.Fatalf("after Reset: %d SACKed, pipe %d", sb.SACKedBytes(), sb.Pipe(sndNxt))
		}
	}
}

func TestRescueWhenTopIsSACKed(t *testing.T) {
	var sb Scoreboard
	sb.Init(1000, 100)
	sb.Update(1000, 2000, []Block{{1300, 1400}, {1800, 2000}})
	sb.StartRecovery(2000)
	sb.Update(1200, 2000, nil)
	seg, ok := sb.NextSeg(2000, false)
	// Holes [1200,1300) and [1400,1800) are above HighRxt (1100); three
	// SACKed segments lie above the first, so rule 1 picks it. Consume
	// both, then the rescue takes the top of the highest hole.
	if !ok || seg != (Segment{1200, 1300, RuleLost}) {
		t.Fatalf("got %v", seg)
	}
	sb.Sent(Segment{1200, 1800, RuleUnSACKed})
	seg, ok = sb.NextSeg(2000, false)
	if !ok || seg != (Segment{1700, 1800, RuleRescue}) {
		t.Fatalf("rescue %v %v, want [1700,1800)", seg, ok)
	}
}

func TestMaxRanges(t *testing.T) {
	for _, base := range bases {
		var sb Scoreboard
		sb.Init(base, 100)
		// Ascending: the ranges beyond MaxRanges are the highest and are
		// forgotten.
		top := base + seqnum.Value(200*(MaxRanges+8)+1000)
		for i := 0; i < MaxRanges+8; i++ {
			s := base + seqnum.Value(200*i+100)
			sb.Update(base, top, []Block{{s, s + 100}})
		}
		bl := sb.Blocks()
		if len(bl) != MaxRanges || bl[MaxRanges-1].Start != base+seqnum.Value(200*(MaxRanges-1)+100) {
			t.Fatalf("base %#x ascending: %d ranges, top %v", base, len(bl), bl[len(bl)-1])
		}
		// Descending: each new lower range evicts the highest.
		sb.Init(base, 100)
		for i := MaxRanges + 7; i >= 0; i-- {
			s := base + seqnum.Value(200*i+100)
			sb.Update(base, top, []Block{{s, s + 100}})
		}
		bl = sb.Blocks()
		if len(bl) != MaxRanges || bl[0].Start != base+100 || bl[MaxRanges-1].Start != base+seqnum.Value(200*(MaxRanges-1)+100) {
			t.Fatalf("base %#x descending: %d ranges %v..%v", base, len(bl), bl[0], bl[len(bl)-1])
		}
		if sb.SACKedBytes() != 100*MaxRanges {
			t.Fatalf("SACKedBytes %d", sb.SACKedBytes())
		}
		checkInvariants(t, &sb, top)
	}
}

func TestScoreboardAllocatesNothing(t *testing.T) {
	var sb Scoreboard
	sb.Init(0, 1000)
	blocks := []Block{{5000, 6000}, {3000, 4000}, {1000, 2000}}
	una := seqnum.Value(0)
	n := testing.AllocsPerRun(1000, func() {
		sb.Update(una, una+20000, blocks)
		_ = sb.Pipe(una + 20000)
		sb.StartRecovery(una + 20000)
		seg, ok := sb.NextSeg(una+20000, false)
		if ok {
			sb.Sent(seg)
		}
		_ = sb.IsLost(una)
		sb.Reset(una)
	})
	if n != 0 {
		t.Errorf("%v allocations per ACK", n)
	}
}

// checkInvariants verifies the scoreboard's internal consistency.
func checkInvariants(t *testing.T, sb *Scoreboard, sndNxt seqnum.Value) {
	t.Helper()
	bl := sb.Blocks()
	if len(bl) > MaxRanges {
		t.Fatalf("%d ranges", len(bl))
	}
	sum := 0
	prev := sb.Una()
	for i, b := range bl {
		if !b.Start.LessThan(b.End) {
			t.Fatalf("range %d empty: %v", i, b)
		}
		if i == 0 && b.Start.LessThan(prev) || i > 0 && !prev.LessThan(b.Start) {
			t.Fatalf("range %d %v not above %d (sorted, disjoint, non-adjacent)", i, b, prev)
		}
		if sndNxt.LessThan(b.End) {
			t.Fatalf("range %d %v beyond SND.NXT %d", i, b, sndNxt)
		}
		sum += b.Len()
		prev = b.End
	}
	if sum != sb.SACKedBytes() {
		t.Fatalf("SACKedBytes %d, ranges hold %d", sb.SACKedBytes(), sum)
	}
	if got := sb.SACKed(sb.Una(), sndNxt); got != sum {
		t.Fatalf("SACKed(una, sndNxt) = %d, want %d", got, sum)
	}
	outstanding := int(sb.Una().Size(sndNxt))
	if p := sb.Pipe(sndNxt); p < 0 || p > 2*(outstanding-sum) {
		t.Fatalf("pipe %d outside [0, 2·%d]", p, outstanding-sum)
	}
	// IsLost is monotone and false for SACKed octets.
	if le := sb.LostEnd(); le.LessThan(sb.Una()) || sndNxt.LessThan(le) {
		t.Fatalf("LostEnd %d outside [una %d, sndNxt %d]", le, sb.Una(), sndNxt)
	}
	for _, b := range bl {
		if sb.IsLost(b.Start) || sb.IsLost(b.End-1) || !sb.IsSACKed(b.Start) || !sb.IsSACKed(b.End-1) {
			t.Fatalf("SACKed range %v reported lost or unSACKed", b)
		}
	}
}

// A recovery that starts as another ends does not resend SND.UNA when the
// previous recovery already retransmitted it.
func TestBackToBackRecovery(t *testing.T) {
	for _, base := range bases {
		v := func(n uint32) seqnum.Value { return base + seqnum.Value(n) }
		var sb Scoreboard
		sb.Init(v(1000), 100)
		// Recovery 1: 1000 lost, recover point 1499; new data up to 2000
		// is sent during it and 1500..1700 is lost too.
		sb.Update(v(1000), v(1500), mk(base, []blk{{1100, 1500}}))
		if first := sb.StartRecovery(v(1500)); first != (Segment{v(1000), v(1100), RuleFirst}) {
			t.Fatalf("first %v", first)
		}
		sb.Update(v(1000), v(2000), mk(base, []blk{{1700, 2000}, {1100, 1500}}))
		seg, ok := sb.NextSeg(v(2000), false)
		if !ok || seg != (Segment{v(1500), v(1600), RuleLost}) {
			t.Fatalf("NextSeg %v %v", seg, ok)
		}
		sb.Sent(seg)
		// The ACK for the retransmitted 1000 ends recovery 1 and leaves
		// 1500..1700 lost (three segments above): recovery 2 starts at
		// once, but 1500..1600 is already retransmitted and in flight.
		sb.Update(v(1500), v(2000), mk(base, []blk{{1700, 2000}}))
		if !sb.IsLost(v(1600)) {
			t.Fatal("1600 not lost")
		}
		first := sb.StartRecovery(v(2000))
		if first.Len() != 0 || first.Rule != RuleNone {
			t.Fatalf("recovery 2 resent %v", first)
		}
		if p := sb.Pipe(v(2000)); p != 100 { // the retransmission of 1500; 1600 lost
			t.Fatalf("pipe %d, want 100", p)
		}
		seg, ok = sb.NextSeg(v(2000), false)
		if !ok || seg != (Segment{v(1600), v(1700), RuleLost}) {
			t.Fatalf("recovery 2 NextSeg %v %v", seg, ok)
		}
	}
}

// TestManyRangesKept checks that the scoreboard keeps hundreds of SACKed
// ranges (a flight with every other segment lost), growing its table on
// demand, and that it allocates nothing once the table has grown.
func TestManyRangesKept(t *testing.T) {
	var sb Scoreboard
	sb.Init(0, 100)
	const n = 500
	for i := 0; i < n; i++ {
		s := seqnum.Value(200*i + 100)
		sb.Update(0, 200*n, []Block{{s, s + 100}})
	}
	if len(sb.Blocks()) != n || sb.SACKedBytes() != 100*n {
		t.Fatalf("%d ranges, %d bytes SACKed; want %d, %d", len(sb.Blocks()), sb.SACKedBytes(), n, 100*n)
	}
	checkInvariants(t, &sb, 200*n)
	sb.Timeout(0)
	if len(sb.Blocks()) != n {
		t.Fatalf("%d ranges after a timeout", len(sb.Blocks()))
	}
	una := seqnum.Value(0)
	allocs := testing.AllocsPerRun(100, func() {
		sb.Reset(una)
		for i := 0; i < n; i++ {
			s := una + seqnum.Value(200*i+100)
			sb.Update(una, una+200*n, []Block{{s, s + 100}})
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations refilling a grown table", allocs)
	}
}
