package scenario

import (
	"fmt"
	"time"

	"stacklab/sim"
	"stacklab/sim/scenario/pattern"
	"stacklab/stack"
	"stacklab/stack/wire"
)

// MaxReorderHold is the longest a "reorder … after M" fault holds its
// frame: when fewer than M matching frames follow within it (the sender
// stopped, waiting for an ACK of what is held), the frame is delivered
// anyway, so that the fault reorders and never drops.
const MaxReorderHold = time.Second

// reorderHold is one "reorder Nth … after M" fault on one direction of a
// link: the frame it holds and how many matching frames passed since.
type reorderHold struct {
	fault  int // index in Scenario.Faults
	held   []byte
	heldID uint64
	passed int
	done   bool
	timer  interface{ Stop() bool }
}

// installReorders wraps the delivery of both directions of l: each
// reorder fault counts the frames matching its pattern as they arrive at
// the far end, holds the Nth, and delivers it right after the M-th
// matching frame that follows (or after [MaxReorderHold]). Counting on
// arrival makes the order the receiver sees exactly the one the fault
// names, whatever the link's delay and rate.
func (r *runner) installReorders(l *sim.Link, faults []int) {
	na, nb := l.NICs()
	for dir, to := range []*stack.NIC{nb, na} {
		from := na
		if dir == 1 {
			from = nb
		}
		lt := from.Type()
		holds := make([]*reorderHold, len(faults))
		for i, fi := range faults {
			holds[i] = &reorderHold{fault: fi}
		}
		var sum pattern.Summary
		deliver := func(pkt stack.Packet) { r.cur(to).Deliver(pkt) } // to's host may restart
		r.reordered[l.Pipe(sim.Direction(dir))] = true
		l.Pipe(sim.Direction(dir)).SetDeliver(func(pkt stack.Packet) {
			sum = pattern.Summary{}
			r.dec.Decode(pkt.Data, lt, &sum)
			held := false
			var release []*reorderHold
			for _, h := range holds {
				f := r.sc.Faults[h.fault]
				if h.done || len(f.Pattern.Match(&sum, r.owns, nil)) > 0 {
					continue
				}
				r.faultN[h.fault]++
				switch {
				case h.held == nil && r.faultN[h.fault] == f.N && !held:
					held = true
					h.held = append([]byte(nil), pkt.Data...)
					if pkt.ChecksumPartial {
						// It arrives later without the sender's word
						// for it (ChecksumOK): finished now.
						wire.FinishTCPChecksum(h.held, lt == stack.LinkEthernet)
					}
					h.heldID = pkt.ID
					r.event(l.Name(), fmt.Sprintf("fault: %s: held until %d more pass", f.Text, f.After))
					h.timer = r.clock.AfterFunc(MaxReorderHold, func() {
						if !h.done {
							r.releaseHold(l.Name(), h, deliver, "no more frames within "+MaxReorderHold.String())
						}
					})
				case h.held != nil:
					h.passed++
					if h.passed == f.After {
						release = append(release, h)
					}
				}
			}
			if !held {
				deliver(pkt)
			}
			for _, h := range release {
				h.timer.Stop()
				r.releaseHold(l.Name(), h, deliver, fmt.Sprintf("%d more passed", faultOf(r, h).After))
			}
		})
	}
}

func faultOf(r *runner, h *reorderHold) *Fault { return r.sc.Faults[h.fault] }

// releaseHold delivers a held frame.
func (r *runner) releaseHold(link string, h *reorderHold, deliver func(stack.Packet), why string) {
	h.done = true
	r.event(link, fmt.Sprintf("fault: %s: released, %s", faultOf(r, h).Text, why))
	data := h.held
	h.held = nil
	deliver(stack.Packet{ID: h.heldID, Data: data})
}
