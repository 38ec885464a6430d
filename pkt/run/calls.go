package run

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"stacklab/pkt"
	"stacklab/stack"
	"stacklab/stack/wire"
)

// pendingCall is a system call in progress: it blocks until its socket
// becomes ready, and must return at end.
type pendingCall struct {
	line   int
	pos    string // file:line:col
	name   string
	end    time.Duration
	tol    time.Duration // how late it may return (the event's tolerance)
	try    func() (ret int64, err error, done bool)
	check  func(ret int64, err error) string // "" when the result is what the script expects
	cancel []func()
	timer  stack.Timer
	retry  stack.Timer
}

// errnoNames maps the errors the facade returns to their names.
var errnoNames = map[syscall.Errno]string{
	syscall.EINPROGRESS: "EINPROGRESS", syscall.ECONNREFUSED: "ECONNREFUSED", syscall.ETIMEDOUT: "ETIMEDOUT",
	syscall.ECONNRESET: "ECONNRESET", syscall.EPIPE: "EPIPE", syscall.EAGAIN: "EAGAIN", syscall.EBADF: "EBADF",
	syscall.EINVAL: "EINVAL", syscall.ENOTCONN: "ENOTCONN", syscall.EADDRINUSE: "EADDRINUSE",
	syscall.EISCONN: "EISCONN", syscall.EALREADY: "EALREADY", syscall.EOPNOTSUPP: "EOPNOTSUPP",
	syscall.ENOPROTOOPT: "ENOPROTOOPT", syscall.EMFILE: "EMFILE", syscall.ECONNABORTED: "ECONNABORTED",
	syscall.EHOSTUNREACH: "EHOSTUNREACH", syscall.ENETUNREACH: "ENETUNREACH", syscall.EACCES: "EACCES",
	syscall.EFAULT: "EFAULT", syscall.EDESTADDRREQ: "EDESTADDRREQ", syscall.EMSGSIZE: "EMSGSIZE",
	syscall.ENOENT: "ENOENT", syscall.EEXIST: "EEXIST", syscall.EINTR: "EINTR", syscall.EADDRNOTAVAIL: "EADDRNOTAVAIL",
	syscall.ENOTSOCK: "ENOTSOCK", syscall.EPERM: "EPERM", syscall.ENOBUFS: "ENOBUFS",
}

func errnoOf(err error) (syscall.Errno, bool) {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e, true
	}
	return 0, false
}

func errnoName(err error) string {
	if e, ok := errnoOf(err); ok {
		if n, ok := errnoNames[e]; ok {
			return n
		}
		return fmt.Sprintf("errno %d", int(e))
	}
	return err.Error()
}

func errnoByName(name string) (syscall.Errno, bool) {
	if name == "EWOULDBLOCK" {
		return syscall.EAGAIN, true
	}
	for e, n := range errnoNames {
		if n == name {
			return e, true
		}
	}
	return 0, false
}

// unsupported is a call or argument the runner cannot play on stacklab:
// the script fails with this message.
type unsupported string

func (u unsupported) Error() string { return string(u) }

// call starts a system call at time t.
func (r *runner) call(ev *pkt.Event, t time.Duration) *failure {
	c := ev.Call
	end := t
	if ev.Time.Blocking {
		end = r.lastScriptTime + ev.Time.End
		if ev.Time.Kind == pkt.TimeAbsolute {
			end = ev.Time.End
		}
	}
	if r.pend != nil {
		return r.failf(ev.Pos.Line, "%s: %s starts while %s (line %d) is still blocked", ev.Pos, c.Name, r.pend.name, r.pend.line)
	}
	p, err := r.prepare(c)
	if err != nil {
		var u unsupported
		if errors.As(err, &u) {
			return r.failf(ev.Pos.Line, "%s: %s: not supported by stacklab: %s", ev.Pos, c.Name, u)
		}
		return r.failf(ev.Pos.Line, "%s: %s: %v", ev.Pos, c.Name, err)
	}
	p.line, p.pos, p.name, p.end, p.tol = ev.Pos.Line, ev.Pos.String(), c.Name, end, r.evTol
	ret, cerr, done := p.try()
	if done {
		return r.finish(p, ret, cerr, ev)
	}
	// It blocks: wait for readiness, and give up once it is late.
	r.pend = p
	p.timer = r.clock.AfterFunc(end+p.tol+time.Nanosecond-r.now(), func() {
		if r.pend == p {
			r.stopPending()
			r.failf(p.line, "%s: %s is still blocked past %s, when the script expects it to return (tolerance %s)", p.pos, p.name, secs(p.end), p.tol)
		}
	})
	return nil
}

// finish checks a call's result and return time.
func (r *runner) finish(p *pendingCall, ret int64, err error, ev *pkt.Event) *failure {
	now := r.now()
	if now < p.end-p.tol || now > p.end+p.tol {
		if now < p.end-p.tol {
			return r.failf(p.line, "%s: %s returned at %s; the script expects it to block until %s", p.pos, p.name, secs(now), secs(p.end))
		}
		return r.failf(p.line, "%s: %s returned at %s; the script expects it at %s", p.pos, p.name, secs(now), secs(p.end))
	}
	if msg := p.check(ret, err); msg != "" {
		f := r.failf(p.line, "%s: %s", p.pos, msg)
		f.expected = r.line(p.line)
		if err != nil {
			f.actual = fmt.Sprintf("%s(...) = -1 %s", p.name, errnoName(err))
		} else {
			f.actual = fmt.Sprintf("%s(...) = %d", p.name, ret)
		}
		return f
	}
	return nil
}

