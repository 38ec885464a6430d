package stack

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
)

// Dialer dials over a stack like net.Dialer, with a Control hook that
// runs on the new descriptor before bind and connect: options set there
// (SO_RCVBUF, which fixes the window scale offered in the SYN; SO_REUSEADDR;
// TCP_CONGESTION) are in force for the handshake.
type Dialer struct {
	Stack *Stack
	// LocalAddr, if valid, is bound before connecting; only addresses of
	// its family are dialled.
	LocalAddr netip.AddrPort
	// Control, if not nil, is called after socket and before bind and
	// connect, as net.Dialer's: with the network of the address dialled
	// ("tcp4", "tcp6", "udp4" or "udp6"), that address, and the
	// descriptor; an error ends that attempt.
	Control func(network, address string, fd int) error
}

// DialContext dials an address ("10.0.0.2:80", "[2001:db8::2]:80", or
// "name:80" with the name in Options.Hosts) on network "tcp", "tcp4" or
// "tcp6" (or "udp", "udp4", "udp6"), honouring ctx until the connection
// is established; the 4 and 6 forms refuse an address of the other
// family. A name with addresses of both families is dialled as Go's
// net.Dialer does (RFC 8305, "happy eyeballs"): the first family first,
// the other after FallbackDelay or at once when the first fails; the
// first connection made wins.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	s := d.Stack
	base := strings.TrimRight(network, "46")
	if base != "tcp" && base != "udp" || len(network)-len(base) > 1 {
		return nil, &net.OpError{Op: "dial", Net: network, Err: net.UnknownNetworkError(network)}
	}
	var host string
	var addrs []netip.Addr
	var port uint16
	if ap, err := netip.ParseAddrPort(address); err == nil {
		host, addrs, port = address, []netip.Addr{ap.Addr().Unmap()}, ap.Port()
		if !familyFits(network, addrs[0]) {
			return nil, &net.OpError{Op: "dial", Net: network, Err: &net.AddrError{Err: "address of the wrong family for " + network, Addr: address}}
		}
	} else {
		h, p, serr := net.SplitHostPort(address)
		n, perr := strconv.ParseUint(p, 10, 16)
		if serr != nil || perr != nil {
			return nil, fmt.Errorf("stacklab: dial %s: %q is not an address and port like 10.0.0.2:80, [2001:db8::2]:80 or name:80: %w", network, address, err)
		}
		switch {
		case h == "" && strings.HasSuffix(network, "6"):
			addrs = []netip.Addr{netip.IPv6Unspecified()} // the local system, as Go's net: a connect to :: reaches ::1
		case h == "":
			addrs = []netip.Addr{netip.IPv4Unspecified()} // ... and to 0.0.0.0, 127.0.0.1
		default:
			if addrs, err = s.LookupHost(h); err != nil {
				return nil, &net.OpError{Op: "dial", Net: network, Err: err}
			}
		}
		host, port = h, uint16(n)
	}
	var primary, fallback []netip.AddrPort
	for _, a := range addrs {
		if !familyFits(network, a) || d.LocalAddr.IsValid() && familyFor(d.LocalAddr.Addr()) != familyFor(a) {
			continue
		}
		ap := netip.AddrPortFrom(a, port)
		if len(primary) == 0 || a.Is4() == primary[0].Addr().Is4() {
			primary = append(primary, ap)
		} else {
			fallback = append(fallback, ap)
		}
	}
	if len(primary) == 0 {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.AddrError{Err: "no address of the family for " + network, Addr: host}}
	}
	if base != "tcp" || len(fallback) == 0 {
		return d.dialSerial(ctx, base, append(primary, fallback...))
	}
	return d.dialParallel(ctx, primary, fallback)
}

// familyFits reports whether a may be dialled on network: "tcp4" and
// "udp4" take IPv4 only, "tcp6" and "udp6" IPv6 only.
func familyFits(network string, a netip.Addr) bool {
	switch {
	case strings.HasSuffix(network, "4"):
		return a.Is4()
	case strings.HasSuffix(network, "6"):
		return a.Is6()
	}
	return true
}

