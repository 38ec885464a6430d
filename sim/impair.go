package sim

import (
	"fmt"
	"time"

	"stacklab/stack"
)

// Impairments describe what one direction of a link does to the frames it
// carries. The zero value is a perfect link: no delay, unlimited rate, no
// loss, any size.
//
// A frame sent on the link goes through these steps, in order: the link's
// up/down state, the filter (see [Pipe.SetFilter]), the MTU check, the
// transmit queue (tail drop), serialisation at Rate, loss (bursty, then
// random), a middlebox (see [Pipe.SetInspect]), propagation (Delay ±
// Jitter, plus the reordering hold), corruption and duplication. A lost frame still occupies the
// transmitter: it was sent, then lost on the wire.
type Impairments struct {
	// Delay is the one-way propagation delay.
	Delay time.Duration
	// Jitter varies each frame's delay uniformly within ±Jitter (never
	// below zero), as netem does. Frames still arrive in the order they
	// were sent unless Reorder is set: a frame never overtakes an earlier
	// one because of jitter.
	Jitter time.Duration
	// Rate is the transmit rate in bit/s; zero means unlimited. Each frame
	// takes len(frame)·8/Rate to serialise (no preamble or gap is counted),
	// so 1500 B at 100 Mbit/s take exactly 120 µs.
	Rate uint64
	// QueueBytes and QueuePackets bound the transmit queue when Rate is
	// set: a frame that would make the backlog (frames not yet fully
	// serialised, including the one on the wire) exceed either bound is
	// dropped (tail drop). When both are zero the queue holds
	// DefaultQueuePackets frames, like Linux's txqueuelen.
	QueueBytes   int
	QueuePackets int
	// Loss is the probability that a frame is lost at random.
	Loss float64
	// Burst, when its P is non-zero, adds bursty loss from a
	// Gilbert–Elliott channel.
	Burst GilbertElliott
	// Duplicate is the probability that a frame is delivered twice.
	Duplicate float64
	// Reorder is the probability that a frame is held back by
	// ReorderDelay (default DefaultReorderDelay) beyond its normal delay,
	// so that frames sent after it overtake it.
	Reorder      float64
	ReorderDelay time.Duration
	// Corrupt is the probability that one random byte past the link
	// header is flipped, so that the IP or transport checksum catches it.
	Corrupt float64
	// MTU is the largest payload past the link header; larger frames are
	// dropped. Zero means no limit.
	MTU int
	// AQM manages the transmit queue when Rate is set: CoDel or RED,
	// marking ECN-capable packets CE or dropping (see [AQM]). The zero
	// value is tail drop.
	AQM AQM
}

// Defaults for zero [Impairments] fields.
const (
	DefaultQueuePackets = 1000
	DefaultReorderDelay = time.Millisecond
)

// GilbertElliott is a two-state Markov loss model (good and bad). Before
// each frame the channel moves from good to bad with probability P and
// from bad to good with probability R; the frame is then lost with
// probability LossGood or LossBad according to the state. The zero value
// (P = 0) never leaves the good state and, with LossGood = 0, loses
// nothing. The long-run loss rate is
// (R·LossGood + P·LossBad) / (P + R).
type GilbertElliott struct {
	P, R              float64
	LossGood, LossBad float64
}

// Enabled reports whether the model can lose anything.
func (g GilbertElliott) Enabled() bool { return g.P > 0 || g.LossGood > 0 }

// MeanLoss returns the long-run loss probability of the model.
func (g GilbertElliott) MeanLoss() float64 {
	if g.P == 0 {
		return g.LossGood
	}
	if g.R == 0 {
		return g.LossBad
	}
	return (g.R*g.LossGood + g.P*g.LossBad) / (g.P + g.R)
}

// Validate reports the first field out of range, naming it.
func (imp Impairments) Validate() error {
	type dur struct {
		name string
		d    time.Duration
	}
	for _, d := range []dur{{"delay", imp.Delay}, {"jitter", imp.Jitter}, {"reorder delay", imp.ReorderDelay}} {
		if d.d < 0 {
			return fmt.Errorf("%s %v is negative; use a duration of zero or more", d.name, d.d)
		}
	}
	type prob struct {
		name string
		p    float64
	}
	for _, p := range []prob{
		{"loss", imp.Loss}, {"duplicate", imp.Duplicate}, {"reorder", imp.Reorder}, {"corrupt", imp.Corrupt},
		{"burst p", imp.Burst.P}, {"burst r", imp.Burst.R},
		{"burst loss in good state", imp.Burst.LossGood}, {"burst loss in bad state", imp.Burst.LossBad},
	} {
		if !(p.p >= 0 && p.p <= 1) { // also catches NaN
			return fmt.Errorf("%s %v is not a probability; use a value from 0 to 1 (or a percentage like 2%%)", p.name, p.p)
		}
	}
	if imp.QueueBytes < 0 || imp.QueuePackets < 0 {
		return fmt.Errorf("queue limit is negative; use zero (the default of %d packets) or more", DefaultQueuePackets)
	}
	if err := imp.AQM.validate(); err != nil {
		return err
	}
	if imp.MTU < 0 {
		return fmt.Errorf("mtu %d is negative; use zero (no limit) or more", imp.MTU)
	}
	return nil
}