// wake arranges for a blocked call to be tried again when one of fds
// changes, and after d if d ≥ 0.
func (r *runner) wakeOn(p *pendingCall, fds []int, d time.Duration) {
	retry := func() {
		if r.pend != p || p.retry != nil {
			return
		}
		p.retry = r.clock.AfterFunc(0, func() {
			p.retry = nil
			if r.pend != p {
				return
			}
			ret, err, done := p.try()
			if !done {
				return
			}
			r.stopPending()
			r.finish(p, ret, err, nil)
		})
	}
	for _, fd := range fds {
		p.cancel = append(p.cancel, r.st.Notify(fd, retry))
	}
	if d >= 0 {
		t := r.clock.AfterFunc(d, retry)
		p.cancel = append(p.cancel, func() { t.Stop() })
	}
}

func (r *runner) stopPending() {
	p := r.pend
	r.pend = nil
	if p == nil {
		return
	}
	for _, c := range p.cancel {
		c()
	}
	if p.timer != nil {
		p.timer.Stop()
	}
}

// fd maps a script descriptor to the stack's.
func (r *runner) fd(e pkt.Expr) (int, error) {
	if e.Kind != pkt.ExprInt {
		return 0, fmt.Errorf("%s: expected a descriptor number", e.Pos)
	}
	if fd, ok := r.fds[e.Int]; ok {
		r.lastFD = fd
		return fd, nil
	}
	return 1 << 20, nil // not open: the stack answers EBADF
}

func nargs(c *pkt.Call, n int) error {
	if len(c.Args) != n {
		return fmt.Errorf("takes %d arguments, found %d", n, len(c.Args))
	}
	return nil
}

// intArg reads an integer argument: a number, a [number] or a known name.
func intArg(e pkt.Expr) (int64, error) {
	switch e.Kind {
	case pkt.ExprInt:
		return e.Int, nil
	case pkt.ExprArray:
		if len(e.List) == 1 {
			return intArg(e.List[0])
		}
	case pkt.ExprWord:
		if v, ok := constants[e.Word]; ok {
			return v, nil
		}
		if en, ok := errnoByName(e.Word); ok {
			return int64(en), nil
		}
		return 0, fmt.Errorf("%s: unknown name %s", e.Pos, e.Word)
	case pkt.ExprOr:
		var v int64
		for _, x := range e.List {
			y, err := intArg(x)
			if err != nil {
				return 0, err
			}
			v |= y
		}
		return v, nil
	}
	return 0, fmt.Errorf("%s: expected a number", e.Pos)
}

// constants are the names scripts use, with Linux's values.
var constants = map[string]int64{
	"AF_INET": 2, "AF_INET6": 10, "PF_INET": 2, "SOCK_STREAM": 1, "SOCK_DGRAM": 2, "IPPROTO_TCP": 6, "IPPROTO_UDP": 17, "IPPROTO_IP": 0,
	"SOL_SOCKET": 1, "SOL_TCP": 6, "SOL_IP": 0, "O_RDWR": 2, "O_NONBLOCK": 0x800, "F_GETFL": 3, "F_SETFL": 4,
	"SHUT_RD": 0, "SHUT_WR": 1, "SHUT_RDWR": 2,
	"POLLIN": 1, "POLLPRI": 2, "POLLOUT": 4, "POLLERR": 8, "POLLHUP": 0x10, "POLLNVAL": 0x20, "POLLRDHUP": 0x2000,
	"EPOLLIN": 1, "EPOLLPRI": 2, "EPOLLOUT": 4, "EPOLLERR": 8, "EPOLLHUP": 0x10, "EPOLLRDHUP": 0x2000, "EPOLLET": 1 << 31, "EPOLLONESHOT": 1 << 30,
	"EPOLL_CTL_ADD": 1, "EPOLL_CTL_DEL": 2, "EPOLL_CTL_MOD": 3,
	"MSG_OOB": 1, "MSG_PEEK": 2, "MSG_DONTWAIT": 0x40, "MSG_WAITALL": 0x100, "MSG_NOSIGNAL": 0x4000, "MSG_MORE": 0x8000, "MSG_EOR": 0x80,
	"SIOCINQ": 0x541b, "FIONREAD": 0x541b, "SIOCOUTQ": 0x5411, "SIOCOUTQNSD": 0x894b, "SIOCATMARK": 0x8905,
	"TCP_NODELAY": 1, "TCP_MAXSEG": 2, "TCP_CORK": 3, "TCP_KEEPIDLE": 4, "TCP_KEEPINTVL": 5, "TCP_KEEPCNT": 6,
	"TCP_SYNCNT": 7, "TCP_LINGER2": 8, "TCP_INFO": 11, "TCP_QUICKACK": 12, "TCP_CONGESTION": 13, "TCP_USER_TIMEOUT": 18,
	"TCP_NOTSENT_LOWAT": 25, "TCP_DEFER_ACCEPT": 9, "TCP_FASTOPEN": 23, "TCP_INQ": 36, "TCP_CM_INQ": 36,
	"SO_REUSEADDR": 2, "SO_TYPE": 3, "SO_ERROR": 4, "SO_BROADCAST": 6, "SO_SNDBUF": 7, "SO_RCVBUF": 8, "SO_RCVLOWAT": 18,
	"SO_KEEPALIVE": 9, "SO_OOBINLINE": 10, "SO_LINGER": 13, "SO_REUSEPORT": 15, "SO_RCVTIMEO": 20, "SO_SNDTIMEO": 21,
	"IP_TTL": 2, "IP_TOS": 1, "IP_MTU_DISCOVER": 10,
	"IP_PMTUDISC_DONT": 0, "IP_PMTUDISC_WANT": 1, "IP_PMTUDISC_DO": 2, "IP_PMTUDISC_PROBE": 3,
	"IP_PMTUDISC_INTERFACE": 4, "IP_PMTUDISC_OMIT": 5,
	"NULL": 0,
}

