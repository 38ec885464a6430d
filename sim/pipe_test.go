package sim

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"stacklab/stack"
	"stacklab/stack/core"
)

// arrival is one delivered frame as a test sink records it.
type arrival struct {
	at   time.Duration
	id   uint64
	data []byte
}

type sink struct {
	clock  *Clock
	got    []arrival
	noData bool // record times and ids only, for statistics over many frames
}

func (s *sink) deliver(pkt stack.Packet) {
	a := arrival{at: s.clock.Elapsed(), id: pkt.ID}
	if !s.noData {
		a.data = bytes.Clone(pkt.Data)
	}
	s.got = append(s.got, a)
}

func (s *sink) ids() []uint64 {
	var ids []uint64
	for _, a := range s.got {
		ids = append(ids, a.id)
	}
	return ids
}

// events records observer events.
type events struct{ evs []core.Event }

func (e *events) Observe(ev *core.Event) { e.evs = append(e.evs, *ev) }

func newTestPipe(seed uint64, imp Impairments) (*Clock, *Pipe, *sink) {
	c := NewClock(t0)
	s := &sink{clock: c}
	p := NewPipeConfig(PipeConfig{
		Clock: c, Rand: rand.New(rand.NewPCG(seed, 7)), Impairments: imp,
		Deliver: s.deliver, HeaderLen: 14, Name: "a—b", From: "a", To: "b",
	})
	return c, p, s
}

func frame(id uint64, n int) stack.Packet {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(id) + byte(i)
	}
	return stack.Packet{ID: id, Data: b}
}

// checkInvariant checks that every frame sent was delivered or dropped.
func checkInvariant(t *testing.T, c Counters) {
	t.Helper()
	if c.Sent != c.Delivered-c.Duplicated+c.Dropped() {
		t.Errorf("counters do not add up: %+v", c)
	}
}

func TestPipeDelayAndRate(t *testing.T) {
	tests := []struct {
		name string
		imp  Impairments
		size int
		n    int
		want []time.Duration
	}{
		{"perfect", Impairments{}, 100, 2, []time.Duration{0, 0}},
		{"delay", Impairments{Delay: 10 * time.Millisecond}, 100, 2, []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}},
		{"1500 B at 100 Mbit", Impairments{Rate: 100e6}, 1500, 3, []time.Duration{120 * time.Microsecond, 240 * time.Microsecond, 360 * time.Microsecond}},
		{"rate and delay", Impairments{Rate: 1e9, Delay: time.Millisecond}, 1250, 2, []time.Duration{time.Millisecond + 10*time.Microsecond, time.Millisecond + 20*time.Microsecond}},
		{"rate rounds up", Impairments{Rate: 3}, 1, 1, []time.Duration{2666666667}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, p, s := newTestPipe(1, tt.imp)
			for i := range tt.n {
				p.Send(frame(uint64(i+1), tt.size))
			}
			if len(s.got) != 0 {
				t.Fatal("delivered synchronously inside Send")
			}
			c.Run()
			var at []time.Duration
			for _, a := range s.got {
				at = append(at, a.at)
			}
			if !slices.Equal(at, tt.want) {
				t.Errorf("arrivals at %v, want %v", at, tt.want)
			}
			checkInvariant(t, p.Counters())
		})
	}
}

func TestPipeRateIdleGap(t *testing.T) {
	// A frame sent after the transmitter went idle starts at once.
	c, p, s := newTestPipe(1, Impairments{Rate: 100e6})
	p.Send(frame(1, 1500))
	c.RunFor(time.Second)
	p.Send(frame(2, 1500))
	c.Run()
	if s.got[1].at != time.Second+120*time.Microsecond {
		t.Fatalf("second frame at %v", s.got[1].at)
	}
}

