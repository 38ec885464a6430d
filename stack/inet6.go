package stack

import (
	"net/netip"
	"syscall"
)

// Address families of sockets: AF_INET sockets speak IPv4 only; AF_INET6
// sockets speak IPv6 and, unless IPV6_V6ONLY is set, IPv4 too through
// IPv4-mapped addresses (::ffff:10.0.0.1, RFC 4291 §2.5.5.2), as Linux's
// default net.ipv6.bindv6only=0 makes them.

// Family is a socket's address family.
type Family uint8

// The families, with Linux's numbers.
const (
	AFInet  Family = 2
	AFInet6 Family = 10
)

func (f Family) String() string {
	if f == AFInet6 {
		return "AF_INET6"
	}
	return "AF_INET"
}

// IPv6V6Only is IPV6_V6ONLY (0 or 1): an AF_INET6 socket that speaks
// IPv6 only; a listener or datagram socket on [::] then receives no IPv4.
// It must be set before bind or listen.
const IPv6V6Only SockOpt = 200

// SocketFamily creates a socket of family f (Socket makes AF_INET ones).
func (s *Stack) SocketFamily(f Family, typ SockType) (int, error) {
	if f != AFInet && f != AFInet6 {
		return -1, opError("socket", typ, netip.AddrPort{}, netip.AddrPort{}, syscall.EAFNOSUPPORT)
	}
	fd, err := s.Socket(typ)
	if err != nil {
		return fd, err
	}
	s.mu.Lock()
	s.fds[fd].family = f
	s.mu.Unlock()
	return fd, nil
}

// v6 reports whether sk is an AF_INET6 socket.
func (sk *socket) v6() bool { return sk.family == AFInet6 }

// unspecified is the wildcard address of sk's family.
func (sk *socket) unspecified() netip.Addr {
	if sk.v6() {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

// toHost turns a destination that is the unspecified address into this
// host, as Linux does: IPv4's INADDR_ANY becomes the socket's own
// address when it is bound to one, else 127.0.0.1 (ip_route_output_key
// with no daddr), and IPv6's :: becomes ::1 (tcp_v6_connect,
// ip6_datagram_connect, udpv6_sendmsg). So connect(0.0.0.0:80) and Go's
// Dial("tcp", ":80") reach a local listener.
func (sk *socket) toHost(ap netip.AddrPort) netip.AddrPort {
	a := ap.Addr()
	if !a.IsValid() || !a.IsUnspecified() {
		return ap
	}
	if a.Is4() {
		if l := sk.local.Addr(); l.Is4() && !l.IsUnspecified() {
			return netip.AddrPortFrom(l, ap.Port())
		}
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), ap.Port())
	}
	return netip.AddrPortFrom(netip.IPv6Loopback(), ap.Port())
}

// inAddr checks an address the user gave a socket and turns it into the
// stack's form: an IPv4-mapped address on an AF_INET6 socket is the IPv4
// address (refused with IPV6_V6ONLY), an IPv6 one on an AF_INET socket
// is EAFNOSUPPORT. An invalid address stays invalid.
func (sk *socket) inAddr(ap netip.AddrPort) (netip.AddrPort, error) {
	a := ap.Addr()
	if !a.IsValid() {
		return ap, nil
	}
	if a.Is6() && !a.Is4In6() {
		if !sk.v6() {
			return ap, syscall.EAFNOSUPPORT
		}
		return ap, nil
	}
	if sk.v6() && a.Is4In6() && sk.opts.V6Only {
		return ap, syscall.ENETUNREACH
	}
	return netip.AddrPortFrom(a.Unmap(), ap.Port()), nil
}

// outAddr is an address as sk's user sees it: IPv4 ones IPv4-mapped on
// an AF_INET6 socket.
func (sk *socket) outAddr(ap netip.AddrPort) netip.AddrPort {
	if sk.v6() && ap.Addr().Is4() {
		return netip.AddrPortFrom(netip.AddrFrom16(ap.Addr().As16()), ap.Port())
	}
	return ap
}

// familyFor is the family of a socket for a local or remote address.
func familyFor(a netip.Addr) Family {
	if a.Is6() && !a.Is4In6() {
		return AFInet6
	}
	return AFInet
}

// FamilyOf returns the address family of socket fd (AF_INET for a
// descriptor that is not a socket).
func (s *Stack) FamilyOf(fd int) Family {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sk, err := s.lookup(fd); err == nil && sk.v6() {
		return AFInet6
	}
	return AFInet
}
