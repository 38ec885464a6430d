package scenario

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"stacklab/sim/scenario/lang"
	"stacklab/stack"
)

// frame is one level of a task's control stack: a statement list, the
// next statement, and the loop that runs it.
type frame struct {
	body  []*lang.Stmt
	pc    int
	loop  *lang.Stmt // nil for the program's top level
	left  int        // repeat: iterations left (-1 forever)
	until time.Time
	next  time.Time // every: when the next iteration starts
}

// task is one running program or app: a program counter and at most one
// pending blocking call. It never runs on a goroutine of its own: the
// clock calls step, and step returns when the task blocks or finishes.
type task struct {
	r      *runner
	h      *hostRT
	name   string // "client" or "server/echo_server"
	lane   string // the trace's host column: "" (the host's) or "server/t1" for a spawned thread
	stack  []frame
	vars   map[string]int
	userNB map[int]bool // descriptors the program made non-blocking itself
	daemon bool         // an app that serves forever; not expected to finish
	main   bool         // the host's program (not an app)

	pend      *pending
	cancel    func()      // the Notify registration on waitFD
	waitFD    int         // the descriptor watched, while cancel is set
	blocked   bool        // the pending call waits for readiness
	wake      stack.Timer // runs the next step; reused
	timer     stack.Timer // the pending sleep or poll timeout
	scheduled bool        // a step is already on the clock
	done      bool
	failed    bool
	steps     int           // statements run so far
	result    string        // the last condition call's result ("OK" or an errno name)
	ready     map[int][]int // per epoll descriptor: ready descriptors not yet handed out
}

// pending is a blocking call in progress.
type pending struct {
	st      *lang.Stmt
	fd      int
	started bool
	// send progress
	init  bool
	gen   bool // generated data, sent from patternTable
	data  []byte
	off   int
	total int
	// recv progress
	got   []byte // kept only when the expectation needs the bytes
	count int64
	badAt int64 // first byte differing from the generated pattern, or -1
	limit int64 // bytes wanted; -1 until end of stream
	any   bool
	// lowat: the bytes recv(s, any) takes before it returns, on a
	// blocking TCP socket: SO_RCVLOWAT's, at most the buffer (1 by
	// default), as Linux's read copies what is there and then sleeps
	// until that many are waiting.
	lowat    int64
	deadline time.Time
	timedOut bool
	from     netip.AddrPort
	loop     *eventLoop // _event_loop's state
}

// maxStepsWithoutWaiting stops a program that loops without ever
// blocking or sleeping, which would stop virtual time.
const maxStepsWithoutWaiting = 1_000_000

// maxSteps bounds the statements one program runs in a whole run, so that
// a loop that sleeps a nanosecond a time cannot stall the simulation.
const maxSteps = 10_000_000

func newTask(r *runner, h *hostRT, name string, body []*lang.Stmt) *task {
	return &task{
		r: r, h: h, name: name,
		stack:  []frame{{body: body}},
		vars:   map[string]int{},
		userNB: map[int]bool{},
	}
}

// schedule puts a step of t on the clock, once. The timer is reused, so
// waking a task allocates nothing.
func (t *task) schedule(d time.Duration) {
	if t.scheduled || t.done {
		return
	}
	t.scheduled = true
	if t.wake == nil {
		t.wake = t.r.clock.AfterFunc(d, func() {
			t.scheduled = false
			t.step()
		})
		return
	}
	t.wake.Reset(d)
}

// wait blocks the pending call until fd's readiness changes. The Notify
// registration stays while the task keeps waiting on the same descriptor.
func (t *task) wait(fd int) {
	t.blocked = true
	if t.cancel != nil && t.waitFD == fd {
		return
	}
	if t.cancel != nil {
		t.cancel()
	}
	t.waitFD = fd
	t.cancel = t.h.st.Notify(fd, func() {
		if t.blocked {
			t.schedule(0)
		}
	})
}

// unwait ends a wait; the Notify registration is kept for the next one.
func (t *task) unwait() {
	t.blocked = false
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
}

// step runs statements until the task blocks or finishes.
func (t *task) step() {
	for n := 0; !t.done && !t.r.stopped; n++ {
		t.steps++
		if n == maxStepsWithoutWaiting || t.steps > maxSteps {
			where, what := t.r.taskPos(t)
			t.r.failAt(where, what, fmt.Sprintf("program on %s ran %d statements (%d without waiting); is a loop endless?", t.h.h.Name, t.steps, n), nil)
			t.failed = true
			t.finish()
			return
		}
		if t.pend != nil {
			if !t.resume() {
				return
			}
			t.pend = nil
			t.unwait()
			continue
		}
		st := t.nextStmt()
		if st == nil {
			if t.timer != nil || t.scheduled {
				return // an every loop waits for its next tick
			}
			t.finish()
			return
		}
		if !t.exec(st) {
			return
		}
	}
}

func (t *task) finish() {
	if !t.done && t.main && !t.failed {
		t.r.lastFinish = t.r.clock.Now().Sub(t.r.start)
	}
	t.done = true
	t.unwait()
	if t.cancel != nil {
		t.cancel()
		t.cancel = nil
	}
	if t.wake != nil {
		t.wake.Stop()
	}
}

// nextStmt returns the next statement, unwinding finished loops; nil
// means the program ended or is waiting for an every loop's next tick
// (t.timer set).
func (t *task) nextStmt() *lang.Stmt {
	for len(t.stack) > 0 {
		f := &t.stack[len(t.stack)-1]
		if f.pc < len(f.body) {
			st := f.body[f.pc]
			f.pc++
			return st
		}
		if f.loop == nil {
			t.stack = t.stack[:len(t.stack)-1]
			continue
		}
		switch f.loop.Kind {
		case lang.StRepeat:
			if f.left > 0 {
				f.left--
			}
			if f.left != 0 {
				f.pc = 0
				continue
			}
		case lang.StWhile:
			f.pc = 0 // test the condition again
			continue
		case lang.StEvery:
			now := t.r.clock.Now()
			if f.next.Before(f.until) {
				f.pc = 0
				if d := f.next.Sub(now); d > 0 {
					f.next = f.next.Add(f.loop.Dur)
					t.sleep(d)
					return nil
				}
				f.next = f.next.Add(f.loop.Dur)
				continue
			}
		}
		t.stack = t.stack[:len(t.stack)-1]
	}
	return nil
}

