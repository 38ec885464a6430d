package cc

import (
	"time"

	"stacklab/stack/tcp/seqnum"
)

// HyStart++ (RFC 9406) constants, the RFC's recommended values.
const (
	hsMinRTTThresh  = 4 * time.Millisecond
	hsMaxRTTThresh  = 16 * time.Millisecond
	hsMinRTTDivisor = 8
	hsNRTTSample    = 8
	hsCSSGrowthDiv  = 4
	hsCSSRounds     = 5
	hsInfiniteRTT   = time.Duration(1<<63 - 1)
)

// HyStartPhase is where HyStart++ stands in the initial slow start.
type HyStartPhase uint8

// The phases of RFC 9406 §4.
const (
	// HyStartSlowStart is standard slow start, watching the round's
	// minimum RTT.
	HyStartSlowStart HyStartPhase = iota
	// HyStartCSS is Conservative Slow Start: growth divided by 4 while
	// the RTT stays raised, for at most 5 rounds.
	HyStartCSS
	// HyStartDone means the initial slow start is over (CSS ended it, or
	// a loss did), or HyStart++ is off.
	HyStartDone
)

// HyStartMode chooses the slow-start exit a controller runs in its
// initial slow start. The zero value is HyStart++, the RFC's.
type HyStartMode uint8

// The modes.
const (
	// HyStartPlusPlus is HyStart++ (RFC 9406): a rise of the round's
	// minimum RTT leads to Conservative Slow Start, which ends slow
	// start after five rounds.
	HyStartPlusPlus HyStartMode = iota
	// HyStartClassic is the HyStart of Linux's CUBIC (tcp_cubic.c,
	// hystart=1, hystart_detect=3): slow start ends at once, ssthresh =
	// cwnd, when a round's train of closely spaced ACKs lasts longer
	// than half the minimum RTT, or when the round's minimum RTT (over
	// at least eight samples) exceeds the connection's minimum by
	// clamp(minimum/8, 4 ms, 16 ms). It runs only while cwnd is at least
	// 16 segments, and again in the slow start after a timeout.
	HyStartClassic
	// HyStartOff runs slow start until the first loss.
	HyStartOff
)

// HyStartExit says what ended slow start.
type HyStartExit uint8

// The exits.
const (
	HyStartNoExit  HyStartExit = iota
	HyStartCSSExit             // HyStart++: CSS_ROUNDS of Conservative Slow Start
	HyStartTrain               // classic: the ACK train
	HyStartDelay               // classic: the round's RTT rose
)

// HyStartState describes HyStart for the trace. Transitions counts
// changes of Phase, so that the engine can report each.
type HyStartState struct {
	Mode                         HyStartMode
	Phase                        HyStartPhase
	Transitions                  int
	LastRoundMinRTT, RoundMinRTT time.Duration
	Threshold, Baseline          time.Duration
	CSSRounds                    int

	// Exit is what ended the last slow start HyStart ended (classic
	// mode, and HyStart++ after CSS). For a classic exit, Cwnd is the
	// window it ended at; Train and TrainLimit the ACK train's length
	// and the limit it passed (HyStartTrain); DelayMin the connection's
	// minimum RTT and RoundMinRTT, Threshold the round's minimum and the
	// allowance it passed (HyStartDelay).
	Exit              HyStartExit
	Cwnd              int
	Train, TrainLimit time.Duration
	DelayMin          time.Duration
}

// HyStarter is implemented by controllers that run HyStart++ (both
// built-in ones); the engine reads it for the trace.
type HyStarter interface {
	HyStart() HyStartState
}

// hystart is RFC 9406's state, or classic HyStart's; it is part of
// base.
type hystart struct {
	st        HyStartState
	windowEnd seqnum.Value
	started   bool
	samples   int
	div       int // growth divisor for this ACK: 1, or 4 in CSS

	// classic HyStart (tcp_cubic's bictcp fields of the same names)
	roundStart, lastAck time.Time
	delayMin            time.Duration // 0: no sample yet
	// caEpoch is when CUBIC's current congestion-avoidance epoch began
	// (tcp_cubic's epoch_start), zero outside one; CUBIC sets it before
	// each ACK.
	caEpoch time.Time
}