// pollBits maps poll(2)/epoll bits to the facade's.
var pollBits = []struct {
	linux int64
	ev    stack.PollEvents
}{{1, stack.PollIn}, {2, stack.PollPri}, {4, stack.PollOut}, {8, stack.PollErr}, {0x10, stack.PollHup}, {0x2000, stack.PollRdHup}, {0x20, stack.PollNval}}

func toPoll(v int64) stack.PollEvents {
	var e stack.PollEvents
	for _, b := range pollBits {
		if v&b.linux != 0 {
			e |= b.ev
		}
	}
	if v&(1<<31) != 0 {
		e |= stack.EpollET
	}
	if v&(1<<30) != 0 {
		e |= stack.EpollOneShot
	}
	return e
}

func fromPoll(e stack.PollEvents) int64 {
	var v int64
	for _, b := range pollBits {
		if e&b.ev != 0 {
			v |= b.linux
		}
	}
	return v
}

// field finds name=value in a struct expression.
func field(e pkt.Expr, name string) (pkt.Expr, bool) {
	for _, x := range e.List {
		if x.Kind == pkt.ExprAssign && x.Word == name && len(x.List) > 0 {
			return x.List[0], true
		}
	}
	return pkt.Expr{}, false
}

// want checks a plain result: a number or -1 with an errno.
func want(c *pkt.Call) func(int64, error) string {
	return func(ret int64, err error) string {
		return checkResult(c, ret, err)
	}
}

func checkResult(c *pkt.Call, ret int64, err error) string {
	exp, xerr := intArg(c.Result)
	if c.Result.Kind == pkt.ExprEllipsis {
		return ""
	}
	if xerr != nil {
		return xerr.Error()
	}
	if err != nil {
		if exp != -1 {
			return fmt.Sprintf("%s failed with %s, expected %d", c.Name, errnoName(err), exp)
		}
		if c.Errno != "" && errnoName(err) != c.Errno && !(c.Errno == "EWOULDBLOCK" && errnoName(err) == "EAGAIN") {
			return fmt.Sprintf("%s failed with %s, expected %s", c.Name, errnoName(err), c.Errno)
		}
		return ""
	}
	if exp == -1 {
		return fmt.Sprintf("%s returned %d, expected -1 %s", c.Name, ret, c.Errno)
	}
	if ret != exp {
		return fmt.Sprintf("%s returned %d, expected %d", c.Name, ret, exp)
	}
	return ""
}

// blocking reports whether fd blocks, as the script set it.
func (r *runner) blocking(fd int) bool { return !r.userNB[fd] }