// inForever reports whether t is inside a `repeat forever` loop: a
// server that is not expected to finish by the end of the run.
func (t *task) inForever() bool {
	for _, f := range t.stack {
		if f.loop != nil && f.loop.Kind == lang.StRepeat && f.left < 0 {
			return true
		}
	}
	return false
}

// socketTable writes the host's sockets into the trace, a line each, as
// `ss -tuanp` shows them: protocol, state, receive and send queues, local
// and peer address, and the descriptor ("-" for a connection that has
// none: not yet accepted, closing, or in TIME_WAIT).
func (t *task) socketTable() {
	t.r.socketTable(t.h, t.lane)
}

// maxThreads bounds the threads one host's programs may spawn in a run.
const maxThreads = 4096

// spawn starts st's block as a thread of its own on the same host, with a
// copy of the spawning thread's variables (each thread's own from then on)
// and a lane of its own in the trace, "server/t1".
func (t *task) spawn(st *lang.Stmt) bool {
	if t.h.threads >= maxThreads {
		t.fail(st, fmt.Sprintf("spawn: %s already started %d threads, the most a host may", t.h.h.Name, maxThreads))
		return false
	}
	t.h.threads++
	lane := fmt.Sprintf("%s/t%d", t.h.h.Name, t.h.threads)
	c := newTask(t.r, t.h, lane, st.Body)
	c.lane, c.daemon = lane, t.daemon
	maps.Copy(c.vars, t.vars)
	maps.Copy(c.userNB, t.userNB)
	t.r.tasks = append(t.r.tasks, c)
	t.h.st.Emit(stack.Event{Host: t.lane, Kind: stack.EventNote, FD: -1, Name: "spawn", Detail: lane})
	t.r.note(cmp.Or(t.lane, t.h.h.Name), "spawn → "+lane)
	c.schedule(0)
	return true
}

// sleep suspends the task for d.
func (t *task) sleep(d time.Duration) {
	t.timer = t.r.clock.AfterFunc(d, func() {
		t.timer = nil
		t.step()
	})
}

// emit reports a socket call to the trace.
//
// text is the whole call as strace shows it, "connect(3, 10.0.0.2:80) →
// blocks"; the event carries the call's name and, as its detail, the
// arguments and result without the parentheses ("3, 10.0.0.2:80 →
// blocks"), as core.Event documents.
func (t *task) emit(fd int, proto, _, text string) {
	name, detail := splitCall(text)
	t.h.st.Emit(stack.Event{Host: t.lane, Kind: stack.EventCall, FD: fd, Proto: proto, Name: name, Detail: detail})
	t.r.note(cmp.Or(t.lane, t.h.h.Name), text)
	if _, res, ok := strings.Cut(detail, "→ "); ok && name != "" {
		if f := strings.Fields(res); len(f) > 0 && f[0] != "blocks" {
			if name == "fcntl" {
				name = "nonblock"
			}
			t.h.results = append(t.h.results, callResult{call: name, result: f[0], at: t.r.clock.Now().Sub(t.r.start)})
		}
	}
}

// splitCall splits "name(args) → result" into the name and "args →
// result", skipping parentheses inside quoted strings. Text of another
// shape is returned whole as the detail.
func splitCall(text string) (name, detail string) {
	open := strings.IndexByte(text, '(')
	if open <= 0 {
		return "", text
	}
	quoted, depth := false, 0
	for i := open + 1; i < len(text); i++ {
		switch c := text[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == ')':
			return text[:open], text[open+1:i] + text[i+1:]
		}
	}
	return "", text
}

// fail records a failed expectation or an unexpected error and ends the
// task.
func (t *task) fail(st *lang.Stmt, msg string, diffs ...fieldDiff) {
	t.r.failAt(st.Pos, st.Text, msg, diffs)
	t.failed = true
	t.finish()
}

// fd looks up a socket variable.
func (t *task) fd(a lang.Arg) int {
	if fd, ok := t.vars[a.Text]; ok {
		return fd
	}
	return -1
}

// errnoOf extracts the errno from a stack error.
func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	if op, ok := err.(*net.OpError); ok { // the usual shape, without allocating
		if e, ok := op.Err.(syscall.Errno); ok {
			return e
		}
	}
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.EIO
}

func resultName(err error) string {
	if err == nil {
		return "0"
	}
	return lang.ErrnoName(errnoOf(err))
}

// checkResult compares a call's outcome with its `-> X` expectation. It
// returns false (and ends the task) on a mismatch or an unexpected error.
func (t *task) checkResult(st *lang.Stmt, err error) bool {
	got := "OK"
	if err != nil {
		got = lang.ErrnoName(errnoOf(err))
	}
	if st.Test {
		t.result = got // an if's or while's call: the test decides
		return true
	}
	if err != nil && st.Expect == nil && t.r.expectsCall(t.h.h.Name, st.Call, got) {
		return false // an `expect:` entry names this result; checked at the end
	}
	if st.Expect != nil && st.Expect.Errno != "" {
		want := st.Expect.Errno
		if want == "EWOULDBLOCK" {
			want = "EAGAIN"
		}
		if got != want {
			t.fail(st, fmt.Sprintf("%s returned %s, expected %s", st.Call, pretty(got), pretty(want)), fieldDiff{"result", pretty(want), pretty(got)})
			return false
		}
		return err == nil
	}
	if err != nil {
		if e := errnoOf(err); e == syscall.EAGAIN || e == syscall.EINPROGRESS {
			return false // shown in the trace; a non-blocking program expects these
		}
		t.fail(st, fmt.Sprintf("%s failed with %s; write `-> %s` after the call, or `%s %s → %s` under expect:, if that is expected", st.Call, got, got, t.h.h.Name, st.Call, got))
		return false
	}
	return true
}

// ok reports whether the task may go on after a call: it succeeded, or
// failed in a way the program expected or a non-blocking program sees.
func (t *task) ok(st *lang.Stmt, err error) bool {
	return t.checkResult(st, err) || !t.done
}

func pretty(errno string) string {
	if errno == "OK" {
		return "0 (success)"
	}
	return errno
}

