package stack

import (
	"net/netip"
	"strconv"
	"syscall"
	"time"
)

// poll(2) over many descriptors and epoll(7), in the descriptor facade.
// Like every blocking call of the facade, a wait with a timeout needs a
// clock that advances on its own; under a virtual clock pass a zero
// timeout and wait on [Stack.Notify] (an epoll descriptor notifies when
// one of its registrations becomes ready).

// PollFD is one entry of [Stack.PollFDs], as struct pollfd: the
// descriptor, the events asked for, and the events found.
type PollFD struct {
	FD      int
	Events  PollEvents
	Revents PollEvents
}

// alwaysPolled are reported whether asked for or not.
const alwaysPolled = PollErr | PollHup | PollNval

// maxPollFDs bounds one poll call, as RLIMIT_NOFILE does in Linux.
const maxPollFDs = 1 << 16

// PollFDs is poll(2): it fills in each entry's Revents (the events asked
// for that are ready, plus PollErr, PollHup and PollNval always) and
// returns how many entries have a non-zero Revents. A negative FD is
// skipped (Revents 0). A zero timeout returns at once; a negative one
// waits without limit. It returns 0 when the timeout passes first, and
// EINVAL for more than 65536 entries.
func (s *Stack) PollFDs(fds []PollFD, timeout time.Duration) (int, error) {
	if len(fds) > maxPollFDs {
		return 0, opError("poll", 0, noAddr, noAddr, syscall.EINVAL)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var deadline time.Time
	if timeout > 0 {
		deadline = s.opts.Clock.Now().Add(timeout)
	}
	for {
		n := 0
		for i := range fds {
			p := &fds[i]
			p.Revents = 0
			if p.FD < 0 {
				continue
			}
			sk, err := s.lookupAny(p.FD)
			if err != nil {
				p.Revents = PollNval
			} else {
				p.Revents = sk.pollUser() & (p.Events | alwaysPolled)
			}
			if p.Revents != 0 {
				n++
			}
		}
		if n > 0 || timeout == 0 {
			return n, nil
		}
		var socks []*socket
		for _, p := range fds {
			if sk, err := s.lookupAny(p.FD); err == nil {
				socks = append(socks, sk)
			}
		}
		if s.waitAny(socks, deadline) {
			return 0, nil
		}
	}
}

// waitAny releases the lock until the readiness of one of socks may have
// changed or the deadline (if not zero) passes, then retakes it. It
// reports whether the deadline passed.
func (s *Stack) waitAny(socks []*socket, deadline time.Time) (timedOut bool) {
	wake := make(chan struct{})
	woken := false
	fire := func() {
		if !woken {
			woken = true
			close(wake)
		}
	}
	ids := make([]int, len(socks))
	for i, sk := range socks {
		ids[i] = sk.addWatcher(fire)
	}
	var expired chan struct{}
	var t Timer
	if !deadline.IsZero() {
		d := deadline.Sub(s.opts.Clock.Now())
		if d <= 0 {
			for i, sk := range socks {
				sk.removeWatcher(ids[i])
			}
			return true
		}
		expired = make(chan struct{})
		t = s.opts.Clock.AfterFunc(d, func() { close(expired) })
	}
	s.mu.Unlock()
	select {
	case <-wake:
	case <-expired:
	}
	s.mu.Lock()
	if t != nil {
		t.Stop()
	}
	for i, sk := range socks {
		sk.removeWatcher(ids[i])
	}
	if expired != nil {
		select {
		case <-expired:
			return !woken
		default:
		}
	}
	return false
}

// EpollOp is the operation of [Stack.EpollCtl].
type EpollOp uint8

// The operations of epoll_ctl(2).
const (
	EpollAdd EpollOp = iota + 1 // EPOLL_CTL_ADD
	EpollMod                    // EPOLL_CTL_MOD
	EpollDel                    // EPOLL_CTL_DEL
)

// EpollEvent is one registration's events and data, as struct
// epoll_event: in [Stack.EpollCtl] the events asked for (with EpollET,
// EpollOneShot); from [Stack.EpollWait] the events found. FD names the
// descriptor the event is about; Data is the caller's, returned as given.
type EpollEvent struct {
	Events PollEvents
	FD     int
	Data   uint64
}

// Bounds of epoll, as Linux's max_user_watches and EP_MAX_NESTS.
const (
	maxEpollItems = 1 << 16
	maxEpollNest  = 4
)

// epoll is an epoll instance: its registrations and its ready list.
type epoll struct {
	s     *Stack
	sk    *socket // the epoll descriptor
	items map[int]*epItem
	ready []*epItem // in the order they became ready, as Linux's rdllist
}

// epItem is one registration of a descriptor in an epoll instance.
type epItem struct {
	ep       *epoll
	sk       *socket // the watched descriptor
	ev       EpollEvent
	watch    int  // the watcher id on sk
	queued   bool // on ep.ready
	disabled bool // a one-shot registration that has fired

	// For edge triggering: what was ready at the last edge, and how much
	// had arrived, so that a wake-up with nothing new is not an edge.
	lastMask PollEvents
	lastRx   uint64
	lastTx   uint32 // the write-space wake-ups seen (txMark)
}

// EpollCreate is epoll_create1(2): it returns a new epoll descriptor,
// from the same table as sockets.
func (s *Stack) EpollCreate() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, err := s.newSocket(0)
	if err != nil {
		return -1, opError("epoll_create", 0, netip.AddrPort{}, netip.AddrPort{}, err)
	}
	sk.ep = &epoll{s: s, sk: sk, items: make(map[int]*epItem)}
	return sk.fd, nil
}

