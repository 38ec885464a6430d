package stack

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"stacklab/stack/core"
	"stacklab/stack/ipv4"
	"stacklab/stack/tcp"
	"stacklab/stack/wire"
)

// Options configure a [Stack]. The zero value of each field is usable:
// a nil Clock means [RealClock], a nil Rand a source seeded from the
// clock, nil Observer and Tap turn tracing and capture off.
type Options struct {
	// Name is the host name shown in traces and captures.
	Name string
	// Clock supplies all time.
	Clock Clock
	// Rand supplies all randomness: ISN secrets, ephemeral ports, IP ids.
	Rand *rand.Rand
	// Hosts names addresses for DialContext and LookupHost, as
	// /etc/hosts does: a name (any case) with its IPv4 and IPv6
	// addresses. The stack has no DNS client.
	Hosts map[string][]netip.Addr
	// Observer receives socket calls, state changes, timers and drops.
	Observer Observer
	// Tap sees every frame in and out of every NIC.
	Tap Tap
	// PacketID returns a fresh packet id for each frame the stack sends.
	// The simulator shares one counter among all stacks so that ids are
	// unique in a run. Nil means a per-stack counter.
	PacketID func() uint64
	// TCP holds the default TCP settings for new sockets.
	TCP TCPOptions
	// TTL is the time to live of packets the stack sends; default 64.
	TTL uint8
	// Forwarding makes the stack route packets between its interfaces,
	// as a router does.
	Forwarding bool
	// RouterAdvertisements makes a forwarding stack advertise itself and
	// its interfaces' /64 prefixes (RFC 4861 §6), as radvd does on Linux.
	RouterAdvertisements bool
	// RAValidLifetime and RAPreferredLifetime are the lifetimes of the
	// prefixes a router advertises (RFC 4861 §6.2.1: AdvValidLifetime,
	// 30 days, and AdvPreferredLifetime, 7 days, when zero), whole
	// seconds; a host keeps an address it formed from a prefix for these
	// times after each advertisement (RFC 4862 §5.5.3).
	RAValidLifetime, RAPreferredLifetime time.Duration
	// LocalPortRange is Linux's net.ipv4.ip_local_port_range: the
	// ephemeral ports a connect, a bind to port 0, a listen on an
	// unbound socket and a UDP socket's first send take, first and last.
	// The zero value is Linux's default, 32768–60999. A connect that
	// finds every port of the range in use to its destination fails with
	// EADDRNOTAVAIL.
	LocalPortRange [2]uint16
	// MaxFDs is the descriptor limit, as RLIMIT_NOFILE: with this many
	// descriptors open (sockets, accepted connections, epoll instances,
	// and those behind the net.Conn API), socket, accept and
	// epoll_create fail with EMFILE (counted as sock.FDLimit). Zero
	// means DefaultMaxFDs.
	MaxFDs int
	// NoChecksumOffload makes TCP compute every checksum itself. By
	// default, when the Tap does not need them (no capture, no trace),
	// TCP leaves them to the simulator's links, which finish them
	// wherever a middlebox, a corrupting link, a router or a capture
	// sees the bytes (Packet.ChecksumPartial): Linux's transmit checksum
	// offload on veth. The frames on the wire are the same either way.
	NoChecksumOffload bool
}

// DefaultMaxFDs is [Options.MaxFDs]' default: 65,536, the hard
// RLIMIT_NOFILE of common Linux systems, which Go programs raise their
// soft limit to.
const DefaultMaxFDs = 65536

// SetTCPOptions replaces the stack's TCP settings while it runs, as
// writing Linux's net.ipv4.tcp_* sysctls does: each takes effect where
// the stack next reads it; what a connection fixed when it opened stays.
func (s *Stack) SetTCPOptions(o TCPOptions) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.TCP = o
	s.tcp.SetConfig(s.tcpConfig(o))
}

