package sim

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"stacklab/stack"
	"stacklab/stack/core"
)

// DefaultStart is the virtual time a [Network] starts at when
// NetworkOptions.Start is zero: a fixed instant, so that captures of the
// same scenario and seed are byte-identical.
var DefaultStart = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// NetworkOptions configure a [Network]. The zero value is usable: seed 0,
// starting at [DefaultStart], with tracing and capture off.
type NetworkOptions struct {
	// Seed fixes every random choice of the run: each host's and each
	// link direction's source is derived from it and from the host's or
	// link's name, so adding a host or link does not change the others'.
	Seed uint64
	// Start is the virtual time at the start of the run.
	Start time.Time
	// Observer receives the links' events (drops, corruption, …) and is
	// the default Observer of every host.
	Observer core.Observer
	// Tap is the default Tap of every host.
	Tap stack.Tap
}

// Network is a simulated network: hosts (stacks) joined by point-to-point
// [Link]s, all on one virtual [Clock]. The network is advanced by its Run
// methods; nothing happens between calls.
type Network struct {
	clock *Clock
	opts  NetworkOptions
	pid   atomic.Uint64

	mu     sync.Mutex
	hosts  []*stack.Stack
	byName map[string]*stack.Stack
	nics   map[*stack.Stack]int
	links  []*Link
	macs   uint32

	switches []*Switch
}

// NewNetwork returns an empty network.
func NewNetwork(opts NetworkOptions) *Network {
	if opts.Start.IsZero() {
		opts.Start = DefaultStart
	}
	return &Network{
		clock:  NewClock(opts.Start),
		opts:   opts,
		byName: map[string]*stack.Stack{},
		nics:   map[*stack.Stack]int{},
	}
}

// Clock returns the network's virtual clock.
func (n *Network) Clock() *Clock { return n.clock }

// Seed returns the seed the network was created with.
func (n *Network) Seed() uint64 { return n.opts.Seed }

// Observer returns the network's observer, or nil.
func (n *Network) Observer() core.Observer { return n.opts.Observer }

// NextPacketID returns a fresh packet id, unique in the network. Every
// host uses it as its stack.Options.PacketID.
func (n *Network) NextPacketID() uint64 { return n.pid.Add(1) }

// Rand returns a random source derived from the network's seed and label
// alone, for anything else in a run that needs randomness (a scenario's
// programs, a middlebox). The same label gives the same sequence.
func (n *Network) Rand(label string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(label))
	k := h.Sum64()
	return rand.New(rand.NewPCG(splitmix(n.opts.Seed^splitmix(k)), splitmix(k+n.opts.Seed)))
}

// splitmix is the SplitMix64 finaliser, to spread seeds over 64 bits.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// AddHost creates a stack named name on the network's clock. It fills in
// opts.Name, Clock, Rand (derived from the seed and the name), PacketID
// (the network's shared counter), and Observer and Tap when opts leaves
// them nil. Host names should be unique: [Network.Host] finds the first
// host of a name, and two hosts of the same name would draw the same
// random numbers were it not for a "#2" suffix on the second's label.
func (n *Network) AddHost(name string, opts stack.Options) *stack.Stack {
	n.mu.Lock()
	label := "host/" + name
	if _, dup := n.byName[name]; dup {
		label = fmt.Sprintf("host/%s#%d", name, len(n.hosts)+1)
	}
	n.mu.Unlock()

	opts.Name = name
	opts.Clock = n.clock
	opts.Rand = n.Rand(label)
	opts.PacketID = n.NextPacketID
	if opts.Observer == nil && n.opts.Observer != nil {
		opts.Observer = n.opts.Observer
	}
	if opts.Tap == nil && n.opts.Tap != nil {
		opts.Tap = n.opts.Tap
	}
	s := stack.New(opts)

	n.mu.Lock()
	defer n.mu.Unlock()
	n.hosts = append(n.hosts, s)
	if _, dup := n.byName[name]; !dup {
		n.byName[name] = s
	}
	return s
}

