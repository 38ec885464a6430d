package stack

import (
	"net"
	"net/netip"
	"os"
	"slices"
	"syscall"
	"time"

	"stacklab/stack/tcp"
)

// socket is the state behind one descriptor.
type socket struct {
	s        *Stack
	fd       int
	typ      SockType
	family   Family // 0 is AF_INET
	nonblock bool
	closed   bool
	local    netip.AddrPort // bound address, if any
	opts     tcp.SockOpts

	conn *tcp.Conn
	ln   *tcp.Listener
	udp  *udpEndpoint
	icmp *icmpEndpoint
	ep   *epoll // an epoll instance, not a socket

	// epItems are the epoll registrations that watch this descriptor;
	// closing it removes them, as the last close of a file does in Linux.
	epItems []*epItem

	// Readiness: watchers registered by Notify, and blocked callers
	// waiting on wake, which notify closes.
	watchers  []watcher
	watcherID int
	wake      chan struct{}

	rdeadline, wdeadline time.Time // for the net.Conn adapters

	reuseAddr, reusePort, broadcast bool
	bound                           bool           // bind gave the socket its port
	failedConnect                   bool           // a connect failed: listen is EINVAL, as Linux answers
	connecting                      bool           // connect returned EINPROGRESS and no connect has seen the handshake end since (Linux's SS_CONNECTING)
	rcvTimeo, sndTimeo              time.Duration  // SO_RCVTIMEO, SO_SNDTIMEO
	ttl                             int            // IP_TTL; 0 is the stack's
	tos                             uint8          // IP_TOS
	pmtudisc                        uint8          // IP_MTU_DISCOVER plus one; 0: Linux's default, IP_PMTUDISC_WANT
	inq                             bool           // TCP_INQ: RecvMsgInfo reports the bytes left
	more                            bool           // the send in progress has MSG_MORE
	eor                             bool           // the send in progress has MSG_EOR
	oob                             bool           // the send in progress has MSG_OOB
	udpCork                         bool           // UDP_CORK: every send waits as with MSG_MORE
	cork                            []byte         // UDP: a datagram pending under MSG_MORE or UDP_CORK (nil: none)
	corkTo                          netip.AddrPort // its destination, from its first part

	eagain [3]cachedErr // EAGAIN errors for read, write, accept
}

type watcher struct {
	id int
	fn func()
}

// notify is called, with the lock held, whenever the socket's readiness
// may have changed.
func (sk *socket) notify() {
	for _, w := range sk.watchers {
		w.fn()
	}
	if sk.wake != nil {
		close(sk.wake)
		sk.wake = nil
	}
}

// wait releases the lock until the socket's readiness may have changed or
// the read (or write) deadline passes, then retakes it. It returns
// os.ErrDeadlineExceeded when the deadline has passed, and EAGAIN when
// until (SO_RCVTIMEO or SO_SNDTIMEO, from [socket.timeo]; zero for none)
// has passed first.
func (sk *socket) wait(write bool, until time.Time) error {
	s := sk.s
	deadline := sk.rdeadline
	if write {
		deadline = sk.wdeadline
	}
	var timeoErr error = os.ErrDeadlineExceeded
	if !until.IsZero() && (deadline.IsZero() || until.Before(deadline)) {
		deadline, timeoErr = until, syscall.EAGAIN
	}
	var expired chan struct{}
	var t Timer
	if !deadline.IsZero() {
		d := deadline.Sub(s.opts.Clock.Now())
		if d <= 0 {
			return timeoErr
		}
		expired = make(chan struct{})
		t = s.opts.Clock.AfterFunc(d, func() { close(expired) })
	}
	if sk.wake == nil {
		sk.wake = make(chan struct{})
	}
	ch := sk.wake
	s.mu.Unlock()
	select {
	case <-ch:
	case <-expired:
	}
	s.mu.Lock()
	if t != nil {
		t.Stop()
	}
	if expired != nil {
		select {
		case <-expired:
			return timeoErr
		default:
		}
	}
	return nil
}

