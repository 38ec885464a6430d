package arp

import (
	"errors"
	"net/netip"
	"time"

	"stacklab/stack/wire"
)

// State is the state of a neighbour entry.
type State uint8

// Neighbour states; see the package documentation for the transitions.
const (
	StateNone       State = iota // no entry
	StateIncomplete              // request sent, no answer yet; packets queue
	StateReachable               // address confirmed recently
	StateStale                   // address known but not confirmed lately; still used
	StateProbe                   // stale entry in use, unicast requests being sent
	StateDelay                   // stale entry in use, waiting Config.DelayFirstProbe for a confirmation before probing (RFC 4861 §7.3.3)
)

var stateNames = [...]string{"none", "incomplete", "reachable", "stale", "probe", "delay"}

// String returns the state's name in lower case, e.g. "reachable".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Config bounds and times a [Cache]. Zero fields take the defaults noted
// beside them, which follow Linux's neighbour table.
type Config struct {
	ReachableTime   time.Duration // default 30s: reachable → stale
	StaleTime       time.Duration // default 60s: an unused stale entry is removed
	RetransTime     time.Duration // default 1s between requests
	MaxProbes       int           // default 3 requests before giving up
	MaxEntries      int           // default 512 entries
	MaxPending      int           // default 64 packets queued per address
	MaxPendingBytes int           // default 212992 bytes queued per address
	// MaxPendingTotal bounds the bytes queued for all addresses together;
	// default 1 MiB. Without it, MaxEntries incomplete entries could hold
	// MaxPendingBytes each: 100 MiB for a sender (or a router forwarding
	// for one) scanning unresolvable addresses.
	MaxPendingTotal int
	// DelayFirstProbe, when positive, puts a stale entry that is used
	// into the DELAY state for this long before probing starts, so that
	// a confirmation from an upper layer can make the probes unneeded
	// (RFC 4861 §7.3.3, DELAY_FIRST_PROBE_TIME 5 s; Linux's
	// delay_first_probe_time). Zero probes at once (the ARP default here).
	DelayFirstProbe time.Duration
	// IPv6 makes the cache a neighbour discovery cache (RFC 4861): it
	// holds unicast IPv6 addresses instead of IPv4 ones.
	IPv6 bool
}

func (c *Config) setDefaults() {
	if c.ReachableTime <= 0 {
		c.ReachableTime = 30 * time.Second
	}
	if c.StaleTime <= 0 {
		c.StaleTime = 60 * time.Second
	}
	if c.RetransTime <= 0 {
		c.RetransTime = time.Second
	}
	if c.MaxProbes <= 0 {
		c.MaxProbes = 3
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = 512
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 64
	}
	if c.MaxPendingBytes <= 0 {
		c.MaxPendingBytes = 212992
	}
	if c.MaxPendingTotal <= 0 {
		c.MaxPendingTotal = 1 << 20
	}
}

// Packet is an outbound IP packet waiting for its next hop's address.
type Packet struct {
	Data []byte // the IP packet; owned by the cache while queued
	ID   uint64 // capture packet id
	Note string // why it was sent, for the capture comment
	// ChecksumOK is the frame's stack.Packet.ChecksumOK when it leaves.
	ChecksumOK bool
}

// Counters count what the cache did and dropped. Every dropped packet is
// counted in exactly one of the *Drops fields.
type Counters struct {
	RequestsDue     uint64 // requests the caller was told to send
	Resolved        uint64 // incomplete entries that got an answer
	Failed          uint64 // entries removed after MaxProbes requests
	OverflowDrops   uint64 // packets dropped because a queue (or all of them together) was full
	TimeoutDrops    uint64 // queued packets dropped because resolution failed
	TableFullDrops  uint64 // packets dropped because no entry could be made
	BadAddrDrops    uint64 // packets for an address ARP cannot resolve
	InvalidSenders  uint64 // received packets with a sender we never cache
	EvictedEntries  uint64 // stale entries removed to make room
	GarbageRemovals uint64 // stale entries removed after StaleTime
}

