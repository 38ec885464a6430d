package arp

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"stacklab/stack/wire"
)

var (
	t0      = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	local   = netip.MustParseAddr("10.0.0.1")
	peer    = netip.MustParseAddr("10.0.0.2")
	other   = netip.MustParseAddr("10.0.0.3")
	myMAC   = wire.MAC{2, 0, 0, 0, 0, 1}
	peerMAC = wire.MAC{2, 0, 0, 0, 0, 2}
	newMAC  = wire.MAC{2, 0, 0, 0, 0, 0x22}
)

func at(d time.Duration) time.Time { return t0.Add(d) }

func arpPacket(op uint16, smac wire.MAC, sip netip.Addr, tmac wire.MAC, tip netip.Addr) wire.ARP {
	b := make([]byte, wire.ARPLen)
	wire.ARP(b).Encode(&wire.ARPFields{Op: op, SenderMAC: smac, SenderIP: sip, TargetMAC: tmac, TargetIP: tip})
	return wire.ARP(b)
}

type recorder struct {
	flushed  []string
	dropped  []string
	requests []string
}

func (r *recorder) flush(mac wire.MAC, p Packet) {
	r.flushed = append(r.flushed, mac.String()+" "+p.Note)
}
func (r *recorder) drop(ip netip.Addr, p Packet) {
	r.dropped = append(r.dropped, ip.String()+" "+p.Note)
}
func (r *recorder) dropOne(p Packet) { r.dropped = append(r.dropped, p.Note) }
func (r *recorder) request(ip netip.Addr, mac wire.MAC, unicast bool) {
	s := ip.String() + " broadcast"
	if unicast {
		s = ip.String() + " unicast " + mac.String()
	}
	r.requests = append(r.requests, s)
}

func pkt(note string, n int) Packet { return Packet{Data: make([]byte, n), Note: note} }

func TestResolveAndFlush(t *testing.T) {
	c := New(Config{})
	var r recorder
	if _, ok := c.Lookup(peer, t0); ok {
		t.Fatal("empty cache resolved")
	}
	send, err := c.Enqueue(peer, pkt("a", 100), t0, r.dropOne)
	if err != nil || !send {
		t.Fatalf("first Enqueue: send %v err %v, want a request", send, err)
	}
	if send, err := c.Enqueue(peer, pkt("b", 100), at(time.Millisecond), r.dropOne); err != nil || send {
		t.Fatalf("second Enqueue: send %v err %v", send, err)
	}
	if n, b := c.Pending(peer); n != 2 || b != 200 {
		t.Fatalf("Pending = %d, %d", n, b)
	}
	if c.State(peer, t0) != StateIncomplete {
		t.Fatalf("state %v", c.State(peer, t0))
	}
	c.Expired(at(500*time.Millisecond), r.request, r.drop)
	if len(r.requests) != 0 {
		t.Fatalf("early requests %v", r.requests)
	}
	reply := arpPacket(wire.ARPReply, peerMAC, peer, myMAC, local)
	if c.Input(reply, local, at(600*time.Millisecond), r.flush) {
		t.Fatal("a reply must not be answered")
	}
	if want := []string{"02:00:00:00:00:02 a", "02:00:00:00:00:02 b"}; !slices.Equal(r.flushed, want) {
		t.Fatalf("flushed %v, want %v", r.flushed, want)
	}
	if mac, ok := c.Lookup(peer, at(time.Second)); !ok || mac != peerMAC {
		t.Fatalf("Lookup = %v %v", mac, ok)
	}
	if _, err := c.Enqueue(peer, pkt("c", 1), at(time.Second), nil); !errors.Is(err, ErrResolved) {
		t.Fatalf("Enqueue on resolved: %v", err)
	}
	if n, _ := c.Pending(peer); n != 0 || c.Counters().Resolved != 1 || c.Counters().RequestsDue != 1 {
		t.Fatalf("pending %d counters %+v", n, c.Counters())
	}
}

