package sim

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"stacklab/stack/core"
	"stacklab/stack/wire"
)

// NATConfig configures a [NAT]. Zero fields take the defaults noted
// beside them; Public is required.
type NATConfig struct {
	// Inside is the direction in which packets leave the private side:
	// AtoB (the default) when the link's first host is inside (typically
	// a router whose outside interface the link joins).
	Inside Direction
	// Public is the address inside sources are rewritten to: the outside
	// address of the router the NAT sits behind.
	Public netip.Addr
	// PortMin and PortMax bound the public ports handed out, in order and
	// never reused while a mapping holds them (default 30000–39999).
	PortMin, PortMax uint16
	// TCPIdle, UDPIdle and ICMPIdle are how long a mapping may stay
	// unused before it is forgotten (defaults 5m, 30s, 30s).
	TCPIdle, UDPIdle, ICMPIdle time.Duration
	// DropUnmatched drops a packet from outside to Public that matches
	// no mapping (counted in Rejected), as a router whose firewall drops
	// unsolicited traffic on its outside interface does. Without it, the
	// default, such a packet passes untranslated (counted in Unmatched)
	// to the router's own stack — what a Linux router with only a
	// MASQUERADE rule does: the packet has no conntrack entry, is
	// delivered locally, and its TCP answers a segment with a RST, its
	// UDP with port unreachable.
	DropUnmatched bool
	// OnChange, when set, is told of each change to the translation
	// table as it happens: "map tcp 10.0.0.1:5000 ⇄ 203.0.113.1:30000 for
	// 203.0.113.2:80" and "expire tcp … after 30s idle". It is called with
	// the NAT's lock held and must not call back into the NAT.
	OnChange func(what string)
}

// NAT is a network address and port translator (RFC 3022 NAPT) on a link:
// it rewrites the source of TCP, UDP and ICMP echo packets leaving the
// inside to Public and a port of its own, and the destination of replies
// back, fixing the checksums (RFC 1624 incremental updates). Each mapping
// is one flow (inside endpoint, remote endpoint), and only that remote
// may answer through it (address- and port-dependent filtering, RFC 4787
// §5). A mapping unused for its idle timeout is forgotten: replies then
// reach the router itself, whose TCP resets them (or are dropped, with
// DropUnmatched), and the next packet from the inside gets a new public
// port, so the remote sees a stranger and answers a TCP segment with a
// RST — what happens to an idle connection behind a home router.
//
// ICMP errors about a translated flow (destination unreachable, source
// quench, time exceeded, parameter problem) are translated too, the
// packet they quote included, so that "port unreachable" and path MTU
// discovery's "fragmentation needed" reach the inside host
// (RFC 5508 §4, RFC 3022 §4.3); errors about no known flow are dropped.
// IPv4 fragments after the first carry no ports: going out they get the
// public source address; coming in they follow the first fragment of the
// same datagram (remote, identification, protocol) to its inside host,
// and pass untranslated if it has not come through. Packets to or from
// Public itself pass untranslated. A NAT is a [Middlebox]; install it with
// [Link.SetMiddlebox]. It is safe for concurrent use.
type NAT struct {
	mu    sync.Mutex
	clock core.Clock
	cfg   NATConfig
	out   map[natKey]*natMapping
	in    map[natPort]*natMapping
	next  uint16
	stats NATStats
	// frags maps datagrams coming in whose first fragment was translated
	// to their inside host, for the fragments that follow.
	frags map[natFrag]natFragDst
}

type natFrag struct {
	remote netip.Addr
	id     uint16
	proto  uint8
}

type natFragDst struct {
	inside netip.Addr
	at     time.Time
}

// Bounds of the fragment table: an entry lives as long as a reassembly
// may wait (Linux's 30 s), and the table holds at most natMaxFrags.
const (
	natFragLife = 30 * time.Second
	natMaxFrags = 1024
)

type natKey struct {
	proto          uint8
	inside, remote netip.AddrPort
}

type natPort struct {
	proto uint8
	port  uint16
}

type natMapping struct {
	key  natKey
	port uint16
	last time.Time
	dead bool
}

