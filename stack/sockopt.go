package stack

import (
	"cmp"
	"math"
	"net/netip"

	"stacklab/stack/tcp"
	"syscall"
	"time"
)

// Socket options: setsockopt and getsockopt with Linux's validation and
// Linux's values (SO_RCVBUF and SO_SNDBUF are doubled and clamped, as
// the kernel does to leave room for its bookkeeping).

// Further options, after the first ten in facade.go.
const (
	SoReusePort     SockOpt = iota + SoReuseAddr + 1 // 0 or 1: several sockets share a port, listeners share the connections
	SoBroadcast                                      // 0 or 1: UDP may send to broadcast addresses
	SoType                                           // get only: 1 stream, 2 datagram (SOCK_STREAM, SOCK_DGRAM)
	SoError                                          // get only: the pending error, as an errno, cleared
	SoRcvTimeo                                       // milliseconds a blocking receive waits before EAGAIN; 0 is forever
	SoSndTimeo                                       // milliseconds a blocking send waits before EAGAIN; 0 is forever
	IPTTL                                            // 1..255, or -1 for the default
	TCPUserTimeout                                   // milliseconds unacknowledged data may wait before ETIMEDOUT (RFC 5482); 0 is off
	TCPMaxSeg                                        // 0 or 88..32767, set before connect/listen: caps the SYN's (or SYN-ACK's) MSS and so the send MSS; get: the MSS less options, 536 before connecting
	TCPSynCnt                                        // 1..127: SYN retransmissions before ETIMEDOUT
	TCPCork                                          // 0 or 1: hold partial segments until uncorked (or an RTO with nothing in flight)
	TCPNotSentLowat                                  // bytes: writes wait while this much is unsent; writable below half of it; 0 is no limit
	TCPInq                                           // 0 or 1: RecvMsgInfo reports the bytes left to read (TCP_CM_INQ)
	IPTOS                                            // the IP header's TOS byte; a TCP socket keeps its ECN bits to itself
	UDPCork                                          // 0 or 1 (any non-zero): UDP sends wait as one datagram, as under MSG_MORE, until set to 0 (UDP_CORK)
	IPMTUDiscover                                    // 0..5, Linux's IP_PMTUDISC_DONT, _WANT (the default), _DO, _PROBE, _INTERFACE, _OMIT: whether IPv4 packets carry DF, and whether a datagram past the MTU is fragmented or refused (EMSGSIZE)
	SoRcvLowat                                       // bytes a read and POLLIN wait for (SO_RCVLOWAT): negative is INT_MAX; on TCP at most half of tcp_rmem[2] (of SO_RCVBUF once set), and an autotuned buffer grows to hold it; 0 is 1
	SoOOBInline                                      // 0 or 1: TCP's urgent byte stays in the stream (SO_OOBINLINE)
	TCPDeferAccept                                   // seconds a listener's connection waits for data before accept sees it (TCP_DEFER_ACCEPT): kept, as Linux keeps it, as the SYN-ACK timeouts that cover them, and read back as their seconds (2 reads 3)
)

// Linux's IP_MTU_DISCOVER modes (IP_PMTUDISC_*).
const (
	PMTUDiscDont      = 0 // no DF; datagrams past the MTU are fragmented
	PMTUDiscWant      = 1 // the default: DF on what fits; datagrams past the MTU are fragmented, without it
	PMTUDiscDo        = 2 // DF; a datagram past the MTU is refused, EMSGSIZE
	PMTUDiscProbe     = 3 // as DO for datagrams (the interface's MTU); TCP segments leave without DF
	PMTUDiscInterface = 4 // no DF; a datagram past the interface's MTU is refused
	PMTUDiscOmit      = 5 // no DF; datagrams past the MTU are fragmented
)

// pmtuMode is the socket's IP_MTU_DISCOVER mode.
func (sk *socket) pmtuMode() int {
	if sk.pmtudisc == 0 {
		return PMTUDiscWant
	}
	return int(sk.pmtudisc) - 1
}

