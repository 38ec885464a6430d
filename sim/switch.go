package sim

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"stacklab/stack"
	"stacklab/stack/core"
	"stacklab/stack/wire"
)

// SwitchConfig configures a [Switch]. Zero fields take the defaults noted
// beside them.
type SwitchConfig struct {
	// Name names the switch in events, links and counters.
	Name string
	// Hub makes the device a repeater (a hub, or a shared coaxial
	// segment): every frame goes out of every other port, and there is no
	// MAC table.
	Hub bool
	// MaxMACs bounds the MAC table (default 1024). When it is full, a new
	// source address is not learned (counted in TableFull) and frames to
	// it are flooded.
	MaxMACs int
	// Aging is how long an entry lives without a frame from its address
	// (default 300s, Linux's bridge ageing_time).
	Aging time.Duration
}

// SwitchCounters count what a [Switch] did.
type SwitchCounters struct {
	Frames    uint64 // frames received on any port
	Forwarded uint64 // unicast frames sent out of the one port their address was learned on
	Flooded   uint64 // frames sent out of every other port (broadcast, multicast, unknown, hub)
	Filtered  uint64 // frames dropped because their destination is on the port they came from
	Learned   uint64 // addresses entered in the table
	Moved     uint64 // addresses seen on another port than the table said
	Aged      uint64 // entries forgotten after Aging
	TableFull uint64 // source addresses not learned because the table was full
	Runts     uint64 // frames shorter than an Ethernet header, dropped
}

// Switch is an Ethernet switch (a learning bridge, IEEE 802.1D) or, with
// Hub set, a repeater. Hosts join it with [Network.ConnectSwitch], each
// through its own link (a port). A switch learns which port each source
// MAC address is behind, sends a unicast frame only out of that port, and
// floods broadcasts, multicasts and frames to unknown addresses out of
// every other port. Learning, moves, ageing and floods are notes in the
// trace under the switch's name. It has no IP address and is invisible to
// the hosts.
type Switch struct {
	name  string
	clock *Clock
	obs   core.Observer
	cfg   SwitchConfig

	mu    sync.Mutex
	ports []*swPort
	table map[wire.MAC]*macEntry
	ctr   SwitchCounters
	ev    core.Event
}

// swPort is one port of a switch: the link it is on, the pipe that
// carries frames out of it, and the name of the host or switch at the
// link's other end.
type swPort struct {
	num  int // 1-based
	link *Link
	out  *Pipe
	peer string
	tap  func(dir stack.Dir, pkt stack.Packet)
}

type macEntry struct {
	port int // 1-based
	last time.Time
}

// MACEntry is one line of a switch's MAC table.
type MACEntry struct {
	MAC  net.HardwareAddr
	Port int    // 1-based, in the order hosts were connected
	Host string // the host at the port's other end
	Age  time.Duration
}

