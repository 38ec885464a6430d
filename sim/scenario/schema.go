package scenario

import (
	"net"
	"net/netip"
	"time"

	"stacklab/stack"
)

// Scenario is a loaded scenario file, ready to [Scenario.Run].
type Scenario struct {
	Name     string
	About    string
	File     string // the name errors are reported under
	Seed     uint64
	Duration time.Duration // how long the simulation runs at most; default 60s
	Hosts    []*Host       // in file order
	Links    []*Link
	Events   []*TimedEvent
	Faults   []*Fault
	Expect   []*Expectation
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

// Host is one simulated machine with one interface (eth0).
type Host struct {
	Name    string
	Pos     Pos
	Addr    netip.Prefix
	MAC     net.HardwareAddr // nil: derived by the simulator
	MTU     int              // 0: 1500
	TTL     uint8
	TCP     stack.TCPOptions
	Program *Program // nil when the host runs no program
	Apps    []*Stmt  // built-in apps started at time 0, beside the program
}

// Link joins two hosts; Forward impairs Ends[0] → Ends[1], Reverse the
// other way.
type Link struct {
	Pos              Pos
	Ends             [2]string
	Forward, Reverse Impair
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
	// Set, when non-nil, replaces the impairments of the directions named
	// by Dir (0 both, 1 forward, 2 reverse).
	Set *Impair
	Dir int
}

// FaultAction is what a targeted [Fault] does.
type FaultAction uint8

// Fault actions.
const (
	FaultDrop FaultAction = iota + 1
	FaultDelay
	FaultDuplicate
	FaultCorrupt
)

// Fault targets the Nth frame matching a pattern on the link between the
// pattern's two hosts, in the pattern's direction: "drop 2nd client >
// server [P.]", "delay 1st server > client [S.] by 3s", "corrupt 1st
// client > server [P.] at 60".
type Fault struct {
	Pos     Pos
	Action  FaultAction
	N       int // 1-based
	Pattern *Pattern
	Delay   time.Duration
	Offset  int // byte to corrupt, -1 random
	Text    string
}

// Outputs choose what a run writes besides the per-vantage captures.
type Outputs struct {
	Combined bool // also write one capture with every hop
}
