package tcp

import (
	"math/rand/v2"
	"net/netip"
	"time"

	"stacklab/stack/core"
)

// Net is what TCP needs from the layer beneath. All calls happen with the
// stack's lock held.
type Net interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc schedules f after d. The stack wraps f so that it runs
	// with the stack's lock held.
	AfterFunc(d time.Duration, f func()) core.Timer
	// Rand is the stack's seeded random source: ISN secret, ephemeral
	// ports, timestamp offsets.
	Rand() *rand.Rand
	// Route returns the local address and path MTU used to reach remote,
	// or syscall.ENETUNREACH if there is no route.
	Route(remote netip.Addr) (local netip.Addr, mtu int, err error)
	// IsLocal reports whether addr is one of the stack's addresses.
	IsLocal(addr netip.Addr) bool
	// Output sends one complete TCP segment (header, options and payload,
	// checksum set) from local to remote. seg is valid only during the
	// call. why says what caused the segment, for the capture comment.
	Output(local, remote netip.Addr, seg []byte, why string)
	// Observe reports an event; the stack fills Time and Host if zero.
	Observe(ev *core.Event)
	// Tracing reports whether anyone listens to Observe. The engine
	// builds Detail strings only when it is true.
	Tracing() bool
	// Series reports whether the listener takes EventSeries (see
	// core.SeriesFilter); the engine computes them only when it is true.
	Series() bool
}

// TimeWaitReuse is a setting of Linux's tcp_tw_reuse (see
// Config.TimeWaitReuse).
type TimeWaitReuse uint8

const (
	// TimeWaitReuseLoopback is Linux's default (tcp_tw_reuse 2): a
	// connect reuses a TIME_WAIT 4-tuple only to or from a loopback
	// address.
	TimeWaitReuseLoopback TimeWaitReuse = iota
	// TimeWaitReuseOff is tcp_tw_reuse 0.
	TimeWaitReuseOff
	// TimeWaitReuseOn is tcp_tw_reuse 1.
	TimeWaitReuseOn
)