// Errors returned by [Cache.Enqueue].
var (
	// ErrTableFull means every entry is in use and none is stale enough
	// to evict; the packet was dropped. Raise Config.MaxEntries.
	ErrTableFull = errors.New("arp: neighbour table full; raise the entry limit")
	// ErrBadAddress means the address cannot be resolved (not a unicast
	// IPv4 address); the packet was dropped.
	ErrBadAddress = errors.New("arp: address is not a unicast IPv4 address")
	// ErrResolved means the address is already known: nothing was queued
	// and the caller still owns the packet; send it to the address from
	// [Cache.Lookup].
	ErrResolved = errors.New("arp: address already resolved; send with Lookup")
)

type entry struct {
	ip       netip.Addr
	mac      wire.MAC
	state    State
	updated  time.Time // last confirmation (reachable) or last use (stale)
	deadline time.Time // next request (incomplete, probe)
	probes   int       // requests sent in this round
	queue    []Packet
	qbytes   int
}

// Cache is an ARP neighbour table for one interface. The zero value is
// not usable; call [New].
type Cache struct {
	cfg      Config
	byIP     map[netip.Addr]*entry
	list     []*entry // in a deterministic order, for Expired
	free     []*entry
	qbytes   int // bytes queued for all entries
	counters Counters
}

// New returns an empty cache configured by cfg.
func New(cfg Config) *Cache {
	cfg.setDefaults()
	return &Cache{cfg: cfg, byIP: make(map[netip.Addr]*entry)}
}

// Config returns the configuration in use, defaults filled in.
func (c *Cache) Config() Config { return c.cfg }

// Counters returns a copy of the counters.
func (c *Cache) Counters() Counters { return c.counters }

// Len returns the number of entries, incomplete ones included.
func (c *Cache) Len() int { return len(c.list) }

// State returns the state of ip's entry at now.
func (c *Cache) State(ip netip.Addr, now time.Time) State {
	e := c.byIP[ip]
	if e == nil {
		return StateNone
	}
	c.age(e, now)
	return e.state
}

// age moves a reachable entry to stale once ReachableTime has passed.
func (c *Cache) age(e *entry, now time.Time) {
	if e.state == StateReachable && !now.Before(e.updated.Add(c.cfg.ReachableTime)) {
		e.state = StateStale
		e.updated = e.updated.Add(c.cfg.ReachableTime)
	}
}

// Lookup returns ip's hardware address if it is known. Using a stale entry
// starts probing it: [Cache.Expired] will ask for unicast requests until
// the neighbour answers or the entry is removed. It does not allocate.
func (c *Cache) Lookup(ip netip.Addr, now time.Time) (wire.MAC, bool) {
	e := c.byIP[ip]
	if e == nil {
		return wire.MAC{}, false
	}
	c.age(e, now)
	switch e.state {
	case StateReachable, StateProbe, StateDelay:
		return e.mac, true
	case StateStale:
		e.probes = 0
		if c.cfg.DelayFirstProbe > 0 {
			e.state = StateDelay
			e.deadline = now.Add(c.cfg.DelayFirstProbe)
		} else {
			e.state = StateProbe
			e.deadline = now
		}
		return e.mac, true
	}
	return wire.MAC{}, false
}

// Confirm records that the neighbour at ip is reachable, for example
// because TCP saw an acknowledgment of new data from it (RFC 1122
// §2.3.2.1). It changes nothing unless an entry with that address exists
// and has a known hardware address.
func (c *Cache) Confirm(ip netip.Addr, now time.Time) {
	e := c.byIP[ip]
	if e == nil || e.state == StateIncomplete {
		return
	}
	e.state = StateReachable
	e.updated = now
	e.probes = 0
}

// ConfirmFrom is [Cache.Confirm] for a frame that came from mac: it
// confirms the entry only if that is the hardware address the table
// holds, so a neighbour whose address changed is not kept reachable at
// the old one.
func (c *Cache) ConfirmFrom(ip netip.Addr, mac wire.MAC, now time.Time) {
	if e := c.byIP[ip]; e != nil && e.mac == mac {
		c.Confirm(ip, now)
	}
}