func TestResolutionTimeout(t *testing.T) {
	c := New(Config{})
	var r recorder
	c.Enqueue(peer, pkt("a", 10), t0, nil)
	c.Enqueue(peer, pkt("b", 10), t0, nil)
	if next, ok := c.NextDeadline(); !ok || !next.Equal(at(time.Second)) {
		t.Fatalf("NextDeadline %v %v, want 1s", next.Sub(t0), ok)
	}
	for _, d := range []time.Duration{999 * time.Millisecond, time.Second, 1500 * time.Millisecond, 2 * time.Second} {
		c.Expired(at(d), r.request, r.drop)
	}
	if next, _ := c.NextDeadline(); !next.Equal(at(3 * time.Second)) {
		t.Fatalf("NextDeadline %v, want 3s", next.Sub(t0))
	}
	if want := []string{"10.0.0.2 broadcast", "10.0.0.2 broadcast"}; !slices.Equal(r.requests, want) {
		t.Fatalf("requests %v, want %v", r.requests, want)
	}
	if len(r.dropped) != 0 {
		t.Fatalf("dropped early: %v", r.dropped)
	}
	c.Expired(at(3*time.Second), r.request, r.drop)
	if want := []string{"10.0.0.2 a", "10.0.0.2 b"}; !slices.Equal(r.dropped, want) {
		t.Fatalf("dropped %v, want %v", r.dropped, want)
	}
	cn := c.Counters()
	if cn.RequestsDue != 3 || cn.Failed != 1 || cn.TimeoutDrops != 2 || c.Len() != 0 {
		t.Fatalf("counters %+v len %d", cn, c.Len())
	}
	if _, ok := c.NextDeadline(); ok {
		t.Fatal("deadline left after removal")
	}
	// A new packet starts over with a fresh request.
	if send, _ := c.Enqueue(peer, pkt("c", 10), at(4*time.Second), nil); !send {
		t.Fatal("no request after failure")
	}
}

func TestQueueBounds(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		sizes   []int
		dropped []string
		left    int
	}{
		{"count", Config{MaxPending: 2}, []int{10, 10, 10, 10}, []string{"0", "1"}, 2},
		{"bytes", Config{MaxPendingBytes: 250}, []int{100, 100, 100}, []string{"0"}, 2},
		{"one too big", Config{MaxPendingBytes: 250}, []int{100, 300}, []string{"1"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(tt.cfg)
			var r recorder
			for i, n := range tt.sizes {
				if _, err := c.Enqueue(peer, pkt(string(rune('0'+i)), n), t0, r.dropOne); err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(r.dropped, tt.dropped) {
				t.Fatalf("dropped %v, want %v", r.dropped, tt.dropped)
			}
			if n, _ := c.Pending(peer); n != tt.left || c.Counters().OverflowDrops != uint64(len(tt.dropped)) {
				t.Fatalf("left %d, counters %+v", n, c.Counters())
			}
		})
	}
}

func TestBadAddress(t *testing.T) {
	c := New(Config{})
	for _, a := range []netip.Addr{{}, netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("224.0.0.1"),
		netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("::1")} {
		if _, err := c.Enqueue(a, pkt("x", 1), t0, nil); !errors.Is(err, ErrBadAddress) {
			t.Errorf("%v: err %v", a, err)
		}
	}
	if c.Counters().BadAddrDrops != 5 || c.Len() != 0 {
		t.Fatalf("counters %+v", c.Counters())
	}
}

func TestAgingAndProbe(t *testing.T) {
	c := New(Config{})
	var r recorder
	c.Update(peer, peerMAC, t0, nil)
	if s := c.State(peer, at(29*time.Second)); s != StateReachable {
		t.Fatalf("at 29s: %v", s)
	}
	c.Confirm(peer, at(29*time.Second)) // upper-layer confirmation restarts the clock
	if s := c.State(peer, at(58*time.Second)); s != StateReachable {
		t.Fatalf("at 58s: %v", s)
	}
	if s := c.State(peer, at(59*time.Second)); s != StateStale {
		t.Fatalf("at 59s: %v", s)
	}
	// Using a stale entry still works, and starts a probe.
	if mac, ok := c.Lookup(peer, at(60*time.Second)); !ok || mac != peerMAC {
		t.Fatal("stale entry not usable")
	}
	if s := c.State(peer, at(60*time.Second)); s != StateProbe {
		t.Fatalf("after use: %v", s)
	}
	c.Expired(at(60*time.Second), r.request, r.drop)
	if want := []string{"10.0.0.2 unicast 02:00:00:00:00:02"}; !slices.Equal(r.requests, want) {
		t.Fatalf("requests %v", r.requests)
	}
	// The neighbour answers from a new MAC.
	c.Input(arpPacket(wire.ARPReply, newMAC, peer, myMAC, local), local, at(60500*time.Millisecond), nil)
	if mac, ok := c.Lookup(peer, at(61*time.Second)); !ok || mac != newMAC || c.State(peer, at(61*time.Second)) != StateReachable {
		t.Fatalf("after reply: %v %v %v", mac, ok, c.State(peer, at(61*time.Second)))
	}

	// A probe nobody answers removes the entry after MaxProbes requests.
	r = recorder{}
	c.Lookup(peer, at(100*time.Second))
	for s := 100; s <= 103; s++ {
		c.Expired(at(time.Duration(s)*time.Second), r.request, r.drop)
	}
	if len(r.requests) != 3 || c.State(peer, at(103*time.Second)) != StateNone || c.Counters().Failed != 1 {
		t.Fatalf("requests %v state %v counters %+v", r.requests, c.State(peer, at(103*time.Second)), c.Counters())
	}
}