// hsPauseAfterEpoch is how long classic HyStart ignores RTT samples once
// a congestion-avoidance epoch began: tcp_cubic's cubictcp_acked
// discards delay samples for HZ (1 s) after epoch_start ("right after
// fast recovery"), so neither delay_min nor the delay test sees them.
const hsPauseAfterEpoch = time.Second

// HyStart implements [HyStarter].
func (b *base) HyStart() HyStartState { return b.hs.st }

func (b *base) hsInit(mode HyStartMode) {
	b.hs = hystart{div: 1}
	b.hs.st.Mode = mode
	b.hs.st.LastRoundMinRTT, b.hs.st.RoundMinRTT, b.hs.st.Baseline = hsInfiniteRTT, hsInfiniteRTT, hsInfiniteRTT
	if mode == HyStartOff {
		b.hs.st.Phase = HyStartDone
	}
}

// hsEnd ends HyStart++ for good: a loss or timeout set ssthresh, so
// later slow starts are standard (RFC 9406 §4.3). Classic HyStart goes
// on: Linux's CUBIC keeps watching any slow start it has not ended
// itself.
func (b *base) hsEnd() {
	if b.hs.st.Mode == HyStartClassic {
		return
	}
	if b.hs.st.Phase != HyStartDone {
		b.hs.st.Phase = HyStartDone
		b.hs.st.Transitions++
	}
	b.hs.div = 1
}

// hsRestart is classic HyStart after a retransmission timeout: as
// tcp_cubic's reset on entering the Loss state, it forgets the minimum
// RTT and whether it ended a slow start, and watches the slow start
// that follows.
func (b *base) hsRestart() {
	if b.hs.st.Mode != HyStartClassic {
		return
	}
	h := &b.hs
	h.delayMin = 0
	h.started = false
	if h.st.Phase == HyStartDone {
		h.st.Phase = HyStartSlowStart
		h.st.Transitions++
	}
}

// Classic HyStart's constants (tcp_cubic.c's module parameters and
// defines).
const (
	hsLowWindow     = 16                    // hystart_low_window, segments
	hsAckDelta      = 2 * time.Millisecond  // hystart_ack_delta_us
	hsDelayMin      = 4 * time.Millisecond  // HYSTART_DELAY_MIN
	hsDelayMax      = 16 * time.Millisecond // HYSTART_DELAY_MAX
	hsMinSamples    = 8                     // HYSTART_MIN_SAMPLES
	hsGSOMaxSize    = 65536                 // a device's default gso_max_size, bytes
	hsAckDelayLimit = 1 * time.Millisecond  // hystart_ack_delay's cap
	hsPacingSSRatio = 2                     // tcp_pacing_ss_ratio, 200 %
)

// hsAckDelay is tcp_cubic's hystart_ack_delay: an allowance for the
// time TSO and GRO hold packets, 4·gso_max_size at the pacing rate
// (twice cwnd per SRTT in slow start, tcp_update_pacing_rate), at most
// 1 ms. stacklab sends no super-packets, but its train limit is
// Linux's.
func (b *base) hsAckDelay(srtt time.Duration) time.Duration {
	if srtt <= 0 {
		return 0
	}
	rate := float64(hsPacingSSRatio*b.cwnd) / srtt.Seconds() // bytes per second
	if rate <= 0 {
		return 0
	}
	d := time.Duration(4 * hsGSOMaxSize / rate * float64(time.Second))
	return min(d, hsAckDelayLimit)
}

