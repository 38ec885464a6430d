package tcp

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"syscall"
	"time"

	"stacklab/stack/core"
	"stacklab/stack/tcp/cc"
	"stacklab/stack/tcp/seqnum"
	"stacklab/stack/wire"
)

// Default values of [Config] fields left zero.
const (
	DefaultMSL            = 30 * time.Second
	DefaultBuffer         = 256 << 10
	DefaultDelayedAckTime = 40 * time.Millisecond
	DefaultRTOMin         = 200 * time.Millisecond
	DefaultRTOMax         = 120 * time.Second
	DefaultRTOInitial     = time.Second
	DefaultRetries        = 15
	DefaultSynRetries     = 6
	// DefaultSynLinearTimeouts is Linux's tcp_syn_linear_timeouts: a SYN
	// goes again 1 s apart five times before the RTO doubles.
	DefaultSynLinearTimeouts = 4
	DefaultKeepIdle          = 2 * time.Hour
	DefaultKeepInterval      = 75 * time.Second
	DefaultKeepCount         = 9
	// DefaultHZ is CONFIG_HZ of Debian's and Ubuntu's kernels, and of
	// the 6.18 kernel the timings were checked on.
	DefaultHZ         = 250
	DefaultSynBacklog = 256
	// DefaultMaxTimeWait is Linux's tcp_max_tw_buckets as a new network
	// namespace has it on the 6.18 kernel this was checked on (half its
	// established hash's size, which scales with memory).
	DefaultMaxTimeWait = 131072
	// DefaultMaxOrphans is Linux's tcp_max_orphans on the same kernel
	// (scaled with memory too).
	DefaultMaxOrphans = 131072
	// DefaultTimeWaitReuseDelay is Linux's tcp_tw_reuse_delay (6.13
	// and later; 1 s, as the seconds clock earlier kernels compared).
	DefaultTimeWaitReuseDelay = time.Second

	// DefaultInvalidRateLimit is the least time between two ACKs a
	// connection sends to unacceptable segments, challenge ACKs included
	// (Linux's tcp_invalid_ratelimit).
	DefaultInvalidRateLimit = 500 * time.Millisecond
	// DefaultPortFirst and DefaultPortLast bound the ephemeral ports
	// by default: Linux's net.ipv4.ip_local_port_range (the IANA dynamic
	// range of RFC 6335 §6 is 49152–65535).
	DefaultPortFirst = 32768
	DefaultPortLast  = 60999
	// perturbSize is the number of counters of the port choice
	// (RFC 6056 §3.3.4's table, Linux's table_perturb, smaller).
	perturbSize = 256
	// defaultMSS is the MSS assumed when the peer sends none
	// (RFC 9293 §3.7.1), over IPv4.
	defaultMSS = 536
	// defaultMSS6 is the one over IPv6: the minimum MTU's (1280) less
	// the headers (RFC 8200 §5; Linux's mss_clamp for IPv6, 1220).
	defaultMSS6 = 1220
)

// peerDefaultMSS is the MSS assumed when the peer's SYN carries none,
// for a connection from local (IPv4 or IPv6, as ipTCPHeaderLen tells
// them: a connection's addresses are never IPv4-mapped).
func peerDefaultMSS(local netip.Addr) int {
	if local.Is4() {
		return defaultMSS
	}
	return defaultMSS6
}

func (c *Config) fill() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defi := func(d *int, v int) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.InvalidRateLimit == 0 {
		c.InvalidRateLimit = DefaultInvalidRateLimit
	}
	if c.PortFirst == 0 || c.PortLast < c.PortFirst {
		c.PortFirst, c.PortLast = DefaultPortFirst, DefaultPortLast
	}
	if c.Profile == "" {
		c.Profile = ProfileLinux
	}
	rfc := c.Profile == ProfileRFC
	def(&c.MSL, DefaultMSL)
	if rfc {
		defi(&c.SendBuffer, DefaultBuffer)
		defi(&c.RecvBuffer, DefaultBuffer)
		def(&c.RTOMin, DefaultRTOMinRFC)
	}
	def(&c.DelayedAckTime, DefaultDelayedAckTime)
	def(&c.RTOMin, DefaultRTOMin)
	def(&c.RTOMax, DefaultRTOMax)
	def(&c.RTOInitial, DefaultRTOInitial)
	defi(&c.Retries, DefaultRetries)
	defi(&c.SynRetries, DefaultSynRetries)
	switch {
	case c.SynLinearTimeouts < 0:
		c.SynLinearTimeouts = 0
	case c.SynLinearTimeouts == 0 && !rfc:
		c.SynLinearTimeouts = DefaultSynLinearTimeouts
	}
	defi(&c.SynAckRetries, DefaultSynAckRetries)
	if c.ECN == "" {
		c.ECN = ECNPassive
	}
	def(&c.KeepIdle, DefaultKeepIdle)
	def(&c.KeepInterval, DefaultKeepInterval)
	defi(&c.KeepCount, DefaultKeepCount)
	defi(&c.SynBacklog, DefaultSynBacklog)
	if c.MaxTimeWait == 0 {
		c.MaxTimeWait = DefaultMaxTimeWait
	}
	if c.MaxOrphans == 0 {
		c.MaxOrphans = DefaultMaxOrphans
	}
	switch {
	case c.TimeWaitReuseDelay == 0:
		c.TimeWaitReuseDelay = DefaultTimeWaitReuseDelay
	case c.TimeWaitReuseDelay < 0:
		c.TimeWaitReuseDelay = 0
	}
	if c.HZ == 0 {
		c.HZ = DefaultHZ
	}
	if c.Congestion == "" {
		c.Congestion = "cubic" // Linux's tcp_congestion_control
		if rfc {
			c.Congestion = "newreno"
		}
	}
}