// AddRouter is [Network.AddHost] for a router: a stack with
// opts.Forwarding set, which routes packets between its interfaces
// (decrementing the TTL, answering with ICMP time exceeded or
// unreachable) as well as being a host itself. Give it one interface per
// link with [Network.Connect], and routes on the hosts behind it.
func (n *Network) AddRouter(name string, opts stack.Options) *stack.Stack {
	opts.Forwarding = true
	return n.AddHost(name, opts)
}

// Host returns the host named name, or nil.
func (n *Network) Host(name string) *stack.Stack {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.byName[name]
}

// Hosts returns the hosts in the order they were added.
func (n *Network) Hosts() []*stack.Stack {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*stack.Stack(nil), n.hosts...)
}

// Links returns the links in the order they were connected.
func (n *Network) Links() []*Link {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*Link(nil), n.links...)
}

// Link returns the link named name, or nil.
func (n *Network) Link(name string) *Link {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, l := range n.links {
		if l.name == name {
			return l
		}
	}
	return nil
}

// LinkConfig describes a link for [Network.Connect].
type LinkConfig struct {
	// Name names the link in events and counters. Empty means
	// "a—b" from the two hosts' names (with "#2", "#3"… for further
	// links between the same pair).
	Name string
	// AB and BA are the impairments from the first host to the second
	// and back.
	AB, BA Impairments
	// GateA and GateB, if set, put a middlebox on the first (second)
	// host's interface to the link; see [Gate]. On a switch port, GateA
	// is the host's.
	GateA, GateB *Gate
}

// Symmetric returns a LinkConfig with the same impairments both ways.
func Symmetric(imp Impairments) LinkConfig { return LinkConfig{AB: imp, BA: imp} }

// Connect adds an interface to a and one to b, joined by a new
// point-to-point link. Empty interface names become eth0, eth1… in the
// order each host's interfaces are added; a nil MAC on an Ethernet
// interface becomes the network's next address, 02:00:00:00:00:01,
// 02:00:00:00:00:02… Both ends must be of the same link type (Ethernet
// by default).
func (n *Network) Connect(a *stack.Stack, aCfg stack.NICConfig, b *stack.Stack, bCfg stack.NICConfig, cfg LinkConfig) (*Link, error) {
	if a == nil || b == nil {
		return nil, errors.New("sim: Connect: both ends need a host; create them with AddHost")
	}
	for i, imp := range []Impairments{cfg.AB, cfg.BA} {
		if err := imp.Validate(); err != nil {
			dir := [...]string{a.Name() + " → " + b.Name(), b.Name() + " → " + a.Name()}[i]
			return nil, fmt.Errorf("sim: link %s—%s, %s: %w", a.Name(), b.Name(), dir, err)
		}
	}
	if aCfg.Type == 0 {
		aCfg.Type = stack.LinkEthernet
	}
	if bCfg.Type == 0 {
		bCfg.Type = stack.LinkEthernet
	}
	if aCfg.Type != bCfg.Type {
		return nil, fmt.Errorf("sim: link %s—%s joins an %s interface to a %s one; give both ends the same type",
			a.Name(), b.Name(), aCfg.Type, bCfg.Type)
	}
	for _, c := range []struct {
		s   *stack.Stack
		cfg stack.NICConfig
	}{{a, aCfg}, {b, bCfg}} {
		if !c.cfg.Addr.IsValid() || !c.cfg.Addr.Addr().Is4() {
			return nil, fmt.Errorf("sim: link %s—%s: %s needs an IPv4 address with its prefix, like 10.0.0.1/24",
				a.Name(), b.Name(), c.s.Name())
		}
	}

	n.mu.Lock()
	name := cfg.Name
	if name == "" {
		name = a.Name() + "—" + b.Name()
		base := name
		for k := 2; n.linkNamedLocked(name); k++ {
			name = fmt.Sprintf("%s#%d", base, k)
		}
	} else if n.linkNamedLocked(name) {
		n.mu.Unlock()
		return nil, fmt.Errorf("sim: a link named %q already exists; give each link its own name", name)
	}
	for _, c := range []*stack.NICConfig{&aCfg, &bCfg} {
		s := a
		if c == &bCfg {
			s = b
		}
		if c.Name == "" {
			c.Name = fmt.Sprintf("eth%d", n.nics[s])
		}
		if c.Type == stack.LinkEthernet && c.MAC == nil {
			n.macs++
			m := n.macs
			c.MAC = net.HardwareAddr{0x02, 0, byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}
		}
	}
	n.mu.Unlock()

	l := &Link{name: name, a: a, b: b}
	hdr := HeaderLen(aCfg.Type)
	l.pipes = n.pipePair(name, a.Name(), b.Name(), hdr, cfg)

	var linkA stack.Link = l.pipes[AtoB]
	var gl *gateLink
	if cfg.GateA != nil {
		gl = newGateLink(cfg.GateA, a.Name(), l.pipes[AtoB], n.opts.Observer, n.clock)
		linkA = gl
	}
	nicA, err := a.AddNIC(aCfg, linkA)
	if err != nil {
		return nil, fmt.Errorf("sim: link %s: %w", name, err)
	}
	var linkB stack.Link = l.pipes[BtoA]
	var glB *gateLink
	if cfg.GateB != nil {
		glB = newGateLink(cfg.GateB, b.Name(), l.pipes[BtoA], n.opts.Observer, n.clock)
		linkB = glB
	}
	nicB, err := b.AddNIC(bCfg, linkB)
	if err != nil {
		// a's interface stays, on a link that goes nowhere.
		l.pipes[AtoB].Close()
		return nil, fmt.Errorf("sim: link %s: %w", name, err)
	}
	l.nicA, l.nicB = nicA, nicB
	l.pipes[AtoB].SetDeliver(nicB.Deliver)
	l.pipes[BtoA].SetDeliver(nicA.Deliver)
	if gl != nil {
		gl.nic = nicA
		l.pipes[BtoA].SetDeliver(gl.deliver)
	}
	if glB != nil {
		glB.nic = nicB
		l.pipes[AtoB].SetDeliver(glB.deliver)
	}

	n.mu.Lock()
	n.nics[a]++
	n.nics[b]++
	n.links = append(n.links, l)
	n.mu.Unlock()
	return l, nil
}

