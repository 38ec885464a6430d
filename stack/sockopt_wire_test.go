package stack_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"stacklab/stack"
	tcpengine "stacklab/stack/tcp"
	"stacklab/stack/wire"
)

// seg is one TCP segment seen on the pair's link.
type seg struct {
	at      time.Duration
	fromA   bool
	ttl     uint8
	tos     uint8
	flags   wire.TCPFlags
	mss     int // the MSS option, 0 when absent
	payload string
}

// tapTCP records every TCP segment on p's link.
func tapTCP(p *pair) *[]seg {
	var segs []seg
	start := p.clock.Now()
	p.filter = func(from *stack.NIC, data []byte) bool {
		eth := wire.Ethernet(data)
		if eth.Type() != wire.EtherTypeIPv4 {
			return true
		}
		ip := wire.IPv4(eth.Payload())
		if ip.Protocol() != wire.ProtoTCP {
			return true
		}
		tc := wire.TCP(ip.Payload())
		sg := seg{at: p.clock.Now().Sub(start), fromA: from == p.anic, ttl: ip.TTL(), tos: ip.TOS(),
			flags: tc.Flags(), payload: string(tc.Payload())}
		for o := tc.Options(); len(o) > 0; {
			if o[0] == 0 {
				break
			}
			if o[0] == 1 || len(o) < 2 || int(o[1]) < 2 || int(o[1]) > len(o) {
				o = o[1:]
				continue
			}
			if o[0] == 2 && o[1] == 4 {
				sg.mss = int(o[2])<<8 | int(o[3])
			}
			o = o[o[1]:]
		}
		segs = append(segs, sg)
		return true
	}
	return &segs
}

func synOf(segs []seg, fromA bool) (seg, bool) {
	for _, s := range segs {
		if s.flags&wire.TCPFlagSYN != 0 && s.fromA == fromA {
			return s, true
		}
	}
	return seg{}, false
}

// TCP_MAXSEG caps the SYN's MSS option, and on a listener the SYN-ACK's;
// each side's send MSS is the smaller of its own and the peer's.
func TestTCPMaxSegOnTheWire(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		client, listener       int
		synMSS, synAckMSS, mss int
	}{
		{"client", 700, 0, 700, 1460, 688},
		{"listener", 0, 900, 1460, 900, 888},
		{"both", 1000, 600, 1000, 600, 588},
		{"none", 0, 0, 1460, 1460, 1448},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, stack.LinkEthernet, 1500)
			segs := tapTCP(p)
			l, _ := p.b.Socket(stack.SockStream)
			if tc.listener > 0 {
				must(t, p.b.SetSockopt(l, stack.TCPMaxSeg, tc.listener))
			}
			must(t, p.b.Bind(l, netip.AddrPortFrom(netip.Addr{}, 80)))
			must(t, p.b.Listen(l, 8))
			c, _ := p.a.Socket(stack.SockStream)
			must(t, p.a.SetNonblock(c, true))
			if tc.client > 0 {
				must(t, p.a.SetSockopt(c, stack.TCPMaxSeg, tc.client))
			}
			p.a.Connect(c, netip.AddrPortFrom(p.bAddr, 80))
			p.clock.RunFor(time.Second)
			s, _, err := p.b.Accept(l)
			must(t, err)
			syn, _ := synOf(*segs, true)
			synAck, _ := synOf(*segs, false)
			if syn.mss != tc.synMSS || synAck.mss != tc.synAckMSS {
				t.Fatalf("SYN MSS %d, SYN-ACK MSS %d; want %d, %d", syn.mss, synAck.mss, tc.synMSS, tc.synAckMSS)
			}
			for _, side := range []struct {
				st *stack.Stack
				fd int
			}{{p.a, c}, {p.b, s}} {
				if v, _ := side.st.GetSockopt(side.fd, stack.TCPMaxSeg); v != tc.mss {
					t.Errorf("getsockopt(TCP_MAXSEG) = %d, want %d", v, tc.mss)
				}
			}
			// A bulk send is cut into segments of that size.
			must(t, p.b.SetNonblock(s, true))
			p.a.Send(c, bytes.Repeat([]byte{'x'}, 5000))
			p.clock.RunFor(time.Second)
			for _, sg := range *segs {
				if sg.fromA && len(sg.payload) > tc.mss {
					t.Fatalf("a segment of %d bytes, MSS %d", len(sg.payload), tc.mss)
				}
			}
		})
	}
}