// dfPolicy is what the socket's IPv4 datagrams (UDP, ping) do with DF
// and with a size past the MTU, by IP_MTU_DISCOVER, as Linux's
// __ip_append_data and __ip_make_skb: DF on those that fit under WANT,
// on all under DO and PROBE, which refuse one too big, as INTERFACE
// does without DF; fragments under DONT, WANT and OMIT. stacklab keeps
// no IPv4 path MTU, so the route's interface MTU is the MTU of all.
func (sk *socket) dfPolicy() dfPolicy {
	switch sk.pmtuMode() {
	case PMTUDiscWant:
		return dfIfFits
	case PMTUDiscDo, PMTUDiscProbe:
		return dfOn
	case PMTUDiscInterface:
		return dfOffNoFrag
	}
	return dfOff
}

// tcpNoDF reports whether a TCP socket's segments leave without DF under
// mode: all but WANT and DO (Linux's ip_dont_fragment).
func tcpNoDF(mode int) bool { return mode != PMTUDiscWant && mode != PMTUDiscDo }

// ipTTL is the TTL of the socket's datagrams.
func (sk *socket) ipTTL() uint8 {
	if sk.ttl != 0 {
		return uint8(sk.ttl)
	}
	return sk.s.opts.TTL
}

// Linux's bounds for the buffer options (SOCK_MIN_RCVBUF, SOCK_MIN_SNDBUF,
// and net.core.rmem_max/wmem_max at their defaults).
const (
	minRcvBuf = 2304
	minSndBuf = 4608
	maxBufOpt = 212992
)

// isTCPLevel reports whether opt is an IPPROTO_TCP option.
func isTCPLevel(opt SockOpt) bool {
	switch opt {
	case TCPNoDelay, TCPKeepIdle, TCPKeepIntvl, TCPKeepCnt, TCPQuickAck, TCPUserTimeout, TCPMaxSeg, TCPSynCnt,
		TCPCork, TCPNotSentLowat, TCPInq, TCPDeferAccept:
		return true
	}
	return false
}

// SetSockopt sets a socket option. Like Linux it refuses a TCP option on
// a UDP socket (ENOPROTOOPT), an unknown or read-only option
// (ENOPROTOOPT), and out-of-range values (EINVAL): keepalive idle time
// and interval 1..32767 s, probe count 1..127, IP_TTL 1..255 or -1.
func (s *Stack) SetSockopt(fd int, opt SockOpt, value int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return opError("setsockopt", 0, noAddr, noAddr, err)
	}
	if err := s.setSockopt(sk, opt, value); err != nil {
		return opError("setsockopt", sk.typ, sk.local, noAddr, err)
	}
	return nil
}

