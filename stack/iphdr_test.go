package stack_test

// The IP header as Linux 6.18 writes it: DF (IP_MTU_DISCOVER), the IPv4
// identification, ICMP's TOS, IPv6 flow labels.

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"stacklab/stack"
	"stacklab/stack/wire"
)

// dfLog records the IPv4 DF and MF bits of the frames a pair's first
// stack sends, by IP protocol.
type dfLog struct{ frames []string }

func (l *dfLog) watch(p *pair) {
	p.filter = func(from *stack.NIC, data []byte) bool {
		if from == p.anic && len(data) >= wire.EthernetHeaderLen+wire.IPv4MinHeaderLen {
			ip := wire.IPv4(data[wire.EthernetHeaderLen:])
			if ip.Version() == 4 {
				l.frames = append(l.frames, dfMark(ip))
			}
		}
		return true
	}
}

// dfMark names a packet's fragmentation bits: "frag" for a fragment,
// "DF" for Don't Fragment, "-" for neither.
func dfMark(ip wire.IPv4) string {
	fo := uint16(ip[6])<<8 | uint16(ip[7])
	switch {
	case fo&0x2000 != 0 || fo&0x1fff != 0:
		return "frag"
	case fo&0x4000 != 0:
		return "DF"
	}
	return "-"
}

// TestIPMTUDiscoverDF checks IP_MTU_DISCOVER on the wire against what
// Linux 6.18 does (measured over lo at MTU 1500 with an AF_PACKET
// capture in a network namespace): a UDP datagram or ping that fits
// carries DF under WANT (the default), DO and PROBE, and not under
// DONT, INTERFACE and OMIT; one past the MTU is fragmented under DONT,
// WANT and OMIT and refused with EMSGSIZE under DO, PROBE and
// INTERFACE; TCP segments carry DF under WANT and DO only.
func TestIPMTUDiscoverDF(t *testing.T) {
	cases := []struct {
		mode     int // -1: not set
		datagram [3]string
		tcp      string
	}{
		{-1, [3]string{"DF", "DF", "frag"}, "DF"},
		{stack.PMTUDiscDont, [3]string{"-", "-", "frag"}, "-"},
		{stack.PMTUDiscWant, [3]string{"DF", "DF", "frag"}, "DF"},
		{stack.PMTUDiscDo, [3]string{"DF", "DF", "EMSGSIZE"}, "DF"},
		{stack.PMTUDiscProbe, [3]string{"DF", "DF", "EMSGSIZE"}, "-"},
		{stack.PMTUDiscInterface, [3]string{"-", "-", "EMSGSIZE"}, "-"},
		{stack.PMTUDiscOmit, [3]string{"-", "-", "frag"}, "-"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("mode=%d", c.mode), func(t *testing.T) {
			for _, kind := range []stack.SockType{stack.SockDgram, stack.SockICMP} {
				p := newPair(t, stack.LinkEthernet, 1500)
				var log dfLog
				log.watch(p)
				fd, err := p.a.Socket(kind)
				must(t, err)
				if c.mode >= 0 {
					must(t, p.a.SetSockopt(fd, stack.IPMTUDiscover, c.mode))
				}
				wantMode := c.mode
				if wantMode < 0 {
					wantMode = stack.PMTUDiscWant
				}
				if got, err := p.a.GetSockopt(fd, stack.IPMTUDiscover); err != nil || got != wantMode {
					t.Errorf("%v: getsockopt = %d, %v", kind, got, err)
				}
				// 100 bytes, exactly the MTU, one byte past it.
				head := wire.UDPHeaderLen
				if kind == stack.SockICMP {
					head = wire.ICMPv4HeaderLen
				}
				for i, size := range []int{100, 1500 - wire.IPv4MinHeaderLen - head, 1501 - wire.IPv4MinHeaderLen - head} {
					log.frames = nil
					_, err := p.a.SendTo(fd, make([]byte, size), netip.AddrPortFrom(p.bAddr, 9))
					p.clock.Run()
					got := ""
					switch {
					case errors.Is(err, syscall.EMSGSIZE):
						got = "EMSGSIZE"
					case err != nil:
						t.Fatalf("%v: send of %d bytes: %v", kind, size, err)
					default:
						for _, f := range log.frames { // the datagram, after any ARP
							if f != "-" || got == "" {
								got = f
							}
						}
					}
					if got != c.datagram[i] {
						t.Errorf("%v: %d bytes: %s, want %s (frames %v)", kind, size, got, c.datagram[i], log.frames)
					}
				}
			}

			// TCP: the SYN and the data follow the client's mode.
			p := newPair(t, stack.LinkEthernet, 1500)
			var log dfLog
			log.watch(p)
			l, _ := p.b.Socket(stack.SockStream)
			must(t, p.b.Bind(l, netip.AddrPortFrom(netip.Addr{}, 80)))
			must(t, p.b.Listen(l, 8))
			fd, _ := p.a.Socket(stack.SockStream)
			if c.mode >= 0 {
				must(t, p.a.SetSockopt(fd, stack.IPMTUDiscover, c.mode))
			}
			must(t, p.a.SetNonblock(fd, true))
			if err := p.a.Connect(fd, netip.AddrPortFrom(p.bAddr, 80)); !errors.Is(err, syscall.EINPROGRESS) {
				t.Fatal(err)
			}
			p.clock.Run()
			if _, err := p.a.Send(fd, []byte("data")); err != nil {
				t.Fatal(err)
			}
			p.clock.Run()
			// ARP's frames are not IPv4; the SYN, the handshake's ACK, the data.
			if len(log.frames) != 3 {
				t.Fatalf("TCP frames %v, want 3", log.frames)
			}
			for i, f := range log.frames {
				if f != c.tcp {
					t.Errorf("TCP segment %d: %s, want %s", i, f, c.tcp)
				}
			}
		})
	}
}