// timeo returns when a blocking call that starts now gives up under
// SO_RCVTIMEO (or SO_SNDTIMEO), or zero when it waits without limit.
func (sk *socket) timeo(write bool) time.Time {
	d := sk.rcvTimeo
	if write {
		d = sk.sndTimeo
	}
	if d == 0 {
		return time.Time{}
	}
	return sk.s.opts.Clock.Now().Add(d)
}

// expired reports whether the read (or write) deadline has passed.
func (sk *socket) expired(write bool) bool {
	d := sk.rdeadline
	if write {
		d = sk.wdeadline
	}
	return !d.IsZero() && !sk.s.opts.Clock.Now().Before(d)
}

// poll returns the socket's readiness, with the lock held.
func (sk *socket) poll() PollEvents {
	var ev PollEvents
	switch {
	case sk.closed:
		return PollHup | PollErr
	case sk.ep != nil:
		if sk.ep.hasReady() {
			ev |= PollIn
		}
	case sk.ln != nil:
		if sk.ln.Readable() {
			ev |= PollIn
		}
	case sk.conn != nil:
		e := sk.conn.Poll()
		if e&tcp.EventIn != 0 {
			ev |= PollIn
		}
		if e&tcp.EventOut != 0 {
			ev |= PollOut
		}
		if e&tcp.EventErr != 0 {
			ev |= PollErr
		}
		if e&tcp.EventHup != 0 {
			ev |= PollHup
		}
		if e&tcp.EventRdHup != 0 {
			ev |= PollRdHup
		}
		if e&tcp.EventPri != 0 {
			ev |= PollPri
		}
	case sk.udp != nil:
		ev |= PollOut
		if !sk.udp.queue.empty() {
			ev |= PollIn
		}
		if sk.udp.err != 0 {
			ev |= PollErr
		}
	case sk.icmp != nil:
		ev |= PollOut
		if !sk.icmp.queue.empty() {
			ev |= PollIn
		}
	case sk.typ == SockStream:
		ev |= PollOut | PollHup // unconnected stream socket, as Linux reports
	default:
		ev |= PollOut
	}
	return ev
}

// lookup returns the socket of fd, with the lock held. An epoll
// descriptor is not a socket: ENOTSOCK.
func (s *Stack) lookup(fd int) (*socket, error) {
	sk, err := s.lookupAny(fd)
	if err == nil && sk.ep != nil {
		return nil, syscall.ENOTSOCK
	}
	return sk, err
}

// lookupAny returns the socket or epoll instance of fd, with the lock held.
func (s *Stack) lookupAny(fd int) (*socket, error) {
	if fd < 0 || fd >= len(s.fds) || s.fds[fd] == nil {
		return nil, syscall.EBADF
	}
	return s.fds[fd], nil
}

// addWatcher registers fn to run (lock held) whenever sk's readiness may
// have changed; removeWatcher ends it.
func (sk *socket) addWatcher(fn func()) int {
	sk.watcherID++
	sk.watchers = append(sk.watchers, watcher{id: sk.watcherID, fn: fn})
	return sk.watcherID
}

func (sk *socket) removeWatcher(id int) {
	for i, w := range sk.watchers {
		if w.id == id {
			sk.watchers = append(sk.watchers[:i:i], sk.watchers[i+1:]...)
			return
		}
	}
}

// newSocket allocates the lowest free descriptor from 3 (0–2 are the
// standard streams of the program the trace pretends to be), or fails
// with EMFILE at the descriptor limit.
func (s *Stack) newSocket(typ SockType) (*socket, error) {
	if s.nfds >= s.opts.MaxFDs {
		s.counters.Sock.FDLimit++
		return nil, syscall.EMFILE
	}
	sk := &socket{s: s, typ: typ}
	for fd := max(s.fdLow, 3); ; fd++ {
		if fd >= len(s.fds) {
			s.fds = append(s.fds, make([]*socket, fd+1-len(s.fds))...)
		}
		if s.fds[fd] == nil {
			sk.fd = fd
			s.fds[fd] = sk
			s.nfds++
			s.fdLow = fd + 1
			return sk, nil
		}
	}
}

// freeFD releases a descriptor.
func (s *Stack) freeFD(fd int) {
	if sk := s.fds[fd]; sk != nil && sk.typ == SockStream {
		s.tcpUnindex(sk)
	}
	s.fds[fd] = nil
	s.nfds--
	s.fdLow = min(s.fdLow, fd)
}