// AddSwitch adds a switch (or a hub) to the network.
func (n *Network) AddSwitch(cfg SwitchConfig) (*Switch, error) {
	if cfg.Name == "" {
		return nil, errors.New("sim: AddSwitch: the switch needs a name")
	}
	if cfg.MaxMACs < 0 || cfg.Aging < 0 {
		return nil, fmt.Errorf("sim: switch %s: MaxMACs and Aging cannot be negative", cfg.Name)
	}
	if cfg.MaxMACs == 0 {
		cfg.MaxMACs = 1024
	}
	if cfg.Aging == 0 {
		cfg.Aging = 300 * time.Second
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, dup := n.byName[cfg.Name]; dup {
		return nil, fmt.Errorf("sim: switch %s: a host has that name; give the switch its own", cfg.Name)
	}
	for _, sw := range n.switches {
		if sw.name == cfg.Name {
			return nil, fmt.Errorf("sim: a switch named %s already exists", cfg.Name)
		}
	}
	sw := &Switch{name: cfg.Name, clock: n.clock, obs: n.opts.Observer, cfg: cfg, table: map[wire.MAC]*macEntry{}}
	n.switches = append(n.switches, sw)
	return sw, nil
}

// Name returns the switch's name.
func (sw *Switch) Name() string { return sw.name }

// Hub reports whether the switch is a hub (repeats every frame).
func (sw *Switch) Hub() bool { return sw.cfg.Hub }

// Counters returns what the switch did so far.
func (sw *Switch) Counters() SwitchCounters {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return sw.ctr
}

// Table returns the live MAC table, ordered by port, then address.
func (sw *Switch) Table() []MACEntry {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	now := sw.clock.Now()
	var out []MACEntry
	for m, e := range sw.table {
		if now.Sub(e.last) > sw.cfg.Aging {
			continue
		}
		out = append(out, MACEntry{MAC: net.HardwareAddr(append([]byte(nil), m[:]...)), Port: e.port, Host: sw.ports[e.port-1].peer, Age: now.Sub(e.last)})
	}
	sortMACEntries(out)
	return out
}

func sortMACEntries(es []MACEntry) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && macLess(es[j], es[j-1]); j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

func macLess(a, b MACEntry) bool {
	if a.Port != b.Port {
		return a.Port < b.Port
	}
	return string(a.MAC) < string(b.MAC)
}

// ConnectSwitch adds an interface to h, joined to a new port of sw by a
// link (named "h—sw" unless cfg.Name says otherwise). cfg.AB impairs
// frames from the host to the switch, cfg.BA those back. Only Ethernet
// interfaces can join a switch.
func (n *Network) ConnectSwitch(h *stack.Stack, hCfg stack.NICConfig, sw *Switch, cfg LinkConfig) (*Link, error) {
	if h == nil || sw == nil {
		return nil, errors.New("sim: ConnectSwitch: needs a host and a switch")
	}
	if hCfg.Type == 0 {
		hCfg.Type = stack.LinkEthernet
	}
	if hCfg.Type != stack.LinkEthernet {
		return nil, fmt.Errorf("sim: link %s—%s: a switch port takes Ethernet interfaces only", h.Name(), sw.name)
	}
	if !hCfg.Addr.IsValid() || !hCfg.Addr.Addr().Is4() {
		return nil, fmt.Errorf("sim: link %s—%s: %s needs an IPv4 address with its prefix, like 10.0.0.1/24", h.Name(), sw.name, h.Name())
	}
	for i, imp := range []Impairments{cfg.AB, cfg.BA} {
		if err := imp.Validate(); err != nil {
			dir := [...]string{h.Name() + " → " + sw.name, sw.name + " → " + h.Name()}[i]
			return nil, fmt.Errorf("sim: link %s—%s, %s: %w", h.Name(), sw.name, dir, err)
		}
	}
	n.mu.Lock()
	name := cfg.Name
	if name == "" {
		name = h.Name() + "—" + sw.name
		base := name
		for k := 2; n.linkNamedLocked(name); k++ {
			name = fmt.Sprintf("%s#%d", base, k)
		}
	} else if n.linkNamedLocked(name) {
		n.mu.Unlock()
		return nil, fmt.Errorf("sim: a link named %q already exists; give each link its own name", name)
	}
	if hCfg.Name == "" {
		hCfg.Name = fmt.Sprintf("eth%d", n.nics[h])
	}
	if hCfg.MAC == nil {
		n.macs++
		m := n.macs
		hCfg.MAC = net.HardwareAddr{0x02, 0, byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}
	}
	n.mu.Unlock()

	l := &Link{name: name, a: h, sw: sw}
	hdr := HeaderLen(stack.LinkEthernet)
	l.pipes = n.pipePair(name, h.Name(), sw.name, hdr, cfg)
	var link stack.Link = l.pipes[AtoB]
	var gl *gateLink
	if cfg.GateA != nil {
		gl = newGateLink(cfg.GateA, h.Name(), l.pipes[AtoB], n.opts.Observer, n.clock)
		link = gl
	}
	nic, err := h.AddNIC(hCfg, link)
	if err != nil {
		return nil, fmt.Errorf("sim: link %s: %w", name, err)
	}
	l.nicA = nic
	l.pipes[BtoA].SetDeliver(nic.Deliver)
	if gl != nil {
		gl.nic = nic
		l.pipes[BtoA].SetDeliver(gl.deliver)
	}

	l.port = sw.addPort(l, l.pipes[BtoA], h.Name())
	port := l.port
	l.pipes[AtoB].SetDeliver(func(pkt stack.Packet) { sw.input(port, pkt) })

	n.mu.Lock()
	n.nics[h]++
	n.links = append(n.links, l)
	n.mu.Unlock()
	return l, nil
}

// addPort adds a port on link l whose frames leave through out toward
// peer, and returns its number.
func (sw *Switch) addPort(l *Link, out *Pipe, peer string) int {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	p := &swPort{num: len(sw.ports) + 1, link: l, out: out, peer: peer}
	sw.ports = append(sw.ports, p)
	return p.num
}

// ConnectSwitches joins two switches (or hubs) by a link (named "a—b"
// unless cfg.Name says otherwise), a port on each: a tree of switches
// learns each address on the port toward it and floods across the
// link. cfg.AB impairs frames from a to b, cfg.BA those back. There is
// no spanning tree: joining switches in a loop would flood a broadcast
// round it forever, so ConnectSwitches refuses a link between switches
// already joined through others.
func (n *Network) ConnectSwitches(a, b *Switch, cfg LinkConfig) (*Link, error) {
	if a == nil || b == nil || a == b {
		return nil, errors.New("sim: ConnectSwitches: needs two different switches")
	}
	for i, imp := range []Impairments{cfg.AB, cfg.BA} {
		if err := imp.Validate(); err != nil {
			dir := [...]string{a.name + " → " + b.name, b.name + " → " + a.name}[i]
			return nil, fmt.Errorf("sim: link %s—%s, %s: %w", a.name, b.name, dir, err)
		}
	}
	n.mu.Lock()
	if n.switchesJoinedLocked(a, b) {
		n.mu.Unlock()
		return nil, fmt.Errorf("sim: link %s—%s: the switches are already joined through other switches; a loop floods broadcasts forever (there is no spanning tree): leave this link out", a.name, b.name)
	}
	name := cfg.Name
	if name == "" {
		name = a.name + "—" + b.name
	}
	if n.linkNamedLocked(name) {
		n.mu.Unlock()
		return nil, fmt.Errorf("sim: a link named %q already exists; give each link its own name", name)
	}
	n.mu.Unlock()
	l := &Link{name: name, sw: a, sw2: b}
	l.pipes = n.pipePair(name, a.name, b.name, HeaderLen(stack.LinkEthernet), cfg)
	l.port = a.addPort(l, l.pipes[AtoB], b.name)
	l.port2 = b.addPort(l, l.pipes[BtoA], a.name)
	pa, pb := l.port, l.port2
	l.pipes[AtoB].SetDeliver(func(pkt stack.Packet) { b.input(pb, pkt) })
	l.pipes[BtoA].SetDeliver(func(pkt stack.Packet) { a.input(pa, pkt) })
	n.mu.Lock()
	n.links = append(n.links, l)
	n.mu.Unlock()
	return l, nil
}

// switchesJoinedLocked reports whether a path of switch-to-switch links
// joins a and b.
func (n *Network) switchesJoinedLocked(a, b *Switch) bool {
	seen := map[*Switch]bool{a: true}
	queue := []*Switch{a}
	for len(queue) > 0 {
		sw := queue[0]
		queue = queue[1:]
		for _, l := range n.links {
			if l.sw2 == nil {
				continue
			}
			var next *Switch
			switch sw {
			case l.sw:
				next = l.sw2
			case l.sw2:
				next = l.sw
			}
			if next == b {
				return true
			}
			if next != nil && !seen[next] {
				seen[next] = true
				queue = append(queue, next)
			}
		}
	}
	return false
}

// SetTap makes f see every frame through the port toward peer (the host
// or switch at the port's other end): DirIn as it reaches the switch,
// DirOut as the switch sends it — a capture point on the port, as a
// mirror port would give. It reports false if no port leads to peer.
func (sw *Switch) SetTap(peer string, f func(dir stack.Dir, pkt stack.Packet)) bool {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	found := false
	for _, p := range sw.ports {
		if p.peer == peer {
			p.tap, found = f, true
		}
	}
	return found
}

// Switches returns the switches in the order they were added.
func (n *Network) Switches() []*Switch {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*Switch(nil), n.switches...)
}

