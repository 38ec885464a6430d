package stack

import (
	"net/netip"
	"time"

	"stacklab/stack/wire"
)

// The IPv6 path MTU cache (RFC 8201): what a Packet Too Big taught about
// a destination, so the host fragments its own packets to it (routers
// never fragment). As Linux: the MTU learned is never below 1280
// (IPV6_MIN_MTU), an entry expires after 10 minutes (ip6_rt_mtu_expires),
// and the cache is bounded; a full cache forgets the entry that expires
// first, counted in ip6.PMTUEvictions.

const (
	pmtu6Expires = 10 * time.Minute
	pmtu6Max     = 1024
)

type pmtu6Entry struct {
	mtu     int
	expires time.Time
}

// learnPMTU6 records that packets to dst must fit mtu.
func (s *Stack) learnPMTU6(dst netip.Addr, mtu int) {
	dst = dst.WithZone("")
	mtu = max(mtu, wire.IPv6MinMTU)
	now := s.now()
	if s.pmtu6 == nil {
		s.pmtu6 = make(map[netip.Addr]pmtu6Entry)
	}
	if e, ok := s.pmtu6[dst]; ok && e.mtu <= mtu && now.Before(e.expires) {
		return // RFC 8201 §4: a PTB never raises the estimate
	}
	if _, ok := s.pmtu6[dst]; !ok && len(s.pmtu6) >= pmtu6Max {
		var victim netip.Addr
		var first time.Time
		for a, e := range s.pmtu6 {
			if !victim.IsValid() || e.expires.Before(first) || e.expires.Equal(first) && a.Less(victim) {
				victim, first = a, e.expires
			}
		}
		delete(s.pmtu6, victim)
		s.counters.IP6.PMTUEvictions++
	}
	s.pmtu6[dst] = pmtu6Entry{mtu: mtu, expires: now.Add(pmtu6Expires)}
}

// pathMTU6 returns the MTU for packets to dst leaving through n: n's,
// or less if a Packet Too Big said so and has not expired.
func (s *Stack) pathMTU6(n *NIC, dst netip.Addr) int {
	mtu := n.MTU6()
	if len(s.pmtu6) == 0 {
		return mtu // no Packet Too Big learnt: no hashing per packet
	}
	if e, ok := s.pmtu6[dst.WithZone("")]; ok {
		if !s.now().Before(e.expires) {
			delete(s.pmtu6, dst.WithZone(""))
		} else {
			mtu = min(mtu, e.mtu)
		}
	}
	return mtu
}
