package linktest

import (
	"fmt"
	"sync"
	"sync/atomic"

	"stacklab/stack"
)

// QueueLen is the number of frames a direction holds before [End.Send]
// drops (a full transmit ring). Send never blocks: it is called with the
// sending stack's lock held, and blocking there could deadlock two stacks
// sending to each other.
const QueueLen = 1024

// The queue's watermarks: [End.TxFull] reports full from high frames
// (all but a sixteenth, at most 64: room for ACKs and retransmissions,
// which do not wait), and the stack is told there is room again once the
// queue is down to half.
func watermarks(n int) (high, low int) {
	return n - min(n/16, 64), n / 2
}

// End is one end of a [Pipe]. It implements stack.Link: frames sent on
// one end are delivered, in order, to the function attached to the other.
type End struct {
	p    *pipe
	out  *direction // frames this end sends
	in   *direction // frames this end receives
	name string
}

type pipe struct {
	done   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
	closed atomic.Bool
}

type direction struct {
	ch      chan frame
	free    chan []byte
	deliver atomic.Pointer[func(stack.Packet)]
	sent    atomic.Uint64
	dropped atomic.Uint64

	high, low int                    // TxFull's watermarks
	ready     atomic.Pointer[func()] // the sender's stack.QueueLink callback
	wantReady atomic.Bool            // TxFull said full; call ready at low
	fulls     atomic.Uint64          // times TxFull said full
}

type frame struct {
	id  uint64
	buf []byte
	// The sender's Packet.ChecksumOK and ChecksumPartial: the pipe
	// changes nothing.
	csumOK, partial bool
}

// Pipe returns two connected ends. Attach each end to what receives its
// frames (a NIC's Deliver) with [End.Attach], and Close either end when
// done.
func Pipe() (a, b *End) { return PipeLen(QueueLen) }

// PipeLen is [Pipe] with queues of n frames each way (at least 16)
// instead of [QueueLen].
func PipeLen(n int) (a, b *End) {
	n = max(n, 16)
	p := &pipe{done: make(chan struct{})}
	ab := newDirection(n)
	ba := newDirection(n)
	a = &End{p: p, out: ab, in: ba, name: "a"}
	b = &End{p: p, out: ba, in: ab, name: "b"}
	p.wg.Add(2)
	go p.run(ab)
	go p.run(ba)
	return a, b
}

func newDirection(n int) *direction {
	d := &direction{ch: make(chan frame, n), free: make(chan []byte, n)}
	d.high, d.low = watermarks(n)
	return d
}

// run delivers one direction's frames until the pipe closes.
func (p *pipe) run(d *direction) {
	defer p.wg.Done()
	for {
		select {
		case <-p.done:
			return
		case f := <-d.ch:
			if p.closed.Load() {
				d.dropped.Add(1) // closing: what is still queued is dropped
				continue
			}
			if fn := d.deliver.Load(); fn != nil {
				(*fn)(stack.Packet{ID: f.id, Data: f.buf, ChecksumOK: f.csumOK, ChecksumPartial: f.partial})
			} else {
				d.dropped.Add(1)
			}
			clear(f.buf)
			select {
			case d.free <- f.buf[:0]:
			default:
			}
			if d.wantReady.Load() && len(d.ch) <= d.low && d.wantReady.CompareAndSwap(true, false) {
				if fn := d.ready.Load(); fn != nil {
					// On its own goroutine, so that this one goes on
					// delivering while the sender fills the queue again.
					p.wg.Add(1)
					go func() {
						defer p.wg.Done()
						if !p.closed.Load() {
							(*fn)()
						}
					}()
				}
			}
		}
	}
}

// Attach sets the function that receives the frames arriving at this end,
// typically the Deliver method of the NIC the end is attached to. Frames
// that arrive before Attach are dropped. deliver runs on the pipe's
// goroutine and must not retain pkt.Data.
func (e *End) Attach(deliver func(pkt stack.Packet)) {
	e.in.deliver.Store(&deliver)
}

