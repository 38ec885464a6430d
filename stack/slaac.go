package stack

import (
	"math"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"stacklab/stack/arp"
	"stacklab/stack/wire"
)

// Router advertisements (RFC 4861 §6) and stateless address
// autoconfiguration (RFC 4862) with duplicate address detection.
//
// A router (Options.Forwarding and Options.RouterAdvertisements) answers
// router solicitations, after a random delay of up to 500 ms, with an
// advertisement to all nodes carrying its link-layer address, the link
// MTU and a prefix information option (on-link, autonomous) for each of
// the interface's global /64s; it also advertises unsolicited, three
// times 16 s apart and then every 200–600 s. A host interface with
// NICConfig.SLAAC solicits routers at start (three times, 4 s apart,
// until one answers), takes the first advertising router as its default
// route, and for each autonomous /64 forms an address from the prefix
// and its modified EUI-64 interface identifier; the address stays
// tentative while one neighbour solicitation from :: asks whether anyone
// has it (DupAddrDetectTransmits 1, RetransTimer 1 s), and is assigned
// only if nobody answers. An autoconfigured address lives by its
// prefix's lifetimes (RFC 4862 §5.5.3–5.5.4, as Linux's addrconf): once
// its preferred lifetime ends it is deprecated (still received on, but
// not chosen as the source while another address will do), once its
// valid lifetime ends it is removed with its prefix route. Each
// advertisement of the prefix renews them, except that a valid lifetime
// is never cut below two hours, or below what remains when that is
// less, by an advertisement (the "two hours rule", against a spoofed
// advertisement ending an address at once). 0xffffffff is infinite.

const (
	raDelayMax         = 500 * time.Millisecond // MAX_RA_DELAY_TIME
	raInitialInterval  = 16 * time.Second       // MAX_INITIAL_RTR_ADVERT_INTERVAL
	raInitialCount     = 3                      // MAX_INITIAL_RTR_ADVERTISEMENTS
	raMinInterval      = 200 * time.Second      // MinRtrAdvInterval (0.33 × Max)
	raMaxInterval      = 600 * time.Second      // MaxRtrAdvInterval
	rsInterval         = 4 * time.Second        // RTR_SOLICITATION_INTERVAL
	rsCount            = 3                      // MAX_RTR_SOLICITATIONS
	dadWait            = time.Second            // RetransTimer × DupAddrDetectTransmits
	raRouterLifetime   = 1800                   // seconds, 3 × MaxRtrAdvInterval
	maxAddrs6          = 16                     // IPv6 addresses per interface, as Linux's max_addresses
	raValidDefault     = 30 * 24 * time.Hour    // AdvValidLifetime (RFC 4861 §6.2.1)
	raPreferredDefault = 7 * 24 * time.Hour     // AdvPreferredLifetime
	minValidLifetime   = 2 * time.Hour          // RFC 4862 §5.5.3 (e); Linux's MIN_VALID_LIFETIME
	infiniteLifetime   = 0xffffffff             // seconds: forever (RFC 4861 §4.6.2)
)

// nicSLAAC is an interface's router-discovery and autoconfiguration state.
type nicSLAAC struct {
	rsTimer   Timer
	rsSent    int
	router    netip.Addr // the default router learnt, if any
	routerTTL Timer      // the router's lifetime, restarted by each of its advertisements
	tentative []tentative
	failed    []netip.Addr // addresses DAD found in use: not tried again (Linux's dadfailed)
	raTimer   Timer
	raSent    int
	raPending bool       // a solicited advertisement is scheduled
	auto      []autoAddr // autoconfigured addresses assigned, with their lifetimes
}

type tentative struct {
	addr             netip.Prefix
	timer            Timer
	valid, preferred uint32 // the prefix's lifetimes, seconds, as advertised
}

// autoAddr is an assigned autoconfigured address and its lifetimes
// (zero times: infinite).
type autoAddr struct {
	addr                  netip.Prefix
	validUntil, prefUntil time.Time
	deprecated            bool
	timer                 Timer // at the next of the two ends
}

// startIPv6 starts router solicitation (hosts with SLAAC) and
// advertisement (routers) on a newly added interface.
func (s *Stack) startIPv6(n *NIC) {
	if n.cfg.Type != LinkEthernet || len(n.addrs6) == 0 {
		return
	}
	if n.cfg.SLAAC && !s.opts.Forwarding {
		n.slaac.rsTimer = s.afterFunc(0, func() { s.routerSolicit(n) })
	}
	if s.advertises(n) {
		n.slaac.raTimer = s.afterFunc(0, func() { s.routerAdvertTimer(n) })
	}
}

