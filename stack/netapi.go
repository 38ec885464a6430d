package stack

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"
)

// The Go socket API: net.Conn, net.Listener and net.PacketConn over the
// stack, with the standard library's contracts for concurrency, Close and
// deadlines. Blocking calls wait on the stack's clock, so these types are
// for real time (RealClock); under the simulator use the descriptor facade.

// netErr converts an error from the core to what net's users expect: a
// closed socket is net.ErrClosed, a deadline os.ErrDeadlineExceeded, both
// wrapped in *net.OpError like every other errno.
func netErr(op string, sk *socket, remote netip.AddrPort, err error) error {
	switch {
	case err == nil:
		return nil
	case err == io.EOF:
		return io.EOF
	case sk.closed && errors.Is(err, syscall.EBADF):
		err = net.ErrClosed
	}
	return opError(op, sk.typ, sk.local, remote, err)
}

// sockConn is what the connection types share: a socket, the peer, and
// the net.Conn methods that do not depend on the protocol.
type sockConn struct {
	s      *Stack
	sk     *socket
	remote netip.AddrPort
}

// check returns the error for a call on a closed socket or past its
// deadline, or nil. The lock is held.
func (c *sockConn) check(op string, write bool) error {
	if c.sk.closed {
		return netErr(op, c.sk, c.remote, net.ErrClosed)
	}
	if c.sk.expired(write) {
		return netErr(op, c.sk, c.remote, os.ErrDeadlineExceeded)
	}
	return nil
}

// Write writes all of b (a stream) or sends b as one datagram to the
// connected peer, unless an error occurs.
func (c *sockConn) Write(b []byte) (int, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if err := c.check("write", true); err != nil {
		return 0, err
	}
	n, err := c.s.send(c.sk, b)
	return n, netErr("write", c.sk, c.remote, err)
}

// Close closes the socket. A TCP connection closes in order (FIN), or
// with RST when unread data remains or linger is 0.
func (c *sockConn) Close() error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.sk.closed {
		return netErr("close", c.sk, c.remote, net.ErrClosed)
	}
	c.s.closeSocket(c.sk)
	return nil
}

// SetDeadline sets the read and write deadlines.
func (c *sockConn) SetDeadline(t time.Time) error { return c.setDeadline(t, true, true) }

// SetReadDeadline sets the deadline for reads, pending ones included.
func (c *sockConn) SetReadDeadline(t time.Time) error { return c.setDeadline(t, true, false) }

// SetWriteDeadline sets the deadline for writes, pending ones included.
func (c *sockConn) SetWriteDeadline(t time.Time) error { return c.setDeadline(t, false, true) }

func (c *sockConn) setDeadline(t time.Time, r, w bool) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return setDeadline(c.sk, t, r, w)
}

// TCPConn is a TCP connection of a [Stack]; it implements net.Conn.
type TCPConn struct {
	sockConn
}

var _ net.Conn = (*TCPConn)(nil)

// Read reads data from the connection. It returns io.EOF after the peer's
// FIN once the data before it has been read.
func (c *TCPConn) Read(b []byte) (int, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if err := c.check("read", false); err != nil {
		return 0, err
	}
	if len(b) == 0 {
		return 0, nil
	}
	n, _, err := c.s.recv(c.sk, b)
	return n, netErr("read", c.sk, c.remote, err)
}

// CloseWrite shuts down the sending side (a FIN); reads go on.
func (c *TCPConn) CloseWrite() error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.sk.closed {
		return netErr("close", c.sk, c.remote, net.ErrClosed)
	}
	return netErr("close", c.sk, c.remote, c.sk.conn.CloseWrite())
}

// CloseRead shuts down the receiving side.
func (c *TCPConn) CloseRead() error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.sk.closed {
		return netErr("close", c.sk, c.remote, net.ErrClosed)
	}
	return netErr("close", c.sk, c.remote, c.sk.conn.CloseRead())
}