// CarriesPartialChecksums implements stack.PartialChecksumLink: the
// pipe carries a frame whose TCP checksum the sender left to the link
// unchanged to a stack that trusts it, as veth does.
func (e *End) CarriesPartialChecksums() bool { return true }

// Send queues a copy of pkt for the other end. It never blocks and never
// delivers synchronously; it drops the frame if the queue is full or the
// pipe is closed.
func (e *End) Send(pkt stack.Packet) {
	d := e.out
	if e.p.closed.Load() {
		d.dropped.Add(1)
		return
	}
	var buf []byte
	select {
	case buf = <-d.free:
	default:
	}
	if cap(buf) < len(pkt.Data) {
		buf = make([]byte, 0, max(len(pkt.Data), 2048))
	}
	buf = append(buf[:0], pkt.Data...)
	select {
	case d.ch <- frame{id: pkt.ID, buf: buf, csumOK: pkt.ChecksumOK, partial: pkt.ChecksumPartial}:
		d.sent.Add(1)
	default:
		d.dropped.Add(1)
	}
}

// TxFull implements stack.QueueLink: it reports whether the queue this
// end sends into is nearly full (all but the last 64 frames of
// [QueueLen], which ACKs and retransmissions may still take), and if so arranges for the
// function given to SetTxReady to run once the queue is down to half.
func (e *End) TxFull() bool {
	d := e.out
	if len(d.ch) < d.high {
		return false
	}
	d.wantReady.Store(true)
	d.fulls.Add(1)
	return true
}

// SetTxReady implements stack.QueueLink: f runs on a goroutine of the
// pipe's when the queue TxFull reported full has room again (never after
// Close has returned).
func (e *End) SetTxReady(f func()) { e.out.ready.Store(&f) }

// Fulls returns the number of times TxFull reported this end's queue
// full: the sender held data back instead of the link dropping it.
func (e *End) Fulls() uint64 { return e.out.fulls.Load() }

// Close stops both directions' goroutines and waits for them to return.
// Frames still queued are discarded and counted in [End.Dropped], so that
// Sent adds up to the frames delivered plus Dropped. Close is idempotent
// and may be called on either end.
func (e *End) Close() error {
	e.p.once.Do(func() {
		e.p.closed.Store(true)
		close(e.p.done)
	})
	e.p.wg.Wait()
	for _, d := range []*direction{e.out, e.in} {
		d.drain()
	}
	return nil
}

// drain counts the frames left in d's queue as dropped.
func (d *direction) drain() {
	for {
		select {
		case <-d.ch:
			d.dropped.Add(1)
		default:
			return
		}
	}
}

// Sent returns the number of frames this end has queued for the other.
func (e *End) Sent() uint64 { return e.out.sent.Load() }

// Dropped returns the number of frames sent from this end that were
// dropped (queue full, pipe closed, or nothing attached at the other end).
func (e *End) Dropped() uint64 { return e.out.dropped.Load() }

// String names the end ("a" or "b").
func (e *End) String() string { return "linktest end " + e.name }

// Connect adds an interface to each stack, joined by a new [Pipe], and
// returns the pipe's closer. Use stacks on a real-time clock.
func Connect(a *stack.Stack, aCfg stack.NICConfig, b *stack.Stack, bCfg stack.NICConfig) (closer func() error, err error) {
	ea, eb := Pipe()
	na, err := a.AddNIC(aCfg, ea)
	if err != nil {
		ea.Close()
		return nil, fmt.Errorf("linktest: %w", err)
	}
	nb, err := b.AddNIC(bCfg, eb)
	if err != nil {
		ea.Close()
		return nil, fmt.Errorf("linktest: %w", err)
	}
	ea.Attach(na.Deliver)
	eb.Attach(nb.Deliver)
	return ea.Close, nil
}
