//go:build linux

package stack_test

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"stacklab/stack"
)

// The differential test: one catalogue of socket call sequences, each run
// against the Linux kernel's sockets (on 127.0.0.1, in this process) and
// against stacklab's descriptor facade (one stack, over its loopback
// interface), and the transcripts of results compared case by case.
// `go test ./stack -run TestSocketsDiffLinux -difftable -v` prints the table.
// As root (-diffcounters auto, the default) each case's kernel side runs
// in a network namespace of its own, and the counters the case moved on
// each side are part of the transcript (sockdiff_counters_linux_test.go).

var diffTable = flag.Bool("difftable", false, "print the differential test's table: each case's Linux and stacklab transcripts")

// diffCase runs only the cases whose names match it (a regular
// expression): `-diffcase 'tcpinfo/' -count 20` repeats a few.
var diffCaseRE = flag.String("diffcase", "", "run only the differential test's cases whose names match this regular expression")

// sockAPI is what a case calls: the descriptor facade's shape, which the
// Linux side implements with raw system calls.
type sockAPI interface {
	SocketFamily(f stack.Family, typ stack.SockType) (int, error)
	Bind(fd int, a netip.AddrPort) error
	Listen(fd, backlog int) error
	Accept(fd int) (int, netip.AddrPort, error)
	Connect(fd int, a netip.AddrPort) error
	SendMsg(fd int, b []byte, flags stack.MsgFlags, to netip.AddrPort) (int, error)
	RecvMsg(fd int, b []byte, flags stack.MsgFlags) (int, netip.AddrPort, error)
	Shutdown(fd, how int) error
	Close(fd int) error
	SetNonblock(fd int, on bool) error
	SetSockopt(fd int, opt stack.SockOpt, v int) error
	GetSockopt(fd int, opt stack.SockOpt) (int, error)
	SetCongestion(fd int, name string) error
	GetSockname(fd int) (netip.AddrPort, error)
	GetPeername(fd int) (netip.AddrPort, error)
	PollFDs(fds []stack.PollFD, timeout time.Duration) (int, error)
	InQ(fd int) (int, error)
	AtMark(fd int) (bool, error)
	OutQ(fd int, notSent bool) (int, error)
	RecvMsgInfo(fd int, b []byte, flags stack.MsgFlags) (int, stack.MsgInfo, error)
	LinuxTCPInfo(fd int) (stack.LinuxTCPInfo, error)
	EpollCreate() (int, error)
	EpollCtl(epfd int, op stack.EpollOp, fd int, ev stack.EpollEvent) error
	EpollWait(epfd int, events []stack.EpollEvent, timeout time.Duration) (int, error)
}

func (linuxAPI) EpollCreate() (int, error) { return unix.EpollCreate1(unix.EPOLL_CLOEXEC) }

var epollOps = map[stack.EpollOp]int{stack.EpollAdd: unix.EPOLL_CTL_ADD, stack.EpollMod: unix.EPOLL_CTL_MOD, stack.EpollDel: unix.EPOLL_CTL_DEL}

func (linuxAPI) EpollCtl(epfd int, op stack.EpollOp, fd int, ev stack.EpollEvent) error {
	e := unix.EpollEvent{Events: uint32(uint16(linuxPollBits(ev.Events))), Fd: int32(fd)}
	if ev.Events&stack.EpollET != 0 {
		e.Events |= unix.EPOLLET
	}
	if ev.Events&stack.EpollOneShot != 0 {
		e.Events |= unix.EPOLLONESHOT
	}
	o, ok := epollOps[op]
	if !ok {
		o = 99
	}
	return unix.EpollCtl(epfd, o, fd, &e)
}

func (linuxAPI) EpollWait(epfd int, events []stack.EpollEvent, timeout time.Duration) (int, error) {
	ev := make([]unix.EpollEvent, len(events))
	n, err := unix.EpollWait(epfd, ev, int(timeout/time.Millisecond))
	for err == unix.EINTR { // the Go runtime's preemption signal, not the case's
		n, err = unix.EpollWait(epfd, ev, int(timeout/time.Millisecond))
	}
	for i := 0; i < n; i++ {
		events[i] = stack.EpollEvent{Events: stackPollBits(int16(ev[i].Events)), FD: int(ev[i].Fd)}
	}
	return n, err
}

