// Package run plays packetdrill scripts (package pkt) against stacklab's
// stack in virtual time: the stack under test sits on a raw-IP interface
// (192.168.0.1/16, the remote end 192.0.2.1; with --ip_version=ipv6
// fd3d:fa7b:d17d::1/48 and 2001:db8::1, packetdrill's IPv6 defaults),
// the script's inbound
// packets (<) are injected with its sequence numbers and timestamps
// mapped to the live ones, its outbound packets (>) are checked field by
// field at exact virtual times, and its system calls go through the
// stack's descriptor facade.
package run

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"stacklab/capture"
	"stacklab/pkt"
	"stacklab/sim"
	"stacklab/stack"
	"stacklab/stack/wire"
)

// Addresses and ports, as packetdrill's defaults (its IPv6 local
// address is random in fd3d:fa7b:d17d::/48; here the first one).
var (
	LocalAddr   = netip.MustParseAddr("192.168.0.1")
	LocalNet    = netip.MustParsePrefix("192.168.0.1/16")
	RemoteAddr  = netip.MustParseAddr("192.0.2.1")
	LocalAddr6  = netip.MustParseAddr("fd3d:fa7b:d17d::1")
	LocalNet6   = netip.MustParsePrefix("fd3d:fa7b:d17d::1/48")
	RemoteAddr6 = netip.MustParseAddr("2001:db8::1")
)

const (
	bindPort    = 8080  // packetdrill's --bind_port
	connectPort = 8080  // packetdrill's --connect_port
	remotePort  = 50427 // the remote end's port for connections it opens
)

// Options configure a run.
type Options struct {
	// Tolerance is how far an outbound packet or a call's return may be
	// from its script time; the script's --tolerance_usecs overrides it.
	Tolerance time.Duration
	// TolerancePercent widens Tolerance to this share of the time since
	// the previous event, as packetdrill's --tolerance_percent (12.5 %
	// there by default, the slack of the kernel's timer wheel; 0 here,
	// where virtual time is exact); the script's option overrides it.
	TolerancePercent float64
	// StrictSegments turns off merging consecutive outbound segments into
	// one script line (TSO/GSO as the kernel's packets show it).
	StrictSegments bool
	// TSTick, when set, checks outbound TS vals: the script's tick
	// (--tcp_ts_tick_usecs; the script's own option overrides it).
	TSTick time.Duration
	// Seed seeds the stack's randomness (ISNs, ports).
	Seed uint64
	// Dir, if set, receives each script's capture (pcapng) and layered
	// trace in DIR/PARENT/NAME/ (PARENT the script's directory's name).
	Dir string
	// TraceLines is how many trace lines a failure shows; default 12.
	TraceLines int
	// IPVersion is packetdrill's --ip_version: "ipv4" (or empty),
	// "ipv4-mapped-ipv6", where the sockets under test are AF_INET6 and
	// their addresses IPv4-mapped (::ffff:192.0.2.1) while the packets
	// stay IPv4, or "ipv6": AF_INET6 sockets, IPv6 packets (ICMP lines
	// are ICMPv6, with its names, as packetdrill's). The script's own
	// --ip_version overrides it. As upstream packetdrill's run_all.py, a
	// script whose name ends in v4.pkt is not played over IPv6, and one
	// ending in v6.pkt only over IPv6 (SKIP, saying so).
	IPVersion string
	// MTU is the interface's MTU, packetdrill's --mtu (default 1500;
	// packetdrill's run_all.py gives 1520 over IPv6, so that the same
	// scripts see the MSS of 1460 they see over IPv4). The script's own
	// --mtu overrides it.
	MTU int
}

// CheckIPVersion and CheckMTU say what is wrong with a --ip_version or
// --mtu value, the flag's or a script's own, or nil.
func CheckIPVersion(v string) error {
	switch v {
	case "", "ipv4", "ipv4-mapped-ipv6", "ipv6":
		return nil
	}
	return fmt.Errorf("--ip_version=%s: want ipv4, ipv4-mapped-ipv6 or ipv6", v)
}

func CheckMTU(mtu int) error {
	if mtu != 0 && (mtu < 68 || mtu > 65535) {
		return fmt.Errorf("--mtu=%d: want bytes from 68 to 65535", mtu)
	}
	return nil
}

// Status is a script's outcome.
type Status string

// Outcomes.
const (
	Pass Status = "PASS"
	Fail Status = "FAIL"
	Skip Status = "SKIP"
)

// Result is one script's outcome.
type Result struct {
	File     string   `json:"file"`
	Status   Status   `json:"status"`
	Line     int      `json:"line,omitempty"`
	Message  string   `json:"message,omitempty"`
	Expected string   `json:"expected,omitempty"`
	Actual   string   `json:"actual,omitempty"`
	Trace    []string `json:"trace,omitempty"`
	Files    []string `json:"files,omitempty"`
}