// TestIPMTUDiscoverTCPChanges checks that the option reaches an open
// connection, and that an accepted socket takes its listener's mode
// while its SYN-ACK keeps DF, as on Linux 6.18.
func TestIPMTUDiscoverTCPChanges(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	var fromB []string
	p.filter = func(from *stack.NIC, data []byte) bool {
		if from == p.bnic && len(data) > wire.EthernetHeaderLen+wire.IPv4MinHeaderLen {
			if ip := wire.IPv4(data[wire.EthernetHeaderLen:]); ip.Version() == 4 && ip.Protocol() == wire.ProtoTCP {
				fromB = append(fromB, dfMark(ip))
			}
		}
		return true
	}
	_, s := connectPair(t, p, func(l int) { must(t, p.b.SetSockopt(l, stack.IPMTUDiscover, stack.PMTUDiscDont)) })
	if got, _ := p.b.GetSockopt(s, stack.IPMTUDiscover); got != stack.PMTUDiscDont {
		t.Errorf("accepted socket's IP_MTU_DISCOVER %d, want its listener's 0", got)
	}
	if _, err := p.b.Send(s, []byte("no DF")); err != nil {
		t.Fatal(err)
	}
	p.clock.Run()
	must(t, p.b.SetSockopt(s, stack.IPMTUDiscover, stack.PMTUDiscDo))
	if _, err := p.b.Send(s, []byte("DF")); err != nil {
		t.Fatal(err)
	}
	p.clock.Run()
	want := []string{"DF", "-", "DF"} // SYN-ACK, data, data
	if fmt.Sprint(fromB) != fmt.Sprint(want) {
		t.Errorf("the server's segments %v, want %v", fromB, want)
	}
}

// ipIDs records the IPv4 identification and DF of the TCP segments
// each stack of a pair sends, by TCP flags.
type ipIDs struct{ a, b []string }

