package stack

import (
	"net/netip"
	"sort"

	"stacklab/stack/tcp"
)

// fdState is a connection's state as its descriptor sees it on Linux:
// TIME_WAIT is CLOSE, as Linux hands TIME_WAIT to a timewait socket of
// its own and closes the descriptor's (tcp_time_wait, then tcp_done).
// The connection itself, in ss() and a scenario's fd X state, is in
// TIME_WAIT.
func fdState(st tcp.State) tcp.State {
	if st == tcp.TimeWait {
		return tcp.Closed
	}
	return st
}

// LinuxTCPInfo is Linux's struct tcp_info (getsockopt TCP_INFO, see
// linux/tcp.h) as far as stacklab computes it, each field in Linux's
// units and with Linux's meaning (net/ipv4/tcp.c, tcp_get_info): packets
// for the counts, microseconds for the times. [LinuxTCPInfo.Field]
// reads a field by its C name, for tools that evaluate expressions
// such as packetdrill's `tcpi_snd_cwnd == 10`.
type LinuxTCPInfo struct {
	State       uint8 // TCP_ESTABLISHED 1 … TCP_CLOSE 7, TCP_LISTEN 10 (Linux's numbering)
	CAState     uint8 // TCP_CA_Open 0, Disorder 1, CWR 2, Recovery 3, Loss 4
	Retransmits uint8 // RTOs since the last forward progress
	Probes      uint8 // zero-window or keepalive probes unanswered
	Backoff     uint8 // RTO backoff exponent
	Options     uint8 // TCPI_OPT_TIMESTAMPS 1, SACK 2, WSCALE 4, ECN 8
	SndWScale   uint8
	RcvWScale   uint8

	RTO          uint32 // µs
	SndMSS       uint32 // a full segment's payload (mss_cache)
	RcvMSS       uint32 // the peer's segment size as estimated
	Unacked      uint32 // packets in flight (for a listener: connections ready to accept)
	Sacked       uint32 // packets SACKed (for a listener: the backlog)
	Lost         uint32 // packets deemed lost, not since SACKed
	Retrans      uint32 // retransmissions in flight
	RTT          uint32 // smoothed RTT, µs
	RTTVar       uint32 // RTT mean deviation, µs
	SndSsthresh  uint32 // packets; 0x7fffffff (TCP_INFINITE_SSTHRESH) before any reduction
	SndCwnd      uint32 // packets
	Reordering   uint32 // reordering degree in packets, 3 until measured
	TotalRetrans uint32 // segments retransmitted over the connection

	BytesAcked    uint64
	BytesReceived uint64
	NotsentBytes  uint32
	Delivered     uint32 // packets delivered (ACKed or SACKed), the handshake's SYN counted
	BytesSent     uint64 // payload bytes sent, retransmissions included
	ReordSeen     uint32 // times reordering was detected
	SndWnd        uint32 // the peer's window, bytes

	DeliveryRateAppLimited uint8  // 1: the last delivery-rate sample was app-limited (a bit field in Linux's struct)
	ATO                    uint32 // µs, the delayed-ACK timeout
	LastDataSent           uint32 // ms since
	LastDataRecv           uint32 // ms since
	LastAckRecv            uint32 // ms since
	PMTU                   uint32
	RcvSsthresh            uint32 // bytes
	AdvMSS                 uint32
	RcvRTT                 uint32 // µs
	RcvSpace               uint32 // bytes
	PacingRate             uint64 // bytes/s; ^0 for none
	MaxPacingRate          uint64 // bytes/s; ^0: SO_MAX_PACING_RATE is not set (stacklab has no such option)
	SegsOut, SegsIn        uint32
	MinRTT                 uint32 // µs; 0xffffffff before a sample
	DataSegsIn             uint32
	DataSegsOut            uint32
	DeliveryRate           uint64 // bytes/s
	BusyTime               uint64 // µs
	RwndLimited            uint64 // µs
	SndbufLimited          uint64 // µs
	DeliveredCE            uint32
	BytesRetrans           uint64
	DSACKDups              uint32
	RcvOOOPack             uint32
	RcvWnd                 uint32 // bytes
	TotalRTO               uint16
	TotalRTORecoveries     uint16
	TotalRTOTime           uint32 // ms
	Rehash                 uint16 // tcpi_rehash: flow labels redrawn (one per RTO)
}

