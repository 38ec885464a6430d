package scenario

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"stacklab/sim/scenario/lang"
	"stacklab/stack"
)

// Built-in apps are written in the program language itself, plus three
// internal calls that need a loop with a condition: _echo (send back what
// arrives until the end of the stream, or one datagram to its sender),
// _http_serve (answer requests until the connection ends or asks to
// close) and _http_get (one request and its whole response). Each app runs
// as a task of its own beside the host's program. Servers serve one
// connection at a time, forever.

// startApp starts a built-in app on h as a task of its own.
func (r *runner) startApp(h *hostRT, st *lang.Stmt) {
	body, daemon := appBody(st)
	t := newTask(r, h, h.h.Name+"/"+st.Call, body)
	t.daemon = daemon
	r.tasks = append(r.tasks, t)
	t.schedule(0)
}

// appBody expands an app statement into statements.
func appBody(st *lang.Stmt) ([]*lang.Stmt, bool) {
	arg := func(i int, def string) lang.Arg {
		if i < len(st.Args) {
			return st.Args[i]
		}
		return lang.Arg{Pos: st.Pos, Text: def}
	}
	mk := func(v, call string, args ...lang.Arg) *lang.Stmt {
		return &lang.Stmt{Pos: st.Pos, Kind: lang.StCall, Var: v, Call: call, Args: args, Text: st.Text}
	}
	w := func(s string) lang.Arg { return lang.Arg{Pos: st.Pos, Text: s} }
	forever := func(body ...*lang.Stmt) *lang.Stmt {
		return &lang.Stmt{Pos: st.Pos, Kind: lang.StRepeat, Count: -1, Body: body, Text: st.Text}
	}
	listen := func(v string) []*lang.Stmt {
		backlog := "8"
		if st.Call == "blocking_server" || st.Call == "thread_server" || st.Call == "epoll_server" {
			backlog = "128" // the server models serve many clients at once
		}
		return []*lang.Stmt{mk(v, "socket", w("tcp")), mk("", "bind", w(v), arg(0, ":0")), mk("", "listen", w(v), w(backlog))}
	}
	switch st.Call {
	case "thread_server", "heartbeat_server":
		// heartbeat_server too: a client that reconnects after its old
		// connection died is served while the old one still hangs open.
		// accept, then a thread per connection (the spawned block echoes)
		return append(listen("l"), forever(mk("c", "accept", w("l")),
			&lang.Stmt{Pos: st.Pos, Kind: lang.StSpawn, Text: st.Text, Body: []*lang.Stmt{mk("", "_echo", w("c")), mk("", "close", w("c"))}})), true
	case "epoll_server":
		return append(listen("l"), mk("", "_event_loop", w("l"))), true
	case "echo_server", "blocking_server":
		return append(listen("l"), forever(mk("c", "accept", w("l")), mk("", "_echo", w("c")), mk("", "close", w("c")))), true
	case "discard_server":
		return append(listen("l"), forever(mk("c", "accept", w("l")), mk("", "recv", w("c"), w("all")), mk("", "close", w("c")))), true
	case "http_server":
		return append(listen("l"), forever(mk("c", "accept", w("l")), mk("", "_http_serve", w("c")), mk("", "close", w("c")))), true
	case "udp_echo":
		return []*lang.Stmt{mk("u", "socket", w("udp")), mk("", "bind", w("u"), arg(0, ":7")), forever(mk("", "_echo", w("u")))}, true
	case "bulk_send":
		return []*lang.Stmt{mk("s", "socket", w("tcp")), mk("", "connect", w("s"), arg(0, "")), mk("", "send", w("s"), arg(1, "0")), mk("", "close", w("s"))}, false
	case "bulk_recv":
		n, _ := lang.ParseSize(arg(1, "0").Text)
		rcv := mk("", "recv", w("c"), w("all"))
		rcv.Expect = &lang.CallExpect{Pos: st.Pos, Size: n, Text: "== " + arg(1, "0").Text}
		return append(listen("l"), mk("c", "accept", w("l")), rcv, mk("", "close", w("c")), mk("", "close", w("l"))), false
	case "ping":
		count, _ := strconv.Atoi(arg(1, "4").Text)
		iv, _ := lang.ParseDuration(arg(2, "1s").Text)
		host := arg(0, "")
		host.Text += ":0"
		return []*lang.Stmt{
			mk("p", "socket", w("icmp")), mk("", "connect", w("p"), host),
			{Pos: st.Pos, Kind: lang.StRepeat, Count: count, Text: st.Text, Body: []*lang.Stmt{
				mk("", "send", w("p"), w("56")), mk("", "recv", w("p"), w("any")), {Pos: st.Pos, Kind: lang.StSleep, Dur: iv, Text: st.Text},
			}},
			mk("", "close", w("p")),
		}, false
	case "http_client":
		n, _ := strconv.Atoi(arg(1, "1").Text)
		mode, ver := arg(2, "keepalive").Text, arg(3, "1.1").Text
		get := mk("", "_http_get", w("s"), w(ver), w(mode))
		if mode == "keepalive" {
			return []*lang.Stmt{mk("s", "socket", w("tcp")), mk("", "connect", w("s"), arg(0, "")),
				{Pos: st.Pos, Kind: lang.StRepeat, Count: n, Body: []*lang.Stmt{get}, Text: st.Text}, mk("", "close", w("s"))}, false
		}
		return []*lang.Stmt{{Pos: st.Pos, Kind: lang.StRepeat, Count: n, Text: st.Text, Body: []*lang.Stmt{
			mk("s", "socket", w("tcp")), mk("", "connect", w("s"), arg(0, "")), get, mk("", "close", w("s"))}}}, false
	case "heartbeat_client":
		// Every interval: ping, and wait for the pong. A heartbeat that
		// fails — a RST (the NAT forgot the mapping, so the server met a
		// stranger), the server's close, or no pong within the timeout
		// (a firewall dropped it silently) — ends that connection: the
		// client closes it, connects again and pings on the new one.
		// A failed reconnect is tried again at the next tick.
		iv, _ := lang.ParseDuration(arg(1, "20s").Text)
		total, _ := lang.ParseDuration(arg(2, "1m").Text)
		timeout := iv / 2
		if len(st.Args) > 3 {
			timeout, _ = lang.ParseDuration(st.Args[3].Text)
		}
		tw := w(lang.FormatDuration(timeout))
		beat := func() *lang.Stmt {
			b := mk("", "_heartbeat", w("s"), tw)
			b.Test = true
			return b
		}
		redial := mk("", "connect", w("s"), arg(0, ""))
		redial.Test = true
		check := &lang.Stmt{Pos: st.Pos, Kind: lang.StIf, Text: st.Text,
			Cond: &lang.Cond{Pos: st.Pos, Call: beat(), Errno: "OK", Text: "pong within " + tw.Text},
			Else: []*lang.Stmt{
				{Pos: st.Pos, Kind: lang.StNote, Text: st.Text, Args: []lang.Arg{w("heartbeat failed: reconnecting")}},
				mk("", "close", w("s")), mk("s", "socket", w("tcp")), redial, beat(),
			}}
		return []*lang.Stmt{mk("s", "socket", w("tcp")), mk("", "connect", w("s"), arg(0, "")),
			{Pos: st.Pos, Kind: lang.StEvery, Dur: iv, For: total, Text: st.Text, Body: []*lang.Stmt{check}},
			mk("", "close", w("s"))}, false
	}
	return nil, false
}