// failure stops a script.
type failure struct {
	line             int
	msg              string
	expected, actual string
	skip             bool
}

func (f *failure) Error() string { return f.msg }

// File parses and runs one script file. A parse error is returned as an
// error (bad input); a run's outcome is in the Result.
func File(path string, o Options) (Result, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return Result{}, err
	}
	if len(src) > 1<<20 {
		return Result{}, fmt.Errorf("%s: the script is larger than 1 MiB", path)
	}
	s, err := pkt.Parse(path, string(src))
	if err != nil {
		return Result{}, err
	}
	return Script(s, string(src), o), nil
}

// Script runs a parsed script. src is its text, for the lines quoted in
// failures.
func Script(s *pkt.Script, src string, o Options) Result {
	r := newRunner(s, src, o)
	res := Result{File: s.File, Status: Pass}
	f := r.run()
	if r.rec != nil {
		if err := r.rec.Close(); err != nil && f == nil {
			f = &failure{msg: "writing the capture: " + err.Error()}
		}
		res.Files = r.rec.Files()
	}
	if r.traceFile != nil {
		if err := r.traceFile.Close(); err != nil && f == nil {
			f = &failure{msg: "writing the trace: " + err.Error()}
		}
		res.Files = append(res.Files, r.traceFile.Name())
	}
	if f == nil {
		return res
	}
	res.Status = Fail
	if f.skip {
		res.Status = Skip
	}
	res.Line, res.Message, res.Expected, res.Actual = f.line, f.msg, f.expected, f.actual
	if !f.skip {
		res.Trace = r.ring.lines()
	}
	return res
}

// ring keeps the last lines of the trace.
type ring struct {
	max  int
	buf  []string
	part []byte
}

func (g *ring) Write(p []byte) (int, error) {
	g.part = append(g.part, p...)
	for {
		i := bytes.IndexByte(g.part, '\n')
		if i < 0 {
			break
		}
		g.buf = append(g.buf, string(g.part[:i]))
		if len(g.buf) > g.max {
			g.buf = g.buf[len(g.buf)-g.max:]
		}
		g.part = g.part[i+1:]
	}
	return len(p), nil
}

func (g *ring) lines() []string { return append([]string(nil), g.buf...) }

// runner is one script's run.
type runner struct {
	s     *pkt.Script
	lines []string
	o     Options
	tol   time.Duration // the tolerance, --tolerance_usecs
	pct   float64       // --tolerance_percent
	evTol time.Duration // the event's: tol, or pct of the time since the one before

	clock     *sim.Clock
	start     time.Time
	st        *stack.Stack
	nic       *stack.NIC
	rec       *capture.Recorder
	ring      *ring
	traceFile *os.File
	tcpOpts   stack.TCPOptions
	tsTick    time.Duration // --tcp_ts_tick_usecs: check outbound TS val; 0 ignores it

	local, remote netip.Addr // the stack's address and the remote end's, in the run's family

	out     []seg // outbound segments of the flow under test, not yet matched
	ignored int   // outbound packets of other flows

	flowSet            bool
	flowProto          uint8 // wire.ProtoTCP or ProtoUDP
	localPort, remPort uint16
	// Sequence numbers in script terms, as packetdrill maps them: a
	// segment with SYN is numbered from the script's own number for the
	// SYN that opened the connection (scriptISN), any other from the live
	// ISN (localISN); the remote end's numbers from the script's number
	// for its SYN (remoteISN). The first SYN or SYN-ACK, and the SYN of a
	// later connect, anchor the local side; the remote end's SYN (passive
	// open) or its SYN-ACK to our SYN anchors the remote side.
	isnKnown           bool
	localISN           uint32
	scriptISN          uint32
	scriptISNSet       bool
	remoteISN          uint32
	remoteAnchored     bool // the remote end's SYN anchored remoteISN (passive open)
	synSent            bool // an outbound SYN awaits the SYN-ACK that anchors remoteISN
	tsKnown            bool
	tsScript, tsActual uint32 // the first outbound TS val in script and live terms
	ipID               uint16
	pktID              uint64
	// The IPv6 flow label an outbound packet's script label stands for,
	// as packetdrill maps them (checkFlowLabel); flowScript 0: none yet.
	flowScript, flowLive uint32
	lastRemoteTSVal      uint32
	lastScriptTime       time.Duration
	fds                  map[int64]int // script fd → stack fd
	userNB               map[int]bool  // stack fd → made non-blocking by the script
	lastFD               int           // the stack fd of the last call, for %{ }%
	pend                 *pendingCall
	fail                 *failure
	steps                int
}

