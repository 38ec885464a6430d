package tcp

import (
	"net/netip"
	"syscall"
	"time"

	"stacklab/stack/core"
	"stacklab/stack/tcp/seqnum"
)

// Listener is a socket in LISTEN. Connections being set up wait in its
// SYN queue and established ones in its accept queue; as Linux's, each
// holds one more than the backlog given to Listen (full when its length
// is above it: inet_csk_reqsk_queue_is_full, sk_acceptq_is_full).
type Listener struct {
	p       *Proto
	addr    netip.AddrPort
	opts    SockOpts
	backlog int     // the listen backlog, clamped as Linux's (0..MaxBacklog)
	synQ    int     // children in SYN_RECEIVED
	acceptQ []*Conn // established, not yet accepted
	queued  uint64  // connections ever put on acceptQ: each is an edge for epoll
	notify  func()
	closed  bool
	next    *Listener // the next listener of an SO_REUSEPORT group on addr

	lastOverflow time.Time // when the SYN queue last overflowed (SYN cookies sent)
}

// Accept returns the next established connection, or syscall.EAGAIN when
// the accept queue is empty.
func (l *Listener) Accept() (*Conn, error) {
	if l.closed {
		return nil, syscall.EINVAL
	}
	if len(l.acceptQ) == 0 {
		return nil, syscall.EAGAIN
	}
	c := l.acceptQ[0]
	copy(l.acceptQ, l.acceptQ[1:])
	l.acceptQ[len(l.acceptQ)-1] = nil
	l.acceptQ = l.acceptQ[:len(l.acceptQ)-1]
	c.listener = nil
	return c, nil
}

// Close stops listening and resets the queued, unaccepted connections
// and those still in the handshake.
func (l *Listener) Close() {
	if l.closed {
		return
	}
	l.closed = true
	l.p.unlisten(l)
	for _, c := range l.acceptQ {
		c.listener = nil
		c.Abort()
	}
	l.acceptQ = nil
	for _, c := range l.p.conns {
		if c.listener == l {
			c.listener = nil
			c.Abort()
		}
	}
	l.synQ = 0
	l.wake()
}

// Readable reports whether Accept would return a connection.
func (l *Listener) Readable() bool { return len(l.acceptQ) > 0 }

// SetNotify sets the function called (lock held) whenever the listener's
// readiness may have changed.
func (l *Listener) SetNotify(f func()) { l.notify = f }

// Addr returns the listening address.
func (l *Listener) Addr() netip.AddrPort { return l.addr }

// Backlog returns the accept queue bound.
func (l *Listener) Backlog() int { return l.backlog }

// QueueLens returns the number of connections in the SYN queue and in
// the accept queue.
func (l *Listener) QueueLens() (syn, accept int) { return l.synQ, len(l.acceptQ) }

// Queued returns how many connections were ever put on the accept
// queue: a new one is a new edge for edge-triggered epoll, as Linux's
// sk_data_ready on each connection.
func (l *Listener) Queued() uint64 { return l.queued }

func (l *Listener) wake() {
	if l.notify != nil {
		l.notify()
	}
}

// input handles a segment for a listening socket (RFC 9293 §3.10.7.2).
func (l *Listener) input(t core.Tuple, s *segment) {
	l.inputISN(t, s, 0)
}

