//go:build linux

package stack_test

import (
	"stacklab/stack"
)

// The epoll cases: epoll_create/ctl/wait against the kernel's, level-
// and edge-triggered, one-shot, and epoll_ctl's errors.
func init() { diffCases = append(diffCases, epollCases...) }

const (
	in      = stack.PollIn
	out     = stack.PollOut
	rdhup   = stack.PollRdHup
	et      = stack.EpollET
	oneshot = stack.EpollOneShot
)

var epollCases = []diffCase{
	{"epoll/level-triggered", func(e *denv) {
		_, c, s := e.connPair()
		ep, _ := e.api.EpollCreate()
		e.open[ep] = true
		names := map[int]string{s: "s", c: "c"}
		e.epollCtl(ep, stack.EpollAdd, s, "s", in)
		e.epollWait(ep, names, 0)
		e.send(c, "abc", 0)
		e.settle()
		e.epollWait(ep, names, 0)
		e.epollWait(ep, names, 0) // still ready: reported again
		e.recv(s, 1, 0)
		e.epollWait(ep, names, 0)
		e.recv(s, 10, 0)
		e.epollWait(ep, names, 0)
	}},
	{"epoll/edge-triggered", func(e *denv) {
		_, c, s := e.connPair()
		ep, _ := e.api.EpollCreate()
		e.open[ep] = true
		names := map[int]string{s: "s"}
		e.epollCtl(ep, stack.EpollAdd, s, "s", in|et)
		e.send(c, "abc", 0)
		e.settle()
		e.epollWait(ep, names, 0)
		e.epollWait(ep, names, 0) // no new edge
		e.recv(s, 1, 0)
		e.epollWait(ep, names, 0) // reading part is no edge
		e.send(c, "d", 0)
		e.settle()
		e.epollWait(ep, names, 0) // new data is
		e.epollCtl(ep, stack.EpollMod, s, "s", in|et)
		e.epollWait(ep, names, 0) // MOD re-checks readiness
	}},
	{"epoll/oneshot", func(e *denv) {
		_, c, s := e.connPair()
		ep, _ := e.api.EpollCreate()
		e.open[ep] = true
		names := map[int]string{s: "s"}
		e.epollCtl(ep, stack.EpollAdd, s, "s", in|oneshot)
		e.send(c, "x", 0)
		e.settle()
		e.epollWait(ep, names, 0)
		e.send(c, "y", 0)
		e.settle()
		e.epollWait(ep, names, 0) // disabled until MOD
		e.epollCtl(ep, stack.EpollMod, s, "s", in|oneshot)
		e.epollWait(ep, names, 0)
		e.epollCtl(ep, stack.EpollDel, s, "s", 0)
		e.epollCtl(ep, stack.EpollDel, s, "s", 0)
	}},
	{"epoll/ctl-errors", func(e *denv) {
		ep, _ := e.api.EpollCreate()
		e.open[ep] = true
		u := e.socket(udp)
		e.epollCtl(ep, stack.EpollMod, u, "u", in)
		e.epollCtl(ep, stack.EpollDel, u, "u", in)
		e.epollCtl(ep, stack.EpollAdd, u, "u", in)
		e.epollCtl(ep, stack.EpollAdd, u, "u", in)
		e.epollCtl(ep, stack.EpollAdd, ep, "ep", in)
		e.epollCtl(u, stack.EpollAdd, ep, "ep", in)
		e.epollCtl(ep, stack.EpollAdd, 999, "999", in)
		e.epollCtl(999, stack.EpollAdd, u, "u", in)
		e.epollCtl(ep, stack.EpollOp(9), u, "u", in)
	}},
	{"epoll/fresh-sockets", func(e *denv) {
		// A TCP socket never connected is EPOLLOUT|EPOLLHUP in Linux;
		// a UDP socket writable; a listener nothing.
		ep, _ := e.api.EpollCreate()
		e.open[ep] = true
		t := e.socket(tcp)
		u := e.socket(udp)
		l := e.listener("P")
		names := map[int]string{t: "tcp", u: "udp", l: "listener"}
		e.epollCtl(ep, stack.EpollAdd, t, "tcp", in|out|rdhup)
		e.epollCtl(ep, stack.EpollAdd, u, "udp", in|out)
		e.epollCtl(ep, stack.EpollAdd, l, "listener", in|out)
		e.epollWait(ep, names, 0)
	}},
	{"epoll/peer-close-rdhup", func(e *denv) {
		_, c, s := e.connPair()
		ep, _ := e.api.EpollCreate()
		e.open[ep] = true
		names := map[int]string{s: "s"}
		e.epollCtl(ep, stack.EpollAdd, s, "s", in|rdhup|et)
		e.shutdown(c, stack.ShutWR)
		e.settle()
		e.epollWait(ep, names, 0)
		e.close(c)
		e.settle()
		e.epollWait(ep, names, 0)
		e.send(s, "x", 0)
		e.settle()
		e.epollWait(ep, names, 0)
	}},
	{"epoll/reset", func(e *denv) {
		// A RST: EPOLLERR and EPOLLHUP reported without being asked for,
		// level-triggered until the error is read.
		_, c, s := e.connPair()
		ep, _ := e.api.EpollCreate()
		e.open[ep] = true
		names := map[int]string{c: "c"}
		e.epollCtl(ep, stack.EpollAdd, c, "c", in)
		e.setopt(s, stack.SoLinger, 0)
		e.close(s)
		e.settle()
		e.epollWait(ep, names, 0)
		e.recv(c, 10, 0)
		e.epollWait(ep, names, 0)
	}},
	{"epoll/edge-data-twice", func(e *denv) {
		// Edge-triggered: new data is a new edge even when old data is
		// still unread.
		_, c, s := e.connPair()
		ep, _ := e.api.EpollCreate()
		e.open[ep] = true
		names := map[int]string{c: "c"}
		e.epollCtl(ep, stack.EpollAdd, c, "c", in|et)
		e.send(s, "a", 0)
		e.settle()
		e.epollWait(ep, names, 0)
		e.epollWait(ep, names, 0)
		e.send(s, "b", 0)
		e.settle()
		e.epollWait(ep, names, 0)
	}},
	{"epoll/listener-accept", func(e *denv) {
		l := e.listener("P")
		ep, _ := e.api.EpollCreate()
		e.open[ep] = true
		names := map[int]string{l: "l"}
		e.epollCtl(ep, stack.EpollAdd, l, "l", in|et)
		c1 := e.socket(tcp)
		e.connect(c1, e.at("P"))
		c2 := e.socket(tcp)
		e.connect(c2, e.at("P"))
		e.settle()
		e.epollWait(ep, names, 0)
		e.accept(l)
		e.epollWait(ep, names, 0)
		c3 := e.socket(tcp)
		e.connect(c3, e.at("P"))
		e.settle()
		e.epollWait(ep, names, 0)
	}},
	{"epoll/close-removes", func(e *denv) {
		_, c, s := e.connPair()
		ep, _ := e.api.EpollCreate()
		e.open[ep] = true
		names := map[int]string{s: "s"}
		e.epollCtl(ep, stack.EpollAdd, s, "s", in)
		e.send(c, "x", 0)
		e.settle()
		e.close(s)
		e.epollWait(ep, names, 0)
		e.epollCtl(ep, stack.EpollDel, s, "s", 0)
	}},
	{"epoll/wait-timeout", func(e *denv) {
		ep, _ := e.api.EpollCreate()
		e.open[ep] = true
		u := e.socket(udp)
		e.bind(u, e.at("U1"))
		e.epollCtl(ep, stack.EpollAdd, u, "u", in)
		e.epollWait(ep, map[int]string{u: "u"}, 20e6)
		e.epollWait(999, nil, 0)
		e.epollWait(u, nil, 0)
	}},
}
