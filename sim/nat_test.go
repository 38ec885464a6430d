package sim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"syscall"
	"testing"
	"time"

	"stacklab/stack"
	"stacklab/stack/wire"
)

// withChecksums fills in the IPv4 and transport checksums of a packet
// built by ipPacket, as a sender would.
func withChecksums(b []byte) []byte {
	ip := wire.IPv4(b)
	ip.SetChecksum()
	l4 := ip.Payload()
	switch ip.Protocol() {
	case wire.ProtoTCP, wire.ProtoUDP:
		off := wire.TCPChecksumOffset
		if ip.Protocol() == wire.ProtoUDP {
			off = wire.UDPChecksumOffset
		}
		l4[off], l4[off+1] = 0, 0
		sum := wire.PseudoHeaderSum(ip.Src(), ip.Dst(), ip.Protocol(), uint16(len(l4)))
		binary.BigEndian.PutUint16(l4[off:], ^wire.Fold(wire.Checksum(l4, sum)))
	case wire.ProtoICMP:
		l4[2], l4[3] = 0, 0
		binary.BigEndian.PutUint16(l4[2:], ^wire.Fold(wire.Checksum(l4, 0)))
	}
	return b
}

// checksumsOK verifies every checksum of a packet.
func checksumsOK(t *testing.T, b []byte) {
	t.Helper()
	ip := wire.IPv4(b)
	if !ip.IsChecksumValid() {
		t.Error("bad IPv4 header checksum")
	}
	l4 := ip.Payload()
	var sum uint32
	if ip.Protocol() != wire.ProtoICMP {
		sum = wire.PseudoHeaderSum(ip.Src(), ip.Dst(), ip.Protocol(), uint16(len(l4)))
	}
	if wire.Fold(wire.Checksum(l4, sum)) != 0xffff {
		t.Errorf("bad %d checksum", ip.Protocol())
	}
}

func endpoints(b []byte) (src, dst netip.AddrPort) {
	ip := wire.IPv4(b)
	l4 := ip.Payload()
	sp, dp := binary.BigEndian.Uint16(l4[0:]), binary.BigEndian.Uint16(l4[2:])
	if ip.Protocol() == wire.ProtoICMP {
		sp = binary.BigEndian.Uint16(l4[4:])
		dp = sp
	}
	return netip.AddrPortFrom(ip.Src(), sp), netip.AddrPortFrom(ip.Dst(), dp)
}