func (l *ipIDs) watch(p *pair) {
	p.filter = func(from *stack.NIC, data []byte) bool {
		if len(data) < wire.EthernetHeaderLen+wire.IPv4MinHeaderLen+wire.TCPMinHeaderLen {
			return true
		}
		ip := wire.IPv4(data[wire.EthernetHeaderLen:])
		if ip.Version() != 4 || ip.Protocol() != wire.ProtoTCP {
			return true
		}
		tcp := wire.TCP(ip[ip.HeaderLen():])
		rec := fmt.Sprintf("%s:%d:%s", tcpFlags(uint8(tcp.Flags())), ip.ID(), dfMark(ip))
		if from == p.anic {
			l.a = append(l.a, rec)
		} else {
			l.b = append(l.b, rec)
		}
		return true
	}
}

func tcpFlags(f uint8) string {
	s := ""
	for i, n := range []string{"F", "S", "R", "P", "A"} {
		if f&(1<<i) != 0 {
			s += n
		}
	}
	return s
}

// TestTCPIPIdentification checks the IPv4 identification of TCP
// segments against what Linux 6.18 sends (over lo, an AF_PACKET
// capture): a connection numbers its segments with DF one after the
// other from a value of its own, the client from its SYN, the server
// from its first segment after the handshake, the ACK of the FIN that
// brings it into TIME_WAIT included; a passive open's SYN-ACK, a RST for
// no connection and the ACKs TIME_WAIT answers later segments with carry
// 0.
func TestTCPIPIdentification(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	var ids ipIDs
	ids.watch(p)
	c, s := connectPair(t, p, nil)
	for _, fd := range []int{c, s} {
		st := p.a
		if fd == s {
			st = p.b
		}
		if _, err := st.Send(fd, []byte("hello")); err != nil {
			t.Fatal(err)
		}
		p.clock.Run()
	}
	buf := make([]byte, 16)
	if _, err := p.a.Recv(c, buf); err != nil { // unread data would make the close a RST
		t.Fatal(err)
	}
	if _, err := p.b.Recv(s, buf); err != nil {
		t.Fatal(err)
	}
	// The client shuts its side and keeps the socket: it is a full
	// socket in FIN_WAIT_2 when the server's FIN comes, and acknowledges
	// it before it turns into a timewait sock, as Linux's tcp_fin. (An
	// orphan would be a timewait sock already, whose ACK carries 0.)
	must(t, p.a.Shutdown(c, stack.ShutWR))
	p.clock.RunFor(100 * time.Millisecond)
	// The client's ACK of the server's FIN is lost once, so the FIN
	// comes again and TIME_WAIT answers it.
	lost := false
	watch := p.filter
	p.filter = func(from *stack.NIC, data []byte) bool {
		watch(from, data)
		if from == p.anic && !lost && len(ids.a) == 6 {
			lost = true
			return false
		}
		return true
	}
	must(t, p.b.Close(s))
	p.clock.RunFor(time.Second)
	// A SYN to a closed port: the RST carries 0.
	c2, _ := p.a.Socket(stack.SockStream)
	must(t, p.a.SetNonblock(c2, true))
	p.a.Connect(c2, netip.AddrPortFrom(p.bAddr, 81))
	p.clock.RunFor(time.Second)

	id := func(rec string) (flags string, n int) {
		var df string
		fmt.Sscanf(strings.ReplaceAll(rec, ":", " "), "%s %d %s", &flags, &n, &df)
		if df != "DF" {
			t.Errorf("%s: no DF", rec)
		}
		return flags, n
	}
	// The client: SYN, ACK, data, the server's data's ACK, FIN, the ACK
	// of the server's FIN, then the ACK TIME_WAIT answers the FIN sent
	// again with; then the second SYN.
	wantA := []string{"S", "A", "PA", "A", "FA", "A", "A", "S"}
	if len(ids.a) != len(wantA) {
		t.Fatalf("client sent %v, want flags %v", ids.a, wantA)
	}
	_, first := id(ids.a[0])
	for i, rec := range ids.a[:6] {
		if f, n := id(rec); f != wantA[i] || n != first+i {
			t.Errorf("client segment %d: %s, want %s:%d", i, rec, wantA[i], first+i)
		}
	}
	if f, n := id(ids.a[6]); f != "A" || n != 0 {
		t.Errorf("TIME_WAIT's ACK %s, want A:0", ids.a[6])
	}
	if _, n := id(ids.a[7]); n == 0 {
		t.Errorf("the second connection's SYN carries 0")
	}
	// The server: SYN-ACK 0, then its data, its ACKs and FIN from a
	// counter of its own; the RST for port 81 carries 0.
	wantB := []string{"SA", "A", "PA", "A", "FA", "FA", "RA"}
	if len(ids.b) != len(wantB) {
		t.Fatalf("server sent %v, want flags %v", ids.b, wantB)
	}
	if f, n := id(ids.b[0]); f != "SA" || n != 0 {
		t.Errorf("SYN-ACK %s, want SA:0", ids.b[0])
	}
	_, sfirst := id(ids.b[1])
	for i, rec := range ids.b[1:6] {
		if f, n := id(rec); f != wantB[i+1] || n != sfirst+i {
			t.Errorf("server segment %d: %s, want %s:%d", i+1, rec, wantB[i+1], sfirst+i)
		}
	}
	if f, n := id(ids.b[6]); f != "RA" || n != 0 {
		t.Errorf("RST %s, want RA:0", ids.b[6])
	}
	if sfirst == first {
		t.Errorf("client and server count from the same value %d", first)
	}
}