// Proto is the TCP layer of one stack: the connection table, the
// listeners, the ISN secret and the counters. Its methods must be called
// with the stack's lock held.
type Proto struct {
	net   Net
	cfg   Config
	conns map[core.Tuple]*Conn
	// timeWait and orphans count the connections that hold a place
	// under cfg.MaxTimeWait and cfg.MaxOrphans (deathrow.go).
	timeWait, orphans int
	// lastTuple and lastConn are the last entry of conns that conn
	// found, while lastConn is not nil (see conn).
	lastTuple core.Tuple
	lastConn  *Conn
	// tw holds the connections in TIME_WAIT that no descriptor holds,
	// packed (timewait.go); twHeap orders them by deadline for twTimer,
	// armed (twArmed) to fire at twAt.
	tw      map[core.Tuple]*twSock
	twHeap  twHeap
	twSeq   uint64
	twTimer core.Timer
	twArmed bool
	twAt    time.Duration
	noPack  bool // keep TIME_WAIT connections whole (tests compare the two)
	revives int  // Conns made again from packed ones for a segment (tests)
	// portConns counts the connections on each local port, so that a
	// bind can tell a port no connection holds in O(1) (PortConns); a
	// count, not a list: it costs an idle connection a few bytes.
	portConns map[uint16]int32
	// OnPortFree, if set, is called when the last connection on a local
	// port goes (with the caller's lock held).
	OnPortFree func(port uint16)
	// listenPorts counts the addresses listened on per port (a
	// SO_REUSEPORT group counts once): Listen walks the listeners only
	// for a port that has some.
	listenPorts map[uint16]int32
	listens     map[netip.AddrPort]*Listener
	counters    Counters
	recMode     recoveryMode // cfg.Recovery

	secret [16]byte  // RFC 6528 F() key
	epoch  time.Time // origin of timestamp clocks
	// lastNow and lastSince cache the last reading of the clock and its
	// distance from epoch (sinceEpoch): the stack reads the clock once
	// per entry, and a segment asks for that distance many times.
	lastNow   time.Time
	lastSince time.Duration
	lastJiffy time.Duration // lastSince in whole ticks (jiffiesNow)
	scratch   []byte        // one outbound segment is built here
	spare     [2][]byte     // the last ring storage freed, newest first (buffer.go)
	pair      pairSum       // the last address pair's pseudo-header sum (header.go)
	// offload: the Net finishes the checksums of the segments sent
	// (SetChecksumOffload); they leave with the field zero.
	offload bool

	ect   bool   // the next segment sent carries ECT(0) (ecn.go)
	ipHdr ipNext // the next segment's IP header, as its connection set it (Conn.ipHeader); zero for none
	// The next segment's URG flag and urgent pointer (Conn.urgField).
	urgPtr uint16
	urgOn  bool
	ipNet  IPNet // net, when it takes IPHeader
	// twReply: a timewait socket answers the segment in hand (twAck,
	// inputOrphanFinWait2), as Linux's ip_send_unicast_reply: IP ID 0.
	twReply bool
	linux   bool // cfg.Profile is ProfileLinux
	// tick is a jiffy, 1/cfg.HZ s, under the linux profile; zero for
	// timers to the nanosecond (jiffies.go).
	tick        time.Duration
	delackFixed bool // cfg.DelayedAckTime was given: no adaptive ato

	txq       TxQueueNet       // net, when its interfaces' queues can fill (tsq.go)
	segNet    SegmentBufferNet // net, when it lends room to build segments in
	txWaiters []*Conn          // connections whose new data waits for room
	txSpare   []*Conn

	seriesEv   core.Event   // the event series.go reports, reused
	seriesVars core.TCPVars // its variables

	// challenge is this second's host-wide challenge ACK budget, with
	// Config.ChallengeACKLimit.
	challenge struct {
		sec   int64
		left  int
		valid bool
	}

	// isnHook, when set (tests), replaces the RFC 6528 ISN.
	isnHook func() seqnum.Value

	// perturb are the counters of RFC 6056 §3.3.4's port choice, one
	// per hash bucket of destinations.
	perturb [perturbSize]uint16
	// gone counts connections removed from the table.
	gone uint64
	// full remembers the last destination found with no free port, the
	// removal count and the millisecond of that search: a connect to
	// it again before a connection goes or the timestamp clock ticks
	// (TIME_WAITs become reusable by the tick) fails at once instead of
	// searching the range again.
	full struct {
		src    netip.Addr
		remote netip.AddrPort
		gone   uint64
		tick   time.Duration
		valid  bool
	}
}

// New returns the TCP layer of one stack, with cfg as the stack-wide
// defaults.
func New(net Net, cfg Config) *Proto {
	delackFixed := cfg.DelayedAckTime > 0
	cfg.fill()
	mode, _ := parseRecovery(cfg.Recovery)
	p := &Proto{
		recMode:     mode,
		linux:       cfg.Profile != ProfileRFC,
		tick:        cfg.tick(),
		delackFixed: delackFixed,
		net:         net,
		cfg:         cfg,
		conns:       map[core.Tuple]*Conn{},
		portConns:   map[uint16]int32{},
		listenPorts: map[uint16]int32{},
		listens:     map[netip.AddrPort]*Listener{},
		epoch:       net.Now(),
		scratch:     make([]byte, 65535+maxOptionLen+headerLen),
	}
	p.txq, _ = net.(TxQueueNet)
	p.ipNet, _ = net.(IPNet)
	p.segNet, _ = net.(SegmentBufferNet)
	r := net.Rand()
	binary.LittleEndian.PutUint64(p.secret[:], r.Uint64())
	binary.LittleEndian.PutUint64(p.secret[8:], r.Uint64())
	return p
}

