package perf

import (
	"testing"
	"time"

	"stacklab/capture"
	"stacklab/sim"
	"stacklab/stack"
)

// simRate describes BenchmarkSimRate's network: the one ns-3 was timed on
// in DESIGN.md (1 Gbit/s, 10 ms one way, bulk TCP for 10 s).
var simRate = struct {
	rate     uint64
	delay    time.Duration
	duration time.Duration
	buffer   int
}{
	rate:     1_000_000_000,
	delay:    10 * time.Millisecond,
	duration: 10 * time.Second,
	buffer:   4 << 20, // above the 2.5 MB bandwidth-delay product
}

// BenchmarkSimRate runs 10 simulated seconds of one bulk TCP connection
// over a 1 Gbit/s link with 10 ms of delay each way, and reports the
// packets simulated (both directions) per wall second, beside the
// simulated goodput; pcap=on writes a pcapng per vantage point (to
// /dev/null), as bench/ns3's peer does with its pcap. Run it with
// -benchtime 1x.
func BenchmarkSimRate(b *testing.B) {
	b.Run("pcap=off", func(b *testing.B) { benchSimRate(b, false) })
	b.Run("pcap=on", func(b *testing.B) { benchSimRate(b, true) })
}

func benchSimRate(b *testing.B, pcap bool) {
	var pkts uint64
	var bytes int64
	for range b.N {
		var tap stack.Tap
		if pcap {
			rec, _ := newRecorderOpts(b, true, capture.Options{})
			tap = rec
		}
		p, g := runSimRate(b, simRate.duration, tap)
		pkts += p
		bytes += g
	}
	b.ReportMetric(float64(pkts)/b.Elapsed().Seconds(), "pkts/s")
	b.ReportMetric(float64(bytes)*8/simRate.duration.Seconds()/1e6/float64(b.N), "sim-Mbit/s")
	b.ReportMetric(float64(pkts)/float64(b.N), "pkts/run")
}

// runSimRate runs the simulation for d and returns the frames sent over
// the link and the bytes the server read.
func runSimRate(tb testing.TB, d time.Duration, tap stack.Tap) (pkts uint64, got int64) {
	n := newSimNet(tb, simConfig{
		tap: tap,
		imp: sim.Impairments{Delay: simRate.delay, Rate: simRate.rate},
		tcp: stack.TCPOptions{SendBuffer: simRate.buffer, RecvBuffer: simRate.buffer},
	})
	const port = 5001
	lfd := n.listen(tb, port, 8)
	start := n.clock.Now()
	cfd, sfd := n.connect(tb, lfd, port)
	wbuf, rbuf := make([]byte, chunk), make([]byte, 256<<10)
	got = n.transfer(tb, cfd, sfd, 1<<62, start.Add(d), wbuf, rbuf)
	return n.packets(), got
}

// TestSimRateShort runs 300 simulated milliseconds of the SimRate network
// and checks that data moves, and no faster than the link allows.
func TestSimRateShort(t *testing.T) {
	const d = 300 * time.Millisecond
	pkts, got := runSimRate(t, d, nil)
	if pkts < 300 || got < 256<<10 {
		t.Fatalf("%v simulated moved %d bytes in %d packets; want at least 256 KiB", d, got, pkts)
	}
	if max := int64(float64(simRate.rate/8) * d.Seconds()); got > max {
		t.Fatalf("%v simulated delivered %d bytes, more than the link's %d", d, got, max)
	}
	t.Logf("%v simulated: %d packets, %.1f Mbit/s", d, pkts, float64(got)*8/1e6/d.Seconds())
}