// resolve turns an endpoint into an address, looking host names up.
// On an IPv6 socket (fd's family) a host name stands for the host's
// first IPv6 address, or its IPv4 address mapped (::ffff:10.0.0.2) when
// it has none, and "any" for [::].
func (t *task) resolve(fd int, ep lang.Endpoint) netip.AddrPort {
	v6 := t.h.st.FamilyOf(fd) == stack.AFInet6
	a := ep.Addr
	if ep.Host != "" {
		h := t.r.sc.Host(ep.Host)
		a = h.Addr.Addr()
		if v6 && h.Addr6.IsValid() {
			a = h.Addr6.Addr()
		} else if v6 {
			a = netip.AddrFrom16(a.As16())
		}
	}
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
		if v6 {
			a = netip.IPv6Unspecified()
		}
	}
	return netip.AddrPortFrom(a, ep.Port)
}

// payload returns the bytes a send argument stands for.
func payload(a lang.Arg) []byte {
	if a.Quoted {
		return []byte(a.Text)
	}
	n, _ := lang.ParseSize(a.Text)
	b := make([]byte, n)
	for off := 0; off < len(b); off += copy(b[off:], patternTable[:]) {
	}
	return b
}

const patternAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// patternPeriod is the period of the generated data: a prime, so that no
// whole number of segments of any common size is a multiple of it, and a
// lost, repeated or reordered segment shows.
const patternPeriod = 65521

// patternTable is one period of the generated data stream that
// `send(s, SIZE)` writes and `recv(c, all) == SIZE` checks: printable text.
var patternTable = func() (t [patternPeriod]byte) {
	for i := range t {
		t[i] = patternAlphabet[(i+i/251)%len(patternAlphabet)]
	}
	return t
}()

// patternByte is byte i of the generated data stream.
func patternByte(i int64) byte { return patternTable[i%patternPeriod] }

// patternMismatch returns the index of the first byte of b that differs
// from the generated stream starting at offset off, or -1.
func patternMismatch(b []byte, off int64) int {
	i := 0
	for i < len(b) {
		j := int((off + int64(i)) % patternPeriod)
		n := min(len(b)-i, patternPeriod-j)
		if !bytes.Equal(b[i:i+n], patternTable[j:j+n]) {
			for k := 0; k < n; k++ {
				if b[i+k] != patternTable[j+k] {
					return i + k
				}
			}
		}
		i += n
	}
	return -1
}

// quoteShort shows received data in the trace, shortened.
func quoteShort(b []byte) string {
	if len(b) > 24 {
		return strconv.Quote(string(b[:24])) + "…"
	}
	return strconv.Quote(string(b))
}