// Config holds the stack-wide TCP defaults. It mirrors stack.TCPOptions;
// zero fields take the defaults noted beside them.
type Config struct {
	MSL            time.Duration // default 30s; TIME_WAIT lasts 2·MSL
	Profile        string        // "linux" (default) or "rfc": see [ProfileLinux]
	SendBuffer     int           // bytes; linux: autotuned from 16 KiB to 4 MiB when 0; rfc: default 256 KiB
	RecvBuffer     int           // bytes; linux: autotuned from 64 KiB to 16 MiB when 0; rfc: default 256 KiB
	NoDelay        bool          // disable Nagle
	NoDelayedAck   bool          // acknowledge every segment at once
	DelayedAckTime time.Duration // linux: adaptive 40–200ms (Linux's ato) when 0; rfc: default 40ms
	RTOMin         time.Duration // default 200ms (linux), 1s (rfc, RFC 6298 §2.4)
	RTOMax         time.Duration // default 120s
	RTOInitial     time.Duration // default 1s
	Retries        int           // retransmissions before ETIMEDOUT, default 15; under the linux profile a time, that many exponential timeouts from 200 ms (924.6 s), as Linux's tcp_retries2
	SynRetries     int           // SYN retransmissions before ETIMEDOUT, default 6
	// SynLinearTimeouts is Linux's tcp_syn_linear_timeouts (6.4+): in
	// SYN_SENT, the first this many timeouts, and the one after, keep
	// the initial RTO instead of doubling it, and the connection gives
	// up after this many more retransmissions than SynRetries. Zero
	// means DefaultSynLinearTimeouts (4) under the linux profile and
	// none under rfc; negative: none.
	SynLinearTimeouts int
	SynAckRetries     int    // SYN-ACK retransmissions before giving up, default 5
	Congestion        string // "cubic" (linux default) or "newreno" (rfc default)
	ECN               string // "passive" (default: accept when asked, Linux's tcp_ecn=2), "on" (ask), "off"
	Recovery          string // loss recovery: "rack" (default), "sack" or "newreno"; see [Conn.SetRecovery]
	NoDSACK           bool   // send no D-SACK blocks (RFC 2883); Linux's tcp_dsack=0
	NoFRTO            bool   // no F-RTO after a timeout (RFC 5682; the linux profile's default with RACK, frto.go); Linux's tcp_frto=0
	HyStart           string // slow-start exit: "classic" (Linux's HyStart), "hystart++" (RFC 9406) or "off"; "" is the profile's: linux classic with CUBIC (off with NewReno), rfc hystart++
	NoSACK            bool
	NoTimestamps      bool
	NoWindowScale     bool
	KeepIdle          time.Duration // default 2h
	KeepInterval      time.Duration // default 75s
	KeepCount         int           // default 9
	// HZ is the kernel's timer frequency under the linux profile
	// (CONFIG_HZ; zero means DefaultHZ, 250; negative: timers to the
	// nanosecond, as the rfc profile's). Linux counts TCP's timeouts in
	// jiffies, rounded up: an RTO of 210.3 ms is 212 ms at 250 Hz, and
	// tcpi_rto reads 212000 (jiffies.go).
	HZ int
	// SynBacklog is Linux's tcp_max_syn_backlog (default 256): with SYN
	// cookies off, a SYN is dropped once fewer than a quarter of it
	// remain free in the listener's SYN queue. (A listener's SYN queue
	// is bounded by its listen backlog, as Linux's.)
	SynBacklog int
	// MaxTimeWait bounds the connections in TIME_WAIT at once, with the
	// orphans in FIN_WAIT_2, which Linux keeps as timewait sockets too
	// (Linux's tcp_max_tw_buckets; zero means DefaultMaxTimeWait,
	// negative none at all). A connection that would enter TIME_WAIT
	// beyond it ACKs the peer's FIN and closes at once, and an orphan
	// that would wait in FIN_WAIT_2 closes at once, as Linux's
	// tcp_time_wait does when no timewait socket may be allocated
	// (TimeWaitOverflow).
	MaxTimeWait int
	// TimeWaitReuse is Linux's tcp_tw_reuse: whether a connect may take
	// over a 4-tuple this host holds in TIME_WAIT (when timestamps were
	// in use and their clock has ticked since, see Conn.twReusable).
	// The zero value is Linux's default, 2: only for a connection to or
	// from a loopback address; TimeWaitReuseOn (1) for any, and
	// TimeWaitReuseOff (0) never.
	TimeWaitReuse TimeWaitReuse
	// TimeWaitReuseDelay is Linux's tcp_tw_reuse_delay: how long after
	// a TIME_WAIT's last segment a connect may take it over (zero means
	// DefaultTimeWaitReuseDelay, 1 s; negative, at once: the next
	// millisecond of the timestamp clock).
	TimeWaitReuseDelay time.Duration
	// MaxOrphans bounds the connections the application has closed that
	// are still closing (FIN_WAIT_1, CLOSING, LAST_ACK; Linux's
	// tcp_max_orphans; zero means DefaultMaxOrphans, negative none). A
	// close beyond it sends its FIN, then a RST, and ends the
	// connection, as Linux's tcp_close when tcp_check_oom finds too many
	// orphans (AbortOnMemory).
	MaxOrphans int
	// NoSynCookies turns SYN cookies off (Linux's tcp_syncookies=0): a
	// SYN that finds the SYN queue full is then dropped.
	NoSynCookies bool
	// OrphanRetries bounds the retransmissions and zero-window probes
	// of a connection the application has closed (Linux's
	// tcp_orphan_retries). Zero means Linux's default: 8 while the
	// backed-off RTO is below RTOMax, none once it reaches it.
	OrphanRetries int
	// RmemMax is tcp_rmem[2], the most memory receive-buffer autotuning
	// may reach (linux profile; payload is half of it), which also sets
	// the window scale offered. Zero means Linux's 32 MiB.
	RmemMax int
	// RmemDefault is tcp_rmem[1], the receive buffer a connection starts
	// with (linux profile; payload is half of it). Zero means Linux's
	// 131072.
	RmemDefault int
	// WmemDefault is tcp_wmem[1], the send buffer a connection starts
	// with before autotuning expands it (linux profile). Zero means
	// Linux's 16384.
	WmemDefault int
	// NoIdleRestart keeps the congestion window across an idle period
	// longer than the RTO (Linux's tcp_slow_start_after_idle=0); by
	// default it restarts from the initial window (RFC 5681 §4.1, as
	// Linux's tcp_cwnd_restart).
	NoIdleRestart bool
	// NoTLP turns the tail loss probe off (Linux's tcp_early_retrans=0).
	NoTLP bool
	// NoTSODefer turns the linux profile's TSO deferral off (Linux's
	// tcp_tso_should_defer; tsodefer.go): an ACK that lets out a few
	// segments of a larger skb sends them at once, as a device without
	// GSO has it.
	NoTSODefer bool
	// NotSentLowat is Linux's tcp_notsent_lowat: the TCP_NOTSENT_LOWAT
	// of every socket that sets none (or sets 0) of its own. Zero means
	// Linux's default, UINT_MAX: no limit.
	NotSentLowat uint32
	// PortFirst and PortLast bound the ephemeral ports a connect takes:
	// Linux's net.ipv4.ip_local_port_range (the stack sets them from
	// [stack.Options.LocalPortRange]). Zero means its default,
	// 32768–60999; a range that does not hold PortFirst ≤ PortLast is
	// taken as the default too.
	PortFirst, PortLast uint16
	// InvalidRateLimit is the least time between two ACKs a connection
	// sends to unacceptable pure ACKs, SYNs and RSTs, challenge ACKs
	// included (Linux's tcp_invalid_ratelimit). Zero means 500 ms, as
	// Linux; negative means no limit (tcp_invalid_ratelimit=0).
	InvalidRateLimit time.Duration
	// ChallengeACKLimit, when positive, also bounds the challenge ACKs
	// of the whole stack to about this many per second (Linux's
	// tcp_challenge_ack_limit). Zero means none, Linux's default since
	// 6.0: a shared budget is a side channel (CVE-2016-5696).
	ChallengeACKLimit int
}