// Filter decides the fate of one frame on a link, for targeted faults
// ("drop the 2nd data segment"). pkt.Data is valid only during the call
// and must not be modified.
type Filter func(pkt stack.Packet) Verdict

// Action is what a [Filter] tells the link to do with a frame.
type Action uint8

const (
	// ActPass lets the frame through to the normal impairments.
	ActPass Action = iota
	// ActDrop drops the frame.
	ActDrop
	// ActDelay holds the frame back by Verdict.Delay beyond its normal
	// delay; later frames may overtake it.
	ActDelay
	// ActCorrupt flips the byte at Verdict.Offset.
	ActCorrupt
	// ActDuplicate delivers the frame twice.
	ActDuplicate
)

var actionNames = [...]string{"pass", "drop", "delay", "corrupt", "duplicate"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "unknown"
}

// Verdict is a [Filter]'s decision about one frame. The zero value is
// [Pass].
type Verdict struct {
	Action Action
	// Delay is the extra hold for ActDelay.
	Delay time.Duration
	// Offset is the byte to corrupt for ActCorrupt, counted from the start
	// of the frame (the link header, on Ethernet). A negative offset, or
	// one past the end, means a random byte past the link header.
	Offset int
}

// Verdicts for a [Filter] to return.
var (
	Pass      = Verdict{}
	Drop      = Verdict{Action: ActDrop}
	Duplicate = Verdict{Action: ActDuplicate}
)

// Delay returns a verdict that holds a frame back by d.
func Delay(d time.Duration) Verdict { return Verdict{Action: ActDelay, Delay: d} }

// Corrupt returns a verdict that flips the frame's byte at offset (see
// [Verdict.Offset]).
func Corrupt(offset int) Verdict { return Verdict{Action: ActCorrupt, Offset: offset} }

// Counters count what one direction of a link did. Every frame sent is
// counted once in Sent, and every copy made of it once in Duplicated; each
// of those frames and copies is then counted once, in Delivered or in one
// Drop counter (a copy in flight when the link goes down is a DropDown).
// So, with nothing in flight, Sent + Duplicated = Delivered + Dropped().
type Counters struct {
	Sent, SentBytes           uint64
	Delivered, DeliveredBytes uint64
	DropDown                  uint64 // link down
	DropFilter                uint64 // a filter's Drop verdict
	DropMiddlebox             uint64 // rejected by a middlebox
	DropMTU                   uint64 // larger than MTU
	DropQueue                 uint64 // transmit queue full
	DropBurst                 uint64 // Gilbert–Elliott loss
	DropLoss                  uint64 // random loss
	DropAQM                   uint64 // dropped by the AQM (CoDel, RED): not ECN-capable
	MarkedCE                  uint64 // marked Congestion Experienced by the AQM
	Duplicated                uint64
	Corrupted                 uint64
	Reordered                 uint64 // held back by Reorder
	Delayed                   uint64 // held back by a filter
}

// Dropped returns the total of the drop counters.
func (c Counters) Dropped() uint64 {
	return c.DropDown + c.DropFilter + c.DropMiddlebox + c.DropMTU + c.DropQueue + c.DropBurst + c.DropLoss + c.DropAQM
}

// Add adds o to c, for totals over both directions.
func (c *Counters) Add(o Counters) {
	c.Sent += o.Sent
	c.SentBytes += o.SentBytes
	c.Delivered += o.Delivered
	c.DeliveredBytes += o.DeliveredBytes
	c.DropDown += o.DropDown
	c.DropFilter += o.DropFilter
	c.DropMiddlebox += o.DropMiddlebox
	c.DropMTU += o.DropMTU
	c.DropQueue += o.DropQueue
	c.DropBurst += o.DropBurst
	c.DropLoss += o.DropLoss
	c.DropAQM += o.DropAQM
	c.MarkedCE += o.MarkedCE
	c.Duplicated += o.Duplicated
	c.Corrupted += o.Corrupted
	c.Reordered += o.Reordered
	c.Delayed += o.Delayed
}