// NATStats count what a [NAT] did.
type NATStats struct {
	Mappings   uint64 // mappings created
	Expired    uint64 // mappings forgotten after their idle timeout
	Translated uint64 // packets rewritten
	Rejected   uint64 // packets dropped
	Unmatched  uint64 // packets from outside with no mapping let through to the router (not DropUnmatched)
}

// NewNAT returns a NAT timed by clock, or an error if cfg has no public
// address or an empty port range.
func NewNAT(clock core.Clock, cfg NATConfig) (*NAT, error) {
	if !cfg.Public.Is4() {
		return nil, fmt.Errorf("sim: NAT needs a public IPv4 address (the router's outside address), not %v", cfg.Public)
	}
	if cfg.Inside != BtoA {
		cfg.Inside = AtoB
	}
	if cfg.PortMin == 0 && cfg.PortMax == 0 {
		cfg.PortMin, cfg.PortMax = 30000, 39999
	}
	if cfg.PortMin == 0 || cfg.PortMax < cfg.PortMin {
		return nil, fmt.Errorf("sim: NAT port range %d–%d is empty; give 1 ≤ min ≤ max", cfg.PortMin, cfg.PortMax)
	}
	if cfg.TCPIdle <= 0 {
		cfg.TCPIdle = 5 * time.Minute
	}
	if cfg.UDPIdle <= 0 {
		cfg.UDPIdle = 30 * time.Second
	}
	if cfg.ICMPIdle <= 0 {
		cfg.ICMPIdle = 30 * time.Second
	}
	return &NAT{clock: clock, cfg: cfg, out: map[natKey]*natMapping{}, in: map[natPort]*natMapping{}, next: cfg.PortMin}, nil
}

// Stats returns the NAT's counts so far.
func (t *NAT) Stats() NATStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}

// Mappings returns the number of live mappings.
func (t *NAT) Mappings() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.Now()
	n := 0
	for _, m := range t.out {
		if !t.expired(m, now) {
			n++
		}
	}
	return n
}

const (
	natNoMapping = "nat: dropped, no mapping"
	natExpired   = "nat: dropped, mapping expired"
	natNoPort    = "nat: dropped, no free port"
)

// Inspect implements [Middlebox].
func (t *NAT) Inspect(dir Direction, b []byte) (bool, string) {
	ip := wire.IPv4(b)
	if !ip.IsValid() {
		return true, ""
	}
	if ip.FragmentOffset() != 0 {
		t.laterFragment(dir, ip)
		return true, ""
	}
	l4 := ip.Payload()
	proto := ip.Protocol()
	// Where the "port" is, and where the checksum that covers it is.
	var sportOff, dportOff, ckOff int
	pseudo := true
	switch proto {
	case wire.ProtoTCP:
		if len(l4) < wire.TCPMinHeaderLen {
			return true, ""
		}
		sportOff, dportOff, ckOff = wire.TCPSrcPortOffset, wire.TCPDstPortOffset, wire.TCPChecksumOffset
	case wire.ProtoUDP:
		if len(l4) < wire.UDPHeaderLen {
			return true, ""
		}
		sportOff, dportOff, ckOff = wire.UDPSrcPortOffset, wire.UDPDstPortOffset, wire.UDPChecksumOffset
	case wire.ProtoICMP:
		if len(l4) < wire.ICMPv4HeaderLen {
			return true, ""
		}
		// Echo requests go out, replies come in; the identifier plays
		// both ports (RFC 5508 §3.1).
		typ := l4[wire.ICMPv4TypeOffset]
		if isICMPError(typ) {
			return t.inspectError(dir, ip, l4)
		}
		if dir == t.cfg.Inside && typ != wire.ICMPEcho || dir != t.cfg.Inside && typ != wire.ICMPEchoReply {
			return true, ""
		}
		sportOff, dportOff, ckOff = wire.ICMPv4IDOffset, wire.ICMPv4IDOffset, wire.ICMPv4ChecksumOffset
		pseudo = false
	default:
		return true, ""
	}
	src := netip.AddrPortFrom(ip.Src(), binary.BigEndian.Uint16(l4[sportOff:]))
	dst := netip.AddrPortFrom(ip.Dst(), binary.BigEndian.Uint16(l4[dportOff:]))

	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.Now()
	if dir == t.cfg.Inside {
		if src.Addr() == t.cfg.Public {
			return true, "" // the router's own traffic
		}
		k := natKey{proto: proto, inside: src, remote: dst}
		if proto == wire.ProtoICMP {
			k.remote = netip.AddrPortFrom(dst.Addr(), 0)
		}
		m := t.out[k]
		if m == nil || t.expired(m, now) {
			if m = t.allocate(k, now); m == nil {
				t.stats.Rejected++
				return false, natNoPort
			}
		}
		m.last = now
		rewrite(ip, l4, proto, ipSrc, sportOff, ckOff, pseudo, t.cfg.Public, m.port)
		t.stats.Translated++
		return true, ""
	}
	if dst.Addr() != t.cfg.Public {
		return true, ""
	}
	m := t.in[natPort{proto, dst.Port()}]
	remote := src
	if proto == wire.ProtoICMP {
		remote = netip.AddrPortFrom(src.Addr(), 0)
	}
	switch {
	case (m == nil || m.key.remote != remote || t.expired(m, now)) && !t.cfg.DropUnmatched:
		t.stats.Unmatched++
		return true, ""
	case m == nil || m.key.remote != remote:
		t.stats.Rejected++
		return false, natNoMapping
	case t.expired(m, now):
		t.stats.Rejected++
		return false, natExpired
	}
	m.last = now
	rewrite(ip, l4, proto, ipDst, dportOff, ckOff, pseudo, m.key.inside.Addr(), m.key.inside.Port())
	t.stats.Translated++
	if ip.More() {
		t.rememberFragment(natFrag{src.Addr(), ip.ID(), proto}, m.key.inside.Addr(), now)
	}
	return true, ""
}

