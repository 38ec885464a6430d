package perf

import (
	"fmt"
	"testing"
	"time"

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
// the last byte read), the sender's retransmitted segments, its
// retransmission timeouts and the D-SACK blocks it received (each a
// retransmission the receiver already had: spurious). bench/loss.sh
// runs it beside gVisor's netstack over the same impairments
// (bench/gvisor BenchmarkLossRecovery). Run it with -benchtime 1x.
func BenchmarkLossRecovery(b *testing.B) {
	for _, loss := range []float64{0.01, 0.03} {
		for _, profile := range []string{"linux", "rfc"} {
			b.Run(fmt.Sprintf("loss=%g%%/profile=%s", loss*100, profile), func(b *testing.B) {
				var mbs, retrans, rtos, spurious float64
				for i := range b.N {
					r := runLoss(b, loss, profile, uint64(i))
					mbs += r.mbs
					retrans += float64(r.retrans)
					rtos += float64(r.rtos)
					spurious += float64(r.spurious)
				}
				n := float64(b.N)
				b.ReportMetric(mbs/n, "MB/s")
				b.ReportMetric(retrans/n, "retrans")
				b.ReportMetric(rtos/n, "rtos")
				b.ReportMetric(spurious/n, "spurious")
			})
		}
	}
}

type lossResult struct {
	mbs                     float64
	retrans, rtos, spurious uint64
}

func runLoss(tb testing.TB, loss float64, profile string, seed uint64) lossResult {
	n := newSimNet(tb, simConfig{
		imp:  sim.Impairments{Delay: lossDelay, Rate: lossRate, Loss: loss, Reorder: lossReorder},
		tcp:  stack.TCPOptions{Profile: profile},
		seed: seed,
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
	var dsack uint64
	for _, c := range n.client.Counters() {
		if c.Name == "tcp.DSACKRecv" {
			dsack = c.Value
		}
	}
	return lossResult{
		mbs:      float64(got) / secs / 1e6,
		retrans:  uint64(info.Retransmits),
		rtos:     uint64(info.RTOs),
		spurious: dsack,
	}
}