// TestICMPTOS checks the TOS byte of what ICMP sends against Linux 6.18
// (over lo, an AF_PACKET capture): an echo reply keeps the request's
// (0x13 → 0x13, the ECN bits too; IPv6's traffic class likewise), and an
// error takes the offending packet's TOS bits under the precedence of
// internetwork control (0x17 → 0xd6: icmp_send's RT_TOS | 0xc0).
func TestICMPTOS(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	var fromB []string
	p.filter = func(from *stack.NIC, data []byte) bool {
		if from == p.bnic && len(data) > wire.EthernetHeaderLen+wire.IPv4MinHeaderLen {
			ip := wire.IPv4(data[wire.EthernetHeaderLen:])
			if ip.Version() == 4 && ip.Protocol() == wire.ProtoICMP {
				fromB = append(fromB, fmt.Sprintf("%d:%#x", ip[ip.HeaderLen()], ip.TOS()))
			}
		}
		return true
	}
	ping, err := p.a.Socket(stack.SockICMP)
	must(t, err)
	must(t, p.a.SetSockopt(ping, stack.IPTOS, 0x13))
	if _, err := p.a.SendTo(ping, []byte("tos"), netip.AddrPortFrom(p.bAddr, 0)); err != nil {
		t.Fatal(err)
	}
	p.clock.Run()
	u, err := p.a.Socket(stack.SockDgram)
	must(t, err)
	must(t, p.a.SetSockopt(u, stack.IPTOS, 0x17))
	if _, err := p.a.SendTo(u, []byte("closed"), netip.AddrPortFrom(p.bAddr, 9)); err != nil {
		t.Fatal(err)
	}
	p.clock.Run()
	want := []string{"0:0x13", "3:0xd6"} // echo reply, port unreachable
	if fmt.Sprint(fromB) != fmt.Sprint(want) {
		t.Errorf("ICMP from b %v, want %v (type:TOS)", fromB, want)
	}
}