// LinuxTCPInfo is getsockopt(TCP_INFO), the fields stacklab computes.
func (linuxAPI) LinuxTCPInfo(fd int) (stack.LinuxTCPInfo, error) {
	i, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return stack.LinuxTCPInfo{}, err
	}
	return stack.LinuxTCPInfo{
		State: i.State, CAState: i.Ca_state, Retransmits: i.Retransmits, Probes: i.Probes, Backoff: i.Backoff,
		Options: i.Options,
		RTO:     i.Rto, SndMSS: i.Snd_mss, RcvMSS: i.Rcv_mss, Unacked: i.Unacked, Sacked: i.Sacked,
		Lost: i.Lost, Retrans: i.Retrans, RTT: i.Rtt, RTTVar: i.Rttvar, SndSsthresh: i.Snd_ssthresh,
		SndCwnd: i.Snd_cwnd, Reordering: i.Reordering, TotalRetrans: i.Total_retrans,
		BytesAcked: i.Bytes_acked, BytesReceived: i.Bytes_received, NotsentBytes: i.Notsent_bytes,
		Delivered: i.Delivered, BytesSent: i.Bytes_sent, ReordSeen: i.Reord_seen, SndWnd: i.Snd_wnd,
		// The bit fields after tcpi_options, which x/sys's struct
		// leaves as padding: snd_wscale:4, rcv_wscale:4, then
		// delivery_rate_app_limited:1.
		SndWScale: (*[8]byte)(unsafe.Pointer(i))[6] & 15, RcvWScale: (*[8]byte)(unsafe.Pointer(i))[6] >> 4,
		DeliveryRateAppLimited: (*[8]byte)(unsafe.Pointer(i))[7] & 1,
		ATO:                    i.Ato, LastDataSent: i.Last_data_sent, LastDataRecv: i.Last_data_recv,
		LastAckRecv: i.Last_ack_recv, PMTU: i.Pmtu, RcvSsthresh: i.Rcv_ssthresh, AdvMSS: i.Advmss,
		RcvRTT: i.Rcv_rtt, RcvSpace: i.Rcv_space, PacingRate: i.Pacing_rate, MaxPacingRate: i.Max_pacing_rate,
		SegsOut: i.Segs_out, SegsIn: i.Segs_in, MinRTT: i.Min_rtt, DataSegsIn: i.Data_segs_in,
		DataSegsOut: i.Data_segs_out, DeliveryRate: i.Delivery_rate, BusyTime: i.Busy_time,
		RwndLimited: i.Rwnd_limited, SndbufLimited: i.Sndbuf_limited, DeliveredCE: i.Delivered_ce,
		BytesRetrans: i.Bytes_retrans, DSACKDups: i.Dsack_dups, RcvOOOPack: i.Rcv_ooopack, RcvWnd: i.Rcv_wnd,
		TotalRTO: i.Total_rto, TotalRTORecoveries: i.Total_rto_recoveries, TotalRTOTime: i.Total_rto_time,
	}, nil
}

// linuxAPI is sockAPI on the kernel's sockets.
type linuxAPI struct{}

func sa(a netip.AddrPort) unix.Sockaddr {
	if a.Addr().Is6() {
		return &unix.SockaddrInet6{Port: int(a.Port()), Addr: a.Addr().As16()}
	}
	return &unix.SockaddrInet4{Port: int(a.Port()), Addr: a.Addr().As4()}
}

func fromSA(s unix.Sockaddr) netip.AddrPort {
	switch s := s.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(s.Addr), uint16(s.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(s.Addr), uint16(s.Port))
	}
	return netip.AddrPort{}
}

func (linuxAPI) SocketFamily(f stack.Family, typ stack.SockType) (int, error) {
	t := unix.SOCK_STREAM
	if typ == stack.SockDgram {
		t = unix.SOCK_DGRAM
	}
	af := unix.AF_INET
	if f == stack.AFInet6 {
		af = unix.AF_INET6
	}
	return unix.Socket(af, t|unix.SOCK_CLOEXEC, 0)
}
func (linuxAPI) Bind(fd int, a netip.AddrPort) error { return unix.Bind(fd, sa(a)) }

// noEINTR calls f again while the Go runtime's preemption signal
// (SIGURG) interrupts it: that is not the case's doing, and a call with
// SO_RCVTIMEO or SO_SNDTIMEO is not restarted by the kernel.
func noEINTR(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}

func (linuxAPI) Listen(fd, n int) error { return unix.Listen(fd, n) }
func (linuxAPI) Accept(fd int) (int, netip.AddrPort, error) {
	var nfd int
	var from unix.Sockaddr
	err := noEINTR(func() (err error) { nfd, from, err = unix.Accept4(fd, unix.SOCK_CLOEXEC); return err })
	return nfd, fromSA(from), err
}
func (linuxAPI) Connect(fd int, a netip.AddrPort) error { return unix.Connect(fd, sa(a)) }
func (linuxAPI) SendMsg(fd int, b []byte, fl stack.MsgFlags, to netip.AddrPort) (int, error) {
	if to.IsValid() {
		return len(b), noEINTR(func() error { return unix.Sendto(fd, b, int(fl), sa(to)) })
	}
	var n int
	err := noEINTR(func() (err error) { n, err = unix.SendmsgN(fd, b, nil, nil, int(fl)); return err })
	return n, err
}
func (linuxAPI) RecvMsg(fd int, b []byte, fl stack.MsgFlags) (int, netip.AddrPort, error) {
	var n int
	var from unix.Sockaddr
	err := noEINTR(func() (err error) { n, from, err = unix.Recvfrom(fd, b, int(fl)); return err })
	if n < 0 {
		n = 0
	}
	return n, fromSA(from), err
}