func TestPipeQueue(t *testing.T) {
	tests := []struct {
		name      string
		imp       Impairments
		n         int
		delivered uint64
	}{
		{"packets", Impairments{Rate: 1e6, QueuePackets: 2}, 5, 2},
		{"bytes", Impairments{Rate: 1e6, QueueBytes: 3000}, 5, 3},
		{"both, bytes bind", Impairments{Rate: 1e6, QueueBytes: 2000, QueuePackets: 10}, 5, 2},
		{"default", Impairments{Rate: 1e6}, DefaultQueuePackets + 10, DefaultQueuePackets},
		{"idle takes a large frame", Impairments{Rate: 1e6, QueueBytes: 10}, 1, 1},
		{"no rate, no queue", Impairments{QueuePackets: 1}, 5, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, p, s := newTestPipe(1, tt.imp)
			for i := range tt.n {
				p.Send(frame(uint64(i+1), 1000))
			}
			c.Run()
			ctr := p.Counters()
			if ctr.Delivered != tt.delivered || uint64(len(s.got)) != tt.delivered {
				t.Errorf("delivered %d (%d seen), want %d", ctr.Delivered, len(s.got), tt.delivered)
			}
			if ctr.DropQueue != uint64(tt.n)-tt.delivered {
				t.Errorf("queue drops %d, want %d", ctr.DropQueue, uint64(tt.n)-tt.delivered)
			}
			checkInvariant(t, ctr)
		})
	}
}

func TestPipeQueueDrains(t *testing.T) {
	// 1000 B at 1 Mbit/s take 8 ms: a frame every 8 ms never queues, a
	// frame every 4 ms overruns a queue of 2.
	for _, tt := range []struct {
		every time.Duration
		drops bool
	}{{8 * time.Millisecond, false}, {16 * time.Millisecond, false}, {4 * time.Millisecond, true}} {
		c, p, _ := newTestPipe(1, Impairments{Rate: 1e6, QueuePackets: 2})
		for i := range 50 {
			p.Send(frame(uint64(i+1), 1000))
			c.RunFor(tt.every)
		}
		c.Run()
		if got := p.Counters().DropQueue > 0; got != tt.drops {
			t.Errorf("every %v: drops %v, want %v", tt.every, p.Counters().DropQueue, tt.drops)
		}
	}
}

// seeds returns how many seeds statistical tests try: fewer under the
// race detector, which makes them slow.
func seeds() uint64 {
	if raceEnabled {
		return 1
	}
	return 3
}

func TestPipeLossRate(t *testing.T) {
	const n = 40000
	for _, loss := range []float64{0.01, 0.02, 0.1, 0.5} {
		for seed := range seeds() {
			c, p, s := newTestPipe(seed, Impairments{Loss: loss})
			s.noData = true
			f := frame(0, 60)
			for i := range n {
				f.ID = uint64(i)
				p.Send(f)
			}
			c.Run()
			got := 1 - float64(len(s.got))/n
			// 4 standard deviations.
			tol := 4 * math.Sqrt(loss*(1-loss)/n)
			if math.Abs(got-loss) > tol {
				t.Errorf("loss %v seed %d: measured %v", loss, seed, got)
			}
			ctr := p.Counters()
			if ctr.DropLoss+ctr.Delivered != n {
				t.Errorf("counters %+v", ctr)
			}
		}
	}
}

func TestPipeBurstLoss(t *testing.T) {
	const n = 60000
	tests := []struct {
		name string
		ge   GilbertElliott
	}{
		{"gilbert", GilbertElliott{P: 0.01, R: 0.25, LossBad: 1}},
		{"elliott", GilbertElliott{P: 0.05, R: 0.5, LossGood: 0.01, LossBad: 0.8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range seeds() {
				c, p, s := newTestPipe(seed, Impairments{Burst: tt.ge})
				s.noData = true
				f := frame(0, 60)
				for i := range n {
					f.ID = uint64(i)
					p.Send(f)
				}
				c.Run()
				got := 1 - float64(len(s.got))/n
				want := tt.ge.MeanLoss()
				if math.Abs(got-want) > 0.15*want {
					t.Errorf("seed %d: loss %v, want about %v", seed, got, want)
				}
				// Losses come in bursts: the mean run of consecutive
				// losses is well above that of independent loss.
				runs, lost := 0, 0
				prev := uint64(0)
				for i, a := range s.got {
					if gap := a.id - prev; i > 0 && gap > 1 || i == 0 && a.id > 0 {
						runs++
						lost += int(gap) - 1
						if i == 0 {
							lost++
						}
					}
					prev = a.id
				}
				mean := float64(lost) / float64(runs)
				if indep := 1 / (1 - want); mean < 1.3*indep {
					t.Errorf("seed %d: mean loss burst %.2f, independent loss gives %.2f", seed, mean, indep)
				}
				if p.Counters().DropBurst == 0 || p.Counters().DropLoss != 0 {
					t.Errorf("counters %+v", p.Counters())
				}
			}
		})
	}
}