func (s *Stack) setSockopt(sk *socket, opt SockOpt, value int) error {
	if isTCPLevel(opt) && sk.typ != SockStream {
		return syscall.ENOPROTOOPT
	}
	o := &sk.opts
	sec := time.Duration(value) * time.Second
	switch opt {
	case SoKeepAlive:
		o.KeepAlive = value != 0
	case SoLinger:
		o.Linger, o.LingerSec = value >= 0, max(value, 0)
	case SoRcvBuf:
		value = min(max(2*min(value, maxBufOpt), minRcvBuf), 2*maxBufOpt)
		o.RecvBuffer, o.RecvBufferSet = value, true
		if sk.udp != nil {
			sk.udp.queue.limit = value
		}
	case SoSndBuf:
		value = min(max(2*min(value, maxBufOpt), minSndBuf), 2*maxBufOpt)
		o.SendBuffer = value
	case TCPNoDelay:
		o.NoDelay = value != 0
	case TCPKeepIdle, TCPKeepIntvl:
		if value < 1 || value > 32767 {
			return syscall.EINVAL
		}
		if opt == TCPKeepIdle {
			o.KeepIdle = sec
		} else {
			o.KeepInterval = sec
		}
	case TCPKeepCnt:
		if value < 1 || value > 127 {
			return syscall.EINVAL
		}
		o.KeepCount = value
	case TCPQuickAck:
		o.QuickAck = value != 0
	case SoReuseAddr:
		sk.reuseAddr = value != 0
		sk.opts.ReuseAddr = sk.reuseAddr
	case SoReusePort:
		sk.reusePort = value != 0
		o.ReusePort = sk.reusePort
	case SoBroadcast:
		sk.broadcast = value != 0
	case SoRcvTimeo, SoSndTimeo:
		if value < 0 {
			return syscall.EDOM // a negative timeval, as sock_set_timeout says
		}
		if opt == SoRcvTimeo {
			sk.rcvTimeo = time.Duration(value) * time.Millisecond
		} else {
			sk.sndTimeo = time.Duration(value) * time.Millisecond
		}
	case TCPUserTimeout:
		if value < 0 {
			return syscall.EINVAL
		}
		o.UserTimeout = time.Duration(value) * time.Millisecond
		if sk.conn != nil {
			sk.conn.SetUserTimeout(o.UserTimeout)
		}
	case IPv6V6Only:
		if !sk.v6() {
			return syscall.ENOPROTOOPT
		}
		if sk.local.IsValid() || sk.ln != nil {
			return syscall.EINVAL // as Linux: only before bind
		}
		o.V6Only = value != 0
	case TCPMaxSeg:
		// 0 clears it; else TCP_MIN_MSS..MAX_TCP_WINDOW, as Linux's
		// do_tcp_setsockopt checks. It shapes the next SYN or SYN-ACK
		// only: a connection keeps the MSS of its handshake.
		if value != 0 && (value < 88 || value > 32767) {
			return syscall.EINVAL
		}
		o.MaxSeg = value
	case TCPSynCnt:
		if value < 1 || value > 127 { // MAX_TCP_SYNCNT
			return syscall.EINVAL
		}
		o.SynCount = value
	case IPTTL:
		if value != -1 && (value < 1 || value > 255) {
			return syscall.EINVAL
		}
		sk.ttl = max(value, 0)
		o.TTL = uint8(sk.ttl)
	case IPTOS:
		tos := uint8(value) // Linux keeps the low byte
		if sk.typ == SockStream {
			tos &^= 3 // the ECN field is TCP's (RFC 3168 §6.1.1)
		}
		sk.tos, o.TOS = tos, tos
	case IPMTUDiscover:
		if value < PMTUDiscDont || value > PMTUDiscOmit {
			return syscall.EINVAL
		}
		sk.pmtudisc, o.NoDF = uint8(value)+1, tcpNoDF(value)
	case TCPCork:
		o.Cork = value != 0
	case TCPNotSentLowat:
		o.NotSentLowat = uint32(value) // Linux stores it unsigned
	case SoRcvLowat:
		s.setRcvLowat(sk, value)
	case SoOOBInline:
		o.OOBInline = value != 0
	case TCPDeferAccept:
		o.DeferAccept = tcp.DeferAcceptTimeouts(value)
	case TCPInq:
		if value < 0 || value > 1 {
			return syscall.EINVAL
		}
		sk.inq = value == 1
	case UDPCork:
		if sk.typ != SockDgram {
			return syscall.ENOPROTOOPT // SOL_UDP on a TCP socket: ip_setsockopt knows no such level
		}
		sk.udpCork = value != 0
		if !sk.udpCork && sk.cork != nil {
			// Uncorking sends the pending datagram; as Linux's
			// udp_lib_setsockopt, its send error is not setsockopt's.
			s.flushCork(sk)
		}
	default:
		return syscall.ENOPROTOOPT
	}
	if sk.ln != nil {
		sk.ln.SetOpts(&sk.opts)
	}
	if c := sk.conn; c != nil {
		switch opt {
		case SoKeepAlive, TCPKeepIdle, TCPKeepIntvl, TCPKeepCnt:
			c.SetKeepAlive(o.KeepAlive, o.KeepIdle, o.KeepInterval, o.KeepCount)
		case SoLinger:
			c.SetLinger(o.Linger, o.LingerSec)
		case TCPNoDelay:
			c.SetNoDelay(o.NoDelay)
		case TCPQuickAck:
			c.SetQuickAck(o.QuickAck)
		case SoRcvBuf:
			c.SetRecvBuffer(value)
		case SoSndBuf:
			c.SetSendBuffer(value)
		case IPTTL, IPTOS, IPMTUDiscover:
			c.SetIPHeader(o.TTL, o.TOS, o.NoDF)
		case TCPCork:
			c.SetCork(o.Cork)
		case TCPNotSentLowat:
			c.SetNotSentLowat(o.NotSentLowat)
		case SoRcvLowat:
			c.SetRcvLowat(o.RcvLowat)
		case SoOOBInline:
			c.SetOOBInline(o.OOBInline)
		}
	}
	return nil
}