// RecvMsgInfo is recvmsg(2) with room for ancillary data; it reports
// TCP_CM_INQ as MsgInfo.Inq.
func (linuxAPI) RecvMsgInfo(fd int, b []byte, fl stack.MsgFlags) (int, stack.MsgInfo, error) {
	oob := make([]byte, 64)
	var n, oobn int
	var from unix.Sockaddr
	err := noEINTR(func() (err error) { n, oobn, _, from, err = unix.Recvmsg(fd, b, oob, int(fl)); return err })
	info := stack.MsgInfo{From: fromSA(from), Inq: -1}
	if err != nil {
		return 0, info, err
	}
	msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_TCP && m.Header.Type == unix.TCP_CM_INQ && len(m.Data) >= 4 {
			info.Inq = int(int32(m.Data[0]) | int32(m.Data[1])<<8 | int32(m.Data[2])<<16 | int32(m.Data[3])<<24)
		}
	}
	return n, info, nil
}
func (linuxAPI) Shutdown(fd, how int) error        { return unix.Shutdown(fd, how) }
func (linuxAPI) Close(fd int) error                { return unix.Close(fd) }
func (linuxAPI) SetNonblock(fd int, on bool) error { return unix.SetNonblock(fd, on) }
func (linuxAPI) SetCongestion(fd int, n string) error {
	return unix.SetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_CONGESTION, n)
}
func (linuxAPI) GetSockname(fd int) (netip.AddrPort, error) {
	s, err := unix.Getsockname(fd)
	return fromSA(s), err
}
func (linuxAPI) GetPeername(fd int) (netip.AddrPort, error) {
	s, err := unix.Getpeername(fd)
	return fromSA(s), err
}
func (linuxAPI) InQ(fd int) (int, error) { return unix.IoctlGetInt(fd, unix.SIOCINQ) }

func (linuxAPI) OutQ(fd int, notSent bool) (int, error) {
	if notSent {
		return unix.IoctlGetInt(fd, unix.SIOCOUTQNSD)
	}
	return unix.IoctlGetInt(fd, unix.SIOCOUTQ)
}

func (linuxAPI) AtMark(fd int) (bool, error) {
	v, err := unix.IoctlGetInt(fd, unix.SIOCATMARK)
	return v != 0, err
}
func (linuxAPI) PollFDs(fds []stack.PollFD, timeout time.Duration) (int, error) {
	pf := make([]unix.PollFd, len(fds))
	for i, f := range fds {
		pf[i] = unix.PollFd{Fd: int32(f.FD), Events: linuxPollBits(f.Events)}
	}
	ms := -1
	if timeout >= 0 {
		ms = int(timeout / time.Millisecond)
	}
	n, err := unix.Poll(pf, ms)
	for err == unix.EINTR { // the Go runtime's preemption signal (SIGURG), not the case's
		n, err = unix.Poll(pf, ms)
	}
	for i := range fds {
		fds[i].Revents = stackPollBits(pf[i].Revents)
	}
	return n, err
}

var pollBits = []struct {
	st stack.PollEvents
	lx int16
}{{stack.PollIn, unix.POLLIN}, {stack.PollOut, unix.POLLOUT}, {stack.PollErr, unix.POLLERR},
	{stack.PollHup, unix.POLLHUP}, {stack.PollRdHup, unix.POLLRDHUP}, {stack.PollNval, unix.POLLNVAL}, {stack.PollPri, unix.POLLPRI}}

func linuxPollBits(e stack.PollEvents) int16 {
	var v int16
	for _, b := range pollBits {
		if e&b.st != 0 {
			v |= b.lx
		}
	}
	return v
}

func stackPollBits(v int16) stack.PollEvents {
	var e stack.PollEvents
	for _, b := range pollBits {
		if v&b.lx != 0 {
			e |= b.st
		}
	}
	return e
}

var linuxOpts = map[stack.SockOpt][2]int{
	stack.SoKeepAlive:     {unix.SOL_SOCKET, unix.SO_KEEPALIVE},
	stack.SoLinger:        {unix.SOL_SOCKET, unix.SO_LINGER},
	stack.SoRcvBuf:        {unix.SOL_SOCKET, unix.SO_RCVBUF},
	stack.SoSndBuf:        {unix.SOL_SOCKET, unix.SO_SNDBUF},
	stack.TCPNoDelay:      {unix.IPPROTO_TCP, unix.TCP_NODELAY},
	stack.TCPKeepIdle:     {unix.IPPROTO_TCP, unix.TCP_KEEPIDLE},
	stack.TCPKeepIntvl:    {unix.IPPROTO_TCP, unix.TCP_KEEPINTVL},
	stack.TCPKeepCnt:      {unix.IPPROTO_TCP, unix.TCP_KEEPCNT},
	stack.TCPQuickAck:     {unix.IPPROTO_TCP, unix.TCP_QUICKACK},
	stack.SoReuseAddr:     {unix.SOL_SOCKET, unix.SO_REUSEADDR},
	stack.SoReusePort:     {unix.SOL_SOCKET, unix.SO_REUSEPORT},
	stack.SoBroadcast:     {unix.SOL_SOCKET, unix.SO_BROADCAST},
	stack.SoType:          {unix.SOL_SOCKET, unix.SO_TYPE},
	stack.SoError:         {unix.SOL_SOCKET, unix.SO_ERROR},
	stack.SoRcvTimeo:      {unix.SOL_SOCKET, unix.SO_RCVTIMEO},
	stack.SoSndTimeo:      {unix.SOL_SOCKET, unix.SO_SNDTIMEO},
	stack.IPTTL:           {unix.IPPROTO_IP, unix.IP_TTL},
	stack.TCPUserTimeout:  {unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT},
	stack.TCPMaxSeg:       {unix.IPPROTO_TCP, unix.TCP_MAXSEG},
	stack.TCPSynCnt:       {unix.IPPROTO_TCP, unix.TCP_SYNCNT},
	stack.TCPCork:         {unix.IPPROTO_TCP, unix.TCP_CORK},
	stack.TCPNotSentLowat: {unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT},
	stack.TCPInq:          {unix.IPPROTO_TCP, unix.TCP_INQ},
	stack.IPTOS:           {unix.IPPROTO_IP, unix.IP_TOS},
	stack.UDPCork:         {unix.IPPROTO_UDP, unix.UDP_CORK},
	stack.IPv6V6Only:      {unix.IPPROTO_IPV6, unix.IPV6_V6ONLY},
	stack.IPMTUDiscover:   {unix.IPPROTO_IP, unix.IP_MTU_DISCOVER},
	stack.SoRcvLowat:      {unix.SOL_SOCKET, unix.SO_RCVLOWAT},
	stack.SoOOBInline:     {unix.SOL_SOCKET, unix.SO_OOBINLINE},
	stack.TCPDeferAccept:  {unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT},
}