func TestPipeJitterKeepsOrder(t *testing.T) {
	imp := Impairments{Delay: 10 * time.Millisecond, Jitter: 5 * time.Millisecond}
	c, p, s := newTestPipe(3, imp)
	sentAt := map[uint64]time.Duration{}
	for i := range 2000 {
		sentAt[uint64(i)] = c.Elapsed()
		p.Send(frame(uint64(i), 100))
		if i%2 == 0 {
			c.RunFor(10 * time.Millisecond) // no FIFO wait: the full spread shows
		} else {
			c.RunFor(100 * time.Microsecond) // FIFO must hold
		}
	}
	c.Run()
	if len(s.got) != 2000 {
		t.Fatalf("delivered %d", len(s.got))
	}
	var minD, maxD time.Duration = time.Hour, 0
	for i, a := range s.got {
		if a.id != uint64(i) {
			t.Fatalf("frame %d arrived in position %d: jitter reordered", a.id, i)
		}
		d := a.at - sentAt[a.id]
		minD, maxD = min(minD, d), max(maxD, d)
		if d < 5*time.Millisecond {
			t.Fatalf("frame %d delayed %v, below delay-jitter", a.id, d)
		}
	}
	// FIFO may push a frame past delay+jitter, but not far; and the
	// spread must be used.
	if minD > 6*time.Millisecond || maxD < 14*time.Millisecond || maxD > 16*time.Millisecond {
		t.Errorf("delays span %v..%v, want about 5ms..15ms", minD, maxD)
	}
}

func TestPipeReorder(t *testing.T) {
	c, p, s := newTestPipe(5, Impairments{Delay: time.Millisecond, Reorder: 0.1, ReorderDelay: 2 * time.Millisecond})
	const n = 5000
	for i := range n {
		p.Send(frame(uint64(i), 100))
		c.RunFor(100 * time.Microsecond)
	}
	c.Run()
	ids := s.ids()
	if len(ids) != n {
		t.Fatalf("delivered %d of %d", len(ids), n)
	}
	late := 0
	for i := 1; i < len(ids); i++ {
		if ids[i] < ids[i-1] {
			late++
		}
	}
	ctr := p.Counters()
	if ctr.Reordered < 400 || ctr.Reordered > 600 {
		t.Errorf("reordered %d of %d, want about 10%%", ctr.Reordered, n)
	}
	if late == 0 {
		t.Error("no frame arrived out of order")
	}
	slices.Sort(ids)
	for i, id := range ids {
		if id != uint64(i) {
			t.Fatalf("frame %d missing or doubled", i)
		}
	}
}

func TestPipeDuplicate(t *testing.T) {
	c, p, s := newTestPipe(2, Impairments{Duplicate: 0.05})
	const n = 20000
	for i := range n {
		p.Send(frame(uint64(i), 80))
	}
	c.Run()
	ctr := p.Counters()
	if d := float64(ctr.Duplicated) / n; math.Abs(d-0.05) > 0.01 {
		t.Errorf("duplicate rate %v", d)
	}
	if len(s.got) != n+int(ctr.Duplicated) {
		t.Errorf("delivered %d, want %d", len(s.got), n+int(ctr.Duplicated))
	}
	for i := 1; i < len(s.got); i++ {
		if s.got[i].id < s.got[i-1].id {
			t.Fatal("duplication reordered frames")
		}
		if s.got[i].id == s.got[i-1].id && !bytes.Equal(s.got[i].data, s.got[i-1].data) {
			t.Fatal("duplicate differs from the original")
		}
	}
	checkInvariant(t, ctr)
}

func TestPipeCorrupt(t *testing.T) {
	c, p, s := newTestPipe(4, Impairments{Corrupt: 1})
	sent := map[uint64][]byte{}
	for i := range 500 {
		f := frame(uint64(i), 20+i%60)
		sent[f.ID] = bytes.Clone(f.Data)
		p.Send(f)
	}
	c.Run()
	for _, a := range s.got {
		orig := sent[a.id]
		diff := 0
		for j := range orig {
			if orig[j] != a.data[j] {
				diff++
				if j < 14 {
					t.Fatalf("frame %d: corrupted byte %d, inside the link header", a.id, j)
				}
			}
		}
		if diff != 1 {
			t.Fatalf("frame %d: %d bytes differ, want 1", a.id, diff)
		}
	}
	if p.Counters().Corrupted != 500 {
		t.Errorf("corrupted %d", p.Counters().Corrupted)
	}
}