// LocalAddr returns the local address as a *net.TCPAddr.
func (c *TCPConn) LocalAddr() net.Addr { return net.TCPAddrFromAddrPort(c.sk.local) }

// RemoteAddr returns the peer's address as a *net.TCPAddr.
func (c *TCPConn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.remote) }

func setDeadline(sk *socket, t time.Time, r, w bool) error {
	if sk.closed {
		return net.ErrClosed
	}
	if r {
		sk.rdeadline = t
	}
	if w {
		sk.wdeadline = t
	}
	sk.notify() // blocked calls look at the new deadline
	return nil
}

// SetNoDelay turns Nagle's algorithm off (true) or on.
func (c *TCPConn) SetNoDelay(on bool) error {
	v := 0
	if on {
		v = 1
	}
	return c.s.SetSockopt(c.sk.fd, TCPNoDelay, v)
}

// FD returns the connection's descriptor in the stack's facade, for
// the options and calls net.Conn does not carry ([Stack.SetSockopt],
// [Stack.TCPInfo], [Stack.EpollCtl]), as SyscallConn does for Go's.
func (c *TCPConn) FD() int { return c.sk.fd }

// SetKeepAlive turns keepalive probes on or off (SO_KEEPALIVE).
func (c *TCPConn) SetKeepAlive(on bool) error {
	return c.setopt(SoKeepAlive, b2i(on))
}

// SetKeepAlivePeriod sets the idle time before the first probe and the
// interval between probes, as Go's does (whole seconds, at least 1).
func (c *TCPConn) SetKeepAlivePeriod(d time.Duration) error {
	sec := max(int((d+time.Second-1)/time.Second), 1)
	if err := c.setopt(TCPKeepIdle, sec); err != nil {
		return err
	}
	return c.setopt(TCPKeepIntvl, sec)
}

// SetKeepAliveConfig sets keepalive as Go's does: a zero field leaves
// that setting alone, a negative one keeps the system default; Enable
// off turns probes off.
func (c *TCPConn) SetKeepAliveConfig(cfg net.KeepAliveConfig) error {
	if err := c.SetKeepAlive(cfg.Enable); err != nil || !cfg.Enable {
		return err
	}
	cf := c.s.tcp.Config()
	set := func(opt SockOpt, v, def int) error {
		switch {
		case v == 0:
			return nil
		case v < 0:
			v = def
		}
		return c.setopt(opt, v)
	}
	if err := set(TCPKeepIdle, int(cfg.Idle/time.Second), int(cf.KeepIdle/time.Second)); err != nil {
		return err
	}
	if err := set(TCPKeepIntvl, int(cfg.Interval/time.Second), int(cf.KeepInterval/time.Second)); err != nil {
		return err
	}
	return set(TCPKeepCnt, cfg.Count, cf.KeepCount)
}

// SetLinger sets SO_LINGER: a negative sec closes in the background
// (the default), 0 makes Close reset the connection, a positive value
// is kept as Linux does.
func (c *TCPConn) SetLinger(sec int) error { return c.setopt(SoLinger, sec) }

// SetReadBuffer sets the receive buffer (SO_RCVBUF; doubled as Linux does).
func (c *TCPConn) SetReadBuffer(bytes int) error { return c.setopt(SoRcvBuf, bytes) }

// SetWriteBuffer sets the send buffer (SO_SNDBUF; doubled as Linux does).
func (c *TCPConn) SetWriteBuffer(bytes int) error { return c.setopt(SoSndBuf, bytes) }

// ReadFrom copies r into the connection until EOF (io.ReaderFrom).
func (c *TCPConn) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{c}, r)
}

// WriteTo copies the connection into w until EOF (io.WriterTo).
func (c *TCPConn) WriteTo(w io.Writer) (int64, error) {
	return io.Copy(w, struct{ io.Reader }{c})
}