// httpBody is the body the built-in HTTP server sends.
const httpBody = "<html><body>hello from stacklab</body></html>\n"

// resumeInternal runs the internal calls of the built-in apps. It
// returns true when the call completed.
func (t *task) resumeInternal() bool {
	p := t.pend
	s := t.h.st
	st := p.st
	info, _ := s.Info(p.fd)
	switch st.Call {
	case "_event_loop":
		return t.eventLoop()
	case "_heartbeat":
		return t.heartbeat()
	case "_echo":
		if info.Type == stack.SockDgram {
			n, from, err := s.RecvFrom(p.fd, t.r.buf)
			if errnoOf(err) == syscall.EAGAIN {
				return t.block(fmt.Sprintf("recvfrom(%d, any)", p.fd))
			}
			if err != nil {
				return t.ok(st, err)
			}
			t.emit(p.fd, "udp", "recvfrom", fmt.Sprintf("recvfrom(%d, any) → %d %s from %s", p.fd, n, quoteShort(t.r.buf[:n]), from))
			_, err = s.SendTo(p.fd, t.r.buf[:n], from)
			t.emit(p.fd, "udp", "sendto", fmt.Sprintf("sendto(%d, %d, %s) → %s", p.fd, n, from, sentResult(n, err)))
			return t.ok(st, err)
		}
		for {
			if len(p.data) > p.off { // echo what is still unsent
				n, err := s.Send(p.fd, p.data[p.off:])
				p.off += n
				if errnoOf(err) == syscall.EAGAIN {
					return t.block(fmt.Sprintf("send(%d, %d)", p.fd, len(p.data)-p.off))
				}
				if err != nil {
					t.emit(p.fd, "tcp", "send", fmt.Sprintf("send(%d, %d) → %s", p.fd, len(p.data), resultName(err)))
					return true // the peer went away; the server goes on
				}
				t.emit(p.fd, "tcp", "send", fmt.Sprintf("send(%d, %d) → %d", p.fd, len(p.data), len(p.data)))
				p.data, p.off = p.data[:0], 0
			}
			n, blocked, err := t.recvAny(s, p.fd)
			if blocked {
				return t.block(fmt.Sprintf("recv(%d, any)", p.fd))
			}
			if err != nil || n == 0 {
				return true
			}
			p.data = append(p.data[:0], t.r.buf[:n]...)
		}
	case "_http_serve":
		for {
			if len(p.data) > p.off {
				n, err := s.Send(p.fd, p.data[p.off:])
				p.off += n
				if errnoOf(err) == syscall.EAGAIN {
					return t.block(fmt.Sprintf("send(%d, %d)", p.fd, len(p.data)))
				}
				t.emit(p.fd, "tcp", "send", fmt.Sprintf("send(%d, %d) → %s", p.fd, len(p.data), sentResult(p.off, err)))
				if err != nil || p.count < 0 {
					return true // error, or the response said Connection: close
				}
				p.data, p.off = nil, 0
			}
			i := bytes.Index(p.got, []byte("\r\n\r\n"))
			if i < 0 {
				n, blocked, err := t.recvAny(s, p.fd)
				if blocked {
					return t.block(fmt.Sprintf("recv(%d, any)", p.fd))
				}
				if err != nil || n == 0 {
					return true
				}
				p.got = append(p.got, t.r.buf[:n]...)
				continue
			}
			req := string(p.got[:i])
			p.got = p.got[i+4:]
			keep := strings.Contains(req, "HTTP/1.1")
			lower := strings.ToLower(req)
			if strings.Contains(lower, "connection: close") {
				keep = false
			} else if strings.Contains(lower, "connection: keep-alive") {
				keep = true
			}
			ver := "1.0"
			if strings.Contains(req, "HTTP/1.1") {
				ver = "1.1"
			}
			conn := "close"
			if keep {
				conn = "keep-alive"
			}
			p.data = fmt.Appendf(nil, "HTTP/%s 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: %s\r\n\r\n%s", ver, len(httpBody), conn, httpBody)
			p.off = 0
			if !keep {
				p.count = -1
			}
		}
	case "_http_get":
		ver, mode := st.Args[1].Text, st.Args[2].Text
		if !p.started && p.data == nil {
			conn := "close"
			if mode == "keepalive" {
				conn = "keep-alive"
			}
			p.data = fmt.Appendf(nil, "GET / HTTP/%s\r\nHost: %s\r\nConnection: %s\r\n\r\n", ver, t.r.name(info.Remote), conn)
			p.limit = -2 // request not sent yet
		}
		if p.limit == -2 {
			n, err := s.Send(p.fd, p.data[p.off:])
			p.off += n
			if errnoOf(err) == syscall.EAGAIN {
				return t.block(fmt.Sprintf("send(%d, %d)", p.fd, len(p.data)))
			}
			t.emit(p.fd, "tcp", "send", fmt.Sprintf("send(%d, %s) → %s", p.fd, quoteShort(p.data), sentResult(p.off, err)))
			if err != nil {
				return t.ok(st, err)
			}
			p.limit, p.started = -1, false
		}
		for {
			if i := bytes.Index(p.got, []byte("\r\n\r\n")); i >= 0 {
				head := string(p.got[:i])
				cl := -1
				for _, line := range strings.Split(head, "\r\n") {
					if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "content-length") {
						cl, _ = strconv.Atoi(strings.TrimSpace(v))
					}
				}
				if !strings.HasPrefix(head, "HTTP/") || !strings.Contains(strings.SplitN(head, "\r\n", 2)[0], " 200 ") {
					t.fail(st, fmt.Sprintf("HTTP response %q, expected 200 OK", strings.SplitN(head, "\r\n", 2)[0]))
					return false
				}
				if cl >= 0 && len(p.got)-i-4 >= cl {
					return true
				}
			}
			n, blocked, err := t.recvAny(s, p.fd)
			if blocked {
				return t.block(fmt.Sprintf("recv(%d, any)", p.fd))
			}
			if err != nil {
				return t.ok(st, err)
			}
			if n == 0 {
				t.fail(st, "the server closed the connection before a whole HTTP response arrived")
				return false
			}
			p.got = append(p.got, t.r.buf[:n]...)
		}
	}
	return true
}