// hsClassic runs classic HyStart for one ACK that carried an RTT
// sample (tcp_cubic's cubictcp_acked and hystart_update).
func (b *base) hsClassic(a Ack) {
	h := &b.hs
	if a.RTT <= 0 || a.Nxt == 0 && a.Una == 0 {
		return
	}
	if !h.caEpoch.IsZero() && a.Now.Sub(h.caEpoch) < hsPauseAfterEpoch {
		return
	}
	delay := a.RTT
	if h.delayMin == 0 || delay < h.delayMin {
		h.delayMin = delay
	}
	if h.st.Phase == HyStartDone || b.cwnd >= b.ssthresh {
		return
	}
	// A new round once the ACK passes the SND.NXT of the last start.
	if !h.started || h.windowEnd.LessThan(a.Una) {
		h.started = true
		h.roundStart, h.lastAck = a.Now, a.Now
		h.windowEnd = a.Nxt
		h.st.RoundMinRTT = hsInfiniteRTT
		h.samples = 0
	}
	if b.cwnd < hsLowWindow*b.mss {
		return
	}
	// The ACK train: ACKs no more than 2 ms apart, from the round's
	// first, for longer than half the minimum RTT (with the TSO
	// allowance) mean the window already covers the path.
	if a.Now.Sub(h.lastAck) <= hsAckDelta {
		h.lastAck = a.Now
		limit := (h.delayMin + b.hsAckDelay(a.SRTT)) / 2
		if train := a.Now.Sub(h.roundStart); train > limit {
			h.st.Train, h.st.TrainLimit = train, limit
			b.hsFound(HyStartTrain)
			return
		}
	}
	// The delay: the round's minimum over at least eight samples
	// above the connection's by clamp(min/8, 4 ms, 16 ms).
	h.st.RoundMinRTT = min(h.st.RoundMinRTT, delay)
	if h.samples < hsMinSamples {
		h.samples++
		return
	}
	thresh := min(max(h.delayMin/8, hsDelayMin), hsDelayMax)
	if h.st.RoundMinRTT > h.delayMin+thresh {
		h.st.Threshold = thresh
		b.hsFound(HyStartDelay)
	}
}

// hsFound ends slow start where it is: ssthresh = cwnd.
func (b *base) hsFound(why HyStartExit) {
	h := &b.hs
	h.st.Exit, h.st.Cwnd, h.st.DelayMin = why, b.cwnd, h.delayMin
	h.st.Phase = HyStartDone
	h.st.Transitions++
	b.ssthresh = b.cwnd
}

// hsAck runs RFC 9406 §4.2 (or classic HyStart) for one ACK in the
// initial slow start and sets the growth divisor for it.
func (b *base) hsAck(a Ack) {
	h := &b.hs
	h.div = 1
	if h.st.Mode == HyStartClassic {
		b.hsClassic(a)
		return
	}
	if h.st.Phase == HyStartDone || b.ssthresh != InfiniteSsthresh || a.Nxt == 0 && a.Una == 0 {
		return
	}
	// A round ends when the ACK passes the SND.NXT noted at its start.
	if !h.started || h.windowEnd.LessThanEq(a.Una) {
		h.started = true
		h.windowEnd = a.Nxt
		h.st.LastRoundMinRTT = h.st.RoundMinRTT
		h.st.RoundMinRTT = hsInfiniteRTT
		h.samples = 0
		if h.st.Phase == HyStartCSS {
			h.st.CSSRounds++
			if h.st.CSSRounds >= hsCSSRounds {
				// CSS lasted CSS_ROUNDS: leave slow start.
				b.ssthresh = b.cwnd
				h.st.Exit, h.st.Cwnd = HyStartCSSExit, b.cwnd
				b.hsEnd()
				return
			}
		}
	}
	if a.RTT > 0 {
		h.st.RoundMinRTT = min(h.st.RoundMinRTT, a.RTT)
		h.samples++
	}
	switch h.st.Phase {
	case HyStartSlowStart:
		if h.samples >= hsNRTTSample && h.st.RoundMinRTT != hsInfiniteRTT && h.st.LastRoundMinRTT != hsInfiniteRTT {
			thresh := min(max(h.st.LastRoundMinRTT/hsMinRTTDivisor, hsMinRTTThresh), hsMaxRTTThresh)
			if h.st.RoundMinRTT >= h.st.LastRoundMinRTT+thresh {
				h.st.Threshold = thresh
				h.st.Baseline = h.st.RoundMinRTT
				h.st.CSSRounds = 0
				h.st.Phase = HyStartCSS
				h.st.Transitions++
			}
		}
	case HyStartCSS:
		if h.samples >= hsNRTTSample && h.st.RoundMinRTT < h.st.Baseline {
			// The RTT fell back: the rise was not the queue filling.
			h.st.Baseline = hsInfiniteRTT
			h.st.Phase = HyStartSlowStart
			h.st.Transitions++
		}
	}
	if h.st.Phase == HyStartCSS {
		h.div = hsCSSGrowthDiv
	}
}