// setopt is SetSockopt on the connection, its error in net's form.
func (c *TCPConn) setopt(opt SockOpt, v int) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.sk.closed {
		return netErr("set", c.sk, c.remote, net.ErrClosed)
	}
	return netErr("set", c.sk, c.remote, c.s.setSockopt(c.sk, opt, v))
}

// Info returns the connection's TCP internals.
func (c *TCPConn) Info() TCPInfo {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return tcpInfo(c.sk.conn.Info())
}

// TCPListener is a listening TCP socket; it implements net.Listener.
type TCPListener struct {
	s  *Stack
	sk *socket
}

var _ net.Listener = (*TCPListener)(nil)

// ListenTCP listens on addr (a zero address means every address of the
// stack; a zero port an ephemeral one) with the given accept backlog
// (0 means 128).
func (s *Stack) ListenTCP(addr netip.AddrPort, backlog int) (*TCPListener, error) {
	if backlog <= 0 {
		backlog = 128
	}
	fd, err := s.SocketFamily(familyFor(addr.Addr()), SockStream)
	if err != nil {
		return nil, err
	}
	if err := s.Bind(fd, addr); err != nil {
		s.Close(fd)
		return nil, err
	}
	if err := s.Listen(fd, backlog); err != nil {
		s.Close(fd)
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return &TCPListener{s: s, sk: s.fds[fd]}, nil
}

// Accept waits for and returns the next connection.
func (l *TCPListener) Accept() (net.Conn, error) {
	c, err := l.AcceptTCP()
	if err != nil {
		return nil, err // a true nil, never a typed nil in net.Conn
	}
	return c, nil
}

// AcceptTCP is Accept returning the *TCPConn.
func (l *TCPListener) AcceptTCP() (*TCPConn, error) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if l.sk.closed {
		return nil, netErr("accept", l.sk, netip.AddrPort{}, net.ErrClosed)
	}
	nsk, err := l.s.accept(l.sk)
	if err != nil {
		return nil, netErr("accept", l.sk, netip.AddrPort{}, err)
	}
	return &TCPConn{sockConn{s: l.s, sk: nsk, remote: nsk.conn.Tuple().Remote}}, nil
}

// Close stops listening; queued connections not yet accepted are reset.
func (l *TCPListener) Close() error {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if l.sk.closed {
		return netErr("close", l.sk, netip.AddrPort{}, net.ErrClosed)
	}
	l.s.closeSocket(l.sk)
	return nil
}

// FD returns the listener's descriptor, for the descriptor facade
// ([Stack.PollFDs], [Stack.EpollCtl], options).
func (l *TCPListener) FD() int { return l.sk.fd }

// Addr returns the listening address as a *net.TCPAddr.
func (l *TCPListener) Addr() net.Addr { return net.TCPAddrFromAddrPort(l.sk.local) }

// SetDeadline sets a deadline for Accept.
func (l *TCPListener) SetDeadline(t time.Time) error {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	return setDeadline(l.sk, t, true, false)
}

// DialTCP connects to raddr from laddr (zero for any), waiting until the
// handshake ends or ctx is done.
func (s *Stack) DialTCP(ctx context.Context, laddr, raddr netip.AddrPort) (*TCPConn, error) {
	fd, err := s.SocketFamily(familyFor(raddr.Addr()), SockStream)
	if err != nil {
		return nil, err
	}
	if laddr.IsValid() {
		if err := s.Bind(fd, laddr); err != nil {
			s.Close(fd)
			return nil, err
		}
	}
	return s.dialFD(ctx, fd, raddr)
}

