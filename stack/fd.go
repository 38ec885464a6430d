package stack

import (
	"io"
	"net/netip"
	"slices"
	"strconv"
	"syscall"

	"stacklab/stack/tcp"
	"stacklab/stack/tcp/cc"
	"stacklab/stack/wire"
)

// The Berkeley-style facade: sockets named by small integer descriptors,
// as a C program sees them. Calls on a non-blocking descriptor never wait:
// they return EAGAIN or EINPROGRESS as the kernel does. Calls on a blocking
// descriptor wait for readiness, which needs a clock that advances on its
// own (RealClock); under the simulator's virtual clock the scenario
// interpreter sets descriptors non-blocking and waits on [Stack.Notify]
// itself. Errors are *net.OpError values wrapping a syscall.Errno.

// Socket creates a socket and returns its descriptor (from 3 upward, the
// lowest free, as POSIX requires).
func (s *Stack) Socket(typ SockType) (int, error) {
	if typ != SockStream && typ != SockDgram && typ != SockICMP {
		return -1, opError("socket", typ, netip.AddrPort{}, netip.AddrPort{}, syscall.EPROTONOSUPPORT)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.destroyed {
		return -1, opError("socket", typ, netip.AddrPort{}, netip.AddrPort{}, syscall.ENETDOWN)
	}
	sk, err := s.newSocket(typ)
	if err != nil {
		return -1, opError("socket", typ, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	sk.opts = s.defaultSockOpts()
	return sk.fd, nil
}

// Bind gives the socket a local address. A zero address means any; a zero
// port means an ephemeral port chosen at bind.
func (s *Stack) Bind(fd int, addr netip.AddrPort) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return opError("bind", 0, addr, netip.AddrPort{}, err)
	}
	in, err := sk.inAddr(addr)
	if err == nil {
		err = s.bind(sk, in)
	}
	return opError("bind", sk.typ, addr, netip.AddrPort{}, err)
}

func (s *Stack) bind(sk *socket, addr netip.AddrPort) error {
	if sk.local.IsValid() || sk.conn != nil || sk.ln != nil {
		return syscall.EINVAL
	}
	a := addr.Addr()
	if !a.IsValid() {
		a = sk.unspecified()
	}
	if a.Is6() && !a.Is4In6() && a.IsMulticast() && (sk.typ == SockStream || a.Zone() == "" && (a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast())) {
		// Linux's inet6_bind: TCP takes no IPv6 multicast address, and
		// one of link-local scope needs an interface.
		return syscall.EINVAL
	}
	if a.Is4In6() || (!a.IsUnspecified() && !s.isLocal(a) && !s.groupAddr(a)) {
		return syscall.EADDRNOTAVAIL
	}
	addr = netip.AddrPortFrom(a, addr.Port())
	switch sk.typ {
	case SockStream:
		// The port is claimed now, as Linux's inet_csk_get_port does:
		// a second bind, a listener or a connection on it (TIME_WAIT
		// included) is EADDRINUSE, unless SO_REUSEADDR or SO_REUSEPORT
		// allow the sharing.
		if addr.Port() == 0 {
			p, err := s.ephemeralTCP(a)
			if err != nil {
				return err
			}
			addr = netip.AddrPortFrom(a, p)
		} else if s.tcpBindConflict(sk, addr, sk.reuseAddr, sk.reusePort) {
			return syscall.EADDRINUSE
		}
		sk.bound = true
	case SockDgram:
		if addr.Port() == 0 {
			p, err := s.ephemeralUDP()
			if err != nil {
				return err
			}
			addr = netip.AddrPortFrom(a, p)
		} else if s.udpBindConflict(sk, addr) {
			return syscall.EADDRINUSE
		}
		sk.udp = &udpEndpoint{sock: sk, local: addr, v6only: sk.opts.V6Only}
		// SO_RCVBUF set before bind holds too (Linux's sk_rcvbuf is the
		// socket's from the start).
		if sk.opts.RecvBuffer != s.opts.TCP.RecvBuffer {
			sk.udp.queue.limit = sk.opts.RecvBuffer
		}
		s.udp.add(sk.udp)
		sk.bound = addr.Port() != 0
	case SockICMP:
		id := addr.Port()
		if id == 0 {
			var ok bool
			if id, ok = s.icmp.freeID(s.opts.Rand.IntN(1000)); !ok {
				return syscall.EADDRINUSE
			}
		} else if s.icmp.byID[id] != nil {
			return syscall.EADDRINUSE
		}
		sk.icmp = &icmpEndpoint{sock: sk, id: id}
		s.icmp.byID[id] = sk.icmp
		addr = netip.AddrPortFrom(a, id)
	}
	if sk.typ == SockStream {
		s.tcpLocal(sk, addr)
	} else {
		sk.local = addr
	}
	return nil
}

// overlaps reports whether two local addresses can receive the same
// datagram: equal, or either one the wildcard.
func overlaps(a, b netip.Addr) bool { return overlapsV6(a, false, b, false) }

// overlapsV6 is overlaps for sockets with IPV6_V6ONLY as given: across
// families only a dual-stack [::] overlaps.
func overlapsV6(a netip.Addr, aV6Only bool, b netip.Addr, bV6Only bool) bool {
	if a.Is4() != b.Is4() {
		return a.Is6() && a.IsUnspecified() && !aV6Only || b.Is6() && b.IsUnspecified() && !bV6Only
	}
	return a == b || a.IsUnspecified() || b.IsUnspecified()
}

// tcpBindConflict reports whether binding sk to addr clashes with another
// stream socket on the port or a connection that has no descriptor left
// (closing, or in TIME_WAIT), with Linux's rules: sharing is allowed when
// both sockets set SO_REUSEPORT, or both set SO_REUSEADDR and the other
// is not listening; a connection without a descriptor (TIME_WAIT) is
// passed over when both the new socket and the one it was left by set
// SO_REUSEADDR (Linux's timewait socket keeps sk_reuse).
func (s *Stack) tcpBindConflict(sk *socket, addr netip.AddrPort, reuseAddr, reusePort bool) bool {
	// Only the sockets and connections on this port matter: the port
	// indexes (s.tcpPorts, tcp's ConnsOnPort) make the check cost what
	// the port holds, not what the stack holds.
	fds := s.tcpPorts[addr.Port()] // stream sockets on this port only
	for _, o := range fds {
		if o == sk || !overlapsV6(o.local.Addr(), o.opts.V6Only, addr.Addr(), sk != nil && sk.opts.V6Only) {
			continue
		}
		if !o.bound && o.ln == nil && (o.conn == nil || o.conn.State() == tcp.Closed) {
			continue // not bound, or a failed connect: holds no port
		}
		if reusePort && o.reusePort || reuseAddr && o.reuseAddr && o.ln == nil {
			continue
		}
		return true
	}
	var owned map[*tcp.Conn]bool // the port's connections that have a descriptor
	conflict := false
	s.tcp.ConnsOnPort(addr.Port(), func(c *tcp.Conn) {
		l := c.Tuple().Local
		if conflict || reuseAddr && c.ReuseAddr() || !overlaps(l.Addr(), addr.Addr()) || c.State() == tcp.Closed {
			return
		}
		if owned == nil {
			owned = make(map[*tcp.Conn]bool, len(fds))
			for _, o := range fds {
				if o.conn != nil {
					owned[o.conn] = true
				}
			}
		}
		conflict = !owned[c]
	})
	return conflict
}

// tcpPortFree reports whether bind(0) or an implicit listen may take
// port on a: no connection holds it and a bind without SO_REUSEADDR or
// SO_REUSEPORT would not clash with a socket. A port found taken is
// remembered in s.tcpTaken until something may free it.
func (s *Stack) tcpPortFree(a netip.Addr, p uint16) bool {
	if s.tcpTaken[p/64]&(1<<(p%64)) != 0 {
		return false // found taken, and nothing has freed it since
	}
	free := s.tcp.PortConns(p) == 0 && !s.tcpBindConflict(nil, netip.AddrPortFrom(a, p), false, false)
	if !free {
		s.portTaken(p)
	}
	return free
}

// ephemeralTCP picks a free port for bind(:0) (see bindPortTCP): a port
// no connection holds (tcp's per-port count) and on which a bind without
// SO_REUSEADDR or SO_REUSEPORT would not clash with a socket (the port
// index), so each port tried costs O(1), as Linux's bind hash buckets
// make it. A port a connection holds on another local address only is
// passed over too (Linux would take it): bind(0) never shares.
func (s *Stack) ephemeralTCP(a netip.Addr) (uint16, error) {
	p, ok := s.bindPortTCP(func(p uint16) bool { return s.tcpPortFree(a, p) })
	if !ok {
		return 0, syscall.EADDRINUSE
	}
	return p, nil
}

// udpBindConflict reports whether binding sk to addr clashes with a bound
// datagram socket: sharing is allowed when both set SO_REUSEADDR or both
// SO_REUSEPORT.
func (s *Stack) udpBindConflict(sk *socket, addr netip.AddrPort) bool {
	for ap, e := range s.udp.bound {
		if ap.Port() != addr.Port() {
			continue
		}
		for ; e != nil; e = e.next {
			o := e.sock
			if !overlapsV6(ap.Addr(), e.v6only, addr.Addr(), sk.opts.V6Only) {
				continue
			}
			if !(sk.reuseAddr && o.reuseAddr || sk.reusePort && o.reusePort) {
				return true
			}
		}
	}
	return false
}

// Listen marks a stream socket as passive with the given backlog.
func (s *Stack) Listen(fd, backlog int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return opError("listen", 0, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	if sk.typ != SockStream {
		return opError("listen", sk.typ, sk.local, netip.AddrPort{}, syscall.EOPNOTSUPP)
	}
	if sk.ln != nil {
		sk.ln.SetBacklog(backlog) // as Linux: a second listen changes the backlog
		return nil
	}
	// A connect that failed leaves the socket unable to listen, as on
	// Linux; one that EINPROGRESS left still holds its connection (the
	// next connect reports how it ended).
	if sk.conn != nil || sk.failedConnect {
		return opError("listen", sk.typ, sk.local, netip.AddrPort{}, syscall.EINVAL)
	}
	local := sk.local
	if !local.IsValid() {
		local = netip.AddrPortFrom(sk.unspecified(), 0)
	}
	ln, err := s.listenTCP(local, backlog, &sk.opts)
	if err != nil {
		return opError("listen", sk.typ, local, netip.AddrPort{}, err)
	}
	sk.ln = ln
	s.tcpLocal(sk, ln.Addr())
	ln.SetNotify(sk.notify)
	return nil
}

// listenTCP listens on local, choosing a free ephemeral port when its
// port is zero, as listen(2) does on an unbound socket.
func (s *Stack) listenTCP(local netip.AddrPort, backlog int, o *tcp.SockOpts) (*tcp.Listener, error) {
	if local.Port() != 0 {
		return s.tcp.Listen(local, backlog, o)
	}
	var ln *tcp.Listener
	var err error
	if _, ok := s.bindPortTCP(func(port uint16) bool {
		if !s.tcpPortFree(local.Addr(), port) {
			return false // a socket or a connection holds it
		}
		ln, err = s.tcp.Listen(netip.AddrPortFrom(local.Addr(), port), backlog, o)
		if err == syscall.EADDRINUSE {
			s.portTaken(port)
			return false
		}
		return true
	}); !ok {
		return nil, syscall.EADDRINUSE
	}
	return ln, err
}

// Accept takes a connection from the accept queue of a listening socket.
func (s *Stack) Accept(fd int) (int, netip.AddrPort, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return -1, netip.AddrPort{}, opError("accept", 0, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	nsk, err := s.accept(sk)
	if err != nil {
		return -1, netip.AddrPort{}, sk.opError("accept", netip.AddrPort{}, err)
	}
	return nsk.fd, sk.outAddr(nsk.conn.Tuple().Remote), nil
}

func (s *Stack) accept(sk *socket) (*socket, error) {
	if sk.typ != SockStream {
		return nil, syscall.EOPNOTSUPP
	}
	if sk.ln == nil {
		return nil, syscall.EINVAL
	}
	until := sk.timeo(false)
	for {
		if s.nfds >= s.opts.MaxFDs {
			// Like Linux, the connection stays in the accept queue.
			s.counters.Sock.FDLimit++
			return nil, syscall.EMFILE
		}
		c, err := sk.ln.Accept()
		if err == nil {
			nsk, _ := s.newSocket(SockStream) // cannot fail: checked above, under the lock
			nsk.opts = sk.opts
			// TCP_DEFER_ACCEPT is the listener's queue's, which Linux's
			// child starts without.
			nsk.opts.DeferAccept = 0
			// As Linux's sk_clone: the child has the listener's
			// SO_REUSEADDR and SO_REUSEPORT.
			nsk.reuseAddr, nsk.reusePort = sk.reuseAddr, sk.reusePort
			nsk.ttl, nsk.tos, nsk.pmtudisc, nsk.inq = sk.ttl, sk.tos, sk.pmtudisc, sk.inq
			nsk.rcvTimeo, nsk.sndTimeo = sk.rcvTimeo, sk.sndTimeo // as Linux's sk_clone_lock copies sk_rcvtimeo and sk_sndtimeo
			nsk.family = sk.family
			nsk.conn = c
			s.tcpLocal(nsk, c.Tuple().Local)
			c.SetNotify(nsk.notify)
			return nsk, nil
		}
		if err != syscall.EAGAIN || sk.nonblock {
			return nil, err
		}
		if err := sk.wait(false, until); err != nil {
			return nil, err
		}
		if sk.closed {
			return nil, syscall.EBADF
		}
	}
}

// Connect starts a connection (stream) or sets the default peer (datagram).
// On a non-blocking stream socket it returns EINPROGRESS; completion shows
// as PollOut and the result in [Stack.SockError].
func (s *Stack) Connect(fd int, addr netip.AddrPort) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return opError("connect", 0, netip.AddrPort{}, addr, err)
	}
	in, err := sk.inAddr(addr)
	if err == nil {
		err = s.connect(sk, sk.toHost(in))
	}
	return opError("connect", sk.typ, sk.local, addr, err)
}

// reap turns a socket whose connect failed, once the error has been
// reported, back into an unconnected one, as Linux does: it may connect
// again; it keeps its port (its address only if bound) but no longer
// holds them.
func (s *Stack) reap(sk *socket) {
	c := sk.conn
	if c == nil || c.State() != tcp.Closed || c.Synchronized() || c.Poll()&tcp.EventErr != 0 {
		return
	}
	s.disconnect(sk)
}

// disconnect drops a socket's closed connection: it may connect again,
// as Linux's tcp_disconnect leaves it. It keeps its port (its address
// only if bound) but no longer holds them.
func (s *Stack) disconnect(sk *socket) {
	sk.connecting = false
	c := sk.conn
	c.SetNotify(nil)
	sk.conn = nil
	sk.failedConnect = true
	if !sk.bound {
		s.tcpLocal(sk, netip.AddrPortFrom(sk.unspecified(), sk.local.Port()))
	}
}

func (s *Stack) connect(sk *socket, addr netip.AddrPort) error {
	switch sk.typ {
	case SockDgram:
		if !sk.local.IsValid() {
			if err := s.bind(sk, netip.AddrPort{}); err != nil {
				return err
			}
		}
		if n, _, ok := s.route(addr.Addr()); ok && !sk.broadcast && addr.Addr().Is4() &&
			(addr.Addr().As4() == [4]byte{255, 255, 255, 255} || addr.Addr() == n.bcast) {
			return syscall.EACCES // as Linux's ip4_datagram_connect
		}
		if sk.udp.local.Addr().IsUnspecified() {
			// Linux fixes the source address at connect (the route's).
			if n, _, ok := s.route(addr.Addr()); ok {
				s.udp.remove(sk.udp)
				src := sourceFor(n, addr.Addr())
				if addr.Addr().Is6() {
					src = n.source6(addr.Addr())
				}
				sk.udp.local = netip.AddrPortFrom(src, sk.udp.local.Port())
				sk.local = sk.udp.local
				s.udp.add(sk.udp)
			}
		}
		sk.udp.remote = addr
		sk.udp.err = 0
		if sk.cork != nil && !sk.v6() {
			// A pending corked datagram goes to the new peer: Linux's
			// connect rewrites the flow the cork will be sent on
			// (__ip4_datagram_connect routes into inet->cork.fl). On an
			// AF_INET6 socket it still goes where its first part went
			// (ip6_datagram_connect leaves the cork's flow alone).
			sk.corkTo = addr
		}
		return nil
	case SockICMP:
		if sk.icmp == nil {
			if err := s.bind(sk, netip.AddrPort{}); err != nil {
				return err
			}
		}
		sk.icmp.remote = addr.Addr()
		return nil
	}
	if sk.ln != nil {
		return syscall.EISCONN // as Linux answers on a listening socket
	}
	if !sk.connecting {
		// After EINPROGRESS the failure is this call's to report
		// (below), even once SO_ERROR has taken the error: Linux's
		// SS_CONNECTING socket then says ECONNABORTED.
		s.reap(sk)
	}
	if sk.conn == nil {
		local := sk.local
		if s.groupAddr(local.Addr()) {
			// Bound to a multicast or broadcast address: the route
			// chooses the source, which becomes the socket's address.
			local = netip.AddrPortFrom(sk.unspecified(), local.Port())
		}
		c, err := s.tcp.Connect(local, addr, &sk.opts)
		if err != nil {
			return err
		}
		sk.conn = c
		s.tcpLocal(sk, c.Tuple().Local)
		c.SetNotify(sk.notify)
		if sk.nonblock {
			sk.connecting = true
			return syscall.EINPROGRESS
		}
	} else if st := sk.conn.State(); st != tcp.SynSent && st != tcp.SynReceived {
		if !sk.connecting {
			return syscall.EISCONN // Linux's SS_CONNECTED, reset since or not
		}
		// The first connect since EINPROGRESS to find the handshake
		// over (Linux's SS_CONNECTING): 0 if it made a connection,
		// else its error, and the socket may connect again.
		sk.connecting = false
		if st != tcp.Closed {
			return nil
		}
		err := sk.conn.Err()
		if err == nil {
			err = syscall.ECONNABORTED
		}
		s.disconnect(sk)
		return err
	} else if sk.nonblock {
		return syscall.EALREADY
	}
	until := sk.timeo(true)
	for {
		st := sk.conn.State()
		if st != tcp.SynSent && st != tcp.SynReceived {
			err := sk.conn.Err()
			if err == nil && st == tcp.Closed {
				err = syscall.ECONNREFUSED
			}
			s.reap(sk)
			return err
		}
		if err := sk.wait(false, until); err != nil {
			if err == syscall.EAGAIN {
				sk.connecting = true
				return syscall.EINPROGRESS // SO_SNDTIMEO passed: connect goes on
			}
			return err
		}
		if sk.closed {
			return syscall.EBADF
		}
	}
}

// Send writes to a connected socket; it may write less than len(b).
func (s *Stack) Send(fd int, b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return 0, opError("write", 0, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	n, err := s.send(sk, b)
	return n, sk.opError("write", s.remoteOf(sk), err)
}

func (s *Stack) remoteOf(sk *socket) netip.AddrPort {
	switch {
	case sk.conn != nil:
		return sk.conn.Tuple().Remote
	case sk.udp != nil:
		return sk.udp.remote
	case sk.icmp != nil && sk.icmp.remote.IsValid():
		return netip.AddrPortFrom(sk.icmp.remote, 0)
	}
	return netip.AddrPort{}
}

func (s *Stack) send(sk *socket, b []byte) (int, error) {
	switch sk.typ {
	case SockDgram:
		if sk.udpCork || sk.cork != nil {
			return s.sendCorked(sk, b, 0, netip.AddrPort{})
		}
		if sk.udp == nil || !sk.udp.remote.IsValid() {
			return 0, syscall.EDESTADDRREQ
		}
		if e := sk.udp.err; e != 0 {
			sk.udp.err = 0
			return 0, e
		}
		return s.sendTo(sk, b, sk.udp.remote, "send")
	case SockICMP:
		if sk.icmp == nil || !sk.icmp.remote.IsValid() {
			return 0, syscall.EDESTADDRREQ
		}
		return s.sendTo(sk, b, netip.AddrPortFrom(sk.icmp.remote, 0), "send")
	}
	if sk.conn == nil {
		return 0, syscall.EPIPE // Linux's answer on a socket never connected, or listening
	}
	total := 0
	until := sk.timeo(true)
	sk.conn.SetMore(sk.more)
	sk.conn.SetUrgent(sk.oob)
	for {
		var n int
		var err error
		if sk.eor && sk.conn.EORFull() {
			err = syscall.EAGAIN // records wait unsent: as a full buffer
		} else {
			n, err = sk.conn.Write(b[total:])
		}
		total += n
		if total == len(b) {
			if sk.eor {
				sk.conn.MarkEOR()
			}
			return total, nil
		}
		if err != nil && err != syscall.EAGAIN {
			return total, err
		}
		if sk.nonblock {
			if total > 0 {
				return total, nil
			}
			return 0, syscall.EAGAIN
		}
		// A blocked writer wakes, as Linux's sk_stream_wait_memory does
		// from sk_stream_write_space, once the socket is writeable again
		// (tcp.Conn's EventOut), not at every ACK.
		for {
			if err := sk.wait(true, until); err != nil {
				if err == syscall.EAGAIN && total > 0 {
					return total, nil
				}
				return total, err
			}
			if sk.closed {
				return total, syscall.EBADF
			}
			if sk.conn.Poll()&(tcp.EventOut|tcp.EventErr) != 0 {
				break
			}
		}
	}
}

// SendTo sends a datagram to addr.
func (s *Stack) SendTo(fd int, b []byte, addr netip.AddrPort) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return 0, opError("write", 0, netip.AddrPort{}, addr, err)
	}
	if sk.typ == SockStream {
		n, err := s.send(sk, b)
		return n, sk.opError("write", addr, err)
	}
	if sk.typ == SockDgram && (sk.udpCork || sk.cork != nil) {
		n, err := s.sendCorked(sk, b, 0, addr)
		return n, sk.opError("write", addr, err)
	}
	n, err := s.sendTo(sk, b, addr, "sendto")
	return n, sk.opError("write", addr, err)
}