// FlowKey is a key for the stack's IPv6 flow-label hash, drawn from the
// ISN secret (not the stack's Rand, whose later draws it would move).
func (p *Proto) FlowKey() uint64 {
	h := sha256.Sum256(append(p.secret[:], "flow label"...))
	return binary.LittleEndian.Uint64(h[:])
}

// Config returns the stack-wide settings in effect, defaults filled in.
func (p *Proto) Config() Config { return p.cfg }

// SetConfig replaces the stack-wide settings, as writing Linux's
// net.ipv4.tcp_* sysctls does: each takes effect where the stack next
// reads it (a new connection's SYN, the next retransmission timeout…);
// what an existing connection fixed when it opened (its MSS, window
// scale, options) stays.
func (p *Proto) SetConfig(cfg Config) {
	p.delackFixed = cfg.DelayedAckTime > 0
	cfg.fill()
	p.recMode, _ = parseRecovery(cfg.Recovery)
	p.linux = cfg.Profile != ProfileRFC
	p.tick = cfg.tick()
	p.lastNow = time.Time{} // lastJiffy was in the old ticks
	p.cfg = cfg
}

// SetChecksumOffload says whether the Net finishes the checksums of the
// segments it is handed (transmit checksum offload, Linux's
// CHECKSUM_PARTIAL): with it on, segments leave with the checksum field
// zero and the Net computes it wherever the bytes are seen.
func (p *Proto) SetChecksumOffload(on bool) { p.offload = on }

// Counters returns a snapshot of the counters.
func (p *Proto) Counters() Counters { return p.counters }

// NumConns returns the number of connections in the table, TIME_WAIT
// and unaccepted ones included.
func (p *Proto) NumConns() int { return len(p.conns) + len(p.tw) }

// Conns calls f for each connection in the table, in no fixed order. A
// packed TIME_WAIT connection is seen through a Conn made for the call
// (timewait.go): f may look at it, not keep it.
func (p *Proto) Conns(f func(*Conn)) {
	for _, c := range p.conns {
		f(c)
	}
	for _, tw := range p.tw {
		f(p.twConn(tw))
	}
}

// PortConns reports how many connections have local port port: a bind
// that finds none need not look at any (Linux's bind hash bucket).
func (p *Proto) PortConns(port uint16) int { return int(p.portConns[port]) }

// ConnsOnPort calls f for each connection whose local port is port: none
// when PortConns says so, else a walk of the table.
func (p *Proto) ConnsOnPort(port uint16, f func(*Conn)) {
	if p.portConns[port] == 0 {
		return
	}
	for _, c := range p.conns {
		if c.tuple.Local.Port() == port {
			f(c)
		}
	}
	for _, tw := range p.tw {
		if tw.tuple.Local.Port() == port {
			f(p.twConn(tw))
		}
	}
}

// addConn enters c in the connection table under t.
func (p *Proto) addConn(t core.Tuple, c *Conn) {
	p.conns[t] = c
	p.portConns[t.Local.Port()]++
	if p.lastConn != nil && p.lastTuple == t {
		p.lastConn = c
	}
}

// removeConn takes c out of the connection table.
func (p *Proto) removeConn(c *Conn) {
	delete(p.conns, c.tuple)
	if p.lastConn == c {
		p.lastConn = nil
	}
	port := c.tuple.Local.Port()
	if p.portConns[port]--; p.portConns[port] <= 0 {
		delete(p.portConns, port)
		if p.OnPortFree != nil {
			p.OnPortFree(port)
		}
	}
}

// isn returns the initial sequence number for a connection per RFC 6528
// §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey),
// with M a 64 ns clock as Linux's secure_tcp_seq (ktime_get_real_ns()>>6;
// RFC 6528 suggests 4 µs). The finer clock moves the ISN of a reused
// 4-tuple past the old incarnation's sequence numbers even when the
// connections are microseconds apart, so a peer in TIME_WAIT accepts the
// new SYN (RFC 6191 §2).
func (p *Proto) isn(t core.Tuple) seqnum.Value {
	if p.isnHook != nil {
		return p.isnHook()
	}
	if !t.Local.Addr().Is4() {
		return p.isn6(t)
	}
	var b [16 + 12]byte
	copy(b[:], p.secret[:])
	la, ra := t.Local.Addr().As4(), t.Remote.Addr().As4()
	copy(b[16:], la[:])
	copy(b[20:], ra[:])
	binary.BigEndian.PutUint16(b[24:], t.Local.Port())
	binary.BigEndian.PutUint16(b[26:], t.Remote.Port())
	h := sha256.Sum256(b[:])
	m := uint32(p.net.Now().UnixNano() >> 6)
	return seqnum.Value(binary.BigEndian.Uint32(h[:]) + m)
}