// advertises reports whether the stack sends router advertisements on n.
func (s *Stack) advertises(n *NIC) bool {
	return s.opts.Forwarding && s.opts.RouterAdvertisements && n.cfg.Type == LinkEthernet && len(n.addrs6) > 1
}

// routerSolicit sends a router solicitation and schedules the next.
func (s *Stack) routerSolicit(n *NIC) {
	if n.slaac.router.IsValid() || n.slaac.rsSent >= rsCount {
		return
	}
	n.slaac.rsSent++
	s.counters.ICMP6.OutRouterSolicits++
	s.ndpSend(n, wire.IPv6MulticastMAC(ip6AllRouters), n.addrs6[0].Addr(), ip6AllRouters,
		&wire.NDPFields{Type: wire.ICMPv6RouterSolicit}, []ndpOpt{{typ: wire.NDPOptSourceLinkAddr}}, "ndp: router solicitation")
	n.slaac.rsTimer = s.afterFunc(rsInterval, func() { s.routerSolicit(n) })
}

// routerAdvertTimer sends an unsolicited advertisement and schedules the
// next one.
func (s *Stack) routerAdvertTimer(n *NIC) {
	s.routerAdvertise(n, "ndp: router advertisement")
	n.slaac.raSent++
	d := raInitialInterval
	if n.slaac.raSent >= raInitialCount {
		d = raMinInterval + time.Duration(s.opts.Rand.Int64N(int64(raMaxInterval-raMinInterval)))
	}
	n.slaac.raTimer = s.afterFunc(d, func() { s.routerAdvertTimer(n) })
}

// routerAdvertise sends a router advertisement to all nodes on n.
func (s *Stack) routerAdvertise(n *NIC, why string) {
	opts := []ndpOpt{{typ: wire.NDPOptSourceLinkAddr}, {typ: wire.NDPOptMTU, mtu: uint32(n.cfg.MTU)}}
	for _, p := range n.addrs6 {
		if p.Addr().IsLinkLocalUnicast() {
			continue
		}
		opts = append(opts, ndpOpt{typ: wire.NDPOptPrefixInfo, prefix: wire.NDPPrefix{
			Prefix: p.Masked(), OnLink: true, Autonomous: p.Bits() == 64,
			ValidLifetime: lifetimeSecs(s.opts.RAValidLifetime, raValidDefault), PreferredLifetime: lifetimeSecs(s.opts.RAPreferredLifetime, raPreferredDefault),
		}})
	}
	s.counters.ICMP6.OutRouterAdvertisements++
	s.ndpSend(n, wire.IPv6MulticastMAC(ip6AllNodes), n.addrs6[0].Addr(), ip6AllNodes, &wire.NDPFields{
		Type: wire.ICMPv6RouterAdvert, Flags: uint32(s.opts.TTL) << 24, RouterLifetime: raRouterLifetime,
	}, opts, why)
}

// routerSolicitInput answers a router solicitation, after a random delay.
func (s *Stack) routerSolicitInput(n *NIC, ip wire.IPv6, m wire.ICMPv6, pktID uint64) {
	if !s.advertises(n) {
		s.drop(&s.counters.ICMP6.InIgnored, "icmp6.InIgnored", "ndp", "router solicitation: not an advertising router", pktID)
		return
	}
	if mac, ok := wire.NDPLinkAddr(wire.FindNDPOption(m.NDPOptions(), wire.NDPOptSourceLinkAddr)); ok && !ip.Src().IsUnspecified() {
		n.ndp.cache.SetStale(ip.Src(), mac, s.now(), func(mac wire.MAC, p arp.Packet) { s.ndpFlush(n, mac, p) })
	}
	if n.slaac.raPending {
		return
	}
	n.slaac.raPending = true
	d := time.Duration(s.opts.Rand.Int64N(int64(raDelayMax)))
	s.afterFunc(d, func() {
		n.slaac.raPending = false
		s.routerAdvertise(n, "ndp: router advertisement, solicited")
	})
}

