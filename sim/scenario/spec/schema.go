package spec

import (
	"net"
	"net/netip"
	"time"

	"stacklab/sim/scenario/expect"
	"stacklab/sim/scenario/lang"
	"stacklab/sim/scenario/pattern"
	"stacklab/stack"
)

// Scenario is a loaded scenario file, ready to [Scenario.Run].
type Scenario struct {
	Name     string
	About    string
	AboutZH  string // about in Simplified Chinese (about_zh), for --lang zh
	File     string // the name errors are reported under
	Seed     uint64
	Duration time.Duration // how long the simulation runs at most; default 60s
	Hosts    []*Host       // in file order
	Switches []*Switch     // switches and hubs, in file order
	Links    []*Link
	Events   []*TimedEvent
	Faults   []*Fault
	Expect   []*expect.Expectation
	Outputs  Outputs

	hostByName map[string]*Host
}

// Host returns the host called name, or nil.
func (s *Scenario) Host(name string) *Host { return s.hostByName[name] }

// HostNames returns the host names in file order.
func (s *Scenario) HostNames() []string {
	names := make([]string, len(s.Hosts))
	for i, h := range s.Hosts {
		names[i] = h.Name
	}
	return names
}

// Host is one simulated machine: a host with one interface (eth0), or a
// router with one interface per address (eth0, eth1, …) that forwards
// between them.
type Host struct {
	Name    string
	Pos     Pos
	Router  bool
	Addr    netip.Prefix     // the first interface's address; the one a host name stands for
	Ifaces  []netip.Prefix   // every interface's address, eth0 first
	Ifaces6 [][]netip.Prefix // each interface's IPv6 addresses (none: IPv4 only)
	Addr6   netip.Prefix     // the first IPv6 address; the one a host name stands for on an IPv6 socket
	IfMTU   []int            // per interface, 0 for the host's MTU
	MAC     net.HardwareAddr // nil: derived by the simulator
	MTU     int              // 0: 1500
	TTL     uint8
	// PortRange is the ephemeral port range (local_port_range, Linux's
	// ip_local_port_range); zero: Linux's default.
	PortRange [2]uint16
	TCP       stack.TCPOptions
	Gateway   netip.Addr // default route, if valid
	Gateway6  netip.Addr // IPv6 default route (::/0), if valid
	SLAAC     bool       // autoconfigure IPv6 from router advertisements (hosts)
	RA        bool       // send router advertisements (routers)
	// RAValid and RAPreferred are the advertised prefixes' lifetimes
	// (zero: RFC 4861's defaults, 30 and 7 days).
	RAValid, RAPreferred time.Duration
	Routes               []RouteSpec
	Program              *lang.Program // nil when the host runs no program
	Apps                 []*lang.Stmt  // built-in apps started at time 0, beside the program
	// Box makes a router a NAT or a firewall on one of its interfaces.
	Box *BoxSpec
}

// BoxSpec makes a router a NAT router or a firewall (routers: nat: or
// firewall:): the middlebox sits on the router's Outside interface, so
// the router's capture on that interface shows packets as they are on
// the outside wire, and its other captures as they are inside.
type BoxSpec struct {
	Pos     Pos
	Kind    string // "nat" or "firewall"
	Outside int    // index into the router's Ifaces
	BoxParams
}

// BoxParams are a middlebox's settings, written the same way on a router
// (routers: r: {nat: …}) and on a link (links: - {nat: …}). A firewall
// uses only the idle timeouts.
type BoxParams struct {
	Public           netip.Addr // a NAT's public address
	PortMin, PortMax uint16     // a NAT's port range
	TCPIdle, UDPIdle time.Duration
	// Drop: a NAT drops packets from outside that match no mapping
	// (unmatched: drop); else, the default, they reach the router's own
	// stack (unmatched: local), as on Linux with only a MASQUERADE rule.
	Drop bool
}

// Switch is an Ethernet switch (a learning bridge) or a hub (switches:
// or hubs:); hosts join it with links, one port each.
type Switch struct {
	Name    string
	Pos     Pos
	Hub     bool
	MaxMACs int
	Aging   time.Duration
	// Capture names the ports captured, each by the host or switch at
	// its other end: a capture point SWITCH:PEER, written to
	// SWITCH-PEER.pcapng, as a mirror port would give.
	Capture []string
}

// RouteSpec is a static route: traffic for Dst goes through the router at
// Via, which must be on one of the host's subnets.
type RouteSpec struct {
	Dst netip.Prefix
	Via netip.Addr
}

// Owns reports whether a is one of the host's addresses.
func (h *Host) Owns(a netip.Addr) bool {
	for _, p := range h.Ifaces {
		if p.Addr() == a {
			return true
		}
	}
	for _, ps := range h.Ifaces6 {
		for _, p := range ps {
			if p.Addr() == a {
				return true
			}
		}
	}
	return false
}