// Update records that ip is at mac, as learnt from an ARP packet, and
// marks it reachable. If packets were queued for ip, flush is called with
// each of them, in the order they were queued, and the queue is emptied;
// the caller sends them to mac and owns their Data from then on. flush may
// be nil when nothing can be queued. Update creates the entry if there is
// none, evicting a stale one if the table is full; it reports whether the
// address is now in the table. Broadcast or multicast MACs and addresses
// that are not unicast IPv4 are refused.
func (c *Cache) Update(ip netip.Addr, mac wire.MAC, now time.Time, flush func(mac wire.MAC, p Packet)) bool {
	if !c.validSender(ip, mac) {
		c.counters.InvalidSenders++
		return false
	}
	e := c.byIP[ip]
	if e == nil {
		if e = c.newEntry(ip, now); e == nil {
			return false
		}
	}
	c.resolve(e, mac, now, flush)
	return true
}

func (c *Cache) resolve(e *entry, mac wire.MAC, now time.Time, flush func(mac wire.MAC, p Packet)) {
	if e.state == StateIncomplete {
		c.counters.Resolved++
	}
	e.mac = mac
	e.state = StateReachable
	e.updated = now
	e.probes = 0
	q := e.queue
	c.qbytes -= e.qbytes
	e.queue, e.qbytes = e.queue[:0], 0
	for i := range q {
		p := q[i]
		q[i] = Packet{}
		if flush != nil {
			flush(mac, p)
		}
	}
}

func (c *Cache) validSender(ip netip.Addr, mac wire.MAC) bool {
	if c.cfg.IPv6 {
		return c.validAddr(ip) && !mac.IsMulticast() && mac != (wire.MAC{})
	}
	return ip.Is4() && !ip.IsUnspecified() && !ip.IsMulticast() &&
		ip != netip.AddrFrom4([4]byte{255, 255, 255, 255}) && !mac.IsMulticast() && mac != (wire.MAC{})
}

// Enqueue queues p for ip, whose address is not known, and takes
// ownership of p.Data: pass a copy. If there is no entry yet it creates an
// incomplete one and returns sendRequest true: the caller must broadcast
// an ARP request for ip now; later requests are due from
// [Cache.Expired]. When the queue is full (Config.MaxPending packets or
// Config.MaxPendingBytes bytes) the oldest packets are dropped to make
// room, as Linux does, and passed to dropped if it is not nil. Enqueue on
// an address that is already resolved queues nothing and returns
// [ErrResolved]. The other errors mean p was dropped and counted.
func (c *Cache) Enqueue(ip netip.Addr, p Packet, now time.Time, dropped func(p Packet)) (sendRequest bool, err error) {
	if !c.validAddr(ip) {
		c.counters.BadAddrDrops++
		return false, ErrBadAddress
	}
	e := c.byIP[ip]
	if e == nil {
		if e = c.newEntry(ip, now); e == nil {
			c.counters.TableFullDrops++
			return false, ErrTableFull
		}
		e.state = StateIncomplete
		e.probes = 1
		e.deadline = now.Add(c.cfg.RetransTime)
		sendRequest = true
		c.counters.RequestsDue++
	}
	if e.state != StateIncomplete {
		return false, ErrResolved
	}
	if len(p.Data) > c.cfg.MaxPendingBytes {
		c.counters.OverflowDrops++
		if dropped != nil {
			dropped(p)
		}
		return sendRequest, nil
	}
	for len(e.queue) > 0 && (len(e.queue) >= c.cfg.MaxPending || e.qbytes+len(p.Data) > c.cfg.MaxPendingBytes) {
		old := e.queue[0]
		copy(e.queue, e.queue[1:])
		e.queue[len(e.queue)-1] = Packet{}
		e.queue = e.queue[:len(e.queue)-1]
		e.qbytes -= len(old.Data)
		c.qbytes -= len(old.Data)
		c.counters.OverflowDrops++
		if dropped != nil {
			dropped(old)
		}
	}
	if c.qbytes+len(p.Data) > c.cfg.MaxPendingTotal {
		// The queues together are full: the newcomer is dropped, and
		// what waits for other addresses stays.
		c.counters.OverflowDrops++
		if dropped != nil {
			dropped(p)
		}
		return sendRequest, nil
	}
	e.queue = append(e.queue, p)
	e.qbytes += len(p.Data)
	c.qbytes += len(p.Data)
	return sendRequest, nil
}