// EpollCtl is epoll_ctl(2): it adds, changes or removes the registration
// of fd in the epoll instance epfd. Errors as Linux: EBADF (either
// descriptor not open), EINVAL (epfd is not an epoll instance, or fd is
// epfd), EEXIST (added twice), ENOENT (not registered), ELOOP (epoll
// instances watching each other, or nested deeper than 4), ENOSPC (more
// than 65536 registrations).
func (s *Stack) EpollCtl(epfd int, op EpollOp, fd int, ev EpollEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fail := func(e syscall.Errno) error { return opError("epoll_ctl", 0, noAddr, noAddr, e) }
	esk, err := s.lookupAny(epfd)
	if err != nil {
		return fail(syscall.EBADF)
	}
	tsk, err := s.lookupAny(fd)
	if err != nil {
		return fail(syscall.EBADF)
	}
	if esk.ep == nil || fd == epfd {
		return fail(syscall.EINVAL)
	}
	ep := esk.ep
	it := ep.items[fd]
	ev.FD = fd
	switch op {
	case EpollAdd:
		if it != nil {
			return fail(syscall.EEXIST)
		}
		if len(ep.items) >= maxEpollItems {
			return fail(syscall.ENOSPC)
		}
		if tsk.ep != nil && (tsk.ep.reaches(ep, 0) || ep.depthAbove()+tsk.ep.depthBelow() >= maxEpollNest) {
			return fail(syscall.ELOOP)
		}
		it = &epItem{ep: ep, sk: tsk, ev: ev}
		ep.items[fd] = it
		tsk.epItems = append(tsk.epItems, it)
		it.watch = tsk.addWatcher(it.signal)
		it.arm()
	case EpollMod:
		if it == nil {
			return fail(syscall.ENOENT)
		}
		it.ev = ev
		it.disabled = false
		it.unqueue()
		it.arm()
	case EpollDel:
		if it == nil {
			return fail(syscall.ENOENT)
		}
		ep.remove(it)
	default:
		return fail(syscall.EINVAL)
	}
	return nil
}