// GetSockopt returns a socket option's value, as getsockopt(2) does:
// for every option SetSockopt takes, and SoType and SoError (which
// returns and clears the pending error as an errno number).
func (s *Stack) GetSockopt(fd int, opt SockOpt) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return 0, opError("getsockopt", 0, noAddr, noAddr, err)
	}
	v, err := s.getSockopt(sk, opt)
	if err != nil {
		return 0, opError("getsockopt", sk.typ, sk.local, noAddr, err)
	}
	return v, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// wrongLevel is getsockopt's answer for an option of another protocol's
// level: Linux's ip_getsockopt says EOPNOTSUPP, ipv6_getsockopt
// ENOPROTOOPT.
func wrongLevel(sk *socket) error {
	if sk.v6() {
		return syscall.ENOPROTOOPT
	}
	return syscall.EOPNOTSUPP
}

func (s *Stack) getSockopt(sk *socket, opt SockOpt) (int, error) {
	if isTCPLevel(opt) && sk.typ != SockStream {
		return 0, wrongLevel(sk) // getsockopt's answer; setsockopt's is ENOPROTOOPT
	}
	o := &sk.opts
	switch opt {
	case SoKeepAlive:
		return b2i(o.KeepAlive), nil
	case SoLinger:
		if !o.Linger {
			return -1, nil
		}
		return o.LingerSec, nil
	case SoRcvBuf:
		if sk.conn != nil {
			return sk.conn.RecvBufferMemory(), nil
		}
		if sk.udp != nil && sk.udp.queue.limit != 0 {
			return sk.udp.queue.limit, nil
		}
		if sk.typ != SockStream && o.RecvBuffer == s.opts.TCP.RecvBuffer {
			return defaultDgramQueue, nil
		}
		if sk.typ == SockStream && o.RecvBuffer == 0 {
			// Autotuned: a TCP socket not yet connected (a listener
			// too) reads tcp_rmem[1], what its connections start with.
			rmem, _ := s.tcp.BufferDefaults()
			return max(rmem, 2*o.RcvLowatSpace), nil
		}
		return o.RecvBuffer, nil
	case SoSndBuf:
		if sk.conn != nil {
			return sk.conn.SendBufferSize(), nil
		}
		if sk.typ == SockStream && o.SendBuffer == 0 {
			_, wmem := s.tcp.BufferDefaults() // tcp_wmem[1]
			return wmem, nil
		}
		return o.SendBuffer, nil
	case SoRcvLowat:
		return max(o.RcvLowat, 1), nil
	case SoOOBInline:
		return b2i(o.OOBInline), nil
	case TCPDeferAccept:
		return tcp.DeferAcceptSeconds(o.DeferAccept), nil
	case TCPNoDelay:
		return b2i(o.NoDelay), nil
	case TCPKeepIdle:
		return int(cmp.Or(o.KeepIdle, s.tcp.Config().KeepIdle) / time.Second), nil
	case TCPKeepIntvl:
		return int(cmp.Or(o.KeepInterval, s.tcp.Config().KeepInterval) / time.Second), nil
	case TCPKeepCnt:
		return cmp.Or(o.KeepCount, s.tcp.Config().KeepCount), nil
	case TCPQuickAck:
		return b2i(o.QuickAck), nil
	case SoReuseAddr:
		return b2i(sk.reuseAddr), nil
	case SoReusePort:
		return b2i(sk.reusePort), nil
	case SoBroadcast:
		return b2i(sk.broadcast), nil
	case SoType:
		if sk.typ == SockStream {
			return 1, nil
		}
		return 2, nil
	case SoError:
		if e, ok := s.takeError(sk).(syscall.Errno); ok {
			return int(e), nil
		}
		return 0, nil
	case SoRcvTimeo:
		return int(sk.rcvTimeo / time.Millisecond), nil
	case SoSndTimeo:
		return int(sk.sndTimeo / time.Millisecond), nil
	case TCPUserTimeout:
		return int(o.UserTimeout / time.Millisecond), nil
	case IPv6V6Only:
		if !sk.v6() {
			return 0, syscall.ENOPROTOOPT
		}
		return b2i(sk.opts.V6Only), nil
	case TCPMaxSeg:
		if sk.conn != nil {
			return sk.conn.MSS(), nil
		}
		// Unconnected or listening: the value set, else TCP_MSS_DEFAULT
		// (what Linux's getsockopt answers).
		return cmp.Or(o.MaxSeg, 536), nil
	case TCPSynCnt:
		if o.SynCount > 0 {
			return o.SynCount, nil
		}
		return s.tcp.Config().SynRetries, nil
	case IPTOS:
		return int(sk.tos), nil
	case IPMTUDiscover:
		return sk.pmtuMode(), nil
	case TCPCork:
		return b2i(o.Cork), nil
	case TCPNotSentLowat:
		return int(int32(o.NotSentLowat)), nil
	case TCPInq:
		return b2i(sk.inq), nil
	case UDPCork:
		if sk.typ != SockDgram {
			return 0, wrongLevel(sk)
		}
		return b2i(sk.udpCork), nil
	case IPTTL:
		if sk.ttl == 0 {
			return int(s.opts.TTL), nil
		}
		return sk.ttl, nil
	}
	return 0, syscall.ENOPROTOOPT
}