// prepare builds a call: how to try it and how to check its result.
func (r *runner) prepare(c *pkt.Call) (*pendingCall, error) {
	p := &pendingCall{check: want(c)}
	once := func(f func() (int64, error)) {
		p.try = func() (int64, error, bool) { ret, err := f(); return ret, err, true }
	}
	switch c.Name {
	case "socket":
		if err := nargs(c, 3); err != nil {
			return nil, err
		}
		typ, err := intArg(c.Args[1])
		if err != nil {
			return nil, err
		}
		var st stack.SockType
		switch typ {
		case 1:
			st = stack.SockStream
		case 2:
			st = stack.SockDgram
		default:
			return nil, unsupported(fmt.Sprintf("socket type %d", typ))
		}
		once(func() (int64, error) {
			fd, err := r.st.SocketFamily(r.family(), st)
			if err != nil {
				return -1, err
			}
			r.st.SetNonblock(fd, true)
			r.lastFD = fd
			return int64(fd), nil
		})
		p.check = r.newFD(c)
	case "bind":
		if err := nargs(c, 3); err != nil {
			return nil, err
		}
		fd, err := r.fd(c.Args[0])
		if err != nil {
			return nil, err
		}
		once(func() (int64, error) {
			return 0, r.st.Bind(fd, r.sockAddr(r.local, bindPort))
		})
	case "listen":
		if err := nargs(c, 2); err != nil {
			return nil, err
		}
		fd, err := r.fd(c.Args[0])
		if err != nil {
			return nil, err
		}
		n, err := intArg(c.Args[1])
		if err != nil {
			return nil, err
		}
		once(func() (int64, error) { return 0, r.st.Listen(fd, int(n)) })
	case "accept", "accept4":
		if len(c.Args) < 3 {
			return nil, nargs(c, 3)
		}
		fd, err := r.fd(c.Args[0])
		if err != nil {
			return nil, err
		}
		p.try = func() (int64, error, bool) {
			nfd, _, err := r.st.Accept(fd)
			if r.wouldBlock(p, fd, err, -1) {
				return 0, nil, false
			}
			if err != nil {
				return -1, err, true
			}
			r.st.SetNonblock(nfd, true)
			r.lastFD = nfd
			return int64(nfd), nil, true
		}
		p.check = r.newFD(c)
	case "connect":
		if err := nargs(c, 3); err != nil {
			return nil, err
		}
		fd, err := r.fd(c.Args[0])
		if err != nil {
			return nil, err
		}
		started := false
		p.try = func() (int64, error, bool) {
			if !started {
				started = true
				err := r.st.Connect(fd, r.sockAddr(r.remote, connectPort))
				if in, ierr := r.st.Info(fd); err == nil && ierr == nil && in.Type == stack.SockDgram {
					// A connected UDP socket is the flow under test, as
					// packetdrill's socket under test.
					r.setFlow(wire.ProtoUDP, in.Local.Port(), connectPort)
				}
				if e, ok := errnoOf(err); !ok || e != syscall.EINPROGRESS || !r.blocking(fd) {
					return 0, err, true
				}
			}
			ev := r.st.Poll(fd)
			if ev&(stack.PollOut|stack.PollErr|stack.PollHup) == 0 {
				r.wakeOnce(p, fd)
				return 0, nil, false
			}
			return 0, r.st.SockError(fd), true
		}
	case "write", "send", "sendto", "sendmsg":
		return r.prepareSend(c, p)
	case "read", "recv", "recvfrom", "recvmsg":
		return r.prepareRecv(c, p)
	case "close":
		if err := nargs(c, 1); err != nil {
			return nil, err
		}
		fd, err := r.fd(c.Args[0])
		if err != nil {
			return nil, err
		}
		once(func() (int64, error) { return 0, r.st.Close(fd) })
	case "shutdown":
		if err := nargs(c, 2); err != nil {
			return nil, err
		}
		fd, err := r.fd(c.Args[0])
		if err != nil {
			return nil, err
		}
		how, err := intArg(c.Args[1])
		if err != nil {
			return nil, err
		}
		once(func() (int64, error) { return 0, r.st.Shutdown(fd, int(how)) })
	case "fcntl":
		return r.prepareFcntl(c, p)
	case "setsockopt":
		return r.prepareSetsockopt(c, p)
	case "getsockopt":
		return r.prepareGetsockopt(c, p)
	case "ioctl":
		if err := nargs(c, 3); err != nil {
			return nil, err
		}
		fd, err := r.fd(c.Args[0])
		if err != nil {
			return nil, err
		}
		req, err := intArg(c.Args[1])
		if err != nil {
			return nil, err
		}
		if req != 0x541b && req != 0x8905 && req != 0x5411 && req != 0x894b {
			return nil, unsupported(fmt.Sprintf("ioctl request %#x (only SIOCINQ/FIONREAD, SIOCOUTQ, SIOCOUTQNSD and SIOCATMARK)", req))
		}
		exp, err := intArg(c.Args[2])
		if err != nil {
			return nil, err
		}
		var got int
		if req == 0x5411 || req == 0x894b {
			name := map[int64]string{0x5411: "SIOCOUTQ", 0x894b: "SIOCOUTQNSD"}[req]
			once(func() (int64, error) { n, err := r.st.OutQ(fd, req == 0x894b); got = n; return 0, err })
			p.check = afterResult(c, func(int64) string {
				if int64(got) != exp {
					return fmt.Sprintf("%s gave %d bytes, expected %d", name, got, exp)
				}
				return ""
			})
			break
		}
		if req == 0x8905 {
			once(func() (int64, error) { at, err := r.st.AtMark(fd); got = int(b2i(at)); return 0, err })
			p.check = afterResult(c, func(int64) string {
				if int64(got) != exp {
					return fmt.Sprintf("SIOCATMARK gave %d, expected %d", got, exp)
				}
				return ""
			})
			break
		}
		once(func() (int64, error) { n, err := r.st.InQ(fd); got = n; return 0, err })
		p.check = afterResult(c, func(int64) string {
			if int64(got) != exp {
				return fmt.Sprintf("SIOCINQ gave %d bytes, expected %d", got, exp)
			}
			return ""
		})
	case "poll":
		return r.preparePoll(c, p)
	case "epoll_create", "epoll_create1":
		once(func() (int64, error) {
			fd, err := r.st.EpollCreate()
			return int64(fd), err
		})
		p.check = r.newFD(c)
	case "epoll_ctl":
		if err := nargs(c, 4); err != nil {
			return nil, err
		}
		ep, err := r.fd(c.Args[0])
		if err != nil {
			return nil, err
		}
		op, err := intArg(c.Args[1])
		if err != nil {
			return nil, err
		}
		fd, err := r.fd(c.Args[2])
		if err != nil {
			return nil, err
		}
		var ev stack.EpollEvent
		if e, ok := field(c.Args[3], "events"); ok {
			v, err := intArg(e)
			if err != nil {
				return nil, err
			}
			ev.Events = toPoll(v)
		}
		ev.FD = fd
		sop := map[int64]stack.EpollOp{1: stack.EpollAdd, 2: stack.EpollDel, 3: stack.EpollMod}[op]
		once(func() (int64, error) { return 0, r.st.EpollCtl(ep, sop, fd, ev) })
	case "epoll_wait":
		return r.prepareEpollWait(c, p)
	default:
		return nil, unsupported("the call " + c.Name)
	}
	return p, nil
}

// wouldBlock reports whether a call that failed with err should wait
// (EAGAIN on a descriptor the script left blocking), and sets up the wake.
func (r *runner) wouldBlock(p *pendingCall, fd int, err error, d time.Duration) bool {
	if e, ok := errnoOf(err); !ok || e != syscall.EAGAIN || !r.blocking(fd) {
		return false
	}
	r.wakeOnce(p, fd)
	return true
}

// wakeOnce registers the wake-ups of a pending call the first time.
func (r *runner) wakeOnce(p *pendingCall, fds ...int) {
	if len(p.cancel) == 0 {
		r.wakeOn(p, fds, -1)
	}
}

// newFD checks a call that returns a new descriptor, and maps the
// script's number to the stack's.
func (r *runner) newFD(c *pkt.Call) func(int64, error) string {
	return func(ret int64, err error) string {
		if err != nil || c.Result.Kind != pkt.ExprInt || c.Result.Int < 0 {
			return checkResult(c, ret, err)
		}
		if old, ok := r.fds[c.Result.Int]; ok && old != int(ret) {
			// The script reuses a closed number.
			delete(r.fds, c.Result.Int)
		}
		r.fds[c.Result.Int] = int(ret)
		return ""
	}
}

