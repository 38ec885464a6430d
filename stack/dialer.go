package stack

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// Dialer dials over a stack like net.Dialer, with a Control hook that
// runs on the new descriptor before bind and connect: options set there
// (SO_RCVBUF, which fixes the window scale offered in the SYN; SO_REUSEADDR;
// TCP_CONGESTION) are in force for the handshake.
type Dialer struct {
	Stack *Stack
	// LocalAddr, if valid, is bound before connecting.
	LocalAddr netip.AddrPort
	// Control, if not nil, is called with the network, the address and
	// the descriptor after socket and before bind and connect; an error
	// ends the dial.
	Control func(network, address string, fd int) error
}

// DialContext dials a numeric address on "tcp"/"tcp4" or "udp"/"udp4",
// honouring ctx until the connection is established.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	s := d.Stack
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil, fmt.Errorf("stacklab: dial %s: %q is not a numeric IPv4 address and port (the stack has no resolver): %w", network, address, err)
	}
	var typ SockType
	switch network {
	case "tcp", "tcp4":
		typ = SockStream
	case "udp", "udp4":
		typ = SockDgram
	default:
		return nil, &net.OpError{Op: "dial", Net: network, Err: net.UnknownNetworkError(network)}
	}
	fd, err := s.Socket(typ)
	if err != nil {
		return nil, err
	}
	if d.Control != nil {
		if err := d.Control(network, address, fd); err != nil {
			s.Close(fd)
			return nil, &net.OpError{Op: "dial", Net: network, Addr: addrOf(typ, ap), Err: err}
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
	c, err := s.dialFD(ctx, fd, ap)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ListenConfig listens over a stack like net.ListenConfig, with a
// Control hook that runs before bind and listen (for SO_REUSEPORT,
// SO_RCVBUF: accepted connections inherit the listener's options).
type ListenConfig struct {
	Stack *Stack
	// Backlog bounds the accept queue; 0 means 128.
	Backlog int
	// Control, if not nil, is called with the network, the address and
	// the descriptor after socket and before bind; an error ends Listen.
	Control func(network, address string, fd int) error
}

// Listen listens on a numeric address ("0.0.0.0:80", ":80") on "tcp"/"tcp4".
func (lc *ListenConfig) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	if network != "tcp" && network != "tcp4" {
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

// ListenPacket opens a UDP socket on a numeric address, on "udp"/"udp4".
func (lc *ListenConfig) ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error) {
	if network != "udp" && network != "udp4" {
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
	ap, err := parseListenAddr(address)
	if err != nil {
		return -1, fmt.Errorf("stacklab: listen %s: %w", network, err)
	}
	fd, err := s.Socket(typ)
	if err != nil {
		return -1, err
	}
	if lc.Control != nil {
		if err := lc.Control(network, address, fd); err != nil {
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

// parseListenAddr reads "a.b.c.d:port" or ":port".
func parseListenAddr(address string) (netip.AddrPort, error) {
	if len(address) > 0 && address[0] == ':' {
		address = "0.0.0.0" + address
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return ap, fmt.Errorf("%q is not a numeric IPv4 address and port (the stack has no resolver): %w", address, err)
	}
	return ap, nil
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
