package perf

import (
	"fmt"
	"testing"
	"time"

	"stacklab/internal/lossmeter"
	"stacklab/sim"
	"stacklab/stack"
)

// lossPath is the loss-recovery table's path (issue 8): 100 Mbit/s,
// 25 ms each way (50 ms RTT), 1000-frame queues, random loss at the
// given rate and 5 % of the frames held back 1 ms (reordered), both
// directions; 16 MiB from client to server.
const (
	lossSize    = 16 << 20
	lossRate    = 100_000_000
	lossDelay   = 25 * time.Millisecond
	lossReorder = 0.05
)

// BenchmarkLossRecovery moves 16 MiB over the impaired path in
// simulated time under each profile and reports the goodput in
// simulated time ("MB/s": payload bytes over the time from connect to
// the last byte read), the retransmitted and spurious segments counted
// on the wire by a lossmeter on the client → server pipe ("retrans",
// "spurious": a retransmission whose bytes had all reached the server
// in an earlier copy), the sender's retransmission timeouts ("rtos",
// its own count) and the D-SACK blocks it received ("dsack").
// bench/loss.sh runs it beside gVisor's netstack and the Linux kernel
// over the same impairments, metered the same way. Run it with
// -benchtime 1x.
func BenchmarkLossRecovery(b *testing.B) {
	for _, loss := range []float64{0.01, 0.03} {
		for _, profile := range []string{"linux", "rfc"} {
			b.Run(fmt.Sprintf("loss=%g%%/profile=%s", loss*100, profile), func(b *testing.B) {
				var mbs, retrans, rtos, spurious, dsack float64
				for i := range b.N {
					r := runLoss(b, loss, profile, uint64(i))
					mbs += r.mbs
					retrans += float64(r.retrans)
					rtos += float64(r.rtos)
					spurious += float64(r.spurious)
					dsack += float64(r.dsack)
				}
				n := float64(b.N)
				b.ReportMetric(mbs/n, "MB/s")
				b.ReportMetric(retrans/n, "retrans")
				b.ReportMetric(rtos/n, "rtos")
				b.ReportMetric(spurious/n, "spurious")
				b.ReportMetric(dsack/n, "dsack")
			})
		}
	}
}

type lossResult struct {
	mbs                            float64
	retrans, rtos, spurious, dsack uint64
	stackRetrans                   uint64 // the sender's own count
}

func runLoss(tb testing.TB, loss float64, profile string, seed uint64) lossResult {
	m := lossmeter.New(sim.HeaderLen(stack.LinkEthernet))
	n := newSimNet(tb, simConfig{
		meter: m,
		imp:   sim.Impairments{Delay: lossDelay, Rate: lossRate, Loss: loss, Reorder: lossReorder},
		tcp:   stack.TCPOptions{Profile: profile},
		seed:  seed,
	})
	lfd := n.listen(tb, 5001, 8)
	start := n.clock.Now()
	cfd, sfd := n.connect(tb, lfd, 5001)
	wbuf, rbuf := make([]byte, chunk), make([]byte, 256<<10)
	got := n.transfer(tb, cfd, sfd, lossSize, start.Add(10*time.Minute), wbuf, rbuf)
	if got != lossSize {
		tb.Fatalf("loss %g%%, %s: %d of %d bytes in 10 simulated minutes", loss*100, profile, got, lossSize)
	}
	secs := n.clock.Now().Sub(start).Seconds()
	info, err := n.client.TCPInfo(cfd)
	if err != nil {
		tb.Fatal(err)
	}
	wire := m.Stats()
	var dsack uint64
	for _, c := range n.client.Counters() {
		if c.Name == "tcp.DSACKRecv" {
			dsack = c.Value
		}
	}
	return lossResult{
		mbs:      float64(got) / secs / 1e6,
		retrans:  wire.Retransmits,
		rtos:     uint64(info.RTOs),
		spurious: wire.Spurious,
		dsack:    dsack,

		stackRetrans: uint64(info.Retransmits),
	}
}