// isn6 is isn for an IPv6 connection: the same F() over 16-byte
// addresses.
func (p *Proto) isn6(t core.Tuple) seqnum.Value {
	var b [16 + 36]byte
	copy(b[:], p.secret[:])
	la, ra := t.Local.Addr().As16(), t.Remote.Addr().As16()
	copy(b[16:], la[:])
	copy(b[32:], ra[:])
	binary.BigEndian.PutUint16(b[48:], t.Local.Port())
	binary.BigEndian.PutUint16(b[50:], t.Remote.Port())
	h := sha256.Sum256(b[:])
	m := uint32(p.net.Now().UnixNano() >> 6)
	return seqnum.Value(binary.BigEndian.Uint32(h[:]) + m)
}

// twReusable reports whether a connect may take over the 4-tuple of
// this TIME_WAIT connection, as Linux's tcp_tw_reuse allows
// (Config.TimeWaitReuse: by default to or from a loopback address only):
// timestamps were in use, and Config.TimeWaitReuseDelay (1 s) has passed
// since the connection's last segment, so the new SYN carries a TSval
// above any the old
// incarnation sent (timestamps rise per address pair, see tsOffset); an
// old duplicate from the peer then fails PAWS on the new connection
// (RFC 7323 §5), and a peer that still holds the old one in TIME_WAIT
// recycles it (RFC 6191). A connection that closed without timestamps
// waits out 2·MSL.
func (c *Conn) twReusable() bool {
	if c.packed != nil {
		return c.p.tw[c.tuple] == c.packed && c.p.twReusable(c.packed)
	}
	return c.state == TimeWait && c.ka.armed && c.p.twReusableAt(c.tuple, c.tsOK, c.ka.deadline)
}

// twReusableAt is twReusable for the TIME_WAIT of tuple t ending at
// deadline: timestamps were in use, Config.TimeWaitReuse allows t, and
// Config.TimeWaitReuseDelay has passed since its last segment (its timer
// is restarted with each segment it answers), in whole milliseconds as
// Linux's tcp_twsk_unique compares its timestamp clock.
func (p *Proto) twReusableAt(t core.Tuple, tsOK bool, deadline time.Duration) bool {
	if !tsOK || !p.twReuseAllowed(t) {
		return false
	}
	last := (deadline - 2*p.cfg.MSL) / time.Millisecond
	return p.sinceEpoch()/time.Millisecond > last+p.cfg.TimeWaitReuseDelay/time.Millisecond
}

// heir is what a new connection inherits from the timewait socket whose
// 4-tuple it takes (Linux's tcp_twsk_unique): an ISN above anything the
// old connection sent (successorISN) and, for a connect, the old
// connection's TS.Recent, which its SYN echoes (tcp_syn_options) and
// which makes Linux round the SYN's window to the MSS less the
// timestamp option (tcp_connect_init).
type heir struct {
	isn      seqnum.Value
	tsRecent uint32
	ok       bool
}

// twTakeOver ends the TIME_WAIT old so that a new connection takes its
// 4-tuple, and returns what that connection inherits.
func (p *Proto) twTakeOver(old *Conn) heir {
	p.counters.TimeWaitRecycled++
	h := heir{isn: old.successorISN(), tsRecent: old.tsRecent, ok: true}
	old.destroy()
	return h
}

// twReuseAllowed applies Config.TimeWaitReuse to a TIME_WAIT 4-tuple:
// under Linux's default, only one to or from a loopback address (its
// tcp_twsk_unique, whose test is on the addresses).
func (p *Proto) twReuseAllowed(t core.Tuple) bool {
	switch p.cfg.TimeWaitReuse {
	case TimeWaitReuseOff:
		return false
	case TimeWaitReuseOn:
		return true
	}
	return t.Local.Addr().Unmap().IsLoopback() || t.Remote.Addr().Unmap().IsLoopback()
}

// twReusable is Conn.twReusable for a packed connection.
func (p *Proto) twReusable(tw *twSock) bool {
	return !tw.flags.has(twFinWait2) && p.twReusableAt(tw.tuple, tw.flags.has(twTSOK), tw.deadline)
}

// tsOffset returns the offset added to the timestamp clock on
// connections between local and remote: a keyed hash of the address
// pair, as Linux's secure_tcp_ts_off. It hides the host's uptime from
// the peer (RFC 7323 §7.1) while the TSvals of one address pair keep
// increasing from one connection to the next, so that a SYN reusing a
// 4-tuple held in TIME_WAIT carries a higher timestamp than the old
// connection: it recycles TIME_WAIT (RFC 6191) rather than fail PAWS
// (RFC 7323 §5). A random offset per connection would fail half the time.
func (p *Proto) tsOffset(local, remote netip.Addr) uint32 {
	if !local.Is4() {
		var b [16 + 1 + 32]byte
		copy(b[:], p.secret[:])
		b[16] = 'T'
		la, ra := local.As16(), remote.As16()
		copy(b[17:], la[:])
		copy(b[33:], ra[:])
		h := sha256.Sum256(b[:])
		return binary.BigEndian.Uint32(h[:])
	}
	var b [16 + 1 + 8]byte
	copy(b[:], p.secret[:])
	b[16] = 'T' // a different input domain from the ISN's F()
	la, ra := local.As4(), remote.As4()
	copy(b[17:], la[:])
	copy(b[21:], ra[:])
	h := sha256.Sum256(b[:])
	return binary.BigEndian.Uint32(h[:])
}

// tsNow returns the timestamp clock (1 ms ticks, RFC 7323 §5.4).
func (p *Proto) tsNow() uint32 {
	return uint32(p.sinceEpoch() / time.Millisecond)
}