func TestStaleGarbageCollection(t *testing.T) {
	c := New(Config{})
	c.Update(peer, peerMAC, t0, nil)
	next, ok := c.NextDeadline()
	if !ok || !next.Equal(at(90*time.Second)) {
		t.Fatalf("NextDeadline %v %v, want 90s", next.Sub(t0), ok)
	}
	c.Expired(at(89*time.Second), nil, nil)
	if c.Len() != 1 {
		t.Fatal("removed too early")
	}
	c.Expired(at(90*time.Second), nil, nil)
	if c.Len() != 0 || c.Counters().GarbageRemovals != 1 {
		t.Fatalf("len %d counters %+v", c.Len(), c.Counters())
	}
}

func TestTableFullEvictsStale(t *testing.T) {
	c := New(Config{MaxEntries: 2})
	c.Update(peer, peerMAC, t0, nil)
	c.Update(other, newMAC, at(time.Second), nil)
	third := netip.MustParseAddr("10.0.0.4")
	if _, err := c.Enqueue(third, pkt("x", 1), at(2*time.Second), nil); !errors.Is(err, ErrTableFull) {
		t.Fatalf("err %v, want ErrTableFull", err)
	}
	// Once both are stale the older one (peer) is evicted.
	if send, err := c.Enqueue(third, pkt("x", 1), at(40*time.Second), nil); err != nil || !send {
		t.Fatalf("after aging: %v %v", send, err)
	}
	if c.State(peer, at(40*time.Second)) != StateNone || c.State(other, at(40*time.Second)) != StateStale {
		t.Fatal("wrong victim")
	}
	cn := c.Counters()
	if cn.TableFullDrops != 1 || cn.EvictedEntries != 1 {
		t.Fatalf("counters %+v", cn)
	}
}

func TestInputRFC826(t *testing.T) {
	bcast := wire.BroadcastMAC
	tests := []struct {
		name      string
		known     bool // peer already in the table as 02:..:02
		pkt       wire.ARP
		reply     bool
		wantState State
		wantMAC   wire.MAC
	}{
		{"request for us adds sender", false, arpPacket(wire.ARPRequest, peerMAC, peer, wire.MAC{}, local), true, StateReachable, peerMAC},
		{"reply for us adds sender", false, arpPacket(wire.ARPReply, peerMAC, peer, myMAC, local), false, StateReachable, peerMAC},
		{"request for another host is ignored", false, arpPacket(wire.ARPRequest, peerMAC, peer, wire.MAC{}, other), false, StateNone, wire.MAC{}},
		{"known sender is merged", true, arpPacket(wire.ARPRequest, newMAC, peer, wire.MAC{}, other), false, StateReachable, newMAC},
		{"gratuitous ARP updates known", true, arpPacket(wire.ARPRequest, newMAC, peer, wire.MAC{}, peer), false, StateReachable, newMAC},
		{"gratuitous ARP does not add", false, arpPacket(wire.ARPRequest, newMAC, peer, wire.MAC{}, peer), false, StateNone, wire.MAC{}},
		{"multicast sender MAC refused", true, arpPacket(wire.ARPRequest, bcast, peer, wire.MAC{}, local), false, StateReachable, peerMAC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(Config{})
			if tt.known {
				c.Update(peer, peerMAC, t0, nil)
			}
			if got := c.Input(tt.pkt, local, at(time.Second), nil); got != tt.reply {
				t.Fatalf("reply %v, want %v", got, tt.reply)
			}
			if s := c.State(peer, at(time.Second)); s != tt.wantState {
				t.Fatalf("state %v, want %v", s, tt.wantState)
			}
			if mac, _ := c.Lookup(peer, at(time.Second)); mac != tt.wantMAC {
				t.Fatalf("mac %v, want %v", mac, tt.wantMAC)
			}
		})
	}
	// RFC 5227 probe: sender 0.0.0.0 is answered, never cached.
	c := New(Config{})
	if !c.Input(arpPacket(wire.ARPRequest, peerMAC, netip.IPv4Unspecified(), wire.MAC{}, local), local, t0, nil) || c.Len() != 0 {
		t.Fatal("probe handling wrong")
	}
	// Someone claiming our own address is never cached.
	if c.Input(arpPacket(wire.ARPReply, peerMAC, local, myMAC, local), local, t0, nil); c.Len() != 0 || c.Counters().InvalidSenders != 1 {
		t.Fatalf("own address cached: %+v", c.Counters())
	}
}

