package scenario

import (
	"cmp"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"stacklab/capture"
	"stacklab/capture/series"
	"stacklab/capture/view"
	"stacklab/sim"
	"stacklab/sim/scenario/lang"
	"stacklab/sim/scenario/pattern"
	"stacklab/sim/scenario/spec"
	"stacklab/stack"
)

// RunOptions configure [Scenario.Run]. The zero value runs with the
// scenario's own seed, writes no files and no trace.
type RunOptions struct {
	// Seed, when non-nil, replaces the scenario's seed.
	Seed *uint64
	// Duration, when positive, replaces the scenario's duration.
	Duration time.Duration
	// OutDir receives one pcapng file per vantage point (HOST-eth0.pcapng);
	// empty writes no captures.
	OutDir string
	// Trace receives the layered trace; nil writes none.
	Trace io.Writer
	// Format is "text" (the default) or "json".
	Format string
	// Version is the stacklab version written into capture file comments.
	Version string
	// Ladder writes ladder diagrams of the run into OutDir: ladder.txt,
	// ladder.mmd (Mermaid) and ladder.svg. The scenario's outputs can ask
	// for them too.
	Ladder bool
	// LadderRows bounds the rows (packets sent, state changes, socket
	// calls) the ladder diagrams draw: the first half and the last half,
	// with a band that counts the rows between. Zero means
	// ladder.DefaultKeep.
	LadderRows int
	// Series, if not empty, is a directory that receives series.csv: every
	// change of each TCP connection's cwnd, ssthresh, RTT, RTO, bytes in
	// flight, windows and congestion state (capture/series).
	Series string
	// Plots draws the same series as SVG figures, one per connection
	// end, into OutDir (tcp-HOST-LPORT-RPORT.svg).
	Plots bool
	// WallTimeout, when positive, bounds the run in wall-clock time: a
	// run still going after it stops where it is and fails, naming each
	// program still running and where it is blocked (a program that
	// loops without letting virtual time pass never reaches the end of
	// the scenario's duration). Zero means no limit.
	WallTimeout time.Duration
	// SnapLen, if positive, keeps only the first SnapLen bytes of each
	// frame in the capture files, as tcpdump -s does.
	SnapLen int
	// Warn, if set, is told once when the captures grow past
	// LargeCapture bytes.
	Warn io.Writer
	// Progress, if set, is called now and then while a run takes longer
	// than a second of wall-clock time, with the virtual time reached, the
	// frames seen and the run's duration; done is true once, at the end
	// (for a terminal's progress line). It never changes the run.
	Progress func(at time.Duration, frames int, duration time.Duration, done bool)
	// SocketTables are the times at which every host's socket table (as
	// the program statement ss() prints it) goes into the trace.
	SocketTables []time.Duration
	// HTML, if not empty, is the path of one self-contained HTML page of
	// the run: topology, ladder, packet details, TCP graphs
	// (capture/view).
	HTML string
	// Lang "zh" writes the HTML page's words and the scenario's about in
	// Simplified Chinese (about_zh, when the scenario has one).
	Lang string
}

// LargeCapture is the size of the capture files past which a run warns.
const LargeCapture = 100 << 20

// largeCapture is LargeCapture, lowered by tests.
var largeCapture int64 = LargeCapture

// Result is what a run produced.
type Result struct {
	Scenario string
	Seed     uint64
	End      time.Duration // virtual time when the run stopped
	// Finished is when the last host program to finish did (0: none
	// finished); the run itself goes on to the scenario's duration.
	Finished time.Duration
	Failures []*Failure
	Conns    []ConnSummary
	Counters map[string][]stack.Counter // per host, non-zero counters only
	Files    []string                   // captures written
}

// Passed reports whether every expectation held.
func (r *Result) Passed() bool { return len(r.Failures) == 0 }

// Failure is one expectation that did not hold.
type Failure struct {
	Pos    Pos
	What   string // the expectation or statement as written
	Msg    string
	Diffs  []FieldDiff
	Recent []string // the last trace events before the failure
}

// FieldDiff is one field of a failed expectation: wanted and got.
type FieldDiff struct{ Field, Want, Got string }

// String formats the failure for a terminal: file:line, the expectation,
// the message, the fields expected and found, and the last events.
func (f *Failure) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d: expectation failed: %s\n", f.Pos.File, f.Pos.Line, f.What)
	fmt.Fprintf(&b, "  %s\n", f.Msg)
	if len(f.Diffs) > 0 {
		w := len("field")
		for _, d := range f.Diffs {
			w = max(w, len(d.Field))
		}
		fmt.Fprintf(&b, "    %-*s  %-20s  %s\n", w, "field", "expected", "actual")
		for _, d := range f.Diffs {
			fmt.Fprintf(&b, "    %-*s  %-20s  %s\n", w, d.Field, d.Want, d.Got)
		}
	}
	if len(f.Recent) > 0 {
		b.WriteString("  last events:\n")
		for _, l := range f.Recent {
			fmt.Fprintf(&b, "    %s\n", l)
		}
	}
	return b.String()
}

// ConnSummary describes one TCP connection or UDP flow seen in the run.
type ConnSummary struct {
	Proto            string
	A, B             string // "client:49152", "server:80"
	PacketsAB        int
	PacketsBA        int
	BytesAB, BytesBA int64 // payload
	RetransAB        int   // data segments sent again below the highest sequence sent before
	RetransBA        int
	Start, End       time.Duration
	Flags            string        // "SYN FIN" etc.: what was seen
	HandshakeRTT     time.Duration // SYN to SYN-ACK at A, when A opened the connection
	StateA, StateB   string        // each end's last TCP state ("" if none was reported)
}

