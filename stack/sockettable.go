package stack

import (
	"cmp"
	"net/netip"
	"slices"

	"stacklab/stack/tcp"
)

// SocketEntry is one line of a host's socket table, as `ss -tuanp` shows
// it: every socket with a descriptor, and every TCP connection without
// one (not yet accepted, closing after close, or in TIME_WAIT).
type SocketEntry struct {
	Proto         string // "tcp", "udp" or "icmp"
	State         string // the TCP state; for UDP and ICMP "ESTAB" when connected, else "UNCONN"
	Local, Remote netip.AddrPort
	// RecvQ and SendQ are, for a connection, the bytes received and not
	// read and the bytes sent and not acknowledged; for a listener, the
	// connections waiting in the accept queue and the backlog; for a
	// datagram socket, the bytes queued to read and 0.
	RecvQ, SendQ int
	FD           int // -1: no descriptor
}

// Sockets returns the socket table, ordered by protocol, local address
// and port, then remote address and port.
func (s *Stack) Sockets() []SocketEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SocketEntry
	owned := map[*tcp.Conn]bool{}
	unconn := func(remote netip.AddrPort) string {
		if remote.IsValid() && !remote.Addr().IsUnspecified() {
			return "ESTAB"
		}
		return "UNCONN"
	}
	for fd, sk := range s.fds {
		if sk == nil || sk.closed || sk.ep != nil {
			continue
		}
		e := SocketEntry{FD: fd, Local: sk.local, Remote: s.remoteOf(sk)}
		switch {
		case sk.ln != nil:
			_, acc := sk.ln.QueueLens()
			e.Proto, e.State, e.Local, e.RecvQ, e.SendQ = "tcp", "LISTEN", sk.ln.Addr(), acc, sk.ln.Backlog()
		case sk.conn != nil:
			owned[sk.conn] = true
			t := sk.conn.Tuple()
			e.Proto, e.State, e.Local, e.Remote = "tcp", sk.conn.State().String(), t.Local, t.Remote
			e.RecvQ, e.SendQ = sk.conn.Buffered(), sk.conn.SendQueued()
		case sk.udp != nil:
			e.Proto, e.State, e.Local, e.RecvQ = "udp", unconn(sk.udp.remote), sk.udp.local, sk.udp.queue.bytes
		case sk.icmp != nil:
			e.Proto, e.State, e.RecvQ = "icmp", unconn(e.Remote), sk.icmp.queue.bytes
		case sk.typ == SockStream:
			e.Proto, e.State = "tcp", "CLOSED"
		default:
			e.Proto, e.State = "udp", "UNCONN"
		}
		out = append(out, e)
	}
	s.tcp.Conns(func(c *tcp.Conn) {
		if owned[c] {
			return
		}
		t := c.Tuple()
		out = append(out, SocketEntry{Proto: "tcp", State: c.State().String(), Local: t.Local, Remote: t.Remote, RecvQ: c.Buffered(), SendQ: c.SendQueued(), FD: -1})
	})
	slices.SortFunc(out, func(a, b SocketEntry) int {
		return cmp.Or(cmp.Compare(a.Proto, b.Proto), a.Local.Compare(b.Local), a.Remote.Compare(b.Remote), cmp.Compare(a.FD, b.FD))
	})
	return out
}