// input handles a frame arriving from port in (1-based).
func (sw *Switch) input(in int, pkt stack.Packet) {
	sw.mu.Lock()
	sw.ctr.Frames++
	if in >= 1 && in <= len(sw.ports) && sw.ports[in-1].tap != nil {
		finishForTap(&pkt)
		sw.ports[in-1].tap(stack.DirIn, pkt)
	}
	if len(pkt.Data) < wire.EthernetHeaderLen {
		sw.ctr.Runts++
		sw.note(core.EventDrop, "runt", fmt.Sprintf("switch: dropped, frame of %d bytes on port %d", len(pkt.Data), in), pkt.ID)
		sw.mu.Unlock()
		return
	}
	eth := wire.Ethernet(pkt.Data)
	src, dst := eth.Src(), eth.Dst()
	if sw.cfg.Hub {
		sw.ctr.Flooded++
		out := sw.others(in)
		sw.mu.Unlock()
		sw.send(out, pkt)
		return
	}
	now := sw.clock.Now()
	if src[0]&1 == 0 { // a multicast source is invalid: never learned
		sw.learn(src, in, now, pkt.ID)
	}
	var out []*swPort
	if dst[0]&1 == 0 {
		if e, ok := sw.table[dst]; ok {
			if now.Sub(e.last) > sw.cfg.Aging {
				sw.ctr.Aged++
				delete(sw.table, dst)
				sw.note(core.EventNote, "mac", fmt.Sprintf("aged out %s on port %d (%s), silent for %s", dst, e.port, sw.ports[e.port-1].peer, sw.cfg.Aging), pkt.ID)
			} else if e.port == in {
				sw.ctr.Filtered++
				sw.mu.Unlock()
				return
			} else {
				sw.ctr.Forwarded++
				out = []*swPort{sw.ports[e.port-1]}
			}
		}
	}
	if out == nil {
		sw.ctr.Flooded++
		out = sw.others(in)
		what := "unknown " + dst.String()
		if dst == (wire.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) {
			what = "broadcast"
		} else if dst[0]&1 != 0 {
			what = "multicast " + dst.String()
		}
		sw.note(core.EventNote, "flood", fmt.Sprintf("flood %s from port %d (%s) to %s", what, in, sw.ports[in-1].peer, portList(out)), pkt.ID)
	}
	sw.mu.Unlock()
	sw.send(out, pkt)
}