// exec starts one statement. It returns true when the task may go on at
// once, false when it blocked, slept or ended.
func (t *task) exec(st *lang.Stmt) bool {
	s := t.h.st
	switch st.Kind {
	case lang.StSleep:
		d := st.Dur
		if st.Until {
			d = t.r.start.Add(st.Dur).Sub(t.r.clock.Now())
			if d <= 0 {
				return true // already past
			}
		}
		t.sleep(d)
		return false
	case lang.StNote:
		t.h.st.Emit(stack.Event{Host: t.lane, Kind: stack.EventNote, FD: -1, Name: "note", Detail: st.Args[0].Text})
		t.r.note(cmp.Or(t.lane, t.h.h.Name), "note: "+st.Args[0].Text)
		return true
	case lang.StSpawn:
		return t.spawn(st)
	case lang.StRepeat:
		if st.Count == 0 {
			return true
		}
		t.stack = append(t.stack, frame{body: st.Body, loop: st, left: st.Count})
		return true
	case lang.StEvery:
		now := t.r.clock.Now()
		t.stack = append(t.stack, frame{body: st.Body, loop: st, until: now.Add(st.For), next: now.Add(st.Dur)})
		return true
	case lang.StIf, lang.StWhile:
		// The condition's call (if any) runs first, then the test; a
		// while's frame repeats both until the test fails.
		test := &lang.Stmt{Pos: st.Pos, Kind: lang.StTest, Text: st.Text, Body: []*lang.Stmt{st}}
		body := []*lang.Stmt{test}
		if st.Cond.Call != nil {
			body = []*lang.Stmt{st.Cond.Call, test}
		}
		f := frame{body: body}
		if st.Kind == lang.StWhile {
			f.loop = st
		}
		t.result = "OK"
		t.stack = append(t.stack, f)
		return true
	case lang.StTest:
		return t.test(st.Body[0])
	case lang.StSet:
		v := t.value(st.Args[0])
		switch st.Call {
		case "+":
			v += t.value(st.Args[1])
		case "-":
			v -= t.value(st.Args[1])
		}
		t.vars[st.Var] = v
		return true
	}
	if spec := lang.Calls[st.Call]; spec.App {
		t.r.startApp(t.h, st)
		return true
	}
	a := st.Args
	switch st.Call {
	case "ss":
		t.socketTable()
		return true
	case "socket":
		typ := map[string]stack.SockType{"tcp": stack.SockStream, "udp": stack.SockDgram, "icmp": stack.SockICMP,
			"tcp6": stack.SockStream, "udp6": stack.SockDgram, "icmp6": stack.SockICMP}[a[0].Text]
		fam := stack.AFInet
		if strings.HasSuffix(a[0].Text, "6") {
			fam = stack.AFInet6
		}
		fd, err := s.SocketFamily(fam, typ)
		if err == nil {
			s.SetNonblock(fd, true)
			t.vars[st.Var] = fd
			t.emit(fd, a[0].Text, "socket", fmt.Sprintf("socket(%s) → %d", a[0].Text, fd))
		} else {
			t.emit(-1, a[0].Text, "socket", fmt.Sprintf("socket(%s) → %s", a[0].Text, resultName(err)))
		}
		return t.ok(st, err)
	case "bind":
		fd := t.fd(a[0])
		ep, _ := lang.ParseEndpoint(a[1].Text, t.r.hostNames, false)
		err := s.Bind(fd, t.resolve(fd, ep))
		t.emit(fd, "", "bind", fmt.Sprintf("bind(%d, %s) → %s", fd, a[1].Text, resultName(err)))
		return t.ok(st, err)
	case "listen":
		fd := t.fd(a[0])
		backlog := 8
		if len(a) > 1 {
			backlog, _ = strconv.Atoi(a[1].Text)
		}
		err := s.Listen(fd, backlog)
		t.emit(fd, "tcp", "listen", fmt.Sprintf("listen(%d, %d) → %s", fd, backlog, resultName(err)))
		return t.ok(st, err)
	case "close":
		fd := t.fd(a[0])
		if t.cancel != nil && t.waitFD == fd { // the descriptor may be reused
			t.cancel()
			t.cancel = nil
		}
		err := s.Close(fd)
		for ep := range t.ready { // a closed descriptor leaves every epoll set
			t.dropReady(ep, fd)
		}
		t.emit(fd, "", "close", fmt.Sprintf("close(%d) → %s", fd, resultName(err)))
		delete(t.vars, a[0].Text)
		return t.ok(st, err)
	case "shutdown":
		fd := t.fd(a[0])
		how := map[string]int{"rd": stack.ShutRD, "wr": stack.ShutWR, "rdwr": stack.ShutRDWR}[a[1].Text]
		err := s.Shutdown(fd, how)
		t.emit(fd, "tcp", "shutdown", fmt.Sprintf("shutdown(%d, %s) → %s", fd, a[1].Text, resultName(err)))
		return t.ok(st, err)
	case "setsockopt":
		fd := t.fd(a[0])
		if a[1].Text == "congestion" {
			err := s.SetCongestion(fd, a[2].Text)
			t.emit(fd, "tcp", "setsockopt", fmt.Sprintf("setsockopt(%d, TCP_CONGESTION, %s) → %s", fd, a[2].Text, resultName(err)))
			return t.ok(st, err)
		}
		if a[1].Text == "recovery" {
			err := s.SetRecovery(fd, a[2].Text)
			t.emit(fd, "tcp", "setsockopt", fmt.Sprintf("setsockopt(%d, recovery, %s) → %s", fd, a[2].Text, resultName(err)))
			return t.ok(st, err)
		}
		v, _ := strconv.Atoi(a[2].Text)
		opt := sockOpts[a[1].Text]
		err := s.SetSockopt(fd, opt, v)
		t.emit(fd, "", "setsockopt", fmt.Sprintf("setsockopt(%d, %s, %d) → %s", fd, a[1].Text, v, resultName(err)))
		return t.ok(st, err)
	case "getsockopt":
		fd := t.fd(a[0])
		v, err := s.GetSockopt(fd, sockOpts[a[1].Text])
		res := resultName(err)
		if err == nil {
			res = strconv.Itoa(v)
			t.setVar(st, v)
		}
		t.emit(fd, "", "getsockopt", fmt.Sprintf("getsockopt(%d, %s) → %s", fd, a[1].Text, res))
		if e := st.Expect; e != nil && err == nil && e.Size >= 0 && int64(v) != e.Size {
			t.fail(st, fmt.Sprintf("getsockopt(%s) is %d, expected %d", a[1].Text, v, e.Size), fieldDiff{a[1].Text, strconv.FormatInt(e.Size, 10), strconv.Itoa(v)})
			return false
		}
		return t.ok(st, err)
	case "ioctl":
		fd := t.fd(a[0])
		if req := a[1].Text; req != "siocinq" {
			var n int
			var err error
			switch req {
			case "siocatmark":
				var at bool
				at, err = s.AtMark(fd)
				if at {
					n = 1
				}
			default:
				n, err = s.OutQ(fd, req == "siocoutqnsd")
			}
			name := strings.ToUpper(req)
			res := resultName(err)
			if err == nil {
				res = strconv.Itoa(n)
				t.setVar(st, n)
			}
			t.emit(fd, "", "ioctl", fmt.Sprintf("ioctl(%d, %s) → %s", fd, name, res))
			if e := st.Expect; e != nil && err == nil && e.Size >= 0 && int64(n) != e.Size {
				t.fail(st, fmt.Sprintf("%s is %d, expected %d", name, n, e.Size), fieldDiff{req, strconv.FormatInt(e.Size, 10), strconv.Itoa(n)})
				return false
			}
			return t.ok(st, err)
		}
		n, err := s.InQ(fd)
		res := resultName(err)
		if err == nil {
			res = strconv.Itoa(n)
			t.setVar(st, n)
		}
		t.emit(fd, "", "ioctl", fmt.Sprintf("ioctl(%d, SIOCINQ) → %s", fd, res))
		if e := st.Expect; e != nil && err == nil && e.Size >= 0 && int64(n) != e.Size {
			t.fail(st, fmt.Sprintf("SIOCINQ is %d, expected %d", n, e.Size), fieldDiff{"siocinq", strconv.FormatInt(e.Size, 10), strconv.Itoa(n)})
			return false
		}
		return t.ok(st, err)
	case "getsockname", "getpeername":
		fd := t.fd(a[0])
		get := s.GetSockname
		if st.Call == "getpeername" {
			get = s.GetPeername
		}
		addr, err := get(fd)
		res := resultName(err)
		if err == nil {
			res = addr.String()
		}
		t.emit(fd, "", st.Call, fmt.Sprintf("%s(%d) → %s", st.Call, fd, res))
		if e := st.Expect; e != nil && err == nil && e.Data != nil && !sameSockAddr(addr, *e.Data) {
			t.fail(st, fmt.Sprintf("%s is %s, expected %s", st.Call, addr, *e.Data), fieldDiff{"address", *e.Data, addr.String()})
			return false
		}
		return t.ok(st, err)
	case "epoll_create":
		ep, err := s.EpollCreate()
		if err == nil {
			t.vars[st.Var] = ep
		}
		t.emit(ep, "", "epoll_create", fmt.Sprintf("epoll_create1(0) → %s", fdResult(ep, err)))
		return t.ok(st, err)
	case "epoll_ctl":
		ep, fd := t.fd(a[0]), t.fd(a[2])
		op := map[string]stack.EpollOp{"add": stack.EpollAdd, "mod": stack.EpollMod, "del": stack.EpollDel}[a[1].Text]
		ev := stack.EpollEvent{FD: fd}
		evs := ""
		if len(a) > 3 {
			ev.Events = map[string]stack.PollEvents{"in": stack.PollIn, "out": stack.PollOut, "inout": stack.PollIn | stack.PollOut,
				"in+et": stack.PollIn | stack.EpollET, "in+oneshot": stack.PollIn | stack.EpollOneShot}[a[3].Text]
			evs = ", " + a[3].Text
		}
		err := s.EpollCtl(ep, op, fd, ev)
		if op == stack.EpollDel {
			t.dropReady(ep, fd)
		}
		t.emit(ep, "", "epoll_ctl", fmt.Sprintf("epoll_ctl(%d, %s, %d%s) → %s", ep, a[1].Text, fd, evs, resultName(err)))
		return t.ok(st, err)
	case "nonblock":
		fd := t.fd(a[0])
		on := len(a) < 2 || a[1].Text == "1"
		var err error
		if _, ierr := s.Info(fd); ierr != nil {
			err = ierr
		}
		if err == nil {
			t.userNB[fd] = on
		}
		t.emit(fd, "", "fcntl", fmt.Sprintf("fcntl(%d, O_NONBLOCK, %v) → %s", fd, on, resultName(err)))
		return t.ok(st, err)
	}
	// Calls that may block.
	t.pend = &pending{st: st, fd: t.fd(a[0]), badAt: -1, limit: -1}
	if !t.resume() {
		return false
	}
	t.pend = nil
	t.unwait()
	return !t.done
}

