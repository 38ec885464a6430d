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
	}
	ICMP struct {
		InMsgs, InErrors              uint64
		InEchos, InEchoReps           uint64
		InDestUnreachs, InTimeExcds   uint64
		OutMsgs                       uint64
		OutEchos, OutEchoReps         uint64
		OutDestUnreachs, OutTimeExcds uint64
		OutRateLimited                uint64 // errors not sent: over the rate limit
		InIgnored                     uint64 // broadcast echo requests, unknown types
	}
	UDP struct {
		InDatagrams, OutDatagrams uint64
		NoPorts                   uint64
		InErrors                  uint64 // bad checksum or length
		RcvbufErrors              uint64
	}
	Sock struct {
		FDLimit uint64 // socket, accept or epoll_create refused with EMFILE (Options.MaxFDs)
	}
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
		{"icmp.InMsgs", c.ICMP.InMsgs}, {"icmp.InErrors", c.ICMP.InErrors},
		{"icmp.InEchos", c.ICMP.InEchos}, {"icmp.InEchoReps", c.ICMP.InEchoReps},
		{"icmp.InDestUnreachs", c.ICMP.InDestUnreachs}, {"icmp.InTimeExcds", c.ICMP.InTimeExcds}, {"icmp.InIgnored", c.ICMP.InIgnored},
		{"icmp.OutMsgs", c.ICMP.OutMsgs}, {"icmp.OutEchos", c.ICMP.OutEchos},
		{"icmp.OutEchoReps", c.ICMP.OutEchoReps}, {"icmp.OutDestUnreachs", c.ICMP.OutDestUnreachs},
		{"icmp.OutTimeExcds", c.ICMP.OutTimeExcds}, {"icmp.OutRateLimited", c.ICMP.OutRateLimited},
		{"udp.InDatagrams", c.UDP.InDatagrams}, {"udp.OutDatagrams", c.UDP.OutDatagrams},
		{"udp.NoPorts", c.UDP.NoPorts}, {"udp.InErrors", c.UDP.InErrors}, {"udp.RcvbufErrors", c.UDP.RcvbufErrors},
		{"sock.FDLimit", c.Sock.FDLimit},
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