func newRunner(s *pkt.Script, src string, o Options) *runner {
	if o.TraceLines == 0 {
		o.TraceLines = 12
	}
	return &runner{
		s: s, lines: strings.Split(src, "\n"), o: o, tol: o.Tolerance, pct: o.TolerancePercent,
		ring: &ring{max: o.TraceLines}, fds: map[int64]int{}, userNB: map[int]bool{},
		lastFD: -1, tsTick: o.TSTick,
	}
}

// line returns the script's text at a line, trimmed.
func (r *runner) line(n int) string {
	if n < 1 || n > len(r.lines) {
		return ""
	}
	return strings.TrimSpace(r.lines[n-1])
}

func (r *runner) failf(line int, format string, args ...any) *failure {
	f := &failure{line: line, msg: fmt.Sprintf(format, args...)}
	if r.fail == nil {
		r.fail = f
	}
	return r.fail
}

func (r *runner) skipf(line int, format string, args ...any) *failure {
	f := &failure{line: line, msg: fmt.Sprintf(format, args...), skip: true}
	if r.fail == nil {
		r.fail = f
	}
	return r.fail
}

// now is the virtual time since the start.
func (r *runner) now() time.Duration { return r.clock.Now().Sub(r.start) }

func (r *runner) run() *failure {
	if f := r.options(); f != nil {
		return f
	}
	// The first command configures the stack (sysctl lines).
	if r.s.Init != nil {
		if f := r.command(r.s.Init, cmdInit); f != nil {
			return f
		}
	}
	for _, ev := range r.s.Events {
		if ev.Command != nil {
			if f := r.command(ev.Command, cmdCheck); f != nil {
				return f
			}
		}
	}
	if f := r.setup(); f != nil {
		return f
	}
	for i := range r.s.Events {
		ev := &r.s.Events[i]
		if f := r.event(ev); f != nil {
			return f
		}
		if r.fail != nil {
			return r.fail
		}
	}
	// A call still blocked must return by its time.
	if p := r.pend; p != nil {
		r.runUntil(p.end + p.tol)
		if r.fail != nil {
			return r.fail
		}
		if r.pend != nil {
			return r.failf(p.line, "%s: %s is still blocked past %s, when the script expects it to return (tolerance %s)", p.pos, p.name, secs(p.end), p.tol)
		}
	}
	if r.s.Cleanup != nil {
		if f := r.command(r.s.Cleanup, cmdCheck); f != nil {
			return f
		}
	}
	return nil
}

// options applies the script's --name=value lines.
func (r *runner) options() *failure {
	for _, op := range r.s.Options {
		switch op.Name {
		case "tolerance_usecs":
			var us int64
			if _, err := fmt.Sscan(op.Value, &us); err != nil || us < 0 {
				return r.failf(op.Pos.Line, "%s: --tolerance_usecs wants microseconds, got %q", op.Pos, op.Value)
			}
			r.tol = time.Duration(us) * time.Microsecond
		case "tolerance_percent":
			var pct float64
			if _, err := fmt.Sscan(op.Value, &pct); err != nil || pct < 0 || pct > 100 {
				return r.failf(op.Pos.Line, "%s: --tolerance_percent wants a percentage from 0 to 100, got %q", op.Pos, op.Value)
			}
			r.pct = pct
		case "strict_segments":
			r.o.StrictSegments = true
		case "tcp_ts_tick_usecs":
			var us int64
			if _, err := fmt.Sscan(op.Value, &us); err != nil || us < 0 {
				return r.failf(op.Pos.Line, "%s: --tcp_ts_tick_usecs wants microseconds, got %q", op.Pos, op.Value)
			}
			r.tsTick = time.Duration(us) * time.Microsecond
		case "ip_version":
			r.o.IPVersion = op.Value
		case "mtu":
			mtu, err := strconv.Atoi(op.Value)
			if err == nil {
				err = CheckMTU(mtu)
			}
			if err != nil || mtu == 0 {
				return r.failf(op.Pos.Line, "%s: --mtu wants bytes from 68 to 65535, got %q", op.Pos, op.Value)
			}
			r.o.MTU = mtu
		case "bind_port", "connect_port", "local_ip", "remote_ip", "gateway_ip", "netmask_ip", "mss", "init_scripts", "speed", "non_fatal", "dry_run", "verbose", "wire_client", "wire_server":
			return r.skipf(op.Pos.Line, "option --%s is not supported by stacklab's runner", op.Name)
		default:
			return r.skipf(op.Pos.Line, "unknown option --%s", op.Name)
		}
	}
	if err := CheckIPVersion(r.o.IPVersion); err != nil {
		return r.failf(0, "%v", err)
	}
	if r.o.MTU == 0 {
		r.o.MTU = 1500
	}
	if r.o.MTU < 1280 && r.v6() {
		return r.failf(0, "--mtu=%d: IPv6 needs an MTU of at least 1280", r.o.MTU)
	}
	name := strings.TrimSuffix(filepath.Base(r.s.File), ".pkt")
	if strings.HasSuffix(name, "v4") && r.v6() {
		return r.skipf(0, "an IPv4-only script (its name ends in v4.pkt, as upstream packetdrill's run_all.py plays it): not played with --ip_version=ipv6")
	}
	if strings.HasSuffix(name, "v6") && !r.v6() {
		return r.skipf(0, "an IPv6-only script (its name ends in v6.pkt, as upstream packetdrill's run_all.py plays it): played with --ip_version=ipv6 only")
	}
	r.local, r.remote = LocalAddr, RemoteAddr
	if r.v6() {
		r.local, r.remote = LocalAddr6, RemoteAddr6
	}
	return nil
}