// laterFragment translates the address of a fragment past the first
// (RFC 3022 §4.2 and §6.1 note that only the first carries the ports).
func (t *NAT) laterFragment(dir Direction, ip wire.IPv4) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if dir == t.cfg.Inside {
		if ip.Src() != t.cfg.Public {
			setAddr(ip, ipSrc, t.cfg.Public)
			ip.SetChecksum()
		}
		return
	}
	if ip.Dst() != t.cfg.Public {
		return
	}
	k := natFrag{ip.Src(), ip.ID(), ip.Protocol()}
	d, ok := t.frags[k]
	if !ok {
		return
	}
	if t.clock.Now().Sub(d.at) > natFragLife {
		delete(t.frags, k)
		return
	}
	setAddr(ip, ipDst, d.inside)
	ip.SetChecksum()
}

// rememberFragment records where the fragments after a translated first
// fragment go, forgetting stale entries when the table is full.
func (t *NAT) rememberFragment(k natFrag, inside netip.Addr, now time.Time) {
	if t.frags == nil {
		t.frags = make(map[natFrag]natFragDst)
	}
	if len(t.frags) >= natMaxFrags {
		for k, d := range t.frags {
			if now.Sub(d.at) > natFragLife {
				delete(t.frags, k)
			}
		}
		if len(t.frags) >= natMaxFrags {
			return
		}
	}
	t.frags[k] = natFragDst{inside, now}
}

// isICMPError reports whether an ICMP type is an error that quotes the
// packet it is about (RFC 792).
func isICMPError(typ uint8) bool {
	switch typ {
	case wire.ICMPDestUnreachable, 4 /* source quench */, wire.ICMPTimeExceeded, wire.ICMPParamProblem:
		return true
	}
	return false
}