// TCP_SYNCNT bounds the SYN retransmissions of a connect nobody answers.
// As Linux 6.18's (testdata/pkt/handshake/syn-linear-timeouts.pkt): the
// first five go 1 s apart (tcp_syn_linear_timeouts, 4), and with
// TCP_SYNCNT 2 the connect fails at 7 s, when three exponential timeouts
// would have run out; without the linear timeouts, the SYN goes at 0, 1
// and 3 s and the connect fails at 7 s too.
func TestTCPSynCnt(t *testing.T) {
	for _, tc := range []struct {
		linear int
		want   []time.Duration
	}{
		// The first SYN waits 2 ms for ARP; the timer runs from connect.
		{0, []time.Duration{2 * time.Millisecond, time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second, 5 * time.Second}},
		{-1, []time.Duration{2 * time.Millisecond, time.Second, 3 * time.Second}},
	} {
		t.Run(fmt.Sprintf("linear=%d", tc.linear), func(t *testing.T) {
			p := newPairWith(t, stack.LinkEthernet, 1500, stack.Options{TCP: stack.TCPOptions{SynLinearTimeouts: tc.linear}})
			syns := dropTCP(p)
			c, _ := p.a.Socket(stack.SockStream)
			if err := p.a.SetSockopt(c, stack.TCPSynCnt, 0); !errors.Is(err, syscall.EINVAL) {
				t.Fatalf("TCP_SYNCNT 0: %v, want EINVAL", err)
			}
			must(t, p.a.SetSockopt(c, stack.TCPSynCnt, 2))
			must(t, p.a.SetNonblock(c, true))
			p.a.Connect(c, netip.AddrPortFrom(p.bAddr, 80))
			p.clock.RunFor(6900 * time.Millisecond)
			if err := p.a.SockError(c); err != nil {
				t.Fatalf("SO_ERROR = %v before 7 s, want none", err)
			}
			p.clock.RunFor(10 * time.Minute)
			if fmt.Sprint(*syns) != fmt.Sprint(tc.want) {
				t.Errorf("SYNs at %v; want %v", *syns, tc.want)
			}
			if err := p.a.SockError(c); !errors.Is(err, syscall.ETIMEDOUT) {
				t.Fatalf("SO_ERROR = %v, want ETIMEDOUT", err)
			}
		})
	}
}

// IP_TTL and IP_TOS on a TCP socket set its segments' IP header, the
// ECN bits aside; an accepted socket takes the listener's.
func TestTCPIPHeaderOptions(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	segs := tapTCP(p)
	l, _ := p.b.Socket(stack.SockStream)
	must(t, p.b.SetSockopt(l, stack.IPTTL, 9))
	must(t, p.b.SetSockopt(l, stack.IPTOS, 0x2b))
	must(t, p.b.Bind(l, netip.AddrPortFrom(netip.Addr{}, 80)))
	must(t, p.b.Listen(l, 8))
	c, _ := p.a.Socket(stack.SockStream)
	must(t, p.a.SetSockopt(c, stack.IPTTL, 33))
	must(t, p.a.SetNonblock(c, true))
	p.a.Connect(c, netip.AddrPortFrom(p.bAddr, 80))
	p.clock.RunFor(time.Second)
	s, _, err := p.b.Accept(l)
	must(t, err)
	must(t, p.a.SetSockopt(c, stack.IPTOS, 0x10))
	p.a.Send(c, []byte("hi"))
	p.b.Send(s, []byte("yo"))
	p.clock.RunFor(time.Second)
	var sawA, sawB bool
	for _, sg := range *segs {
		switch {
		case sg.fromA && sg.ttl != 33:
			t.Errorf("a segment from a with TTL %d, want 33", sg.ttl)
		case !sg.fromA && (sg.ttl != 9 || sg.tos != 0x28):
			t.Errorf("a segment from b with TTL %d TOS %#x, want 9, 0x28", sg.ttl, sg.tos)
		}
		if sg.fromA && sg.payload == "hi" {
			sawA = true
			if sg.tos != 0x10 {
				t.Errorf("data from a with TOS %#x, want 0x10", sg.tos)
			}
		}
		if !sg.fromA && sg.payload == "yo" {
			sawB = true
		}
	}
	if !sawA || !sawB {
		t.Fatalf("data not seen: a %v b %v", sawA, sawB)
	}
}

