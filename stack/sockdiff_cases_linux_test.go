//go:build linux

package stack_test

import (
	"net/netip"
	"strings"
	"time"

	"stacklab/stack"
)

// diffKnown lists the cases where stacklab differs from Linux on
// purpose, with the reason; the README repeats them. A case that differs
// and is not here fails the test, and so does one here that matches.
var diffKnown = map[string]string{
	"close/blocked-recv":    "closing a descriptor wakes a call blocked on it with EBADF, as Go's net does with ErrClosed; Linux leaves it blocked until its timeout, since the blocked call still holds the file",
	"v6/close/blocked-recv": "as close/blocked-recv",
}

const (
	tcp = stack.SockStream
	udp = stack.SockDgram
)

// diffCases is the catalogue: connect, bind, listen, accept, send/recv,
// shutdown, close, poll, UDP, socket options and errors.
var diffCases = []diffCase{
	// connect
	{"connect/ok", func(e *denv) {
		_, c, _ := e.connPair()
		e.peername(c)
	}},
	{"connect/refused", func(e *denv) {
		c := e.socket(tcp)
		e.connect(c, e.at("Q"))
	}},
	{"connect/again-after-refused", func(e *denv) {
		c := e.socket(tcp)
		e.connect(c, e.at("Q"))
		e.connect(c, e.at("Q"))
		e.listener("Q")
		e.connect(c, e.at("Q"))
	}},
	{"connect/twice", func(e *denv) {
		_, c, _ := e.connPair()
		e.connect(c, e.at("P"))
	}},
	{"connect/on-listener", func(e *denv) {
		l := e.listener("P")
		e.connect(l, e.at("P"))
	}},
	{"connect/nonblocking", func(e *denv) {
		e.listener("P")
		c := e.socket(tcp)
		e.nonblock(c)
		e.connect(c, e.at("P"))
		e.settle()
		e.poll(c, stack.PollOut)
		e.getopt(c, stack.SoError)
	}},
	{"connect/nonblocking-again", func(e *denv) {
		// connect again after EINPROGRESS: once connected, the call
		// that finds it so returns 0, the next EISCONN.
		e.listener("P")
		c := e.socket(tcp)
		e.nonblock(c)
		e.connect(c, e.at("P"))
		e.settle()
		e.connect(c, e.at("P"))
		e.connect(c, e.at("P"))
	}},
	{"connect/nonblocking-reset-before-again", func(e *denv) {
		// connect again after EINPROGRESS, the connection made and then
		// reset: that call reports the reset.
		l := e.listener("P")
		c := e.socket(tcp)
		e.nonblock(c)
		e.connect(c, e.at("P"))
		e.settle()
		s := e.accept(l)
		e.resetFrom(s)
		e.connect(c, e.at("P"))
		e.connect(c, e.at("P"))
	}},
	{"connect/nonblocking-refused", func(e *denv) {
		c := e.socket(tcp)
		e.nonblock(c)
		e.connect(c, e.at("Q"))
		e.settle()
		e.poll(c, stack.PollIn|stack.PollOut)
		e.getopt(c, stack.SoError)
		e.getopt(c, stack.SoError)
	}},
	{"connect/nonblocking-refused-then-listen", func(e *denv) {
		// The refused connect leaves the socket connecting (Linux's
		// SS_CONNECTING) until the next connect reports the failure:
		// listen before it, and after.
		c := e.socket(tcp)
		e.nonblock(c)
		e.connect(c, e.at("Q"))
		e.settle()
		e.listen(c, 4)
		e.getopt(c, stack.SoError)
		e.listen(c, 4)
		e.connect(c, e.at("Q"))
		e.listen(c, 4)
		e.sockname(c)
	}},
	{"connect/nonblocking-refused-connect-again-then-listen", func(e *denv) {
		c := e.socket(tcp)
		e.nonblock(c)
		e.connect(c, e.at("Q"))
		e.settle()
		e.connect(c, e.at("Q"))
		e.listen(c, 4)
		e.sockname(c)
	}},
	{"bind/tcp-multicast-address", func(e *denv) {
		// Linux's inet_bind takes a multicast or broadcast address (the
		// socket then sends from the device's address).
		c := e.socket(tcp)
		e.bind(c, e.atAddr("224.0.0.1", "P"))
		e.sockname(c)
	}},
	{"bind/tcp-broadcast-address", func(e *denv) {
		c := e.socket(tcp)
		e.bind(c, e.atAddr("255.255.255.255", "P"))
		e.sockname(c)
	}},
	{"bind/tcp-multicast-then-connect", func(e *denv) {
		// The connect sends from the route's source, which replaces
		// the bound address; the port stays.
		e.listener("L")
		c := e.socket(tcp)
		e.bind(c, e.atAddr("224.0.0.1", "P"))
		e.connect(c, e.at("L"))
		e.sockname(c)
	}},
	{"bind/tcp-multicast-then-listen", func(e *denv) {
		c := e.socket(tcp)
		e.bind(c, e.atAddr("224.0.0.1", "P"))
		e.listen(c, 4)
		e.sockname(c)
		d := e.socket(tcp)
		e.connect(d, e.at("P"))
	}},
	{"bind/tcp-multicast-port-conflicts", func(e *denv) {
		a := e.socket(tcp)
		e.bind(a, e.atAddr("224.0.0.1", "P"))
		b := e.socket(tcp)
		e.bind(b, e.atAddr("0.0.0.0", "P"))
		c := e.socket(tcp)
		e.bind(c, e.atAddr("127.0.0.1", "P"))
		d := e.socket(tcp)
		e.bind(d, e.atAddr("224.0.0.1", "P"))
	}},
	{"bind/udp-multicast-then-send", func(e *denv) {
		// A datagram from a socket bound to a multicast or broadcast
		// address leaves from the device's address.
		r := e.socket(udp)
		e.bind(r, e.at("U2"))
		m := e.socket(udp)
		e.bind(m, e.atAddr("224.0.0.1", "U1"))
		e.sockname(m)
		e.sendto(m, "m", e.at("U2"))
		b := e.socket(udp)
		e.bind(b, e.atAddr("255.255.255.255", "U3"))
		e.sendto(b, "b", e.at("U2"))
		e.settle()
		e.recvfrom(r, 10)
		e.recvfrom(r, 10)
	}},
	{"connect/tcp-multicast", func(e *denv) {
		c := e.socket(tcp)
		e.connect(c, e.atAddr("224.0.0.1", "P"))
		e.sockname(c)
	}},
	{"connect/tcp-broadcast", func(e *denv) {
		c := e.socket(tcp)
		e.connect(c, e.atAddr("255.255.255.255", "P"))
	}},
	{"recv/peek-waitall-nonblocking", func(e *denv) {
		// MSG_PEEK|MSG_WAITALL without waiting: what is there.
		l := e.listener("P")
		c := e.socket(tcp)
		e.connect(c, e.at("P"))
		s := e.accept(l)
		e.send(c, "abc", 0)
		e.settle()
		e.recv(s, 6, stack.MsgPeek|stack.MsgWaitAll|stack.MsgDontWait)
		e.recv(s, 2, stack.MsgPeek|stack.MsgWaitAll)
		e.shutdown(c, stack.ShutWR)
		e.settle()
		e.recv(s, 6, stack.MsgPeek|stack.MsgWaitAll)
		e.recv(s, 6, 0)
	}},
	{"connect/port-0", func(e *denv) {
		c := e.socket(tcp)
		e.connect(c, e.atAddr("127.0.0.1", "0"))
	}},
	{"connect/bound-first", func(e *denv) {
		e.listener("P")
		c := e.socket(tcp)
		e.bind(c, e.at("C"))
		e.connect(c, e.at("P"))
		e.sockname(c)
	}},
	{"connect/closed-fd", func(e *denv) {
		c := e.socket(tcp)
		e.close(c)
		e.connect(c, e.at("P"))
	}},
	{"connect/other-loopback-address", func(e *denv) {
		l := e.socket(tcp)
		e.bind(l, e.atAddr("127.0.0.2", "P"))
		e.listen(l, 4)
		c := e.socket(tcp)
		e.connect(c, e.atAddr("127.0.0.2", "P"))
		e.sockname(c)
	}},
	{"connect/after-shutdown", func(e *denv) {
		_, c, _ := e.connPair()
		e.shutdown(c, stack.ShutRDWR)
		e.connect(c, e.at("P"))
	}},
	{"connect/sockname-before", func(e *denv) {
		c := e.socket(tcp)
		e.sockname(c)
		e.peername(c)
	}},
	{"connect/udp-peername", func(e *denv) {
		u := e.socket(udp)
		e.connect(u, e.at("U2"))
		e.peername(u)
		e.sockname(u)
	}},

	// bind
	{"bind/ok", func(e *denv) {
		s := e.socket(tcp)
		e.bind(s, e.at("P"))
		e.sockname(s)
	}},
	{"bind/twice", func(e *denv) {
		s := e.socket(tcp)
		e.bind(s, e.at("P"))
		e.bind(s, e.at("Q"))
	}},
	{"bind/port-of-listener", func(e *denv) {
		e.listener("P")
		s := e.socket(tcp)
		e.bind(s, e.at("P"))
	}},
	{"bind/same-port-twice", func(e *denv) {
		a := e.socket(tcp)
		e.bind(a, e.at("P"))
		b := e.socket(tcp)
		e.bind(b, e.at("P"))
	}},
	{"bind/reuseaddr-both", func(e *denv) {
		a := e.socket(tcp)
		e.setopt(a, stack.SoReuseAddr, 1)
		e.bind(a, e.at("P"))
		b := e.socket(tcp)
		e.setopt(b, stack.SoReuseAddr, 1)
		e.bind(b, e.at("P"))
	}},
	{"bind/reuseaddr-one", func(e *denv) {
		a := e.socket(tcp)
		e.bind(a, e.at("P"))
		b := e.socket(tcp)
		e.setopt(b, stack.SoReuseAddr, 1)
		e.bind(b, e.at("P"))
	}},
	{"bind/reuseaddr-listener", func(e *denv) {
		a := e.socket(tcp)
		e.setopt(a, stack.SoReuseAddr, 1)
		e.bind(a, e.at("P"))
		e.listen(a, 4)
		b := e.socket(tcp)
		e.setopt(b, stack.SoReuseAddr, 1)
		e.bind(b, e.at("P"))
	}},
	{"bind/reuseport-listeners", func(e *denv) {
		a := e.socket(tcp)
		e.setopt(a, stack.SoReusePort, 1)
		e.bind(a, e.at("P"))
		e.listen(a, 4)
		b := e.socket(tcp)
		e.setopt(b, stack.SoReusePort, 1)
		e.bind(b, e.at("P"))
		e.listen(b, 4)
	}},
	{"bind/reuseport-one", func(e *denv) {
		a := e.socket(tcp)
		e.setopt(a, stack.SoReusePort, 1)
		e.bind(a, e.at("P"))
		e.listen(a, 4)
		b := e.socket(tcp)
		e.bind(b, e.at("P"))
	}},
	{"bind/port-0-ephemeral", func(e *denv) {
		s := e.socket(tcp)
		e.bind(s, e.atAddr("127.0.0.1", "0"))
		e.sockname(s)
	}},
	{"bind/not-local", func(e *denv) {
		s := e.socket(tcp)
		e.bind(s, e.atAddr("10.9.9.9", "P"))
	}},
	{"bind/any-over-specific", func(e *denv) {
		a := e.socket(tcp)
		e.bind(a, e.at("P"))
		b := e.socket(tcp)
		e.bind(b, e.atAddr("0.0.0.0", "P"))
	}},
	{"bind/specific-over-any", func(e *denv) {
		a := e.socket(tcp)
		e.bind(a, e.atAddr("0.0.0.0", "P"))
		b := e.socket(tcp)
		e.bind(b, e.at("P"))
	}},
	{"bind/two-loopback-addresses", func(e *denv) {
		a := e.socket(tcp)
		e.bind(a, e.at("P"))
		b := e.socket(tcp)
		e.bind(b, e.atAddr("127.0.0.2", "P"))
	}},
	{"bind/time-wait", func(e *denv) {
		_, c, s := e.connPair()
		e.close(s) // the server closes first: its port stays in TIME_WAIT
		e.settle()
		e.close(c)
		e.settle()
		b := e.socket(tcp)
		e.bind(b, e.at("P"))
	}},
	{"bind/time-wait-reuseaddr", func(e *denv) {
		serverTimeWait(e, true, nil)
		b := e.socket(tcp)
		e.setopt(b, stack.SoReuseAddr, 1)
		e.bind(b, e.at("P"))
		e.listen(b, 4)
	}},
	// A TIME_WAIT keeps the SO_REUSEADDR of the socket that left it
	// (Linux's tw_reuse): a new socket binds over it only when both set
	// it; an accepted socket has its listener's.
	{"bind/time-wait-reuseaddr-new-only", func(e *denv) {
		serverTimeWait(e, false, func(s int) { e.getopt(s, stack.SoReuseAddr) })
		b := e.socket(tcp)
		e.setopt(b, stack.SoReuseAddr, 1)
		e.bind(b, e.at("P"))
	}},
	{"bind/time-wait-reuseaddr-old-only", func(e *denv) {
		serverTimeWait(e, true, func(s int) { e.getopt(s, stack.SoReuseAddr) })
		b := e.socket(tcp)
		e.bind(b, e.at("P"))
	}},
	{"bind/time-wait-reuseaddr-set-late", func(e *denv) {
		// Set on the accepted socket after accept: the TIME_WAIT keeps it.
		serverTimeWait(e, false, func(s int) { e.setopt(s, stack.SoReuseAddr, 1) })
		b := e.socket(tcp)
		e.setopt(b, stack.SoReuseAddr, 1)
		e.bind(b, e.at("P"))
	}},
	{"bind/time-wait-client-port", func(e *denv) {
		l := e.socket(tcp)
		e.bind(l, e.at("P"))
		e.listen(l, 4)
		c := e.socket(tcp)
		e.setopt(c, stack.SoReuseAddr, 1)
		e.bind(c, e.at("Q"))
		e.connect(c, e.at("P"))
		s := e.accept(l)
		e.close(c) // the client closes first: its port Q stays in TIME_WAIT
		e.settle()
		e.close(s)
		e.settle()
		a := e.socket(tcp)
		e.bind(a, e.at("Q"))
		b := e.socket(tcp)
		e.setopt(b, stack.SoReuseAddr, 1)
		e.bind(b, e.at("Q"))
	}},
	{"connect/time-wait-4-tuple", func(e *denv) {
		// A connect from a bound port to the 4-tuple its own TIME_WAIT
		// holds, at once (before tcp_tw_reuse_delay) and while the
		// first connection is still open.
		l := e.socket(tcp)
		e.bind(l, e.at("P"))
		e.listen(l, 4)
		c := e.socket(tcp)
		e.setopt(c, stack.SoReuseAddr, 1)
		e.bind(c, e.at("Q"))
		e.connect(c, e.at("P"))
		s := e.accept(l)
		d := e.socket(tcp)
		e.setopt(d, stack.SoReuseAddr, 1)
		e.bind(d, e.at("Q"))
		e.connect(d, e.at("P"))
		e.close(c)
		e.settle()
		e.close(s)
		e.settle()
		b := e.socket(tcp)
		e.setopt(b, stack.SoReuseAddr, 1)
		e.bind(b, e.at("Q"))
		e.connect(b, e.at("P"))
	}},
	{"connect/fin-wait-2-4-tuple", func(e *denv) {
		// A connect from a bound port to the 4-tuple of its own orphan
		// in FIN_WAIT_2 (closed first; the peer has read nothing and
		// keeps its end open), while the peer's end still holds it.
		l := e.socket(tcp)
		e.bind(l, e.at("P"))
		e.listen(l, 4)
		c := e.socket(tcp)
		e.setopt(c, stack.SoReuseAddr, 1)
		e.bind(c, e.at("Q"))
		e.connect(c, e.at("P"))
		s := e.accept(l)
		e.close(c)
		e.settle()
		b := e.socket(tcp)
		e.setopt(b, stack.SoReuseAddr, 1)
		e.bind(b, e.at("Q"))
		e.connect(b, e.at("P"))
		e.recv(s, 10, stack.MsgDontWait)
	}},
	{"bind/after-connect", func(e *denv) {
		_, c, _ := e.connPair()
		e.bind(c, e.at("Q"))
	}},
	{"bind/udp-same-port", func(e *denv) {
		a := e.socket(udp)
		e.bind(a, e.at("U1"))
		b := e.socket(udp)
		e.bind(b, e.at("U1"))
	}},
	{"bind/udp-reuseaddr", func(e *denv) {
		a := e.socket(udp)
		e.setopt(a, stack.SoReuseAddr, 1)
		e.bind(a, e.at("U1"))
		b := e.socket(udp)
		e.setopt(b, stack.SoReuseAddr, 1)
		e.bind(b, e.at("U1"))
	}},
	{"bind/udp-port-0", func(e *denv) {
		u := e.socket(udp)
		e.bind(u, e.atAddr("127.0.0.1", "0"))
		e.sockname(u)
	}},
	{"bind/udp-and-tcp-same-port", func(e *denv) {
		a := e.socket(tcp)
		e.bind(a, e.at("P"))
		b := e.socket(udp)
		e.bind(b, e.at("P"))
	}},
	{"bind/closed-fd", func(e *denv) {
		s := e.socket(tcp)
		e.close(s)
		e.bind(s, e.at("P"))
	}},
	{"bind/after-close-of-holder", func(e *denv) {
		a := e.socket(tcp)
		e.bind(a, e.at("P"))
		e.close(a)
		b := e.socket(tcp)
		e.bind(b, e.at("P"))
	}},

	// listen and accept
	{"listen/unbound", func(e *denv) {
		l := e.socket(tcp)
		e.listen(l, 4)
		e.sockname(l)
	}},
	{"listen/twice", func(e *denv) {
		l := e.listener("P")
		e.listen(l, 16)
	}},
	{"listen/connected", func(e *denv) {
		_, c, _ := e.connPair()
		e.listen(c, 4)
	}},
	{"listen/udp", func(e *denv) {
		u := e.socket(udp)
		e.listen(u, 4)
	}},
	{"listen/same-port", func(e *denv) {
		e.listener("P")
		b := e.socket(tcp)
		e.listen(b, 4)
		e.bind(b, e.at("P"))
	}},
	{"listen/peername", func(e *denv) {
		l := e.listener("P")
		e.peername(l)
	}},
	{"accept/not-listening", func(e *denv) {
		s := e.socket(tcp)
		e.accept(s)
	}},
	{"accept/nonblocking-empty", func(e *denv) {
		l := e.listener("P")
		e.nonblock(l)
		e.accept(l)
	}},
	{"accept/peer-address", func(e *denv) {
		l := e.listener("P")
		c := e.socket(tcp)
		e.bind(c, e.at("C"))
		e.connect(c, e.at("P"))
		s := e.accept(l)
		e.sockname(s)
		e.peername(s)
	}},
	{"accept/udp", func(e *denv) {
		u := e.socket(udp)
		e.accept(u)
	}},
	{"accept/poll-listener", func(e *denv) {
		l := e.listener("P")
		e.poll(l, stack.PollIn)
		c := e.socket(tcp)
		e.connect(c, e.at("P"))
		e.settle()
		e.poll(l, stack.PollIn)
		e.accept(l)
		e.poll(l, stack.PollIn)
	}},
	{"accept/listener-closed-with-queue", func(e *denv) {
		l := e.listener("P")
		c := e.socket(tcp)
		e.connect(c, e.at("P"))
		e.settle()
		e.close(l)
		e.settle()
		e.recv(c, 10, 0)
	}},
	{"accept/inherits-options", func(e *denv) {
		l := e.socket(tcp)
		e.setopt(l, stack.TCPNoDelay, 1)
		e.setopt(l, stack.SoKeepAlive, 1)
		e.bind(l, e.at("P"))
		e.listen(l, 4)
		c := e.socket(tcp)
		e.connect(c, e.at("P"))
		s := e.accept(l)
		e.getopt(s, stack.TCPNoDelay)
		e.getopt(s, stack.SoKeepAlive)
	}},
	{"accept/reset-in-queue", func(e *denv) {
		// A connection reset while it waits in the accept queue.
		l := e.listener("P")
		c := e.socket(tcp)
		e.connect(c, e.at("P"))
		e.settle()
		e.resetFrom(c)
		s := e.accept(l)
		e.recv(s, 10, 0)
	}},
	{"accept/fin-then-reset-in-queue", func(e *denv) {
		// FIN, then RST, while it waits in the accept queue.
		l := e.listener("P")
		c := e.socket(tcp)
		e.connect(c, e.at("P"))
		e.settle()
		e.shutdown(c, 1)
		e.settle()
		e.resetFrom(c)
		s := e.accept(l)
		e.recv(s, 10, 0)
	}},
	{"accept/inherits-more-options", func(e *denv) {
		l := e.socket(tcp)
		e.setopt(l, stack.SoRcvTimeo, 300)
		e.setopt(l, stack.SoSndTimeo, 400)
		e.setopt(l, stack.SoRcvBuf, 100000)
		e.setopt(l, stack.SoSndBuf, 90000)
		e.setopt(l, stack.SoLinger, 3)
		e.setopt(l, stack.TCPUserTimeout, 5000)
		e.setopt(l, stack.TCPKeepIdle, 77)
		e.setopt(l, stack.TCPKeepIntvl, 11)
		e.setopt(l, stack.TCPKeepCnt, 4)
		e.setopt(l, stack.TCPNotSentLowat, 20000)
		e.setopt(l, stack.TCPSynCnt, 3)
		e.bind(l, e.at("P"))
		e.listen(l, 4)
		c := e.socket(tcp)
		e.connect(c, e.at("P"))
		s := e.accept(l)
		for _, o := range []stack.SockOpt{stack.SoRcvTimeo, stack.SoSndTimeo, stack.SoRcvBuf, stack.SoSndBuf, stack.SoLinger,
			stack.TCPUserTimeout, stack.TCPKeepIdle, stack.TCPKeepIntvl, stack.TCPKeepCnt, stack.TCPNotSentLowat, stack.TCPSynCnt, stack.SoReuseAddr} {
			e.getopt(s, o)
		}
	}},
	{"accept/rcvtimeo", func(e *denv) {
		l := e.listener("P")
		e.setopt(l, stack.SoRcvTimeo, 40)
		e.accept(l)
	}},

	// send and recv
	{"send/unconnected", func(e *denv) {
		c := e.socket(tcp)
		e.send(c, "x", stack.MsgNoSignal)
	}},
	{"recv/unconnected", func(e *denv) {
		c := e.socket(tcp)
		e.recv(c, 10, 0)
	}},
	{"send/roundtrip", func(e *denv) {
		_, c, s := e.connPair()
		e.send(c, "hello", 0)
		e.settle()
		e.recv(s, 10, 0)
		e.send(s, "world", 0)
		e.settle()
		e.recv(c, 3, 0)
		e.recv(c, 10, 0)
	}},
	{"recv/nonblocking-empty", func(e *denv) {
		_, c, _ := e.connPair()
		e.nonblock(c)
		e.recv(c, 10, 0)
	}},
	{"recv/after-peer-close", func(e *denv) {
		_, c, s := e.connPair()
		e.send(s, "bye", 0)
		e.close(s)
		e.settle()
		e.recv(c, 10, 0)
		e.recv(c, 10, 0)
		e.recv(c, 10, 0)
	}},
	{"send/after-peer-close", func(e *denv) {
		_, c, s := e.connPair()
		e.close(s)
		e.settle()
		e.send(c, "a", stack.MsgNoSignal)
		e.settle()
		e.send(c, "b", stack.MsgNoSignal)
		e.send(c, "c", stack.MsgNoSignal)
	}},
	{"send/after-shut-wr", func(e *denv) {
		_, c, _ := e.connPair()
		e.shutdown(c, stack.ShutWR)
		e.send(c, "x", stack.MsgNoSignal)
	}},
	{"recv/after-shut-rd", func(e *denv) {
		_, c, _ := e.connPair()
		e.shutdown(c, stack.ShutRD)
		e.recv(c, 10, 0)
	}},
	{"recv/data-after-shut-rd", func(e *denv) {
		_, c, s := e.connPair()
		e.shutdown(c, stack.ShutRD)
		e.send(s, "late", 0)
		e.settle()
		e.recv(c, 10, 0)
	}},
	{"recv/peek", func(e *denv) {
		_, c, s := e.connPair()
		e.send(s, "abcdef", 0)
		e.settle()
		e.recv(c, 3, stack.MsgPeek)
		e.recv(c, 10, stack.MsgPeek)
		e.recv(c, 10, 0)
	}},
	{"recv/dontwait", func(e *denv) {
		_, c, _ := e.connPair()
		e.recv(c, 10, stack.MsgDontWait)
	}},
	{"recv/waitall", func(e *denv) {
		_, c, s := e.connPair()
		e.send(s, "abc", 0)
		go func() {
			time.Sleep(10 * time.Millisecond)
			e.api.SendMsg(s, []byte("defgh"), 0, netipZero)
		}()
		e.recv(c, 8, stack.MsgWaitAll)
	}},
	{"recv/waitall-eof", func(e *denv) {
		_, c, s := e.connPair()
		e.send(s, "abc", 0)
		e.shutdown(s, stack.ShutWR)
		e.settle()
		e.recv(c, 8, stack.MsgWaitAll)
		e.recv(c, 8, stack.MsgWaitAll)
	}},
	{"recv/zero-length", func(e *denv) {
		_, c, s := e.connPair()
		e.recv(c, 0, stack.MsgDontWait)
		e.send(s, "x", 0)
		e.settle()
		e.recv(c, 0, 0)
		e.inq(c)
	}},
	{"send/zero-length", func(e *denv) {
		_, c, _ := e.connPair()
		e.send(c, "", 0)
	}},
	{"close/unread-data-resets", func(e *denv) {
		_, c, s := e.connPair()
		e.send(c, "unread", 0)
		e.settle()
		e.close(s)
		e.settle()
		e.recv(c, 10, 0)
		e.recv(c, 10, 0)
	}},
	{"close/unread-data-reply-then-reset", func(e *denv) {
		// The peer that closes with unread data has replied first: the
		// reply is read, then ECONNRESET, then the end of the stream
		// (the listen-backlog lesson's neighbour, close-unread-data).
		_, c, s := e.connPair()
		e.send(c, "GET / HTTP/1.0\r\nmore", 0)
		e.settle()
		e.recv(s, 16, 0)
		e.send(s, "HTTP/1.0 413", 0)
		e.close(s)
		e.settle()
		e.recv(c, 100, 0)
		e.recv(c, 100, 0)
		e.recv(c, 100, 0)
		e.send(c, "x", stack.MsgNoSignal)
	}},
	{"close/linger-0-resets", func(e *denv) {
		_, c, s := e.connPair()
		e.resetFrom(s)
		e.poll(c, stack.PollIn|stack.PollOut)
		e.recv(c, 10, 0)
		e.recv(c, 10, 0)
	}},
	{"send/big-nonblocking", func(e *denv) {
		_, c, _ := e.connPair()
		e.nonblock(c)
		e.sendBig(c, 8<<20)
	}},
	{"recv/on-listener", func(e *denv) {
		l := e.listener("P")
		e.recv(l, 10, 0)
	}},
	{"send/on-listener", func(e *denv) {
		l := e.listener("P")
		e.send(l, "x", stack.MsgNoSignal)
	}},
	{"recv/after-reset", func(e *denv) {
		_, c, s := e.connPair()
		e.resetFrom(s)
		e.send(c, "x", stack.MsgNoSignal)
		e.getopt(c, stack.SoError)
	}},
	{"reset/send-twice", func(e *denv) {
		_, c, s := e.connPair()
		e.resetFrom(s)
		e.send(c, "x", stack.MsgNoSignal)
		e.send(c, "x", stack.MsgNoSignal)
		e.recv(c, 10, 0)
	}},
	{"reset/recv-twice", func(e *denv) {
		_, c, s := e.connPair()
		e.resetFrom(s)
		e.recv(c, 10, 0)
		e.recv(c, 10, 0)
		e.getopt(c, stack.SoError)
	}},
	{"reset/data-then-reset", func(e *denv) {
		// Data queued before the RST is still read, then the error.
		_, c, s := e.connPair()
		e.send(s, "abc", 0)
		e.settle()
		e.resetFrom(s)
		e.poll(c, stack.PollIn|stack.PollOut|stack.PollRdHup)
		e.recv(c, 2, 0)
		e.recv(c, 10, 0)
		e.recv(c, 10, 0)
	}},
	{"reset/connect-again", func(e *denv) {
		_, c, s := e.connPair()
		e.resetFrom(s)
		e.connect(c, e.at("P"))
		e.listen(c, 4)
		e.sockname(c)
	}},
	{"reset/shutdown", func(e *denv) {
		_, c, s := e.connPair()
		e.resetFrom(s)
		e.shutdown(c, 1)
		e.shutdown(c, 2)
		e.getopt(c, stack.SoError)
	}},
	{"reset/after-shut-wr", func(e *denv) {
		// Our FIN sent and ACKed, then the peer resets.
		_, c, s := e.connPair()
		e.shutdown(c, 1)
		e.settle()
		e.resetFrom(s)
		e.poll(c, stack.PollIn|stack.PollOut|stack.PollRdHup)
		e.recv(c, 10, 0)
		e.getopt(c, stack.SoError)
	}},
	{"reset/names", func(e *denv) {
		_, c, s := e.connPair()
		e.resetFrom(s)
		e.sockname(c)
		e.peername(c)
	}},
	{"close/names-in-time-wait", func(e *denv) {
		// The descriptor stays open while its connection waits in
		// TIME_WAIT.
		_, c, s := e.connPair()
		e.shutdown(c, 1)
		e.settle()
		e.close(s)
		e.settle()
		e.sockname(c)
		e.peername(c)
		e.poll(c, stack.PollIn|stack.PollOut|stack.PollRdHup)
		e.getopt(c, stack.SoError)
	}},
	{"close/names-after-peer-fin", func(e *denv) {
		_, c, s := e.connPair()
		e.close(s)
		e.settle()
		e.peername(c)
		e.close(c)
	}},
	{"listen/backlog-0", func(e *denv) {
		// listen(0): the accept queue holds one; a SYN that finds it
		// full is dropped, cookies or not. Each connect over lo returns
		// with its handshake done, as Linux's softirq runs first.
		l := e.socket(tcp)
		e.bind(l, e.at("P"))
		e.listen(l, 0)
		var cs []int
		for range 3 {
			c := e.socket(tcp)
			e.nonblock(c)
			e.connect(c, e.at("P"))
			cs = append(cs, c)
		}
		e.settle()
		for _, c := range cs {
			e.poll(c, stack.PollOut)
		}
		e.accept(l)
	}},
	{"listen/relisten-smaller", func(e *denv) {
		// A second listen sets the backlog anew.
		l := e.listener("P")
		e.listen(l, 0)
		c1, c2 := e.socket(tcp), e.socket(tcp)
		e.nonblock(c1)
		e.nonblock(c2)
		e.connect(c1, e.at("P"))
		e.connect(c2, e.at("P"))
		e.settle()
		e.poll(c1, stack.PollOut)
		e.poll(c2, stack.PollOut)
	}},
	{"connect/to-self", func(e *denv) {
		// A socket connecting to its own address: a simultaneous open
		// with itself.
		c := e.socket(tcp)
		e.bind(c, e.at("C"))
		e.connect(c, e.at("C"))
		e.send(c, "hi", 0)
		e.settle()
		e.recv(c, 10, 0)
		e.peername(c)
	}},
	{"recv/peek-after-fin", func(e *denv) {
		_, c, s := e.connPair()
		e.send(s, "ab", 0)
		e.close(s)
		e.settle()
		e.recv(c, 10, stack.MsgPeek)
		e.recv(c, 10, 0)
		e.recv(c, 10, stack.MsgPeek)
		e.recv(c, 10, 0)
	}},
	{"send/after-shut-wr-twice", func(e *denv) {
		_, c, _ := e.connPair()
		e.shutdown(c, 1)
		e.shutdown(c, 1)
		e.send(c, "x", stack.MsgNoSignal)
		e.getopt(c, stack.SoError)
	}},
	{"bind/after-listener-closed", func(e *denv) {
		l := e.listener("P")
		e.close(l)
		l2 := e.socket(tcp)
		e.bind(l2, e.at("P"))
		e.listen(l2, 4)
	}},
	{"bind/port-of-accepted-after-close", func(e *denv) {
		// The server side closes first: its accepted connection waits in
		// TIME_WAIT on the listener's port; the listener closes too.
		l, c, s := e.connPair()
		e.close(s)
		e.settle()
		e.close(c)
		e.settle()
		e.close(l)
		l2 := e.socket(tcp)
		e.bind(l2, e.at("P"))
		l3 := e.socket(tcp)
		e.setopt(l3, stack.SoReuseAddr, 1)
		e.bind(l3, e.at("P"))
	}},
	{"poll/half-closed-both", func(e *denv) {
		// Each side has shut its writing: the events as the FINs cross.
		_, c, s := e.connPair()
		e.shutdown(c, 1)
		e.settle()
		e.poll(c, stack.PollIn|stack.PollOut|stack.PollRdHup)
		e.poll(s, stack.PollIn|stack.PollOut|stack.PollRdHup)
		e.shutdown(s, 1)
		e.settle()
		e.poll(c, stack.PollIn|stack.PollOut|stack.PollRdHup)
		e.poll(s, stack.PollIn|stack.PollOut|stack.PollRdHup)
	}},
	{"poll/listener-reset-in-queue", func(e *denv) {
		l := e.listener("P")
		c := e.socket(tcp)
		e.connect(c, e.at("P"))
		e.settle()
		e.resetFrom(c)
		e.poll(l, stack.PollIn)
		s := e.accept(l)
		e.poll(s, stack.PollIn|stack.PollOut|stack.PollRdHup)
		e.getopt(s, stack.SoError)
		e.recv(s, 10, 0)
	}},
	{"recv/waitall-then-reset", func(e *denv) {
		_, c, s := e.connPair()
		e.send(s, "abc", 0)
		e.settle()
		e.resetFrom(s)
		e.recv(c, 10, stack.MsgWaitAll)
		e.recv(c, 10, stack.MsgWaitAll)
	}},
	{"close/unread-after-shut-rd", func(e *denv) {
		// Data arrives, shutdown(SHUT_RD), close: unread data makes the
		// close a RST still.
		_, c, s := e.connPair()
		e.send(s, "abc", 0)
		e.settle()
		e.shutdown(c, 0)
		e.close(c)
		e.settle()
		e.recv(s, 10, 0)
	}},
	{"close/unread-after-peer-fin", func(e *denv) {
		_, c, s := e.connPair()
		e.send(s, "abc", 0)
		e.close(s)
		e.settle()
		e.close(c)
		e.settle()
		e.send(s, "x", stack.MsgNoSignal)
	}},
	{"close/data-after-shut-rd-then-close", func(e *denv) {
		// shutdown(SHUT_RD) first, then data comes, then close.
		_, c, s := e.connPair()
		e.shutdown(c, 0)
		e.send(s, "abc", 0)
		e.settle()
		e.close(c)
		e.settle()
		e.recv(s, 10, 0)
	}},
	{"connect/to-any-address", func(e *denv) {
		// connect to the unspecified address reaches this host, as
		// Linux routes INADDR_ANY (and ::) to the loopback.
		e.listener("P")
		c := e.socket(tcp)
		any := netip.AddrPortFrom(netip.IPv4Unspecified(), e.port("P"))
		if e.v6 {
			any = netip.AddrPortFrom(netip.IPv6Unspecified(), e.port("P"))
		}
		e.connect(c, any)
		e.peername(c)
	}},
	{"udp/to-any-address", func(e *denv) {
		a, b := e.udpPair()
		any := netip.AddrPortFrom(netip.IPv4Unspecified(), e.port("U2"))
		if e.v6 {
			any = netip.AddrPortFrom(netip.IPv6Unspecified(), e.port("U2"))
		}
		e.sendto(a, "x", any)
		e.settle()
		e.recvfrom(b, 10)
		e.connect(a, any)
		e.peername(a)
	}},
	{"udp/recv-zero-length", func(e *denv) {
		// A zero-length read of a datagram consumes it.
		a, b := e.udpPair()
		e.sendto(a, "one", e.at("U2"))
		e.sendto(a, "two", e.at("U2"))
		e.settle()
		e.recv(b, 0, 0)
		e.recv(b, 10, 0)
	}},
	{"udp/send-too-big", func(e *denv) {
		a, _ := e.udpPair()
		e.sendto(a, strings.Repeat("x", 65508), e.at("U2"))
		e.sendto(a, strings.Repeat("x", 65507), e.at("U2"))
	}},
	{"udp/connect-then-sendto-other", func(e *denv) {
		// A connected UDP socket may still sendto another address
		// (Linux), and receives only from its peer.
		a, b := e.udpPair()
		c := e.socket(stack.SockDgram)
		e.bind(c, e.at("U3"))
		e.connect(a, e.at("U2"))
		e.sendto(a, "to-c", e.at("U3"))
		e.settle()
		e.recvfrom(c, 10)
		e.sendto(c, "from-c", e.at("U1"))
		e.sendto(b, "from-b", e.at("U1"))
		e.settle()
		e.recvfrom(a, 10)
		e.nonblock(a)
		e.recvfrom(a, 10)
	}},
	{"recv/rcvtimeo", func(e *denv) {
		_, c, _ := e.connPair()
		e.setopt(c, stack.SoRcvTimeo, 40)
		e.getopt(c, stack.SoRcvTimeo)
		e.recv(c, 10, 0)
	}},
	{"send/sndbuf-1", func(e *denv) {
		_, c, _ := e.connPair()
		e.setopt(c, stack.SoSndBuf, 1)
		e.getopt(c, stack.SoSndBuf)
		e.nonblock(c)
		e.send(c, "x", 0)
	}},
	{"recv/inq", func(e *denv) {
		_, c, s := e.connPair()
		e.inq(c)
		e.send(s, "1234567", 0)
		e.settle()
		e.inq(c)
		e.recv(c, 3, 0)
		e.inq(c)
	}},
	{"recv/inq-listener", func(e *denv) {
		l := e.listener("P")
		e.inq(l)
	}},
	{"send/to-address-on-stream", func(e *denv) {
		_, c, s := e.connPair()
		e.sendto(c, "x", e.at("Z"))
		e.settle()
		e.recv(s, 10, 0)
	}},

	// shutdown
	{"shutdown/unconnected", func(e *denv) {
		c := e.socket(tcp)
		e.shutdown(c, stack.ShutWR)
	}},
	{"shutdown/bad-how", func(e *denv) {
		_, c, _ := e.connPair()
		e.shutdown(c, 7)
	}},
	{"shutdown/bad-how-unconnected", func(e *denv) {
		c := e.socket(tcp)
		e.shutdown(c, 7)
	}},
	{"shutdown/wr-peer-eof", func(e *denv) {
		_, c, s := e.connPair()
		e.shutdown(c, stack.ShutWR)
		e.settle()
		e.recv(s, 10, 0)
		e.send(s, "still", 0)
		e.settle()
		e.recv(c, 10, 0)
	}},
	{"shutdown/twice", func(e *denv) {
		_, c, _ := e.connPair()
		e.shutdown(c, stack.ShutWR)
		e.shutdown(c, stack.ShutWR)
		e.shutdown(c, stack.ShutRDWR)
	}},
	{"shutdown/udp-connected", func(e *denv) {
		u := e.socket(udp)
		e.connect(u, e.at("U2"))
		e.shutdown(u, stack.ShutRDWR)
	}},
	{"shutdown/udp-unconnected", func(e *denv) {
		u := e.socket(udp)
		e.shutdown(u, stack.ShutRDWR)
	}},
	{"shutdown/rdwr-poll", func(e *denv) {
		_, c, _ := e.connPair()
		e.shutdown(c, stack.ShutRDWR)
		e.poll(c, stack.PollIn|stack.PollOut|stack.PollRdHup)
	}},
	{"shutdown/listener", func(e *denv) {
		l := e.listener("P")
		e.shutdown(l, stack.ShutRDWR)
		e.nonblock(l)
		e.accept(l)
	}},
	{"shutdown/listener-wr", func(e *denv) {
		l := e.listener("P")
		e.shutdown(l, stack.ShutWR)
		e.poll(l, stack.PollIn|stack.PollOut)
	}},

	// close
	{"close/twice", func(e *denv) {
		c := e.socket(tcp)
		e.close(c)
		e.close(c)
	}},
	{"close/data-then-eof", func(e *denv) {
		_, c, s := e.connPair()
		e.send(c, "last words", 0)
		e.close(c)
		e.settle()
		e.recv(s, 100, 0)
		e.recv(s, 100, 0)
	}},
	{"close/fd-reused-lowest", func(e *denv) {
		a := e.socket(tcp)
		b := e.socket(tcp)
		e.close(a)
		c := e.socket(tcp)
		e.log("reused lowest: %v", c == a)
		_ = b
	}},
	{"close/blocked-recv", func(e *denv) {
		_, c, _ := e.connPair()
		e.setopt(c, stack.SoRcvTimeo, 100)
		res := make(chan string, 1)
		t0 := time.Now()
		started := make(chan struct{})
		go func() {
			close(started)
			_, _, err := e.api.RecvMsg(c, make([]byte, 10), 0)
			res <- errName(err)
		}()
		<-started
		time.Sleep(20 * time.Millisecond)
		e.close(c)
		// The close must come while the recv still waits: past its
		// 100 ms SO_RCVTIMEO (a stalled process) it has returned EAGAIN
		// on either side and the run says nothing about close.
		e.withinWindow(t0, 70*time.Millisecond)
		e.log("blocked recv returned %s", <-res)
	}},

	// poll
	{"poll/new-tcp", func(e *denv) {
		c := e.socket(tcp)
		e.poll(c, stack.PollIn|stack.PollOut)
	}},
	{"poll/connected-idle", func(e *denv) {
		_, c, _ := e.connPair()
		e.poll(c, stack.PollIn|stack.PollOut)
	}},
	{"poll/data", func(e *denv) {
		_, c, s := e.connPair()
		e.send(s, "x", 0)
		e.settle()
		e.poll(c, stack.PollIn|stack.PollOut)
	}},
	{"poll/peer-fin-rdhup", func(e *denv) {
		_, c, s := e.connPair()
		e.shutdown(s, stack.ShutWR)
		e.settle()
		e.poll(c, stack.PollIn|stack.PollOut|stack.PollRdHup)
		e.poll(c, stack.PollOut)
	}},
	{"poll/closed-fd", func(e *denv) {
		c := e.socket(tcp)
		e.close(c)
		e.poll(c, stack.PollIn)
	}},
	{"poll/after-reset", func(e *denv) {
		_, c, s := e.connPair()
		e.resetFrom(s)
		e.poll(c, stack.PollIn|stack.PollOut|stack.PollRdHup)
	}},
	{"poll/udp", func(e *denv) {
		a, b := e.udpPair()
		e.poll(b, stack.PollIn|stack.PollOut)
		e.sendto(a, "x", e.at("U2"))
		e.settle()
		e.poll(b, stack.PollIn|stack.PollOut)
	}},
	{"poll/many-with-negative", func(e *denv) {
		l, c, _ := e.connPair()
		fds := []stack.PollFD{{FD: l, Events: stack.PollIn}, {FD: -1, Events: stack.PollIn}, {FD: c, Events: stack.PollOut}}
		n, err := e.api.PollFDs(fds, 0)
		e.log("poll = %d %s %v %v %v", n, errName(err), fds[0].Revents, fds[1].Revents, fds[2].Revents)
	}},
	{"poll/timeout", func(e *denv) {
		l := e.listener("P")
		fds := []stack.PollFD{{FD: l, Events: stack.PollIn}}
		n, err := e.api.PollFDs(fds, 20*time.Millisecond)
		e.log("poll(20ms) = %d %s %v", n, errName(err), fds[0].Revents)
	}},
	{"poll/shut-rd", func(e *denv) {
		_, c, _ := e.connPair()
		e.shutdown(c, stack.ShutRD)
		e.poll(c, stack.PollIn|stack.PollRdHup)
	}},
	{"poll/refused-connect", func(e *denv) {
		c := e.socket(tcp)
		e.nonblock(c)
		e.connect(c, e.at("Q"))
		e.settle()
		e.poll(c, stack.PollOut|stack.PollRdHup)
	}},

	// UDP
	{"udp/roundtrip", func(e *denv) {
		a, b := e.udpPair()
		e.sendto(a, "ping", e.at("U2"))
		e.settle()
		e.recvfrom(b, 100)
	}},
	{"udp/connected-refused", func(e *denv) {
		u := e.socket(udp)
		e.connect(u, e.at("U9"))
		e.send(u, "x", 0)
		e.settle()
		e.recv(u, 10, 0)
		e.send(u, "x", 0)
		e.settle()
		e.getopt(u, stack.SoError)
	}},
	{"udp/send-unconnected", func(e *denv) {
		u := e.socket(udp)
		e.send(u, "x", 0)
	}},
	{"udp/truncation", func(e *denv) {
		a, b := e.udpPair()
		e.nonblock(b)
		e.sendto(a, "0123456789", e.at("U2"))
		e.settle()
		e.recvfrom(b, 4)
		e.recvfrom(b, 100)
	}},
	{"udp/sendto-while-connected", func(e *denv) {
		a, b := e.udpPair()
		c := e.socket(udp)
		e.bind(c, e.at("U3"))
		e.connect(a, e.at("U2"))
		e.sendto(a, "x", e.at("U3"))
		e.settle()
		e.nonblock(b)
		e.recvfrom(c, 10)
		e.recvfrom(b, 10)
	}},
	{"udp/empty-datagram", func(e *denv) {
		a, b := e.udpPair()
		e.sendto(a, "", e.at("U2"))
		e.settle()
		e.inq(b)
		e.recvfrom(b, 10)
	}},
	{"udp/connected-filters", func(e *denv) {
		a, b := e.udpPair()
		c := e.socket(udp)
		e.bind(c, e.at("U3"))
		e.connect(b, e.at("U1"))
		e.sendto(c, "from c", e.at("U2"))
		e.sendto(a, "from a", e.at("U2"))
		e.settle()
		e.nonblock(b)
		e.recvfrom(b, 10)
		e.recvfrom(b, 10)
	}},
	{"udp/peek", func(e *denv) {
		a, b := e.udpPair()
		e.sendto(a, "one", e.at("U2"))
		e.sendto(a, "two", e.at("U2"))
		e.settle()
		e.recv(b, 10, stack.MsgPeek)
		e.inq(b)
		e.recvfrom(b, 10)
		e.recvfrom(b, 10)
	}},
	{"udp/dontwait", func(e *denv) {
		_, b := e.udpPair()
		e.recv(b, 10, stack.MsgDontWait)
	}},
	{"udp/sendto-port-0", func(e *denv) {
		u := e.socket(udp)
		e.sendto(u, "x", e.atAddr("127.0.0.1", "0"))
	}},
	{"udp/autobind-on-send", func(e *denv) {
		u := e.socket(udp)
		e.sendto(u, "x", e.at("U2"))
		e.sockname(u)
	}},
	{"udp/reconnect", func(e *denv) {
		u := e.socket(udp)
		e.connect(u, e.at("U2"))
		e.connect(u, e.at("U3"))
		e.peername(u)
	}},
	{"udp/bind-after-autobind", func(e *denv) {
		u := e.socket(udp)
		e.sendto(u, "x", e.at("U2"))
		e.bind(u, e.at("U1"))
	}},
	{"udp/rcvtimeo", func(e *denv) {
		_, b := e.udpPair()
		e.setopt(b, stack.SoRcvTimeo, 40)
		e.recvfrom(b, 10)
	}},

	// socket options
	{"opt/tcp-option-on-udp", func(e *denv) {
		u := e.socket(udp)
		e.setopt(u, stack.TCPNoDelay, 1)
		e.getopt(u, stack.TCPNoDelay)
	}},
	{"opt/keepidle-0", func(e *denv) {
		c := e.socket(tcp)
		e.setopt(c, stack.TCPKeepIdle, 0)
		e.setopt(c, stack.TCPKeepIdle, -1)
		e.setopt(c, stack.TCPKeepIdle, 40000)
		e.setopt(c, stack.TCPKeepIdle, 60)
		e.getopt(c, stack.TCPKeepIdle)
	}},
	{"opt/keepintvl-range", func(e *denv) {
		c := e.socket(tcp)
		e.setopt(c, stack.TCPKeepIntvl, 0)
		e.setopt(c, stack.TCPKeepIntvl, 5)
		e.getopt(c, stack.TCPKeepIntvl)
	}},
	{"opt/keepcnt-range", func(e *denv) {
		c := e.socket(tcp)
		e.setopt(c, stack.TCPKeepCnt, 0)
		e.setopt(c, stack.TCPKeepCnt, 128)
		e.setopt(c, stack.TCPKeepCnt, 3)
		e.getopt(c, stack.TCPKeepCnt)
	}},
	{"opt/keepalive-defaults", func(e *denv) {
		c := e.socket(tcp)
		e.getopt(c, stack.SoKeepAlive)
		e.getopt(c, stack.TCPKeepIdle)
		e.getopt(c, stack.TCPKeepIntvl)
		e.getopt(c, stack.TCPKeepCnt)
	}},
	{"opt/keepalive-set-get", func(e *denv) {
		c := e.socket(tcp)
		e.setopt(c, stack.SoKeepAlive, 5)
		e.getopt(c, stack.SoKeepAlive)
	}},
	{"opt/congestion", func(e *denv) {
		c := e.socket(tcp)
		e.congestion(c, "cubic")
		e.congestion(c, "reno")
		e.congestion(c, "no-such-cc")
	}},
	{"opt/so-type", func(e *denv) {
		e.getopt(e.socket(tcp), stack.SoType)
		e.getopt(e.socket(udp), stack.SoType)
	}},
	{"opt/so-error-fresh", func(e *denv) {
		e.getopt(e.socket(tcp), stack.SoError)
	}},
	{"opt/nodelay", func(e *denv) {
		c := e.socket(tcp)
		e.getopt(c, stack.TCPNoDelay)
		e.setopt(c, stack.TCPNoDelay, 1)
		e.getopt(c, stack.TCPNoDelay)
	}},
	{"opt/reuse-get", func(e *denv) {
		c := e.socket(tcp)
		e.getopt(c, stack.SoReuseAddr)
		e.setopt(c, stack.SoReuseAddr, 1)
		e.setopt(c, stack.SoReusePort, 1)
		e.getopt(c, stack.SoReuseAddr)
		e.getopt(c, stack.SoReusePort)
	}},
	{"opt/linger", func(e *denv) {
		c := e.socket(tcp)
		e.getopt(c, stack.SoLinger)
		e.setopt(c, stack.SoLinger, 5)
		e.getopt(c, stack.SoLinger)
	}},
	{"opt/rcvbuf-doubled", func(e *denv) {
		c := e.socket(tcp)
		e.setopt(c, stack.SoRcvBuf, 1)
		e.getopt(c, stack.SoRcvBuf)
		e.setopt(c, stack.SoRcvBuf, 50000)
		e.getopt(c, stack.SoRcvBuf)
	}},
	{"opt/sndbuf-doubled", func(e *denv) {
		c := e.socket(tcp)
		e.setopt(c, stack.SoSndBuf, 1)
		e.getopt(c, stack.SoSndBuf)
		e.setopt(c, stack.SoSndBuf, 30000)
		e.getopt(c, stack.SoSndBuf)
	}},
	{"opt/udp-rcvbuf", func(e *denv) {
		u := e.socket(udp)
		e.setopt(u, stack.SoRcvBuf, 4000)
		e.getopt(u, stack.SoRcvBuf)
	}},
	{"opt/unknown", func(e *denv) {
		c := e.socket(tcp)
		e.setopt(c, optNoSuch, 1)
		e.getopt(c, optNoSuch)
	}},
	{"opt/ttl", func(e *denv) {
		u := e.socket(udp)
		e.getopt(u, stack.IPTTL)
		e.setopt(u, stack.IPTTL, 0)
		e.setopt(u, stack.IPTTL, 256)
		e.setopt(u, stack.IPTTL, 7)
		e.getopt(u, stack.IPTTL)
		e.setopt(u, stack.IPTTL, -1)
		e.getopt(u, stack.IPTTL)
	}},
	{"opt/maxseg-life", func(e *denv) {
		// TCP_MAXSEG before connecting (536, or what was set), set out
		// of range, on a listener and its accepted socket, and once
		// connected over lo.
		c := e.socket(tcp)
		e.getopt(c, stack.TCPMaxSeg)
		e.setopt(c, stack.TCPMaxSeg, 87)
		e.setopt(c, stack.TCPMaxSeg, 32768)
		e.setopt(c, stack.TCPMaxSeg, 1000)
		e.getopt(c, stack.TCPMaxSeg)
		l := e.socket(tcp)
		e.bind(l, e.at("P"))
		e.setopt(l, stack.TCPMaxSeg, 1200)
		e.listen(l, 4)
		e.getopt(l, stack.TCPMaxSeg)
		e.connect(c, e.at("P"))
		s := e.accept(l)
		e.getopt(c, stack.TCPMaxSeg)
		e.getopt(s, stack.TCPMaxSeg)
		e.setopt(c, stack.TCPMaxSeg, 500)
		e.getopt(c, stack.TCPMaxSeg)
	}},
	{"opt/ttl-tcp-inherit-and-reset", func(e *denv) {
		l := e.socket(tcp)
		e.setopt(l, stack.IPTTL, 9)
		e.bind(l, e.at("P"))
		e.listen(l, 4)
		c := e.socket(tcp)
		e.connect(c, e.at("P"))
		s := e.accept(l)
		e.getopt(s, stack.IPTTL)
		e.setopt(s, stack.IPTTL, -1)
		e.getopt(s, stack.IPTTL)
		e.getopt(c, stack.IPTTL)
	}},
	{"listen/negative-backlog", func(e *denv) {
		l := e.socket(tcp)
		e.bind(l, e.at("P"))
		e.listen(l, -1)
		c := e.socket(tcp)
		e.connect(c, e.at("P"))
		e.accept(l)
	}},
	{"bind/udp-reuseport", func(e *denv) {
		a := e.socket(udp)
		e.setopt(a, stack.SoReusePort, 1)
		e.bind(a, e.at("U1"))
		b := e.socket(udp)
		e.setopt(b, stack.SoReusePort, 1)
		e.bind(b, e.at("U1"))
		c := e.socket(udp)
		e.bind(c, e.at("U1"))
	}},
	{"bind/udp-any-then-specific", func(e *denv) {
		a := e.socket(udp)
		e.bind(a, e.atAddr("0.0.0.0", "U1"))
		b := e.socket(udp)
		e.bind(b, e.atAddr("127.0.0.1", "U1"))
		e.setopt(b, stack.SoReuseAddr, 1)
		c := e.socket(udp)
		e.setopt(c, stack.SoReuseAddr, 1)
		e.bind(c, e.atAddr("127.0.0.1", "U1"))
	}},
	{"shutdown/listener-rdwr-then-accept", func(e *denv) {
		l := e.listener("P")
		c := e.socket(tcp)
		e.connect(c, e.at("P"))
		e.shutdown(l, stack.ShutRDWR)
		e.accept(l)
		e.listen(l, 4)
		e.sockname(l)
	}},
	{"udp/connect-port-0", func(e *denv) {
		u := e.socket(udp)
		e.connect(u, e.atAddr("127.0.0.1", "0"))
		e.peername(u)
		e.send(u, "x", 0)
	}},
	{"opt/broadcast", func(e *denv) {
		u := e.socket(udp)
		e.getopt(u, stack.SoBroadcast)
		e.setopt(u, stack.SoBroadcast, 1)
		e.getopt(u, stack.SoBroadcast)
	}},
	{"opt/timeouts", func(e *denv) {
		c := e.socket(tcp)
		e.getopt(c, stack.SoRcvTimeo)
		e.setopt(c, stack.SoSndTimeo, 1500)
		e.getopt(c, stack.SoSndTimeo)
	}},
	{"opt/user-timeout", func(e *denv) {
		c := e.socket(tcp)
		e.getopt(c, stack.TCPUserTimeout)
		e.setopt(c, stack.TCPUserTimeout, -1)
		e.setopt(c, stack.TCPUserTimeout, 2500)
		e.getopt(c, stack.TCPUserTimeout)
		u := e.socket(udp)
		e.setopt(u, stack.TCPUserTimeout, 10)
	}},
	{"udp/broadcast-needs-so-broadcast", func(e *denv) {
		u := e.socket(udp)
		e.sendto(u, "x", e.atAddr("127.255.255.255", "U2"))
		e.connect(u, e.atAddr("127.255.255.255", "U2"))
		e.send(u, "x", 0)
	}},
	{"udp/broadcast-delivery", func(e *denv) {
		// A broadcast over lo reaches the sockets on its port bound to
		// the any address or to the broadcast address, not one bound to
		// 127.0.0.1; a unicast does not reach the broadcast-bound one.
		any := e.socket(udp)
		e.setopt(any, stack.SoReuseAddr, 1)
		e.bind(any, e.atAddr("0.0.0.0", "U2"))
		bc := e.socket(udp)
		e.setopt(bc, stack.SoReuseAddr, 1)
		e.bind(bc, e.atAddr("127.255.255.255", "U2"))
		lo := e.socket(udp)
		e.setopt(lo, stack.SoReuseAddr, 1)
		e.bind(lo, e.atAddr("127.0.0.1", "U2"))
		u := e.socket(udp)
		e.setopt(u, stack.SoBroadcast, 1)
		e.sendto(u, "b", e.atAddr("127.255.255.255", "U2"))
		e.sendto(u, "u", e.atAddr("127.0.0.1", "U2"))
		e.settle()
		e.nonblock(any)
		e.nonblock(bc)
		e.nonblock(lo)
		e.recvfrom(any, 10)
		e.recvfrom(any, 10)
		e.recvfrom(bc, 10)
		e.recvfrom(bc, 10)
		e.recvfrom(lo, 10)
		e.recvfrom(lo, 10)
	}},
	{"udp/connected-to-broadcast", func(e *denv) {
		r := e.socket(udp)
		e.bind(r, e.atAddr("0.0.0.0", "U2"))
		u := e.socket(udp)
		e.setopt(u, stack.SoBroadcast, 1)
		e.connect(u, e.atAddr("127.255.255.255", "U2"))
		e.peername(u)
		e.sockname(u)
		e.send(u, "x", 0)
		e.settle()
		e.recvfrom(r, 10)
	}},
	{"opt/quickack", func(e *denv) {
		_, c, _ := e.connPair()
		e.setopt(c, stack.TCPQuickAck, 1)
		e.getopt(c, stack.TCPQuickAck)
	}},
	{"opt/closed-fd", func(e *denv) {
		c := e.socket(tcp)
		e.close(c)
		e.setopt(c, stack.TCPNoDelay, 1)
		e.getopt(c, stack.TCPNoDelay)
	}},
	{"opt/so-error-after-refused", func(e *denv) {
		u := e.socket(udp)
		e.connect(u, e.at("U9"))
		e.send(u, "x", 0)
		e.settle()
		e.getopt(u, stack.SoError)
		e.getopt(u, stack.SoError)
	}},

	// errors on descriptors
	{"err/bad-fd-calls", func(e *denv) {
		const bad = 9999
		e.bind(bad, e.at("P"))
		e.listen(bad, 1)
		e.accept(bad)
		e.connect(bad, e.at("P"))
		e.send(bad, "x", 0)
		e.recv(bad, 1, 0)
		e.shutdown(bad, stack.ShutRDWR)
		e.close(bad)
	}},
	{"err/negative-fd", func(e *denv) {
		e.close(-1)
		e.sockname(-1)
	}},
	{"err/peername-unconnected-udp", func(e *denv) {
		u := e.socket(udp)
		e.peername(u)
	}},
	{"err/listen-after-connect-refused", func(e *denv) {
		c := e.socket(tcp)
		e.connect(c, e.at("Q"))
		e.listen(c, 4)
		e.sockname(c)
	}},
	{"err/send-after-refused", func(e *denv) {
		c := e.socket(tcp)
		e.connect(c, e.at("Q"))
		e.send(c, "x", stack.MsgNoSignal)
		e.recv(c, 1, 0)
	}},
	{"err/accept-after-listener-shutdown-rd", func(e *denv) {
		l := e.listener("P")
		e.shutdown(l, stack.ShutRD)
		e.listen(l, 4)
		e.nonblock(l)
		e.accept(l)
	}},
}

var netipZero netip.AddrPort

// serverTimeWait leaves port P in TIME_WAIT on the server's side: a
// listener on P (with SO_REUSEADDR if reuse) accepts a connection, then
// the listener and the accepted socket close before the client does.
// accepted, if set, sees the accepted socket first.
func serverTimeWait(e *denv, reuse bool, accepted func(s int)) {
	l := e.socket(tcp)
	if reuse {
		e.setopt(l, stack.SoReuseAddr, 1)
	}
	e.bind(l, e.at("P"))
	e.listen(l, 4)
	c := e.socket(tcp)
	e.connect(c, e.at("P"))
	s := e.accept(l)
	if accepted != nil {
		accepted(s)
	}
	e.close(l)
	e.close(s)
	e.settle()
	e.close(c)
	e.settle()
}