// v6 reports whether the packets are IPv6 (--ip_version=ipv6).
func (r *runner) v6() bool { return r.o.IPVersion == "ipv6" }

// mapped reports whether the sockets under test are AF_INET6 with
// IPv4-mapped addresses (--ip_version=ipv4-mapped-ipv6).
func (r *runner) mapped() bool { return r.o.IPVersion == "ipv4-mapped-ipv6" }

// family is the address family of the sockets under test.
func (r *runner) family() stack.Family {
	if r.mapped() || r.v6() {
		return stack.AFInet6
	}
	return stack.AFInet
}

// sockAddr is an address as the socket under test names it: IPv4,
// IPv4-mapped in ipv4-mapped-ipv6 mode, IPv6 in ipv6 mode.
func (r *runner) sockAddr(a netip.Addr, port uint16) netip.AddrPort {
	if r.mapped() {
		return netip.AddrPortFrom(netip.AddrFrom16(a.As16()), port)
	}
	return netip.AddrPortFrom(a, port)
}

// setup builds the stack under test.
func (r *runner) setup() *failure {
	r.start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r.clock = sim.NewClock(r.start)
	copts := capture.Options{
		Trace: r.ring, Format: capture.Format(0), Start: r.start, Scenario: filepath.Base(r.s.File),
		Seed:  r.o.Seed,
		Names: map[netip.Addr]string{r.local: "stacklab", r.remote: "remote"},
	}
	if r.o.Dir != "" {
		// DIR/PARENT/NAME: scripts of the same name in two directories
		// do not overwrite each other.
		base := strings.TrimSuffix(filepath.Base(r.s.File), ".pkt")
		dir := filepath.Join(r.o.Dir, filepath.Base(filepath.Dir(r.s.File)), base)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return r.failf(0, "output directory: %v", err)
		}
		tf, err := os.Create(filepath.Join(dir, "trace.txt"))
		if err != nil {
			return r.failf(0, "output directory: %v", err)
		}
		r.traceFile = tf
		copts.Dir = dir
		copts.Trace = io.MultiWriter(r.ring, tf)
	}
	rec, err := capture.New(copts)
	if err != nil {
		return r.failf(0, "capture: %v", err)
	}
	r.rec = rec
	seed := r.o.Seed
	r.st = stack.New(stack.Options{
		Name: "stacklab", Clock: r.clock, Rand: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		Observer: rec, Tap: rec, TCP: r.tcpOpts,
		PacketID: func() uint64 { r.pktID++; return r.pktID },
	})
	cfg := stack.NICConfig{Name: "tun0", Type: stack.LinkRawIP, Addr: LocalNet, MTU: r.o.MTU}
	if r.v6() {
		cfg.Addrs6 = []netip.Prefix{LocalNet6} // the NIC keeps its IPv4 address too; no script packet uses it
	}
	nic, err := r.st.AddNIC(cfg, stack.LinkFunc(r.output))
	if err != nil {
		return r.failf(0, "stack: %v", err)
	}
	r.nic = nic
	if r.v6() {
		r.st.AddRoute(stack.Route{Dst: netip.MustParsePrefix("::/0"), NIC: nic})
	} else {
		r.st.AddRoute(stack.Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.168.0.2"), NIC: nic})
	}
	return nil
}

// output receives every packet the stack sends.
func (r *runner) output(p stack.Packet) {
	s, ok := r.decodeOut(p.Data)
	if !ok {
		r.ignored++
		return
	}
	s.at = int64(r.now())
	s.id = p.ID
	r.out = append(r.out, s)
}