// routerAdvertInput learns a default router and prefixes from an
// advertisement (RFC 4861 §6.3.4, RFC 4862 §5.5.3).
func (s *Stack) routerAdvertInput(n *NIC, ip wire.IPv6, m wire.ICMPv6, pktID uint64) {
	src := ip.Src()
	if !src.IsLinkLocalUnicast() {
		s.drop(&s.counters.ICMP6.InErrors, "icmp6.InErrors", "ndp", "router advertisement from a non-link-local source (RFC 4861 §6.1.2)", pktID)
		return
	}
	if !n.cfg.SLAAC || s.opts.Forwarding {
		s.drop(&s.counters.ICMP6.InIgnored, "icmp6.InIgnored", "ndp", "router advertisement: autoconfiguration is off on "+n.cfg.Name, pktID)
		return
	}
	now := s.now()
	opts := m.NDPOptions()
	if mac, ok := wire.NDPLinkAddr(wire.FindNDPOption(opts, wire.NDPOptSourceLinkAddr)); ok {
		n.ndp.cache.SetStale(src, mac, now, func(mac wire.MAC, p arp.Packet) { s.ndpFlush(n, mac, p) })
	}
	// RFC 4861 §6.3.4: the router lifetime says how long the router
	// may be the default; 0 withdraws it at once.
	switch lt := time.Duration(m.RARouterLifetime()) * time.Second; {
	case lt == 0:
		if src == n.slaac.router {
			s.forgetRouter(n, "withdrawn (router lifetime 0)")
		}
	case !n.slaac.router.IsValid():
		n.slaac.router = src
		if n.slaac.rsTimer != nil {
			n.slaac.rsTimer.Stop()
		}
		s.addRouteLocked(Route{Dst: netip.MustParsePrefix("::/0"), Gateway: src, NIC: n})
		s.note("ndp", "default router "+src.String()+" via "+n.cfg.Name)
		n.slaac.routerTTL = s.afterFunc(lt, func() { s.forgetRouter(n, "expired (no advertisement for its lifetime)") })
	case src == n.slaac.router:
		n.slaac.routerTTL.Reset(lt)
	}
	// RFC 4861 §6.3.4: the MTU option sets the link's IPv6 MTU; Linux
	// (accept_ra_mtu) ignores one below 1280 or above the device's MTU.
	if mtu, ok := wire.NDPMTU(wire.FindNDPOption(opts, wire.NDPOptMTU)); ok {
		switch {
		case mtu < wire.IPv6MinMTU || mtu > uint32(n.cfg.MTU):
			s.note("ndp", "router advertisement: MTU "+strconv.Itoa(int(mtu))+" ignored on "+n.cfg.Name+" (outside 1280.."+strconv.Itoa(n.cfg.MTU)+")")
		case int(mtu) != n.MTU6():
			n.mtu6 = int(mtu)
			s.note("ndp", "IPv6 MTU "+strconv.Itoa(int(mtu))+" on "+n.cfg.Name+" from the router advertisement")
		}
	}
	for rest := opts; len(rest) > 0; {
		typ, body, next, err := wire.NextNDPOption(rest)
		if err != nil {
			break
		}
		rest = next
		if typ != wire.NDPOptPrefixInfo {
			continue
		}
		p, ok := wire.ParseNDPPrefix(body)
		if !ok || !p.Autonomous || p.Prefix.Bits() != 64 || p.ValidLifetime == 0 || p.Prefix.Addr().IsLinkLocalUnicast() || p.PreferredLifetime > p.ValidLifetime {
			continue // RFC 4862 §5.5.3 (a)–(c); only /64s take an EUI-64 identifier
		}
		ll := wire.LinkLocalFromMAC(n.mac).As16()
		a := p.Prefix.Addr().As16()
		copy(a[8:], ll[8:])
		addr := netip.PrefixFrom(netip.AddrFrom16(a), 64)
		if i := n.autoIndex(addr.Addr()); i >= 0 {
			s.renewAddr(n, i, p.ValidLifetime, p.PreferredLifetime, now)
			continue
		}
		if n.hasAddr6(addr.Addr()) || n.isTentative(addr.Addr()) || slices.Contains(n.slaac.failed, addr.Addr()) {
			continue
		}
		if len(n.addrs6)+len(n.slaac.tentative) >= maxAddrs6 {
			s.drop(&s.counters.ICMP6.InIgnored, "icmp6.InIgnored", "ndp", "prefix "+p.Prefix.String()+": the interface has "+strconv.Itoa(maxAddrs6)+" addresses already", pktID)
			continue
		}
		s.startDAD(n, addr, p.ValidLifetime, p.PreferredLifetime)
	}
}

// lifetimeSecs is an advertised lifetime in seconds: d, or def when d
// is zero.
func lifetimeSecs(d, def time.Duration) uint32 {
	if d <= 0 {
		d = def
	}
	return uint32(min(d/time.Second, infiniteLifetime))
}