// dialOne makes, controls, binds and connects one socket to ap on
// network "tcp" or "udp".
func (d *Dialer) dialOne(ctx context.Context, network string, ap netip.AddrPort) (net.Conn, error) {
	s := d.Stack
	typ, fam := SockStream, familyFor(ap.Addr())
	if network == "udp" {
		typ = SockDgram
	}
	fd, err := s.SocketFamily(fam, typ)
	if err != nil {
		return nil, err
	}
	if d.Control != nil {
		full := network + "4"
		if fam == AFInet6 {
			full = network + "6"
		}
		if err := d.Control(full, ap.String(), fd); err != nil {
			s.Close(fd)
			return nil, &net.OpError{Op: "dial", Net: full, Addr: addrOf(typ, ap), Err: err}
		}
	}
	if d.LocalAddr.IsValid() {
		if err := s.Bind(fd, d.LocalAddr); err != nil {
			s.Close(fd)
			return nil, err
		}
	}
	if typ == SockDgram {
		if err := s.Connect(fd, ap); err != nil {
			s.Close(fd)
			return nil, err
		}
		return s.FileConn(fd)
	}
	// Return a true nil on error, never a typed nil inside net.Conn.
	c, err := s.dialFD(ctx, fd, ap)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// dialSerial tries each address in turn; the first error if none works.
func (d *Dialer) dialSerial(ctx context.Context, network string, list []netip.AddrPort) (net.Conn, error) {
	var first error
	for _, ap := range list {
		c, err := d.dialOne(ctx, network, ap)
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// dialParallel races TCP connections to the two families' addresses,
// the fallback family starting after FallbackDelay or when the primary
// fails; the first connection made wins and a later one is closed.
func (d *Dialer) dialParallel(ctx context.Context, primary, fallback []netip.AddrPort) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan result, 2)
	race := func(list []netip.AddrPort) {
		go func() {
			c, err := d.dialSerial(ctx, "tcp", list)
			results <- result{c, err}
		}()
	}
	race(primary)
	fire := make(chan struct{})
	t := d.Stack.opts.Clock.AfterFunc(FallbackDelay, func() { close(fire) })
	defer t.Stop()
	started, pending := false, 1
	var first error
	for {
		select {
		case <-fire:
			fire = nil
			if !started {
				started, pending = true, pending+1
				race(fallback)
			}
		case r := <-results:
			pending--
			if r.err == nil {
				// The winner; a loser that connects too is closed.
				go func(n int) {
					for range n {
						if l := <-results; l.c != nil {
							l.c.Close()
						}
					}
				}(pending)
				return r.c, nil
			}
			if first == nil {
				first = r.err
			}
			if !started {
				started, pending = true, pending+1
				race(fallback)
			}
			if pending == 0 {
				return nil, first
			}
		}
	}
}

// ListenConfig listens over a stack like net.ListenConfig, with a
// Control hook that runs before bind and listen (for SO_REUSEPORT,
// SO_RCVBUF: accepted connections inherit the listener's options).
type ListenConfig struct {
	Stack *Stack
	// Backlog bounds the accept queue; 0 means 128.
	Backlog int
	// Control, if not nil, is called with the network ("tcp4", "tcp6",
	// "udp4" or "udp6"), the address and the descriptor after socket and
	// before bind; an error ends Listen.
	Control func(network, address string, fd int) error
}

// Listen listens on "tcp", "tcp4" or "tcp6" as net.ListenConfig does: a
// wildcard or empty host on "tcp" (":80", "[::]:80") is one dual-stack
// AF_INET6 socket taking both families, on "tcp4" an IPv4 one
// ("0.0.0.0:80"), on "tcp6" an IPv6-only one (IPV6_V6ONLY).
func (lc *ListenConfig) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	if strings.TrimRight(network, "46") != "tcp" || len(network) > 4 {
		return nil, &net.OpError{Op: "listen", Net: network, Err: net.UnknownNetworkError(network)}
	}
	fd, err := lc.socket(network, address, SockStream)
	if err != nil {
		return nil, err
	}
	s := lc.Stack
	if err := s.Listen(fd, cmpOr(lc.Backlog, 128)); err != nil {
		s.Close(fd)
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return &TCPListener{s: s, sk: s.fds[fd]}, nil
}

// ListenPacket opens a UDP socket on "udp", "udp4" or "udp6", with the
// addresses of Listen.
func (lc *ListenConfig) ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error) {
	if strings.TrimRight(network, "46") != "udp" || len(network) > 4 {
		return nil, &net.OpError{Op: "listen", Net: network, Err: net.UnknownNetworkError(network)}
	}
	fd, err := lc.socket(network, address, SockDgram)
	if err != nil {
		return nil, err
	}
	s := lc.Stack
	s.mu.Lock()
	defer s.mu.Unlock()
	return &UDPConn{sockConn{s: s, sk: s.fds[fd]}}, nil
}