func TestPipeMTU(t *testing.T) {
	c, p, s := newTestPipe(1, Impairments{MTU: 1500})
	p.Send(frame(1, 1514))
	p.Send(frame(2, 1515))
	p.Send(frame(3, 60))
	c.Run()
	if !slices.Equal(s.ids(), []uint64{1, 3}) {
		t.Errorf("delivered %v, want [1 3]", s.ids())
	}
	if p.Counters().DropMTU != 1 {
		t.Errorf("mtu drops %d", p.Counters().DropMTU)
	}
}

func TestPipeUpDown(t *testing.T) {
	c, p, s := newTestPipe(1, Impairments{Delay: 10 * time.Millisecond})
	obs := &events{}
	p.obs = obs
	p.Send(frame(1, 60))
	c.RunFor(5 * time.Millisecond)
	p.SetUp(false)
	if p.Up() {
		t.Fatal("Up() after SetUp(false)")
	}
	p.Send(frame(2, 60))
	c.RunFor(20 * time.Millisecond)
	p.SetUp(true)
	p.Send(frame(3, 60))
	c.Run()
	if !slices.Equal(s.ids(), []uint64{3}) {
		t.Errorf("delivered %v, want [3]", s.ids())
	}
	if got := p.Counters().DropDown; got != 2 {
		t.Errorf("link-down drops %d, want 2", got)
	}
	if len(obs.evs) != 2 || obs.evs[0].PacketID != 1 || obs.evs[1].PacketID != 2 || obs.evs[0].Detail != "link: dropped, link down" {
		t.Errorf("events %+v", obs.evs)
	}
	if s.got[0].at != 35*time.Millisecond {
		t.Errorf("frame 3 at %v: going down must not leave a stale FIFO floor", s.got[0].at)
	}
}