// test decides an if's or while's condition, its call (if any) having
// just run: it enters the body (or the else), or leaves the while.
func (t *task) test(st *lang.Stmt) bool {
	c := st.Cond
	var holds bool
	var why string
	if c.Call != nil {
		holds = t.result == c.Errno || c.Errno == "OK" && t.result == "OK" || c.Errno == "EWOULDBLOCK" && t.result == "EAGAIN"
		why = fmt.Sprintf("%s returned %s", c.Call.Call, t.result)
	} else {
		a, b := t.value(c.A), t.value(c.B)
		holds = (a == b) != c.Not
		var parts []string
		for _, x := range []lang.Arg{c.A, c.B} {
			if _, err := strconv.Atoi(x.Text); err != nil {
				parts = append(parts, fmt.Sprintf("%s is %d", x.Text, t.value(x)))
			}
		}
		why = strings.Join(parts, ", ")
	}
	kw := "if"
	if st.Kind == lang.StWhile {
		kw = "while"
	}
	branch := "true"
	if !holds {
		branch = "false"
	}
	t.h.st.Emit(stack.Event{Host: t.lane, Kind: stack.EventNote, FD: -1, Name: kw, Detail: fmt.Sprintf("%s: %s (%s)", c.Text, branch, why)})
	t.r.note(cmp.Or(t.lane, t.h.h.Name), fmt.Sprintf("%s %s: %s", kw, c.Text, branch))
	switch {
	case st.Kind == lang.StWhile && !holds:
		t.stack = t.stack[:len(t.stack)-1] // the while's frame
	case holds:
		t.stack = append(t.stack, frame{body: st.Body})
	case len(st.Else) > 0:
		t.stack = append(t.stack, frame{body: st.Else})
	}
	return true
}

// value is a condition's operand: a whole number, or a variable's value
// (-1 when it is unset, as after close).
func (t *task) value(a lang.Arg) int {
	if n, err := strconv.Atoi(a.Text); err == nil {
		return n
	}
	if v, ok := t.vars[a.Text]; ok {
		return v
	}
	return -1
}

var sockOpts = map[string]stack.SockOpt{
	"keepalive": stack.SoKeepAlive, "linger": stack.SoLinger, "rcvbuf": stack.SoRcvBuf, "sndbuf": stack.SoSndBuf,
	"nodelay": stack.TCPNoDelay, "keepidle": stack.TCPKeepIdle, "keepintvl": stack.TCPKeepIntvl,
	"keepcnt": stack.TCPKeepCnt, "quickack": stack.TCPQuickAck, "reuseaddr": stack.SoReuseAddr,
	"ipv6_v6only": stack.IPv6V6Only, "reuseport": stack.SoReusePort, "broadcast": stack.SoBroadcast,
	"rcvtimeo": stack.SoRcvTimeo, "sndtimeo": stack.SoSndTimeo, "ttl": stack.IPTTL, "tos": stack.IPTOS,
	"user_timeout": stack.TCPUserTimeout, "maxseg": stack.TCPMaxSeg, "syncnt": stack.TCPSynCnt,
	"cork": stack.TCPCork, "notsent_lowat": stack.TCPNotSentLowat, "inq": stack.TCPInq,
	"udp_cork": stack.UDPCork, "mtu_discover": stack.IPMTUDiscover, "rcvlowat": stack.SoRcvLowat, "oobinline": stack.SoOOBInline, "defer_accept": stack.TCPDeferAccept,
}

// block arranges for the pending call to be retried when fd's readiness
// changes, reporting "→ blocks" the first time. It returns false.
func (t *task) block(head string) bool {
	p := t.pend
	if !p.started {
		p.started = true
		t.emit(p.fd, "", p.st.Call, head+" → blocks")
	}
	t.wait(p.fd)
	return false
}