// inspectError translates an ICMP error m about a flow through the NAT
// (RFC 5508 §4.2): one coming in about a packet that went out is sent to
// the inside host, with the quoted packet's source put back; one going
// out about a packet that came in is sent from Public, with the quoted
// packet's destination translated. Errors about no flow are dropped; ones
// too short or with a bad checksum pass untouched, for the receiver to
// judge.
func (t *NAT) inspectError(dir Direction, ip wire.IPv4, m []byte) (bool, string) {
	if len(m) < wire.ICMPv4HeaderLen || wire.Fold(wire.Checksum(m, 0)) != 0xffff {
		return true, ""
	}
	inner, err := wire.ParseIPv4Quoted(m[wire.ICMPv4HeaderLen:])
	if err != nil || inner.FragmentOffset() != 0 {
		return true, ""
	}
	q := inner.Payload()
	iproto := inner.Protocol()
	var sportOff, dportOff, ckOff int
	pseudo := true
	switch iproto {
	case wire.ProtoTCP:
		sportOff, dportOff, ckOff = wire.TCPSrcPortOffset, wire.TCPDstPortOffset, wire.TCPChecksumOffset
	case wire.ProtoUDP:
		sportOff, dportOff, ckOff = wire.UDPSrcPortOffset, wire.UDPDstPortOffset, wire.UDPChecksumOffset
	case wire.ProtoICMP:
		sportOff, dportOff, ckOff = wire.ICMPv4IDOffset, wire.ICMPv4IDOffset, wire.ICMPv4ChecksumOffset
		pseudo = false
	default:
		return true, ""
	}
	if len(q) < max(sportOff, dportOff)+2 {
		return true, "" // RFC 792 quotes 8 bytes: always enough
	}
	if len(q) < ckOff+2 {
		ckOff = -1 // a TCP quote of 8 bytes stops before the checksum
	}
	isrc := netip.AddrPortFrom(inner.Src(), binary.BigEndian.Uint16(q[sportOff:]))
	idst := netip.AddrPortFrom(inner.Dst(), binary.BigEndian.Uint16(q[dportOff:]))

	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.Now()
	if dir == t.cfg.Inside {
		// An inside host answers a packet that came in through a mapping.
		if ip.Src() == t.cfg.Public || iproto == wire.ProtoICMP {
			return true, ""
		}
		m := t.out[natKey{proto: iproto, inside: idst, remote: isrc}]
		if m == nil || t.expired(m, now) {
			t.stats.Rejected++
			return false, natNoMapping
		}
		rewrite(inner, q, iproto, ipDst, dportOff, ckOff, pseudo, t.cfg.Public, m.port)
		setAddr(ip, ipSrc, t.cfg.Public)
	} else {
		// The outside answers a packet that went out through a mapping.
		if ip.Dst() != t.cfg.Public || isrc.Addr() != t.cfg.Public {
			return true, ""
		}
		remote := idst
		if iproto == wire.ProtoICMP {
			remote = netip.AddrPortFrom(idst.Addr(), 0)
		}
		m := t.in[natPort{iproto, isrc.Port()}]
		if m == nil || m.key.remote != remote || t.expired(m, now) {
			t.stats.Rejected++
			return false, natNoMapping
		}
		rewrite(inner, q, iproto, ipSrc, sportOff, ckOff, pseudo, m.key.inside.Addr(), m.key.inside.Port())
		setAddr(ip, ipDst, m.key.inside.Addr())
	}
	m[wire.ICMPv4ChecksumOffset], m[wire.ICMPv4ChecksumOffset+1] = 0, 0
	binary.BigEndian.PutUint16(m[wire.ICMPv4ChecksumOffset:], ^wire.Fold(wire.Checksum(m, 0)))
	ip.SetChecksum()
	t.stats.Translated++
	return true, ""
}

// setAddr sets the IPv4 address at off; the caller fixes the checksums.
func setAddr(ip wire.IPv4, off int, a netip.Addr) {
	b := a.As4()
	copy(ip[off:off+4], b[:])
}

// allocate gives k a new public port: the next one in the range not held
// by a live mapping. It returns nil when every port is held.
func (t *NAT) allocate(k natKey, now time.Time) *natMapping {
	span := int(t.cfg.PortMax-t.cfg.PortMin) + 1
	for range span {
		port := t.next
		if t.next == t.cfg.PortMax {
			t.next = t.cfg.PortMin
		} else {
			t.next++
		}
		pk := natPort{k.proto, port}
		if old := t.in[pk]; old != nil {
			if !t.expired(old, now) {
				continue
			}
			delete(t.in, pk)
			if t.out[old.key] == old {
				delete(t.out, old.key)
			}
		}
		m := &natMapping{key: k, port: port, last: now}
		t.out[k] = m
		t.in[pk] = m
		t.stats.Mappings++
		t.changed("map", m, "")
		return m
	}
	return nil
}