// optNoSuch is an option number no Linux level knows, for the error case.
const optNoSuch stack.SockOpt = 254

func (linuxAPI) SetSockopt(fd int, opt stack.SockOpt, v int) error {
	lv, ok := linuxOpts[opt]
	if !ok {
		return unix.SetsockoptInt(fd, unix.SOL_SOCKET, 0x7fff, v)
	}
	switch opt {
	case stack.SoLinger:
		l := unix.Linger{}
		if v >= 0 {
			l.Onoff, l.Linger = 1, int32(v)
		}
		return unix.SetsockoptLinger(fd, lv[0], lv[1], &l)
	case stack.SoRcvTimeo, stack.SoSndTimeo:
		tv := unix.NsecToTimeval(int64(time.Duration(v) * time.Millisecond))
		return unix.SetsockoptTimeval(fd, lv[0], lv[1], &tv)
	}
	return unix.SetsockoptInt(fd, lv[0], lv[1], v)
}

func (linuxAPI) GetSockopt(fd int, opt stack.SockOpt) (int, error) {
	lv, ok := linuxOpts[opt]
	if !ok {
		return unix.GetsockoptInt(fd, unix.SOL_SOCKET, 0x7fff)
	}
	switch opt {
	case stack.SoLinger:
		l, err := unix.GetsockoptLinger(fd, lv[0], lv[1])
		if err != nil || l.Onoff == 0 {
			return -1, err
		}
		return int(l.Linger), nil
	case stack.SoRcvTimeo, stack.SoSndTimeo:
		tv, err := unix.GetsockoptTimeval(fd, lv[0], lv[1])
		if err != nil {
			return 0, err
		}
		return int(time.Duration(tv.Nano()) / time.Millisecond), nil
	}
	return unix.GetsockoptInt(fd, lv[0], lv[1])
}

// stackAPI is sockAPI on a stack: the facade, with PollFDs for poll.
type stackAPI struct{ *stack.Stack }

// denv runs one case against one side and keeps its transcript.
type denv struct {
	t     *testing.T
	api   sockAPI
	linux bool
	lines []string
	ports map[string]uint16
	open  map[int]bool
	v6    bool // sockets are AF_INET6 and at() is [::1]
	// void marks a transcript taken outside a timer's window (see
	// within); runDiff takes it again.
	void bool
}

// port returns the port named name in this case: a free one on Linux
// (so a rerun never meets its own TIME_WAIT), a fixed one in stacklab.
// linuxPortNext is the last port handed to a named port on the Linux
// side, less 20000.
var linuxPortNext atomic.Uint32

func (e *denv) port(name string) uint16 {
	if p, ok := e.ports[name]; ok {
		return p
	}
	p := uint16(20000 + len(e.ports))
	if e.linux {
		// A port below the kernel's ephemeral range (32768–60999), so
		// that a connect's port is never a named one (a port the kernel
		// handed out and took back could be handed out again), free on
		// the case's own family and address: a port free on 127.0.0.1
		// may be held on [::1] by another process's socket.
		fam, sa := unix.AF_INET, unix.Sockaddr(&unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}})
		if e.v6 {
			fam, sa = unix.AF_INET6, &unix.SockaddrInet6{Addr: netip.IPv6Loopback().As16()}
		}
		for range 1000 {
			p = uint16(20000 + linuxPortNext.Add(1)%12000)
			fd, _ := unix.Socket(fam, unix.SOCK_STREAM, 0)
			switch a := sa.(type) {
			case *unix.SockaddrInet4:
				a.Port = int(p)
			case *unix.SockaddrInet6:
				a.Port = int(p)
			}
			err := unix.Bind(fd, sa)
			unix.Close(fd)
			if err == nil {
				break
			}
		}
	}
	e.ports[name] = p
	return p
}

// at is 127.0.0.1 ([::1] in an IPv6 case) at the named port.
func (e *denv) at(name string) netip.AddrPort {
	if e.v6 {
		return netip.AddrPortFrom(netip.IPv6Loopback(), e.port(name))
	}
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), e.port(name))
}