// resume tries the pending call. It returns true when the call completed
// (the task may go on), false when it still blocks or the task ended.
func (t *task) resume() bool {
	p := t.pend
	s := t.h.st
	st := p.st
	a := st.Args
	nb := t.userNB[p.fd]
	switch st.Call {
	case "accept":
		fd, peer, err := s.Accept(p.fd)
		if errnoOf(err) == syscall.EAGAIN && !nb {
			return t.block(fmt.Sprintf("accept(%d)", p.fd))
		}
		if err == nil {
			s.SetNonblock(fd, true)
			if st.Var != "" {
				t.vars[st.Var] = fd
			}
			t.emit(fd, "tcp", "accept", fmt.Sprintf("accept(%d) → %d (%s)", p.fd, fd, peer))
		} else {
			t.emit(p.fd, "tcp", "accept", fmt.Sprintf("accept(%d) → %s", p.fd, resultName(err)))
		}
		return t.ok(st, err)
	case "connect":
		ep, _ := lang.ParseEndpoint(a[1].Text, t.r.hostNames, true)
		to := t.resolve(p.fd, ep)
		if !p.started {
			err := s.Connect(p.fd, to)
			e := errnoOf(err)
			if e == syscall.EINPROGRESS && !nb {
				return t.block(fmt.Sprintf("connect(%d, %s)", p.fd, to))
			}
			t.emit(p.fd, "", "connect", fmt.Sprintf("connect(%d, %s) → %s", p.fd, to, resultName(err)))
			return t.ok(st, err)
		}
		if s.Poll(p.fd)&(stack.PollOut|stack.PollErr|stack.PollHup|stack.PollNval) == 0 {
			t.wait(p.fd)
			return false
		}
		err := s.SockError(p.fd)
		t.emit(p.fd, "", "connect", fmt.Sprintf("connect(%d) → %s", p.fd, resultName(err)))
		return t.ok(st, err)
	case "send", "sendto":
		if !p.init {
			p.init = true
			info, _ := s.Info(p.fd)
			if st.Call == "send" && !a[1].Quoted && info.Type == stack.SockStream {
				n, _ := lang.ParseSize(a[1].Text)
				p.gen, p.total = true, int(n) // sent from the pattern table, never built
			} else {
				p.data = payload(a[1])
				p.total = len(p.data)
			}
		}
		var to netip.AddrPort
		var fl stack.MsgFlags
		if st.Call == "sendto" {
			ep, _ := lang.ParseEndpoint(a[2].Text, t.r.hostNames, true)
			to = t.resolve(p.fd, ep)
		} else if len(a) > 2 {
			fl = msgFlags(a[2].Text)
			nb = nb || fl&stack.MsgDontWait != 0
		}
		if p.started && !nb && s.Poll(p.fd)&(stack.PollOut|stack.PollErr|stack.PollHup|stack.PollNval) == 0 {
			// A blocked send resumes, as Linux's sk_stream_wait_memory
			// does, once the socket is writeable again, not at every ACK.
			t.wait(p.fd)
			return false
		}
		for {
			chunk := p.data[min(p.off, len(p.data)):]
			if p.gen {
				j := p.off % patternPeriod
				chunk = patternTable[j:min(patternPeriod, j+p.total-p.off)]
			}
			var n int
			var err error
			switch {
			case st.Call == "sendto":
				n, err = s.SendTo(p.fd, chunk, to)
			case fl != 0:
				n, err = s.SendMsg(p.fd, chunk, fl, netip.AddrPort{})
			default:
				n, err = s.Send(p.fd, chunk)
			}
			p.off += n
			if err == nil && p.off < p.total && n > 0 {
				continue
			}
			blocks := (errnoOf(err) == syscall.EAGAIN || err == nil && p.off < p.total) && !nb
			if blocks && p.started {
				t.wait(p.fd)
				return false
			}
			head := fmt.Sprintf("%s(%d, %s)", st.Call, p.fd, sendArg(a[1], p.total))
			if fl != 0 {
				head = fmt.Sprintf("send(%d, %s, %s)", p.fd, sendArg(a[1], p.total), a[2].Text)
			}
			if st.Call == "sendto" {
				head = fmt.Sprintf("sendto(%d, %s, %s)", p.fd, sendArg(a[1], p.total), to)
			}
			if blocks {
				return t.block(head)
			}
			res := strconv.Itoa(p.off)
			if err != nil && p.off == 0 {
				res = resultName(err)
			} else {
				err = nil
			}
			if p.started {
				t.emit(p.fd, "", st.Call, fmt.Sprintf("%s(%d) → %s", st.Call, p.fd, res))
			} else {
				t.emit(p.fd, "", st.Call, head+" → "+res)
			}
			return t.ok(st, err)
		}
	case "recv", "recvfrom":
		return t.recv()
	case "_echo", "_http_serve", "_http_get", "_event_loop", "_heartbeat":
		return t.resumeInternal()
	case "epoll_wait":
		return t.epollWait()
	case "poll":
		want := map[string]stack.PollEvents{"in": stack.PollIn, "out": stack.PollOut, "inout": stack.PollIn | stack.PollOut,
			"rdhup": stack.PollRdHup, "in+rdhup": stack.PollIn | stack.PollRdHup, "pri": stack.PollPri, "in+pri": stack.PollIn | stack.PollPri}[a[1].Text]
		if strings.Contains(a[0].Text, "+") {
			return t.pollSet(want)
		}
		head := fmt.Sprintf("poll(%d, %s)", p.fd, a[1].Text)
		if !p.started && len(a) > 2 {
			d, _ := lang.ParseDuration(a[2].Text)
			p.deadline = t.r.clock.Now().Add(d)
			t.timer = t.r.clock.AfterFunc(d, func() { t.timer = nil; p.timedOut = true; t.schedule(0) })
		}
		got := s.Poll(p.fd)
		if got&(want|stack.PollErr|stack.PollHup|stack.PollNval) == 0 && !p.timedOut {
			return t.block(head)
		}
		if want&stack.PollRdHup == 0 {
			got &^= stack.PollRdHup // poll(2) reports POLLRDHUP only when asked
		}
		if want&stack.PollPri == 0 {
			got &^= stack.PollPri // and POLLPRI
		}
		res := pollString(got)
		t.setVar(st, p.fd)
		if got&(want|stack.PollErr|stack.PollHup|stack.PollNval) == 0 {
			res = "0 (timeout)" // as poll(2) returns 0
			t.setVar(st, 0)
		}
		if p.started {
			head = fmt.Sprintf("poll(%d)", p.fd)
		}
		t.emit(p.fd, "", "poll", head+" → "+res)
		return t.ok(st, nil)
	}
	return true
}

// msgFlags turns recv's or send's flags argument ("peek+dontwait") into
// the facade's flags; the loader has checked the names.
func msgFlags(s string) stack.MsgFlags {
	var f stack.MsgFlags
	for _, name := range strings.Split(s, "+") {
		f |= map[string]stack.MsgFlags{"peek": stack.MsgPeek, "dontwait": stack.MsgDontWait, "waitall": stack.MsgWaitAll,
			"more": stack.MsgMore, "nosignal": stack.MsgNoSignal, "eor": stack.MsgEOR, "oob": stack.MsgOOB}[name]
	}
	return f
}

func sendArg(a lang.Arg, n int) string {
	if a.Quoted {
		return quoteShort([]byte(a.Text))
	}
	return strconv.Itoa(n)
}

func pollString(e stack.PollEvents) string {
	var parts []string
	for _, x := range []struct {
		bit  stack.PollEvents
		name string
	}{{stack.PollIn, "in"}, {stack.PollOut, "out"}, {stack.PollErr, "err"}, {stack.PollHup, "hup"}, {stack.PollRdHup, "rdhup"}, {stack.PollNval, "nval"}, {stack.PollPri, "pri"}} {
		if e&x.bit != 0 {
			parts = append(parts, x.name)
		}
	}
	if len(parts) == 0 {
		return "timeout"
	}
	return strings.Join(parts, "|")
}