// TCPOptions are a stack's TCP settings. Zero fields take the defaults
// noted beside them.
type TCPOptions struct {
	MSL            time.Duration // default 30s; TIME_WAIT lasts 2·MSL
	Profile        string        // "linux" (default) or "rfc": where Linux and the RFCs differ (see tcp.ProfileLinux)
	SendBuffer     int           // bytes; 0: autotuned (linux), 256 KiB (rfc)
	RecvBuffer     int           // bytes; 0: autotuned (linux), 256 KiB (rfc)
	NoDelay        bool          // disable Nagle
	NoDelayedAck   bool          // acknowledge every segment at once
	DelayedAckTime time.Duration // default 40ms
	RTOMin         time.Duration // default 200ms (RFC 6298 says 1s; Linux uses 200ms)
	RTOMax         time.Duration // default 120s
	RTOInitial     time.Duration // default 1s
	Retries        int           // retransmissions before ETIMEDOUT, default 15 (under the linux profile a time, as tcp_retries2; see tcp.Config.Retries)
	SynRetries     int           // default 6
	// SynLinearTimeouts is Linux's tcp_syn_linear_timeouts: the first
	// SYN timeouts that keep the initial RTO (0: 4 under the linux
	// profile, none under rfc; negative: none); see tcp.Config.
	SynLinearTimeouts int
	SynAckRetries     int    // default 5
	ECN               string // "passive" (default, Linux's tcp_ecn=2), "on" (ask for ECN), "off"
	Congestion        string // "newreno" (default) or "cubic"
	Recovery          string // loss recovery: "rack" (default, RACK-TLP + PRR), "sack" (RFC 6675) or "newreno" (RFC 6582)
	NoDSACK           bool   // send no D-SACK blocks (RFC 2883)
	NoFRTO            bool   // no F-RTO after a timeout (RFC 5682; see tcp.Config.NoFRTO)
	HyStart           string // slow-start exit: "classic" (Linux's HyStart), "hystart++" (RFC 9406), "off"; "" the profile's (tcp.Config.HyStart)
	NoSACK            bool
	NoTimestamps      bool
	NoWindowScale     bool
	KeepIdle          time.Duration     // default 2h
	KeepInterval      time.Duration     // default 75s
	KeepCount         int               // default 9
	SynBacklog        int               // Linux's tcp_max_syn_backlog (256): with SYN cookies off, SYNs are dropped once less than a quarter is free; a SYN queue holds the listen backlog + 1
	TimeWaitReuse     tcp.TimeWaitReuse // Linux's tcp_tw_reuse: the zero value is its default 2, a connect reuses a TIME_WAIT 4-tuple only to or from a loopback address (tcp.TimeWaitReuseOn: 1, for any; tcp.TimeWaitReuseOff: 0, never)
	MaxTimeWait       int               // Linux's tcp_max_tw_buckets (131072; negative: none): beyond it a connection ACKs the FIN and closes at once instead of entering TIME_WAIT, and an orphan closes rather than wait in FIN_WAIT_2 (tcp.TimeWaitOverflow)
	MaxOrphans        int               // Linux's tcp_max_orphans (131072; negative: none): a close beyond it sends its FIN, then a RST (tcp.AbortOnMemory)
	NotSentLowat      uint32            // Linux's tcp_notsent_lowat: TCP_NOTSENT_LOWAT for sockets that set none (0, Linux's UINT_MAX: no limit)
	HZ                int               // the kernel's timer frequency under the linux profile: TCP's timeouts in whole jiffies (0: 250; negative: to the nanosecond); see tcp.Config.HZ
	NoSynCookies      bool              // drop SYNs when the SYN queue is full instead of answering with SYN cookies (tcp_syncookies=0)
	OrphanRetries     int               // see tcp.Config.OrphanRetries; 0: Linux's default
	NoTLP             bool              // no tail loss probe (tcp_early_retrans=0)
	NoTSODefer        bool              // no TSO deferral under the linux profile (see tcp.Config.NoTSODefer)
	RmemMax           int               // tcp_rmem[2] in bytes: autotuning's ceiling and the window scale offered; 0: 32 MiB
	RmemDefault       int               // tcp_rmem[1] in bytes: a new connection's receive buffer (half of it payload); 0: 131072
	WmemDefault       int               // tcp_wmem[1] in bytes: a new connection's send buffer before autotuning; 0: 16384
	NoIdleRestart     bool              // keep cwnd across idle periods (tcp_slow_start_after_idle=0)
	// InvalidRateLimit and ChallengeACKLimit are Linux's
	// tcp_invalid_ratelimit (0: 500 ms; negative: none) and
	// tcp_challenge_ack_limit (0: none, Linux's default since 6.0); see
	// tcp.Config.
	InvalidRateLimit  time.Duration
	ChallengeACKLimit int
}

