package arp

import (
	"net/netip"
	"testing"
	"time"

	"stacklab/stack/wire"
)

// FuzzCache drives the cache's state machine with a fuzzed sequence of
// operations on a few addresses — queue a packet, an answer, a lookup, a
// confirmation, time passing with its timers, a removal — and checks
// after each that the bounds hold (entries, packets and bytes per
// address, bytes in all) and, at the end, that every packet queued was
// handed back exactly once: sent when its address resolved, or dropped
// and counted.
func FuzzCache(f *testing.F) {
	f.Add([]byte{0, 1, 2, 0, 1, 3, 1, 1, 0, 4, 200, 5, 2})
	f.Add([]byte{0, 0, 50, 0, 0, 60, 0, 0, 70, 0, 0, 80, 4, 255, 4, 255, 4, 255})
	f.Fuzz(func(t *testing.T, ops []byte) {
		cfg := Config{MaxEntries: 3, MaxPending: 3, MaxPendingBytes: 300, MaxPendingTotal: 500}
		c := New(cfg)
		now := time.Unix(0, 0)
		addrs := []netip.Addr{
			netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3"),
			netip.MustParseAddr("10.0.0.4"), netip.MustParseAddr("10.0.0.5"),
		}
		seen := map[uint64]int{}
		var nextID uint64
		handed := func(p Packet) { seen[p.ID]++ }
		flush := func(_ wire.MAC, p Packet) { handed(p) }
		dropped := func(_ netip.Addr, p Packet) { handed(p) }
		next := func(i *int) byte {
			if *i >= len(ops) {
				return 0
			}
			b := ops[*i]
			*i++
			return b
		}
		for i := 0; i < len(ops); {
			op, a := next(&i), addrs[int(next(&i))%len(addrs)]
			switch op % 6 {
			case 0:
				nextID++
				id := nextID
				size := int(next(&i)) * 2
				if _, err := c.Enqueue(a, Packet{Data: make([]byte, size), ID: id}, now, handed); err != nil {
					seen[id]++ // refused: dropped and counted by Enqueue
				}
			case 1:
				c.Update(a, wire.MAC{2, 0, 0, 0, 0, byte(op)}, now, flush)
			case 2:
				c.Lookup(a, now)
			case 3:
				c.Confirm(a, now)
			case 4:
				now = now.Add(time.Duration(next(&i)) * 100 * time.Millisecond)
				c.Expired(now, func(netip.Addr, wire.MAC, bool) {}, dropped)
			case 5:
				c.Remove(a, dropped)
			}
			if c.Len() > cfg.MaxEntries {
				t.Fatalf("%d entries, bound %d", c.Len(), cfg.MaxEntries)
			}
			total := 0
			for _, x := range addrs {
				n, b := c.Pending(x)
				if n > cfg.MaxPending || b > cfg.MaxPendingBytes {
					t.Fatalf("%v: %d packets, %d bytes pending", x, n, b)
				}
				total += b
			}
			if total > cfg.MaxPendingTotal {
				t.Fatalf("%d bytes pending in all", total)
			}
		}
		for _, x := range addrs {
			c.Remove(x, dropped)
		}
		for id := uint64(1); id <= nextID; id++ {
			if seen[id] != 1 {
				t.Fatalf("packet %d handed back %d times", id, seen[id])
			}
		}
	})
}