func sentResult(n int, err error) string {
	if err != nil && n == 0 {
		return resultName(err)
	}
	return strconv.Itoa(n)
}

// recvAny reads whatever fd holds into t.r.buf and traces the call as
// "recv(fd, any) → result". blocked means nothing was there yet: the
// caller waits for readiness.
func (t *task) recvAny(s *stack.Stack, fd int) (n int, blocked bool, err error) {
	n, err = s.Recv(fd, t.r.buf)
	if errnoOf(err) == syscall.EAGAIN {
		return 0, true, err
	}
	res := strconv.Itoa(n)
	if err != nil {
		res = resultName(err)
	} else if n > 0 {
		res += " " + quoteShort(t.r.buf[:n])
	}
	t.emit(fd, "tcp", "recv", fmt.Sprintf("recv(%d, any) → %s", fd, res))
	return n, false, err
}

// eventLoop is epoll_server's whole server: one thread, one epoll
// instance watching the listener and every connection; each wake-up
// accepts what waits and echoes what arrived, and a connection that ends
// is closed. It never completes.
type eventLoop struct {
	ep  int
	evs [64]stack.EpollEvent
}

// maxLoopConns bounds the connections an event loop holds; beyond it a
// new connection is closed at once (and the refusal shows in the trace).
const maxLoopConns = 4096