func (e *denv) atAddr(addr, name string) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr(addr), e.port(name))
}

// name prints an address with its port's name in the case: "P" for a
// named port, "eph" for an ephemeral one, as the numbers differ.
func (e *denv) name(a netip.AddrPort) string {
	if !a.IsValid() {
		return "-"
	}
	p := strconv.Itoa(int(a.Port()))
	for n, v := range e.ports {
		if v == a.Port() {
			p = n
		}
	}
	if a.Port() >= 32768 && p == strconv.Itoa(int(a.Port())) {
		p = "eph"
	}
	return a.Addr().String() + ":" + p
}

func errName(err error) string {
	if err == nil {
		return "0"
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		if n := unix.ErrnoName(en); n != "" {
			return n
		}
		return "errno " + strconv.Itoa(int(en))
	}
	return err.Error()
}

func (e *denv) log(format string, args ...any) {
	e.lines = append(e.lines, fmt.Sprintf(format, args...))
}

// settle lets the network run: the kernel and the stack's loopback
// deliver at once, but on a machine at load 20 a 15 ms sleep was now and
// then too short for the kernel to drain a send buffer (the cork and
// notsent-lowat cases differed 1 run in 3), so it waits 40 ms; the
// stack's side first waits (up to 2 s) for its loopback queue to be
// delivered, as under load its delivery goroutine may start late.
func (e *denv) settle() {
	if st, ok := e.api.(stackAPI); ok {
		for i := 0; i < 400 && st.LoopbackBusy(); i++ {
			time.Sleep(5 * time.Millisecond)
		}
	}
	time.Sleep(40 * time.Millisecond)
}

func (e *denv) socket(typ stack.SockType) int {
	f := stack.AFInet
	if e.v6 {
		f = stack.AFInet6
	}
	fd, err := e.api.SocketFamily(f, typ)
	if err != nil {
		e.log("socket(%v) = %s", typ, errName(err))
		return -1
	}
	e.open[fd] = true
	e.log("socket(%v) = fd", typ)
	return fd
}

func (e *denv) bind(fd int, a netip.AddrPort) error {
	err := e.api.Bind(fd, a)
	e.log("bind(%s) = %s", e.name(a), errName(err))
	return err
}

func (e *denv) listen(fd, n int) error {
	err := e.api.Listen(fd, n)
	e.log("listen(%d) = %s", n, errName(err))
	return err
}

func (e *denv) accept(fd int) int {
	nfd, from, err := e.api.Accept(fd)
	if err != nil {
		e.log("accept = %s", errName(err))
		return -1
	}
	e.open[nfd] = true
	e.log("accept = fd from %s", e.name(from))
	return nfd
}

func (e *denv) connect(fd int, a netip.AddrPort) error {
	err := e.api.Connect(fd, a)
	e.log("connect(%s) = %s", e.name(a), errName(err))
	return err
}

func (e *denv) send(fd int, s string, fl stack.MsgFlags) int {
	n, err := e.api.SendMsg(fd, []byte(s), fl, netip.AddrPort{})
	if err != nil {
		e.log("send(%d B, %#x) = %s", len(s), int(fl), errName(err))
		return -1
	}
	e.log("send(%d B, %#x) = %d", len(s), int(fl), n)
	return n
}

// sendBig sends n bytes at once and logs only whether all, some or none went.
func (e *denv) sendBig(fd, n int) int {
	k, err := e.api.SendMsg(fd, make([]byte, n), 0, netip.AddrPort{})
	res := "all"
	switch {
	case err != nil:
		res = errName(err)
	case k < n:
		res = "part"
	}
	e.log("send(%d B) = %s", n, res)
	return k
}

func (e *denv) sendto(fd int, s string, to netip.AddrPort) {
	n, err := e.api.SendMsg(fd, []byte(s), 0, to)
	if err != nil {
		e.log("sendto(%d B, %s) = %s", len(s), e.name(to), errName(err))
		return
	}
	e.log("sendto(%d B, %s) = %d", len(s), e.name(to), n)
}

func (e *denv) recv(fd, size int, fl stack.MsgFlags) string {
	b := make([]byte, size)
	n, from, err := e.api.RecvMsg(fd, b, fl)
	if err != nil {
		e.log("recv(%d, %#x) = %s", size, int(fl), errName(err))
		return ""
	}
	e.log("recv(%d, %#x) = %d %q", size, int(fl), n, b[:n])
	_ = from
	return string(b[:n])
}

// corkWindow bounds the time from a send whose partial segment TCP_CORK
// or MSG_MORE holds to the call that finds it still held. Linux sends
// such a segment when its probe timer fires (tcp_check_probe_timer: the
// RTO, at least 200 ms on loopback), and stacklab after its RTO too; so
// once more than that passes (a stalled process on a loaded machine)
// the data has gone on either side and the transcript says nothing
// about the socket. Checked with margin.
const corkWindow = 150 * time.Millisecond

// within voids the transcript if more than corkWindow has passed since
// t0; runDiff then runs the case again.
func (e *denv) within(t0 time.Time) { e.withinWindow(t0, corkWindow) }

// withinWindow voids the transcript if more than d has passed since t0:
// for a case that must act before a timer of its own fires.
func (e *denv) withinWindow(t0 time.Time, d time.Duration) {
	if time.Since(t0) > d {
		e.void = true
	}
}