// dialFD connects the stream socket fd to raddr, waiting until the
// handshake ends or ctx is done; on failure fd is closed.
func (s *Stack) dialFD(ctx context.Context, fd int, raddr netip.AddrPort) (*TCPConn, error) {
	s.mu.Lock()
	sk := s.fds[fd]
	raddr = sk.toHost(raddr) // ":80" dials this host, as Go's net does
	var err error
	if d, ok := ctx.Deadline(); ok {
		sk.rdeadline = d
	}
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		sk.notify()
		s.mu.Unlock()
	})
	err = s.connectCtx(ctx, sk, raddr)
	stop()
	sk.rdeadline = time.Time{}
	if err != nil {
		if sk.conn != nil {
			sk.conn.Abort()
		}
		s.closeSocket(sk)
		s.mu.Unlock()
		if _, ok := ctx.Deadline(); ok && errors.Is(err, os.ErrDeadlineExceeded) {
			// The socket's deadline is ctx's and may fire a moment
			// before ctx reports it.
			err = context.DeadlineExceeded
		} else if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			err = ctx.Err()
		}
		return nil, opError("dial", SockStream, sk.local, raddr, err)
	}
	s.mu.Unlock()
	return &TCPConn{sockConn{s: s, sk: sk, remote: raddr}}, nil
}

// connectCtx is connect that also gives up when ctx is done.
func (s *Stack) connectCtx(ctx context.Context, sk *socket, raddr netip.AddrPort) error {
	sk.nonblock = true
	err := s.connect(sk, raddr)
	sk.nonblock = false
	if err != syscall.EINPROGRESS {
		return err
	}
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// Poll the attempt without blocking in connect, whose own wait
		// would not see ctx; wait here, where ctx's AfterFunc wakes us.
		sk.nonblock = true
		err := s.connect(sk, raddr)
		sk.nonblock = false
		if err == nil || err == syscall.EISCONN {
			return nil
		}
		if err != syscall.EALREADY && err != syscall.EINPROGRESS {
			return err
		}
		if err := sk.wait(false, time.Time{}); err != nil {
			return err
		}
	}
}

// DialContext dials address on network as a Dialer with no Control
// and no local address does (see Dialer.DialContext): numeric addresses
// of either family or names from Options.Hosts, happy eyeballs across
// the families. It fits net/http's Transport.DialContext.
func (s *Stack) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return (&Dialer{Stack: s}).DialContext(ctx, network, address)
}

// UDPConn is a UDP socket; it implements net.PacketConn, and net.Conn
// when connected (DialUDP).
type UDPConn struct {
	sockConn
}

// FD returns the socket's descriptor in the stack's facade, for the
// options and calls net.PacketConn does not carry ([Stack.SetSockopt]:
// SO_BROADCAST, UDP_CORK…; [Stack.InQ], [Stack.EpollCtl]), as
// SyscallConn does for Go's.
func (c *UDPConn) FD() int { return c.sk.fd }

var (
	_ net.PacketConn = (*UDPConn)(nil)
	_ net.Conn       = (*UDPConn)(nil)
)

// ListenUDP opens a UDP socket bound to addr.
func (s *Stack) ListenUDP(addr netip.AddrPort) (*UDPConn, error) {
	return s.listenUDP(familyFor(addr.Addr()), addr)
}