// Throughput returns the payload rate each way in bit/s over the flow's
// lifetime (first to last packet).
func (c ConnSummary) Throughput() (ab, ba float64) {
	d := (c.End - c.Start).Seconds()
	if d <= 0 {
		return 0, 0
	}
	return float64(c.BytesAB) * 8 / d, float64(c.BytesBA) * 8 / d
}

// String formats the summary on one line, A→B figures before B→A.
func (c ConnSummary) String() string {
	ab, ba := c.Throughput()
	s := fmt.Sprintf("%s %s ⇄ %s  %d/%d pkts  %d/%d B  %.2f/%.2f Mbit/s  retrans %d/%d  %.6f–%.6f s  %s",
		c.Proto, c.A, c.B, c.PacketsAB, c.PacketsBA, c.BytesAB, c.BytesBA, ab/1e6, ba/1e6, c.RetransAB, c.RetransBA,
		c.Start.Seconds(), c.End.Seconds(), c.Flags)
	if c.HandshakeRTT > 0 {
		s += "  rtt " + c.HandshakeRTT.String()
	}
	if c.StateA != "" || c.StateB != "" {
		s += fmt.Sprintf("  final %s/%s", cmp.Or(c.StateA, "?"), cmp.Or(c.StateB, "?"))
	}
	return s
}

// hostRT is a host while the scenario runs.
type hostRT struct {
	h        *Host
	st       *stack.Stack
	nics     map[int]*stack.NIC // by interface index
	received map[int][]byte
	lastFrom map[int]netip.AddrPort
	results  []callResult // every completed socket call, in order
	clock    *hostClock   // non-nil when the host restarts: its boot's clock
	boot     int          // restarts so far
	crashed  bool
	threads  int // threads its programs spawned
}

// callResult is what one socket call returned, for call expectations.
type callResult struct {
	call   string // "connect"
	result string // "0", "4", "ECONNREFUSED"
	at     time.Duration
}

// runner runs one scenario.
type runner struct {
	series     *series.Set           // TCP variables over time, when asked for
	seriesFile *os.File              // series.csv, written as the run goes (--series)
	impair     map[string]*[2]Impair // links' impairments after events, by link name
	sc         *Scenario
	net        *sim.Network
	clock      *sim.Clock
	start      time.Time
	hosts      map[string]*hostRT
	hostNames  []string
	names      map[netip.Addr]string
	tasks      []*task
	buf        []byte
	stopped    bool
	lastFinish time.Duration // when the last host program finished
	capBytes   int64         // the capture files' size so far, roughly
	opts       RunOptions
	wallStart  time.Time // when Run began, for Progress
	lastShown  time.Time
	duration   time.Duration
	shown      bool

	dec      *pattern.Decoder
	pkts     []pattern.Summary // every frame's summary, while keepPkts
	scratch  pattern.Summary   // the frame being handled, when not kept
	nframes  int               // frames seen
	ndecoded int               // frames decoded (see sentIDs)
	keepPkts bool              // packet expectations may still need the frames (check.go)
	keepAll  bool              // none/count expectations: keep every frame
	// sentIDs remembers the ids of recent frames decoded where they were
	// sent (by id modulo its size), so that, once no packet expectation
	// needs the frames, their arrivals further on need no decoding: only
	// a SYN-ACK's arrival counts (the handshake RTT), and its slot says
	// so. A frame first seen arriving (injected) is always decoded.
	sentIDs  [4096]sentID
	pstream  []pexpStream // ordered packet expectations, matched as frames pass
	conns    connTable    // the connection summaries, built as frames pass
	diffs    []pattern.FieldDiff
	recent   [recentN]recentEntry
	nrecent  int
	vantages map[*stack.NIC]string
	// lastNIC and lastVantage cache the previous frame's vantages entry.
	lastNIC     *stack.NIC
	lastVantage string
	states      map[stack.Tuple]string // each connection end's last TCP state
	failures    []*Failure
	sink        *capture.Recorder
	faultN      []int

	// After a host restarts, its new NICs stand in for the first boot's:
	// alias maps a new NIC to the first one (the vantage point and capture
	// file), current a first NIC to the one serving now.
	alias, current map[*stack.NIC]*stack.NIC
	reordered      map[*sim.Pipe]bool // pipes whose delivery a reorder fault wraps
	// gated NICs are a NAT's or firewall's outside interface: their
	// frames are captured by the gate, as they are on the wire.
	gated map[*stack.NIC]bool
	// boxes holds each NAT or firewall router's middlebox, for the count
	// of what a restart forgets.
	boxes map[string]sim.Middlebox
}

const recentN = 10

// runDone, when set (tests), sees the runner after the checks.
var runDone func(*runner)