func (t *task) eventLoop() bool {
	p := t.pend
	s := t.h.st
	if p.loop == nil {
		ep, err := s.EpollCreate()
		t.emit(ep, "", "epoll_create1", fmt.Sprintf("epoll_create1(0) → %s", fdResult(ep, err)))
		if err != nil {
			return t.ok(p.st, err)
		}
		err = s.EpollCtl(ep, stack.EpollAdd, p.fd, stack.EpollEvent{Events: stack.PollIn, FD: p.fd})
		t.emit(ep, "", "epoll_ctl", fmt.Sprintf("epoll_ctl(%d, ADD, %d, IN) → %s", ep, p.fd, resultName(err)))
		if err != nil {
			return t.ok(p.st, err)
		}
		p.loop = &eventLoop{ep: ep}
	}
	lp := p.loop
	for {
		n, err := s.EpollWait(lp.ep, lp.evs[:], 0)
		if err != nil {
			return t.ok(p.st, err)
		}
		if n == 0 {
			t.emit(lp.ep, "", "epoll_wait", fmt.Sprintf("epoll_wait(%d) → blocks", lp.ep))
			t.wait(lp.ep)
			return false
		}
		t.emit(lp.ep, "", "epoll_wait", fmt.Sprintf("epoll_wait(%d) → %d", lp.ep, n))
		for _, ev := range lp.evs[:n] {
			if ev.FD == p.fd {
				for {
					c, peer, err := s.Accept(p.fd)
					if err != nil {
						break // EAGAIN: none left
					}
					s.SetNonblock(c, true)
					t.emit(p.fd, "tcp", "accept", fmt.Sprintf("accept(%d) → %d (%s)", p.fd, c, peer))
					if err := s.EpollCtl(lp.ep, stack.EpollAdd, c, stack.EpollEvent{Events: stack.PollIn, FD: c}); err != nil || c >= maxLoopConns {
						s.Close(c)
						t.emit(c, "tcp", "close", fmt.Sprintf("close(%d) → 0 (refused: epoll_ctl %s)", c, resultName(err)))
					}
				}
				continue
			}
			m, blocked, err := t.recvAny(s, ev.FD)
			switch {
			case blocked:
			case err != nil || m == 0:
				cerr := s.Close(ev.FD) // removes it from the epoll set too
				t.emit(ev.FD, "", "close", fmt.Sprintf("close(%d) → %s", ev.FD, resultName(cerr)))
			default:
				// Echo; a reply that does not fit the send buffer is cut
				// short, which the trace shows.
				k, err := s.Send(ev.FD, t.r.buf[:m])
				t.emit(ev.FD, "tcp", "send", fmt.Sprintf("send(%d, %d) → %s", ev.FD, m, sentResult(k, err)))
			}
		}
	}
}