// validAddr reports whether ip is an address the cache resolves: a
// unicast address of its family.
func (c *Cache) validAddr(ip netip.Addr) bool {
	if c.cfg.IPv6 {
		return ip.Is6() && !ip.Is4In6() && !ip.IsUnspecified() && !ip.IsMulticast() && !ip.IsLoopback()
	}
	return ip.Is4() && !ip.IsUnspecified() && !ip.IsMulticast() && ip != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// SetStale records that ip is at mac as learnt from a message that does
// not prove two-way reachability: the source link-layer address option
// of a neighbour or router solicitation, a router advertisement, or a
// redirect (RFC 4861 §7.2.3, §6.3.4, §8.3). A new entry, or one whose
// address changes, becomes STALE; an incomplete one also sends its
// queued packets to flush. An entry that already holds mac is left as it
// is. It reports whether ip is in the table.
func (c *Cache) SetStale(ip netip.Addr, mac wire.MAC, now time.Time, flush func(mac wire.MAC, p Packet)) bool {
	if !c.validSender(ip, mac) {
		c.counters.InvalidSenders++
		return false
	}
	e := c.byIP[ip]
	if e == nil {
		if e = c.newEntry(ip, now); e == nil {
			return false
		}
	} else if e.state != StateIncomplete && e.mac == mac {
		return true
	}
	c.resolve(e, mac, now, flush)
	e.state = StateStale
	return true
}

// Advert applies a received neighbour advertisement for ip (RFC 4861
// §7.2.5): mac is its target link-layer address if hasMAC, solicited and
// override its S and O flags. Only an existing entry changes. An
// incomplete one takes mac (REACHABLE if solicited, else STALE) and
// sends its queued packets to flush; a known one whose address differs
// is replaced only with the override flag (a REACHABLE one becomes STALE
// otherwise); a solicited advertisement confirms the entry.
func (c *Cache) Advert(ip netip.Addr, mac wire.MAC, hasMAC, solicited, override bool, now time.Time, flush func(mac wire.MAC, p Packet)) {
	e := c.byIP[ip]
	if e == nil || hasMAC && !c.validSender(ip, mac) {
		return
	}
	c.age(e, now)
	if e.state == StateIncomplete {
		if !hasMAC {
			return
		}
		c.resolve(e, mac, now, flush)
		if !solicited {
			e.state = StateStale
		}
		return
	}
	changed := hasMAC && mac != e.mac
	if changed && !override {
		if e.state == StateReachable {
			e.state = StateStale
		}
		return
	}
	if changed {
		e.mac = mac
	}
	switch {
	case solicited:
		e.state, e.updated, e.probes = StateReachable, now, 0
	case changed:
		e.state, e.updated = StateStale, now
	}
}

// Pending returns the number of packets and bytes queued for ip.
func (c *Cache) Pending(ip netip.Addr) (packets, bytes int) {
	if e := c.byIP[ip]; e != nil {
		return len(e.queue), e.qbytes
	}
	return 0, 0
}

// newEntry adds an entry for ip, evicting the least recently used stale
// entry when the table is full. It returns nil if nothing can be evicted.
func (c *Cache) newEntry(ip netip.Addr, now time.Time) *entry {
	if len(c.list) >= c.cfg.MaxEntries {
		victim := -1
		for i, e := range c.list {
			c.age(e, now)
			if e.state == StateStale && (victim < 0 || e.updated.Before(c.list[victim].updated)) {
				victim = i
			}
		}
		if victim < 0 {
			return nil
		}
		c.counters.EvictedEntries++
		c.remove(victim, nil)
	}
	var e *entry
	if n := len(c.free); n > 0 {
		e = c.free[n-1]
		c.free = c.free[:n-1]
	} else {
		e = new(entry)
	}
	*e = entry{ip: ip, queue: e.queue[:0], updated: now}
	c.byIP[ip] = e
	c.list = append(c.list, e)
	return e
}

// remove deletes c.list[i], passing its queued packets to dropped.
func (c *Cache) remove(i int, dropped func(ip netip.Addr, p Packet)) {
	e := c.list[i]
	for j := range e.queue {
		c.counters.TimeoutDrops++
		if dropped != nil {
			dropped(e.ip, e.queue[j])
		}
		e.queue[j] = Packet{}
	}
	c.qbytes -= e.qbytes
	e.queue, e.qbytes = e.queue[:0], 0
	delete(c.byIP, e.ip)
	last := len(c.list) - 1
	c.list[i] = c.list[last]
	c.list[last] = nil
	c.list = c.list[:last]
	c.free = append(c.free, e)
}

// Remove deletes ip's entry, dropping its queued packets (counted as
// timeout drops and passed to dropped if not nil).
func (c *Cache) Remove(ip netip.Addr, dropped func(ip netip.Addr, p Packet)) {
	for i, e := range c.list {
		if e.ip == ip {
			c.remove(i, dropped)
			return
		}
	}
}

// NextDeadline returns the earliest time at which [Cache.Expired] has work
// to do, and false if it has none.
func (c *Cache) NextDeadline() (time.Time, bool) {
	var t time.Time
	ok := false
	for _, e := range c.list {
		var d time.Time
		switch e.state {
		case StateIncomplete, StateProbe, StateDelay:
			d = e.deadline
		case StateReachable:
			d = e.updated.Add(c.cfg.ReachableTime + c.cfg.StaleTime)
		case StateStale:
			d = e.updated.Add(c.cfg.StaleTime)
		}
		if !ok || d.Before(t) {
			t, ok = d, true
		}
	}
	return t, ok
}

// Expired does the work due at now. For each request to send it calls
// request with the address and, for a probe of a stale entry, the known
// hardware address to send it to (unicast is true); otherwise the request
// is broadcast. Entries that got no answer after Config.MaxProbes requests
// are removed and their queued packets passed to dropped (the caller may
// answer them with ICMP host unreachable, RFC 1122 §2.3.2.2); stale
// entries unused for Config.StaleTime are removed. Either callback may be
// nil. The order of the calls is deterministic.
func (c *Cache) Expired(now time.Time, request func(ip netip.Addr, mac wire.MAC, unicast bool), dropped func(ip netip.Addr, p Packet)) {
	for i := 0; i < len(c.list); {
		e := c.list[i]
		c.age(e, now)
		if e.state == StateDelay && !now.Before(e.deadline) {
			// No confirmation came in DelayFirstProbe: probe now.
			e.state, e.probes = StateProbe, 0
		}
		switch e.state {
		case StateIncomplete, StateProbe:
			if now.Before(e.deadline) {
				break
			}
			if e.probes >= c.cfg.MaxProbes {
				c.counters.Failed++
				c.remove(i, dropped)
				continue
			}
			e.probes++
			e.deadline = now.Add(c.cfg.RetransTime)
			c.counters.RequestsDue++
			if request != nil {
				request(e.ip, e.mac, e.state == StateProbe)
			}
		case StateStale:
			if !now.Before(e.updated.Add(c.cfg.StaleTime)) {
				c.counters.GarbageRemovals++
				c.remove(i, dropped)
				continue
			}
		}
		i++
	}
}

// Input applies RFC 826 "Packet Reception" to a received, valid ARP
// packet (see wire.ParseARP) on an interface whose address is local:
//
//   - if the sender is in the table, its hardware address is updated
//     (the merge flag);
//   - if the target is local and the sender was not merged, the sender is
//     added;
//   - then, if the target is local and the packet is a request, reply is
//     true: the caller sends an ARP reply to the sender's hardware
//     address with local as the sender.
//
// Packets queued for the sender are passed to flush, as by
// [Cache.Update]. A sender of 0.0.0.0 (an RFC 5227 probe) is answered but
// never cached.
func (c *Cache) Input(a wire.ARP, local netip.Addr, now time.Time, flush func(mac wire.MAC, p Packet)) (reply bool) {
	sender, smac := a.SenderIP(), a.SenderMAC()
	forUs := a.TargetIP() == local && local.IsValid()
	merged := false
	if sender == local {
		// Someone else claims our address; never cache ourselves.
		c.counters.InvalidSenders++
	} else if e := c.byIP[sender]; e != nil {
		if c.validSender(sender, smac) {
			c.resolve(e, smac, now, flush)
			merged = true
		} else {
			c.counters.InvalidSenders++
		}
	}
	if forUs && !merged && !sender.IsUnspecified() && sender != local {
		c.Update(sender, smac, now, flush)
	}
	return forUs && a.Op() == wire.ARPRequest && !smac.IsMulticast()
}