// NICConfig describes a network interface to add with [Stack.AddNIC].
type NICConfig struct {
	Name string           // "eth0"
	Type LinkType         // LinkEthernet or LinkRawIP
	MAC  net.HardwareAddr // Ethernet only; nil means derived from the address
	Addr netip.Prefix     // the interface address and its subnet, e.g. 10.0.0.1/24
	// Addrs6 are IPv6 addresses with their prefixes, e.g. 2001:db8::1/64.
	// With any (or LinkLocal), an Ethernet interface also gets the
	// link-local address derived from its MAC and speaks IPv6.
	Addrs6    []netip.Prefix
	LinkLocal bool // give an Ethernet interface a link-local IPv6 address even without Addrs6
	// SLAAC makes a host's Ethernet interface solicit routers and
	// configure addresses from their advertisements (RFC 4862); it
	// implies LinkLocal.
	SLAAC bool
	MTU   int // default 1500
}

// Route sends traffic for Dst through NIC, to Gateway if valid (else
// directly to the destination).
type Route struct {
	Dst     netip.Prefix
	Gateway netip.Addr
	NIC     *NIC
}

// Stack is one host's TCP/UDP/IP stack (IPv4 and IPv6). Its methods are safe for
// concurrent use.
type Stack struct {
	mu   stackMutex
	opts Options
	name string
	rt   routeCache // the last route found (route)
	// txChecksummed is set while TCP or UDP hands the IP layer a segment
	// whose checksum it computed, so that the frame goes out with
	// Packet.ChecksumOK; rxChecksummed while a frame that came in with
	// it is processed, so that TCP and UDP skip verifying it. Both only
	// with mu held.
	txChecksummed bool
	// txID, when txIDSet, is the identification of the IPv4 packet being
	// sent, chosen by TCP (tcp.IPHeader.ID), in place of the stack's
	// counter.
	txID    uint16
	txIDSet bool
	// txFlow, when txFlowSet, is the IPv6 flow label of the packet being
	// sent, its TCP connection's (tcp.IPHeader.Flow); others get
	// autoFlowLabel's, keyed by flowKey.
	txFlow        uint32
	txFlowSet     bool
	flowKey       uint64
	rxChecksummed bool
	// txOffload: TCP leaves its checksums to the links (transmit
	// checksum offload): the Tap, if any, does not look at them and an
	// interface's link carries partial checksums (AddNIC decides).
	// txPartial is set while TCP hands the IP layer such a segment;
	// rxPartial while a frame that came in with
	// Packet.ChecksumPartial is processed. All with mu held.
	txOffload bool
	txPartial bool
	rxPartial bool
	tapWants  bool // the Tap needs checksums computed (ChecksumTap), asked by AddNIC
	// series: the Observer takes EventSeries (core.WantsSeries), asked
	// once in New.
	series bool

	nics   []*NIC
	routes []Route // most specific first
	lo     *NIC    // the loopback interface, not in nics
	loq    loopback

	tcp    *tcp.Proto
	udp    udpTable
	icmp   icmpTable
	dgrams dgramPool // buffers of queued UDP and ICMP datagrams

	fds []*socket // index is the descriptor
	// tcpPorts indexes the stream sockets with a local port by that
	// port: bind's conflict check walks one port's sockets, not all
	// (tcpLocal, freeFD).
	tcpPorts map[uint16][]*socket
	// tcpTaken is a hint for bind(0)'s search: a set bit is a port last
	// found taken. Whatever may free a port clears its bit
	// (portMaybeFree), so a set bit is never a free port, and the search
	// skips a taken one in a bit test (ephemeralTCP).
	tcpTaken [1024]uint64
	nfds     int // descriptors open
	fdLow    int // no descriptor below this one is free

	ipID      uint16
	reasm     reassembly
	reasm6    reassembly6
	pmtu6     map[netip.Addr]pmtu6Entry // bounded by pmtu6Max
	icmpBuf   []byte                    // scratch for ICMP and UDP messages
	fwdBuf    []byte                    // a packet being forwarded
	fragBuf   []byte                    // a fragment being built
	counters  Counters
	out       []byte // scratch buffer for building outbound frames
	txInPlace uint64 // segments sent where TCP built them (tcpNet.SegmentBuffer), for tests
	packetID  uint64

	qlinks int // interfaces whose link is a QueueLink

	rxLinkBroadcast bool              // the frame being handled came as a link-layer broadcast
	icmpLimit       *ipv4.RateLimiter // ICMP errors sent
	icmp6Limit      *ipv4.RateLimiter // ICMPv6 errors sent

	timers    map[*stackTimer]struct{} // the stack's pending timers, for Destroy
	destroyed bool                     // Destroy was called
}