// inputISN is input with the ISN a SYN-ACK without a cookie takes: isn,
// or a fresh one if 0 (a SYN that ends a TIME_WAIT brings the one
// Linux derives from the old connection, Conn.inputTimeWait).
func (l *Listener) inputISN(t core.Tuple, s *segment, isn seqnum.Value) {
	p := l.p
	switch {
	case s.has(flagRST):
		p.counters.DropNoSocket++
		p.drop(nil, "DropNoSocket", "RST to listener", s.pktID)
		return
	case s.has(flagACK):
		if l.cookieAck(t, s) {
			return
		}
		p.counters.DropNoSocket++
		p.drop(nil, "DropNoSocket", "ACK to listener", s.pktID)
		p.resetFor(t, s, whyRSTListen)
		return
	case !s.has(flagSYN):
		p.counters.DropNoSocket++
		p.drop(nil, "DropNoSocket", "no SYN", s.pktID)
		return
	}
	// As Linux's tcp_conn_request: a full SYN queue means a SYN cookie,
	// or a drop with cookies off; a full accept queue drops the SYN
	// either way.
	cookie := false
	if l.synQ > l.backlog {
		if p.cfg.NoSynCookies {
			p.counters.DropSynQueueFull++
			p.drop(nil, "DropSynQueueFull", "SYN queue full", s.pktID)
			return
		}
		cookie = true
	}
	if l.acceptFull() {
		p.counters.DropListenOverflow++
		p.drop(nil, "DropListenOverflow", "accept queue full", s.pktID)
		return
	}
	_, mtu, err := p.net.Route(t.Remote.Addr())
	if err != nil {
		// No way to answer (Linux's tcp_conn_request: route_req fails,
		// counted in ListenDrops).
		p.counters.DropSynNoRoute++
		p.drop(nil, "DropSynNoRoute", "no route to answer the SYN", s.pktID)
		return
	}
	if cookie {
		l.sendCookie(t, s, mtu) // RFC 4987 §3.6, as Linux
		return
	}
	// With cookies off, the last quarter of tcp_max_syn_backlog is kept
	// (Linux keeps it for peers its TCP metrics have proven alive; no
	// peer is proven here).
	if maxSyn := p.cfg.SynBacklog; p.cfg.NoSynCookies && maxSyn-l.synQ < maxSyn>>2 {
		p.counters.DropSynBacklog++
		p.drop(nil, "DropSynBacklog", "tcp_max_syn_backlog: last quarter kept", s.pktID)
		return
	}
	c := p.newConn(t, &l.opts, mtu)
	c.listener = l
	c.passive = true
	c.ti.segsIn = 1 // the SYN, as Linux's tcp_create_openreq_child counts it
	l.synQ++
	c.iss = isn
	if isn == 0 {
		c.iss = p.isn(t)
	}
	c.sndUna, c.sndNxt, c.sndMax = c.iss, c.iss, c.iss
	c.sndBase = c.iss.Add(1)
	c.recover = c.iss
	c.sndSml = c.iss
	c.irs = s.seq
	c.rcvNxt = s.seq.Add(1)
	c.negotiate(s)
	c.ecnSynReceived(s)
	c.sndWnd = uint32(s.wnd) // never scaled in a SYN (RFC 7323 §2.2)
	c.maxSndWnd = c.sndWnd
	c.sndWl1, c.sndWl2 = s.seq, c.iss
	p.addConn(t, c)
	p.counters.PassiveOpens++
	c.lastRecv = p.net.Now()
	c.setState(SynReceived)
	c.sendSYN(whySynReceived, false)
}

// established moves a passive child from the SYN queue to the accept
// queue. It reports false when the accept queue is full.
func (l *Listener) established(c *Conn) bool {
	if l.acceptFull() {
		return false
	}
	l.synQ--
	l.acceptQ = append(l.acceptQ, c)
	l.queued++
	l.wake()
	return true
}

// SetBacklog changes a listening socket's backlog, as a second listen
// call does on Linux.
func (l *Listener) SetBacklog(b int) { l.backlog = clampBacklog(b) }

// SetOpts replaces the options the listener's new connections start
// with: a setsockopt on a listening socket applies to the connections it
// accepts from then on, as Linux's children inherit the listener's
// settings when they are created (TCP_MAXSEG caps the next SYN-ACK's
// MSS).
func (l *Listener) SetOpts(o *SockOpts) { l.opts = *o }

// acceptFull reports whether the accept queue is full: it holds one
// more than the backlog, as Linux's sk_acceptq_is_full.
func (l *Listener) acceptFull() bool { return len(l.acceptQ) > l.backlog }

// childGone is told of a child that died before it was accepted. One
// still in the handshake is forgotten. One in the accept queue stays
// there, as Linux keeps the socket a RST closed in its listener's queue:
// accept returns it, and its first read fails with ECONNRESET (or ends
// at the FIN it got first). It reports whether c stays queued.
func (l *Listener) childGone(c *Conn) bool {
	for _, x := range l.acceptQ {
		if x == c {
			return true
		}
	}
	if l.synQ > 0 {
		l.synQ--
	}
	return false
}
