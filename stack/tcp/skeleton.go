package tcp

import (
	"net/netip"
	"syscall"
	"time"

	"stacklab/stack/core"
)

// Proto is the TCP layer of one stack: the connection table, the
// listeners, the ISN secret and the counters. Its methods must be called
// with the stack's lock held.
type Proto struct {
	net      Net
	cfg      Config
	conns    map[core.Tuple]*Conn
	listens  map[netip.AddrPort]*Listener
	counters Counters
}

// New returns the TCP layer of one stack, with cfg as the stack-wide
// defaults.
func New(net Net, cfg Config) *Proto {
	return &Proto{net: net, cfg: cfg, conns: map[core.Tuple]*Conn{}, listens: map[netip.AddrPort]*Listener{}}
}

// Input processes one inbound TCP segment from src to dst. It verifies
// the checksum, finds the connection or listener, and answers with a RST
// when there is none. pktID names the packet in drop events.
func (p *Proto) Input(src, dst netip.Addr, seg []byte, pktID uint64) {}

// Connect starts an active open from local to remote. A zero local
// address means the route's source address, a zero local port an
// ephemeral port. The returned Conn is in SYN_SENT.
func (p *Proto) Connect(local, remote netip.AddrPort, o *SockOpts) (*Conn, error) {
	return nil, syscall.ENOSYS
}

// Listen starts a passive open on local (an unspecified address listens
// on every address). backlog bounds the accept queue. It returns
// syscall.EADDRINUSE if the address is taken.
func (p *Proto) Listen(local netip.AddrPort, backlog int, o *SockOpts) (*Listener, error) {
	return nil, syscall.ENOSYS
}

// Counters returns a snapshot of the counters.
func (p *Proto) Counters() Counters { return p.counters }

// Listener is a socket in LISTEN.
type Listener struct {
	p      *Proto
	addr   netip.AddrPort
	notify func()
}

// Accept returns the next established connection, or syscall.EAGAIN when
// the accept queue is empty.
func (l *Listener) Accept() (*Conn, error) { return nil, syscall.EAGAIN }

// Close stops listening and resets the queued, unaccepted connections.
func (l *Listener) Close() {}

// Readable reports whether Accept would return a connection.
func (l *Listener) Readable() bool { return false }

// SetNotify sets the function called (lock held) whenever the listener's
// readiness may have changed.
func (l *Listener) SetNotify(f func()) { l.notify = f }

// Addr returns the listening address.
func (l *Listener) Addr() netip.AddrPort { return l.addr }

// Conn is one TCP connection.
type Conn struct {
	p      *Proto
	tuple  core.Tuple
	state  State
	notify func()
}

// Read copies received bytes into b. It returns syscall.EAGAIN when no
// data is available yet, io.EOF after the peer's FIN once drained, and
// ECONNRESET, ETIMEDOUT or ECONNREFUSED when the connection failed.
func (c *Conn) Read(b []byte) (int, error) { return 0, syscall.EAGAIN }

// Write queues bytes from b for sending and returns how many it took; it
// may be fewer than len(b). It returns syscall.EAGAIN when the send
// buffer is full or the connection is not yet established, and EPIPE
// after CloseWrite or a reset.
func (c *Conn) Write(b []byte) (int, error) { return 0, syscall.EAGAIN }

// CloseWrite shuts down the sending direction: a FIN follows the queued
// data.
func (c *Conn) CloseWrite() error { return nil }

// CloseRead shuts down the receiving direction: later data is discarded.
func (c *Conn) CloseRead() error { return nil }

// Close closes the connection in an orderly way (FIN). Like Linux it
// sends a RST instead when unread data remains or linger is set to 0.
func (c *Conn) Close() {}

// Abort resets the connection at once.
func (c *Conn) Abort() {}

// Poll returns the connection's readiness.
func (c *Conn) Poll() Events { return 0 }

// Err returns and clears the pending socket error (SO_ERROR).
func (c *Conn) Err() error { return nil }

// SetNotify sets the function called (lock held) whenever the
// connection's readiness may have changed.
func (c *Conn) SetNotify(f func()) { c.notify = f }

// State returns the connection's TCP state.
func (c *Conn) State() State { return c.state }

// Tuple returns the connection's addresses, local first.
func (c *Conn) Tuple() core.Tuple { return c.tuple }

// Info returns a snapshot of the connection's internals.
func (c *Conn) Info() Info { return Info{State: c.state} }

// SetNoDelay turns Nagle's algorithm off (true) or on.
func (c *Conn) SetNoDelay(on bool) {}

// SetQuickAck turns delayed ACKs off (true) or on.
func (c *Conn) SetQuickAck(on bool) {}

// SetKeepAlive configures keepalive probes; zero durations and count keep
// the current values.
func (c *Conn) SetKeepAlive(on bool, idle, intvl time.Duration, cnt int) {}

// SetLinger sets SO_LINGER. With on and sec 0, Close sends a RST.
func (c *Conn) SetLinger(on bool, sec int) {}

// SetCongestion selects the congestion controller by name.
func (c *Conn) SetCongestion(name string) error { return nil }

// SetSendBuffer sets the send buffer size in bytes.
func (c *Conn) SetSendBuffer(n int) {}

// SetRecvBuffer sets the receive buffer size in bytes.
func (c *Conn) SetRecvBuffer(n int) {}