// New returns a stack with no interfaces.
func New(opts Options) *Stack {
	if opts.Clock == nil {
		opts.Clock = RealClock{}
	}
	if opts.Rand == nil {
		n := uint64(opts.Clock.Now().UnixNano())
		opts.Rand = rand.New(rand.NewPCG(n, n>>1|1))
	}
	if opts.TTL == 0 {
		opts.TTL = 64
	}
	if opts.MaxFDs <= 0 {
		opts.MaxFDs = DefaultMaxFDs
	}
	if r := opts.LocalPortRange; r[0] == 0 || r[1] < r[0] {
		opts.LocalPortRange = [2]uint16{tcp.DefaultPortFirst, tcp.DefaultPortLast}
	}
	s := &Stack{opts: opts, name: opts.Name, series: core.WantsSeries(opts.Observer)}
	s.ipID = uint16(opts.Rand.Uint32())
	s.out = make([]byte, 0, segHeadroom+maxFrame)
	s.udp.init()
	s.icmp.init()
	s.tcp = tcp.New(tcpNet{s}, s.tcpConfig(opts.TCP))
	s.flowKey = s.tcp.FlowKey()
	s.tcp.OnPortFree = s.portMaybeFree
	s.lo = s.newLoopback()
	s.mu.owner = s
	return s
}

// maxFrame is the largest frame the stack builds: an Ethernet header and
// the largest IP packet, IPv6's (its 40-byte header is outside the 16-bit
// payload length; lo's MTU of 65536 lets one through whole).
const maxFrame = 14 + wire.IPv6HeaderLen + wire.IPv6MaxPayloadLen

// segHeadroom is where TCP builds a segment in the frame buffer
// (tcpNet.SegmentBuffer): room enough before it for any link and IP
// header this stack writes in front of a segment (14 + 60 for IPv4 with
// options, 14 + 40 for IPv6), so that the network layer sends it where
// it is instead of copying it behind its headers.
const segHeadroom = 128

// ipFrame returns the frame, in s.out, of an IP packet of total bytes
// whose payload follows hdr+hl bytes of link and IP headers, with the
// payload in it: around the payload when it is the segment TCP built at
// segHeadroom (tcpNet.SegmentBuffer) and the headers fit in front of it,
// otherwise at the start of s.out with the payload copied in. The caller
// writes the headers.
func (s *Stack) ipFrame(payload []byte, hdr, hl, total int) []byte {
	if len(payload) > 0 && hdr+hl <= segHeadroom && &payload[0] == &s.out[:cap(s.out)][segHeadroom] {
		s.txInPlace++
		off := segHeadroom - hdr - hl
		return s.out[off : off+hdr+total]
	}
	frame := s.out[:hdr+total]
	copy(frame[hdr+hl:], payload)
	return frame
}