func TestNAT(t *testing.T) {
	const (
		inside = "192.168.1.10:5000"
		remote = "203.0.113.5:80"
		public = "198.51.100.1"
	)
	S, A := wire.TCPFlagSYN, wire.TCPFlagACK
	type step struct {
		after    time.Duration
		dir      Direction
		proto    uint8
		flags    wire.TCPFlags
		src, dst string // before translation
		pass     bool
		reason   string
		wantSrc  string // after translation, when passed
		wantDst  string
	}
	tcpOut := func(after time.Duration, f wire.TCPFlags, wantSrc string) step {
		return step{after, AtoB, wire.ProtoTCP, f, inside, remote, true, "", wantSrc, remote}
	}
	tcpIn := func(after time.Duration, dport string, pass bool, reason string) step {
		return step{after, BtoA, wire.ProtoTCP, A, remote, public + ":" + dport, pass, reason, remote, inside}
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"translate both ways", []step{
			tcpOut(0, S, public+":30000"), tcpIn(0, "30000", true, ""), tcpOut(time.Second, A, public+":30000"),
		}},
		{"unknown port", []step{tcpIn(0, "30000", false, natNoMapping)}},
		{"wrong remote", []step{
			tcpOut(0, S, public+":30000"),
			{0, BtoA, wire.ProtoTCP, A, "203.0.113.6:80", public + ":30000", false, natNoMapping, "", ""},
		}},
		{"expiry gives a new port", []step{
			tcpOut(0, S, public+":30000"), tcpIn(5*time.Minute, "30000", true, ""),
			tcpIn(5*time.Minute+time.Second, "30000", false, natExpired),
			tcpOut(0, A, public+":30001"), tcpIn(0, "30001", true, ""), tcpIn(0, "30000", false, natExpired),
		}},
		{"not for the public address", []step{
			{0, BtoA, wire.ProtoTCP, A, remote, inside, true, "", remote, inside},
		}},
		{"udp", []step{
			{0, AtoB, wire.ProtoUDP, 0, inside, remote, true, "", public + ":30000", remote},
			{time.Second, BtoA, wire.ProtoUDP, 0, remote, public + ":30000", true, "", remote, inside},
			{31 * time.Second, BtoA, wire.ProtoUDP, 0, remote, public + ":30000", false, natExpired, "", ""},
		}},
		{"icmp echo", []step{
			{0, AtoB, wire.ProtoICMP, 0, "192.168.1.10:0", "203.0.113.5:0", true, "", public + ":30000", "203.0.113.5:30000"},
		}},
	}
	// With DropUnmatched a packet from outside that matches no mapping
	// is dropped with its reason; by default (Linux's MASQUERADE) it
	// passes untranslated to the router's own stack and is counted.
	for _, drop := range []bool{true, false} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/drop=%v", tt.name, drop), func(t *testing.T) {
				c := NewClock(t0)
				nat, err := NewNAT(c, NATConfig{Public: netip.MustParseAddr(public), DropUnmatched: drop})
				if err != nil {
					t.Fatal(err)
				}
				unmatched := uint64(0)
				for i, s := range tt.steps {
					if !drop && !s.pass {
						s.pass, s.reason, s.wantSrc, s.wantDst = true, "", s.src, s.dst
						unmatched++
					}
					c.RunFor(s.after)
					b := ipPacket(s.proto, s.src, s.dst, s.flags)
					if s.proto == wire.ProtoICMP {
						// An echo request with id 0x1234.
						b[20] = wire.ICMPEcho
						binary.BigEndian.PutUint16(b[24:], 0x1234)
					}
					withChecksums(b)
					pass, reason := nat.Inspect(s.dir, b)
					if pass != s.pass || reason != s.reason {
						t.Fatalf("step %d: pass %v %q, want %v %q", i, pass, reason, s.pass, s.reason)
					}
					if !pass {
						continue
					}
					checksumsOK(t, b)
					src, dst := endpoints(b)
					if s.proto == wire.ProtoICMP {
						if src.Addr().String() != public || src.Port() != 30000 {
							t.Errorf("step %d: echo source %v", i, src)
						}
						continue
					}
					if src.String() != s.wantSrc || dst.String() != s.wantDst {
						t.Errorf("step %d: %v → %v, want %s → %s", i, src, dst, s.wantSrc, s.wantDst)
					}
				}
				if got := nat.Stats().Unmatched; got != unmatched {
					t.Errorf("Unmatched = %d, want %d", got, unmatched)
				}
			})
		}
	}
}

func TestNATConfigErrors(t *testing.T) {
	c := NewClock(t0)
	if _, err := NewNAT(c, NATConfig{}); err == nil {
		t.Error("NAT without a public address accepted")
	}
	if _, err := NewNAT(c, NATConfig{Public: netip.MustParseAddr("1.2.3.4"), PortMin: 10, PortMax: 5}); err == nil {
		t.Error("empty port range accepted")
	}
}

func TestNATPortExhaustion(t *testing.T) {
	c := NewClock(t0)
	nat, _ := NewNAT(c, NATConfig{Public: netip.MustParseAddr("1.2.3.4"), PortMin: 100, PortMax: 101, UDPIdle: time.Second})
	for i, want := range []bool{true, true, false} {
		src := netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), uint16(1000+i)).String()
		if ok, _ := nat.Inspect(AtoB, ipPacket(wire.ProtoUDP, src, "9.9.9.9:53", 0)); ok != want {
			t.Fatalf("flow %d: pass %v", i, ok)
		}
	}
	c.RunFor(2 * time.Second)
	if ok, _ := nat.Inspect(AtoB, ipPacket(wire.ProtoUDP, "10.0.0.1:2000", "9.9.9.9:53", 0)); !ok {
		t.Fatal("an expired port was not reused")
	}
	if nat.Mappings() != 1 {
		t.Errorf("mappings %d", nat.Mappings())
	}
}