// Run runs the scenario in virtual time and checks its expectations.
// The error is for problems running it at all (an output that cannot be
// written, a link the simulator refuses); failed expectations are in
// [Result.Failures].
func (sc *Scenario) Run(opts RunOptions) (*Result, error) {
	seed := sc.Seed
	if opts.Seed != nil {
		seed = *opts.Seed
	}
	r := &runner{opts: opts,
		sc: sc, hosts: map[string]*hostRT{}, hostNames: sc.HostNames(),
		names: map[netip.Addr]string{}, buf: make([]byte, 64<<10), dec: pattern.NewDecoder(),
		vantages: map[*stack.NIC]string{}, states: map[stack.Tuple]string{},
		alias: map[*stack.NIC]*stack.NIC{}, current: map[*stack.NIC]*stack.NIC{}, reordered: map[*sim.Pipe]bool{},
		gated: map[*stack.NIC]bool{},
	}
	r.initPacketStreams()
	for _, h := range sc.Hosts {
		for _, p := range h.Ifaces {
			r.names[p.Addr()] = h.Name
		}
		for _, ps := range h.Ifaces6 {
			for _, p := range ps {
				r.names[p.Addr()] = h.Name
			}
		}
	}
	r.net = sim.NewNetwork(sim.NetworkOptions{Seed: seed, Observer: (*hub)(r), Tap: (*hub)(r)})
	r.clock = r.net.Clock()
	r.start = r.clock.Now()
	// The page's trace goes into its builder as it is written: the page
	// is drawn without the whole trace held.
	var page *view.Builder
	var pageW io.Writer // nil unless a page is wanted: not a nil *view.Builder
	if opts.HTML != "" {
		page = view.NewBuilder(pageInput(sc, opts.Lang))
		pageW = page
	}
	rec, err := newRecorder(sc, opts, seed, r.start, r.names, pageW)
	if err != nil {
		return nil, err
	}
	r.sink = rec
	if opts.Series != "" || opts.Plots && opts.OutDir != "" {
		// Kept for the plots alone: series.csv is written as the run
		// goes (openSeries).
		r.series = &series.Set{Start: r.start}
		r.series.ForFigures()
	}
	for _, h := range sc.Hosts {
		opts := stack.Options{TCP: h.TCP, TTL: h.TTL, LocalPortRange: h.PortRange, RouterAdvertisements: h.RA, RAValidLifetime: h.RAValid, RAPreferredLifetime: h.RAPreferred}
		var st *stack.Stack
		var hc *hostClock
		switch {
		case sc.Restarts(h.Name):
			st, hc = r.newStack(h, 0)
		case h.Router:
			st = r.net.AddRouter(h.Name, opts)
		default:
			st = r.net.AddHost(h.Name, opts)
		}
		r.hosts[h.Name] = &hostRT{h: h, st: st, clock: hc, nics: map[int]*stack.NIC{}, received: map[int][]byte{}, lastFrom: map[int]netip.AddrPort{}}
	}
	switches := map[string]*sim.Switch{}
	for _, s := range sc.Switches {
		sw, err := r.net.AddSwitch(sim.SwitchConfig{Name: s.Name, Hub: s.Hub, MaxMACs: s.MaxMACs, Aging: s.Aging})
		if err != nil {
			rec.Close()
			return nil, fmt.Errorf("%s: %v", s.Pos, err)
		}
		switches[s.Name] = sw
	}
	for _, lk := range sc.Links {
		cfg := sim.LinkConfig{Name: lk.Name(), AB: simImpair(lk.Forward), BA: simImpair(lk.Reverse)}
		if lk.Trunk {
			if _, err := r.net.ConnectSwitches(switches[lk.Ends[0]], switches[lk.Ends[1]], cfg); err != nil {
				rec.Close()
				return nil, fmt.Errorf("%s: %v", lk.Pos, err)
			}
			continue
		}
		a := r.hosts[lk.Ends[0]]
		var err error
		if cfg.GateA, err = r.gate(a, lk.Ifaces[0]); err != nil {
			rec.Close()
			return nil, err
		}
		var l *sim.Link
		if lk.Switch {
			l, err = r.net.ConnectSwitch(a.st, nicConfig(a.h, lk.Ifaces[0]), switches[lk.Ends[1]], cfg)
			if err == nil {
				a.nics[lk.Ifaces[0]], _ = l.NICs()
			}
		} else {
			b := r.hosts[lk.Ends[1]]
			if cfg.GateB, err = r.gate(b, lk.Ifaces[1]); err != nil {
				rec.Close()
				return nil, err
			}
			l, err = r.net.Connect(a.st, nicConfig(a.h, lk.Ifaces[0]), b.st, nicConfig(b.h, lk.Ifaces[1]), cfg)
			if err == nil {
				a.nics[lk.Ifaces[0]], b.nics[lk.Ifaces[1]] = l.NICs()
			}
		}
		if err != nil {
			rec.Close()
			return nil, fmt.Errorf("%s: %v", lk.Pos, err)
		}
		na, nb := l.NICs()
		for _, n := range []*stack.NIC{na, nb} {
			if n == nil {
				continue // a switch port
			}
			for _, p := range n.Addrs6() {
				r.names[p.Addr()] = n.Stack().Name() // the link-local addresses, known once the MACs are
			}
		}
		for _, g := range []*sim.Gate{cfg.GateA, cfg.GateB} {
			if g != nil {
				if g == cfg.GateA {
					r.gated[na] = true
				} else {
					r.gated[nb] = true
				}
			}
		}
		if fw := lk.Firewall; fw != nil {
			inside := sim.AtoB
			if fw.Inside == lk.Ends[1] {
				inside = sim.BtoA
			}
			l.SetMiddlebox(sim.NewFirewall(r.clock, sim.FirewallConfig{Inside: inside, TCPIdle: fw.TCPIdle, UDPIdle: fw.UDPIdle}))
		}
		if ns := lk.NAT; ns != nil {
			inside, in := sim.AtoB, 0
			if ns.Inside == lk.Ends[1] {
				inside, in = sim.BtoA, 1
			}
			public := ns.Public
			if !public.IsValid() {
				public = r.sc.Host(ns.Inside).Ifaces[lk.Ifaces[in]].Addr()
			}
			lane := "nat"
			nat, err := sim.NewNAT(r.clock, sim.NATConfig{Inside: inside, Public: public, PortMin: ns.PortMin, PortMax: ns.PortMax, TCPIdle: ns.TCPIdle, UDPIdle: ns.UDPIdle, DropUnmatched: ns.Drop,
				OnChange: func(what string) { r.event(lane, what) }})
			if err != nil {
				rec.Close()
				return nil, fmt.Errorf("%s: %v", lk.Pos, err)
			}
			l.SetMiddlebox(nat)
		}
	}
	for _, s := range sc.Switches {
		for _, peer := range s.Capture {
			if err := r.tapPort(switches[s.Name], peer); err != nil {
				rec.Close()
				return nil, fmt.Errorf("%s: %v", s.Pos, err)
			}
		}
	}
	for _, hr := range r.hosts {
		if err := hr.addRoutes(); err != nil {
			rec.Close()
			return nil, err
		}
	}
	if opts.Series != "" {
		// series.csv is written as the run goes; the points are kept
		// only for the plots.
		if err := r.openSeries(opts); err != nil {
			rec.Close()
			return nil, err
		}
	}
	r.installFaults()
	r.scheduleEvents()
	r.scheduleChecks()
	for _, at := range opts.SocketTables {
		r.clock.AfterFunc(at, func() {
			for _, h := range sc.Hosts {
				r.socketTable(r.hosts[h.Name], "")
			}
		})
	}
	for _, h := range sc.Hosts {
		hr := r.hosts[h.Name]
		for _, app := range h.Apps {
			r.startApp(hr, app)
		}
		if h.Program != nil {
			t := newTask(r, hr, h.Name, h.Program.Body)
			t.main = true
			r.tasks = append(r.tasks, t)
			t.schedule(0)
		}
	}
	duration := sc.Duration
	if opts.Duration > 0 {
		duration = opts.Duration
	}
	completed := true
	r.wallStart, r.duration = time.Now(), duration
	if opts.WallTimeout > 0 || opts.Progress != nil {
		completed = r.clock.RunUntilOr(r.start.Add(duration), 4096, func() bool {
			if opts.Progress != nil {
				r.progress(false)
			}
			return opts.WallTimeout > 0 && time.Since(r.wallStart) > opts.WallTimeout
		})
	} else {
		r.clock.RunUntil(r.start.Add(duration))
	}
	if opts.Progress != nil {
		r.progress(true)
	}
	r.stopped = true
	end := r.clock.Now().Sub(r.start)

	for _, t := range r.tasks {
		if !t.done && ((!t.daemon && !t.inForever()) || !completed) {
			where, what := r.taskPos(t)
			if !completed {
				r.failAt(where, what, fmt.Sprintf("run stopped after %s of wall time at virtual time %s (the limit; raise it with --timeout): program on %s still running in %s", opts.WallTimeout, lang.FormatDuration(end), t.h.h.Name, what), nil)
				continue
			}
			r.failAt(where, what, fmt.Sprintf("program on %s did not finish by the end of the run (%s): blocked in %s", t.h.h.Name, lang.FormatDuration(duration), what), nil)
		}
	}
	if !completed && len(r.failures) == 0 {
		r.failAt(Pos{File: sc.File}, "run", fmt.Sprintf("run stopped after %s of wall time at virtual time %s (the limit; raise it with --timeout)", opts.WallTimeout, lang.FormatDuration(end)), nil)
	}
	r.checkPackets()
	r.checkCalls()
	r.checkEnd()
	if runDone != nil {
		runDone(r)
	}
	res := &Result{Scenario: sc.Name, Seed: seed, End: end, Finished: r.lastFinish, Failures: r.failures, Counters: map[string][]stack.Counter{}}
	res.Conns = r.connSummaries()
	for _, h := range sc.Hosts {
		var cs []stack.Counter
		for _, c := range r.hosts[h.Name].st.Counters() {
			if c.Value != 0 {
				cs = append(cs, c)
			}
		}
		res.Counters[h.Name] = cs
	}
	err = r.sink.Close()
	res.Files = r.sink.Files()
	if (opts.Ladder || sc.Outputs.Ladder) && opts.OutDir != "" && err == nil {
		files, lerr := writeLadders(opts.OutDir, r.sink.Ladder().Ladder())
		res.Files = append(res.Files, files...)
		err = lerr
	}
	if page != nil && err == nil {
		err = writePage(opts.HTML, page)
		if err == nil {
			res.Files = append(res.Files, opts.HTML)
		}
	}
	if r.seriesFile != nil {
		// Closed whatever else failed: what it holds is written.
		path := r.seriesFile.Name()
		serr := r.series.FlushCSV()
		if cerr := r.seriesFile.Close(); serr == nil {
			serr = cerr
		}
		if serr != nil && err == nil {
			err = fmt.Errorf("writing %s: %w", path, serr)
		}
		if serr == nil {
			res.Files = append(res.Files, path)
		}
	}
	if r.series != nil && err == nil {
		files, serr := writePlots(r.series, opts)
		res.Files = append(res.Files, files...)
		err = serr
	}
	sort.SliceStable(res.Failures, func(i, j int) bool { return res.Failures[i].Pos.Line < res.Failures[j].Pos.Line })
	return res, err
}