// SockOpts are per-socket settings given at Connect or Listen (the
// setsockopt calls made before the socket was connected). A nil *SockOpts
// means the [Config] defaults. Zero fields take the Config value.
// Sockets accepted from a [Listener] inherit the listener's SockOpts.
type SockOpts struct {
	SendBuffer int // SO_SNDBUF in bytes
	RecvBuffer int // SO_RCVBUF in bytes
	// RecvBufferSet: RecvBuffer came from SO_RCVBUF, so it is memory
	// (the doubled value, Linux's sk_rcvbuf), of which the linux profile
	// offers half as window (tcp_full_space at the default scaling
	// ratio); otherwise it is the window's space, as Config.RecvBuffer.
	RecvBufferSet bool
	NoDelay       bool // TCP_NODELAY
	QuickAck      bool // TCP_QUICKACK: no delayed ACKs
	KeepAlive     bool // SO_KEEPALIVE
	KeepIdle      time.Duration
	KeepInterval  time.Duration
	KeepCount     int
	Linger        bool // SO_LINGER on
	LingerSec     int  // with Linger and 0: Close sends RST
	Congestion    string
	Recovery      string // loss recovery, as [Config.Recovery]
	// UserTimeout is TCP_USER_TIMEOUT (RFC 5482): see [Conn.SetUserTimeout].
	UserTimeout time.Duration
	ReusePort   bool // SO_REUSEPORT: listeners on the same address share its connections
	ReuseAddr   bool // SO_REUSEADDR, which a listener's children inherit (see [Conn.ReuseAddr])
	V6Only      bool // IPV6_V6ONLY: a listener on [::] takes no IPv4 connections
	// MaxSeg is TCP_MAXSEG: when positive, it caps the MSS advertised in
	// the SYN and the send MSS.
	MaxSeg int
	// SynCount is TCP_SYNCNT: when positive, the SYN retransmissions
	// before ETIMEDOUT, in place of [Config.SynRetries].
	SynCount int
	// TTL and TOS are IP_TTL and IP_TOS: the IP header of the
	// connection's segments (zero: the stack's TTL, TOS 0). TOS's two
	// ECN bits are the connection's own (RFC 3168), as in Linux.
	TTL, TOS uint8
	// NoDF: the segments leave without Don't Fragment (IPv4), as
	// Linux's under IP_MTU_DISCOVER other than IP_PMTUDISC_WANT, its
	// default, and IP_PMTUDISC_DO (ip_dont_fragment).
	NoDF bool
	// Cork is TCP_CORK: partial segments wait for more data, for the
	// cork to be removed, or for an RTO with nothing in flight.
	Cork bool
	// NotSentLowat is TCP_NOTSENT_LOWAT: when positive, writes wait
	// while this many bytes are queued and not yet sent, and EventOut
	// needs fewer than half of it (zero: no limit).
	NotSentLowat uint32
	// RcvLowat is SO_RCVLOWAT, already clamped as Linux's
	// tcp_set_rcvlowat clamps it (see [Conn.SetRcvLowat]); 0 or 1 is
	// the default, a byte. RcvLowatSpace is the most receive buffer
	// space (payload) a low-water mark set before connecting asked for:
	// the connection starts with at least that much.
	RcvLowat, RcvLowatSpace int
	// OOBInline is SO_OOBINLINE: an urgent byte stays in the stream.
	OOBInline bool
	// DeferAccept is TCP_DEFER_ACCEPT in SYN-ACK timeouts (Linux keeps
	// the seconds asked as the timeouts that cover them): a listener's
	// connection is not accepted on the handshake's bare ACK, only on
	// data, or on an ACK once that many timeouts have passed (see
	// [DeferAcceptTimeouts]).
	DeferAccept int
}

