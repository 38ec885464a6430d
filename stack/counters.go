package stack

// Counters are a stack's `netstat -s`-style statistics. Every dropped
// packet increments exactly one counter whose name says why.
type Counters struct {
	Link struct {
		InFrames, OutFrames uint64
		InTruncated         uint64 // shorter than a link header
		InNotForUs          uint64 // another host's unicast MAC
		InUnknownType       uint64 // an EtherType the stack does not speak
		OutTooBig           uint64 // larger than the MTU with nothing to fragment
		LoopbackDrops       uint64 // frames sent to lo while its backlog was full
	}
	ARP struct {
		InRequests, InReplies   uint64
		OutRequests, OutReplies uint64
		InErrors                uint64 // malformed
		PendingDrops            uint64 // queued packets dropped: queue full or no reply
	}
	IP struct {
		InReceives      uint64
		InHdrErrors     uint64 // bad version, header length, total length, checksum
		InAddrErrors    uint64 // not for this host and not forwarding
		InUnknownProtos uint64
		InDelivers      uint64
		OutRequests     uint64
		OutNoRoutes     uint64
		ForwDatagrams   uint64
		InTTLExceeded   uint64 // forwarding with TTL 1
		ReasmReqds      uint64
		ReasmOKs        uint64
		ReasmFails      uint64
		FragOKs         uint64
		FragFails       uint64 // DF set and too big
		FragCreates     uint64
		// InSrcRouteDrops are packets with a source-route option (LSRR,
		// SSRR), dropped as Linux does with accept_source_route=0.
		InSrcRouteDrops uint64
	}
	ICMP struct {
		InMsgs, InErrors              uint64
		InEchos, InEchoReps           uint64
		InDestUnreachs, InTimeExcds   uint64
		OutMsgs                       uint64
		OutEchos, OutEchoReps         uint64
		OutDestUnreachs, OutTimeExcds uint64
		OutParmProbs                  uint64 // parameter problems sent: malformed IP options
		OutRateLimited                uint64 // errors not sent: over the rate limit
		InIgnored                     uint64 // broadcast echo requests, unknown types
	}
	UDP  udpCounters
	UDP6 udpCounters // UDP over IPv6 (Linux's Udp6 group)
	NDP  struct {
		PendingDrops uint64 // queued packets dropped: queue full or no advertisement
		DADFailures  uint64 // autoconfigured addresses not assigned: another node has them
		// AddrDeprecated and AddrExpired count autoconfigured addresses
		// whose preferred and valid lifetimes ran out (RFC 4862 §5.5.4).
		AddrDeprecated, AddrExpired uint64
	}
	IP6 struct { // Linux's Ip6 group
		InReceives         uint64
		InHdrErrors        uint64 // bad version or length, bad extension header or option
		InTruncatedPkts    uint64 // an extension header runs past the packet
		InAddrErrors       uint64 // not for this host and not forwarding, martian addresses
		InDiscards         uint64 // IPv6 not enabled on the interface
		InUnknownProtos    uint64
		InDelivers         uint64
		InHopLimitExceeded uint64 // forwarding with hop limit 1
		InTooBigErrors     uint64 // forwarding a packet larger than the next link's MTU
		OutRequests        uint64
		OutNoRoutes        uint64
		OutForwDatagrams   uint64
		ReasmReqds         uint64 // fragments received
		ReasmFails         uint64 // fragments dropped, packets discarded or timed out
		FragFails          uint64 // larger than the path MTU and not fragmentable (TCP, or past 65535)
		ReasmOKs           uint64
		ReasmTimeout       uint64
		FragOKs            uint64 // packets sent in fragments
		FragCreates        uint64
		PMTUEvictions      uint64 // path MTU cache full: the entry expiring first forgotten
	}
	ICMP6 struct { // Linux's Icmp6 group
		InMsgs, InErrors                               uint64
		InEchos, InEchoReplies                         uint64
		InDestUnreachs, InPktTooBigs                   uint64
		InTimeExcds, InParmProblems                    uint64
		InNeighborSolicits, InNeighborAdvertisements   uint64
		InRouterSolicits, InRouterAdvertisements       uint64
		InRedirects                                    uint64
		InIgnored                                      uint64 // messages not acted on (see the drop's detail)
		OutMsgs, OutEchoReplies                        uint64
		OutEchos                                       uint64
		OutDestUnreachs, OutPktTooBigs                 uint64
		OutTimeExcds, OutParmProblems                  uint64
		OutNeighborSolicits, OutNeighborAdvertisements uint64
		OutRouterSolicits, OutRouterAdvertisements     uint64
		OutRateLimited                                 uint64 // errors not sent: over the rate limit
	}
	Sock struct {
		FDLimit uint64 // socket, accept or epoll_create refused with EMFILE (Options.MaxFDs)
	}
}

