package stack_test

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"testing"

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
	l, _ := p.b.Socket(stack.SockStream)
	must(t, p.b.SetSockopt(l, stack.IPMTUDiscover, stack.PMTUDiscDont))
	must(t, p.b.Bind(l, netip.AddrPortFrom(netip.Addr{}, 80)))
	must(t, p.b.Listen(l, 8))
	c, _ := p.a.Socket(stack.SockStream)
	must(t, p.a.SetNonblock(c, true))
	p.a.Connect(c, netip.AddrPortFrom(p.bAddr, 80))
	p.clock.Run()
	s, _, err := p.b.Accept(l)
	must(t, err)
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