// recv runs a pending recv or recvfrom: `recv(c, 5)` reads until 5 bytes
// or the end of the stream, `recv(c, all)` until the end of the stream,
// `recv(c, any)` what one read returns. Datagram sockets read one datagram.
func (t *task) recv() bool {
	p := t.pend
	s := t.h.st
	st := p.st
	arg := st.Args[1].Text
	nb := t.userNB[p.fd]
	var fl stack.MsgFlags
	if len(st.Args) > 2 {
		fl = msgFlags(st.Args[2].Text)
		arg += ", " + st.Args[2].Text
		nb = nb || fl&(stack.MsgDontWait|stack.MsgOOB) != 0 // MSG_OOB never waits (tcp_recv_urg)
	}
	info, _ := s.Info(p.fd)
	dgram := info.Type == stack.SockDgram || info.Type == stack.SockICMP || st.Call == "recvfrom"
	if !p.started && p.count == 0 {
		switch st.Args[1].Text {
		case "all":
		case "any":
			p.any = true
		default:
			p.limit, _ = lang.ParseSize(st.Args[1].Text)
		}
		if fl&(stack.MsgPeek|stack.MsgOOB) != 0 {
			p.any = true // one look: a peek consumes nothing, so a second would see the same bytes; MSG_OOB reads one byte
		}
		p.lowat = 1
		if info.Type == stack.SockStream && fl&stack.MsgPeek == 0 && !nb {
			if v, err := s.GetSockopt(p.fd, stack.SoRcvLowat); err == nil {
				p.lowat = min(int64(v), int64(len(t.r.buf)))
			}
		}
	}
	if p.started && p.lowat > 1 && s.Poll(p.fd)&(stack.PollIn|stack.PollErr|stack.PollHup|stack.PollRdHup) == 0 {
		t.wait(p.fd) // woken by data short of SO_RCVLOWAT, which wakes no reader
		return false
	}
	keep := st.Expect != nil && st.Expect.Data != nil || p.any || dgram
	buf := t.r.buf
	for {
		want := int64(len(buf))
		if p.limit >= 0 && p.limit-p.count < want {
			want = p.limit - p.count
		}
		if want == 0 && p.limit >= 0 {
			return t.recvDone(nil)
		}
		var n int
		var err error
		switch {
		case fl != 0:
			var from netip.AddrPort
			n, from, err = s.RecvMsg(p.fd, buf[:want], fl)
			if dgram {
				p.from = from
			}
		case dgram:
			n, p.from, err = s.RecvFrom(p.fd, buf[:want])
		default:
			n, err = s.Recv(p.fd, buf[:want])
		}
		if errnoOf(err) == syscall.EAGAIN {
			if p.count > 0 && (dgram || p.any && (p.count >= p.lowat || nb)) {
				return t.recvDone(nil)
			}
			if nb {
				return t.recvDone(err)
			}
			if p.started {
				t.wait(p.fd)
				return false
			}
			return t.block(fmt.Sprintf("%s(%d, %s)", st.Call, p.fd, arg))
		}
		if err != nil {
			return t.recvDone(err)
		}
		if n == 0 && !dgram {
			return t.recvDone(nil) // end of stream
		}
		if fl&(stack.MsgPeek|stack.MsgWaitAll) == stack.MsgPeek|stack.MsgWaitAll && !nb && !dgram &&
			p.limit >= 0 && int64(n) < p.limit && s.Poll(p.fd)&(stack.PollRdHup|stack.PollHup|stack.PollErr) == 0 {
			// MSG_PEEK|MSG_WAITALL waits, peeking, for the whole
			// length, as Linux's tcp_recvmsg: look again at the next
			// change.
			if p.started {
				t.wait(p.fd)
				return false
			}
			return t.block(fmt.Sprintf("%s(%d, %s)", st.Call, p.fd, arg))
		}
		if p.badAt < 0 {
			if i := patternMismatch(buf[:n], p.count); i >= 0 {
				p.badAt = p.count + int64(i)
			}
		}
		if keep {
			p.got = append(p.got, buf[:n]...)
		}
		p.count += int64(n)
		if p.any && p.count < p.lowat {
			continue // copied what was there; wait for SO_RCVLOWAT's bytes
		}
		if p.any || dgram || p.limit >= 0 && p.count >= p.limit {
			return t.recvDone(nil)
		}
	}
}

// recvDone reports a finished recv and checks its expectation.
func (t *task) recvDone(err error) bool {
	p := t.pend
	st := p.st
	res := strconv.FormatInt(p.count, 10)
	if err != nil {
		res = resultName(err)
	} else if p.got != nil {
		res += " " + quoteShort(p.got)
	}
	if p.from.IsValid() {
		res += " from " + p.from.String()
		t.vars["_from"] = 0
		t.h.lastFrom[p.fd] = p.from
	}
	if p.started {
		t.emit(p.fd, "", st.Call, fmt.Sprintf("%s(%d) → %s", st.Call, p.fd, res))
	} else {
		arg := st.Args[1].Text
		if len(st.Args) > 2 {
			arg += ", " + st.Args[2].Text
		}
		t.emit(p.fd, "", st.Call, fmt.Sprintf("%s(%d, %s) → %s", st.Call, p.fd, arg, res))
	}
	t.h.received[p.fd] = p.got
	if st.Var != "" {
		t.vars[st.Var] = int(p.count)
		if err != nil {
			t.vars[st.Var] = -1
		}
	}
	if e := st.Expect; e != nil && err == nil {
		switch {
		case e.Data != nil:
			if string(p.got) != *e.Data {
				t.fail(st, fmt.Sprintf("received %s, expected %s", quoteShort(p.got), quoteShort([]byte(*e.Data))),
					fieldDiff{"data", strconv.Quote(*e.Data), strconv.Quote(string(p.got))},
					fieldDiff{"length", strconv.Itoa(len(*e.Data)), strconv.Itoa(len(p.got))})
				return false
			}
		case e.Size >= 0:
			if p.count != e.Size || p.badAt >= 0 {
				var diffs []fieldDiff
				if p.count != e.Size {
					diffs = append(diffs, fieldDiff{"bytes", strconv.FormatInt(e.Size, 10), strconv.FormatInt(p.count, 10)})
				}
				if p.badAt >= 0 {
					diffs = append(diffs, fieldDiff{"first bad byte", "none", fmt.Sprintf("offset %d", p.badAt)})
				}
				t.fail(st, fmt.Sprintf("received %d bytes (first difference from the sent pattern at %d), expected %d intact", p.count, p.badAt, e.Size), diffs...)
				return false
			}
		}
	}
	return t.ok(st, err)
}

