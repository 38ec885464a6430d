package sim

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"stacklab/stack"
	"stacklab/stack/core"
	"stacklab/stack/wire"
)

// Middlebox is a device in the middle of a link that sees the IPv4
// packets crossing it both ways and may reject them: a firewall, a NAT's
// mapping table. Non-IPv4 frames (ARP) pass without reaching it; IPv6
// ones reach it only if it is also a [Middlebox6].
type Middlebox interface {
	// Inspect decides about one IPv4 packet travelling in direction dir,
	// as it enters the link. ip is the link's own copy, valid only during
	// the call; Inspect may rewrite it in place (keeping its length and
	// its checksums right). A rejected packet is dropped and reason
	// ("firewall: dropped, idle timeout") is the drop event's detail.
	// Inspect runs with the link direction's lock held and must not call
	// back into the link.
	Inspect(dir Direction, ip []byte) (pass bool, reason string)
}

// Middlebox6 is a [Middlebox] that sees IPv6 packets too (a firewall);
// one that is not (a NAT, which is IPv4's) lets them pass untouched.
type Middlebox6 interface {
	Middlebox
	// Inspect6 is Inspect for one IPv6 packet.
	Inspect6(dir Direction, ip []byte) (pass bool, reason string)
}

// SetMiddlebox puts m in the middle of the link, both ways; nil removes
// it. It composes with the link's filters, which run first.
func (l *Link) SetMiddlebox(m Middlebox) {
	for _, dir := range []Direction{AtoB, BtoA} {
		p := l.pipes[dir]
		if m == nil {
			p.SetInspect(nil)
			continue
		}
		p.SetInspect(inspectBox(p.hdr, m, dir))
	}
}

// inspectBox adapts m, seeing packets in direction dir, to
// [Pipe.SetInspect].
func inspectBox(hdr int, m Middlebox, dir Direction) func(stack.Packet) (bool, string) {
	var v6 func(ip []byte) (bool, string)
	if m6, ok := m.(Middlebox6); ok {
		v6 = func(ip []byte) (bool, string) { return m6.Inspect6(dir, ip) }
	}
	return InspectIPs(hdr, func(ip []byte) (bool, string) { return m.Inspect(dir, ip) }, v6)
}

// InspectIP adapts a function on IPv4 packets to [Pipe.SetInspect] for
// frames with a link header of hdr bytes (see [HeaderLen]): frames that
// do not carry IPv4 pass untouched.
func InspectIP(hdr int, f func(ip []byte) (bool, string)) func(stack.Packet) (bool, string) {
	return InspectIPs(hdr, f, nil)
}

// InspectIPs is InspectIP with f6, if not nil, for IPv6 packets.
func InspectIPs(hdr int, f4, f6 func(ip []byte) (bool, string)) func(stack.Packet) (bool, string) {
	return func(pkt stack.Packet) (bool, string) {
		b := pkt.Data
		v6 := false
		if hdr > 0 {
			if len(b) < wire.EthernetHeaderLen {
				return true, ""
			}
			switch wire.Ethernet(b).Type() {
			case wire.EtherTypeIPv4:
			case wire.EtherTypeIPv6:
				v6 = true
			default:
				return true, ""
			}
			b = b[hdr:]
		} else {
			v6 = len(b) > 0 && b[0]>>4 == 6
		}
		if v6 {
			if f6 == nil {
				return true, ""
			}
			return f6(b)
		}
		return f4(b)
	}
}

// FirewallConfig configures a [Firewall]. Zero fields take the defaults
// noted beside them.
type FirewallConfig struct {
	// Inside is the direction in which packets leave the protected side:
	// AtoB (the default) when the link's first host is inside.
	Inside Direction
	// TCPIdle is how long a TCP flow may stay silent before the firewall
	// forgets it (default 5m; many home NATs and cloud load balancers
	// use between 2 and 6 minutes).
	TCPIdle time.Duration
	// UDPIdle is the same for UDP flows (default 30s).
	UDPIdle time.Duration
}

