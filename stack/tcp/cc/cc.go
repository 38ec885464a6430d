package cc

import (
	"fmt"
	"math"
	"time"

	"stacklab/stack/tcp/seqnum"
)

// InfiniteSsthresh is the slow start threshold before the first
// congestion event: "arbitrarily high" (RFC 5681 §3.1). It fits in an
// int32, like Linux's TCP_INFINITE_SSTHRESH.
const InfiniteSsthresh = math.MaxInt32

// DefaultInitialSegments is the initial window in segments (RFC 6928 §2).
const DefaultInitialSegments = 10

// Ack describes one acknowledgment that advanced SND.UNA outside loss
// recovery. It is passed by value; building one allocates nothing.
type Ack struct {
	// Now is the time the ACK arrived, from the stack's Clock (Net.Now).
	Now time.Time
	// Acked is the number of bytes newly acknowledged by this ACK
	// (the advance of SND.UNA; a SYN or FIN counts as nothing).
	Acked int
	// RTT is the round-trip time sample this ACK gave, or 0 if it gave
	// none (Karn's algorithm, RFC 6298 §3).
	RTT time.Duration
	// Inflight is FlightSize (RFC 5681 §2) before this ACK was
	// processed: SND.NXT − SND.UNA, or the RFC 6675 pipe when SACK is in
	// use.
	Inflight int
	// Una and Nxt are SND.UNA after this ACK and SND.NXT (the highest
	// sequence number sent, plus one): HyStart (RFC 9406, or Linux's)
	// counts rounds with them. Zero values leave HyStart idle.
	Una, Nxt seqnum.Value
	// SRTT is the engine's smoothed RTT, or 0 before the first sample.
	// Linux's HyStart derives its allowance for TSO from it.
	SRTT time.Duration
	// AppLimited reports that the sender was not limited by cwnd before
	// this ACK: it had less than cwnd in flight and nothing more to send.
	// The window does not grow on such ACKs (RFC 7661, RFC 9438 §5.8 on
	// application-limited flows). When unsure, pass false.
	AppLimited bool
	// Jiffies is the stack's tcp_jiffies32 when the ACK arrived, in
	// ticks of [Config.HZ]: Linux's CUBIC ([LinuxCubic]) counts its
	// epoch in them.
	Jiffies uint32
}

// Controller is a congestion control algorithm for one connection. It
// computes the congestion window and the slow start threshold; the TCP
// engine decides when a loss happened and drives recovery.
//
// All windows are in bytes. All times are time.Time values from the
// stack's Clock; a Controller never reads a clock itself and never
// allocates after it is created. A Controller is not safe for concurrent
// use; the engine calls it with the stack's lock held.
//
// The division of work between the engine and the Controller:
//
//   - The engine counts duplicate ACKs, keeps the recovery point
//     ("recover", RFC 6582 §3.2), retransmits, and classifies each ACK
//     during recovery as duplicate, partial or full.
//   - Outside recovery, for each ACK that advances SND.UNA, the engine
//     calls OnAck. The Controller grows cwnd (slow start or congestion
//     avoidance).
//   - On the third duplicate ACK (or the RFC 6675 loss trigger), the engine
//     calls EnterRecovery with FlightSize. The Controller sets ssthresh
//     (RFC 5681 eq. 4 for NewReno, β = 0.7 for CUBIC) and cwnd = ssthresh.
//   - NewReno recovery without SACK (RFC 5681 §3.2 steps 3–4, RFC 6582):
//     right after EnterRecovery the engine calls Inflate(3·MSS), then
//     Inflate(MSS) for each further duplicate ACK. On a partial ACK it
//     calls Deflate(newly acked bytes), which removes those bytes and adds
//     back one MSS if at least one MSS was acked (RFC 6582 §3.2 step 3).
//   - SACK recovery (RFC 6675) uses pipe instead of inflation: the engine
//     calls neither Inflate nor Deflate, and sends while pipe < Cwnd().
//   - On the full ACK (SND.UNA reaches recover) the engine calls
//     ExitRecovery with the FlightSize after that ACK; cwnd becomes
//     min(ssthresh, max(FlightSize, MSS) + MSS) (RFC 6582 §3.2 step 4,
//     first option). That ACK is not also passed to OnAck, but under
//     the linux profile, as Linux's tcp_cong_control gives it to the
//     controller once the state is Open again.
//   - On a retransmission timeout the engine calls OnRTO, once per
//     timeout (also for backed-off ones); the Controller sets ssthresh
//     (on the first timeout of a series only, RFC 5681 §3.1 and eq. 4)
//     and cwnd to the loss window, one MSS. Any recovery is abandoned.
//   - Before sending after the connection was idle for longer than the
//     RTO, the engine calls OnIdle (RFC 5681 §4.1).
type Controller interface {
	// Name returns the algorithm's name as given to [New]: "newreno" or
	// "cubic".
	Name() string

	// SetMSS sets the sender maximum segment size (SMSS) in bytes. The
	// engine calls it when the MSS is known (after the handshake) and
	// when it changes (path MTU). While no ACK of data has been seen,
	// cwnd is recomputed as the initial window for the new MSS.
	SetMSS(mss int)

	// Cwnd returns the congestion window in bytes. It is at least one MSS.
	Cwnd() int

	// Ssthresh returns the slow start threshold in bytes;
	// [InfiniteSsthresh] until the first congestion event.
	Ssthresh() int

	// InSlowStart reports whether cwnd < ssthresh.
	InSlowStart() bool

	// InRecovery reports whether EnterRecovery was called and neither
	// ExitRecovery nor OnRTO has been called since.
	InRecovery() bool

	// OnAck processes an ACK that advanced SND.UNA outside recovery.
	OnAck(a Ack)

	// EnterRecovery reacts to a loss detected by duplicate ACKs or SACK
	// (fast retransmit): it reduces ssthresh and sets cwnd = ssthresh.
	// flightSize is the amount of outstanding data in bytes (RFC 5681
	// §3.2 step 2: FlightSize, not cwnd).
	EnterRecovery(now time.Time, flightSize int)

	// Inflate adds n bytes to cwnd during NewReno recovery without SACK
	// (RFC 5681 §3.2 steps 3 and 4).
	Inflate(n int)

	// Deflate processes a partial ACK during NewReno recovery without
	// SACK (RFC 6582 §3.2 step 3): cwnd -= acked, then += MSS if acked
	// >= MSS; cwnd never drops below one MSS.
	Deflate(acked int)

	// ExitRecovery ends recovery on a full ACK (RFC 6582 §3.2 step 4).
	// flightSize is the outstanding data after that ACK.
	ExitRecovery(now time.Time, flightSize int)

	// OnRTO reacts to a retransmission timeout. flightSize is the data
	// outstanding when the timer fired. The engine should also reset
	// its SACK scoreboard and duplicate ACK count.
	OnRTO(now time.Time, flightSize int)

	// OnIdle restarts the window after an idle period longer than the
	// RTO: cwnd = min(IW, cwnd) (RFC 5681 §4.1). idle is how long nothing
	// was sent.
	OnIdle(now time.Time, idle time.Duration)

	// Undo reverses the reduction of a loss episode that proved
	// spurious (RFC 3708, RFC 4015 §3; Linux's tcp_undo_cwnd_reduction):
	// cwnd = max(cwnd, priorCwnd), ssthresh = max(ssthresh,
	// priorSsthresh), and any recovery ends.
	Undo(priorCwnd, priorSsthresh int)
}