func (r *runner) taskPos(t *task) (Pos, string) {
	if t.pend != nil {
		return t.pend.st.Pos, t.pend.st.Text
	}
	for i := len(t.stack) - 1; i >= 0; i-- {
		f := t.stack[i]
		if f.pc > 0 && f.pc <= len(f.body) {
			return f.body[f.pc-1].Pos, f.body[f.pc-1].Text
		}
	}
	return t.h.h.Pos, t.name
}

func nicConfig(h *Host, iface int) stack.NICConfig {
	c := stack.NICConfig{Name: "eth" + strconv.Itoa(iface), Type: stack.LinkEthernet, Addr: h.Ifaces[iface], MTU: h.MTU}
	if iface < len(h.Ifaces6) {
		c.Addrs6 = h.Ifaces6[iface]
	}
	c.SLAAC = h.SLAAC
	if h.IfMTU[iface] > 0 {
		c.MTU = h.IfMTU[iface]
	}
	if iface == 0 {
		c.MAC = h.MAC
	}
	return c
}

// addRoutes installs the host's default route and static routes, each
// through the interface on the gateway's subnet.
func (hr *hostRT) addRoutes() error {
	add := func(dst netip.Prefix, via netip.Addr) error {
		for i, p := range hr.h.Ifaces {
			on := p.Contains(via)
			if i < len(hr.h.Ifaces6) {
				for _, p6 := range hr.h.Ifaces6[i] {
					on = on || p6.Contains(via)
				}
			}
			if on {
				nic := hr.nics[i]
				if nic == nil {
					return fmt.Errorf("%s: %s: the interface for gateway %s (%s) is on no link", hr.h.Pos, hr.h.Name, via, p)
				}
				hr.st.AddRoute(stack.Route{Dst: dst, Gateway: via, NIC: nic})
				return nil
			}
		}
		return fmt.Errorf("%s: %s: gateway %s is on none of its subnets", hr.h.Pos, hr.h.Name, via)
	}
	for _, rt := range hr.h.Routes {
		if err := add(rt.Dst, rt.Via); err != nil {
			return err
		}
	}
	if hr.h.Gateway6.IsValid() {
		if err := add(netip.MustParsePrefix("::/0"), hr.h.Gateway6); err != nil {
			return err
		}
	}
	if hr.h.Gateway.IsValid() {
		return add(netip.MustParsePrefix("0.0.0.0/0"), hr.h.Gateway)
	}
	return nil
}