// Firewall is a stateful firewall that behaves like a NAT's mapping
// table without rewriting addresses: flows may only be opened from the
// inside (a TCP SYN, or any UDP datagram), packets of a known flow pass
// both ways and keep it alive, and a flow silent for longer than its idle
// timeout is forgotten. After that, every packet of the flow is dropped
// in both directions, silently: the connection dies unless keepalives
// kept it fresh, which is what a keepalive scenario shows. A TCP RST
// ends a flow at once. ICMP and IPv4 fragments after the first pass, but
// fragments that could hide a TCP or UDP header from the firewall are
// dropped (RFC 1858 §3): a first fragment too short to hold the whole
// header, and a TCP fragment at offset 8, which could overwrite the flags
// of the first.
//
// Over IPv6 it is the same, with RFC 7112's rule for fragments: a first
// fragment whose header chain stops before the whole TCP or UDP header
// is dropped; ICMPv6 (neighbour discovery among it) passes.
//
// A Firewall is a [Middlebox] and a [Middlebox6]; install it with
// [Link.SetMiddlebox]. It is safe for concurrent use.
type Firewall struct {
	mu    sync.Mutex
	clock core.Clock
	cfg   FirewallConfig
	flows map[flowKey]*flow
	sweep int // map size that triggers the next sweep
	stats FirewallStats
}

type flowKey struct {
	proto         uint8
	inside, other netip.AddrPort
}

type flow struct {
	last time.Time
	dead bool // timed out: remembered only to say why later packets drop
}

// FirewallStats count what a [Firewall] did.
type FirewallStats struct {
	Opened   uint64 // flows opened from the inside
	Expired  uint64 // flows forgotten after their idle timeout
	Reset    uint64 // flows ended by a RST
	Passed   uint64
	Rejected uint64
}

// NewFirewall returns a firewall timed by clock (the network's clock, in
// a simulation).
func NewFirewall(clock core.Clock, cfg FirewallConfig) *Firewall {
	if cfg.Inside != BtoA {
		cfg.Inside = AtoB
	}
	if cfg.TCPIdle <= 0 {
		cfg.TCPIdle = 5 * time.Minute
	}
	if cfg.UDPIdle <= 0 {
		cfg.UDPIdle = 30 * time.Second
	}
	return &Firewall{clock: clock, cfg: cfg, flows: map[flowKey]*flow{}, sweep: 1024}
}

// Stats returns the firewall's counts so far.
func (f *Firewall) Stats() FirewallStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

// Flows returns the number of live flows.
func (f *Firewall) Flows() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock.Now()
	n := 0
	for k, fl := range f.flows {
		if !f.expired(k, fl, now) {
			n++
		}
	}
	return n
}

const (
	fwNoState = "firewall: dropped, no state"
	fwIdle    = "firewall: dropped, idle timeout"
	fwTiny    = "firewall: dropped, tiny fragment"
)

// Inspect implements [Middlebox].
func (f *Firewall) Inspect(dir Direction, b []byte) (bool, string) {
	ip := wire.IPv4(b)
	if !ip.IsValid() {
		return f.pass()
	}
	proto := ip.Protocol()
	if off := ip.FragmentOffset(); off != 0 {
		if off == 8 && proto == wire.ProtoTCP {
			return f.reject(fwTiny) // RFC 1858 §3.2.2: overlaps the flags
		}
		return f.pass()
	}
	return f.transport(dir, proto, ip.Src(), ip.Dst(), ip.Payload(), ip.More())
}

// Inspect6 implements [Middlebox6].
func (f *Firewall) Inspect6(dir Direction, b []byte) (bool, string) {
	ip, err := wire.ParseIPv6(b)
	if err != nil {
		return f.pass()
	}
	ch, err := ip.Chain()
	if err != nil || ch.Fragment != nil && ch.Fragment.Offset() != 0 {
		return f.pass() // later fragments pass, as IPv4's
	}
	first := ch.Fragment != nil && ch.Fragment.More()
	return f.transport(dir, ch.Proto, ip.Src(), ip.Dst(), ip[ch.Offset:], first)
}