// decodeOut decodes an outbound packet and reports whether it belongs to
// the flow under test (learning the flow from the first SYN).
func (r *runner) decodeOut(b []byte) (seg, bool) {
	s, ok := decodeSeg(b)
	if !ok {
		if s, ok = decodeDgram(b); !ok {
			return s, false
		}
		// The stack's ICMP messages (errors about the remote end's
		// packets) are the flow's; a UDP datagram starts the flow.
		if s.proto == wire.ProtoICMP {
			return s, true
		}
		if !r.flowSet {
			r.setFlow(wire.ProtoUDP, s.srcPort, s.dstPort)
		}
		return s, s.proto == r.flowProto && s.srcPort == r.localPort && s.dstPort == r.remPort
	}
	if !r.flowSet {
		if s.flags&wire.SYN == 0 {
			return s, false
		}
		r.setFlow(wire.ProtoTCP, s.srcPort, s.dstPort)
	} else if r.flowProto == wire.ProtoTCP && s.flags&(wire.SYN|wire.ACK) == wire.SYN && s.srcPort != r.localPort && s.dstPort == r.remPort {
		// A connect from another socket: as packetdrill, the script
		// follows the socket connecting last.
		r.setFlow(wire.ProtoTCP, s.srcPort, s.dstPort)
	}
	if r.flowProto != wire.ProtoTCP || s.srcPort != r.localPort || s.dstPort != r.remPort {
		return s, false
	}
	// The first SYN or SYN-ACK anchors the local side; a later SYN with a
	// new ISN is a new connect and anchors it again. A later SYN-ACK does
	// not (packetdrill keeps a passive socket's numbers when a SYN reuses
	// its 4-tuple in TIME_WAIT).
	if bare := s.flags&(wire.SYN|wire.ACK) == wire.SYN; s.flags&wire.SYN != 0 && (!r.isnKnown || bare && s.seq != r.localISN) {
		r.isnKnown, r.localISN, r.scriptISNSet, r.synSent = true, s.seq, false, bare
	}
	return s, true
}

// setFlow names the flow under test: its protocol and its ports.
func (r *runner) setFlow(proto uint8, local, remote uint16) {
	r.flowSet, r.flowProto, r.localPort, r.remPort = true, proto, local, remote
}

// eventTime is when an event is due, since the start.
func (r *runner) eventTime(ev *pkt.Event) time.Duration {
	switch ev.Time.Kind {
	case pkt.TimeRelative:
		return r.lastScriptTime + ev.Time.Start
	case pkt.TimeRange:
		if ev.Time.RangeRelative {
			return r.lastScriptTime + ev.Time.Start
		}
		return ev.Time.Start
	case pkt.TimeAny:
		return r.now()
	}
	return ev.Time.Start
}

// maxSteps bounds the timer callbacks one script may run, so that a
// script asking for a million seconds of a busy connection cannot stall
// the runner; past it the script fails.
const maxSteps = 2_000_000

// runUntil runs the stack's timers up to t (since the start), stopping
// early at a failure.
func (r *runner) runUntil(t time.Duration) {
	r.clock.RunUntilOr(r.start.Add(t), 1, r.stop)
}

// stop is checked before each timer callback: a failure, or too many.
func (r *runner) stop() bool {
	r.steps++
	if r.steps > maxSteps && r.fail == nil {
		r.failf(0, "%s: the stack ran more than %d timer callbacks; the script's times are too long for it", r.s.File, maxSteps)
	}
	return r.fail != nil
}

// maxWait bounds a wait for a packet written with time *.
const maxWait = 10 * time.Minute

func (r *runner) event(ev *pkt.Event) *failure {
	t := r.eventTime(ev)
	if ev.Time.Kind == pkt.TimeAbsolute && t < r.lastScriptTime {
		return r.failf(ev.Pos.Line, "%s: time %s is before the previous event's %s", ev.Pos, secs(t), secs(r.lastScriptTime))
	}
	// packetdrill's verify_time: the larger of the tolerance and its
	// percentage of the time since the previous event.
	r.evTol = max(r.tol, time.Duration(r.pct/100*float64(t-r.lastScriptTime)))
	switch {
	case ev.Packet != nil && !ev.Packet.In:
		f := r.expect(ev, t)
		if f != nil {
			return f
		}
	case ev.Packet != nil:
		r.runUntil(t)
		if r.fail != nil {
			return r.fail
		}
		if f := r.inject(ev); f != nil {
			return f
		}
	case ev.Call != nil:
		r.runUntil(t)
		if r.fail != nil {
			return r.fail
		}
		if f := r.call(ev, t); f != nil {
			return f
		}
	case ev.Code != nil:
		r.runUntil(t)
		if r.fail != nil {
			return r.fail
		}
		if f := r.code(ev); f != nil {
			return f
		}
	case ev.Command != nil:
		r.runUntil(t)
		if r.fail != nil {
			return r.fail
		}
		if f := r.command(ev.Command, cmdApply); f != nil {
			return f
		}
	}
	if ev.Time.Kind != pkt.TimeAny {
		r.lastScriptTime = t
	} else {
		r.lastScriptTime = r.now()
	}
	return nil
}

func secs(d time.Duration) string { return fmt.Sprintf("%.6f", d.Seconds()) }