// linuxStates maps stacklab's TCP states to Linux's numbers (TCP_*).
var linuxStates = map[string]uint8{
	"ESTABLISHED": 1, "SYN_SENT": 2, "SYN_RECEIVED": 3, "FIN_WAIT_1": 4, "FIN_WAIT_2": 5,
	"TIME_WAIT": 6, "CLOSED": 7, "CLOSE_WAIT": 8, "LAST_ACK": 9, "LISTEN": 10, "CLOSING": 11,
}

// Linux's TCPI_OPT_* bits.
const (
	tcpiOptTimestamps = 1
	tcpiOptSACK       = 2
	tcpiOptWScale     = 4
	tcpiOptECN        = 8
)

// LinuxTCPInfo returns the socket's tcp_info as Linux reports it. Like
// Linux it answers for any TCP socket: a listener reports its accept
// queue in Unacked and its backlog in Sacked, an unconnected socket the
// initial values (State 7, SndCwnd 10, SndMSS 536, RTO 1 s). A UDP
// socket gets EOPNOTSUPP (ENOPROTOOPT on AF_INET6), as getsockopt(TCP_INFO) on one does in Linux.
func (s *Stack) LinuxTCPInfo(fd int) (LinuxTCPInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return LinuxTCPInfo{}, opError("getsockopt", 0, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	if sk.typ != SockStream {
		return LinuxTCPInfo{}, opError("getsockopt", sk.typ, sk.local, netip.AddrPort{}, wrongLevel(sk))
	}
	li := LinuxTCPInfo{State: linuxStates["CLOSED"], SndCwnd: 10, Reordering: 3, SndSsthresh: 0x7fffffff,
		SndMSS: 536, RTO: 1000000, RTTVar: 250000, PacingRate: ^uint64(0), MaxPacingRate: ^uint64(0),
		MinRTT: 0xffffffff, DeliveryRateAppLimited: 1}
	switch {
	case sk.ln != nil:
		// tcp_get_info's listener branch: these fields and no more.
		_, acc := sk.ln.QueueLens()
		return LinuxTCPInfo{State: linuxStates["LISTEN"], SndCwnd: 10, Reordering: 3,
			Unacked: uint32(acc), Sacked: uint32(sk.ln.Backlog()), PacingRate: ^uint64(0), MaxPacingRate: ^uint64(0)}, nil
	case sk.conn == nil:
		return li, nil
	}
	in := sk.conn.Info()
	l := in.Linux
	li = LinuxTCPInfo{
		State: linuxStates[fdState(in.State).String()], CAState: l.CAState, Retransmits: l.Retransmits,
		Probes: l.Probes, Backoff: l.Backoff,
		RTO: uint32(l.RTO), SndMSS: uint32(l.SndMSS), RcvMSS: uint32(l.RcvMSS),
		Unacked: uint32(l.Unacked), Sacked: uint32(l.Sacked), Lost: uint32(l.Lost), Retrans: uint32(l.Retrans),
		RTT: uint32(l.RTT), RTTVar: uint32(l.RTTVar), SndSsthresh: uint32(l.SndSsthresh), SndCwnd: uint32(l.SndCwnd),
		Reordering: uint32(l.Reordering), TotalRetrans: uint32(l.TotalRetrans),
		BytesAcked: l.BytesAcked, BytesReceived: in.BytesReceived, NotsentBytes: uint32(l.NotsentBytes),
		Delivered: uint32(l.Delivered), BytesSent: in.BytesSent, ReordSeen: uint32(l.ReordSeen),
		SndWnd: uint32(in.SndWnd),

		DeliveryRateAppLimited: uint8(b2i(l.DeliveryRateAppLimited)), ATO: uint32(l.ATO),
		LastDataSent: uint32(l.LastDataSent), LastDataRecv: uint32(l.LastDataRecv), LastAckRecv: uint32(l.LastAckRecv),
		PMTU: uint32(l.PMTU), RcvSsthresh: uint32(l.RcvSsthresh), AdvMSS: uint32(l.AdvMSS), RcvRTT: uint32(l.RcvRTT),
		RcvSpace: uint32(l.RcvSpace), PacingRate: l.PacingRate, MaxPacingRate: ^uint64(0),
		SegsOut: uint32(l.SegsOut), SegsIn: uint32(l.SegsIn), MinRTT: uint32(l.MinRTT),
		DataSegsIn: uint32(l.DataSegsIn), DataSegsOut: uint32(l.DataSegsOut), DeliveryRate: l.DeliveryRate,
		BusyTime: l.BusyTime, RwndLimited: l.RwndLimited, SndbufLimited: l.SndbufLimited,
		DeliveredCE: uint32(l.DeliveredCE), BytesRetrans: l.BytesRetrans, DSACKDups: uint32(l.DSACKDups),
		RcvOOOPack: uint32(l.RcvOOOPack), RcvWnd: uint32(l.RcvWnd), TotalRTO: uint16(min(l.TotalRTO, 0xffff)),
		TotalRTORecoveries: uint16(min(l.TotalRTORecoveries, 0xffff)), TotalRTOTime: uint32(l.TotalRTOTime),
		Rehash: uint16(min(l.Rehash, 0xffff)),
	}
	if in.Timestamps {
		li.Options |= tcpiOptTimestamps
	}
	if in.SACK {
		li.Options |= tcpiOptSACK
	}
	if in.SndWScale >= 0 {
		li.Options |= tcpiOptWScale
		li.SndWScale, li.RcvWScale = uint8(in.SndWScale), uint8(in.RcvWScale)
	}
	if l.ECN {
		li.Options |= tcpiOptECN
	}
	return li, nil
}

// linuxTCPInfoFields reads each field by its name in Linux's struct.
var linuxTCPInfoFields = map[string]func(*LinuxTCPInfo) int64{
	"tcpi_state":          func(i *LinuxTCPInfo) int64 { return int64(i.State) },
	"tcpi_ca_state":       func(i *LinuxTCPInfo) int64 { return int64(i.CAState) },
	"tcpi_retransmits":    func(i *LinuxTCPInfo) int64 { return int64(i.Retransmits) },
	"tcpi_probes":         func(i *LinuxTCPInfo) int64 { return int64(i.Probes) },
	"tcpi_backoff":        func(i *LinuxTCPInfo) int64 { return int64(i.Backoff) },
	"tcpi_options":        func(i *LinuxTCPInfo) int64 { return int64(i.Options) },
	"tcpi_snd_wscale":     func(i *LinuxTCPInfo) int64 { return int64(i.SndWScale) },
	"tcpi_rcv_wscale":     func(i *LinuxTCPInfo) int64 { return int64(i.RcvWScale) },
	"tcpi_rto":            func(i *LinuxTCPInfo) int64 { return int64(i.RTO) },
	"tcpi_snd_mss":        func(i *LinuxTCPInfo) int64 { return int64(i.SndMSS) },
	"tcpi_rcv_mss":        func(i *LinuxTCPInfo) int64 { return int64(i.RcvMSS) },
	"tcpi_unacked":        func(i *LinuxTCPInfo) int64 { return int64(i.Unacked) },
	"tcpi_sacked":         func(i *LinuxTCPInfo) int64 { return int64(i.Sacked) },
	"tcpi_lost":           func(i *LinuxTCPInfo) int64 { return int64(i.Lost) },
	"tcpi_retrans":        func(i *LinuxTCPInfo) int64 { return int64(i.Retrans) },
	"tcpi_rtt":            func(i *LinuxTCPInfo) int64 { return int64(i.RTT) },
	"tcpi_rttvar":         func(i *LinuxTCPInfo) int64 { return int64(i.RTTVar) },
	"tcpi_snd_ssthresh":   func(i *LinuxTCPInfo) int64 { return int64(i.SndSsthresh) },
	"tcpi_snd_cwnd":       func(i *LinuxTCPInfo) int64 { return int64(i.SndCwnd) },
	"tcpi_reordering":     func(i *LinuxTCPInfo) int64 { return int64(i.Reordering) },
	"tcpi_total_retrans":  func(i *LinuxTCPInfo) int64 { return int64(i.TotalRetrans) },
	"tcpi_bytes_acked":    func(i *LinuxTCPInfo) int64 { return int64(i.BytesAcked) },
	"tcpi_bytes_received": func(i *LinuxTCPInfo) int64 { return int64(i.BytesReceived) },
	"tcpi_notsent_bytes":  func(i *LinuxTCPInfo) int64 { return int64(i.NotsentBytes) },
	"tcpi_delivered":      func(i *LinuxTCPInfo) int64 { return int64(i.Delivered) },
	"tcpi_bytes_sent":     func(i *LinuxTCPInfo) int64 { return int64(i.BytesSent) },
	"tcpi_reord_seen":     func(i *LinuxTCPInfo) int64 { return int64(i.ReordSeen) },
	"tcpi_snd_wnd":        func(i *LinuxTCPInfo) int64 { return int64(i.SndWnd) },

	"tcpi_delivery_rate_app_limited": func(i *LinuxTCPInfo) int64 { return int64(i.DeliveryRateAppLimited) },
	"tcpi_ato":                       func(i *LinuxTCPInfo) int64 { return int64(i.ATO) },
	"tcpi_last_data_sent":            func(i *LinuxTCPInfo) int64 { return int64(i.LastDataSent) },
	"tcpi_last_data_recv":            func(i *LinuxTCPInfo) int64 { return int64(i.LastDataRecv) },
	"tcpi_last_ack_recv":             func(i *LinuxTCPInfo) int64 { return int64(i.LastAckRecv) },
	"tcpi_pmtu":                      func(i *LinuxTCPInfo) int64 { return int64(i.PMTU) },
	"tcpi_rcv_ssthresh":              func(i *LinuxTCPInfo) int64 { return int64(i.RcvSsthresh) },
	"tcpi_advmss":                    func(i *LinuxTCPInfo) int64 { return int64(i.AdvMSS) },
	"tcpi_rcv_rtt":                   func(i *LinuxTCPInfo) int64 { return int64(i.RcvRTT) },
	"tcpi_rcv_space":                 func(i *LinuxTCPInfo) int64 { return int64(i.RcvSpace) },
	"tcpi_pacing_rate":               func(i *LinuxTCPInfo) int64 { return int64(i.PacingRate) },
	"tcpi_max_pacing_rate":           func(i *LinuxTCPInfo) int64 { return int64(i.MaxPacingRate) },
	"tcpi_segs_out":                  func(i *LinuxTCPInfo) int64 { return int64(i.SegsOut) },
	"tcpi_segs_in":                   func(i *LinuxTCPInfo) int64 { return int64(i.SegsIn) },
	"tcpi_min_rtt":                   func(i *LinuxTCPInfo) int64 { return int64(i.MinRTT) },
	"tcpi_data_segs_in":              func(i *LinuxTCPInfo) int64 { return int64(i.DataSegsIn) },
	"tcpi_data_segs_out":             func(i *LinuxTCPInfo) int64 { return int64(i.DataSegsOut) },
	"tcpi_delivery_rate":             func(i *LinuxTCPInfo) int64 { return int64(i.DeliveryRate) },
	"tcpi_busy_time":                 func(i *LinuxTCPInfo) int64 { return int64(i.BusyTime) },
	"tcpi_rwnd_limited":              func(i *LinuxTCPInfo) int64 { return int64(i.RwndLimited) },
	"tcpi_sndbuf_limited":            func(i *LinuxTCPInfo) int64 { return int64(i.SndbufLimited) },
	"tcpi_delivered_ce":              func(i *LinuxTCPInfo) int64 { return int64(i.DeliveredCE) },
	"tcpi_bytes_retrans":             func(i *LinuxTCPInfo) int64 { return int64(i.BytesRetrans) },
	"tcpi_dsack_dups":                func(i *LinuxTCPInfo) int64 { return int64(i.DSACKDups) },
	"tcpi_rcv_ooopack":               func(i *LinuxTCPInfo) int64 { return int64(i.RcvOOOPack) },
	"tcpi_rcv_wnd":                   func(i *LinuxTCPInfo) int64 { return int64(i.RcvWnd) },
	"tcpi_total_rto":                 func(i *LinuxTCPInfo) int64 { return int64(i.TotalRTO) },
	"tcpi_total_rto_recoveries":      func(i *LinuxTCPInfo) int64 { return int64(i.TotalRTORecoveries) },
	"tcpi_total_rto_time":            func(i *LinuxTCPInfo) int64 { return int64(i.TotalRTOTime) },
	"tcpi_rehash":                    func(i *LinuxTCPInfo) int64 { return int64(i.Rehash) },
}

// Field returns the field named as in Linux's struct tcp_info
// ("tcpi_snd_cwnd"), and false for a name stacklab does not compute.
func (i *LinuxTCPInfo) Field(name string) (int64, bool) {
	f, ok := linuxTCPInfoFields[name]
	if !ok {
		return 0, false
	}
	return f(i), true
}

// LinuxTCPInfoFields lists the names [LinuxTCPInfo.Field] knows, sorted.
func LinuxTCPInfoFields() []string {
	names := make([]string, 0, len(linuxTCPInfoFields))
	for n := range linuxTCPInfoFields {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