// EpollWait is epoll_wait(2): it fills events with up to len(events)
// ready registrations and returns how many. A zero timeout returns at
// once; a negative one waits without limit; when the timeout passes first
// it returns 0. A level-triggered registration is reported while it stays
// ready; an edge-triggered one (EpollET) once per change; a one-shot one
// once until re-armed with EpollMod.
func (s *Stack) EpollWait(epfd int, events []EpollEvent, timeout time.Duration) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	esk, err := s.lookupAny(epfd)
	if err != nil {
		return 0, opError("epoll_wait", 0, noAddr, noAddr, syscall.EBADF)
	}
	if esk.ep == nil || len(events) == 0 {
		return 0, opError("epoll_wait", 0, noAddr, noAddr, syscall.EINVAL)
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = s.opts.Clock.Now().Add(timeout)
	}
	for {
		if esk.closed {
			return 0, opError("epoll_wait", 0, noAddr, noAddr, syscall.EBADF)
		}
		if n := esk.ep.harvest(events); n > 0 || timeout == 0 {
			return n, nil
		}
		if s.waitAny([]*socket{esk}, deadline) {
			return 0, nil
		}
	}
}

// signal is the watcher of a registration: the watched descriptor's
// readiness may have changed.
func (it *epItem) signal() {
	if it.disabled {
		return
	}
	mask := it.sk.poll() & (it.ev.Events | PollErr | PollHup)
	if mask == 0 {
		it.lastMask = 0
		return
	}
	if it.ev.Events&EpollET != 0 {
		// A wake-up is an edge when something new is ready or new data
		// arrived, as Linux's wake-ups carry the events that caused them.
		rx, tx := it.sk.rxMark(), it.sk.txMark()
		if mask == it.lastMask && rx == it.lastRx && tx == it.lastTx {
			return
		}
		it.lastMask, it.lastRx, it.lastTx = mask, rx, tx
	}
	it.queue()
}

// arm checks readiness at once, as epoll_ctl does on add and modify.
func (it *epItem) arm() {
	it.lastMask, it.lastRx, it.lastTx = 0, 0, it.sk.txMark()
	it.sk.pollUser()
	it.signal()
}

// queue puts the item on the ready list, unless it is there already,
// and wakes the epoll's waiters either way, as ep_poll_callback does.
func (it *epItem) queue() {
	if !it.queued {
		it.queued = true
		it.ep.ready = append(it.ep.ready, it)
	}
	it.ep.sk.notify()
}

func (it *epItem) unqueue() {
	if !it.queued {
		return
	}
	it.queued = false
	ep := it.ep
	for i, r := range ep.ready {
		if r == it {
			ep.ready = append(ep.ready[:i:i], ep.ready[i+1:]...)
			break
		}
	}
}

// hasReady reports whether a wait would find an event now. Level-
// triggered items on the list are checked again, as ep_poll does.
func (ep *epoll) hasReady() bool {
	for _, it := range ep.ready {
		if it.sk.poll()&(it.ev.Events|PollErr|PollHup) != 0 {
			return true
		}
	}
	return false
}

// harvest moves up to len(out) ready events to out.
func (ep *epoll) harvest(out []EpollEvent) int {
	n := 0
	var again []*epItem // level-triggered items still ready go to the tail
	rest := ep.ready
	for len(rest) > 0 && n < len(out) {
		it := rest[0]
		rest = rest[1:]
		it.queued = false
		mask := it.sk.pollUser() & (it.ev.Events | PollErr | PollHup)
		if mask == 0 {
			it.lastMask = 0
			continue
		}
		out[n] = EpollEvent{Events: mask, FD: it.ev.FD, Data: it.ev.Data}
		n++
		switch {
		case it.ev.Events&EpollOneShot != 0:
			it.disabled = true
		case it.ev.Events&EpollET != 0:
			it.lastMask, it.lastRx, it.lastTx = mask, it.sk.rxMark(), it.sk.txMark()
		default:
			again = append(again, it)
		}
	}
	ep.ready = append(append(ep.ready[:0:0], rest...), again...)
	for _, it := range again {
		it.queued = true
	}
	return n
}