// inject sends a script packet into the stack.
func (r *runner) inject(ev *pkt.Event) *failure {
	p := ev.Packet
	switch p.Proto {
	case "udp":
		return r.injectUDP(ev)
	case "icmp":
		return r.injectICMP(ev)
	}
	if !r.flowSet {
		r.setFlow(wire.ProtoTCP, bindPort, remotePort)
	}
	if r.flowProto != wire.ProtoTCP {
		return r.failf(ev.Pos.Line, "%s: a TCP packet, but the flow under test is UDP (one flow per script)", ev.Pos)
	}
	flags := flagsOf(p)
	seq, ackOff := p.Seq, r.localISN
	switch {
	case flags&wire.SYN == 0:
		seq += r.remoteISN
	case flags&wire.ACK != 0:
		// A SYN-ACK: its ack is numbered from the script's SYN.
		ackOff -= r.scriptISN
		if r.synSent {
			r.remoteISN, r.synSent = p.Seq, false
		}
	case !r.remoteAnchored && !r.isnKnown:
		r.remoteISN, r.remoteAnchored = p.Seq, true
	}
	ack := p.Ack
	if flags&wire.ACK != 0 || p.HasAck {
		ack += ackOff
	}
	optb, err := encodeOptions(p.Options, func(v uint32) uint32 { return v + ackOff }, r.mapEcr)
	if err != nil {
		return r.failf(ev.Pos.Line, "%s: %v", ev.Pos, err)
	}
	for _, o := range p.Options {
		if o.Kind == "TS" {
			r.lastRemoteTSVal = o.TSVal
		}
	}
	if p.Len > 65000 {
		return r.failf(ev.Pos.Line, "%s: payload of %d bytes is too large", ev.Pos, p.Len)
	}
	win := uint32(65535)
	if p.HasWin {
		win = p.Win
	}
	if win > 65535 {
		return r.failf(ev.Pos.Line, "%s: window %d does not fit in 16 bits", ev.Pos, win)
	}
	thl := wire.TCPMinHeaderLen + len(optb)
	ecn := p.ECN
	if ecn == "ect01" {
		ecn = "ect0"
	}
	b, tc := r.packet(ecn, p.FlowLabel, wire.ProtoTCP, thl+p.Len)
	wire.TCP(tc).Encode(&wire.TCPFields{SrcPort: r.remPort, DstPort: r.localPort, Seq: seq, Ack: ack, DataOffset: uint8(thl), Flags: flags, Window: uint16(win), Urgent: uint16(p.Urg)})
	copy(tc[wire.TCPMinHeaderLen:], optb)
	wire.TCP(tc).SetChecksum(r.remote, r.local)
	r.deliver(b)
	return nil
}

// mapEcr turns a script TS ecr (our TS val in script terms) into the live
// value.
func (r *runner) mapEcr(v uint32) uint32 {
	if v == 0 || !r.tsKnown {
		return v
	}
	return v - r.tsScript + r.tsActual
}

// expect waits for the outbound packet an event describes and checks it.
func (r *runner) expect(ev *pkt.Event, t time.Duration) *failure {
	p := ev.Packet
	lo, hi := t-r.evTol, t+r.evTol
	switch ev.Time.Kind {
	case pkt.TimeAny:
		lo, hi = r.now(), r.now()+maxWait
	case pkt.TimeRange:
		base := time.Duration(0)
		if ev.Time.RangeRelative {
			base = r.lastScriptTime
		}
		lo, hi = base+ev.Time.Start-r.evTol, base+ev.Time.Max+r.evTol
	}
	r.clock.RunUntilOr(r.start.Add(hi), 1, func() bool { return r.stop() || len(r.out) > 0 })
	if r.fail != nil {
		return r.fail
	}
	if len(r.out) == 0 {
		f := r.failf(ev.Pos.Line, "%s: expected packet was not sent by %s", ev.Pos, secs(hi))
		f.expected = r.line(ev.Pos.Line)
		f.actual = "(nothing)"
		return f
	}
	// Let everything due at this instant run, so that segments sent
	// together can be merged.
	first := time.Duration(r.out[0].at)
	r.clock.RunUntilOr(r.start.Add(first), 1, r.stop)
	if r.fail != nil {
		return r.fail
	}
	got := r.take(p)
	at := time.Duration(got.at)
	if p.Proto == "tcp" && got.proto == wire.ProtoTCP && got.flags&flagsOf(p)&wire.SYN != 0 && !r.scriptISNSet && got.seq == r.localISN {
		// The SYN that anchors the connection: the script numbers it.
		r.scriptISN, r.scriptISNSet = p.Seq, true
	}
	act := r.describe(got)
	if at < lo || at > hi {
		f := r.failf(ev.Pos.Line, "%s: packet sent at %s, expected at %s (tolerance %s)", ev.Pos, secs(at), secs(t), r.evTol)
		f.expected, f.actual = r.line(ev.Pos.Line), fmt.Sprintf("%s (at %s)", act, secs(at))
		return f
	}
	msg := r.compare(p, got)
	if msg == "" {
		msg = r.checkFlowLabel(p, got)
	}
	if msg != "" {
		f := r.failf(ev.Pos.Line, "%s: %s", ev.Pos, msg)
		f.expected, f.actual = r.line(ev.Pos.Line), fmt.Sprintf("%s (at %s)", act, secs(at))
		return f
	}
	r.learnTS(p, got)
	if ev.Time.Kind == pkt.TimeAny {
		r.lastScriptTime = at
	}
	return nil
}