func FuzzNAT(f *testing.F) {
	f.Add(ipPacket(wire.ProtoTCP, "10.0.0.1:1", "9.9.9.9:2", wire.TCPFlagSYN), false)
	f.Add(ipPacket(wire.ProtoUDP, "9.9.9.9:2", "1.2.3.4:30000", 0), true)
	f.Add(ipPacket(wire.ProtoICMP, "10.0.0.1:0", "9.9.9.9:0", 0), false)
	f.Add(withChecksums(ipPacket(wire.ProtoTCP, "10.0.0.1:1", "9.9.9.9:2", wire.TCPFlagSYN)), false)
	f.Add(withChecksums(ipPacket(wire.ProtoUDP, "10.0.0.1:1", "9.9.9.9:2", 0)), false)
	f.Add(portUnreachable("9.9.9.9", "1.2.3.4", "1.2.3.4:30000", "9.9.9.9:53"), true)
	f.Add(portUnreachable("10.0.0.1", "9.9.9.9", "9.9.9.9:53", "10.0.0.1:1"), false)
	f.Fuzz(func(t *testing.T, b []byte, inbound bool) {
		nat, _ := NewNAT(NewClock(t0), NATConfig{Public: netip.MustParseAddr("1.2.3.4")})
		dir := AtoB
		if inbound {
			dir = BtoA
		}
		n := len(b)
		valid := checksumsValid(b)
		pass, _ := nat.Inspect(dir, b)
		if len(b) != n {
			t.Fatal("length changed")
		}
		if pass && valid && !checksumsValid(b) {
			t.Fatal("translation broke a checksum")
		}
	})
}

// checksumsValid reports whether b is a whole, unfragmented IPv4 packet
// whose header and TCP, UDP or ICMP checksums verify.
func checksumsValid(b []byte) bool {
	ip := wire.IPv4(b)
	if !ip.IsValid() || !ip.IsChecksumValid() || ip.IsFragment() {
		return false
	}
	l4 := ip.Payload()
	switch ip.Protocol() {
	case wire.ProtoUDP:
		u, err := wire.ParseUDP(l4)
		return err == nil && len(u) == len(l4) && u.IsChecksumValid(ip.Src(), ip.Dst())
	case wire.ProtoTCP:
		return len(l4) >= wire.TCPMinHeaderLen &&
			wire.Fold(wire.Checksum(l4, wire.PseudoHeaderSum(ip.Src(), ip.Dst(), wire.ProtoTCP, uint16(len(l4))))) == 0xffff
	case wire.ProtoICMP:
		return len(l4) >= wire.ICMPv4HeaderLen && wire.ICMPv4(l4).IsChecksumValid()
	}
	return false
}