// TCP_CORK holds a partial segment; with nothing in flight it goes after
// an RTO, as Linux's probe timer sends it; uncorking sends at once.
// MSG_MORE holds the tail until a send without it.
func TestTCPCorkAndMsgMore(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	segs := tapTCP(p)
	c, s, _ := connected(t, p)
	buf := make([]byte, 100)
	recv := func() string {
		n, err := p.b.Recv(s, buf)
		if err != nil {
			return ""
		}
		return string(buf[:n])
	}

	must(t, p.a.SetSockopt(c, stack.TCPCork, 1))
	p.a.Send(c, []byte("abc"))
	p.a.Send(c, []byte("def"))
	p.clock.RunFor(100 * time.Millisecond)
	if got := recv(); got != "" {
		t.Fatalf("corked data arrived: %q", got)
	}
	p.clock.RunFor(2 * time.Second)
	if got := recv(); got != "abcdef" {
		t.Fatalf("after the cork's RTO: %q, want abcdef in one segment", got)
	}
	n := 0
	for _, sg := range *segs {
		if sg.fromA && sg.payload != "" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d data segments, want 1", n)
	}

	p.a.Send(c, []byte("ghi"))
	p.clock.RunFor(50 * time.Millisecond)
	if got := recv(); got != "" {
		t.Fatalf("corked data arrived: %q", got)
	}
	must(t, p.a.SetSockopt(c, stack.TCPCork, 0))
	p.clock.RunFor(50 * time.Millisecond)
	if got := recv(); got != "ghi" {
		t.Fatalf("after uncorking: %q, want ghi", got)
	}

	if _, err := p.a.SendMsg(c, []byte("jk"), stack.MsgMore, netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	p.clock.RunFor(50 * time.Millisecond)
	if got := recv(); got != "" {
		t.Fatalf("MSG_MORE data arrived alone: %q", got)
	}
	p.a.SendMsg(c, []byte("l"), 0, netip.AddrPort{})
	p.clock.RunFor(50 * time.Millisecond)
	if got := recv(); got != "jkl" {
		t.Fatalf("after a send without MSG_MORE: %q, want jkl", got)
	}
	// UDP: parts sent with MSG_MORE leave as one datagram, with the next
	// send without it (Linux's UDP corking).
	u, _ := p.a.Socket(stack.SockDgram)
	before := counter(t, p.a, "udp.OutDatagrams")
	for _, part := range []string{"x", "y"} {
		if n, err := p.a.SendMsg(u, []byte(part), stack.MsgMore, netip.AddrPortFrom(p.bAddr, 9)); n != 1 || err != nil {
			t.Fatalf("MSG_MORE on UDP: %d, %v", n, err)
		}
	}
	p.clock.RunFor(50 * time.Millisecond)
	if got := counter(t, p.a, "udp.OutDatagrams"); got != before {
		t.Fatalf("corked UDP parts sent %d datagrams before the last part", got-before)
	}
	if n, err := p.a.SendMsg(u, []byte("z"), 0, netip.AddrPort{}); n != 1 || err != nil {
		t.Fatalf("the last part: %d, %v", n, err)
	}
	p.clock.RunFor(50 * time.Millisecond)
	if got := counter(t, p.a, "udp.OutDatagrams"); got != before+1 {
		t.Fatalf("corked UDP parts left as %d datagrams, want 1", got-before)
	}
}

// TCP_NOTSENT_LOWAT: writes stop while lowat bytes wait unsent, and
// PollOut needs fewer than half of it.
func TestTCPNotSentLowat(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	// A small window keeps data unsent. Set on the listener, so that the
	// handshake offers it: a buffer set later does not retract the
	// window offered (Linux's tcp_select_window).
	c, s, _ := connectedWith(t, p, func(l int) { must(t, p.b.SetSockopt(l, stack.SoRcvBuf, 1)) })
	p.clock.RunFor(time.Second)
	must(t, p.a.SetSockopt(c, stack.TCPNotSentLowat, 4000))
	if ev := p.a.Poll(c); ev&stack.PollOut == 0 {
		t.Fatalf("nothing unsent: poll %v, want PollOut", ev)
	}
	total := 0
	for {
		n, err := p.a.Send(c, make([]byte, 1000))
		if err != nil {
			if !errors.Is(err, syscall.EAGAIN) {
				t.Fatal(err)
			}
			break
		}
		total += n
		p.clock.RunFor(time.Millisecond)
	}
	if total > 20000 {
		t.Fatalf("wrote %d bytes past a 4000-byte lowat", total)
	}
	if ev := p.a.Poll(c); ev&stack.PollOut != 0 {
		t.Fatalf("with lowat bytes unsent, poll %v has PollOut", ev)
	}
	buf := make([]byte, 65536)
	got := 0
	for i := 0; i < 1000 && got < total; i++ {
		n, _ := p.b.Recv(s, buf)
		got += max(n, 0)
		p.clock.RunFor(10 * time.Millisecond)
	}
	if got != total {
		t.Fatalf("received %d of %d", got, total)
	}
	if ev := p.a.Poll(c); ev&stack.PollOut == 0 {
		t.Fatalf("all sent: poll %v, want PollOut", ev)
	}
}

// TCP_INQ reports the bytes left after each read as TCP_CM_INQ.
func TestTCPInq(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	c, s, _ := connected(t, p)
	must(t, p.b.SetSockopt(s, stack.TCPInq, 1))
	p.a.Send(c, []byte("hello world"))
	p.clock.RunFor(time.Second)
	buf := make([]byte, 4)
	for _, want := range []struct {
		n, inq int
	}{{4, 7}, {4, 3}, {3, 0}} {
		n, info, err := p.b.RecvMsgInfo(s, buf, 0)
		must(t, err)
		if n != want.n || info.Inq != want.inq {
			t.Fatalf("recvmsg = %d, inq %d; want %d, %d", n, info.Inq, want.n, want.inq)
		}
	}
	must(t, p.b.SetSockopt(s, stack.TCPInq, 0))
	p.a.Send(c, []byte("x"))
	p.clock.RunFor(time.Second)
	if _, info, _ := p.b.RecvMsgInfo(s, buf, 0); info.Inq != -1 {
		t.Fatalf("TCP_INQ off: inq %d, want -1 (none)", info.Inq)
	}
}

// MSG_EOR ends a record: data written after it never shares a segment
// with it, where without it Nagle would have merged the two.
func TestTCPMsgEOR(t *testing.T) {
	for _, eor := range []bool{false, true} {
		p := newPair(t, stack.LinkEthernet, 1500)
		segs := tapTCP(p)
		c, _, _ := connected(t, p)
		var fl stack.MsgFlags
		if eor {
			fl = stack.MsgEOR
		}
		p.a.SendMsg(c, bytes.Repeat([]byte{'a'}, 100), 0, netip.AddrPort{})
		if _, err := p.a.SendMsg(c, bytes.Repeat([]byte{'b'}, 100), fl, netip.AddrPort{}); err != nil {
			t.Fatal(err)
		}
		p.a.SendMsg(c, bytes.Repeat([]byte{'c'}, 100), 0, netip.AddrPort{})
		p.clock.RunFor(time.Second)
		merged := false
		for _, sg := range *segs {
			if sg.fromA && strings.Contains(sg.payload, "b") && strings.Contains(sg.payload, "c") {
				merged = true
			}
		}
		if merged == eor {
			t.Errorf("MSG_EOR %v: b and c merged into one segment: %v", eor, merged)
		}
	}
	p := newPair(t, stack.LinkEthernet, 1500)
	u, _ := p.a.Socket(stack.SockDgram)
	if _, err := p.a.SendMsg(u, []byte("x"), stack.MsgEOR, netip.AddrPortFrom(p.bAddr, 9)); err != nil {
		t.Fatalf("MSG_EOR on UDP: %v, want it ignored as Linux does", err)
	}
}

// A partial record with data queued behind it: the linux profile sends it
// at once, as Linux sends an skb that is not the send queue's last
// (TCP_NAGLE_PUSH), though a small segment is in flight; the rfc profile
// holds it for the ACK, as sender SWS avoidance does
// (testdata/pkt/nagle/eor-record-not-held.pkt on the kernel).
func TestTCPMsgEORRecordNotHeld(t *testing.T) {
	for _, profile := range []string{tcpengine.ProfileLinux, tcpengine.ProfileRFC} {
		p := newPairWith(t, stack.LinkEthernet, 1500, stack.Options{TCP: stack.TCPOptions{Profile: profile}})
		segs := tapTCP(p)
		c, _, _ := connected(t, p)
		sent := func(payload string) bool {
			p.clock.RunFor(100 * time.Microsecond) // what the call sent, not the peer's answer (1 ms away)
			for _, sg := range *segs {
				if sg.fromA && sg.payload == payload {
					return true
				}
			}
			return false
		}
		p.a.Send(c, []byte("x")) // the neighbour resolved again, after connected's clock.Run
		p.clock.RunFor(time.Second)
		p.a.Send(c, []byte("aa")) // a small segment in flight
		if !sent("aa") {
			t.Fatalf("%s: the first write was not sent at once", profile)
		}
		if _, err := p.a.SendMsg(c, []byte("bb"), stack.MsgEOR, netip.AddrPort{}); err != nil {
			t.Fatal(err)
		}
		if sent("bb") {
			t.Fatalf("%s: the record, the queue's last, was not held by Nagle", profile)
		}
		p.a.Send(c, []byte("cc"))
		if got, want := sent("bb"), profile == tcpengine.ProfileLinux; got != want {
			t.Errorf("%s: with data behind it, the record sent before any ACK: %v, want %v", profile, got, want)
		}
		if sent("cc") || sent("bbcc") {
			t.Errorf("%s: the tail went past Nagle, or joined the record", profile)
		}
		p.clock.RunFor(time.Second)
		if !sent("cc") {
			t.Errorf("%s: the tail never went", profile)
		}
	}
}

// TestSynDefaultSchedule: the default SYN schedule of each profile, as
// the README's linux-vs-rfc table gives it (Linux 6.18's: five linear
// timeouts, then doubling; ETIMEDOUT at 131 s).
func TestSynDefaultSchedule(t *testing.T) {
	secs := func(v ...int) []time.Duration {
		d := []time.Duration{2 * time.Millisecond} // the first waits for ARP
		for _, s := range v {
			d = append(d, time.Duration(s)*time.Second)
		}
		return d
	}
	for _, tc := range []struct {
		profile string
		syns    []time.Duration
		fail    time.Duration
	}{
		{"linux", secs(1, 2, 3, 4, 5, 7, 11, 19, 35, 67), 131 * time.Second},
		{"rfc", secs(1, 3, 7, 15, 31, 63), 127 * time.Second},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			p := newPairWith(t, stack.LinkEthernet, 1500, stack.Options{TCP: stack.TCPOptions{Profile: tc.profile}})
			syns := dropTCP(p)
			c, _ := p.a.Socket(stack.SockStream)
			must(t, p.a.SetNonblock(c, true))
			p.a.Connect(c, netip.AddrPortFrom(p.bAddr, 80))
			p.clock.RunFor(tc.fail - time.Millisecond)
			if err := p.a.SockError(c); err != nil {
				t.Fatalf("SO_ERROR = %v before %v", err, tc.fail)
			}
			p.clock.RunFor(time.Millisecond)
			if err := p.a.SockError(c); !errors.Is(err, syscall.ETIMEDOUT) {
				t.Errorf("SO_ERROR = %v at %v, want ETIMEDOUT", err, tc.fail)
			}
			if fmt.Sprint(*syns) != fmt.Sprint(tc.syns) {
				t.Errorf("SYNs at %v, want %v", *syns, tc.syns)
			}
		})
	}
}

// dropTCP makes p's link lose every TCP segment (ARP goes through) and
// returns the times, from now, at which p's stacks sent SYNs.
func dropTCP(p *pair) *[]time.Duration {
	var syns []time.Duration
	start := p.clock.Now()
	p.filter = func(from *stack.NIC, data []byte) bool {
		ip := wire.IPv4(wire.Ethernet(data).Payload())
		if wire.Ethernet(data).Type() != wire.EtherTypeIPv4 || ip.Protocol() != wire.ProtoTCP {
			return true
		}
		if wire.TCP(ip.Payload()).Flags()&wire.TCPFlagSYN != 0 {
			syns = append(syns, p.clock.Now().Sub(start))
		}
		return false
	}
	return &syns
}
