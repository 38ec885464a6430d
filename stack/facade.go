package stack

import (
	"net/netip"
	"syscall"
	"time"
)

// SockType is the type argument of [Stack.Socket].
type SockType uint8

const (
	SockStream SockType = iota + 1 // TCP
	SockDgram                      // UDP
	SockICMP                       // ICMP echo ("ping socket", like Linux's SOCK_DGRAM/IPPROTO_ICMP)
)

func (t SockType) String() string {
	switch t {
	case SockStream:
		return "tcp"
	case SockDgram:
		return "udp"
	case SockICMP:
		return "icmp"
	}
	return "unknown"
}

// PollEvents is a readiness mask, as in poll(2) and epoll(7).
type PollEvents uint16

const (
	PollIn    PollEvents = 1 << iota // data (or a connection, or EOF) to read
	PollOut                          // room to write, or connect finished
	PollErr                          // a pending error (see SO_ERROR); always reported
	PollHup                          // the connection is closed both ways; always reported
	PollRdHup                        // the receiving side is shut: the peer's FIN, a reset, or shutdown(SHUT_RD) (POLLRDHUP)
	PollNval                         // the descriptor is not open (POLLNVAL); always reported by poll
	PollPri                          // urgent data to read with MSG_OOB (POLLPRI)
)

// Flags of an epoll registration ([Stack.EpollCtl]), in the same mask as
// the events, as in epoll_ctl(2).
const (
	EpollET      PollEvents = 1 << 14 // edge-triggered: report a descriptor once per readiness change
	EpollOneShot PollEvents = 1 << 15 // report once, then disable until EpollMod re-arms it
)

// Shutdown directions for [Stack.Shutdown].
const (
	ShutRD   = syscall.SHUT_RD
	ShutWR   = syscall.SHUT_WR
	ShutRDWR = syscall.SHUT_RDWR
)

// SockOpt names a socket option for [Stack.SetSockopt].
type SockOpt uint8

const (
	SoKeepAlive  SockOpt = iota + 1 // 0 or 1
	SoLinger                        // seconds; negative turns linger off; 0 means close sends RST
	SoRcvBuf                        // bytes
	SoSndBuf                        // bytes
	TCPNoDelay                      // 0 or 1
	TCPKeepIdle                     // seconds
	TCPKeepIntvl                    // seconds
	TCPKeepCnt                      // probes
	TCPQuickAck                     // 0 or 1
	SoReuseAddr                     // 0 or 1
)

// TCPInfo is a snapshot of a TCP connection's internals, like Linux's
// TCP_INFO.
type TCPInfo struct {
	State           string
	MSS             int
	Cwnd, Ssthresh  int // bytes
	SRTT, RTTVar    time.Duration
	RTO             time.Duration
	SndWnd, RcvWnd  int
	Retransmits     int // segments retransmitted
	RTOs            int // retransmission timeouts
	FastRetransmits int
	BytesSent       uint64
	BytesAcked      uint64
	BytesReceived   uint64
	Congestion      string
	Recovery        string // loss recovery: "rack", "sack" or "newreno"

	// Negotiated in the handshake.
	SndWScale, RcvWScale int // window scale each way; -1 when off
	SACK, Timestamps     bool
	RcvMSS               int // the segment size the peer sends (tcpi_rcv_mss)
	Unacked              int // bytes sent and not acknowledged
	SndCwnd              int // Cwnd in segments of the payload MSS (the MSS less options), as Linux's tcpi_snd_cwnd
}

// SocketInfo describes a socket for the trace and for expectations.
type SocketInfo struct {
	FD            int
	Type          SockType
	State         string // TCP state, "LISTEN", or "" for UDP/ICMP
	Local, Remote netip.AddrPort
	Nonblocking   bool
}