// maxEpollBatch is how many ready descriptors one epoll_wait takes from
// the stack; the program gets them one per call, as a loop over the
// events array of epoll_wait(2) would.
const maxEpollBatch = 64

// epollWait runs `fd = epoll_wait(ep [, timeout])`: the next ready
// descriptor of the last batch, or a new batch, blocking until one is
// ready (or the timeout passes: then the variable is 0, as epoll_wait
// returns 0 events).
func (t *task) epollWait() bool {
	p := t.pend
	st := p.st
	s := t.h.st
	if t.ready == nil {
		t.ready = map[int][]int{}
	}
	if q := t.ready[p.fd]; len(q) > 0 && !p.started {
		t.ready[p.fd] = q[1:]
		t.setVar(st, q[0])
		t.emit(p.fd, "", "epoll_wait", fmt.Sprintf("epoll_wait(%d) → %d (from the last batch)", p.fd, q[0]))
		return t.ok(st, nil)
	}
	if !p.started && len(st.Args) > 1 {
		d, _ := lang.ParseDuration(st.Args[1].Text)
		t.timer = t.r.clock.AfterFunc(d, func() { t.timer = nil; p.timedOut = true; t.schedule(0) })
	}
	var evs [maxEpollBatch]stack.EpollEvent
	n, err := s.EpollWait(p.fd, evs[:], 0)
	if err != nil {
		t.emit(p.fd, "", "epoll_wait", fmt.Sprintf("epoll_wait(%d) → %s", p.fd, resultName(err)))
		return t.ok(st, err)
	}
	if n == 0 && !p.timedOut {
		return t.block(fmt.Sprintf("epoll_wait(%d)", p.fd))
	}
	head := fmt.Sprintf("epoll_wait(%d)", p.fd)
	if n == 0 {
		t.setVar(st, 0)
		t.emit(p.fd, "", "epoll_wait", head+" → 0 (timeout)")
		return t.ok(st, nil)
	}
	var b strings.Builder
	q := t.ready[p.fd][:0]
	for i, e := range evs[:n] {
		if i > 0 {
			b.WriteString(", ")
			q = append(q, e.FD)
		}
		fmt.Fprintf(&b, "%d %s", e.FD, pollString(e.Events))
	}
	t.ready[p.fd] = q
	t.setVar(st, evs[0].FD)
	t.emit(p.fd, "", "epoll_wait", fmt.Sprintf("%s → %d ready: %s", head, n, b.String()))
	return t.ok(st, nil)
}

// dropReady forgets fd from ep's undelivered batch (epoll_ctl del).
func (t *task) dropReady(ep, fd int) {
	q := t.ready[ep]
	for i := 0; i < len(q); i++ {
		if q[i] == fd {
			q = append(q[:i], q[i+1:]...)
			i--
		}
	}
	if t.ready != nil {
		t.ready[ep] = q
	}
}

func (t *task) setVar(st *lang.Stmt, v int) {
	if st.Var != "" {
		t.vars[st.Var] = v
	}
}

// pollSet runs `r = poll(a+b+c, in [, timeout])`: poll(2) over a set,
// blocking until one is ready (or the timeout passes: r is 0); r is the
// first ready descriptor, and the trace shows every one.
func (t *task) pollSet(want stack.PollEvents) bool {
	p := t.pend
	st := p.st
	s := t.h.st
	var fds []stack.PollFD
	var nums []string
	for _, name := range strings.Split(st.Args[0].Text, "+") {
		fd := t.fd(lang.Arg{Text: name})
		fds = append(fds, stack.PollFD{FD: fd, Events: want})
		nums = append(nums, strconv.Itoa(fd))
	}
	head := fmt.Sprintf("poll([%s], %s)", strings.Join(nums, ", "), st.Args[1].Text)
	if !p.started && len(st.Args) > 2 {
		d, _ := lang.ParseDuration(st.Args[2].Text)
		t.timer = t.r.clock.AfterFunc(d, func() { t.timer = nil; p.timedOut = true; t.schedule(0) })
	}
	n, err := s.PollFDs(fds, 0)
	if err != nil {
		t.emit(-1, "", "poll", head+" → "+resultName(err))
		return t.ok(st, err)
	}
	if n == 0 && !p.timedOut {
		if !p.started {
			p.started = true
			t.emit(-1, "", "poll", head+" → blocks")
		}
		t.blocked = true
		if t.cancel != nil {
			t.cancel()
		}
		var cancels []func()
		for _, f := range fds {
			if f.FD >= 0 {
				cancels = append(cancels, s.Notify(f.FD, func() {
					if t.blocked {
						t.schedule(0)
					}
				}))
			}
		}
		t.waitFD = -2 // a set: the next wait registers afresh
		t.cancel = func() {
			for _, c := range cancels {
				c()
			}
		}
		return false
	}
	if p.started {
		head = "poll([" + strings.Join(nums, ", ") + "])"
	}
	if n == 0 {
		t.setVar(st, 0)
		t.emit(-1, "", "poll", head+" → 0 (timeout)")
		return t.ok(st, nil)
	}
	var ready []string
	first := 0
	for _, f := range fds {
		if f.Revents != 0 {
			if first == 0 {
				first = f.FD
			}
			ready = append(ready, fmt.Sprintf("%d %s", f.FD, pollString(f.Revents)))
		}
	}
	t.setVar(st, first)
	t.emit(-1, "", "poll", fmt.Sprintf("%s → %d: %s", head, n, strings.Join(ready, ", ")))
	return t.ok(st, nil)
}

// sameSockAddr reports whether a call's address is the expected one:
// "addr:port", or an address alone, which matches any port (a port
// drawn from the seed need not be written down).
func sameSockAddr(got netip.AddrPort, want string) bool {
	if a, err := netip.ParseAddr(want); err == nil {
		return got.Addr() == a
	}
	return got.String() == want
}