// takeError returns and clears the socket's pending error, with the lock held.
func (s *Stack) takeError(sk *socket) error {
	switch {
	case sk.conn != nil:
		return sk.conn.Err()
	case sk.udp != nil && sk.udp.err != 0:
		e := sk.udp.err
		sk.udp.err = 0
		return e
	}
	return nil
}

// GetSockname returns the socket's local address (getsockname(2)): the
// unspecified address and port 0 before bind.
func (s *Stack) GetSockname(fd int) (netip.AddrPort, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return noAddr, opError("getsockname", 0, noAddr, noAddr, err)
	}
	if !sk.local.IsValid() {
		return sk.outAddr(netip.AddrPortFrom(sk.unspecified(), 0)), nil
	}
	return sk.outAddr(sk.local), nil
}

// GetPeername returns the connected peer's address (getpeername(2)), or
// ENOTCONN.
func (s *Stack) GetPeername(fd int) (netip.AddrPort, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return noAddr, opError("getpeername", 0, noAddr, noAddr, err)
	}
	var r netip.AddrPort
	switch {
	case sk.conn != nil:
		if st := fdState(sk.conn.State()); st != tcp.Closed && st != tcp.SynSent {
			r = sk.conn.Tuple().Remote
		}
	case sk.udp != nil:
		r = sk.udp.remote
	}
	if !r.IsValid() {
		return noAddr, opError("getpeername", sk.typ, sk.local, noAddr, syscall.ENOTCONN)
	}
	return sk.outAddr(r), nil
}