// remove ends a registration.
func (ep *epoll) remove(it *epItem) {
	it.unqueue()
	it.sk.removeWatcher(it.watch)
	for i, x := range it.sk.epItems {
		if x == it {
			it.sk.epItems = append(it.sk.epItems[:i:i], it.sk.epItems[i+1:]...)
			break
		}
	}
	if ep.items[it.ev.FD] == it {
		delete(ep.items, it.ev.FD)
	}
}

// closeAll ends every registration when the epoll descriptor closes.
func (ep *epoll) closeAll() {
	for _, it := range ep.items {
		ep.remove(it)
	}
}

// reaches reports whether ep (an epoll watched by target, or target
// itself) watches target, directly or through nested instances.
func (ep *epoll) reaches(target *epoll, depth int) bool {
	if ep == target {
		return true
	}
	if depth > maxEpollNest {
		return true
	}
	for _, it := range ep.items {
		if it.sk.ep != nil && it.sk.ep.reaches(target, depth+1) {
			return true
		}
	}
	return false
}

// depthBelow is how many epoll instances deep the nesting under ep goes.
func (ep *epoll) depthBelow() int {
	d := 0
	for _, it := range ep.items {
		if it.sk.ep != nil {
			d = max(d, 1+it.sk.ep.depthBelow())
		}
	}
	return d
}

// depthAbove is how many epoll instances watch ep, one inside another.
func (ep *epoll) depthAbove() int {
	d := 0
	for _, it := range ep.sk.epItems {
		d = max(d, 1+it.ep.depthAbove())
	}
	return d
}

// rxMark counts what has arrived on the socket, so that new data is an
// edge even when the socket was readable before; on TCP, only data that
// left the socket readable (SO_RCVLOWAT's bytes), as only that wakes
// Linux's waiters (tcp_data_ready).
func (sk *socket) rxMark() uint64 {
	switch {
	case sk.conn != nil:
		return sk.conn.ReadyMark()
	case sk.ln != nil:
		return sk.ln.Queued()
	case sk.udp != nil:
		return sk.udp.queue.pushed
	case sk.icmp != nil:
		return sk.icmp.queue.pushed
	}
	return 0
}

// pollUser is poll as a poll, epoll_wait or epoll_ctl call makes it:
// Linux's tcp_poll also marks an unwriteable socket SOCK_NOSPACE
// (tcp.Conn.NoteUnwriteable). The stack's own looks (an epoll
// registration's wake-up, which Linux's callback makes without polling)
// use poll.
func (sk *socket) pollUser() PollEvents {
	ev := sk.poll()
	if ev&PollOut == 0 && sk.conn != nil && !sk.closed {
		sk.conn.NoteUnwriteable()
	}
	return ev
}

// txMark counts the wake-ups of a writer that found the send buffer
// full (tcp.Conn.WriteWakes): each is an edge for EPOLLOUT.
func (sk *socket) txMark() uint32 {
	if sk.conn != nil {
		return sk.conn.WriteWakes()
	}
	return 0
}

var noAddr netip.AddrPort

// String names the bits set, as poll(2) and epoll(7) do.
func (e PollEvents) String() string {
	if e == 0 {
		return "0"
	}
	names := []struct {
		bit  PollEvents
		name string
	}{{PollIn, "POLLIN"}, {PollOut, "POLLOUT"}, {PollErr, "POLLERR"}, {PollHup, "POLLHUP"},
		{PollRdHup, "POLLRDHUP"}, {PollNval, "POLLNVAL"}, {PollPri, "POLLPRI"}, {EpollET, "EPOLLET"}, {EpollOneShot, "EPOLLONESHOT"}}
	out := ""
	for _, n := range names {
		if e&n.bit != 0 {
			if out != "" {
				out += "|"
			}
			out += n.name
			e &^= n.bit
		}
	}
	if e != 0 {
		if out != "" {
			out += "|"
		}
		out += "0x" + strconv.FormatUint(uint64(e), 16)
	}
	return out
}