// Name returns the host name given in [Options].
func (s *Stack) Name() string { return s.name }

// Clock returns the stack's clock.
func (s *Stack) Clock() Clock { return s.opts.Clock }

// Tracing reports whether the stack has an Observer.
func (s *Stack) Tracing() bool { return s.opts.Observer != nil }

// Emit reports an event from outside the stack's core (the scenario
// interpreter's socket calls, an application) to the stack's Observer,
// filling in the time and host name.
func (s *Stack) Emit(ev Event) {
	if s.opts.Observer == nil {
		return
	}
	s.mu.Lock()
	s.observe(&ev)
	s.mu.Unlock()
}

// stackMutex is the stack's lock, which also keeps the clock's reading
// for the entry that holds it: every reading of the time while it is
// held is the first one (Stack.now), as Linux's per-packet clock cache
// (tcp_mstamp), and releasing it forgets that reading. The layers below
// TCP and TCP itself read the clock many times per segment and per
// call, and on the wall clock each reading costs a system call's worth
// of time in a virtual machine (62 ns here: 40 readings a connection
// before, in a dial, a 100-byte exchange and a close). An entry that
// waits (a blocking call) releases the lock to wait, and so reads the
// clock afresh after.
type stackMutex struct {
	sync.Mutex
	clockNow  time.Time
	clockHeld bool
	// owner is the stack whose loopback queue Unlock drains first, as
	// Linux processes what a system call sent over lo in the softirq
	// that runs before the call returns: a connect over lo comes back
	// with its handshake done, as a SYN sent after it finds the accept
	// queue as that handshake left it. draining guards against a drain
	// within the drain (which goes on until the queue is empty).
	owner    *Stack
	draining bool
}

// Unlock delivers what waits on lo, forgets the clock's reading and
// releases the lock.
func (m *stackMutex) Unlock() {
	if s := m.owner; s != nil && len(s.loq.q) > 0 && !m.draining {
		m.draining = true
		s.loopbackDrainLocked()
		m.draining = false
	}
	m.clockHeld = false
	m.Mutex.Unlock()
}

// now returns the current time, with the lock held: the clock's reading
// for this entry, taken at its first call.
func (s *Stack) now() time.Time {
	if !s.mu.clockHeld {
		s.mu.clockNow, s.mu.clockHeld = s.opts.Clock.Now(), true
	}
	return s.mu.clockNow
}

// observe reports ev with the lock held.
func (s *Stack) observe(ev *Event) {
	if ev.Time.IsZero() {
		ev.Time = s.now()
	}
	if ev.Host == "" {
		ev.Host = s.name
	}
	if ev.FD == 0 && ev.Kind != EventCall {
		ev.FD = -1
	}
	s.opts.Observer.Observe(ev)
}

// drop counts a dropped packet and reports it when tracing.
func (s *Stack) drop(c *uint64, name, proto, detail string, pktID uint64) {
	*c++
	if s.opts.Observer == nil {
		return
	}
	s.observe(&Event{Kind: EventDrop, Proto: proto, Name: name, Detail: detail, PacketID: pktID})
}

// nextID returns a fresh packet id.
func (s *Stack) nextID() uint64 {
	if s.opts.PacketID != nil {
		return s.opts.PacketID()
	}
	s.packetID++
	return s.packetID
}

// afterFunc schedules f on the clock, wrapped to take the stack's lock.
func (s *Stack) afterFunc(d time.Duration, f func()) Timer {
	t := &stackTimer{s: s}
	t.t = s.opts.Clock.AfterFunc(d, func() {
		s.mu.Lock()
		delete(s.timers, t)
		if !s.destroyed {
			f()
		}
		s.mu.Unlock()
	})
	if s.timers == nil {
		s.timers = map[*stackTimer]struct{}{}
	}
	s.timers[t] = struct{}{}
	return t
}