// natNet builds client (192.168.1.10) — r1 — server (10.0.0.2) with
// 1 ms links, the client's default route via r1 and a NAT configured by
// cfg on r1's link to the server.
func natNet(t *testing.T, cfg NATConfig) (n *Network, cl, sv *stack.Stack, nat *NAT) {
	t.Helper()
	n = NewNetwork(NetworkOptions{Seed: 1})
	cl = n.AddHost("client", stack.Options{})
	r := n.AddRouter("r1", stack.Options{})
	sv = n.AddHost("server", stack.Options{})
	imp := Symmetric(Impairments{Delay: time.Millisecond})
	l1, err := n.Connect(cl, nicCfg("192.168.1.10/24"), r, nicCfg("192.168.1.1/24"), imp)
	skipUnimplemented(t, err)
	mustOK(t, err)
	l2, err := n.Connect(r, nicCfg("10.0.0.1/24"), sv, nicCfg("10.0.0.2/24"), imp)
	mustOK(t, err)
	cn, _ := l1.NICs()
	cl.AddRoute(stack.Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.168.1.1"), NIC: cn})
	nat, err = NewNAT(n.Clock(), cfg)
	mustOK(t, err)
	l2.SetMiddlebox(nat)
	return n, cl, sv, nat
}

// mustOK fails the test at once if err is not nil.
func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// natUDP returns a nonblocking UDP socket on s bound to local and, unless
// remote is empty, connected to remote.
func natUDP(t *testing.T, s *stack.Stack, local, remote string) int {
	t.Helper()
	fd, err := s.Socket(stack.SockDgram)
	mustOK(t, err)
	mustOK(t, s.SetNonblock(fd, true))
	mustOK(t, s.Bind(fd, netip.MustParseAddrPort(local)))
	if remote != "" {
		mustOK(t, s.Connect(fd, netip.MustParseAddrPort(remote)))
	}
	return fd
}

// TestNATIdleConnection runs TCP through a router with a NAT: the
// connection works, the server sees the public address, and after the
// mapping times out the client's next segment gets a new port, which the
// server answers with a RST.
func TestNATIdleConnection(t *testing.T) {
	n, cl, sv, nat := natNet(t, NATConfig{Public: netip.MustParseAddr("10.0.0.1"), TCPIdle: time.Minute})
	lfd, _ := sv.Socket(stack.SockStream)
	mustOK(t, sv.SetNonblock(lfd, true))
	mustOK(t, sv.Bind(lfd, netip.MustParseAddrPort("10.0.0.2:80")))
	mustOK(t, sv.Listen(lfd, 4))
	cfd, _ := cl.Socket(stack.SockStream)
	mustOK(t, cl.SetNonblock(cfd, true))
	cl.Connect(cfd, netip.MustParseAddrPort("10.0.0.2:80"))
	n.RunFor(time.Second)
	sfd, peer, err := sv.Accept(lfd)
	if err != nil {
		t.Fatalf("accept through the NAT: %v", err)
	}
	if peer.String() != "10.0.0.1:30000" {
		t.Errorf("server sees the client as %v, want the NAT's 10.0.0.1:30000", peer)
	}
	sv.SetNonblock(sfd, true)
	if _, err := cl.Send(cfd, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	n.RunFor(time.Second)
	buf := make([]byte, 16)
	if k, err := sv.Recv(sfd, buf); err != nil || string(buf[:k]) != "hi" {
		t.Fatalf("server read %q, %v", buf[:k], err)
	}

	// Idle past the timeout, then talk again.
	n.RunFor(2 * time.Minute)
	if _, err := cl.Send(cfd, []byte("again")); err != nil {
		t.Fatal(err)
	}
	n.RunFor(time.Second)
	_, err = cl.Recv(cfd, buf)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("client recv after the mapping expired: %v, want ECONNRESET", err)
	}
	if st := nat.Stats(); st.Mappings != 2 || st.Expired == 0 {
		t.Errorf("nat stats %+v", st)
	}
}

// TestNATICMPErrors sends UDP both ways through a NAT to closed ports:
// the ICMP port unreachable each side answers is translated back (the
// quoted packet with it, RFC 5508 §4.2), so the connected socket on the
// other side learns ECONNREFUSED.
func TestNATICMPErrors(t *testing.T) {
	n, cl, sv, nat := natNet(t, NATConfig{Public: netip.MustParseAddr("10.0.0.1")})
	buf := make([]byte, 16)

	// Inside → outside: nothing listens on the server's port 9.
	cfd := natUDP(t, cl, "192.168.1.10:5000", "10.0.0.2:9")
	if _, err := cl.Send(cfd, []byte("x")); err != nil {
		t.Fatal(err)
	}
	n.RunFor(time.Second)
	if _, err := cl.Recv(cfd, buf); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("client recv: %v, want ECONNREFUSED from the translated port unreachable", err)
	}

	// Outside → inside: the server answers through the mapping the
	// client made, after the client closed its socket.
	sfd := natUDP(t, sv, "10.0.0.2:9", "10.0.0.1:30000")
	mustOK(t, cl.Close(cfd))
	if _, err := sv.Send(sfd, []byte("y")); err != nil {
		t.Fatal(err)
	}
	n.RunFor(time.Second)
	if _, err := sv.Recv(sfd, buf); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("server recv: %v, want ECONNREFUSED from the translated port unreachable", err)
	}
	if st := nat.Stats(); st.Translated != 4 || st.Rejected != 0 {
		t.Errorf("nat stats %+v, want 4 translated (two datagrams, two errors)", st)
	}
}

func TestNATICMPErrorUnknownFlow(t *testing.T) {
	nat, _ := NewNAT(NewClock(t0), NATConfig{Public: netip.MustParseAddr("198.51.100.1")})
	b := portUnreachable("203.0.113.5", "198.51.100.1", "198.51.100.1:30000", "203.0.113.5:53")
	if pass, reason := nat.Inspect(BtoA, b); pass || reason != natNoMapping {
		t.Fatalf("error about no flow: pass %v %q", pass, reason)
	}
}