// learn enters (or refreshes) src on port in, with the lock held.
func (sw *Switch) learn(src wire.MAC, in int, now time.Time, id uint64) {
	host := sw.ports[in-1].peer
	if e, ok := sw.table[src]; ok {
		if e.port != in {
			sw.ctr.Moved++
			sw.note(core.EventNote, "mac", fmt.Sprintf("moved %s from port %d to port %d (%s)", src, e.port, in, host), id)
			e.port = in
		}
		e.last = now
		return
	}
	if len(sw.table) >= sw.cfg.MaxMACs {
		// Forget expired entries before refusing.
		for m, e := range sw.table {
			if now.Sub(e.last) > sw.cfg.Aging {
				delete(sw.table, m)
				sw.ctr.Aged++
			}
		}
		if len(sw.table) >= sw.cfg.MaxMACs {
			sw.ctr.TableFull++
			sw.note(core.EventDrop, "mac", fmt.Sprintf("switch: table full (%d entries), %s on port %d (%s) not learned", sw.cfg.MaxMACs, src, in, host), id)
			return
		}
	}
	sw.table[src] = &macEntry{port: in, last: now}
	sw.ctr.Learned++
	sw.note(core.EventNote, "mac", fmt.Sprintf("learned %s on port %d (%s)", src, in, host), id)
}

func (sw *Switch) others(in int) []*swPort {
	out := make([]*swPort, 0, len(sw.ports)-1)
	for i, p := range sw.ports {
		if i+1 != in {
			out = append(out, p)
		}
	}
	return out
}

func portList(ls []*swPort) string {
	if len(ls) == 0 {
		return "no other port"
	}
	var b strings.Builder
	for i, l := range ls {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d (%s)", l.num, l.peer)
	}
	return b.String()
}

// finishForTap finishes a frame's TCP checksum, if its sender left it to
// the link, in the frame the pipe lends, before a capture shows it.
func finishForTap(pkt *stack.Packet) {
	if pkt.ChecksumPartial {
		wire.FinishTCPChecksum(pkt.Data, true)
		pkt.ChecksumPartial = false
	}
}

// send puts pkt on the outgoing pipe of every port in out. Pipes copy
// the frame. The taps run outside the lock, as the pipes do; a port's
// tap is set before the run starts.
func (sw *Switch) send(out []*swPort, pkt stack.Packet) {
	for _, p := range out {
		if p.tap != nil {
			finishForTap(&pkt)
			p.tap(stack.DirOut, pkt)
		}
		p.out.Send(pkt)
	}
}

func (sw *Switch) note(kind core.EventKind, name, detail string, id uint64) {
	if sw.obs == nil {
		return
	}
	sw.ev = core.Event{Time: sw.clock.Now(), Host: sw.name, Kind: kind, FD: -1, Name: name, Detail: detail, PacketID: id}
	sw.obs.Observe(&sw.ev)
}