// ioctl runs f, an ioctl's answer, on fd's socket with the lock held,
// and wraps its error as the call's.
func (s *Stack) ioctl(fd int, f func(sk *socket) (int, error)) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return 0, opError("ioctl", 0, noAddr, noAddr, err)
	}
	n, err := f(sk)
	if err != nil {
		return 0, opError("ioctl", sk.typ, sk.local, noAddr, err)
	}
	return n, nil
}

// InQ returns the bytes ready to read (SIOCINQ, FIONREAD, TCP_INQ): for
// a datagram socket, the size of the next datagram.
func (s *Stack) InQ(fd int) (int, error) {
	return s.ioctl(fd, func(sk *socket) (int, error) {
		switch {
		case sk.ln != nil:
			return 0, syscall.EINVAL
		case sk.conn != nil:
			return sk.conn.Inq(), nil
		case sk.udp != nil:
			if d, ok := sk.udp.queue.peek(); ok {
				return len(d.data), nil
			}
		}
		return 0, nil
	})
}

// OutQ reports SIOCOUTQ (notSent false) or SIOCOUTQNSD (true) on a TCP
// socket: the bytes written and not yet acknowledged by the peer, or not
// yet sent, the FIN counted once queued (Linux's tcp_ioctl); EINVAL on a
// listener. A UDP socket answers SIOCOUTQ with 0 (stacklab hands each
// datagram to its interface at once) and SIOCOUTQNSD with ENOTTY, as
// Linux's.
func (s *Stack) OutQ(fd int, notSent bool) (int, error) {
	return s.ioctl(fd, func(sk *socket) (int, error) {
		switch {
		case sk.ln != nil:
			return 0, syscall.EINVAL
		case sk.conn != nil:
			unacked, unsent := sk.conn.OutQ()
			if notSent {
				return unsent, nil
			}
			return unacked, nil
		case sk.typ == SockStream || !notSent:
			return 0, nil
		}
		return 0, syscall.ENOTTY
	})
}

// AtMark reports SIOCATMARK (sockatmark(3)): whether the next byte a
// read returns on a TCP socket is the urgent mark; false on one not
// connected, ENOTTY on a socket that is not TCP, as Linux's.
func (s *Stack) AtMark(fd int) (bool, error) {
	n, err := s.ioctl(fd, func(sk *socket) (int, error) {
		switch {
		case sk.conn != nil:
			if sk.conn.AtMark() {
				return 1, nil
			}
			return 0, nil
		case sk.typ == SockStream:
			return 0, nil
		}
		return 0, syscall.ENOTTY
	})
	return n == 1, err
}

// setRcvLowat sets SO_RCVLOWAT as Linux's sock_setsockopt and, on TCP,
// tcp_set_rcvlowat: a negative value is INT_MAX; a TCP socket's is at
// most half of tcp_rmem[2], or half of SO_RCVBUF once that was set; 0 is
// 1. A TCP socket whose receive buffer is autotuned grows it to hold the
// mark (sk_rcvbuf to tcp_space_from_win: twice it, at the default
// scaling ratio), before it connects too, and never shrinks it again.
// UDP keeps the value, which its reads ignore, as Linux's.
func (s *Stack) setRcvLowat(sk *socket, v int) {
	o := &sk.opts
	if v < 0 {
		v = math.MaxInt32
	}
	if sk.typ == SockStream {
		capacity := s.tcp.RmemMax() / 2
		switch {
		case sk.conn != nil && sk.conn.RecvLocked():
			capacity = sk.conn.RecvBufferMemory() / 2
		case sk.conn == nil && o.RecvBufferSet:
			capacity = o.RecvBuffer / 2
		}
		v = min(v, capacity)
		if sk.conn == nil && !o.RecvBufferSet && s.tcp.Linux() {
			o.RcvLowatSpace = max(o.RcvLowatSpace, v)
		}
	}
	o.RcvLowat = max(v, 1)
}