// sendTo sends one datagram; call names the socket call for the capture.
func (s *Stack) sendTo(sk *socket, b []byte, addr netip.AddrPort, call string) (int, error) {
	addr, err := sk.inAddr(addr)
	if err != nil {
		return 0, err
	}
	addr = sk.toHost(addr)
	if !sk.local.IsValid() {
		if err := s.bind(sk, netip.AddrPort{}); err != nil {
			return 0, err
		}
	}
	if sk.typ == SockICMP {
		// The payload is the echo data; the stack writes the header with
		// the socket's id, as Linux's ping sockets do. The sequence number
		// comes from the first two bytes when the caller gives at least
		// two, otherwise it counts up.
		if addr.Addr().Is6() {
			return s.sendEcho6(sk, b, addr.Addr(), call)
		}
		e := sk.icmp
		m := s.icmpScratch(wire.ICMPv4HeaderLen + len(b))
		seq := uint16(s.counters.ICMP.OutEchos + 1)
		wire.ICMPv4(m).Encode(&wire.ICMPv4Fields{Type: wire.ICMPEcho, ID: e.id, Seq: seq})
		copy(m[wire.ICMPv4HeaderLen:], b)
		wire.ICMPv4(m).SetChecksum()
		s.counters.ICMP.OutMsgs++
		s.counters.ICMP.OutEchos++
		src := sk.local.Addr()
		if src.IsUnspecified() {
			src = netip.Addr{}
		}
		why := call + "(" + strconv.Itoa(sk.fd) + ") → echo request seq " + strconv.Itoa(int(seq))
		if err := s.ipSendTOS(sk.ipTTL(), sk.tos, src, addr.Addr(), wire.ProtoICMP, m, sk.dfPolicy(), why); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	why := ""
	if s.opts.Tap != nil {
		why = call + "(" + strconv.Itoa(sk.fd) + ", " + strconv.Itoa(len(b)) + " B)"
	}
	if err := s.udpSend(sk.udp, addr, b, why); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Recv reads from a socket. It returns 0, nil at end of stream.
func (s *Stack) Recv(fd int, b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return 0, opError("read", 0, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	n, _, err := s.recv(sk, b)
	if err == io.EOF {
		return 0, nil
	}
	return n, sk.opError("read", s.remoteOf(sk), err)
}

// recv reads into b; at end of stream it returns io.EOF.
func (s *Stack) recv(sk *socket, b []byte) (int, netip.AddrPort, error) {
	return s.recvFlags(sk, b, 0)
}

// recvFlags reads into b as recvmsg with flags does; at end of stream it
// returns io.EOF.
func (s *Stack) recvFlags(sk *socket, b []byte, flags MsgFlags) (int, netip.AddrPort, error) {
	until := sk.timeo(false)
	nonblock := sk.nonblock || flags&MsgDontWait != 0
	peek := flags&MsgPeek != 0
	// What a TCP read waits for, Linux's sock_rcvlowat: the whole
	// length under MSG_WAITALL, else SO_RCVLOWAT's bytes (one by
	// default), at most the length. A blocking read copies what is
	// there, then waits for the rest, peeking too (MSG_PEEK: it looks
	// again from the start); a timeout returns what it has.
	target := 1
	if sk.conn != nil {
		if flags&MsgWaitAll != 0 {
			target = len(b)
		} else {
			target = min(sk.conn.RcvLowat(), len(b))
		}
	}
	waited := false
	total := 0 // bytes already read; peeked, for a peek that waits
	for {
		var n int
		var from netip.AddrPort
		var err error
		switch {
		case sk.conn != nil:
			from = sk.conn.Tuple().Remote
			switch {
			case waited && !sk.conn.ReadReady():
				// Woken for something else, or by data short of
				// SO_RCVLOWAT, which does not wake Linux's reader
				// (tcp_data_ready): wait on.
				err = syscall.EAGAIN
			case peek:
				n, err = sk.conn.Peek(b)
				total = 0 // a peek looks from the start again
				if !nonblock && n > 0 && n < target && sk.conn.MoreToRead() {
					total, n, err = n, 0, syscall.EAGAIN
				}
			case total > 0:
				n, err = sk.conn.ReadMore(b[total:])
			default:
				n, err = sk.conn.Read(b[total:])
			}
			if n > 0 || (len(b) == 0 && err == nil) {
				total += n
				if total < target && !peek {
					continue // a peek that waits went by EAGAIN above
				}
				return total, from, nil
			}
			if total > 0 && !peek && (err != syscall.EAGAIN || nonblock) {
				// MSG_WAITALL cut short by EOF or an error: what was
				// read is the result; the rest waits for the next call.
				return total, from, nil
			}
		case sk.udp != nil:
			if e := sk.udp.err; e != 0 {
				sk.udp.err = 0
				return 0, from, e
			}
			var d dgram
			var ok bool
			if peek {
				d, ok = sk.udp.queue.peek()
			} else {
				d, ok = sk.udp.queue.pop()
			}
			if !ok {
				err = syscall.EAGAIN
				if sk.udp.shutRD {
					err = io.EOF
				}
				break
			}
			n, from = copy(b, d.data), d.from
			if !peek {
				s.dgrams.put(d.data)
				// Linux's udp_recvmsg counts a datagram in InDatagrams
				// when it is read, not peeked, in its own family's group
				// (6.18: two datagrams in, one peeked and one read: +1).
				if d.from.Addr().Unmap().Is4() {
					s.counters.UDP.InDatagrams++
				} else {
					s.counters.UDP6.InDatagrams++
				}
			}
		case sk.icmp != nil:
			d, ok := sk.icmp.queue.pop()
			if !ok {
				err = syscall.EAGAIN
				break
			}
			n, from = copy(b, d.data), d.from
			s.dgrams.put(d.data)
		case sk.typ == SockStream:
			return 0, from, syscall.ENOTCONN
		default:
			err = syscall.EAGAIN
		}
		if err != syscall.EAGAIN || nonblock {
			return n, from, err
		}
		waited = true
		if err := sk.wait(false, until); err != nil {
			if total > 0 && peek {
				total, _ = sk.conn.Peek(b) // what is there now
			}
			if total > 0 {
				return total, from, nil
			}
			return 0, from, err
		}
		if sk.closed {
			return total, from, syscall.EBADF
		}
	}
}

// MsgFlags are the flags of [Stack.RecvMsg] and [Stack.SendMsg], as in
// recv(2) and send(2).
type MsgFlags int

const (
	MsgPeek     MsgFlags = syscall.MSG_PEEK     // read without consuming
	MsgDontWait MsgFlags = syscall.MSG_DONTWAIT // this call does not block
	MsgWaitAll  MsgFlags = syscall.MSG_WAITALL  // a stream read waits for the whole buffer (or EOF, an error, a timeout)
	MsgOOB      MsgFlags = syscall.MSG_OOB      // TCP: send: the last byte is urgent (URG); recv: read the urgent byte, never waiting
	MsgNoSignal MsgFlags = syscall.MSG_NOSIGNAL // accepted: stacklab raises no SIGPIPE, it returns EPIPE either way
	MsgMore     MsgFlags = 0x8000               // more data follows: TCP's partial last segment waits for the next send without it; UDP's parts wait as one datagram (MSG_MORE)
	MsgEOR      MsgFlags = syscall.MSG_EOR      // TCP: the data ends a record; later data never joins its last segment; UDP: ignored (MSG_EOR)
)

// RecvMsg reads from a socket as recvfrom(2) with flags: MsgPeek,
// MsgDontWait, MsgWaitAll. It returns the source (the peer, for a
// stream) and 0, nil at end of stream.
func (s *Stack) RecvMsg(fd int, b []byte, flags MsgFlags) (int, netip.AddrPort, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return 0, netip.AddrPort{}, opError("read", 0, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	n, info, err := s.recvMsg(sk, b, flags)
	return n, info.From, err
}

// MsgInfo is what [Stack.RecvMsgInfo] returns beside the data, as
// recvmsg(2) does in msg_name and its ancillary data.
type MsgInfo struct {
	From netip.AddrPort // the source (the peer, for a stream)
	// Inq is TCP_CM_INQ: on a TCP socket with TCPInq set, the bytes
	// left to read after this call (1 when none are left but the peer
	// has closed, as Linux's tcp_inq_hint); -1 when not reported.
	Inq int
}

// RecvMsgInfo is [Stack.RecvMsg] with the ancillary data of recvmsg(2).
func (s *Stack) RecvMsgInfo(fd int, b []byte, flags MsgFlags) (int, MsgInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return 0, MsgInfo{Inq: -1}, opError("read", 0, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	return s.recvMsg(sk, b, flags)
}

func (s *Stack) recvMsg(sk *socket, b []byte, flags MsgFlags) (int, MsgInfo, error) {
	info := MsgInfo{Inq: -1}
	if flags&^(MsgPeek|MsgDontWait|MsgWaitAll|MsgNoSignal|MsgOOB) != 0 {
		return 0, info, sk.opError("read", netip.AddrPort{}, syscall.EOPNOTSUPP)
	}
	if flags&MsgOOB != 0 && sk.typ == SockStream {
		n, err := s.recvOOB(sk, b, flags&MsgPeek != 0)
		if err == nil && sk.conn != nil {
			info.From = sk.outAddr(sk.conn.Tuple().Remote)
		}
		return n, info, sk.opError("read", info.From, err)
	}
	n, from, err := s.recvFlags(sk, b, flags)
	info.From = sk.outAddr(from)
	if err == io.EOF {
		n, err = 0, nil
	}
	if err == nil && sk.inq && sk.conn != nil {
		info.Inq = sk.conn.InqHint()
	}
	return n, info, sk.opError("read", info.From, err)
}

// recvOOB reads a TCP socket's urgent byte (recv with MSG_OOB; Linux's
// tcp_recvmsg and tcp_recv_urg): never waiting; on a listener ENOTCONN,
// on a socket with none EINVAL. (A datagram socket ignores the flag, as
// Linux's.)
func (s *Stack) recvOOB(sk *socket, b []byte, peek bool) (int, error) {
	switch {
	case sk.conn != nil:
		return sk.conn.ReadOOB(b, peek)
	case sk.ln != nil:
		return 0, syscall.ENOTCONN
	}
	return 0, syscall.EINVAL
}

// SendMsg sends as sendto(2) with flags: MsgDontWait, MsgNoSignal. A
// valid to on a stream socket is ignored, as Linux does; on a datagram
// socket it is the destination (invalid means the connected peer).
func (s *Stack) SendMsg(fd int, b []byte, flags MsgFlags, to netip.AddrPort) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return 0, opError("write", 0, netip.AddrPort{}, to, err)
	}
	allowed := MsgDontWait | MsgNoSignal
	if sk.typ == SockStream || sk.typ == SockDgram {
		allowed |= MsgMore | MsgEOR // UDP: MSG_EOR is ignored, as Linux's udp_sendmsg does
	}
	if sk.typ == SockStream {
		allowed |= MsgOOB // urgent data: the last byte sent
	}
	if flags&^allowed != 0 {
		return 0, sk.opError("write", to, syscall.EOPNOTSUPP)
	}
	if sk.typ == SockDgram && len(b) > 0xFFFF && !sk.v6() {
		// Linux's udp_sendmsg refuses a length no datagram can carry
		// before it looks for a destination (udpv6_sendmsg looks for
		// the destination first).
		return 0, sk.opError("write", to, syscall.EMSGSIZE)
	}
	if sk.typ == SockDgram && (flags&MsgMore != 0 || sk.udpCork || sk.cork != nil) {
		n, err := s.sendCorked(sk, b, flags, to)
		return n, sk.opError("write", to, err)
	}
	sk.more, sk.eor, sk.oob = flags&MsgMore != 0, flags&MsgEOR != 0, flags&MsgOOB != 0
	defer func() { sk.more, sk.eor, sk.oob = false, false, false }()
	nb := sk.nonblock
	if flags&MsgDontWait != 0 {
		sk.nonblock = true
	}
	var n int
	if to.IsValid() && sk.typ != SockStream {
		n, err = s.sendTo(sk, b, to, "sendto")
	} else {
		n, err = s.send(sk, b)
	}
	sk.nonblock = nb
	return n, sk.opError("write", to, err)
}

// maxUDPPayload is the largest datagram to dst: IPv4 carries 65535 − 20
// − 8 bytes, IPv6 65535 − 8 (its payload length leaves out its header);
// corked data beyond it fails with EMSGSIZE, as Linux's ip_append_data
// and ip6_append_data.
func maxUDPPayload(dst netip.AddrPort) int {
	if a := dst.Addr(); a.Is6() && !a.Is4In6() {
		return 0xFFFF - wire.UDPHeaderLen
	}
	return 0xFFFF - wire.IPv4MinHeaderLen - wire.UDPHeaderLen
}

// sendCorked sends on a UDP socket with MSG_MORE, or after one (Linux's
// UDP corking, udp_sendmsg's pending frame): data sent with MSG_MORE waits
// in one pending datagram, to the destination of its first part; the next
// send without MSG_MORE appends its data and sends the whole datagram.
// Each call returns its own length. A part that would make the datagram
// too big fails with EMSGSIZE and drops it; so does closing the socket.
// Under UDP_CORK every send is a part, and clearing the option sends the
// datagram ([Stack.flushCork]).
func (s *Stack) sendCorked(sk *socket, b []byte, flags MsgFlags, to netip.AddrPort) (int, error) {
	if sk.cork == nil {
		dst := to
		if !dst.IsValid() {
			if sk.udp == nil || !sk.udp.remote.IsValid() {
				return 0, syscall.EDESTADDRREQ
			}
			dst = sk.udp.remote
		}
		sk.cork, sk.corkTo = []byte{}, dst
	}
	if len(sk.cork)+len(b) > maxUDPPayload(sk.corkTo) {
		// Linux drops the pending datagram with the part that failed
		// (udp_flush_pending_frames).
		sk.cork, sk.corkTo = nil, netip.AddrPort{}
		return 0, syscall.EMSGSIZE
	}
	sk.cork = append(sk.cork, b...)
	if flags&MsgMore != 0 || sk.udpCork {
		return len(b), nil
	}
	if err := s.flushCork(sk); err != nil {
		return 0, err
	}
	return len(b), nil
}

// flushCork sends the socket's pending UDP datagram, with the lock held.
func (s *Stack) flushCork(sk *socket) error {
	data, dst := sk.cork, sk.corkTo
	sk.cork, sk.corkTo = nil, netip.AddrPort{}
	_, err := s.sendTo(sk, data, dst, "send")
	return err
}

// RecvFrom reads one datagram and its source.
func (s *Stack) RecvFrom(fd int, b []byte) (int, netip.AddrPort, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return 0, netip.AddrPort{}, opError("read", 0, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	n, from, err := s.recv(sk, b)
	from = sk.outAddr(from)
	if err == io.EOF {
		return 0, from, nil
	}
	return n, from, sk.opError("read", from, err)
}

// Shutdown closes one or both directions of a stream (ShutRD, ShutWR, ShutRDWR).
func (s *Stack) Shutdown(fd, how int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return opError("shutdown", 0, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	if how != ShutRD && how != ShutWR && how != ShutRDWR {
		return opError("shutdown", sk.typ, sk.local, netip.AddrPort{}, syscall.EINVAL)
	}
	switch {
	case sk.ln != nil:
		// Linux: shutting the reading side of a listener stops it
		// (the socket may listen again); the writing side is a no-op.
		if how != ShutWR {
			sk.ln.SetNotify(nil)
			sk.ln.Close()
			sk.ln = nil
			s.portMaybeFree(sk.local.Port())
			sk.notify()
		}
		return nil
	case sk.udp != nil && sk.udp.remote.IsValid():
		if how != ShutWR {
			sk.udp.shutRD = true
			sk.notify()
		}
		return nil
	case sk.conn == nil:
		return opError("shutdown", sk.typ, sk.local, netip.AddrPort{}, syscall.ENOTCONN)
	}
	if how == ShutRD || how == ShutRDWR {
		if err := sk.conn.CloseRead(); err != nil {
			return opError("shutdown", sk.typ, sk.local, s.remoteOf(sk), err)
		}
	}
	if how == ShutWR || how == ShutRDWR {
		if err := sk.conn.CloseWrite(); err != nil {
			return opError("shutdown", sk.typ, sk.local, s.remoteOf(sk), err)
		}
	}
	return nil
}

// Close releases the descriptor. A TCP connection goes on closing in the
// background (FIN, TIME_WAIT) unless linger 0 makes it abort with RST.
func (s *Stack) Close(fd int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookupAny(fd)
	if err != nil {
		return opError("close", 0, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	s.closeSocket(sk)
	return nil
}

func (s *Stack) closeSocket(sk *socket) {
	s.freeFD(sk.fd)
	sk.closed = true
	for _, it := range sk.epItems {
		it.ep.remove(it)
	}
	sk.epItems = nil
	switch {
	case sk.ep != nil:
		sk.ep.closeAll()
	case sk.conn != nil:
		sk.conn.SetNotify(nil)
		sk.conn.SetReuseAddr(sk.reuseAddr) // what its TIME_WAIT keeps
		sk.conn.Close()
	case sk.ln != nil:
		sk.ln.SetNotify(nil)
		sk.ln.Close()
	case sk.udp != nil:
		s.udp.remove(sk.udp)
	case sk.icmp != nil:
		delete(s.icmp.byID, sk.icmp.id)
	}
	sk.notify()
	sk.watchers = nil
}

// SetNonblock switches the descriptor between blocking and non-blocking.
func (s *Stack) SetNonblock(fd int, nonblocking bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return opError("fcntl", 0, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	sk.nonblock = nonblocking
	return nil
}

// SetCongestion chooses the socket's congestion controller ("newreno",
// "cubic"), like TCP_CONGESTION.
func (s *Stack) SetCongestion(fd int, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return opError("setsockopt", 0, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	if _, err := cc.New(name, 1460); err != nil {
		// The name is checked now, not at connect, as Linux does.
		return opError("setsockopt", sk.typ, sk.local, netip.AddrPort{}, syscall.ENOENT)
	}
	sk.opts.Congestion = name
	if sk.conn != nil {
		return opError("setsockopt", sk.typ, sk.local, netip.AddrPort{}, sk.conn.SetCongestion(name))
	}
	return nil
}

// SetRecovery chooses the socket's loss-recovery algorithm ("rack",
// "sack" or "newreno"; see tcp.RecoveryNames). Linux has no such
// option (its sysctl tcp_recovery is per namespace); it lets a scenario
// compare the algorithms on one stack.
func (s *Stack) SetRecovery(fd int, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return opError("setsockopt", 0, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	if !slices.Contains(tcp.RecoveryNames, name) {
		return opError("setsockopt", sk.typ, sk.local, netip.AddrPort{}, syscall.ENOENT)
	}
	sk.opts.Recovery = name
	if sk.conn != nil {
		return opError("setsockopt", sk.typ, sk.local, netip.AddrPort{}, sk.conn.SetRecovery(name))
	}
	return nil
}

// SockError returns and clears the socket's pending error (SO_ERROR).
func (s *Stack) SockError(fd int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return opError("getsockopt", 0, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	var e error
	switch {
	case sk.conn != nil:
		e = sk.conn.Err()
	case sk.udp != nil && sk.udp.err != 0:
		e = sk.udp.err
		sk.udp.err = 0
	}
	return opError("getsockopt", sk.typ, sk.local, s.remoteOf(sk), e)
}

// Poll returns the descriptor's readiness now; a descriptor that is not
// open reports PollNval, as poll(2) does.
func (s *Stack) Poll(fd int) PollEvents {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookupAny(fd)
	if err != nil {
		return PollNval
	}
	return sk.pollUser()
}

// Notify calls fn whenever the readiness of fd (a socket or an epoll
// instance) may have changed, until cancel is called. fn runs with the
// stack's lock held: it must not call into the stack (schedule the work
// on the clock instead).
func (s *Stack) Notify(fd int, fn func()) (cancel func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookupAny(fd)
	if err != nil {
		return func() {}
	}
	id := sk.addWatcher(fn)
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		sk.removeWatcher(id)
	}
}

// Info describes the socket.
func (s *Stack) Info(fd int) (SocketInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return SocketInfo{FD: fd}, opError("getsockname", 0, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	in := SocketInfo{FD: fd, Type: sk.typ, Local: sk.local, Remote: s.remoteOf(sk), Nonblocking: sk.nonblock}
	switch {
	case sk.conn != nil:
		in.State = sk.conn.State().String()
	case sk.ln != nil:
		in.State = "LISTEN"
	case sk.typ == SockStream:
		in.State = "CLOSED"
	}
	return in, nil
}

// TCPInfo returns the connection's TCP internals.
func (s *Stack) TCPInfo(fd int) (TCPInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return TCPInfo{}, opError("getsockopt", 0, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	if sk.conn == nil {
		return TCPInfo{}, opError("getsockopt", sk.typ, sk.local, netip.AddrPort{}, syscall.ENOTCONN)
	}
	return tcpInfo(sk.conn.Info()), nil
}