// sinceEpoch returns the time since p.epoch, now.
func (p *Proto) sinceEpoch() time.Duration {
	now := p.net.Now()
	if now != p.lastNow {
		p.lastNow, p.lastSince = now, now.Sub(p.epoch)
		p.lastJiffy = p.ticksDown(p.lastSince)
	}
	return p.lastSince
}

// Connect starts an active open from local to remote. A zero local
// address means the route's source address, a zero local port an
// ephemeral port. The returned Conn is in SYN_SENT.
func (p *Proto) Connect(local, remote netip.AddrPort, o *SockOpts) (*Conn, error) {
	if ra := remote.Addr(); !ra.IsValid() || ra.Is4In6() || remote.Port() == 0 {
		return nil, syscall.EINVAL
	}
	src, mtu, err := p.net.Route(remote.Addr())
	if err != nil {
		return nil, err
	}
	if la := local.Addr(); la.IsValid() && !la.IsUnspecified() {
		if !p.net.IsLocal(la) {
			return nil, syscall.EADDRNOTAVAIL
		}
		src = la
	}
	t := core.Tuple{Local: netip.AddrPortFrom(src, local.Port()), Remote: remote}
	var h heir // from a TIME_WAIT the connection takes over (twTakeOver)
	if local.Port() == 0 {
		var port uint16
		var ok bool
		port, h, ok = p.ephemeral(src, remote)
		if !ok {
			// Linux's connect fails so (EADDRNOTAVAIL) when every
			// port to this destination is taken.
			p.counters.PortsExhausted++
			return nil, syscall.EADDRNOTAVAIL
		}
		t.Local = netip.AddrPortFrom(src, port)
	} else if old, tw := p.conns[t], p.tw[t]; old != nil || tw != nil {
		// A port the socket bound: as Linux's __inet_check_established
		// with no twp, a timewait socket (TIME_WAIT, or an orphan in
		// FIN_WAIT_2) that had timestamps is taken over at once
		// (neither tcp_tw_reuse nor its delay apply), and a 4-tuple
		// held otherwise is EADDRNOTAVAIL.
		if old != nil && (!old.timewaitSock() || !old.tsOK) || tw != nil && !tw.flags.has(twTSOK) {
			return nil, syscall.EADDRNOTAVAIL
		}
		if old == nil {
			old = p.twRevive(tw)
		}
		h = p.twTakeOver(old)
	}
	c := p.newConn(t, o, mtu)
	c.iss = h.isn
	if !h.ok {
		c.iss = p.isn(t)
	}
	c.tsRecent, c.tsInherited = h.tsRecent, h.ok
	c.sndUna, c.sndNxt, c.sndMax = c.iss, c.iss, c.iss
	c.sndBase = c.iss.Add(1)
	c.recover = c.iss
	c.sndSml = c.iss
	p.addConn(t, c)
	p.counters.ActiveOpens++
	c.setState(SynSent)
	c.sendSYN(whyConnect, false)
	return c, nil
}

// ephemeral picks a free local port for a connection from src to
// remote, as RFC 6056 §3.3.4 (Algorithm 4, double-hash) and Linux's
// __inet_hash_connect do: a keyed hash of (src, remote) gives an offset
// into the range and picks one of perturbSize counters; the search starts
// at offset + counter and walks in steps of two through the ports of the
// range's parity, then the others (Linux keeps the other parity for
// bind(0)), and the counter advances past the port taken. Successive
// connections to one destination so take successive ports and come back
// to a 4-tuple only after the whole range, while the sequence differs per
// destination and per stack (the key is from the stack's seeded Rand, so
// the choice is deterministic in simulation). A port is free when no
// connection holds the 4-tuple (or a reusable TIME_WAIT does) and no
// listener holds the port. The first candidate is free unless ports stay
// in use; a full range is searched once per removal from the table and
// millisecond (see Proto.full).
func (p *Proto) ephemeral(src netip.Addr, remote netip.AddrPort) (port uint16, _ heir, ok bool) {
	first := uint32(p.cfg.PortFirst)
	n := uint32(p.cfg.PortLast) - first + 1
	tick := p.sinceEpoch() / time.Millisecond
	f := &p.full
	if f.valid && f.src == src && f.remote == remote && f.gone == p.gone && f.tick == tick {
		return 0, heir{}, false
	}
	hash := p.portHash(src, remote)
	idx := (hash >> 32) % perturbSize
	offset := (uint32(hash) + uint32(p.perturb[idx])) % n
	offset &^= 1
	for pass := range 2 {
		for i := uint32(0); i < n; i += 2 {
			k := (offset + i) % n
			k = k&^1 | uint32(pass)
			if k >= n {
				continue
			}
			port := uint16(first + k)
			h, free := p.portFree(src, port, remote)
			if !free {
				continue
			}
			p.perturb[idx] += uint16(i + 2 + uint32(pass)*n)
			return port, h, true
		}
	}
	*f = struct {
		src    netip.Addr
		remote netip.AddrPort
		gone   uint64
		tick   time.Duration
		valid  bool
	}{src, remote, p.gone, tick, true}
	return 0, heir{}, false
}