// Config tunes a controller. Its zero value, apart from MSS, means the
// RFC defaults.
type Config struct {
	// MSS is the sender maximum segment size in bytes. Values below 1
	// are treated as 536 (RFC 9293 §3.7.1 default).
	MSS int
	// InitialSegments is the initial window in segments; 0 means the
	// RFC 6928 window min(10·MSS, max(2·MSS, 14600)).
	InitialSegments int
	// PerPacket counts slow start per acknowledged segment, as Linux's
	// tcp_slow_start: cwnd grows by one SMSS for each segment an ACK
	// covers (a partial one counts whole), however many. Otherwise
	// RFC 3465 byte counting limits the growth to L = 2·SMSS per ACK.
	PerPacket bool
	// HyStart chooses how the initial slow start may end before a
	// loss: HyStart++ (RFC 9406, the zero value), Linux's classic
	// HyStart, or not at all.
	HyStart HyStartMode
	// Linux makes "cubic" Linux's tcp_cubic ([LinuxCubic]): windows in
	// packets, the cubic function in the kernel's integer arithmetic and
	// jiffies ([Ack.Jiffies], HZ); with HyStart++, which Linux has not,
	// it is [Cubic] with this rule. [NewCubic] given it stays RFC 9438's
	// arithmetic but takes one Linux rule: until the first loss (and
	// again after a timeout) the window grows at least 5 % per round
	// trip (bictcp_update's cnt of at most 20 while last_max_cwnd is 0),
	// where the RFC's cubic function, with W_max set to the window where
	// slow start ended, stays flat for seconds.
	Linux bool
	// HZ is the rate of [Ack.Jiffies], ticks per second (Linux's
	// CONFIG_HZ); 0 means 1000.
	HZ int
}

// Names lists the registered algorithms, default first.
var names = [...]string{"newreno", "cubic"}

// Names returns the names accepted by [New], the default first.
func Names() []string { return names[:] }

// New returns a controller by name ("newreno" or "cubic"; "" means
// "newreno") for a connection whose SMSS is mss bytes.
func New(name string, mss int) (Controller, error) {
	return NewConfig(name, Config{MSS: mss})
}

// NewConfig is [New] with a full [Config].
func NewConfig(name string, cfg Config) (Controller, error) {
	switch name {
	case "", "newreno", "reno":
		return NewNewReno(cfg), nil
	case "cubic":
		if cfg.Linux && cfg.HyStart != HyStartPlusPlus {
			return NewLinuxCubic(cfg), nil
		}
		return NewCubic(cfg), nil
	}
	return nil, fmt.Errorf("cc: unknown congestion control %q: use one of newreno, cubic", name)
}