func simImpair(i Impair) sim.Impairments {
	return sim.Impairments{
		Delay: i.Delay, Jitter: i.Jitter, Rate: i.Rate, QueueBytes: i.QueueBytes, QueuePackets: i.QueuePackets,
		Loss: i.Loss, Burst: sim.GilbertElliott{P: i.Burst.P, R: i.Burst.R, LossGood: i.Burst.LossGood, LossBad: i.Burst.LossBad},
		Duplicate: i.Duplicate, Reorder: i.Reorder, ReorderDelay: i.ReorderDelay, Corrupt: i.Corrupt, MTU: i.MTU,
		AQM: sim.AQM{Kind: i.AQM.Kind, ECN: i.AQM.ECN, Target: i.AQM.Target, Interval: i.AQM.Interval,
			MinTh: i.AQM.MinTh, MaxTh: i.AQM.MaxTh, MaxP: i.AQM.MaxP},
	}
}

// impairOf returns the impairments a link's direction has now, as the
// scenario wrote them: the link's own, then each event's change in turn.
func (r *runner) impairOf(link string, d sim.Direction) *Impair {
	if r.impair == nil {
		r.impair = map[string]*[2]Impair{}
	}
	cur, ok := r.impair[link]
	if !ok {
		cur = &[2]Impair{}
		for _, lk := range r.sc.Links {
			if lk.Name() == link {
				cur[0], cur[1] = lk.Forward, lk.Reverse
			}
		}
		r.impair[link] = cur
	}
	if d == sim.BtoA {
		return &cur[1]
	}
	return &cur[0]
}

// name shows an address with its host name: "server:80".
func (r *runner) name(ap netip.AddrPort) string {
	if n, ok := r.names[ap.Addr()]; ok {
		return n + ":" + strconv.Itoa(int(ap.Port()))
	}
	return ap.String()
}

// note keeps a line for the "last events" of a failure.
func (r *runner) note(host, line string) {
	r.remember(recentEntry{host: host, text: line})
}

// recentEntry is one line of a failure's "last events", kept unformatted
// so that a run without failures formats nothing.
type recentEntry struct {
	t            time.Duration
	host         string
	pkt          bool // a frame: sum
	sum          pattern.Summary
	text         string
	kind         stack.EventKind
	proto        string
	name, detail string
	from, to     string
}

// rememberFrame keeps frame s's summary for a failure's context, copied
// once, in place.
func (r *runner) rememberFrame(s *pattern.Summary) {
	e := &r.recent[r.nrecent%recentN]
	e.t, e.host, e.pkt, e.sum = s.Time, s.Host, true, *s
	e.text, e.kind, e.proto, e.name, e.detail, e.from, e.to = "", 0, "", "", "", "", ""
	r.nrecent++
}

