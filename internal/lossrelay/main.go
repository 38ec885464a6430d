// Command lossrelay joins two network namespaces through two TUN devices
// and stacklab's impairment pipes (the simulator's sim.Pipe on the real
// clock), so that two Linux kernels talk TCP over the same loss,
// reordering, duplication, delay and rate as stacklab does over
// `stacklab tun`. The kernel has no netem here (CONFIG_NET_SCH_NETEM is
// off on the machines this project runs on), and this way every peer in
// the loss table sees one impairment model.
//
// bench/loss.sh runs it (root only) after creating the namespaces:
//
//	go run ./internal/lossrelay -a NS1 -b NS2 -loss 2% -reorder 5% -dup 1% -delay 25ms -rate 100Mbit
//
// The device in NS1 gets 10.98.0.1/24, the one in NS2 10.98.0.2/24; each
// packet one kernel sends to the other goes through one pipe. It runs
// until SIGINT or SIGTERM, then prints each pipe's counters on stderr
// and what a lossmeter on each pipe's two ends counted of the TCP
// traffic through it (data segments, retransmitted ones, spurious ones:
// every byte already delivered in an earlier copy), as
//
//	lossrelay: wire NS1→NS2: 11696 data segments, 109 retransmitted, 2 spurious, 0 unmatched
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"stacklab/internal/lossmeter"
	"stacklab/sim"
	"stacklab/stack"
	"stacklab/stack/tun"
)

func main() {
	nsA := flag.String("a", "", "network namespace of the first kernel (10.98.0.1)")
	nsB := flag.String("b", "", "network namespace of the second kernel (10.98.0.2)")
	loss := flag.String("loss", "0", "random loss in each direction, e.g. 2%")
	reorder := flag.String("reorder", "0", "probability a packet is held back and overtaken, e.g. 5%")
	dup := flag.String("dup", "0", "duplication probability, e.g. 1%")
	delay := flag.Duration("delay", 0, "one-way delay in each direction")
	rate := flag.String("rate", "", "rate in each direction, e.g. 100Mbit (empty: unlimited)")
	queue := flag.Int("queue", 1000, "transmit queue of each direction, in packets (with -rate)")
	seed := flag.Uint64("seed", 1, "seed of the impairments' randomness")
	flag.Parse()
	if *nsA == "" || *nsB == "" {
		fail("lossrelay: -a and -b (two network namespaces, see ip netns add) are required")
	}
	var imp sim.Impairments
	var err error
	if imp.Loss, err = sim.ParseProbability(*loss); err != nil {
		fail("lossrelay: -loss: %v", err)
	}
	if imp.Reorder, err = sim.ParseProbability(*reorder); err != nil {
		fail("lossrelay: -reorder: %v", err)
	}
	if imp.Duplicate, err = sim.ParseProbability(*dup); err != nil {
		fail("lossrelay: -dup: %v", err)
	}
	if *rate != "" {
		if imp.Rate, err = sim.ParseRate(*rate); err != nil {
			fail("lossrelay: -rate: %v", err)
		}
		imp.QueuePackets = *queue
	}
	imp.Delay = *delay

	r, err := start(*nsA, *nsB, imp, *seed)
	if err != nil {
		fail("lossrelay: %v", err)
	}
	fmt.Fprintf(os.Stderr, "lossrelay: %s (10.98.0.1) ⇄ %s (10.98.0.2): %s\n", *nsA, *nsB, describe(imp))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	ab, ba := r.stop()
	fmt.Fprintf(os.Stderr, "lossrelay: %s→%s %+v\n", *nsA, *nsB, ab)
	fmt.Fprintf(os.Stderr, "lossrelay: %s→%s %+v\n", *nsB, *nsA, ba)
	for _, w := range []struct {
		from, to string
		m        *lossmeter.Meter
	}{{*nsA, *nsB, r.mab}, {*nsB, *nsA, r.mba}} {
		st := w.m.Stats()
		fmt.Fprintf(os.Stderr, "lossrelay: wire %s→%s: %d data segments, %d retransmitted, %d spurious, %d unmatched\n",
			w.from, w.to, st.DataSegments, st.Retransmits, st.Spurious, st.Unmatched)
	}
}

// relay is a running pair of devices and pipes.
type relay struct {
	devA, devB *tun.Device
	ab, ba     *sim.Pipe
	mab, mba   *lossmeter.Meter // the wire counts of ab and ba
}

// start opens a TUN device in each namespace (10.98.0.1/24 in nsA,
// 10.98.0.2/24 in nsB) and joins them through two pipes with imp.
func start(nsA, nsB string, imp sim.Impairments, seed uint64) (*relay, error) {
	devA, err := tun.Open(tun.Config{Name: "lrelay%d", Netns: nsA, Addr: netip.MustParsePrefix("10.98.0.1/24")})
	if err != nil {
		return nil, fmt.Errorf("device in %s: %w", nsA, err)
	}
	devB, err := tun.Open(tun.Config{Name: "lrelay%d", Netns: nsB, Addr: netip.MustParsePrefix("10.98.0.2/24")})
	if err != nil {
		devA.Close()
		return nil, fmt.Errorf("device in %s: %w", nsB, err)
	}
	root := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	newPipe := func(from, to string, deliver func(stack.Packet)) *sim.Pipe {
		return sim.NewPipeConfig(sim.PipeConfig{
			Clock:       stack.RealClock{},
			Rand:        rand.New(rand.NewPCG(root.Uint64(), root.Uint64())),
			Impairments: imp,
			Deliver:     deliver,
			Name:        from + "—" + to,
			From:        from,
			To:          to,
		})
	}
	r := &relay{devA: devA, devB: devB, mab: lossmeter.New(0), mba: lossmeter.New(0)}
	r.ab = newPipe(nsA, nsB, r.mab.Exit(devB.Send))
	r.ba = newPipe(nsB, nsA, r.mba.Exit(devA.Send))
	if err := devA.Start(r.mab.Entry(r.ab.Send)); err != nil {
		r.stop()
		return nil, err
	}
	if err := devB.Start(r.mba.Entry(r.ba.Send)); err != nil {
		r.stop()
		return nil, err
	}
	return r, nil
}

// stop closes the devices and pipes and returns each pipe's counters.
func (r *relay) stop() (ab, ba sim.Counters) {
	r.devA.Close()
	r.devB.Close()
	r.ab.Close()
	r.ba.Close()
	return r.ab.Counters(), r.ba.Counters()
}

func describe(imp sim.Impairments) string {
	return fmt.Sprintf("loss %.2g%%, reorder %.2g%% (held %v), dup %.2g%%, delay %v, rate %d bit/s",
		imp.Loss*100, imp.Reorder*100, max(imp.ReorderDelay, sim.DefaultReorderDelay), imp.Duplicate*100, imp.Delay.Round(time.Microsecond), imp.Rate)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(2)
}