func (n *Network) linkNamedLocked(name string) bool {
	for _, l := range n.links {
		if l.name == name {
			return true
		}
	}
	return false
}

// Now returns the network's virtual time.
func (n *Network) Now() time.Time { return n.clock.Now() }

// Elapsed returns the virtual time since the start of the run.
func (n *Network) Elapsed() time.Duration { return n.clock.Elapsed() }

// Step runs the next event; see [Clock.Step].
func (n *Network) Step() bool { return n.clock.Step() }

// Run runs until no event is left; see [Clock.Run].
func (n *Network) Run() int { return n.clock.Run() }

// RunUntil runs every event up to t; see [Clock.RunUntil].
func (n *Network) RunUntil(t time.Time) { n.clock.RunUntil(t) }

// RunFor runs for d of virtual time; see [Clock.RunFor].
func (n *Network) RunFor(d time.Duration) { n.clock.RunFor(d) }

// Direction names one direction of a [Link].
type Direction int8

const (
	// AtoB is from the link's first host to its second.
	AtoB Direction = 0
	// BtoA is from the second host to the first.
	BtoA Direction = 1
	// Both means both directions, where a method accepts it.
	Both Direction = 2
)

func (d Direction) String() string {
	switch d {
	case AtoB:
		return "a→b"
	case BtoA:
		return "b→a"
	case Both:
		return "both"
	}
	return "unknown"
}

// Link is a point-to-point link between two hosts of a [Network], made of
// one [Pipe] per direction.
type Link struct {
	name       string
	a, b       *stack.Stack
	nicA, nicB *stack.NIC
	pipes      [2]*Pipe

	// A link to a switch port has no second host: sw is the switch, port
	// the port's number (from 1), and b and nicB are nil. A link between
	// two switches has no host at all: sw2 and port2 are the second
	// switch and its port, and a and nicA are nil too.
	sw    *Switch
	port  int
	sw2   *Switch
	port2 int
}

// Name returns the link's name ("client—server").
func (l *Link) Name() string { return l.name }