// tcpLocal sets a stream socket's local address and keeps s.tcpPorts,
// the index bind's conflict checks walk, and the bind(0) hint: whether
// the socket holds its port may change with its address (a failed
// connect no longer holds it).
func (s *Stack) tcpLocal(sk *socket, a netip.AddrPort) {
	old := sk.local.Port()
	s.portMaybeFree(old)
	if old != a.Port() {
		s.tcpUnindex(sk)
	}
	sk.local = a
	if p := a.Port(); p != 0 && p != old {
		if s.tcpPorts == nil {
			s.tcpPorts = map[uint16][]*socket{}
		}
		s.tcpPorts[p] = append(s.tcpPorts[p], sk)
	}
}

// portTaken and portMaybeFree set and clear port's bit in the bind(0)
// hint (s.tcpTaken): found taken, and a holder of the port went or
// changed.
func (s *Stack) portTaken(port uint16)     { s.tcpTaken[port/64] |= 1 << (port % 64) }
func (s *Stack) portMaybeFree(port uint16) { s.tcpTaken[port/64] &^= 1 << (port % 64) }

// tcpUnindex takes a stream socket out of s.tcpPorts.
func (s *Stack) tcpUnindex(sk *socket) {
	p := sk.local.Port()
	s.portMaybeFree(p)
	l := s.tcpPorts[p]
	if i := slices.Index(l, sk); i >= 0 {
		l[i] = l[len(l)-1]
		l[len(l)-1] = nil
		l = l[:len(l)-1]
	}
	if len(l) == 0 {
		delete(s.tcpPorts, p)
	} else {
		s.tcpPorts[p] = l
	}
}

// sockOpts returns the stack's defaults as per-socket options.
func (s *Stack) defaultSockOpts() tcp.SockOpts {
	o := s.opts.TCP
	return tcp.SockOpts{
		SendBuffer:   o.SendBuffer,
		RecvBuffer:   o.RecvBuffer,
		NoDelay:      o.NoDelay,
		QuickAck:     o.NoDelayedAck,
		KeepIdle:     o.KeepIdle,
		KeepInterval: o.KeepInterval,
		KeepCount:    o.KeepCount,
		Congestion:   o.Congestion,
		Recovery:     o.Recovery,
	}
}

// opError wraps err like [opError], except that EAGAIN, which a
// non-blocking program meets at every turn of its loop, comes from a
// per-socket cache: polling a socket allocates nothing.
func (sk *socket) opError(op string, remote netip.AddrPort, err error) error {
	if err != syscall.EAGAIN {
		return opError(op, sk.typ, sk.local, remote, err)
	}
	i := 0
	switch op {
	case "write":
		i = 1
	case "accept":
		i = 2
	}
	c := &sk.eagain[i]
	if c.err == nil || c.local != sk.local || c.remote != remote {
		*c = cachedErr{local: sk.local, remote: remote, err: opError(op, sk.typ, sk.local, remote, err)}
	}
	return c.err
}

// cachedErr is an error built for one pair of addresses.
type cachedErr struct {
	local, remote netip.AddrPort
	err           error
}

// opError wraps an error from the stack's core as the standard library
// does, so errors.Is(err, syscall.ECONNREFUSED) works.
func opError(op string, typ SockType, local, remote netip.AddrPort, err error) error {
	if err == nil {
		return nil
	}
	oe := &net.OpError{Op: op, Net: typ.String() + "4", Err: err}
	if err == syscall.EAGAIN {
		// Keep EAGAIN bare inside the OpError: errors.Is matches it.
		oe.Err = err
	}
	if local.IsValid() {
		oe.Source = addrOf(typ, local)
	}
	if remote.IsValid() {
		oe.Addr = addrOf(typ, remote)
	}
	return oe
}

func addrOf(typ SockType, ap netip.AddrPort) net.Addr {
	switch typ {
	case SockStream:
		return net.TCPAddrFromAddrPort(ap)
	case SockDgram:
		return net.UDPAddrFromAddrPort(ap)
	}
	return &net.IPAddr{IP: ap.Addr().AsSlice()}
}