// checkFlowLabel checks an outbound IPv6 packet's flow label as
// packetdrill does: a script label of 0 (or none) is not checked; the
// first other one stands for the live label it meets; a packet with the
// same script label must carry the same live label, and one with another
// script label another live label, which it then stands for. A label
// says whether the stack drew a new one (a rehash), not its value.
func (r *runner) checkFlowLabel(p *pkt.Packet, s seg) string {
	if !r.v6() || p.FlowLabel == 0 {
		return ""
	}
	switch {
	case s.flow == 0:
		return "flow label 0 (unmarked), expected one"
	case r.flowScript == 0:
	case p.FlowLabel != r.flowScript && s.flow == r.flowLive:
		return fmt.Sprintf("the same flow label (%#x) as the packets labelled %#x, expected a different one for %#x", s.flow, r.flowScript, p.FlowLabel)
	case p.FlowLabel == r.flowScript && s.flow != r.flowLive:
		return fmt.Sprintf("flow label %#x, expected %#x as before (script label %#x)", s.flow, r.flowLive, p.FlowLabel)
	}
	r.flowScript, r.flowLive = p.FlowLabel, s.flow
	return ""
}

// take removes the next outbound segment, merged with the segments that
// follow it at the same instant as one TSO packet when the script's
// packet is longer. The merged packet has the last segment's flags (and
// the first one's CWR), as packetdrill's aggregate of sniffed packets.
func (r *runner) take(p *pkt.Packet) seg {
	s := r.out[0]
	r.out = r.out[1:]
	if r.o.StrictSegments || s.proto != wire.ProtoTCP || p.Proto != "tcp" {
		return s
	}
	for s.length < p.Len && len(r.out) > 0 {
		n := r.out[0]
		// A FIN ends the aggregate: as on a GSO packet, only its last
		// segment carries it; and CWR starts one, on its first segment
		// only (tcp_gso_segment clears it on the others).
		if n.at != s.at || n.seq != s.seq+uint32(s.length) || n.ack != s.ack || n.length == 0 ||
			(s.flags|n.flags)&(wire.SYN|wire.RST) != 0 || s.flags&wire.FIN != 0 ||
			n.flags&^(wire.PSH|wire.FIN) != s.flags&^(wire.PSH|wire.CWR) || !sameOptsButSACK(s.opts, n.opts) {
			break
		}
		s.length += n.length
		// As packetdrill's aggregate: the last packet's flags, the
		// first one's CWR.
		s.flags = n.flags&^wire.CWR | s.flags&wire.CWR
		s.win = n.win
		s.merged++
		r.out = r.out[1:]
	}
	return s
}

func sameOptsButSACK(a, b []opt) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].kind != b[i].kind || a[i].value != b[i].value || a[i].tsEcr != b[i].tsEcr {
			return false
		}
	}
	return true
}

// learnTS records the first mapping between script and live TS values.
func (r *runner) learnTS(p *pkt.Packet, s seg) {
	if r.tsKnown {
		return
	}
	for _, o := range p.Options {
		if o.Kind != "TS" {
			continue
		}
		for _, g := range s.opts {
			if g.kind == "TS" {
				r.tsKnown, r.tsScript, r.tsActual = true, o.TSVal, g.tsVal
				return
			}
		}
	}
}

// rel maps the live sequence number of an outbound segment into script
// terms: from the script's SYN for a segment with SYN, from the live ISN
// for any other.
func (r *runner) rel(s seg) uint32 {
	switch {
	case !r.isnKnown:
		return s.seq
	case s.flags&wire.SYN != 0:
		return s.seq - r.localISN + r.scriptISN
	}
	return s.seq - r.localISN
}

// relAck maps a live number of the remote end's (an outbound segment's
// ack or SACK block) into script terms: a SYN-ACK's ack as it is, any
// other from the remote end's SYN.
func (r *runner) relAck(s seg) func(uint32) uint32 {
	off := r.remoteISN
	if s.flags&wire.SYN != 0 {
		off = 0
	}
	return func(v uint32) uint32 { return v - off }
}