func (r *runner) remember(e recentEntry) {
	e.t = r.clock.Now().Sub(r.start)
	r.recent[r.nrecent%recentN] = e
	r.nrecent++
}

func (r *runner) recentLines() []string {
	var out []string
	n := min(r.nrecent, recentN)
	for i := r.nrecent - n; i < r.nrecent; i++ {
		e := &r.recent[i%recentN]
		var line string
		switch {
		case e.pkt:
			line = "→ " + e.sum.Format(r.names)
		case e.kind == stack.EventState:
			line = fmt.Sprintf("%s %s → %s", e.proto, e.from, e.to)
		case e.kind != 0:
			line = e.kind.String() + " " + e.name
		default:
			line = e.text
		}
		if e.kind != 0 && e.detail != "" {
			line += ": " + e.detail
		}
		out = append(out, fmt.Sprintf("%9.6f %-8s %s", e.t.Seconds(), e.host, line))
	}
	return out
}

func (r *runner) failAt(pos Pos, what, msg string, diffs []fieldDiff) {
	f := &Failure{Pos: pos, What: what, Msg: msg, Recent: r.recentLines()}
	for _, d := range diffs {
		f.Diffs = append(f.Diffs, FieldDiff(d))
	}
	r.failures = append(r.failures, f)
}

// gate returns the middlebox a NAT or firewall router puts on its
// interface iface, or nil for any other interface.
func (r *runner) gate(hr *hostRT, iface int) (*sim.Gate, error) {
	b := hr.h.Box
	if b == nil || b.Outside != iface {
		return nil, nil
	}
	if r.boxes == nil {
		r.boxes = map[string]sim.Middlebox{}
	}
	if b.Kind == "firewall" {
		fw := sim.NewFirewall(r.clock, sim.FirewallConfig{Inside: sim.AtoB, TCPIdle: b.TCPIdle, UDPIdle: b.UDPIdle})
		r.boxes[hr.h.Name] = fw
		return &sim.Gate{Box: fw, Tap: (*gateTap)(r)}, nil
	}
	lane := hr.h.Name
	nat, err := sim.NewNAT(r.clock, sim.NATConfig{Inside: sim.AtoB, Public: b.Public, PortMin: b.PortMin, PortMax: b.PortMax, TCPIdle: b.TCPIdle, UDPIdle: b.UDPIdle, DropUnmatched: b.Drop,
		OnChange: func(what string) { r.event(lane, what) }})
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Pos, err)
	}
	r.boxes[hr.h.Name] = nat
	return &sim.Gate{Box: nat, Tap: (*gateTap)(r)}, nil
}

// gateTap is the runner as the tap of a NAT's or firewall's outside
// interface: it sees the frames as they are on the outside wire.
type gateTap runner

func (g *gateTap) Frame(nic *stack.NIC, dir stack.Dir, pkt stack.Packet, note string) {
	(*runner)(g).frame(nic, dir, pkt, note)
}

// hub is the runner seen as the stacks' Tap and Observer: it keeps packet
// summaries and recent events for expectations and passes everything on
// to the sink (trace and captures).
type hub runner

// Frame records a summary of the frame for the packet expectations and
// passes it on to the recorder.
func (h *hub) Frame(nic *stack.NIC, dir stack.Dir, pkt stack.Packet, note string) {
	r := (*runner)(h)
	if r.gated[nic] {
		return // the gate captures it, on the wire's side
	}
	r.frame(nic, dir, pkt, note)
}

// WantsChecksums implements stack.ChecksumTap: the runner's own use of
// the frames (summaries, expectations) needs no checksums; its capture
// may.
func (h *hub) WantsChecksums() bool { return (*runner)(h).sink.WantsChecksums() }

// sentID is an entry of runner.sentIDs.
type sentID struct {
	id     uint64
	synAck bool
}

func (r *runner) frame(nic *stack.NIC, dir stack.Dir, pkt stack.Packet, note string) {
	if len(r.alias) > 0 {
		nic = r.orig(nic)
	}
	r.nframes++
	// An arrival whose departure was summarized needs nothing more, once
	// no packet expectation looks at the frames, unless it is a SYN-ACK
	// (its arrival gives the handshake RTT).
	slot := &r.sentIDs[pkt.ID%uint64(len(r.sentIDs))]
	if dir != stack.DirIn || r.keepPkts || pkt.ID == 0 || slot.id != pkt.ID || slot.synAck {
		s := r.summarize(nic, dir, pkt)
		if dir == stack.DirOut {
			*slot = sentID{pkt.ID, s.Proto == "tcp" && s.Flags == "S."}
		}
	}
	r.countCapture(len(pkt.Data))
	r.sink.Frame(nic, dir, pkt, note)
}