func (t *NAT) expired(m *natMapping, now time.Time) bool {
	if m.dead {
		return true
	}
	idle := t.idle(m.key.proto)
	if now.Sub(m.last) <= idle {
		return false
	}
	m.dead = true
	t.stats.Expired++
	t.changed("expire", m, fmt.Sprintf(" after %v idle", idle))
	return true
}

// changed tells OnChange of a change to the table.
func (t *NAT) changed(what string, m *natMapping, tail string) {
	if t.cfg.OnChange == nil {
		return
	}
	t.cfg.OnChange(fmt.Sprintf("%s %s %v ⇄ %v for %v%s", what, protoName(m.key.proto), m.key.inside,
		netip.AddrPortFrom(t.cfg.Public, m.port), m.key.remote, tail))
}

func protoName(p uint8) string {
	switch p {
	case wire.ProtoTCP:
		return "tcp"
	case wire.ProtoUDP:
		return "udp"
	case wire.ProtoICMP:
		return "icmp"
	}
	return strconv.Itoa(int(p))
}

// Table lists the live mappings, one line each in the order of their
// public ports: "tcp 10.0.0.1:5000 ⇄ 203.0.113.1:30000 for 203.0.113.2:80".
func (t *NAT) Table() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.Now()
	var live []*natMapping
	for _, m := range t.out {
		if !m.dead && now.Sub(m.last) <= t.idle(m.key.proto) {
			live = append(live, m)
		}
	}
	slices.SortFunc(live, func(a, b *natMapping) int {
		return cmp.Or(cmp.Compare(a.key.proto, b.key.proto), cmp.Compare(a.port, b.port))
	})
	out := make([]string, len(live))
	for i, m := range live {
		out[i] = fmt.Sprintf("%s %v ⇄ %v for %v", protoName(m.key.proto), m.key.inside, netip.AddrPortFrom(t.cfg.Public, m.port), m.key.remote)
	}
	return out
}

func (t *NAT) idle(proto uint8) time.Duration {
	switch proto {
	case wire.ProtoUDP:
		return t.cfg.UDPIdle
	case wire.ProtoICMP:
		return t.cfg.ICMPIdle
	}
	return t.cfg.TCPIdle
}

const (
	ipSrc = wire.IPv4SrcOffset
	ipDst = wire.IPv4DstOffset
)

// rewrite sets the IPv4 address at addrOff to addr and the 16-bit port at
// portOff of the transport header to port, updating the transport
// checksum incrementally (RFC 1624 §3) and the IP header checksum. A
// negative ckOff means the checksum is not there (a short quote).
func rewrite(ip wire.IPv4, l4 []byte, proto uint8, addrOff, portOff, ckOff int, pseudo bool, addr netip.Addr, port uint16) {
	var ck uint16
	if ckOff >= 0 {
		ck = binary.BigEndian.Uint16(l4[ckOff:])
	}
	update := ckOff >= 0 && (ck != 0 || proto != wire.ProtoUDP) // a zero UDP checksum means none
	a := addr.As4()
	for i := 0; i < 4; i += 2 {
		old := binary.BigEndian.Uint16(ip[addrOff+i:])
		nw := binary.BigEndian.Uint16(a[i:])
		if pseudo && update {
			ck = wire.UpdateChecksum16(ck, old, nw)
		}
		binary.BigEndian.PutUint16(ip[addrOff+i:], nw)
	}
	if update {
		ck = wire.UpdateChecksum16(ck, binary.BigEndian.Uint16(l4[portOff:]), port)
		if ck == 0 && proto == wire.ProtoUDP {
			ck = 0xffff // RFC 768: a computed zero is sent as all ones
		}
		binary.BigEndian.PutUint16(l4[ckOff:], ck)
	}
	binary.BigEndian.PutUint16(l4[portOff:], port)
	ip.SetChecksum()
}

// String describes the NAT for traces and capture comments.
func (t *NAT) String() string {
	return fmt.Sprintf("nat (inside %v, public %v, ports %d–%d, tcp idle %v, udp idle %v)",
		t.cfg.Inside, t.cfg.Public, t.cfg.PortMin, t.cfg.PortMax, t.cfg.TCPIdle, t.cfg.UDPIdle)
}