// fdResult writes a call's result: the descriptor, or the errno.
func fdResult(fd int, err error) string {
	if err != nil {
		return resultName(err)
	}
	return strconv.Itoa(fd)
}

// heartbeatPing is what heartbeat_client sends and heartbeat_server
// echoes.
const heartbeatPing = "ping\n"

// heartbeat runs heartbeat_client's `_heartbeat(s, timeout)`: send a ping
// and read the pong, failing with the call's errno (ECONNRESET, EPIPE…),
// EPIPE when the server closed, ETIMEDOUT when no pong came within the
// timeout, or EPROTO when something else came back.
func (t *task) heartbeat() bool {
	p := t.pend
	s := t.h.st
	st := p.st
	if !p.init {
		p.init = true
		d, _ := lang.ParseDuration(st.Args[1].Text)
		t.timer = t.r.clock.AfterFunc(d, func() { t.timer = nil; p.timedOut = true; t.schedule(0) })
		n, err := s.Send(p.fd, []byte(heartbeatPing))
		t.emit(p.fd, "tcp", "send", fmt.Sprintf("send(%d, %s) → %s", p.fd, quoteShort([]byte(heartbeatPing)), sentResult(n, err)))
		if err == nil && n < len(heartbeatPing) {
			err = syscall.EAGAIN // the send buffer is full: the connection is stuck
		}
		if err != nil {
			return t.ok(st, err)
		}
	}
	head := fmt.Sprintf("recv(%d, %d)", p.fd, len(heartbeatPing))
	if p.started {
		head = fmt.Sprintf("recv(%d)", p.fd)
	}
	for len(p.got) < len(heartbeatPing) {
		if p.timedOut {
			t.emit(p.fd, "tcp", "recv", fmt.Sprintf("%s → ETIMEDOUT (no pong within %s)", head, st.Args[1].Text))
			return t.ok(st, syscall.ETIMEDOUT)
		}
		n, err := s.Recv(p.fd, t.r.buf[:len(heartbeatPing)-len(p.got)])
		if errnoOf(err) == syscall.EAGAIN {
			return t.block(head)
		}
		if err != nil {
			t.emit(p.fd, "tcp", "recv", fmt.Sprintf("%s → %s", head, resultName(err)))
			return t.ok(st, err)
		}
		if n == 0 {
			t.emit(p.fd, "tcp", "recv", head+" → 0 (the server closed)")
			return t.ok(st, syscall.EPIPE)
		}
		p.got = append(p.got, t.r.buf[:n]...)
	}
	t.emit(p.fd, "tcp", "recv", fmt.Sprintf("%s → %d %s", head, len(p.got), quoteShort(p.got)))
	if string(p.got) != heartbeatPing {
		return t.ok(st, syscall.EPROTO)
	}
	return t.ok(st, nil)
}