// describe writes an outbound segment as a script line, in script terms.
func (r *runner) describe(s seg) string {
	if s.proto != wire.ProtoTCP {
		return r.describeDgram(s)
	}
	var b strings.Builder
	b.WriteString("> ")
	if s.ecn != 0 {
		fmt.Fprintf(&b, "[%s] ", ecnNames[s.ecn])
	}
	f := flagLetters(s.flags)
	if f == "" {
		f = "."
	}
	seq, ack := r.rel(s), r.relAck(s)
	fmt.Fprintf(&b, "%s %d:%d(%d)", f, seq, seq+uint32(s.length), s.length)
	if s.flags&wire.ACK != 0 {
		fmt.Fprintf(&b, " ack %d", ack(s.ack))
	}
	fmt.Fprintf(&b, " win %d", s.win)
	if len(s.opts) > 0 {
		b.WriteString(" " + formatOpts(s.opts, ack))
	}
	if s.merged > 1 {
		fmt.Fprintf(&b, " (%d segments merged)", s.merged)
	}
	return b.String()
}

// compare checks an outbound segment against the script's packet and
// says what differs first, or "".
func (r *runner) compare(p *pkt.Packet, s seg) string {
	if p.Proto != "tcp" || s.proto != wire.ProtoTCP {
		if p.Proto == "tcp" {
			return fmt.Sprintf("a %s packet, expected a TCP segment", protoName(s.proto))
		}
		return r.compareDgram(p, s)
	}
	if want := flagsOf(p); want != s.flags {
		return fmt.Sprintf("flags %q, expected %q", flagLetters(s.flags), flagLetters(want))
	}
	if e := ecnField(p.ECN); e >= 0 && uint8(e) != s.ecn {
		return fmt.Sprintf("ECN %s, expected %s", ecnNames[s.ecn], ecnNames[e])
	} else if p.ECN == "ect01" && s.ecn != 1 && s.ecn != 2 {
		return fmt.Sprintf("ECN %s, expected ect0 or ect1", ecnNames[s.ecn])
	}
	ack := r.relAck(s)
	if seq := r.rel(s); seq != p.Seq {
		return fmt.Sprintf("sequence number %d, expected %d", seq, p.Seq)
	}
	if s.length != p.Len {
		return fmt.Sprintf("payload of %d bytes, expected %d", s.length, p.Len)
	}
	if (p.HasAck || p.AckFlag) && ack(s.ack) != p.Ack {
		return fmt.Sprintf("ack %d, expected %d", ack(s.ack), p.Ack)
	}
	if p.HasWin && uint32(s.win) != p.Win {
		return fmt.Sprintf("window %d, expected %d", s.win, p.Win)
	}
	if uint32(s.urg) != p.Urg { // packetdrill checks it always: 0 unless the script gives one
		return fmt.Sprintf("urgent pointer %d, expected %d", s.urg, p.Urg)
	}
	if p.AnyOptions {
		return ""
	}
	if len(s.opts) != len(p.Options) {
		return fmt.Sprintf("options %s, expected %d option(s)", formatOpts(s.opts, ack), len(p.Options))
	}
	for i, w := range p.Options {
		g := s.opts[i]
		if g.kind != w.Kind {
			return fmt.Sprintf("option %d is %s, expected %s", i+1, g.kind, w.Kind)
		}
		switch w.Kind {
		case "mss", "wscale":
			if g.value != w.Value {
				return fmt.Sprintf("%s %d, expected %d", w.Kind, g.value, w.Value)
			}
		case "sack":
			if len(g.blocks) != len(w.Blocks) {
				return fmt.Sprintf("%d SACK block(s), expected %d", len(g.blocks), len(w.Blocks))
			}
			for j, bl := range w.Blocks {
				if got := [2]uint32{ack(g.blocks[j][0]), ack(g.blocks[j][1])}; got != bl {
					return fmt.Sprintf("SACK block %d:%d, expected %d:%d", got[0], got[1], bl[0], bl[1])
				}
			}
		case "TS":
			if g.tsEcr != w.TSEcr {
				return fmt.Sprintf("TS ecr %d, expected %d", g.tsEcr, w.TSEcr)
			}
			if r.tsTick > 0 && r.tsKnown {
				// The script's TS val ticks by --tcp_ts_tick_usecs, the
				// stack's by 1 ms (RFC 7323 §5.4): compare the time since
				// the first TS val, to the millisecond.
				live := time.Duration(int32(g.tsVal-r.tsActual)) * time.Millisecond
				want := time.Duration(int32(w.TSVal-r.tsScript)) * r.tsTick
				if d := live - want; d > max(r.tol, time.Millisecond) || -d > max(r.tol, time.Millisecond) {
					return fmt.Sprintf("TS val %s after the first, expected %s (--tcp_ts_tick_usecs)", live, want)
				}
			}
		}
	}
	return ""
}