// portFree reports whether a connection from src:port to remote may be
// made, ending a reusable TIME_WAIT that holds the 4-tuple; the new
// connection is then its heir (twTakeOver).
func (p *Proto) portFree(src netip.Addr, port uint16, remote netip.AddrPort) (_ heir, free bool) {
	t := core.Tuple{Local: netip.AddrPortFrom(src, port), Remote: remote}
	old, tw := p.conns[t], p.tw[t]
	if old != nil && !old.twReusable() || tw != nil && !p.twReusable(tw) {
		return heir{}, false
	}
	if p.listenerAt(netip.AddrPortFrom(src, port)) != nil {
		return heir{}, false
	}
	if old == nil && tw != nil {
		old = p.twRevive(tw)
	}
	if old != nil {
		return p.twTakeOver(old), true
	}
	return heir{}, true
}

// portHash is RFC 6056's F(local address, remote address, remote port,
// secret key) for the port choice, from a domain of its own.
func (p *Proto) portHash(src netip.Addr, remote netip.AddrPort) uint64 {
	if !src.Is4() {
		var b [16 + 1 + 34]byte
		copy(b[:], p.secret[:])
		b[16] = 'P'
		la, ra := src.As16(), remote.Addr().As16()
		copy(b[17:], la[:])
		copy(b[33:], ra[:])
		binary.BigEndian.PutUint16(b[49:], remote.Port())
		h := sha256.Sum256(b[:])
		return binary.BigEndian.Uint64(h[:])
	}
	var b [16 + 1 + 10]byte
	copy(b[:], p.secret[:])
	b[16] = 'P'
	la, ra := src.As4(), remote.Addr().As4()
	copy(b[17:], la[:])
	copy(b[21:], ra[:])
	binary.BigEndian.PutUint16(b[25:], remote.Port())
	h := sha256.Sum256(b[:])
	return binary.BigEndian.Uint64(h[:])
}

// MaxBacklog is Linux's net.core.somaxconn (4096 since Linux 5.4): the
// largest listen backlog.
const MaxBacklog = 4096

// clampBacklog is the backlog Linux's listen keeps: a value above
// somaxconn, or negative (compared unsigned), is somaxconn.
func clampBacklog(b int) int {
	if b < 0 || b > MaxBacklog {
		return MaxBacklog
	}
	return b
}

// GroupNet is implemented by a [Net] whose sockets may be bound to an
// address that is not the host's own: a multicast or broadcast one, as
// Linux's inet_bind allows. A listener there takes no connection.
type GroupNet interface {
	IsGroupAddr(addr netip.Addr) bool
}

func (p *Proto) groupAddr(a netip.Addr) bool {
	g, ok := p.net.(GroupNet)
	return ok && g.IsGroupAddr(a)
}

// Listen starts a passive open on local (an unspecified address listens
// on every address). backlog bounds the SYN and accept queues, as
// Linux's: each holds backlog+1, a negative backlog or one above
// MaxBacklog is MaxBacklog (net.core.somaxconn). It returns
// syscall.EADDRINUSE if the address is taken.
func (p *Proto) Listen(local netip.AddrPort, backlog int, o *SockOpts) (*Listener, error) {
	a := local.Addr()
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
	}
	if a.Is4In6() {
		return nil, syscall.EAFNOSUPPORT
	}
	if !a.IsUnspecified() && !p.net.IsLocal(a) && !p.groupAddr(a) {
		return nil, syscall.EADDRNOTAVAIL
	}
	if local.Port() == 0 {
		return nil, syscall.EINVAL
	}
	local = netip.AddrPortFrom(a, local.Port())
	reuse := o != nil && o.ReusePort
	if p.listenPorts[local.Port()] > 0 { // only a port with listeners needs the walk
		for k, l := range p.listens {
			if k.Port() == local.Port() && bindConflict(k.Addr(), l.opts.V6Only, a, o != nil && o.V6Only) &&
				!(reuse && l.opts.ReusePort) {
				return nil, syscall.EADDRINUSE
			}
		}
	}
	l := &Listener{p: p, addr: local, backlog: clampBacklog(backlog)}
	if o != nil {
		l.opts = *o
	}
	// An SO_REUSEPORT group on one address is a chain, in listen order.
	if head := p.listens[local]; head != nil {
		for head.next != nil {
			head = head.next
		}
		head.next = l
	} else {
		p.listens[local] = l
		p.listenPorts[local.Port()]++
	}
	return l, nil
}

// unlisten takes l out of the listener table (and out of its group).
func (p *Proto) unlisten(l *Listener) {
	head := p.listens[l.addr]
	switch {
	case head == l && l.next == nil:
		delete(p.listens, l.addr)
		if p.listenPorts[l.addr.Port()]--; p.listenPorts[l.addr.Port()] <= 0 {
			delete(p.listenPorts, l.addr.Port())
		}
	case head == l:
		p.listens[l.addr] = l.next
	default:
		for x := head; x != nil; x = x.next {
			if x.next == l {
				x.next = l.next
				break
			}
		}
	}
	l.next = nil
}