func TestExpiredOrderIsDeterministic(t *testing.T) {
	run := func() []string {
		c := New(Config{})
		var r recorder
		for i := range 20 {
			c.Enqueue(netip.AddrFrom4([4]byte{10, 0, 1, byte(i)}), pkt("x", 1), at(time.Duration(i)*time.Millisecond), nil)
		}
		c.Update(netip.AddrFrom4([4]byte{10, 0, 1, 5}), peerMAC, at(100*time.Millisecond), nil)
		for s := 1; s <= 4; s++ {
			c.Expired(at(time.Duration(s)*time.Second+time.Second/2), r.request, r.drop)
		}
		return append(r.requests, r.dropped...)
	}
	a := run()
	for range 5 {
		if b := run(); !slices.Equal(a, b) {
			t.Fatal("Expired order differs between runs")
		}
	}
	if a[0] != "10.0.1.0 broadcast" || a[1] != "10.0.1.1 broadcast" {
		t.Fatalf("not in insertion order: %v", a[:2])
	}
}

func TestLookupAllocs(t *testing.T) {
	c := New(Config{})
	c.Update(peer, peerMAC, t0, nil)
	if n := testing.AllocsPerRun(100, func() { c.Lookup(peer, at(time.Second)); c.Lookup(other, t0) }); n != 0 {
		t.Fatalf("Lookup allocates %v", n)
	}
	reply := arpPacket(wire.ARPReply, peerMAC, peer, myMAC, local)
	if n := testing.AllocsPerRun(100, func() { c.Input(reply, local, at(time.Second), nil) }); n != 0 {
		t.Fatalf("Input allocates %v", n)
	}
}

func TestStateString(t *testing.T) {
	if StateProbe.String() != "probe" || State(99).String() != "unknown" {
		t.Fatal("State.String wrong")
	}
}

// TestQueueTotalBound: the queues of all addresses together stay within
// MaxPendingTotal; room comes back when an address resolves or fails.
func TestQueueTotalBound(t *testing.T) {
	c := New(Config{MaxPendingTotal: 250, RetransTime: time.Second, MaxProbes: 1})
	var r recorder
	third := netip.MustParseAddr("10.0.0.4")
	for _, e := range []struct {
		ip   netip.Addr
		note string
	}{{peer, "a"}, {peer, "b"}, {other, "c"}, {third, "d"}} {
		if _, err := c.Enqueue(e.ip, pkt(e.note, 100), t0, r.dropOne); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(r.dropped, []string{"c", "d"}) || c.Counters().OverflowDrops != 2 {
		t.Fatalf("dropped %v counters %+v, want c and d dropped", r.dropped, c.Counters())
	}
	c.Update(peer, peerMAC, t0, r.flush)
	if _, err := c.Enqueue(other, pkt("e", 100), t0, r.dropOne); err != nil || len(r.dropped) != 2 {
		t.Fatalf("no room after the queue was flushed: %v, dropped %v", err, r.dropped)
	}
	c.Expired(at(2*time.Second), nil, nil) // other fails: its queue goes
	if _, err := c.Enqueue(third, pkt("f", 200), at(2*time.Second), r.dropOne); err != nil || len(r.dropped) != 2 {
		t.Fatalf("no room after resolution failed: %v, dropped %v", err, r.dropped)
	}
	if c.qbytes != 200 {
		t.Fatalf("total %d queued, want 200", c.qbytes)
	}
}

func TestConfirmFromChecksTheMAC(t *testing.T) {
	c := New(Config{})
	now := time.Unix(0, 0)
	ip := netip.MustParseAddr("10.0.0.2")
	old, other := wire.MAC{2, 0, 0, 0, 0, 2}, wire.MAC{2, 0, 0, 0, 0, 9}
	c.Update(ip, old, now, nil)
	later := now.Add(29 * time.Second)
	c.ConfirmFrom(ip, other, later) // a frame from another MAC
	if st := c.State(ip, now.Add(31*time.Second)); st != StateStale {
		t.Errorf("after a frame from another MAC the entry is %v, want stale", st)
	}
	c.ConfirmFrom(ip, old, now.Add(31*time.Second))
	if st := c.State(ip, now.Add(40*time.Second)); st != StateReachable {
		t.Errorf("after a frame from its MAC the entry is %v, want reachable", st)
	}
}