// TestICMPv6EchoTrafficClass: an ICMPv6 echo reply keeps the request's
// traffic class, as Linux's icmpv6_echo_reply (0x13 → 0x13 on 6.18).
func TestICMPv6EchoTrafficClass(t *testing.T) {
	p := newPair6(t)
	var replyTC []uint8
	p.filter = func(from *stack.NIC, data []byte) bool {
		eth := wire.Ethernet(data)
		if eth.Type() != wire.EtherTypeIPv6 {
			return true
		}
		ip := eth.Payload()
		if ip[6] != wire.ProtoICMPv6 || len(ip) <= wire.IPv6HeaderLen {
			return true
		}
		switch ip[wire.IPv6HeaderLen] {
		case wire.ICMPv6EchoRequest:
			// The request leaves with traffic class 0x13, which no
			// checksum covers.
			ip[0], ip[1] = 0x61, 0x30|ip[1]&0x0f
		case wire.ICMPv6EchoReply:
			replyTC = append(replyTC, wire.IPv6(ip).TrafficClass())
		}
		return true
	}
	fd, err := p.a.SocketFamily(stack.AFInet6, stack.SockICMP)
	must(t, err)
	if _, err := p.a.SendTo(fd, []byte("tclass"), netip.AddrPortFrom(b6, 0)); err != nil {
		t.Fatal(err)
	}
	p.clock.Run()
	if len(replyTC) != 1 || replyTC[0] != 0x13 {
		t.Errorf("echo replies' traffic class %#x, want [0x13]", replyTC)
	}
}

// TestIPv6FlowLabel checks the flow labels stacklab sends against what
// Linux 6.18 does (auto_flowlabels=1; over lo and a veth, AF_PACKET
// capture): a TCP connection labels every segment with one label of its
// own, each end its own, and draws a new one at every retransmission
// timeout (sk_rethink_txhash; tcpi_rehash counts them); a UDP flow keeps
// one label, which another port changes; neighbour discovery carries 0.
func TestIPv6FlowLabel(t *testing.T) {
	p := newPair6(t)
	type seen struct {
		proto uint8
		icmp  uint8
		flags wire.TCPFlags
		port  uint16
		flow  uint32
	}
	var fromA, fromB []seen
	dropData := 2 // the client's data is lost twice: the segment and its tail loss probe
	p.filter = func(from *stack.NIC, data []byte) bool {
		eth := wire.Ethernet(data)
		if eth.Type() != wire.EtherTypeIPv6 {
			return true
		}
		ip := wire.IPv6(eth.Payload())
		pl := ip[wire.IPv6HeaderLen:]
		s := seen{proto: ip[6], flow: ip.FlowLabel()}
		switch s.proto {
		case wire.ProtoTCP:
			s.flags = wire.TCP(pl).Flags()
			if from == p.anic && len(pl) > int(wire.TCP(pl).DataOffset()) && dropData > 0 {
				dropData--
				fromA = append(fromA, s)
				return false
			}
		case wire.ProtoUDP:
			s.port = wire.UDP(pl).DstPort()
		case wire.ProtoICMPv6:
			s.icmp = pl[0]
		}
		if from == p.anic {
			fromA = append(fromA, s)
		} else {
			fromB = append(fromB, s)
		}
		return true
	}
	_, c := connect6(t, p)
	if _, err := p.a.Send(c, []byte("data")); err != nil {
		t.Fatal(err)
	}
	p.clock.RunFor(5 * time.Second)
	u, err := p.a.SocketFamily(stack.AFInet6, stack.SockDgram)
	must(t, err)
	for _, port := range []uint16{9, 9, 10} {
		if _, err := p.a.SendTo(u, []byte("u"), netip.AddrPortFrom(b6, port)); err != nil {
			t.Fatal(err)
		}
		p.clock.RunFor(time.Second)
	}

	var tcpA, tcpB, udp9, udp10 []uint32
	for _, s := range fromA {
		switch {
		case s.proto == wire.ProtoICMPv6 && (s.icmp == wire.ICMPv6NeighborSolicit || s.icmp == wire.ICMPv6NeighborAdvert):
			if s.flow != 0 {
				t.Errorf("neighbour discovery with flow label %#x, want 0", s.flow)
			}
		case s.proto == wire.ProtoTCP:
			tcpA = append(tcpA, s.flow)
		case s.proto == wire.ProtoUDP && s.port == 9:
			udp9 = append(udp9, s.flow)
		case s.proto == wire.ProtoUDP:
			udp10 = append(udp10, s.flow)
		}
	}
	for _, s := range fromB {
		if s.proto == wire.ProtoTCP {
			tcpB = append(tcpB, s.flow)
		}
	}
	// The client: SYN, ACK, the lost data and its lost probe, then the
	// RTO's retransmission under a new label, which stays.
	if len(tcpA) < 5 {
		t.Fatalf("client TCP labels %#x, want at least 5 segments", tcpA)
	}
	first, second := tcpA[0], tcpA[4]
	if first == 0 || second == 0 || first == second {
		t.Errorf("client labels %#x: want one label, then another after the RTO", tcpA)
	}
	for i, f := range tcpA {
		if want := first; i >= 4 && f != second || i < 4 && f != want {
			t.Errorf("client segment %d label %#x (all %#x)", i, f, tcpA)
		}
	}
	for _, f := range tcpB {
		if f != tcpB[0] || f == 0 || f == first || f == second {
			t.Errorf("server labels %#x: want one of its own", tcpB)
			break
		}
	}
	if len(udp9) != 2 || udp9[0] != udp9[1] || udp9[0] == 0 || len(udp10) != 1 || udp10[0] == udp9[0] {
		t.Errorf("UDP labels to port 9 %#x, to 10 %#x: want one per flow", udp9, udp10)
	}
	info, err := p.a.LinuxTCPInfo(c)
	must(t, err)
	if v, _ := info.Field("tcpi_rehash"); v != 1 {
		t.Errorf("tcpi_rehash %d, want 1", v)
	}
}