// ioArgs reads a send's or a recv's descriptor, length and, when the
// call has them (withFlags), its flags, kept to those in known: packetdrill
// writes Linux's MSG_* numbers, which are stacklab's MsgFlags.
func (r *runner) ioArgs(c *pkt.Call, withFlags bool, known stack.MsgFlags) (fd int, n int64, mf stack.MsgFlags, err error) {
	if len(c.Args) < 3 {
		return 0, 0, 0, nargs(c, 3)
	}
	if fd, err = r.fd(c.Args[0]); err != nil {
		return 0, 0, 0, err
	}
	flagArg := 3
	if c.Name == "sendmsg" || c.Name == "recvmsg" {
		// sendmsg(fd, {msg_iov(1)=[{..., N}], ...}, flags): the length
		// is the iovecs', the flags come third.
		flagArg = 2
		if n, _, err = msghdr(c.Args[1], c.Name == "recvmsg"); err != nil {
			return 0, 0, 0, err
		}
	} else if n, err = intArg(c.Args[2]); err != nil {
		return 0, 0, 0, err
	}
	if n < 0 || n > 64<<20 {
		return 0, 0, 0, fmt.Errorf("%s: length %d out of range (0 to 64 MiB)", c.Args[2].Pos, n)
	}
	if withFlags && len(c.Args) > flagArg {
		flags, err := intArg(c.Args[flagArg])
		if err != nil {
			return 0, 0, 0, err
		}
		mf = stack.MsgFlags(flags) & known
	}
	return fd, n, mf, nil
}

// afterResult is a check that compares the call's result first
// (checkResult), then, when that holds and the call succeeded, what more
// says of the values the call filled in (given its return value).
func afterResult(c *pkt.Call, more func(ret int64) string) func(int64, error) string {
	return func(ret int64, err error) string {
		if m := checkResult(c, ret, err); m != "" || err != nil {
			return m
		}
		return more(ret)
	}
}

// msghdr reads a struct msghdr argument: the total length of its
// msg_iov, and, for recvmsg (control), the TCP_CM_INQ value its
// msg_control expects (-1 when it expects none). Any other control
// message is not supported.
func msghdr(e pkt.Expr, control bool) (n int64, inq int64, err error) {
	inq = -1
	if e.Kind != pkt.ExprStruct {
		return 0, 0, fmt.Errorf("%s: expected a struct msghdr {msg_iov(N)=[{..., LEN}], ...}", e.Pos)
	}
	seen := false
	for _, f := range e.List {
		if f.Kind != pkt.ExprAssign || len(f.List) == 0 {
			continue
		}
		v := f.List[0]
		switch f.Word {
		case "msg_iov":
			if v.Kind != pkt.ExprArray {
				return 0, 0, fmt.Errorf("%s: msg_iov: expected [{..., LEN}, ...]", v.Pos)
			}
			seen = true
			for _, iov := range v.List {
				if iov.Kind != pkt.ExprStruct || len(iov.List) == 0 {
					return 0, 0, fmt.Errorf("%s: an iovec is {..., LEN}", iov.Pos)
				}
				l, err := intArg(iov.List[len(iov.List)-1])
				if err != nil {
					return 0, 0, err
				}
				n += l
			}
		case "msg_control":
			if v.Kind == pkt.ExprEllipsis {
				continue
			}
			if !control || v.Kind != pkt.ExprArray || len(v.List) != 1 {
				return 0, 0, unsupported("msg_control other than one TCP_CM_INQ message")
			}
			var level, typ int64 = -1, -1
			for _, cf := range v.List[0].List {
				if cf.Kind != pkt.ExprAssign || len(cf.List) == 0 {
					return 0, 0, unsupported("msg_control other than one TCP_CM_INQ message")
				}
				x, err := intArg(cf.List[0])
				if err != nil {
					return 0, 0, err
				}
				switch cf.Word {
				case "cmsg_level":
					level = x
				case "cmsg_type":
					typ = x
				case "cmsg_data":
					inq = x
				}
			}
			if level != constants["SOL_TCP"] || typ != constants["TCP_CM_INQ"] || inq < 0 {
				return 0, 0, unsupported("msg_control other than one TCP_CM_INQ message")
			}
		}
	}
	if !seen {
		return 0, 0, fmt.Errorf("%s: the msghdr has no msg_iov", e.Pos)
	}
	return n, inq, nil
}

// badBuffer reports whether a read or write names NULL as its buffer for
// n > 0 bytes: the kernel's copy to or from it faults, so the call fails
// with EFAULT and moves no data (the data received stays queued), as
// upstream packetdrill's syscall_bad_arg scripts check.
func badBuffer(c *pkt.Call, n int64) bool {
	if n == 0 || len(c.Args) < 2 || c.Name == "sendmsg" || c.Name == "recvmsg" {
		return false
	}
	a := c.Args[1]
	return a.Kind == pkt.ExprWord && a.Word == "NULL" || a.Kind == pkt.ExprInt && a.Int == 0
}