// portUnreachable builds an ICMP port unreachable from src to dst quoting
// the first 8 bytes of a UDP datagram from qsrc to qdst.
func portUnreachable(src, dst, qsrc, qdst string) []byte {
	quoted := withChecksums(ipPacket(wire.ProtoUDP, qsrc, qdst, 0))
	b := ipPacket(wire.ProtoICMP, src+":0", dst+":0", 0)
	b = append(b[:28], quoted[:28]...)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	b[20], b[21] = wire.ICMPDestUnreachable, wire.ICMPCodePortUnreachable
	return withChecksums(b)
}

// TestNATFragments sends a 3000-byte UDP datagram each way through a
// NAT: every fragment gets the translated address (only the first carries
// the ports), so both ends reassemble it.
func TestNATFragments(t *testing.T) {
	n, cl, sv, _ := natNet(t, NATConfig{Public: netip.MustParseAddr("10.0.0.1")})
	big := make([]byte, 3000)
	for i := range big {
		big[i] = byte(i * 7)
	}
	buf := make([]byte, 4000)
	sfd := natUDP(t, sv, "10.0.0.2:7", "")
	cfd := natUDP(t, cl, "192.168.1.10:5000", "10.0.0.2:7")
	if _, err := cl.Send(cfd, big); err != nil {
		t.Fatal(err)
	}
	n.RunFor(time.Second)
	k, from, err := sv.RecvFrom(sfd, buf)
	if err != nil || !bytes.Equal(buf[:k], big) || from.String() != "10.0.0.1:30000" {
		t.Fatalf("server got %d bytes from %v, %v; want 3000 from 10.0.0.1:30000", k, from, err)
	}
	if _, err := sv.SendTo(sfd, big, from); err != nil {
		t.Fatal(err)
	}
	n.RunFor(time.Second)
	if k, err := cl.Recv(cfd, buf); err != nil || !bytes.Equal(buf[:k], big) {
		t.Fatalf("client got %d bytes, %v; want the 3000 sent", k, err)
	}
}

// TestNATTable sees each change of the translation table reported as it
// happens, and Table list the live mappings only.
func TestNATTable(t *testing.T) {
	c := NewClock(t0)
	var changes []string
	nat, err := NewNAT(c, NATConfig{Public: netip.MustParseAddr("198.51.100.1"), TCPIdle: 30 * time.Second, OnChange: func(s string) { changes = append(changes, s) }})
	if err != nil {
		t.Fatal(err)
	}
	send := func(src string) {
		b := ipPacket(wire.ProtoTCP, src, "203.0.113.5:80", wire.TCPFlagSYN)
		withChecksums(b)
		if pass, reason := nat.Inspect(AtoB, b); !pass {
			t.Fatalf("dropped: %s", reason)
		}
	}
	send("192.168.1.10:5000")
	send("192.168.1.11:5000")
	want := []string{
		"tcp 192.168.1.10:5000 ⇄ 198.51.100.1:30000 for 203.0.113.5:80",
		"tcp 192.168.1.11:5000 ⇄ 198.51.100.1:30001 for 203.0.113.5:80",
	}
	if got := nat.Table(); !slices.Equal(got, want) {
		t.Errorf("Table = %q, want %q", got, want)
	}
	c.RunFor(20 * time.Second)
	send("192.168.1.11:5000") // keeps the second mapping alive
	c.RunFor(15 * time.Second)
	if got := nat.Table(); !slices.Equal(got, want[1:]) {
		t.Errorf("after 35s Table = %q, want %q", got, want[1:])
	}
	send("192.168.1.10:5000") // the first expired: a new port
	wantChanges := []string{
		"map " + want[0], "map " + want[1],
		"expire tcp 192.168.1.10:5000 ⇄ 198.51.100.1:30000 for 203.0.113.5:80 after 30s idle",
		"map tcp 192.168.1.10:5000 ⇄ 198.51.100.1:30002 for 203.0.113.5:80",
	}
	if !slices.Equal(changes, wantChanges) {
		t.Errorf("changes\n%q\nwant\n%q", changes, wantChanges)
	}
}