// stackTimer is a timer of the stack's, kept in its set of pending
// timers (with the lock held) so that Destroy can stop them all.
type stackTimer struct {
	s *Stack
	t Timer
}

func (t *stackTimer) Stop() bool {
	delete(t.s.timers, t)
	return t.t.Stop()
}

func (t *stackTimer) Reset(d time.Duration) bool {
	if t.s.destroyed {
		return t.t.Stop()
	}
	t.s.timers[t] = struct{}{}
	return t.t.Reset(d)
}

// Destroy tears the stack down, as deleting a network namespace does:
// every TCP connection is aborted (ECONNABORTED, nothing sent), every
// listener and descriptor closed (a call blocked on one returns EBADF,
// or net.ErrClosed through the net API), every pending timer stopped,
// and frames that arrive afterwards are dropped. Socket then fails
// with ENETDOWN. The stack starts no goroutines of its own; once
// Destroy returns, none of its timers will run. Destroy is idempotent.
func (s *Stack) Destroy() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.destroyed {
		return
	}
	s.destroyed = true
	s.tcp.Close()
	for _, sk := range s.fds {
		if sk != nil {
			s.closeSocket(sk)
		}
	}
	for t := range s.timers {
		t.t.Stop()
	}
	clear(s.timers)
	clear(s.loq.q)
	s.loq.q, s.loq.head = s.loq.q[:0], 0
}

// PendingTimers returns how many of the stack's timers are pending
// (TCP, ARP, NDP, reassembly): zero after Destroy.
func (s *Stack) PendingTimers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.timers)
}

// NIC is a network interface of a [Stack], attached to a [Link].
type NIC struct {
	stack  *Stack
	cfg    NICConfig
	mac    [6]byte
	link   Link
	qlink  QueueLink // link, if its transmit queue can fill
	index  int
	arp    nicARP
	ndp    nicNDP
	slaac  nicSLAAC
	addrs6 []netip.Prefix // link-local first; lo has ::1/128
	mtu6   int            // IPv6's MTU from a Router Advertisement, if lower than the link's; 0 if none
	bcast  netip.Addr     // the subnet's directed broadcast address
	loop   bool           // the loopback interface
	// partialOK: the link carries frames with Packet.ChecksumPartial
	// (a PartialChecksumLink that says so); other links get them
	// finished.
	partialOK bool
	// goodSrc is the last source found not martian and not local
	// (ipInput, ip6Input), goodDst the last destination found local
	// (acceptsDst, accepts6): a transfer's packets all come from one
	// address to one. Stack.addrsChanged clears them, since a new address
	// may make a source local and a removed one a destination foreign.
	goodSrc netip.Addr
	goodDst netip.Addr
}

// Name returns the interface name ("eth0").
func (n *NIC) Name() string { return n.cfg.Name }

// Stack returns the stack the interface belongs to.
func (n *NIC) Stack() *Stack { return n.stack }

// Type returns the kind of link the interface is on.
func (n *NIC) Type() LinkType { return n.cfg.Type }

// MTU returns the interface MTU.
func (n *NIC) MTU() int { return n.cfg.MTU }

// MTU6 returns the interface's MTU for IPv6: the link's, or less if a
// Router Advertisement's MTU option said so (Linux's mtu6).
func (n *NIC) MTU6() int {
	if n.mtu6 > 0 {
		return n.mtu6
	}
	return n.cfg.MTU
}

// MAC returns the hardware address (nil for raw IP).
func (n *NIC) MAC() net.HardwareAddr { return n.cfg.MAC }

// Addr returns the interface's address and subnet.
func (n *NIC) Addr() netip.Prefix { return n.cfg.Addr }

// Index returns the interface's position in its stack, from 0; the
// loopback interface, which is not among [Stack.NICs], has -1.
func (n *NIC) Index() int { return n.index }