func (r *runner) prepareSend(c *pkt.Call, p *pendingCall) (*pendingCall, error) {
	fd, n, mf, err := r.ioArgs(c, c.Name == "send" || c.Name == "sendto" || c.Name == "sendmsg", stack.MsgMore|stack.MsgDontWait|stack.MsgNoSignal|stack.MsgEOR|stack.MsgOOB)
	if err != nil {
		return nil, err
	}
	if badBuffer(c, n) {
		p.try = func() (int64, error, bool) { return -1, syscall.EFAULT, true }
		return p, nil
	}
	buf := make([]byte, n)
	off := 0
	// sendto's address (its 5th argument, written ...) is the remote
	// end, as packetdrill fills it in.
	var to netip.AddrPort
	if in, err := r.st.Info(fd); c.Name == "sendto" && len(c.Args) >= 5 && err == nil && in.Type == stack.SockDgram {
		to = r.sockAddr(r.remote, connectPort)
	}
	tried := false
	p.try = func() (int64, error, bool) {
		if tried && r.st.Poll(fd)&(stack.PollOut|stack.PollErr|stack.PollHup|stack.PollNval) == 0 {
			// A blocked send resumes, as Linux's sk_stream_wait_memory
			// does, once the socket is writeable again, not at every ACK.
			return 0, nil, false
		}
		tried = true
		for {
			m, err := r.st.SendMsg(fd, buf[off:], mf, to)
			off += max(m, 0)
			if err == nil && off < len(buf) && r.blocking(fd) && mf&stack.MsgDontWait == 0 {
				continue
			}
			if err != nil && off > 0 {
				if e, ok := errnoOf(err); ok && e == syscall.EAGAIN && r.blocking(fd) && mf&stack.MsgDontWait == 0 {
					r.wakeOnce(p, fd)
					return 0, nil, false
				}
				return int64(off), nil, true
			}
			if err != nil {
				if mf&stack.MsgDontWait == 0 && r.wouldBlock(p, fd, err, -1) {
					return 0, nil, false
				}
				return -1, err, true
			}
			return int64(off), nil, true
		}
	}
	return p, nil
}

func (r *runner) prepareRecv(c *pkt.Call, p *pendingCall) (*pendingCall, error) {
	fd, n, mf, err := r.ioArgs(c, c.Name != "read", stack.MsgPeek|stack.MsgDontWait|stack.MsgWaitAll|stack.MsgOOB)
	if err != nil {
		return nil, err
	}
	wantInq := int64(-1)
	if c.Name == "recvmsg" {
		if _, wantInq, err = msghdr(c.Args[1], true); err != nil {
			return nil, err
		}
	}
	if badBuffer(c, n) {
		p.try = func() (int64, error, bool) { return -1, syscall.EFAULT, true }
		return p, nil
	}
	buf := make([]byte, n)
	gotInq := -1
	// The stack's socket never blocks: a blocking read is retried at
	// each change, and keeps what it copied, as Linux's tcp_recvmsg
	// copies what is there and then sleeps until tcp_data_ready wakes
	// it, which it does when SO_RCVLOWAT's bytes are waiting (POLLIN).
	// It returns once it has the target: the whole length under
	// MSG_WAITALL, else SO_RCVLOWAT's bytes, at most the length. A peek
	// looks again from the start each time.
	target, stream := 1, false
	if info, err := r.st.Info(fd); err == nil && info.Type == stack.SockStream {
		stream = true
		if mf&stack.MsgWaitAll != 0 {
			target = int(n)
		} else if lowat, err := r.st.GetSockopt(fd, stack.SoRcvLowat); err == nil {
			target = min(lowat, int(n))
		}
	}
	peek := mf&stack.MsgPeek != 0
	total, waited := 0, false
	ended := func() bool { return r.st.Poll(fd)&(stack.PollRdHup|stack.PollHup|stack.PollErr) != 0 }
	wait := func() (int64, error, bool) {
		waited = true
		r.wakeOnce(p, fd)
		return 0, nil, false
	}
	p.try = func() (int64, error, bool) {
		block := mf&(stack.MsgDontWait|stack.MsgOOB) == 0 && r.blocking(fd) // MSG_OOB never waits (tcp_recv_urg)
		if waited && stream && r.st.Poll(fd)&(stack.PollIn|stack.PollErr|stack.PollHup|stack.PollRdHup) == 0 {
			return wait() // woken, but the data is short of SO_RCVLOWAT
		}
		off := total
		if peek {
			off = 0
		}
		m, info, err := r.st.RecvMsgInfo(fd, buf[off:], mf)
		if err != nil {
			if e, ok := errnoOf(err); ok && e == syscall.EAGAIN && block {
				return wait()
			}
			if total > 0 && !peek {
				return int64(total), nil, true // the error waits for the next call
			}
			return -1, err, true
		}
		gotInq = info.Inq
		if peek {
			total = m
		} else {
			total += m
		}
		if m > 0 && total < target && block && stream && !ended() {
			return wait()
		}
		return int64(total), nil, true
	}
	if wantInq >= 0 {
		p.check = afterResult(c, func(int64) string {
			if int64(gotInq) != wantInq {
				return fmt.Sprintf("recvmsg's TCP_CM_INQ is %d, expected %d", gotInq, wantInq)
			}
			return ""
		})
	}
	return p, nil
}

func (r *runner) prepareFcntl(c *pkt.Call, p *pendingCall) (*pendingCall, error) {
	if len(c.Args) < 2 {
		return nil, nargs(c, 3)
	}
	fd, err := r.fd(c.Args[0])
	if err != nil {
		return nil, err
	}
	cmd, err := intArg(c.Args[1])
	if err != nil {
		return nil, err
	}
	switch cmd {
	case 4: // F_SETFL
		if len(c.Args) != 3 {
			return nil, nargs(c, 3)
		}
		v, err := intArg(c.Args[2])
		if err != nil {
			return nil, err
		}
		p.try = func() (int64, error, bool) {
			if _, err := r.st.Info(fd); err != nil {
				return -1, err, true
			}
			r.userNB[fd] = v&0x800 != 0
			return 0, nil, true
		}
	case 3: // F_GETFL
		p.try = func() (int64, error, bool) {
			if _, err := r.st.Info(fd); err != nil {
				return -1, err, true
			}
			v := int64(2)
			if r.userNB[fd] {
				v |= 0x800
			}
			return v, nil, true
		}
	default:
		return nil, unsupported(fmt.Sprintf("fcntl command %d", cmd))
	}
	return p, nil
}

