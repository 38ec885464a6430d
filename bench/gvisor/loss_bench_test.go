package gvisor

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// The loss-recovery path, as stacklab's internal/perf
// BenchmarkLossRecovery: 100 Mbit/s, 25 ms each way, 1000-frame queue,
// random loss, 5 % of frames held back 1 ms; 16 MiB client → server.
const (
	lossSize     = 16 << 20
	lossRate     = 100_000_000 // bits per second
	lossDelay    = 25 * time.Millisecond
	lossReorder  = 0.05
	lossHold     = time.Millisecond
	lossQueue    = 1000
	lossEthernet = 14 // the frame header stacklab's links count in the rate
)

// impairedLink moves packets from one channel endpoint to another in
// real time with stacklab's sim.Pipe model: a transmit queue of
// lossQueue frames drained at lossRate, then random loss, then lossDelay
// of propagation (plus lossHold for reordered frames).
type impairedLink struct {
	loss float64
	rng  *rand.Rand

	mu        sync.Mutex
	busyUntil time.Time
	normal    []timed // arrival times increase
	held      []timed // arrival times increase
	wake      chan struct{}
}

type timed struct {
	at time.Time
	v  *buffer.View
}

func (l *impairedLink) send(v *buffer.View) {
	now := time.Now()
	tx := time.Duration(float64((v.Size()+lossEthernet)*8) / lossRate * float64(time.Second))
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.busyUntil.Before(now) {
		l.busyUntil = now
	}
	if queued := l.busyUntil.Sub(now) / tx; queued >= lossQueue {
		v.Release() // queue full
		return
	}
	l.busyUntil = l.busyUntil.Add(tx)
	if l.rng.Float64() < l.loss {
		v.Release()
		return
	}
	at := l.busyUntil.Add(lossDelay)
	if l.rng.Float64() < lossReorder {
		l.held = append(l.held, timed{at.Add(lossHold), v})
	} else {
		l.normal = append(l.normal, timed{at, v})
	}
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// next removes and returns the earliest packet due by now, or the time
// the earliest is due (zero if none is waiting).
func (l *impairedLink) next(now time.Time) (*buffer.View, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	q := &l.normal
	if len(l.held) > 0 && (len(l.normal) == 0 || l.held[0].at.Before(l.normal[0].at)) {
		q = &l.held
	}
	if len(*q) == 0 {
		return nil, time.Time{}
	}
	if t := (*q)[0]; !t.at.After(now) {
		*q = (*q)[1:]
		return t.v, time.Time{}
	}
	return nil, (*q)[0].at
}

// run delivers packets into to as they fall due, until ctx ends.
func (l *impairedLink) run(ctx context.Context, to *channel.Endpoint) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		v, due := l.next(time.Now())
		if v != nil {
			in := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithView(v)})
			to.InjectInbound(ipv4.ProtocolNumber, in)
			in.DecRef()
			continue
		}
		wait := time.Hour
		if !due.IsZero() {
			wait = time.Until(due)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
		case <-timer.C:
		}
	}
}

// newLossNet is newGNet with an impairedLink in each direction and
// CUBIC (gVisor's default is Reno; Linux's and stacklab's is CUBIC).
func newLossNet(tb testing.TB, loss float64, seed uint64) *gnet {
	tb.Helper()
	n := &gnet{cep: channel.New(1024, 1500, ""), sep: channel.New(1024, 1500, "")}
	n.client = newStack(tb, clientAddr, n.cep)
	n.server = newStack(tb, serverAddr, n.sep)
	for _, s := range []*stack.Stack{n.client, n.server} {
		cc := tcpip.CongestionControlOption("cubic")
		if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, &cc); err != nil {
			tb.Fatalf("gvisor: cubic: %v", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	for i, dir := range [][2]*channel.Endpoint{{n.cep, n.sep}, {n.sep, n.cep}} {
		l := &impairedLink{loss: loss, rng: rand.New(rand.NewPCG(seed+uint64(i), 7)), wake: make(chan struct{}, 1)}
		from, to := dir[0], dir[1]
		n.wg.Add(2)
		go func() {
			defer n.wg.Done()
			l.run(ctx, to)
		}()
		go func() {
			defer n.wg.Done()
			for {
				pkt := from.ReadContext(ctx)
				if pkt == nil {
					return
				}
				v := pkt.ToView()
				pkt.DecRef()
				l.send(v)
			}
		}()
	}
	tb.Cleanup(n.close)
	return n
}

// BenchmarkLossRecovery moves 16 MiB over the impaired path in real time
// and reports goodput ("MB/s", connect to last byte read), the sender's
// retransmitted segments, retransmission timeouts and spurious
// recoveries (gVisor's SpuriousRecovery + SpuriousRTORecovery, found by
// D-SACK or timestamps). Run it with -benchtime 1x: each run takes as
// long as the transfer (tens of seconds at 1 % loss).
func BenchmarkLossRecovery(b *testing.B) {
	for _, loss := range []float64{0.01, 0.03} {
		b.Run(fmt.Sprintf("loss=%g%%", loss*100), func(b *testing.B) {
			var mbs, retrans, rtos, spurious float64
			for i := range b.N {
				n := newLossNet(b, loss, uint64(i))
				ln := n.listen(b, 5001)
				start := time.Now()
				c, s := n.dial(b, ln, 5001)
				errc := make(chan error, 1)
				go func() {
					buf := make([]byte, chunk)
					for sent := 0; sent < lossSize; sent += chunk {
						if _, err := c.Write(buf); err != nil {
							errc <- err
							return
						}
					}
					errc <- nil
				}()
				got, err := io.CopyN(io.Discard, s, lossSize)
				if err != nil || got != lossSize {
					b.Fatalf("gvisor: read %d of %d: %v", got, lossSize, err)
				}
				secs := time.Since(start).Seconds()
				if err := <-errc; err != nil {
					b.Fatalf("gvisor: write: %v", err)
				}
				st := n.client.Stats().TCP
				mbs += float64(lossSize) / secs / 1e6
				retrans += float64(st.Retransmits.Value())
				rtos += float64(st.Timeouts.Value())
				spurious += float64(st.SpuriousRecovery.Value() + st.SpuriousRTORecovery.Value())
				closeAll(c, s, ln)
			}
			k := float64(b.N)
			b.ReportMetric(mbs/k, "MB/s")
			b.ReportMetric(retrans/k, "retrans")
			b.ReportMetric(rtos/k, "rtos")
			b.ReportMetric(spurious/k, "spurious")
		})
	}
}

func closeAll(cs ...interface{ Close() error }) {
	for _, c := range cs {
		c.Close()
	}
}