// socket makes, controls and binds the descriptor of Listen and ListenPacket.
func (lc *ListenConfig) socket(network, address string, typ SockType) (int, error) {
	s := lc.Stack
	ap, fam, v6only, err := parseListenAddr(network, address)
	if err != nil {
		return -1, fmt.Errorf("stacklab: listen %s: %w", network, err)
	}
	fd, err := s.SocketFamily(fam, typ)
	if err != nil {
		return -1, err
	}
	if v6only {
		if err := s.SetSockopt(fd, IPv6V6Only, 1); err != nil {
			s.Close(fd)
			return -1, err
		}
	}
	if lc.Control != nil {
		full := strings.TrimRight(network, "46") + "4"
		if fam == AFInet6 {
			full = full[:len(full)-1] + "6"
		}
		if err := lc.Control(full, ap.String(), fd); err != nil {
			s.Close(fd)
			return -1, &net.OpError{Op: "listen", Net: network, Addr: addrOf(typ, ap), Err: err}
		}
	}
	if err := s.Bind(fd, ap); err != nil {
		s.Close(fd)
		return -1, err
	}
	return fd, nil
}

// parseListenAddr reads "a.b.c.d:port", "[v6]:port" or ":port" for
// network, returning the address to bind, the socket's family and
// whether it is IPv6 only.
func parseListenAddr(network, address string) (ap netip.AddrPort, fam Family, v6only bool, err error) {
	v4, v6 := strings.HasSuffix(network, "4"), strings.HasSuffix(network, "6")
	if strings.HasPrefix(address, ":") {
		switch {
		case v4:
			address = "0.0.0.0" + address
		default:
			address = "[::]" + address
		}
	}
	if ap, err = netip.ParseAddrPort(address); err != nil {
		return ap, AFInet, false, fmt.Errorf("%q is not a numeric address and port like 0.0.0.0:80, [::]:80 or :80 (a listener takes no names): %w", address, err)
	}
	a := ap.Addr().Unmap()
	if v4 && !a.Is4() || v6 && !a.Is6() {
		return ap, AFInet, false, &net.AddrError{Err: "address of the wrong family for " + network, Addr: address}
	}
	if a.Is4() {
		return netip.AddrPortFrom(a, ap.Port()), AFInet, false, nil
	}
	return ap, AFInet6, v6, nil
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// FileConn turns a descriptor of the facade into a net.Conn, as
// net.FileConn does for an OS file: a connected TCP socket becomes a
// *TCPConn, a UDP socket a *UDPConn. The descriptor stays the same;
// closing either closes both.
func (s *Stack) FileConn(fd int) (net.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return nil, opError("fileconn", 0, noAddr, noAddr, err)
	}
	switch {
	case sk.conn != nil:
		return &TCPConn{sockConn{s: s, sk: sk, remote: sk.conn.Tuple().Remote}}, nil
	case sk.typ == SockDgram:
		r := netip.AddrPort{}
		if sk.udp != nil {
			r = sk.udp.remote
		}
		return &UDPConn{sockConn{s: s, sk: sk, remote: r}}, nil
	}
	return nil, opError("fileconn", sk.typ, sk.local, noAddr, syscall.ENOTCONN)
}

// FileListener turns a listening descriptor into a net.Listener.
func (s *Stack) FileListener(fd int) (net.Listener, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.lookup(fd)
	if err != nil {
		return nil, opError("filelistener", 0, noAddr, noAddr, err)
	}
	if sk.ln == nil {
		return nil, opError("filelistener", sk.typ, sk.local, noAddr, syscall.EINVAL)
	}
	return &TCPListener{s: s, sk: sk}, nil
}
