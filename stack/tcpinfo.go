package stack

import (
	"net/netip"
	"sort"
	"syscall"
)

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
// socket gets EOPNOTSUPP, as getsockopt(TCP_INFO) on one does in Linux.
func (s *Stack) LinuxTCPInfo(fd int) (LinuxTCPInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return LinuxTCPInfo{}, opError("getsockopt", 0, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	if sk.typ != SockStream {
		return LinuxTCPInfo{}, opError("getsockopt", sk.typ, sk.local, netip.AddrPort{}, syscall.EOPNOTSUPP)
	}
	li := LinuxTCPInfo{State: linuxStates["CLOSED"], SndCwnd: 10, Reordering: 3, SndSsthresh: 0x7fffffff,
		SndMSS: 536, RTO: 1000000, RTTVar: 250000}
	switch {
	case sk.ln != nil:
		// tcp_get_info's listener branch: these fields and no more.
		_, acc := sk.ln.QueueLens()
		return LinuxTCPInfo{State: linuxStates["LISTEN"], SndCwnd: 10, Reordering: 3,
			Unacked: uint32(acc), Sacked: uint32(sk.ln.Backlog())}, nil
	case sk.conn == nil:
		return li, nil
	}
	in := sk.conn.Info()
	l := in.Linux
	li = LinuxTCPInfo{
		State: linuxStates[in.State.String()], CAState: l.CAState, Retransmits: l.Retransmits,
		Probes: l.Probes, Backoff: l.Backoff,
		RTO: uint32(l.RTO), SndMSS: uint32(l.SndMSS), RcvMSS: uint32(in.RcvMSS),
		Unacked: uint32(l.Unacked), Sacked: uint32(l.Sacked), Lost: uint32(l.Lost), Retrans: uint32(l.Retrans),
		RTT: uint32(l.RTT), RTTVar: uint32(l.RTTVar), SndSsthresh: uint32(l.SndSsthresh), SndCwnd: uint32(l.SndCwnd),
		Reordering: uint32(l.Reordering), TotalRetrans: uint32(l.TotalRetrans),
		BytesAcked: l.BytesAcked, BytesReceived: in.BytesReceived, NotsentBytes: uint32(l.NotsentBytes),
		Delivered: uint32(l.Delivered), BytesSent: in.BytesSent, ReordSeen: uint32(l.ReordSeen),
		SndWnd: uint32(in.SndWnd),
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