// Events is a readiness bitmask, like poll(2)'s revents.
type Events uint8

// Readiness bits reported by [Conn.Poll].
const (
	EventIn    Events = 1 << iota // readable: data, EOF or an error is pending
	EventOut                      // writable: connected and the send buffer has room
	EventErr                      // a socket error is pending
	EventHup                      // both directions are shut (reset, or FIN both ways)
	EventRdHup                    // the receiving direction is shut: the peer's FIN, a reset, or CloseRead
	EventPri                      // an urgent byte waits to be read with MSG_OOB (POLLPRI)
)

// State is a TCP connection state (RFC 9293 §3.3.2).
type State uint8

// The eleven TCP states.
const (
	Closed State = iota
	Listen
	SynSent
	SynReceived
	Established
	FinWait1
	FinWait2
	CloseWait
	Closing
	LastAck
	TimeWait
)

var stateNames = [...]string{"CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED",
	"FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT"}

// String returns the state's name as netstat prints it ("ESTABLISHED").
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "UNKNOWN"
}

// synchronized reports whether s is one of the synchronized states
// (RFC 9293 §3.5.2).
func (s State) synchronized() bool { return s >= Established }

// Info is a snapshot of a connection's internals, like Linux's tcp_info.
// Cwnd and Ssthresh are in bytes.
type Info struct {
	State           State
	SRTT, RTTVar    time.Duration
	RTO             time.Duration
	Cwnd            int // bytes
	Ssthresh        int // bytes; a huge value before the first loss
	MSS             int // send MSS in bytes
	RcvMSS          int
	SndWnd, RcvWnd  int // bytes, scaling applied
	SndWScale       int // -1 when window scaling is off
	RcvWScale       int
	SACK            bool
	Timestamps      bool
	Retransmits     uint64 // segments retransmitted
	RTOs            uint64 // retransmission timeouts
	FastRetransmits uint64
	BytesSent       uint64 // payload bytes sent, retransmissions included
	BytesAcked      uint64
	BytesReceived   uint64 // payload bytes received in order
	Unacked         int    // bytes in flight
	Congestion      string
	Recovery        string // loss-recovery algorithm: "rack", "sack" or "newreno"

	// Linux's tcp_info fields, in its units (see [Conn.Info]).
	Linux LinuxInfo
}