// recvWait polls a non-blocking recv for up to limit until data comes,
// and logs what it got as recv does: for data that goes by a timer.
func (e *denv) recvWait(fd, size int, limit time.Duration) string {
	b := make([]byte, size)
	deadline := time.Now().Add(limit)
	for {
		n, _, err := e.api.RecvMsg(fd, b, stack.MsgDontWait)
		if err == nil || !errors.Is(err, syscall.EAGAIN) || time.Now().After(deadline) {
			if err != nil {
				e.log("recv within %v = %s", limit, errName(err))
				return ""
			}
			e.log("recv within %v = %d %q", limit, n, b[:n])
			return string(b[:n])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *denv) recvfrom(fd, size int) {
	b := make([]byte, size)
	n, from, err := e.api.RecvMsg(fd, b, 0)
	if err != nil {
		e.log("recvfrom(%d) = %s", size, errName(err))
		return
	}
	e.log("recvfrom(%d) = %d %q from %s", size, n, b[:n], e.name(from))
}

func (e *denv) shutdown(fd, how int) {
	e.log("shutdown(%d) = %s", how, errName(e.api.Shutdown(fd, how)))
}

func (e *denv) close(fd int) {
	err := e.api.Close(fd)
	if err == nil {
		delete(e.open, fd)
	}
	e.log("close = %s", errName(err))
}

func (e *denv) nonblock(fd int) { e.api.SetNonblock(fd, true) }

func (e *denv) setopt(fd int, opt stack.SockOpt, v int) {
	e.log("setsockopt(%s, %d) = %s", optNames[opt], v, errName(e.api.SetSockopt(fd, opt, v)))
}

func (e *denv) getopt(fd int, opt stack.SockOpt) {
	v, err := e.api.GetSockopt(fd, opt)
	if err != nil {
		e.log("getsockopt(%s) = %s", optNames[opt], errName(err))
		return
	}
	e.log("getsockopt(%s) = %d", optNames[opt], v)
}

func (e *denv) congestion(fd int, name string) {
	e.log("setsockopt(TCP_CONGESTION, %s) = %s", name, errName(e.api.SetCongestion(fd, name)))
}

func (e *denv) sockname(fd int) {
	a, err := e.api.GetSockname(fd)
	if err != nil {
		e.log("getsockname = %s", errName(err))
		return
	}
	e.log("getsockname = %s", e.name(a))
}

func (e *denv) peername(fd int) {
	a, err := e.api.GetPeername(fd)
	if err != nil {
		e.log("getpeername = %s", errName(err))
		return
	}
	e.log("getpeername = %s", e.name(a))
}

func (e *denv) inq(fd int) {
	n, err := e.api.InQ(fd)
	if err != nil {
		e.log("ioctl(SIOCINQ) = %s", errName(err))
		return
	}
	e.log("ioctl(SIOCINQ) = %d", n)
}

func (e *denv) outq(fd int) {
	for _, nsd := range []bool{false, true} {
		name := map[bool]string{false: "SIOCOUTQ", true: "SIOCOUTQNSD"}[nsd]
		n, err := e.api.OutQ(fd, nsd)
		if err != nil {
			e.log("ioctl(%s) = %s", name, errName(err))
			continue
		}
		e.log("ioctl(%s) = %d", name, n)
	}
}

func (e *denv) atmark(fd int) {
	at, err := e.api.AtMark(fd)
	if err != nil {
		e.log("ioctl(SIOCATMARK) = %s", errName(err))
		return
	}
	e.log("ioctl(SIOCATMARK) = %v", at)
}

// recvmsg reads with recvmsg(2) and logs the data and TCP_CM_INQ.
func (e *denv) recvmsg(fd, size int, fl stack.MsgFlags) {
	b := make([]byte, size)
	n, info, err := e.api.RecvMsgInfo(fd, b, fl)
	if err != nil {
		e.log("recvmsg(%d, %#x) = %s", size, int(fl), errName(err))
		return
	}
	inq := "no TCP_CM_INQ"
	if info.Inq >= 0 {
		inq = fmt.Sprintf("TCP_CM_INQ %d", info.Inq)
	}
	e.log("recvmsg(%d, %#x) = %d %q, %s", size, int(fl), n, b[:n], inq)
}

// sendQuiet sends n bytes and logs nothing of how many went (the
// kernel's and stacklab's buffers take different amounts); it returns
// the count.
func (e *denv) sendQuiet(fd, n int) int {
	k, _ := e.api.SendMsg(fd, make([]byte, n), 0, netip.AddrPort{})
	return max(k, 0)
}

// drain reads fd (non-blocking) until want bytes came or a second
// passed, and logs whether they all came.
func (e *denv) drain(fd, want int) {
	got := 0
	b := make([]byte, 65536)
	for i := 0; i < 400 && got < want; i++ {
		n, _, err := e.api.RecvMsg(fd, b, stack.MsgDontWait)
		if err != nil {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		got += n
	}
	e.log("drained all: %v", got == want)
}

// tcpinfo logs the named tcp_info fields; "tcpi_rtt>0" logs whether
// the field is positive and "tcpi_busy_time<5000" whether it is below
// the bound (times and rates differ run to run).
func (e *denv) tcpinfo(fd int, names ...string) {
	i, err := e.api.LinuxTCPInfo(fd)
	if err != nil {
		e.log("getsockopt(TCP_INFO) = %s", errName(err))
		return
	}
	var b strings.Builder
	for _, n := range names {
		name, pos := strings.CutSuffix(n, ">0")
		name, bound, below := strings.Cut(name, "<")
		v, ok := i.Field(name)
		lim, _ := strconv.ParseInt(bound, 10, 64)
		switch {
		case !ok:
			fmt.Fprintf(&b, " %s=?", name)
		case pos:
			fmt.Fprintf(&b, " %s>0=%v", name, v > 0)
		case below:
			fmt.Fprintf(&b, " %s<%d=%v", name, lim, v >= 0 && v < lim)
		default:
			fmt.Fprintf(&b, " %s=%d", name, v)
		}
	}
	e.log("TCP_INFO:%s", b.String())
}

// epoll calls epoll_ctl, logging the result; fdName names fd in the log.
func (e *denv) epollCtl(epfd int, op stack.EpollOp, fd int, fdName string, ev stack.PollEvents) {
	err := e.api.EpollCtl(epfd, op, fd, stack.EpollEvent{Events: ev})
	e.log("epoll_ctl(%d, %s, %v) = %s", op, fdName, ev, errName(err))
}

// epollWait waits (timeout 0 unless given) and logs what came, naming
// each descriptor by names.
func (e *denv) epollWait(epfd int, names map[int]string, timeout time.Duration) {
	evs := make([]stack.EpollEvent, 16)
	n, err := e.api.EpollWait(epfd, evs, timeout)
	if err != nil {
		e.log("epoll_wait = %s", errName(err))
		return
	}
	var b strings.Builder
	for _, ev := range evs[:max(n, 0)] {
		fmt.Fprintf(&b, " %s:%v", names[ev.FD], ev.Events)
	}
	e.log("epoll_wait = %d%s", n, b.String())
}

func (e *denv) poll(fd int, ev stack.PollEvents) {
	fds := []stack.PollFD{{FD: fd, Events: ev}}
	n, err := e.api.PollFDs(fds, 0)
	e.log("poll(%v) = %d %s %v", ev, n, errName(err), fds[0].Revents)
}

var optNames = map[stack.SockOpt]string{
	stack.SoKeepAlive: "SO_KEEPALIVE", stack.SoLinger: "SO_LINGER", stack.SoRcvBuf: "SO_RCVBUF",
	stack.SoSndBuf: "SO_SNDBUF", stack.TCPNoDelay: "TCP_NODELAY", stack.TCPKeepIdle: "TCP_KEEPIDLE",
	stack.TCPKeepIntvl: "TCP_KEEPINTVL", stack.TCPKeepCnt: "TCP_KEEPCNT", stack.TCPQuickAck: "TCP_QUICKACK",
	stack.SoReuseAddr: "SO_REUSEADDR", stack.SoReusePort: "SO_REUSEPORT", stack.SoBroadcast: "SO_BROADCAST",
	stack.SoType: "SO_TYPE", stack.SoError: "SO_ERROR", stack.SoRcvTimeo: "SO_RCVTIMEO",
	stack.SoSndTimeo: "SO_SNDTIMEO", stack.IPTTL: "IP_TTL", optNoSuch: "unknown",
	stack.TCPUserTimeout: "TCP_USER_TIMEOUT", stack.TCPMaxSeg: "TCP_MAXSEG", stack.TCPSynCnt: "TCP_SYNCNT",
	stack.TCPCork: "TCP_CORK", stack.TCPNotSentLowat: "TCP_NOTSENT_LOWAT", stack.TCPInq: "TCP_INQ",
	stack.IPTOS: "IP_TOS", stack.UDPCork: "UDP_CORK", stack.IPv6V6Only: "IPV6_V6ONLY",
	stack.IPMTUDiscover: "IP_MTU_DISCOVER", stack.SoRcvLowat: "SO_RCVLOWAT", stack.SoOOBInline: "SO_OOBINLINE", stack.TCPDeferAccept: "TCP_DEFER_ACCEPT",
}

// resetFrom closes fd with SO_LINGER 0, so that its peer gets a RST,
// and lets the RST arrive.
func (e *denv) resetFrom(fd int) {
	e.setopt(fd, stack.SoLinger, 0)
	e.close(fd)
	e.settle()
}

// listener returns a listening socket on port P.
func (e *denv) listener(name string) int {
	l := e.socket(stack.SockStream)
	e.bind(l, e.at(name))
	e.listen(l, 8)
	return l
}

// connPair returns a listener on P, a client connected to it and the
// accepted server side.
func (e *denv) connPair() (l, c, s int) {
	l = e.listener("P")
	c = e.socket(stack.SockStream)
	e.connect(c, e.at("P"))
	s = e.accept(l)
	return l, c, s
}

// udpPair returns two UDP sockets bound to U1 and U2.
func (e *denv) udpPair() (a, b int) {
	a = e.socket(stack.SockDgram)
	e.bind(a, e.at("U1"))
	b = e.socket(stack.SockDgram)
	e.bind(b, e.at("U2"))
	return a, b
}

// cleanup closes what the case left open, with RST, so that the kernel
// keeps no TIME_WAIT from it.
func (e *denv) cleanup() {
	// In order of descriptor, so that both sides close alike (a
	// listener's children are aborted when it closes, before or after
	// their peers: the counters differ).
	fds := make([]int, 0, len(e.open))
	for fd := range e.open {
		fds = append(fds, fd)
	}
	slices.Sort(fds)
	for _, fd := range fds {
		e.api.SetSockopt(fd, stack.SoLinger, 0)
		e.api.Close(fd)
	}
}

type diffCase struct {
	name string
	run  func(e *denv)
}

// runDiff runs c on one side and returns its transcript.
func runDiff(t *testing.T, c diffCase, linux bool) []string {
	const tries = 5
	for range tries - 1 {
		if e := runDiffOnce(t, c, linux); !e.void {
			return e.lines
		}
	}
	e := runDiffOnce(t, c, linux)
	if e.void {
		t.Fatalf("case %s: %d runs on %s each missed its timer window (too loaded a machine?)", c.name, tries, sideName(linux))
	}
	return e.lines
}

func sideName(linux bool) string {
	if linux {
		return "linux"
	}
	return "stacklab"
}

// runDiffOnce runs c on one side once.
func runDiffOnce(t *testing.T, c diffCase, linux bool) *denv {
	e := &denv{t: t, linux: linux, ports: map[string]uint16{}, open: map[int]bool{}, v6: strings.HasPrefix(c.name, "v6/")}
	if linux {
		e.api = linuxAPI{}
	} else {
		e.api = stackAPI{stack.New(stack.Options{Name: "h"})}
	}
	done := make(chan struct{})
	counters := countersOn()
	go func() {
		defer close(done)
		var before map[string]uint64
		if counters {
			if linux {
				if err := privateNetns(); err != nil {
					t.Errorf("case %s: a namespace of its own: %v", c.name, err)
					return
				}
				before, _ = kernelCounters()
			} else {
				before = stackCounters(e.api.(stackAPI).Stack)
			}
		}
		c.run(e)
		e.cleanup()
		if counters {
			var after map[string]uint64
			if linux {
				time.Sleep(20 * time.Millisecond) // the last RSTs over lo
				after, _ = kernelCounters()
			} else {
				after = stackCounters(e.api.(stackAPI).Stack)
			}
			e.lines = append(e.lines, counterLines(linux, before, after)...)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("case %s hangs on %s after %q", c.name, sideName(linux), e.lines)
	}
	return e
}

func TestSocketsDiffLinux(t *testing.T) {
	if testing.Short() {
		t.Skip("runs against the kernel's sockets; not in -short")
	}
	if len(diffCases) < 93 {
		t.Errorf("the catalogue has %d cases, the issue asks for at least 93", len(diffCases))
	}
	only, err := regexp.Compile(*diffCaseRE)
	if err != nil {
		t.Fatalf("-diffcase: %v", err)
	}
	seen := map[string]bool{}
	match, ran := 0, 0
	var table strings.Builder
	for _, c := range diffCases {
		if seen[c.name] {
			t.Fatalf("two cases named %s", c.name)
		}
		seen[c.name] = true
		if !only.MatchString(c.name) {
			continue
		}
		ran++
		lx := runDiff(t, c, true)
		st := runDiff(t, c, false)
		same := strings.Join(lx, "\n") == strings.Join(st, "\n")
		for try := 0; !same && try < 4 && countersOnly(lx, st); try++ {
			// A count that a late RST or timer moved on a loaded
			// machine: the case again, both sides.
			lx, st = runDiff(t, c, true), runDiff(t, c, false)
			same = strings.Join(lx, "\n") == strings.Join(st, "\n")
		}
		reason, known := diffKnown[c.name]
		verdict := "match"
		switch {
		case same:
			match++
			if known {
				t.Errorf("case %s now matches Linux: take it off diffKnown", c.name)
			}
		case known:
			verdict = "DIFFERS (deliberate: " + reason + ")"
		default:
			verdict = "DIFFERS"
			t.Errorf("case %s differs from Linux:\n%s", c.name, sideBySide(lx, st))
		}
		fmt.Fprintf(&table, "%-34s %s\n", c.name, verdict)
		if *diffTable && !same {
			table.WriteString(sideBySide(lx, st))
		}
	}
	for n := range diffKnown {
		if !seen[n] {
			t.Errorf("diffKnown names %s, which is not a case", n)
		}
	}
	if ran == 0 {
		t.Fatalf("-diffcase %q matches no case", *diffCaseRE)
	}
	fmt.Fprintf(&table, "%d of %d cases match Linux; %d differ deliberately\n", match, ran, ran-match)
	if *diffTable {
		fmt.Print(table.String())
	}
	t.Logf("%d of %d cases match Linux", match, ran)
}

func sideBySide(lx, st []string) string {
	var b strings.Builder
	for i := range max(len(lx), len(st)) {
		var l, s string
		if i < len(lx) {
			l = lx[i]
		}
		if i < len(st) {
			s = st[i]
		}
		mark := "  "
		if l != s {
			mark = "≠ "
		}
		fmt.Fprintf(&b, "    %s%-52s | %s\n", mark, l, s)
	}
	return b.String()
}