// listenerFor returns the listener for a connection on t: the one on
// t's local address (exact match first), and in an SO_REUSEPORT group
// the one the 4-tuple's hash picks, so that one flow always reaches the
// same listener and the flows spread over the group (as Linux's
// reuseport_select_sock).
func (p *Proto) listenerFor(t core.Tuple) *Listener {
	l := p.listenerAt(t.Local)
	if l == nil || l.next == nil {
		return l
	}
	n := 0
	for x := l; x != nil; x = x.next {
		n++
	}
	h := uint32(2166136261) // FNV-1a over the 4-tuple
	if la, ra := t.Local.Addr(), t.Remote.Addr(); la.Is4() {
		l4, r4 := la.As4(), ra.As4()
		for _, b := range [...]byte{l4[0], l4[1], l4[2], l4[3], r4[0], r4[1], r4[2], r4[3]} {
			h = (h ^ uint32(b)) * 16777619
		}
	} else {
		l16, r16 := la.As16(), ra.As16()
		for _, b := range append(l16[:], r16[:]...) {
			h = (h ^ uint32(b)) * 16777619
		}
	}
	for _, b := range [...]byte{byte(t.Local.Port() >> 8), byte(t.Local.Port()), byte(t.Remote.Port() >> 8), byte(t.Remote.Port())} {
		h = (h ^ uint32(b)) * 16777619
	}
	// The hash's high bits pick, as Linux's reciprocal_scale: FNV-1a's
	// low bit follows the ports' low bit, and connect takes ports of
	// one parity.
	for i := int(uint64(h) * uint64(n) >> 32); i > 0; i-- {
		l = l.next
	}
	return l
}

// listenerAt returns the listener for a local address, exact match first.
func (p *Proto) listenerAt(a netip.AddrPort) *Listener {
	if l := p.listens[a]; l != nil {
		return l
	}
	if a.Addr().Is6() {
		return p.listens[netip.AddrPortFrom(netip.IPv6Unspecified(), a.Port())]
	}
	if l := p.listens[netip.AddrPortFrom(netip.IPv4Unspecified(), a.Port())]; l != nil {
		return l
	}
	// A dual-stack listener on [::] takes IPv4 connections too, unless
	// it is IPV6_V6ONLY (Linux's bindv6only=0 default).
	if l := p.listens[netip.AddrPortFrom(netip.IPv6Unspecified(), a.Port())]; l != nil && !l.opts.V6Only {
		return l
	}
	return nil
}

// conn returns the connection under t, or nil. The last one found is
// kept aside: the segments of a transfer come one connection at a time,
// and comparing two tuples is cheaper than hashing one.
func (p *Proto) conn(t core.Tuple) *Conn {
	if p.lastConn != nil && p.lastTuple == t {
		return p.lastConn
	}
	c := p.conns[t]
	if c != nil {
		p.lastTuple, p.lastConn = t, c
	}
	return c
}

// Input processes one inbound TCP segment from src to dst. It verifies
// the checksum, finds the connection or listener, and answers with a RST
// when there is none. pktID names the packet in drop events.
func (p *Proto) Input(src, dst netip.Addr, b []byte, pktID uint64) {
	p.InputECN(src, dst, b, pktID, ECNNotECT)
}

// InputECN is [Proto.Input] for a segment whose IP header carried the
// ECN codepoint ecn (RFC 3168 §5).
func (p *Proto) InputECN(src, dst netip.Addr, b []byte, pktID uint64, ecn uint8) {
	p.InputChecked(src, dst, b, pktID, ecn, false)
}

// InputChecked is [Proto.InputECN] for a segment whose checksum the link
// vouches for when checked is true (receive checksum offload: the
// sending stack computed it and nothing changed the frame since, see
// stack.Packet.ChecksumOK); it is then not verified again.
func (p *Proto) InputChecked(src, dst netip.Addr, b []byte, pktID uint64, ecn uint8, checked bool) {
	p.input(src, dst, b, pktID, ecn, checked, false, 0)
}

// InputIPv6 is [Proto.InputChecked] for a segment that came in an IPv6
// packet with the flow label flow: duplicate data with a new label
// draws the connection a new one (see Conn.spuriousRetrans).
func (p *Proto) InputIPv6(src, dst netip.Addr, b []byte, pktID uint64, ecn uint8, checked bool, flow uint32) {
	p.input(src, dst, b, pktID, ecn, checked, true, flow)
}

func (p *Proto) input(src, dst netip.Addr, b []byte, pktID uint64, ecn uint8, checked, v6 bool, flow uint32) {
	p.counters.InSegs++
	if len(b) < headerLen {
		p.counters.InErrs++
		p.counters.DropMalformed++
		p.drop(nil, "DropMalformed", "truncated header", pktID)
		return
	}
	if !checked && !p.checksumOK(src, dst, b) {
		p.counters.InErrs++
		p.counters.InCsumErrors++
		p.counters.DropBadChecksum++
		p.drop(nil, "DropBadChecksum", "bad checksum", pktID)
		return
	}
	var seg segment // on the stack: Input may be re-entered from Output (loopback)
	s := &seg
	if !parseSegment(b, s) || (s.badOpts && !p.linux) {
		p.counters.InErrs++
		p.counters.DropMalformed++
		p.drop(nil, "DropMalformed", "malformed header or options", pktID)
		return
	}
	if s.badOpts {
		// Linux takes the segment with the options read before the bad
		// one (tcp_parse_options stops there); the rfc profile drops it.
		p.counters.InBadOptions++
	}
	s.pktID = pktID
	s.ecn, s.v6, s.flow = ecn&3, v6, flow
	t := core.Tuple{Local: netip.AddrPortFrom(dst, s.dstPort), Remote: netip.AddrPortFrom(src, s.srcPort)}
	c := p.conn(t)
	if c == nil && len(p.tw) > 0 {
		if tw := p.tw[t]; tw != nil {
			if p.twSYN(tw, t, s) {
				return
			}
			c = p.twRevive(tw)
		}
	}
	if c != nil {
		c.tiIn(s)
		switch {
		case c.state == TimeWait:
			if c.inputTimeWait(s) {
				if l := p.listenerFor(t); l != nil {
					// Linux's TCP_TW_SYN: the SYN goes to the listener.
					l.inputISN(t, s, p.twTakeOver(c).isn)
					return
				}
				c.twAck(s) // no listener: answered as any other segment
			}
		case c.state == FinWait2 && c.orphan:
			c.inputOrphanFinWait2(s)
		default:
			c.input(s)
		}
		c.series()
		if c.orphan {
			p.twPack(c) // in TIME_WAIT or FIN_WAIT_2 now: packed (timewait.go)
		}
		return
	}
	if l := p.listenerFor(t); l != nil {
		l.input(t, s)
		return
	}
	p.counters.DropNoSocket++
	p.drop(nil, "DropNoSocket", "no socket", pktID)
	p.resetFor(t, s, whyRSTNoSocket)
}