// until is when a lifetime of secs seconds from now ends; the zero time
// for an infinite one.
func until(now time.Time, secs uint32) time.Time {
	if secs == infiniteLifetime {
		return time.Time{}
	}
	return now.Add(time.Duration(secs) * time.Second)
}

// autoIndex is the index of a in n's autoconfigured addresses, or -1.
func (n *NIC) autoIndex(a netip.Addr) int {
	for i, x := range n.slaac.auto {
		if x.addr.Addr() == a {
			return i
		}
	}
	return -1
}

// renewAddr applies an advertisement's lifetimes to an autoconfigured
// address (RFC 4862 §5.5.3 (e)): the preferred lifetime as advertised;
// the valid one as advertised when that is more than two hours or more
// than what remains, else what remains, but at most two hours.
func (s *Stack) renewAddr(n *NIC, i int, valid, preferred uint32, now time.Time) {
	x := &n.slaac.auto[i]
	newValid := until(now, valid)
	if valid != infiniteLifetime {
		remaining := time.Duration(math.MaxInt64) // an infinite lifetime remains
		if !x.validUntil.IsZero() {
			remaining = x.validUntil.Sub(now)
		}
		if adv := time.Duration(valid) * time.Second; adv <= minValidLifetime && adv <= remaining {
			newValid = now.Add(min(remaining, minValidLifetime))
		}
	}
	x.validUntil, x.prefUntil = newValid, until(now, min(preferred, valid))
	if x.deprecated && (x.prefUntil.IsZero() || x.prefUntil.After(now)) {
		x.deprecated = false
		s.note("ndp", "address "+x.addr.String()+" on "+n.cfg.Name+" preferred again (prefix advertised)")
	}
	s.armAddr(n, x.addr.Addr(), now)
}

// armAddr (re)starts the lifetime timer of the autoconfigured address
// a: at the end of its preferred lifetime, then of its valid one.
func (s *Stack) armAddr(n *NIC, a netip.Addr, now time.Time) {
	i := n.autoIndex(a)
	if i < 0 {
		return
	}
	x := &n.slaac.auto[i]
	next := x.prefUntil
	if x.deprecated || next.IsZero() {
		next = x.validUntil
	}
	if x.timer != nil {
		x.timer.Stop()
		x.timer = nil
	}
	if next.IsZero() {
		return // infinite
	}
	x.timer = s.afterFunc(max(next.Sub(now), 0), func() { s.addrLifetime(n, a) })
}

// addrLifetime ends the preferred or the valid lifetime of an
// autoconfigured address that has come to it.
func (s *Stack) addrLifetime(n *NIC, a netip.Addr) {
	i := n.autoIndex(a)
	if i < 0 {
		return
	}
	now := s.now()
	x := &n.slaac.auto[i]
	x.timer = nil
	if !x.validUntil.IsZero() && !now.Before(x.validUntil) {
		s.removeAutoAddr(n, i, "expired (valid lifetime over, no advertisement renewed it)")
		return
	}
	if !x.deprecated && !x.prefUntil.IsZero() && !now.Before(x.prefUntil) {
		x.deprecated = true
		s.counters.NDP.AddrDeprecated++
		s.note("ndp", "address "+x.addr.String()+" on "+n.cfg.Name+" deprecated (preferred lifetime over): not chosen as a source while another will do")
	}
	s.armAddr(n, a, now)
}

// removeAutoAddr removes the i'th autoconfigured address of n, and its
// prefix route unless another address of n is on that prefix.
func (s *Stack) removeAutoAddr(n *NIC, i int, why string) {
	x := n.slaac.auto[i]
	if x.timer != nil {
		x.timer.Stop()
	}
	n.slaac.auto = slices.Delete(n.slaac.auto, i, i+1)
	n.addrs6 = slices.DeleteFunc(n.addrs6, func(p netip.Prefix) bool { return p.Addr() == x.addr.Addr() })
	s.addrsChanged()
	shared := slices.ContainsFunc(n.addrs6, func(p netip.Prefix) bool { return p.Masked() == x.addr.Masked() })
	if !shared {
		s.removeRoutesLocked(func(rt Route) bool { return rt.Dst == x.addr.Masked() && !rt.Gateway.IsValid() && rt.NIC == n })
	}
	s.counters.NDP.AddrExpired++
	s.note("ndp", "address "+x.addr.String()+" removed from "+n.cfg.Name+": "+why)
}