// LinuxInfo holds the tcp_info fields that count packets or follow
// Linux's state machine, computed as Linux's tcp_get_info does.
type LinuxInfo struct {
	CAState      uint8  // TCP_CA_Open 0, Disorder 1, CWR 2, Recovery 3, Loss 4
	Retransmits  uint8  // icsk_retransmits: RTOs since the last forward progress
	Backoff      uint8  // icsk_backoff
	Probes       uint8  // zero-window or keepalive probes unanswered
	SndMSS       int    // mss_cache: a full segment's payload (the MSS less the timestamp option)
	Unacked      int    // packets_out: segments in flight, in MSS units
	Sacked       int    // sacked_out (dup ACKs counted as SACKs without SACK, as Linux's Reno)
	Lost         int    // lost_out: deemed lost, retransmitted or not, not since SACKed
	Retrans      int    // retrans_out: retransmissions in flight
	Reordering   int    // tp->reordering: 3 until reordering is measured
	ReordSeen    int    // tp->reord_seen
	Delivered    int    // tp->delivered: packets delivered, the handshake's SYN included
	SndCwnd      int    // packets
	SndSsthresh  int    // packets; 0x7fffffff before the first reduction
	RTT, RTTVar  int    // µs (srtt; mdev, 250000 before the first sample as Linux's)
	RTO          int    // µs
	NotsentBytes int    // tcpi_notsent_bytes
	TotalRetrans int    // segments retransmitted
	ECN          bool   // ECN negotiated (TCPI_OPT_ECN)
	BytesAcked   uint64 // tcpi_bytes_acked: an active opener's SYN counts one, as Linux's snd_una moves past it

	RcvMSS                 int    // icsk_ack.rcv_mss: the peer's segment size as estimated (536 until data shows more)
	AdvMSS                 int    // the MSS advertised, less the timestamp option once negotiated
	PMTU                   int    // the path MTU the connection was made for, or lowered to
	ATO                    int    // µs: the delayed-ACK timeout (0 until data arrived, as Linux's icsk_ack.ato)
	RcvSsthresh            int    // bytes: the most window offered so far (rcv_ssthresh)
	RcvWnd                 int    // bytes: the window of the last ACK sent (rcv_wnd)
	RcvSpace               int    // bytes: the autotuning measure (rcvq_space.space)
	RcvRTT                 int    // µs: the receiver's RTT estimate (rcv_rtt_est), 0 until measured
	MinRTT                 int    // µs: the least RTT seen; 0xffffffff before a sample
	PacingRate             uint64 // bytes/s: Linux's tcp_update_pacing_rate from cwnd, MSS and srtt; ^0 before an RTT sample
	DeliveryRate           uint64 // bytes/s: the latest delivery-rate sample (tcp_rate.c); 0 before one
	DeliveryRateAppLimited bool   // that sample was taken while the application limited the sender
	SegsOut, SegsIn        int    // segments sent and received, a multi-MSS segment counted per MSS
	DataSegsOut            int    // those carrying data (retransmissions included)
	DataSegsIn             int
	BytesRetrans           uint64 // payload bytes retransmitted
	DSACKDups              int    // packets reported received twice by D-SACK blocks
	RcvOOOPack             int    // out-of-order segments queued
	DeliveredCE            int    // packets delivered by ACKs echoing congestion (ECE)
	BusyTime               uint64 // µs with data in flight or queued (all chronos)
	RwndLimited            uint64 // µs of it limited by the peer's receive window
	SndbufLimited          uint64 // µs of it limited by the send buffer
	LastDataSent           uint64 // ms since data was last sent (the handshake before any)
	LastDataRecv           uint64 // ms since data was last received
	LastAckRecv            uint64 // ms since an ACK was last received
	TotalRTO               int    // RTOs
	TotalRTORecoveries     int    // RTO episodes (a run of RTOs until recovered)
	TotalRTOTime           uint64 // ms spent in RTO episodes, the current one included
	Rehash                 int    // new transmit hashes (and IPv6 flow labels) drawn, one per RTO
}