// Link joins two hosts; Forward impairs Ends[0] → Ends[1], Reverse the
// other way.
type Link struct {
	Pos              Pos
	Ends             [2]string
	Ifaces           [2]int // the interface of each end on this link
	Forward, Reverse Impair
	Firewall         *FirewallSpec
	NAT              *NATSpec
	// Switch: Ends[1] is a switch (or hub), not a host, and Ifaces[1]
	// is unused.
	Switch bool
	// Trunk: both ends are switches (or hubs); Ifaces is unused.
	Trunk bool
}

// NATSpec puts a network address and port translator (sim.NAT) in the
// middle of a link: packets leaving Inside's side get the source Public
// and a port of the NAT's own; replies are translated back while the
// mapping lives (each change is a line in the trace).
type NATSpec struct {
	Inside string // one of the link's ends
	BoxParams
}

// FirewallSpec puts a stateful firewall (sim.Firewall) in the middle of a
// link: flows open only from Inside's side and are forgotten after their
// idle timeout.
type FirewallSpec struct {
	Inside string // one of the link's ends
	BoxParams
}

// Name returns "a-b".
func (l *Link) Name() string { return l.Ends[0] + "-" + l.Ends[1] }

// Impair is what one direction of a link does to its frames. The zero
// value is a perfect link.
type Impair struct {
	Delay, Jitter time.Duration
	Rate          uint64 // bit/s; 0 unlimited
	QueueBytes    int
	QueuePackets  int
	Loss          float64
	Burst         Burst
	Duplicate     float64
	Reorder       float64
	ReorderDelay  time.Duration
	Corrupt       float64
	MTU           int
	AQM           AQM
}

// AQM is a link queue's active queue management (see sim.AQM): Kind
// "codel" or "red", marking CE when ECN is set.
type AQM struct {
	Kind             string
	ECN              bool
	Target, Interval time.Duration
	MinTh, MaxTh     int
	MaxP             float64
}

// Burst is a Gilbert–Elliott loss model (see sim.GilbertElliott).
type Burst struct{ P, R, LossGood, LossBad float64 }

// TimedEvent is a change on the timeline: a link going down or up, or its
// impairments changing.
type TimedEvent struct {
	Pos  Pos
	At   time.Duration
	Link string // "a-b"
	Up   *bool  // non-nil: set the link up or down
	// Crash names a host that fails: its links go down and its programs
	// stop, so its peers see it vanish without a FIN or RST.
	Crash string
	// Restart names a host that comes back as a new stack with no
	// sockets (crashing first if it has not): its links come up and its
	// apps start again, and a peer's old connection gets a RST.
	Restart string
	// Inject is a TCP segment delivered to the pattern's destination as if
	// its source had sent it, in the latest connection between them (seq
	// and ack relative, defaulting to the next expected): a spoofed RST or
	// SYN for RFC 5961, an old duplicate for TIME_WAIT.
	Inject *pattern.Pattern
	// Flood, when non-nil, sends spoofed packets to a host (flood.go).
	Flood *Flood
	// Set, when non-nil, changes the impairments named in SetKeys in the
	// directions named by Dir (0 both, 1 forward, 2 reverse); the others
	// stay as they were (`set: {loss: 10%}` keeps the link's delay).
	Set     *Impair
	SetKeys []string
	Dir     int
}

// FaultAction is what a targeted [Fault] does.
type FaultAction uint8

// Fault actions.
const (
	FaultDrop FaultAction = iota + 1
	FaultDelay
	FaultDuplicate
	FaultCorrupt
	FaultReorder
)

// Fault targets the Nth frame matching a pattern on a link: "drop 2nd
// client > server [P.]", "delay 1st server > client [S.] by 3s", "corrupt
// 1st client > server [P.] at 60", "reorder 3rd client > server [.] after
// 2", "drop 1st client > server [S] on r1-server". Without "on LINK" the
// link is the one joining the pattern's two hosts.
type Fault struct {
	Pos     Pos
	Action  FaultAction
	N       int // 1-based
	Pattern *pattern.Pattern
	Delay   time.Duration
	Offset  int    // byte to corrupt, -1 random
	After   int    // reorder: how many later matching frames overtake the held one
	Link    string // the link it acts on: "… on LINK", or the one joining the pattern's hosts
	Text    string
}

// Outputs choose what a run writes besides the per-vantage captures.
type Outputs struct {
	Combined bool // also write one capture with every hop
	Ladder   bool // also write ladder diagrams (text, Mermaid, SVG)
}

// Restarts reports whether the scenario restarts host.
func (sc *Scenario) Restarts(host string) bool {
	for _, ev := range sc.Events {
		if ev.Restart == host {
			return true
		}
	}
	return false
}