// TestLossMeterAgrees checks the wire's count against stacklab's own:
// every retransmitted segment the meter saw is one the sender counted,
// and the spurious ones it found are about as many as the D-SACK blocks
// the sender received (a D-SACK can be lost, or a spurious copy lost
// before it reached the receiver, so they need not be equal).
func TestLossMeterAgrees(t *testing.T) {
	r := runLoss(t, 0.03, "linux", 1)
	if r.retrans == 0 || r.retrans != r.stackRetrans {
		t.Errorf("retransmitted segments on the wire %d, the sender's count %d", r.retrans, r.stackRetrans)
	}
	if r.spurious > r.dsack+3 || r.dsack > r.spurious+3 {
		t.Errorf("spurious on the wire %d, D-SACK blocks received %d: too far apart", r.spurious, r.dsack)
	}
}

// recoverySize is BenchmarkRecoveryGigabit's transfer: enough for slow
// start to overflow the 1 Gbit/s link's queue once, with some 2,200
// segments in flight.
const recoverySize = 32 << 20

// BenchmarkRecoveryGigabit times one recovery at a large window: 32 MiB
// of bulk TCP (the linux profile, buffers autotuned) over 1 Gbit/s with
// 10 ms each way and a 500-frame queue, where slow start overflows the
// queue once and some 900 segments are resent from a flight of about
// 2,200. Every ACK
// of the recovery carries SACK blocks whose edges the sender looks up
// among the records in flight. It reports the wall time of a transfer
// and the segments retransmitted (the sender's count, to show the loss
// happened). Looking the edges up by walking the records from the front
// took 155-162 ms a transfer; by halves (lossState.txFind) 53-71 ms
// (three interleaved runs of five transfers each, when the queue held
// 1,000 frames and a few hundred segments were lost).
func BenchmarkRecoveryGigabit(b *testing.B) {
	var retrans float64
	for range b.N {
		retrans += float64(runRecoveryGigabit(b))
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/transfer")
	b.ReportMetric(retrans/float64(b.N), "retrans")
}

// runRecoveryGigabit runs BenchmarkRecoveryGigabit's transfer and returns
// the segments the sender retransmitted.
func runRecoveryGigabit(tb testing.TB) int {
	// A 500-frame queue and HyStart off: slow start runs until the queue
	// overflows. With 1,000 frames (the default) the flight needs more
	// than the 4 MiB send buffer holds (tcp_wmem[2]; a writer wakes with
	// two thirds of it queued, as Linux's), and HyStart may leave slow
	// start short of the overflow, depending on how the writes fall.
	n := newSimNet(tb, simConfig{imp: sim.Impairments{Delay: simRate.delay, Rate: simRate.rate, QueuePackets: 500}, tcp: stack.TCPOptions{HyStart: "off"}})
	lfd := n.listen(tb, 5001, 8)
	start := n.clock.Now()
	cfd, sfd := n.connect(tb, lfd, 5001)
	wbuf, rbuf := make([]byte, chunk), make([]byte, 256<<10)
	if got := n.transfer(tb, cfd, sfd, recoverySize, start.Add(time.Minute), wbuf, rbuf); got != recoverySize {
		tb.Fatalf("%d of %d bytes in a simulated minute", got, recoverySize)
	}
	info, err := n.client.TCPInfo(cfd)
	if err != nil {
		tb.Fatal(err)
	}
	return info.Retransmits
}

// TestRecoveryGigabitLoses checks that BenchmarkRecoveryGigabit's
// transfer does recover from a loss, as the benchmark means to time.
func TestRecoveryGigabitLoses(t *testing.T) {
	if testing.Short() {
		t.Skip("a 32 MiB transfer")
	}
	if r := runRecoveryGigabit(t); r < 50 {
		t.Errorf("%d segments retransmitted, want the queue's overflow to cost at least 50", r)
	}
}
