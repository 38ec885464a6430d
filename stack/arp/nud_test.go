package arp

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"stacklab/stack/wire"
)

// TestNUDStates walks a neighbour discovery entry through RFC 4861's
// states: INCOMPLETE → REACHABLE (solicited NA) → STALE → DELAY (used)
// → PROBE (no confirmation in 5 s) → REACHABLE (solicited NA), and
// DELAY → REACHABLE when an upper layer confirms in time.
func TestNUDStates(t *testing.T) {
	c := New(Config{IPv6: true, DelayFirstProbe: 5 * time.Second})
	n6 := netip.MustParseAddr("fe80::2")
	var r recorder
	if _, err := c.Enqueue(netip.MustParseAddr("10.0.0.2"), Packet{Data: []byte{1}}, at(0), nil); !errors.Is(err, ErrBadAddress) {
		t.Fatalf("IPv4 address in an NDP cache: %v", err)
	}
	if _, err := c.Enqueue(netip.MustParseAddr("ff02::1"), Packet{Data: []byte{1}}, at(0), nil); !errors.Is(err, ErrBadAddress) {
		t.Fatalf("multicast address: %v", err)
	}
	send, err := c.Enqueue(n6, Packet{Data: []byte{1}, Note: "p1"}, at(0), nil)
	if err != nil || !send || c.State(n6, at(0)) != StateIncomplete {
		t.Fatalf("enqueue: %v %v %v", send, err, c.State(n6, at(0)))
	}
	// An unsolicited advertisement with no override for an unknown
	// address changes nothing; for the incomplete entry it gives STALE.
	c.Advert(netip.MustParseAddr("fe80::9"), peerMAC, true, false, false, at(0), r.flush)
	if c.Len() != 1 {
		t.Fatalf("unsolicited NA created an entry")
	}
	c.Advert(n6, peerMAC, true, true, true, at(time.Second/2), r.flush)
	if s := c.State(n6, at(time.Second)); s != StateReachable || len(r.flushed) != 1 {
		t.Fatalf("after solicited NA: %v, flushed %v", s, r.flushed)
	}
	// A different address without override: REACHABLE → STALE, address kept.
	c.Advert(n6, newMAC, true, false, false, at(2*time.Second), r.flush)
	if mac, _ := c.Lookup(n6, at(2*time.Second)); c.State(n6, at(2*time.Second)) != StateDelay || mac != peerMAC {
		t.Fatalf("NA without O: %v %v", c.State(n6, at(2*time.Second)), mac)
	}
	// DELAY → PROBE after 5 s with no confirmation; a unicast probe is due.
	c.Expired(at(7*time.Second), func(ip netip.Addr, mac wire.MAC, unicast bool) {
		r.requests = append(r.requests, ip.String())
		if !unicast || mac != peerMAC {
			t.Errorf("probe not unicast to %v", peerMAC)
		}
	}, nil)
	if s := c.State(n6, at(7*time.Second)); s != StateProbe || len(r.requests) != 1 {
		t.Fatalf("after delay: %v, requests %v", s, r.requests)
	}
	c.Advert(n6, peerMAC, true, true, false, at(8*time.Second), r.flush)
	if s := c.State(n6, at(8*time.Second)); s != StateReachable {
		t.Fatalf("probe answered: %v", s)
	}
	// Reachable for 30 s, then STALE; used → DELAY; confirmed → REACHABLE, no probe.
	if s := c.State(n6, at(40*time.Second)); s != StateStale {
		t.Fatalf("after ReachableTime: %v", s)
	}
	c.Lookup(n6, at(40*time.Second))
	c.Confirm(n6, at(42*time.Second))
	r.requests = nil
	c.Expired(at(46*time.Second), func(ip netip.Addr, _ wire.MAC, _ bool) { r.requests = append(r.requests, ip.String()) }, nil)
	if s := c.State(n6, at(46*time.Second)); s != StateReachable || len(r.requests) != 0 {
		t.Fatalf("confirmed in DELAY: %v, requests %v", s, r.requests)
	}
	// A solicitation's source link-layer address: new entry STALE.
	n7 := netip.MustParseAddr("2001:db8::7")
	if !c.SetStale(n7, newMAC, at(50*time.Second), nil) || c.State(n7, at(50*time.Second)) != StateStale {
		t.Fatalf("SetStale: %v", c.State(n7, at(50*time.Second)))
	}
	if StateDelay.String() != "delay" {
		t.Errorf("StateDelay.String() = %q", StateDelay.String())
	}
}