// transport reads the ports (and TCP's flags) at the start of payload,
// the upper-layer header of a packet of either family, and applies the
// flow table; other protocols pass. more says further fragments follow:
// then a header cut short could hide its flags or ports in a later one
// (RFC 1858 §3.2.1, RFC 7112), and the packet is dropped.
func (f *Firewall) transport(dir Direction, proto uint8, src, dst netip.Addr, payload []byte, more bool) (bool, string) {
	var sport, dport uint16
	var flags wire.TCPFlags
	switch proto {
	case wire.ProtoTCP:
		if len(payload) < wire.TCPMinHeaderLen && more {
			return f.reject(fwTiny)
		}
		if len(payload) < 14 {
			return f.pass()
		}
		t := wire.TCP(payload)
		sport, dport, flags = t.SrcPort(), t.DstPort(), t.Flags()
	case wire.ProtoUDP:
		if len(payload) < wire.UDPHeaderLen {
			if more {
				return f.reject(fwTiny)
			}
			return f.pass()
		}
		u := wire.UDP(payload)
		sport, dport = u.SrcPort(), u.DstPort()
	default:
		return f.pass()
	}
	return f.track(dir, proto, netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport), flags)
}

// track applies the flow table to a TCP or UDP packet from src to dst
// travelling in direction dir.
func (f *Firewall) track(dir Direction, proto uint8, src, dst netip.AddrPort, flags wire.TCPFlags) (bool, string) {
	out := dir == f.cfg.Inside
	k := flowKey{proto: proto, inside: src, other: dst}
	if !out {
		k.inside, k.other = dst, src
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock.Now()
	fl := f.flows[k]
	alive := fl != nil && !f.expired(k, fl, now)
	opens := out && (proto == wire.ProtoUDP || flags&(wire.TCPFlagSYN|wire.TCPFlagACK|wire.TCPFlagRST) == wire.TCPFlagSYN)
	switch {
	case alive:
		fl.last = now
	case opens:
		if fl == nil {
			f.maybeSweep(now)
			fl = &flow{}
			f.flows[k] = fl
		}
		*fl = flow{last: now}
		f.stats.Opened++
	default:
		f.stats.Rejected++
		if fl != nil {
			return false, fwIdle
		}
		return false, fwNoState
	}
	if proto == wire.ProtoTCP && flags&wire.TCPFlagRST != 0 {
		delete(f.flows, k)
		f.stats.Reset++
	}
	f.stats.Passed++
	return true, ""
}

func (f *Firewall) reject(reason string) (bool, string) {
	f.mu.Lock()
	f.stats.Rejected++
	f.mu.Unlock()
	return false, reason
}

func (f *Firewall) pass() (bool, string) {
	f.mu.Lock()
	f.stats.Passed++
	f.mu.Unlock()
	return true, ""
}

// expired reports whether fl has outlived its idle timeout, marking it
// dead the first time.
func (f *Firewall) expired(k flowKey, fl *flow, now time.Time) bool {
	if fl.dead {
		return true
	}
	idle := f.cfg.TCPIdle
	if k.proto == wire.ProtoUDP {
		idle = f.cfg.UDPIdle
	}
	if now.Sub(fl.last) <= idle {
		return false
	}
	fl.dead = true
	f.stats.Expired++
	return true
}

// maybeSweep forgets flows long dead once the table has doubled, so that
// memory stays bounded by the live flows.
func (f *Firewall) maybeSweep(now time.Time) {
	if len(f.flows) < f.sweep {
		return
	}
	for k, fl := range f.flows {
		if f.expired(k, fl, now) && now.Sub(fl.last) > 10*max(f.cfg.TCPIdle, f.cfg.UDPIdle) {
			delete(f.flows, k)
		}
	}
	f.sweep = max(1024, 2*len(f.flows))
}

// String describes the firewall for traces and capture comments.
func (f *Firewall) String() string {
	return fmt.Sprintf("firewall (inside %v, tcp idle %v, udp idle %v)", f.cfg.Inside, f.cfg.TCPIdle, f.cfg.UDPIdle)
}