// deprecated6 reports whether a is a deprecated autoconfigured address
// of n.
func (n *NIC) deprecated6(a netip.Addr) bool {
	i := n.autoIndex(a)
	return i >= 0 && n.slaac.auto[i].deprecated
}

// forgetRouter removes n's default router and its route.
func (s *Stack) forgetRouter(n *NIC, why string) {
	r := n.slaac.router
	if !r.IsValid() {
		return
	}
	n.slaac.router = netip.Addr{}
	if n.slaac.routerTTL != nil {
		n.slaac.routerTTL.Stop()
		n.slaac.routerTTL = nil
	}
	s.removeRoutesLocked(func(rt Route) bool {
		return rt.Dst.Bits() == 0 && rt.Dst.Addr().Is6() && rt.Gateway == r && rt.NIC == n
	})
	s.note("ndp", "default router "+r.String()+" via "+n.cfg.Name+" "+why)
}

// startDAD makes addr tentative on n and asks whether another node has
// it (RFC 4862 §5.4).
func (s *Stack) startDAD(n *NIC, addr netip.Prefix, valid, preferred uint32) {
	t := tentative{addr: addr, valid: valid, preferred: preferred}
	t.timer = s.afterFunc(dadWait, func() { s.dadDone(n, addr) })
	n.slaac.tentative = append(n.slaac.tentative, t)
	target := addr.Addr()
	group := wire.SolicitedNodeAddr(target)
	s.counters.ICMP6.OutNeighborSolicits++
	s.ndpSend(n, wire.IPv6MulticastMAC(group), netip.IPv6Unspecified(), group,
		&wire.NDPFields{Type: wire.ICMPv6NeighborSolicit, Target: target}, nil, "ndp: duplicate address detection for "+target.String())
}

// dadDone assigns a tentative address nobody claimed.
func (s *Stack) dadDone(n *NIC, addr netip.Prefix) {
	t, ok := n.dropTentative(addr.Addr())
	if !ok {
		return
	}
	n.addrs6 = append(n.addrs6, addr)
	s.addRouteLocked(Route{Dst: addr.Masked(), NIC: n}) // and addrsChanged
	now := s.now()
	// Nothing of a new address remains yet: it takes the lifetimes as
	// advertised.
	n.slaac.auto = append(n.slaac.auto, autoAddr{addr: addr, validUntil: now, prefUntil: now})
	s.renewAddr(n, len(n.slaac.auto)-1, t.valid, t.preferred, now)
	s.note("ndp", "address "+addr.String()+" assigned to "+n.cfg.Name+" (autoconfigured, no duplicate; "+lifetimes(t.valid, t.preferred)+")")
}

// lifetimes writes an address's lifetimes for the trace.
func lifetimes(valid, preferred uint32) string {
	f := func(v uint32) string {
		if v == infiniteLifetime {
			return "infinite"
		}
		return (time.Duration(v) * time.Second).String()
	}
	return "valid " + f(valid) + ", preferred " + f(min(preferred, valid))
}

// dadConflict gives up a tentative address another node uses or tests.
func (s *Stack) dadConflict(n *NIC, target netip.Addr, pktID uint64) {
	n.dropTentative(target)
	if len(n.slaac.failed) < 16 {
		n.slaac.failed = append(n.slaac.failed, target)
	}
	s.counters.NDP.DADFailures++
	s.drop(&s.counters.ICMP6.InIgnored, "icmp6.InIgnored", "ndp", "duplicate address "+target.String()+": not assigned", pktID)
}

// isTentative reports whether a is a tentative address of n.
func (n *NIC) isTentative(a netip.Addr) bool {
	for _, t := range n.slaac.tentative {
		if t.addr.Addr() == a {
			return true
		}
	}
	return false
}

// dropTentative removes a from n's tentative addresses, reporting
// whether it was there.
func (n *NIC) dropTentative(a netip.Addr) (tentative, bool) {
	for i, t := range n.slaac.tentative {
		if t.addr.Addr() == a {
			t.timer.Stop()
			n.slaac.tentative = append(n.slaac.tentative[:i], n.slaac.tentative[i+1:]...)
			return t, true
		}
	}
	return tentative{}, false
}

// note reports an EventNote when tracing.
func (s *Stack) note(proto, detail string) {
	if s.opts.Observer != nil {
		s.observe(&Event{Kind: EventNote, Proto: proto, Name: proto, Detail: detail})
	}
}