func TestPipeFilter(t *testing.T) {
	tests := []struct {
		name    string
		verdict Verdict
		want    []uint64
		at      time.Duration // arrival of frame 2
		check   func(t *testing.T, c Counters, got []arrival)
	}{
		{"pass", Pass, []uint64{1, 2, 3}, time.Millisecond, nil},
		{"drop", Drop, []uint64{1, 3}, -1, func(t *testing.T, c Counters, _ []arrival) {
			if c.DropFilter != 1 {
				t.Errorf("filter drops %d", c.DropFilter)
			}
		}},
		{"delay lets later frames overtake", Delay(3 * time.Second), []uint64{1, 3, 2}, 3*time.Second + time.Millisecond, nil},
		{"duplicate", Duplicate, []uint64{1, 2, 2, 3}, time.Millisecond, nil},
		{"corrupt offset", Corrupt(20), []uint64{1, 2, 3}, time.Millisecond, func(t *testing.T, _ Counters, got []arrival) {
			want := frame(2, 100).Data
			want[20] = got[1].data[20]
			if !bytes.Equal(got[1].data, want) || got[1].data[20] == frame(2, 100).Data[20] {
				t.Errorf("byte 20 not the only one changed")
			}
		}},
		{"corrupt random", Corrupt(-1), []uint64{1, 2, 3}, time.Millisecond, func(t *testing.T, c Counters, got []arrival) {
			if c.Corrupted != 1 || bytes.Equal(got[1].data, frame(2, 100).Data) {
				t.Errorf("not corrupted")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, p, s := newTestPipe(1, Impairments{Delay: time.Millisecond})
			var seen []uint64
			p.SetFilter(func(pkt stack.Packet) Verdict {
				seen = append(seen, pkt.ID)
				if pkt.ID == 2 {
					return tt.verdict
				}
				return Pass
			})
			for i := range 3 {
				p.Send(frame(uint64(i+1), 100))
			}
			c.Run()
			if !slices.Equal(seen, []uint64{1, 2, 3}) {
				t.Errorf("filter saw %v", seen)
			}
			if !slices.Equal(s.ids(), tt.want) {
				t.Errorf("delivered %v, want %v", s.ids(), tt.want)
			}
			for _, a := range s.got {
				if a.id == 2 && a.at != tt.at {
					t.Errorf("frame 2 at %v, want %v", a.at, tt.at)
				}
			}
			if tt.check != nil {
				tt.check(t, p.Counters(), s.got)
			}
			checkInvariant(t, p.Counters())
		})
	}
}

func TestPipeCopiesData(t *testing.T) {
	c, p, s := newTestPipe(1, Impairments{Delay: time.Millisecond})
	f := frame(1, 64)
	want := bytes.Clone(f.Data)
	p.Send(f)
	clear(f.Data)
	c.Run()
	if !bytes.Equal(s.got[0].data, want) {
		t.Fatal("pipe did not copy the frame")
	}
}

func TestPipeEvents(t *testing.T) {
	c, p, _ := newTestPipe(1, Impairments{Loss: 1})
	obs := &events{}
	p.obs = obs
	p.Send(frame(42, 60))
	c.Run()
	want := core.Event{Time: t0, Host: "a—b", Kind: core.EventDrop, FD: -1, From: "a", To: "b",
		Name: "random loss", Detail: "link: dropped, random loss", PacketID: 42}
	if len(obs.evs) != 1 || obs.evs[0] != want {
		t.Fatalf("events %+v, want %+v", obs.evs, want)
	}
}

// schedule runs a mixed impairment workload and returns a digest of the
// delivery schedule.
func schedule(seed uint64) string {
	imp := Impairments{Delay: 5 * time.Millisecond, Jitter: time.Millisecond, Rate: 50e6, QueuePackets: 20,
		Loss: 0.02, Burst: GilbertElliott{P: 0.01, R: 0.3, LossBad: 0.5}, Duplicate: 0.01,
		Reorder: 0.02, Corrupt: 0.01}
	c, p, s := newTestPipe(seed, imp)
	for i := range 3000 {
		p.Send(frame(uint64(i), 100+i%1400))
		if i%7 == 0 {
			c.RunFor(time.Millisecond)
		}
	}
	c.Run()
	h := fnv.New64a()
	for _, a := range s.got {
		fmt.Fprintf(h, "%d %d %x\n", a.at, a.id, a.data)
	}
	return fmt.Sprintf("%x %+v", h.Sum64(), p.Counters())
}

func TestPipeDeterministic(t *testing.T) {
	a, b, other := schedule(9), schedule(9), schedule(10)
	if a != b {
		t.Fatalf("same seed, different schedules:\n%s\n%s", a, b)
	}
	if a == other {
		t.Fatal("different seeds gave the same schedule")
	}
}

func TestPipeRealClock(t *testing.T) {
	var mu sync.Mutex
	var got []uint64
	done := make(chan struct{})
	const n = 200
	p := NewPipe(stack.RealClock{}, rand.New(rand.NewPCG(1, 1)),
		Impairments{Delay: time.Millisecond, Jitter: 500 * time.Microsecond, Rate: 1e9},
		func(pkt stack.Packet) {
			mu.Lock()
			got = append(got, pkt.ID)
			if len(got) == n {
				close(done)
			}
			mu.Unlock()
		})
	defer p.Close()
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for i := range n / 2 {
				p.Send(frame(uint64(g*n/2+i), 500))
				if i%10 == 0 {
					time.Sleep(100 * time.Microsecond)
				}
			}
		})
	}
	wg.Wait()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("delivered %d of %d", len(got), n)
	}
	mu.Lock()
	defer mu.Unlock()
	// Each sender's frames keep their order.
	var last [2]int64 = [2]int64{-1, -1}
	for _, id := range got {
		g := id / (n / 2)
		if int64(id) < last[g] {
			t.Fatalf("frame %d after %d", id, last[g])
		}
		last[g] = int64(id)
	}
}

func TestPipeAllocs(t *testing.T) {
	c, p, _ := newTestPipe(1, Impairments{Delay: time.Millisecond, Jitter: 100 * time.Microsecond, Rate: 1e9,
		Loss: 0.01, Duplicate: 0.01, Reorder: 0.01, Corrupt: 0.01})
	n := 0
	p.SetDeliver(func(stack.Packet) { n++ })
	f := frame(1, 1500)
	for range 100 { // warm the pools
		p.Send(f)
		c.RunFor(50 * time.Microsecond)
	}
	allocs := testing.AllocsPerRun(2000, func() {
		p.Send(f)
		c.RunFor(50 * time.Microsecond)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per frame", allocs)
	}
	if n < 2000 {
		t.Fatalf("delivered %d", n)
	}
}

func BenchmarkPipe(b *testing.B) {
	for _, bc := range []struct {
		name string
		imp  Impairments
	}{
		{"perfect", Impairments{}},
		{"delay+rate", Impairments{Delay: 10 * time.Millisecond, Rate: 1e9}},
		{"all", Impairments{Delay: 10 * time.Millisecond, Jitter: time.Millisecond, Rate: 1e9, Loss: 0.01,
			Burst: GilbertElliott{P: 0.01, R: 0.3, LossBad: 0.3}, Duplicate: 0.01, Reorder: 0.01, Corrupt: 0.01}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := NewClock(t0)
			n := 0
			p := NewPipeConfig(PipeConfig{Clock: c, Rand: rand.New(rand.NewPCG(1, 2)), Impairments: bc.imp,
				Deliver: func(stack.Packet) { n++ }, HeaderLen: 14})
			f := frame(1, 1500)
			b.SetBytes(1500)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				p.Send(f)
				i++
				if i%8 == 0 {
					c.RunFor(96 * time.Microsecond)
				}
			}
			c.Run()
			if n == 0 {
				b.Fatal("nothing delivered")
			}
		})
	}
}

