package scenarios

// A Group is one part of the course `stacklab list` follows: a title in
// English and Simplified Chinese and its scenarios, in the order a class
// meets them.
type Group struct {
	Title, TitleZH string
	Names          []string
}

// Course is the order `stacklab list` shows the built-ins in. A built-in
// that no group names is listed under "More" at the end.
var Course = []Group{
	{"Sockets, lesson by lesson", "套接字，一课一课地学",
		[]string{"five-tuple", "switch-vs-hub", "switch-tree", "handshake", "simultaneous-close", "stream-vs-datagram", "heartbeat-nat", "http-short-vs-long", "blocking-vs-nonblocking", "event-loop"}},
	{"Connections in detail", "连接的细节",
		[]string{"refused", "connect-timeout", "half-close", "urgent-data", "send-is-not-delivery", "nagle-delayed-ack", "time-wait", "address-in-use", "port-exhaustion", "simultaneous-open", "abort-linger", "close-unread-data", "write-after-close", "nonblocking", "http-keepalive", "challenge-ack", "listen-backlog", "syn-flood", "crash-restart", "keepalive-dead-peer", "firewall-idle-timeout", "nat-restart"}},
	{"Reliable delivery and congestion control", "可靠传输与拥塞控制",
		[]string{"lossy-transfer", "fast-retransmit", "sack-recovery", "rto-backoff", "spurious-rto", "reordering", "slow-start", "newreno-vs-cubic", "zero-window", "mutual-zero-window"}},
	{"UDP, ICMP and IP", "UDP、ICMP 与 IP",
		[]string{"udp-echo", "ping", "ttl-exceeded", "fragmentation"}},
	{"IPv6", "IPv6",
		[]string{"ipv6-handshake", "ndp", "dual-stack", "slaac", "slaac-lifetimes", "ipv6-pmtu"}},
}

// Grouped returns every built-in in course order, each group with its
// scenarios' Infos; built-ins no group names come last, under "More".
func Grouped() ([]Group, map[string]Info, error) {
	infos, err := List()
	if err != nil {
		return nil, nil, err
	}
	by := map[string]Info{}
	for _, in := range infos {
		by[in.Name] = in
	}
	seen := map[string]bool{}
	var out []Group
	for _, g := range Course {
		var names []string
		for _, n := range g.Names {
			if _, ok := by[n]; ok && !seen[n] {
				names = append(names, n)
				seen[n] = true
			}
		}
		if len(names) > 0 {
			out = append(out, Group{g.Title, g.TitleZH, names})
		}
	}
	var more []string
	for _, in := range infos {
		if !seen[in.Name] {
			more = append(more, in.Name)
		}
	}
	if len(more) > 0 {
		out = append(out, Group{"More", "更多", more})
	}
	return out, by, nil
}