// sockopt maps a (level, name) pair to the facade's option.
func sockopt(level, name int64) (stack.SockOpt, string, bool) {
	type k struct{ l, n int64 }
	m := map[k]struct {
		o    stack.SockOpt
		name string
	}{
		{1, 2}: {stack.SoReuseAddr, "SO_REUSEADDR"}, {1, 15}: {stack.SoReusePort, "SO_REUSEPORT"},
		{1, 9}: {stack.SoKeepAlive, "SO_KEEPALIVE"}, {1, 8}: {stack.SoRcvBuf, "SO_RCVBUF"}, {1, 7}: {stack.SoSndBuf, "SO_SNDBUF"},
		{1, 6}: {stack.SoBroadcast, "SO_BROADCAST"}, {1, 18}: {stack.SoRcvLowat, "SO_RCVLOWAT"}, {1, 10}: {stack.SoOOBInline, "SO_OOBINLINE"}, {1, 3}: {stack.SoType, "SO_TYPE"}, {1, 4}: {stack.SoError, "SO_ERROR"},
		{6, 1}: {stack.TCPNoDelay, "TCP_NODELAY"}, {6, 4}: {stack.TCPKeepIdle, "TCP_KEEPIDLE"}, {6, 5}: {stack.TCPKeepIntvl, "TCP_KEEPINTVL"},
		{6, 6}: {stack.TCPKeepCnt, "TCP_KEEPCNT"}, {6, 12}: {stack.TCPQuickAck, "TCP_QUICKACK"}, {6, 18}: {stack.TCPUserTimeout, "TCP_USER_TIMEOUT"},
		{6, 2}: {stack.TCPMaxSeg, "TCP_MAXSEG"}, {6, 7}: {stack.TCPSynCnt, "TCP_SYNCNT"}, {6, 3}: {stack.TCPCork, "TCP_CORK"},
		{6, 25}: {stack.TCPNotSentLowat, "TCP_NOTSENT_LOWAT"}, {6, 9}: {stack.TCPDeferAccept, "TCP_DEFER_ACCEPT"}, {6, 36}: {stack.TCPInq, "TCP_INQ"},
		{0, 2}: {stack.IPTTL, "IP_TTL"}, {0, 1}: {stack.IPTOS, "IP_TOS"},
		{0, 10}: {stack.IPMTUDiscover, "IP_MTU_DISCOVER"},
	}
	v, ok := m[k{level, name}]
	return v.o, v.name, ok
}

// optName names an option for messages.
func optName(e pkt.Expr) string {
	if e.Kind == pkt.ExprWord {
		return e.Word
	}
	return fmt.Sprint(e.Int)
}

func (r *runner) prepareSetsockopt(c *pkt.Call, p *pendingCall) (*pendingCall, error) {
	if len(c.Args) < 4 {
		return nil, nargs(c, 5)
	}
	fd, err := r.fd(c.Args[0])
	if err != nil {
		return nil, err
	}
	level, err := intArg(c.Args[1])
	if err != nil {
		return nil, err
	}
	name, err := intArg(c.Args[2])
	if err != nil {
		return nil, err
	}
	arg := c.Args[3]
	if level == 1 && name == 13 { // SO_LINGER {onoff, linger}
		on, ok1 := field(arg, "onoff")
		sec, ok2 := field(arg, "linger")
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%s: SO_LINGER wants {onoff=N, linger=N}", arg.Pos)
		}
		o, _ := intArg(on)
		s, _ := intArg(sec)
		v := int(s)
		if o == 0 {
			v = -1
		}
		p.try = func() (int64, error, bool) { return 0, r.st.SetSockopt(fd, stack.SoLinger, v), true }
		return p, nil
	}
	if level == 6 && name == 13 { // TCP_CONGESTION "name"
		if arg.Kind != pkt.ExprString {
			return nil, fmt.Errorf("%s: TCP_CONGESTION wants a \"name\"", arg.Pos)
		}
		p.try = func() (int64, error, bool) { return 0, r.st.SetCongestion(fd, arg.Word), true }
		return p, nil
	}
	opt, _, ok := sockopt(level, name)
	if !ok {
		return nil, unsupported("setsockopt " + optName(c.Args[2]))
	}
	v, err := intArg(arg)
	if err != nil {
		return nil, err
	}
	p.try = func() (int64, error, bool) { return 0, r.st.SetSockopt(fd, opt, int(v)), true }
	return p, nil
}

func (r *runner) prepareGetsockopt(c *pkt.Call, p *pendingCall) (*pendingCall, error) {
	if len(c.Args) < 4 {
		return nil, nargs(c, 5)
	}
	fd, err := r.fd(c.Args[0])
	if err != nil {
		return nil, err
	}
	level, err := intArg(c.Args[1])
	if err != nil {
		return nil, err
	}
	name, err := intArg(c.Args[2])
	if err != nil {
		return nil, err
	}
	opt, oname, ok := sockopt(level, name)
	if !ok {
		return nil, unsupported("getsockopt " + optName(c.Args[2]))
	}
	exp, err := intArg(c.Args[3])
	if err != nil {
		return nil, err
	}
	var got int
	p.try = func() (int64, error, bool) {
		v, err := r.st.GetSockopt(fd, opt)
		got = v
		if err != nil {
			return -1, err, true
		}
		return 0, nil, true
	}
	p.check = afterResult(c, func(int64) string {
		// An int option, as the kernel writes it: 4294967295 and -1
		// are the same four bytes (TCP_NOTSENT_LOWAT's "unlimited").
		if int32(got) != int32(exp) {
			g := fmt.Sprint(got)
			if opt == stack.SoError && got != 0 {
				g = errnoName(syscall.Errno(got))
			}
			return fmt.Sprintf("%s is %s, expected %s", oname, g, strings.Trim(exprString(c.Args[3]), "[]"))
		}
		return ""
	})
	return p, nil
}