// resetFor answers segment s on tuple t with a RST per RFC 9293
// §3.10.7.1, unless s is itself a RST.
func (p *Proto) resetFor(t core.Tuple, s *segment, why string) {
	if s.has(flagRST) {
		return
	}
	if s.has(flagACK) {
		p.send(t, s.ack, 0, flagRST, 0, nil, nil, nil, why)
	} else {
		p.send(t, 0, s.seq.Add(s.seqLen()), flagRST|flagACK, 0, nil, nil, nil, why)
	}
	p.counters.OutRsts++
}

// SegmentBufferNet is implemented by a [Net] that lends the engine the
// room after its own headers in the buffer it sends frames from: a
// segment built there is sent without the network layer copying it
// (Linux builds a segment in an skb with room reserved for the headers
// below, skb_reserve). The buffer is valid until the segment is handed
// to Output, which must be the next call into the Net that sends.
type SegmentBufferNet interface {
	SegmentBuffer() []byte
}

// send builds one segment and hands it to Net: in the room the Net
// lends (SegmentBufferNet), or else in the scratch buffer.
func (p *Proto) send(t core.Tuple, seq, ack seqnum.Value, flags uint8, wnd uint16, o *options, d1, d2 []byte, why string) {
	b := p.scratch
	if p.segNet != nil {
		if sb := p.segNet.SegmentBuffer(); len(sb) >= headerLen+maxOptionLen+len(d1)+len(d2) {
			b = sb
		}
	}
	optLen := 0
	if o != nil {
		optLen = encodeOptions(b[headerLen:headerLen+maxOptionLen], o, flags&flagSYN != 0)
	}
	hl := headerLen + optLen
	n := hl + copy(b[hl:], d1)
	n += copy(b[n:], d2)
	seg := b[:n]
	writeHeader(seg, t.Local.Port(), t.Remote.Port(), seq, ack, flags, wnd, hl)
	if p.urgOn {
		seg[13] |= flagURG
		wire.TCP(seg).SetUrgent(p.urgPtr)
		p.urgOn = false
	}
	if p.offload {
		seg[wire.TCPChecksumOffset], seg[wire.TCPChecksumOffset+1] = 0, 0
	} else {
		wire.TCP(seg).SetChecksumPair(p.pair.sum(t.Local.Addr(), t.Remote.Addr()))
	}
	p.counters.OutSegs++
	x := p.ipHdr
	p.ipHdr = ipNext{}
	if p.ipNet != nil {
		h := IPHeader{TTL: x.ttl, TOS: x.tos &^ 3, DF: !x.noDF, ID: x.id, Flow: x.flow}
		if p.ect {
			h.TOS |= ECNECT0
		}
		p.ect = false
		p.ipNet.OutputIP(t.Local.Addr(), t.Remote.Addr(), seg, why, h)
		return
	}
	if p.ect {
		p.ect = false
		if en, ok := p.net.(ECNNet); ok {
			en.OutputECN(t.Local.Addr(), t.Remote.Addr(), seg, why, ECNECT0)
			return
		}
	}
	p.net.Output(t.Local.Addr(), t.Remote.Addr(), seg, why)
}

// drop reports a dropped segment. name is the counter.
func (p *Proto) drop(c *Conn, name, detail string, pktID uint64) {
	if !p.net.Tracing() {
		return
	}
	ev := core.Event{Kind: core.EventDrop, FD: -1, Proto: "tcp", Name: name, Detail: detail, PacketID: pktID}
	if c != nil {
		ev.Conn = c.tuple
	}
	p.net.Observe(&ev)
}

// newController returns the named congestion controller, or the stack
// default when the name is unknown.
func (p *Proto) newController(name string, mss int) cc.Controller {
	if name == "" {
		name = p.cfg.Congestion
	}
	ctl, err := cc.NewConfig(name, p.ccConfig(name, mss))
	if err != nil {
		ctl, _ = cc.NewConfig(p.cfg.Congestion, p.ccConfig(p.cfg.Congestion, mss))
	}
	return ctl
}

// bindConflict reports whether listeners on addresses a and b (with
// IPV6_V6ONLY as given) overlap: in one family when they are equal or
// either is the wildcard; across families when the IPv6 one is a
// dual-stack wildcard ([::] without IPV6_V6ONLY), as in Linux's
// inet_bind_conflict.
func bindConflict(a netip.Addr, aV6Only bool, b netip.Addr, bV6Only bool) bool {
	if a.Is4() == b.Is4() {
		return a == b || a.IsUnspecified() || b.IsUnspecified()
	}
	v6, v6only := b, bV6Only
	if a.Is6() {
		v6, v6only = a, aV6Only
	}
	return v6.IsUnspecified() && !v6only
}
