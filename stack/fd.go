package stack

import (
	"net/netip"
	"syscall"
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
func (s *Stack) Socket(typ SockType) (int, error) { return -1, syscall.ENOSYS }

// Bind gives the socket a local address. A zero address means any; a zero
// port means an ephemeral port chosen at bind.
func (s *Stack) Bind(fd int, addr netip.AddrPort) error { return syscall.ENOSYS }

// Listen marks a stream socket as passive with the given backlog.
func (s *Stack) Listen(fd, backlog int) error { return syscall.ENOSYS }

// Accept takes a connection from the accept queue of a listening socket.
func (s *Stack) Accept(fd int) (int, netip.AddrPort, error) {
	return -1, netip.AddrPort{}, syscall.ENOSYS
}

// Connect starts a connection (stream) or sets the default peer (datagram).
// On a non-blocking stream socket it returns EINPROGRESS; completion shows
// as PollOut and the result in [Stack.SockError].
func (s *Stack) Connect(fd int, addr netip.AddrPort) error { return syscall.ENOSYS }

// Send writes to a connected socket; it may write less than len(b).
func (s *Stack) Send(fd int, b []byte) (int, error) { return 0, syscall.ENOSYS }

// SendTo sends a datagram to addr.
func (s *Stack) SendTo(fd int, b []byte, addr netip.AddrPort) (int, error) {
	return 0, syscall.ENOSYS
}

// Recv reads from a socket. It returns 0, nil at end of stream.
func (s *Stack) Recv(fd int, b []byte) (int, error) { return 0, syscall.ENOSYS }

// RecvFrom reads one datagram and its source.
func (s *Stack) RecvFrom(fd int, b []byte) (int, netip.AddrPort, error) {
	return 0, netip.AddrPort{}, syscall.ENOSYS
}

// Shutdown closes one or both directions of a stream (ShutRD, ShutWR, ShutRDWR).
func (s *Stack) Shutdown(fd, how int) error { return syscall.ENOSYS }

// Close releases the descriptor. A TCP connection goes on closing in the
// background (FIN, TIME_WAIT) unless linger 0 makes it abort with RST.
func (s *Stack) Close(fd int) error { return syscall.ENOSYS }

// SetNonblock switches the descriptor between blocking and non-blocking.
func (s *Stack) SetNonblock(fd int, nonblocking bool) error { return syscall.ENOSYS }

// SetSockopt sets a socket option.
func (s *Stack) SetSockopt(fd int, opt SockOpt, value int) error { return syscall.ENOSYS }

// SockError returns and clears the socket's pending error (SO_ERROR).
func (s *Stack) SockError(fd int) error { return syscall.ENOSYS }

// Poll returns the descriptor's readiness now.
func (s *Stack) Poll(fd int) PollEvents { return 0 }

// Notify calls fn whenever the readiness of fd may have changed, until
// cancel is called. fn runs with the stack's lock held: it must not call
// into the stack (schedule the work on the clock instead).
func (s *Stack) Notify(fd int, fn func()) (cancel func()) { return func() {} }

// Info describes the socket.
func (s *Stack) Info(fd int) (SocketInfo, error) { return SocketInfo{}, syscall.ENOSYS }

// TCPInfo returns the connection's TCP internals.
func (s *Stack) TCPInfo(fd int) (TCPInfo, error) { return TCPInfo{}, syscall.ENOSYS }