func exprString(e pkt.Expr) string {
	switch e.Kind {
	case pkt.ExprInt:
		return fmt.Sprint(e.Int)
	case pkt.ExprWord:
		return e.Word
	case pkt.ExprArray:
		parts := make([]string, len(e.List))
		for i, x := range e.List {
			parts[i] = exprString(x)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case pkt.ExprOr:
		parts := make([]string, len(e.List))
		for i, x := range e.List {
			parts[i] = exprString(x)
		}
		return strings.Join(parts, "|")
	}
	return "..."
}

func (r *runner) preparePoll(c *pkt.Call, p *pendingCall) (*pendingCall, error) {
	if err := nargs(c, 3); err != nil {
		return nil, err
	}
	if c.Args[0].Kind != pkt.ExprArray {
		return nil, fmt.Errorf("%s: poll wants [{fd=N, events=..., revents=...}, ...]", c.Args[0].Pos)
	}
	var fds []stack.PollFD
	var wantRev []int64
	var ids []int
	for _, e := range c.Args[0].List {
		fe, ok1 := field(e, "fd")
		ev, ok2 := field(e, "events")
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%s: poll wants {fd=N, events=..., revents=...}", e.Pos)
		}
		fd, err := r.fd(fe)
		if err != nil {
			return nil, err
		}
		v, err := intArg(ev)
		if err != nil {
			return nil, err
		}
		var rv int64 = -1
		if re, ok := field(e, "revents"); ok {
			if rv, err = intArg(re); err != nil {
				return nil, err
			}
		}
		fds = append(fds, stack.PollFD{FD: fd, Events: toPoll(v)})
		wantRev = append(wantRev, rv)
		ids = append(ids, fd)
	}
	timeout, err := intArg(c.Args[2])
	if err != nil {
		return nil, err
	}
	var deadline time.Duration = -1
	p.try = func() (int64, error, bool) {
		n, err := r.st.PollFDs(fds, 0)
		if err != nil || n > 0 || timeout == 0 {
			return int64(n), err, true
		}
		if deadline < 0 {
			if timeout > 0 {
				deadline = r.now() + time.Duration(timeout)*time.Millisecond
				r.wakeOn(p, ids, time.Duration(timeout)*time.Millisecond)
			} else {
				deadline = 1 << 62
				r.wakeOn(p, ids, -1)
			}
		}
		if r.now() >= deadline {
			return 0, nil, true
		}
		return 0, nil, false
	}
	p.check = afterResult(c, func(int64) string {
		for i, w := range wantRev {
			if w >= 0 && fromPoll(fds[i].Revents) != w {
				return fmt.Sprintf("revents of fd entry %d are %#x, expected %#x", i+1, fromPoll(fds[i].Revents), w)
			}
		}
		return ""
	})
	return p, nil
}

func (r *runner) prepareEpollWait(c *pkt.Call, p *pendingCall) (*pendingCall, error) {
	if err := nargs(c, 4); err != nil {
		return nil, err
	}
	ep, err := r.fd(c.Args[0])
	if err != nil {
		return nil, err
	}
	maxev, err := intArg(c.Args[2])
	if err != nil {
		return nil, err
	}
	if maxev < 1 || maxev > 1024 {
		return nil, fmt.Errorf("%s: maxevents %d out of range (1 to 1024)", c.Args[2].Pos, maxev)
	}
	timeout, err := intArg(c.Args[3])
	if err != nil {
		return nil, err
	}
	var wantEv int64 = -1
	var wantFD int64 = -1
	evs := make([]stack.EpollEvent, maxev)
	if e, ok := field(c.Args[1], "events"); ok {
		if wantEv, err = intArg(e); err != nil {
			return nil, err
		}
	}
	if e, ok := field(c.Args[1], "fd"); ok {
		fd, err := r.fd(e)
		if err != nil {
			return nil, err
		}
		wantFD = int64(fd)
	}
	var deadline time.Duration = -1
	p.try = func() (int64, error, bool) {
		n, err := r.st.EpollWait(ep, evs, 0)
		if err != nil || n > 0 || timeout == 0 {
			return int64(n), err, true
		}
		if deadline < 0 {
			if timeout > 0 {
				deadline = r.now() + time.Duration(timeout)*time.Millisecond
				r.wakeOn(p, []int{ep}, time.Duration(timeout)*time.Millisecond)
			} else {
				deadline = 1 << 62
				r.wakeOn(p, []int{ep}, -1)
			}
		}
		if r.now() >= deadline {
			return 0, nil, true
		}
		return 0, nil, false
	}
	p.check = afterResult(c, func(ret int64) string {
		if ret > 0 {
			if wantEv >= 0 && fromPoll(evs[0].Events) != wantEv {
				return fmt.Sprintf("epoll_wait events %#x, expected %#x", fromPoll(evs[0].Events), wantEv)
			}
			if wantFD >= 0 && int64(evs[0].FD) != wantFD {
				return fmt.Sprintf("epoll_wait reported descriptor %d, expected %d", evs[0].FD, wantFD)
			}
		}
		return ""
	})
	return p, nil
}