// summarize decodes a frame into its summary and counts it in the
// connection summaries, the packet expectations and a failure's context.
func (r *runner) summarize(nic *stack.NIC, dir stack.Dir, pkt stack.Packet) *pattern.Summary {
	s := &r.scratch
	if r.keepPkts {
		r.pkts = append(r.pkts, pattern.Summary{})
		s = &r.pkts[len(r.pkts)-1]
	} else {
		*s = pattern.Summary{}
	}
	s.Time = r.clock.Now().Sub(r.start)
	s.Host = nic.Stack().Name()
	if nic != r.lastNIC {
		v, ok := r.vantages[nic]
		if !ok {
			v = s.Host + ":" + nic.Name()
			r.vantages[nic] = v
		}
		r.lastNIC, r.lastVantage = nic, v
	}
	s.Vantage = r.lastVantage
	s.Dir = dir
	s.ID = pkt.ID
	r.dec.Decode(pkt.Data, nic.Type(), s)
	r.ndecoded++
	r.conns.add(r, s)
	if r.keepPkts {
		r.streamPackets(s)
	}
	if dir == stack.DirOut {
		r.rememberFrame(s)
	}
	return s
}

// countCapture adds a frame of n bytes to the capture files' size, and
// warns once when they pass largeCapture.
func (r *runner) countCapture(n int) {
	if r.opts.OutDir == "" || r.capBytes > largeCapture {
		return
	}
	// what the pcapng files grow by: the frame (cut to the snap length)
	// and an enhanced packet block's 32 bytes
	if r.opts.SnapLen > 0 {
		n = min(n, r.opts.SnapLen)
	}
	r.capBytes += int64(n+3)&^3 + 32
	if r.capBytes > largeCapture && r.opts.Warn != nil {
		fmt.Fprintf(r.opts.Warn, "warning: the captures in %s pass %d MB at %s of virtual time; --snaplen 128 keeps only the headers, --capture=trace writes none\n", r.opts.OutDir, largeCapture>>20, r.clock.Now().Sub(r.start))
	}
}

// Observe keeps state changes for the connection summary and the event
// for a failure's context, and passes it on to the recorder.
func (h *hub) Observe(ev *stack.Event) {
	r := (*runner)(h)
	if ev.Kind == stack.EventState && ev.Conn.Local.IsValid() {
		r.states[ev.Conn] = ev.To
	}
	if ev.Kind != stack.EventCall && ev.Kind != stack.EventSeries {
		r.remember(recentEntry{host: ev.Host, kind: ev.Kind, proto: ev.Proto, name: ev.Name, detail: ev.Detail, from: ev.From, to: ev.To})
	}
	if r.series != nil {
		r.series.Add(ev)
	}
	r.sink.Observe(ev)
}

// WantsSeries reports whether the run uses the stacks' EventSeries (it
// implements core.SeriesFilter; the stacks ask once, when they are made,
// after the sink and series are set up): for --series and --plots, and
// when the sink writes them.
func (h *hub) WantsSeries() bool {
	r := (*runner)(h)
	return r.series != nil || r.sink.WantsSeries()
}

// installFaults puts a filter on each link that carries a targeted
// fault, both ways: the pattern's addresses pick the direction.
func (r *runner) installFaults() {
	r.faultN = make([]int, len(r.sc.Faults))
	for _, lk := range r.sc.Links {
		l := r.net.Link(lk.Name())
		var idx []int
		var reorders []int
		for i, f := range r.sc.Faults {
			switch {
			case f.Link != lk.Name():
			case f.Action == FaultReorder:
				reorders = append(reorders, i)
			default:
				idx = append(idx, i)
			}
		}
		if len(reorders) > 0 {
			r.installReorders(l, reorders)
		}
		if len(idx) == 0 {
			continue
		}
		na, nb := l.NICs()
		for dir, nic := range []*stack.NIC{na, nb} {
			if nic == nil {
				nic = na // a switch port: Ethernet both ways
			}
			lt := stack.LinkEthernet // between two switches
			if nic != nil {
				lt = nic.Type()
			}
			var sum pattern.Summary
			l.SetFilter(sim.Direction(dir), func(pkt stack.Packet) sim.Verdict {
				sum = pattern.Summary{}
				r.dec.Decode(pkt.Data, lt, &sum)
				// Every fault counts the frames it matches, even one that
				// an earlier fault acts on, so that "the Nth" is the Nth
				// on the link; the first fault whose turn it is acts.
				fire := -1
				for _, i := range idx {
					f := r.sc.Faults[i]
					if len(f.Pattern.Match(&sum, r.owns, nil)) > 0 {
						continue
					}
					r.faultN[i]++
					if r.faultN[i] == f.N && fire < 0 {
						fire = i
					}
				}
				if fire >= 0 {
					f := r.sc.Faults[fire]
					r.note("fault", f.Text)
					switch f.Action {
					case FaultDrop:
						return sim.Drop
					case FaultDelay:
						return sim.Delay(f.Delay)
					case FaultDuplicate:
						return sim.Duplicate
					case FaultCorrupt:
						return sim.Corrupt(f.Offset)
					}
				}
				return sim.Pass
			})
		}
	}
}

// owns reports whether a is one of host's addresses.
func (r *runner) owns(host string, a netip.Addr) bool {
	h := r.sc.Host(host)
	if h == nil {
		return false
	}
	if h.Owns(a) || a.IsLinkLocalUnicast() && r.names[a] == host {
		return true
	}
	if hr := r.hosts[host]; hr != nil && h.SLAAC && a.Is6() {
		for _, n := range hr.nics {
			for _, p := range n.Addrs6() { // autoconfigured ones
				if p.Addr() == a {
					return true
				}
			}
		}
	}
	return false
}