// connectPair connects p's a to a listener on b's port 80 (set up first
// by setup, if any) and returns the client's descriptor and the one
// accepted.
func connectPair(t *testing.T, p *pair, setup func(l int)) (c, s int) {
	t.Helper()
	l, _ := p.b.Socket(stack.SockStream)
	if setup != nil {
		setup(l)
	}
	must(t, p.b.Bind(l, netip.AddrPortFrom(netip.Addr{}, 80)))
	must(t, p.b.Listen(l, 8))
	c, _ = p.a.Socket(stack.SockStream)
	must(t, p.a.SetNonblock(c, true))
	p.a.Connect(c, netip.AddrPortFrom(p.bAddr, 80))
	p.clock.Run()
	s, _, err := p.b.Accept(l)
	must(t, err)
	return c, s
}

// TestTimeWaitReplyKeepsDF: what a timewait socket answers goes out
// through Linux's TCP control socket, which "enforce[s] IP_DF and
// IPID==0 for RST and ACK sent in SYN-RECV and TIME-WAIT state"
// (tcp_sk_init): a connection under IP_MTU_DISCOVER 0 sends its own
// segments without DF, and its TIME_WAIT's answer to a FIN sent again
// with DF and identification 0.
func TestTimeWaitReplyKeepsDF(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	var ids ipIDs
	ids.watch(p)
	c, s := connectPair(t, p, nil)
	must(t, p.a.SetSockopt(c, stack.IPMTUDiscover, stack.PMTUDiscDont))
	must(t, p.a.Shutdown(c, stack.ShutWR))
	p.clock.RunFor(100 * time.Millisecond)
	// The client's ACK of the server's FIN is lost once: the FIN comes
	// again, and TIME_WAIT answers it.
	watch, lost := p.filter, false
	p.filter = func(from *stack.NIC, data []byte) bool {
		watch(from, data)
		if from == p.anic && !lost && strings.HasPrefix(ids.a[len(ids.a)-1], "A:") && len(ids.b) > 1 && strings.HasPrefix(ids.b[len(ids.b)-1], "FA:") {
			lost = true
			return false
		}
		return true
	}
	must(t, p.b.Close(s))
	p.clock.RunFor(time.Second)
	n := len(ids.a)
	if n < 3 {
		t.Fatalf("client sent %v", ids.a)
	}
	if got := ids.a[n-3:]; !strings.HasSuffix(got[0], ":-") || got[1] != "A:"+strings.Split(got[1], ":")[1]+":-" || got[2] != "A:0:DF" {
		t.Errorf("client's FIN, ACK of the FIN, TIME_WAIT's answer %v; want no DF, no DF, A:0:DF", got)
	}
}