func (s *Stack) listenUDP(f Family, addr netip.AddrPort) (*UDPConn, error) {
	fd, err := s.SocketFamily(f, SockDgram)
	if err != nil {
		return nil, err
	}
	if err := s.Bind(fd, addr); err != nil {
		s.Close(fd)
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return &UDPConn{sockConn{s: s, sk: s.fds[fd]}}, nil
}

// DialUDP opens a UDP socket connected to raddr: it receives only from
// raddr, and an ICMP port unreachable makes the next call fail with
// ECONNREFUSED.
func (s *Stack) DialUDP(laddr, raddr netip.AddrPort) (*UDPConn, error) {
	c, err := s.listenUDP(familyFor(raddr.Addr()), laddr)
	if err != nil {
		return nil, err
	}
	if err := s.Connect(c.sk.fd, raddr); err != nil {
		c.Close()
		return nil, err
	}
	c.remote = c.sk.toHost(raddr) // the peer Connect took: this host for 0.0.0.0 or ::
	return c, nil
}

// ReadFrom reads one datagram.
func (c *UDPConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := c.ReadFromUDPAddrPort(b)
	if err != nil {
		return 0, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// ReadFromUDPAddrPort reads one datagram and returns its source.
func (c *UDPConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if err := c.check("read", false); err != nil {
		return 0, netip.AddrPort{}, err
	}
	n, from, err := c.s.recv(c.sk, b)
	if err != nil {
		return 0, netip.AddrPort{}, netErr("read", c.sk, c.remote, err)
	}
	return n, from, nil
}

// ReadMsgUDP reads one datagram as Go's does. The stack delivers no
// ancillary data, so oobn is always 0 and flags 0.
func (c *UDPConn) ReadMsgUDP(b, oob []byte) (n, oobn, flags int, addr *net.UDPAddr, err error) {
	n, from, err := c.ReadFromUDPAddrPort(b)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	return n, 0, 0, net.UDPAddrFromAddrPort(from), nil
}

// WriteTo sends one datagram to addr (a *net.UDPAddr). On a connected
// socket (DialUDP) it fails with net.ErrWriteToConnected, as Go's does.
func (c *UDPConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, &net.OpError{Op: "write", Net: "udp4", Addr: addr, Err: syscall.EINVAL}
	}
	return c.WriteToUDPAddrPort(b, ua.AddrPort())
}

// WriteToUDPAddrPort sends one datagram to ap.
func (c *UDPConn) WriteToUDPAddrPort(b []byte, ap netip.AddrPort) (int, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.sk.closed {
		return 0, netErr("write", c.sk, c.remote, net.ErrClosed)
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if c.remote.IsValid() {
		return 0, opError("write", c.sk.typ, c.sk.local, ap, net.ErrWriteToConnected)
	}
	if c.sk.expired(true) {
		return 0, netErr("write", c.sk, ap, os.ErrDeadlineExceeded)
	}
	n, err := c.s.sendTo(c.sk, b, ap, "sendto")
	return n, netErr("write", c.sk, ap, err)
}

// Read reads a datagram from the connected peer.
func (c *UDPConn) Read(b []byte) (int, error) {
	n, _, err := c.ReadFrom(b)
	return n, err
}

// LocalAddr returns the bound address.
func (c *UDPConn) LocalAddr() net.Addr { return net.UDPAddrFromAddrPort(c.sk.local) }

// RemoteAddr returns the connected peer, or nil.
func (c *UDPConn) RemoteAddr() net.Addr {
	if !c.remote.IsValid() {
		return nil
	}
	return net.UDPAddrFromAddrPort(c.remote)
}

// FallbackDelay is how long DialContext waits for a connection to a
// name's first address family before it tries the other in parallel:
// RFC 8305's Connection Attempt Delay, 300 ms as Go's net.Dialer.
const FallbackDelay = 300 * time.Millisecond

// LookupHost returns the addresses Options.Hosts gives name, IPv6 ones
// first (RFC 6724's default policy, as Go and glibc order them when the
// host has IPv6), or a *net.DNSError that is IsNotFound.
func (s *Stack) LookupHost(name string) ([]netip.Addr, error) {
	key := strings.ToLower(strings.TrimSuffix(name, "."))
	var v6, v4 []netip.Addr
	for n, addrs := range s.opts.Hosts {
		if strings.ToLower(strings.TrimSuffix(n, ".")) != key {
			continue
		}
		for _, a := range addrs {
			if a.Unmap().Is4() {
				v4 = append(v4, a.Unmap())
			} else {
				v6 = append(v6, a)
			}
		}
	}
	if len(v6)+len(v4) == 0 {
		return nil, &net.DNSError{Err: "no such host in the stack's hosts table (Options.Hosts)", Name: name, IsNotFound: true}
	}
	return append(v6, v4...), nil
}