// scheduleEvents puts the timeline's link changes on the clock.
func (r *runner) scheduleEvents() {
	for i, ev := range r.sc.Events {
		ev := ev
		r.clock.AfterFunc(ev.At, func() {
			if ev.Flood != nil {
				r.flood(ev, i)
				return
			}
			if ev.Crash != "" {
				r.crash(ev.Crash)
				return
			}
			if ev.Restart != "" {
				r.restart(ev.Restart)
				return
			}
			if ev.Inject != nil {
				r.inject(ev)
				return
			}
			l := r.net.Link(ev.Link)
			if l == nil {
				return
			}
			if ev.Up != nil {
				l.SetUp(*ev.Up)
				state := "down"
				if *ev.Up {
					state = "up"
				}
				r.event(ev.Link, "link "+state)
			}
			if ev.Set != nil {
				dirs := []sim.Direction{sim.AtoB, sim.BtoA}
				if ev.Dir == 1 {
					dirs = dirs[:1]
				} else if ev.Dir == 2 {
					dirs = dirs[1:]
				}
				for _, d := range dirs {
					cur := r.impairOf(ev.Link, d)
					for _, k := range ev.SetKeys {
						*cur = spec.SetLike(*ev.Set, *cur, k)
					}
					if err := l.SetImpairments(d, simImpair(*cur)); err != nil {
						r.failAt(ev.Pos, "event", err.Error(), nil)
					}
				}
				r.event(ev.Link, "impairments changed")
			}
		})
	}
}

// crash takes a host off the network: its links go down and its
// programs stop, so that its peers see it vanish.
func (r *runner) crash(host string) {
	r.hosts[host].crashed = true
	for _, lk := range r.sc.LinksOf(host) {
		r.net.Link(lk.Name()).SetUp(false)
	}
	for _, t := range r.tasks {
		if t.h.h.Name == host {
			t.daemon = true // not expected to finish any more
			t.finish()
		}
	}
	r.event(host, "host crashed: links down, programs stopped")
}

// event reports a timeline event to the trace.
func (r *runner) event(link, what string) {
	ev := stack.Event{Time: r.clock.Now(), Host: link, Kind: stack.EventNote, FD: -1, Name: "event", Detail: what}
	(*hub)(r).Observe(&ev)
}

// socketTable writes h's sockets into the trace under lane (its own when
// ""), a line each, as `ss -tuanp` shows them: protocol, state, receive
// and send queues, local and peer address, and the descriptor ("-" for a
// connection that has none: not yet accepted, closing, or in TIME_WAIT).
func (r *runner) socketTable(h *hostRT, lane string) {
	lines := []string{fmt.Sprintf("%-5s %-11s %6s %6s  %-21s %-21s %s", "Netid", "State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port", "Process")}
	for _, e := range h.st.Sockets() {
		peer, fd, local := "*:*", "-", "*:*"
		if e.Remote.IsValid() && !e.Remote.Addr().IsUnspecified() {
			peer = e.Remote.String()
		}
		if e.FD >= 0 {
			fd = fmt.Sprintf("fd=%d", e.FD)
		}
		if e.Local.IsValid() {
			local = e.Local.String()
		}
		lines = append(lines, fmt.Sprintf("%-5s %-11s %6d %6d  %-21s %-21s %s", e.Proto, e.State, e.RecvQ, e.SendQ, local, peer, fd))
	}
	for _, l := range lines {
		h.st.Emit(stack.Event{Host: lane, Kind: stack.EventNote, FD: -1, Name: "ss", Detail: l})
		r.note(cmp.Or(lane, h.h.Name), "ss: "+l)
	}
}

// progressAfter is how long a run goes before it reports progress.
var progressAfter = time.Second

// progress reports the run's progress once it has taken a second of wall
// time, at most five times a second, and once more at the end if it
// reported at all.
func (r *runner) progress(done bool) {
	now := time.Now()
	if done {
		if r.shown {
			r.opts.Progress(r.clock.Now().Sub(r.start), r.nframes, r.duration, true)
		}
		return
	}
	if now.Sub(r.wallStart) < progressAfter || now.Sub(r.lastShown) < 200*time.Millisecond {
		return
	}
	r.lastShown, r.shown = now, true
	r.opts.Progress(r.clock.Now().Sub(r.start), r.nframes, r.duration, false)
}

// tapPort makes the port of sw toward peer a capture point, SW:PEER: a
// stack of its own (no addresses, never sending) holds an interface
// named after the peer, and every frame through the port is recorded as
// that interface's, in as it reaches the switch, out as the switch sends
// it.
func (r *runner) tapPort(sw *sim.Switch, peer string) error {
	st := stack.New(stack.Options{Name: sw.Name(), Clock: r.clock, Rand: r.net.Rand("tap/" + sw.Name() + "/" + peer)})
	nic, err := st.AddNIC(stack.NICConfig{Name: peer, Type: stack.LinkEthernet, Addr: netip.PrefixFrom(netip.IPv4Unspecified(), 32),
		MAC: net.HardwareAddr{0x02, 0, 0, 0, 0, 0}}, discardLink{})
	if err != nil {
		return fmt.Errorf("the capture on %s's port toward %s: %v", sw.Name(), peer, err)
	}
	if !sw.SetTap(peer, func(dir stack.Dir, pkt stack.Packet) { r.frame(nic, dir, pkt, "") }) {
		return fmt.Errorf("%s has no port toward %s", sw.Name(), peer)
	}
	return nil
}

// discardLink is the link of a capture point's interface, which never
// sends.
type discardLink struct{}

func (discardLink) Send(stack.Packet) {}
