package core

import (
	"net/netip"
	"time"
)

// EventKind classifies an [Event].
type EventKind uint8

const (
	// EventCall is a socket call and its result: Name is the call
	// ("connect"), Detail its arguments and result ("3, 10.0.0.2:80 → blocks").
	EventCall EventKind = iota + 1
	// EventState is a TCP state transition From → To.
	EventState
	// EventTimer is a timer firing: Name is the timer ("rto", "delack",
	// "keepalive", "time-wait", "persist"), Detail what it did.
	EventTimer
	// EventRetransmit is a retransmission: Detail gives the reason
	// ("rto, backoff 2", "3 dup ACKs → fast retransmit, cwnd 10 → 5").
	EventRetransmit
	// EventDrop is a packet dropped by the stack (or a link, in the
	// simulator): Name is the counter, Detail the reason; PacketID names
	// the packet.
	EventDrop
	// EventCongestion is a change in the congestion state (cwnd, ssthresh).
	EventCongestion
	// EventNote is anything else worth showing.
	EventNote
	// EventSeries is a new value of a TCP connection's variables: Vars
	// holds all of them after the change. Emitted only when one changed.
	EventSeries
)

var eventKindNames = [...]string{"", "call", "state", "timer", "retransmit", "drop", "congestion", "note", "series"}

func (k EventKind) String() string {
	if int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return "unknown"
}

// Tuple names a connection by its four addresses, from the local side.
// It is comparable and used as a map key.
type Tuple struct {
	Local, Remote netip.AddrPort
}

// Event is one observation the stack reports to its [Observer]: what the
// trace shows beside the packets to explain why each was sent.
type Event struct {
	Time     time.Time
	Host     string // the stack's name
	Kind     EventKind
	FD       int    // the socket's descriptor, or -1
	Proto    string // "tcp", "udp", "icmp", "ip", "arp" or ""
	Conn     Tuple  // zero when not about one connection
	From, To string // states, for EventState
	Name     string
	Detail   string
	PacketID uint64 // the packet concerned, or 0
	// Vars, for EventSeries, is the connection's variables after the
	// change; it is valid only during Observe.
	Vars *TCPVars
}

// TCPVars are one TCP connection's congestion, RTT and window variables
// at one instant, in bytes and durations: the time series of
// EventSeries.
type TCPVars struct {
	Cwnd     int // congestion window, bytes
	Ssthresh int // slow-start threshold, bytes; -1 while unset (infinite)
	SRTT     time.Duration
	RTTVar   time.Duration
	RTO      time.Duration
	InFlight int // bytes sent and not yet acknowledged (RFC 6675 pipe when SACK recovery runs)
	RcvWnd   int // receive window this end advertises, bytes
	SndWnd   int // the peer's advertised window, scaled, bytes
	// CAState is the congestion state, as Linux names them: "open",
	// "disorder" (duplicate ACKs, no recovery yet), "recovery" (fast
	// recovery), "loss" (after a retransmission timeout).
	CAState string
}

// Observer receives the stack's events. Observe runs with the stack's lock
// held, must not retain ev, and must not call back into the stack.
//
// With no Observer installed the cost is one nil check per event site;
// stack code builds the Detail strings only when an Observer is present.
type Observer interface {
	Observe(ev *Event)
}

// SeriesFilter is implemented by an [Observer] that may not use
// EventSeries (a text trace or a capture alone does not): a stack asks
// it once, when it is made, and with false computes and reports no
// series, which a bulk transfer would otherwise pay for on every ACK. An
// Observer that does not implement it gets every event.
type SeriesFilter interface {
	WantsSeries() bool
}

// WantsSeries reports whether obs takes EventSeries: false for nil and
// for a [SeriesFilter] that says no.
func WantsSeries(obs Observer) bool {
	if obs == nil {
		return false
	}
	if f, ok := obs.(SeriesFilter); ok {
		return f.WantsSeries()
	}
	return true
}