// TestDuplicateDataRehash: between two stacks over IPv6, the server's
// ACKs of the client's data are lost until the client's retransmission
// timeout, which sends the data again under a new flow label. The
// server, which has it, takes the new label as a sign that its ACKs are
// not getting through and draws a new one for its own (Linux's
// tcp_rcv_spurious_retrans), counted in tcp.DupDataRehash and not in
// tcpi_rehash; the tail loss probe before, a duplicate under the label
// it had, draws none. Each duplicate counts in tcp.DelayedACKLost.
func TestDuplicateDataRehash(t *testing.T) {
	p := newPair6(t)
	var fromA, fromB []uint32 // TCP flow labels, lost ones included
	dropAcks := 0
	p.filter = func(from *stack.NIC, data []byte) bool {
		eth := wire.Ethernet(data)
		if eth.Type() != wire.EtherTypeIPv6 || wire.IPv6(eth.Payload())[6] != wire.ProtoTCP {
			return true
		}
		ip := wire.IPv6(eth.Payload())
		if from == p.anic {
			fromA = append(fromA, ip.FlowLabel())
			return true
		}
		fromB = append(fromB, ip.FlowLabel())
		if dropAcks > 0 {
			dropAcks--
			return false
		}
		return true
	}
	l, c := connect6(t, p)
	s, _, err := p.b.Accept(l)
	must(t, err)
	handshake := len(fromB)
	dropAcks = 2 // the data's ACK and the tail loss probe's
	if _, err := p.a.Send(c, []byte("data")); err != nil {
		t.Fatal(err)
	}
	p.clock.RunFor(5 * time.Second)
	if len(fromB) != handshake+3 || len(fromA) < 4 {
		t.Fatalf("server sent %d labels (%#x) and the client %d (%#x): want the handshake's, two lost ACKs and one more", len(fromB), fromB, len(fromA), fromA)
	}
	old, probe, rto := fromB[handshake], fromB[handshake+1], fromB[handshake+2]
	if old != fromB[0] || probe != old {
		t.Errorf("server labels %#x: the data's ACK and the probe's (a duplicate under the same label) keep the handshake's", fromB)
	}
	if rto == old || rto == 0 {
		t.Errorf("server labels %#x: the ACK of the copy under a new label has label %#x, want a new one", fromB, rto)
	}
	if a := fromA[len(fromA)-1]; a == fromA[len(fromA)-2] {
		t.Errorf("client labels %#x: want the timeout's retransmission under a new label", fromA)
	}
	if v := counter(t, p.b, "tcp.DupDataRehash"); v != 1 {
		t.Errorf("tcp.DupDataRehash %d, want 1", v)
	}
	if v := counter(t, p.b, "tcp.DelayedACKLost"); v != 2 {
		t.Errorf("tcp.DelayedACKLost %d, want 2 (the probe and the retransmission)", v)
	}
	info, err := p.b.LinuxTCPInfo(s)
	must(t, err)
	if v, _ := info.Field("tcpi_rehash"); v != 0 {
		t.Errorf("server tcpi_rehash %d, want 0: only timeouts count there", v)
	}
}

// connect6 connects a non-blocking AF_INET6 socket of p's first stack to
// a listener of its second on port 80, over IPv6, and returns both
// descriptors (the listener's connection waits to be accepted).
func connect6(t *testing.T, p *pair6) (l, c int) {
	t.Helper()
	l, err := p.b.SocketFamily(stack.AFInet6, stack.SockStream)
	must(t, err)
	must(t, p.b.Bind(l, netip.AddrPortFrom(netip.IPv6Unspecified(), 80)))
	must(t, p.b.Listen(l, 8))
	c, err = p.a.SocketFamily(stack.AFInet6, stack.SockStream)
	must(t, err)
	must(t, p.a.SetNonblock(c, true))
	p.a.Connect(c, netip.AddrPortFrom(b6, 80))
	p.clock.Run()
	return l, c
}