// Hosts returns the two hosts, in the order given to Connect. On a
// link to a switch port, b is nil.
func (l *Link) Hosts() (a, b *stack.Stack) { return l.a, l.b }

// NICs returns the two interfaces, in the order given to Connect. On a
// link to a switch port, b is nil.
func (l *Link) NICs() (a, b *stack.NIC) { return l.nicA, l.nicB }

// Switch returns the switch and the port number (from 1) of a link made
// by [Network.ConnectSwitch], or nil and 0.
func (l *Link) Switch() (*Switch, int) { return l.sw, l.port }

// DirFrom returns the direction of frames sent by the host named host,
// and false if host is not an end of the link.
func (l *Link) DirFrom(host string) (Direction, bool) {
	switch host {
	case l.endA():
		return AtoB, true
	case l.endB():
		return BtoA, true
	}
	return 0, false
}

// endA names the link's first end: a host, or a switch on a link
// between switches.
func (l *Link) endA() string {
	if l.a == nil {
		return l.sw.name
	}
	return l.a.Name()
}

// endB names the link's second end: a host or a switch.
func (l *Link) endB() string {
	if l.sw2 != nil {
		return l.sw2.name
	}
	if l.sw != nil {
		return l.sw.name
	}
	return l.b.Name()
}

// Pipe returns the pipe of one direction (AtoB or BtoA), or nil.
func (l *Link) Pipe(dir Direction) *Pipe {
	if dir != AtoB && dir != BtoA {
		return nil
	}
	return l.pipes[dir]
}

func (l *Link) each(dir Direction, f func(p *Pipe)) {
	switch dir {
	case AtoB, BtoA:
		f(l.pipes[dir])
	case Both:
		f(l.pipes[AtoB])
		f(l.pipes[BtoA])
	}
}

// pipePair makes a link's two directions, from → to with cfg.AB and back
// with cfg.BA, each with its own random source named after its ends.
func (n *Network) pipePair(name, from, to string, hdr int, cfg LinkConfig) [2]*Pipe {
	pipe := func(src, dst string, imp Impairments) *Pipe {
		return NewPipeConfig(PipeConfig{
			Clock: n.clock, Rand: n.Rand("link/" + name + "/" + src + ">" + dst),
			Impairments: imp, HeaderLen: hdr, Name: name, From: src, To: dst,
			Observer: n.opts.Observer, PartialChecksums: true,
		})
	}
	return [2]*Pipe{AtoB: pipe(from, to, cfg.AB), BtoA: pipe(to, from, cfg.BA)}
}

// SetImpairments changes the impairments of one direction or both, for
// frames sent from now on.
func (l *Link) SetImpairments(dir Direction, imp Impairments) error {
	if dir < AtoB || dir > Both {
		return fmt.Errorf("sim: link %s: no direction %d; use AtoB, BtoA or Both", l.name, dir)
	}
	if err := imp.Validate(); err != nil {
		return fmt.Errorf("sim: link %s: %w", l.name, err)
	}
	l.each(dir, func(p *Pipe) { p.SetImpairments(imp) })
	return nil
}

// Impairments returns the impairments of one direction.
func (l *Link) Impairments(dir Direction) Impairments {
	if p := l.Pipe(dir); p != nil {
		return p.Impairments()
	}
	return Impairments{}
}

// SetFilter installs a filter on one direction or both; see
// [Pipe.SetFilter].
func (l *Link) SetFilter(dir Direction, f Filter) {
	l.each(dir, func(p *Pipe) { p.SetFilter(f) })
}

// SetUp brings the link up or down, both ways. A link going down drops
// every frame on it; a down link drops every frame sent.
func (l *Link) SetUp(up bool) {
	l.pipes[AtoB].SetUp(up)
	l.pipes[BtoA].SetUp(up)
}

// Up reports whether the link is up.
func (l *Link) Up() bool { return l.pipes[AtoB].Up() }

// Counters returns the counters of one direction, or the sum of both.
func (l *Link) Counters(dir Direction) Counters {
	var c Counters
	l.each(dir, func(p *Pipe) { c.Add(p.Counters()) })
	return c
}