func TestPipeClosedStaysDown(t *testing.T) {
	c, p, s := newTestPipe(1, Impairments{Delay: time.Millisecond})
	p.Send(frame(1, 60))
	p.Close()
	p.SetUp(true)
	p.Send(frame(2, 60))
	c.Run()
	if len(s.got) != 0 || p.Up() {
		t.Fatalf("a closed pipe delivered %v (up %v)", s.ids(), p.Up())
	}
	checkInvariant(t, p.Counters())
}

func TestPipeBufferClasses(t *testing.T) {
	for _, tt := range []struct{ n, class int }{{0, 0}, {60, 0}, {2048, 0}, {2049, 1}, {16384, 1}, {16385, 2}, {65549, 2}, {70000, 2}} {
		if c := sizeClass(tt.n); c != tt.class {
			t.Errorf("sizeClass(%d) = %d, want %d", tt.n, c, tt.class)
		}
	}
	_, p, _ := newTestPipe(1, Impairments{})
	for _, n := range []int{60, 9000, 65549} {
		b := p.get(n)
		if len(b) != n || cap(b) < n {
			t.Fatalf("get(%d): len %d cap %d", n, len(b), cap(b))
		}
		p.put(b)
		if b2 := p.get(n); &b2[:1][0] != &b[:1][0] {
			t.Errorf("get(%d) after put did not reuse the buffer", n)
		}
	}
	// Mixed sizes: small frames never take the large buffers.
	big := p.get(65549)
	p.put(big)
	small := p.get(60)
	if cap(small) >= 65549 {
		t.Error("a small frame took a large buffer")
	}
}

// TestPipeAccounting runs every impairment at once, with the link going
// down and up, over several seeds: every frame sent plus every duplicate
// is delivered or dropped exactly once, and every drop is reported to the
// observer with its frame's id.
func TestPipeAccounting(t *testing.T) {
	for seed := range uint64(8) {
		c, p, s := newTestPipe(seed, Impairments{
			Delay: 5 * time.Millisecond, Jitter: 2 * time.Millisecond, Rate: 10_000_000, QueuePackets: 8,
			Loss: 0.05, Burst: GilbertElliott{P: 0.05, R: 0.3, LossBad: 0.5},
			Duplicate: 0.2, Reorder: 0.2, Corrupt: 0.1, MTU: 1000,
		})
		s.noData = true
		obs := &events{}
		p.obs = obs
		rng := rand.New(rand.NewPCG(seed, 99))
		for i := range uint64(400) {
			p.Send(frame(i+1, 60+rng.IntN(1100)))
			if rng.IntN(50) == 0 {
				p.SetUp(false)
			} else if !p.Up() && rng.IntN(3) == 0 {
				p.SetUp(true)
			}
			c.RunFor(time.Duration(rng.IntN(1000)) * time.Microsecond)
		}
		c.Run()
		ctr := p.Counters()
		if p.InFlight() != 0 || ctr.Sent != 400 || ctr.Sent+ctr.Duplicated != ctr.Delivered+ctr.Dropped() {
			t.Fatalf("seed %d: in flight %d, counters do not add up: %+v", seed, p.InFlight(), ctr)
		}
		if uint64(len(s.got)) != ctr.Delivered {
			t.Fatalf("seed %d: %d frames arrived, %d counted delivered", seed, len(s.got), ctr.Delivered)
		}
		drops := 0
		for _, ev := range obs.evs {
			if ev.Kind == core.EventDrop {
				drops++
				if ev.PacketID == 0 || ev.PacketID > 400 {
					t.Fatalf("seed %d: drop event without its frame's id: %+v", seed, ev)
				}
			}
		}
		if uint64(drops) != ctr.Dropped() {
			t.Fatalf("seed %d: %d drop events for %d drops", seed, drops, ctr.Dropped())
		}
	}
}