// udpCounters are the UDP group of either family.
type udpCounters struct {
	InDatagrams, OutDatagrams uint64
	NoPorts                   uint64
	IgnoredMulti              uint64 // broadcasts no socket took (Linux's UDP IgnoredMulti)
	InErrors                  uint64 // bad checksum or length
	RcvbufErrors              uint64
}

// Counter is one named statistic.
type Counter struct {
	Name  string // "ip.InReceives", "tcp.RetransSegs"
	Value uint64
}

// Counters returns every statistic of the stack, in a fixed order.
func (s *Stack) Counters() []Counter {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &s.counters
	out := []Counter{
		{"link.InFrames", c.Link.InFrames}, {"link.OutFrames", c.Link.OutFrames},
		{"link.InTruncated", c.Link.InTruncated}, {"link.InNotForUs", c.Link.InNotForUs},
		{"link.InUnknownType", c.Link.InUnknownType}, {"link.OutTooBig", c.Link.OutTooBig},
		{"link.LoopbackDrops", c.Link.LoopbackDrops},
		{"arp.InRequests", c.ARP.InRequests}, {"arp.InReplies", c.ARP.InReplies},
		{"arp.OutRequests", c.ARP.OutRequests}, {"arp.OutReplies", c.ARP.OutReplies},
		{"arp.InErrors", c.ARP.InErrors}, {"arp.PendingDrops", c.ARP.PendingDrops},
		{"ip.InReceives", c.IP.InReceives}, {"ip.InHdrErrors", c.IP.InHdrErrors},
		{"ip.InAddrErrors", c.IP.InAddrErrors}, {"ip.InUnknownProtos", c.IP.InUnknownProtos},
		{"ip.InDelivers", c.IP.InDelivers}, {"ip.OutRequests", c.IP.OutRequests},
		{"ip.OutNoRoutes", c.IP.OutNoRoutes}, {"ip.ForwDatagrams", c.IP.ForwDatagrams},
		{"ip.InTTLExceeded", c.IP.InTTLExceeded},
		{"ip.ReasmReqds", c.IP.ReasmReqds}, {"ip.ReasmOKs", c.IP.ReasmOKs}, {"ip.ReasmFails", c.IP.ReasmFails},
		{"ip.FragOKs", c.IP.FragOKs}, {"ip.FragFails", c.IP.FragFails}, {"ip.FragCreates", c.IP.FragCreates},
		{"ip.InSrcRouteDrops", c.IP.InSrcRouteDrops},
		{"icmp.InMsgs", c.ICMP.InMsgs}, {"icmp.InErrors", c.ICMP.InErrors},
		{"icmp.InEchos", c.ICMP.InEchos}, {"icmp.InEchoReps", c.ICMP.InEchoReps},
		{"icmp.InDestUnreachs", c.ICMP.InDestUnreachs}, {"icmp.InTimeExcds", c.ICMP.InTimeExcds}, {"icmp.InIgnored", c.ICMP.InIgnored},
		{"icmp.OutMsgs", c.ICMP.OutMsgs}, {"icmp.OutEchos", c.ICMP.OutEchos},
		{"icmp.OutEchoReps", c.ICMP.OutEchoReps}, {"icmp.OutDestUnreachs", c.ICMP.OutDestUnreachs},
		{"icmp.OutTimeExcds", c.ICMP.OutTimeExcds}, {"icmp.OutRateLimited", c.ICMP.OutRateLimited},
		{"icmp.OutParmProbs", c.ICMP.OutParmProbs},
		{"udp.InDatagrams", c.UDP.InDatagrams}, {"udp.OutDatagrams", c.UDP.OutDatagrams},
		{"udp.NoPorts", c.UDP.NoPorts}, {"udp.IgnoredMulti", c.UDP.IgnoredMulti},
		{"udp.InErrors", c.UDP.InErrors}, {"udp.RcvbufErrors", c.UDP.RcvbufErrors},
		{"sock.FDLimit", c.Sock.FDLimit},
		{"ip6.InReceives", c.IP6.InReceives}, {"ip6.InHdrErrors", c.IP6.InHdrErrors},
		{"ip6.InTruncatedPkts", c.IP6.InTruncatedPkts}, {"ip6.InAddrErrors", c.IP6.InAddrErrors},
		{"ip6.InDiscards", c.IP6.InDiscards}, {"ip6.InUnknownProtos", c.IP6.InUnknownProtos},
		{"ip6.InDelivers", c.IP6.InDelivers}, {"ip6.InHopLimitExceeded", c.IP6.InHopLimitExceeded},
		{"ip6.InTooBigErrors", c.IP6.InTooBigErrors}, {"ip6.OutRequests", c.IP6.OutRequests},
		{"ip6.OutNoRoutes", c.IP6.OutNoRoutes}, {"ip6.OutForwDatagrams", c.IP6.OutForwDatagrams},
		{"ip6.ReasmReqds", c.IP6.ReasmReqds}, {"ip6.ReasmFails", c.IP6.ReasmFails}, {"ip6.FragFails", c.IP6.FragFails},
		{"ip6.ReasmOKs", c.IP6.ReasmOKs}, {"ip6.ReasmTimeout", c.IP6.ReasmTimeout},
		{"ip6.FragOKs", c.IP6.FragOKs}, {"ip6.FragCreates", c.IP6.FragCreates}, {"ip6.PMTUEvictions", c.IP6.PMTUEvictions},
		{"icmp6.InMsgs", c.ICMP6.InMsgs}, {"icmp6.InErrors", c.ICMP6.InErrors},
		{"icmp6.InEchos", c.ICMP6.InEchos}, {"icmp6.InEchoReplies", c.ICMP6.InEchoReplies},
		{"icmp6.InDestUnreachs", c.ICMP6.InDestUnreachs}, {"icmp6.InPktTooBigs", c.ICMP6.InPktTooBigs},
		{"icmp6.InTimeExcds", c.ICMP6.InTimeExcds}, {"icmp6.InParmProblems", c.ICMP6.InParmProblems},
		{"icmp6.InNeighborSolicits", c.ICMP6.InNeighborSolicits}, {"icmp6.InNeighborAdvertisements", c.ICMP6.InNeighborAdvertisements},
		{"icmp6.InRouterSolicits", c.ICMP6.InRouterSolicits}, {"icmp6.InRouterAdvertisements", c.ICMP6.InRouterAdvertisements},
		{"icmp6.InRedirects", c.ICMP6.InRedirects}, {"icmp6.InIgnored", c.ICMP6.InIgnored},
		{"icmp6.OutMsgs", c.ICMP6.OutMsgs}, {"icmp6.OutEchoReplies", c.ICMP6.OutEchoReplies},
		{"icmp6.OutDestUnreachs", c.ICMP6.OutDestUnreachs}, {"icmp6.OutPktTooBigs", c.ICMP6.OutPktTooBigs},
		{"icmp6.OutTimeExcds", c.ICMP6.OutTimeExcds}, {"icmp6.OutParmProblems", c.ICMP6.OutParmProblems},
		{"icmp6.OutNeighborSolicits", c.ICMP6.OutNeighborSolicits}, {"icmp6.OutNeighborAdvertisements", c.ICMP6.OutNeighborAdvertisements},
		{"icmp6.OutRateLimited", c.ICMP6.OutRateLimited}, {"icmp6.OutEchos", c.ICMP6.OutEchos},
		{"udp6.InDatagrams", c.UDP6.InDatagrams}, {"udp6.OutDatagrams", c.UDP6.OutDatagrams},
		{"udp6.NoPorts", c.UDP6.NoPorts}, {"udp6.InErrors", c.UDP6.InErrors}, {"udp6.RcvbufErrors", c.UDP6.RcvbufErrors},
		{"ndp.PendingDrops", c.NDP.PendingDrops}, {"ndp.DADFailures", c.NDP.DADFailures},
		{"ndp.AddrDeprecated", c.NDP.AddrDeprecated}, {"ndp.AddrExpired", c.NDP.AddrExpired},
		{"icmp6.OutRouterSolicits", c.ICMP6.OutRouterSolicits}, {"icmp6.OutRouterAdvertisements", c.ICMP6.OutRouterAdvertisements},
	}
	tc := s.tcp.Counters()
	for _, tc := range tc.List() {
		out = append(out, Counter{"tcp." + tc.Name, tc.Value})
	}
	return out
}

// Counter returns one statistic by name, and whether it exists.
func (s *Stack) Counter(name string) (uint64, bool) {
	for _, c := range s.Counters() {
		if c.Name == name {
			return c.Value, true
		}
	}
	return 0, false
}
