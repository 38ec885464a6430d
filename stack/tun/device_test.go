package tun_test

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"stacklab/stack"
	"stacklab/stack/tun"
	"stacklab/stack/tun/tuntest"
)

var (
	kernelAddr = netip.MustParsePrefix("10.99.0.1/24")
	stackAddr  = netip.MustParseAddr("10.99.0.2")
)

// checksum is the Internet checksum (RFC 1071) of b, folded, starting from sum.
func checksum(sum uint32, b []byte) uint16 {
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// udpPacket builds an IPv4/UDP packet with correct checksums.
func udpPacket(src, dst netip.AddrPort, payload []byte) []byte {
	p := make([]byte, 28+len(payload))
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	p[8] = 64
	p[9] = 17
	s, d := src.Addr().As4(), dst.Addr().As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	binary.BigEndian.PutUint16(p[10:], checksum(0, p[:20]))
	u := p[20:]
	binary.BigEndian.PutUint16(u[0:], src.Port())
	binary.BigEndian.PutUint16(u[2:], dst.Port())
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	copy(u[8:], payload)
	var pseudo uint32
	for i := 12; i < 20; i += 2 {
		pseudo += uint32(binary.BigEndian.Uint16(p[i:]))
	}
	pseudo += 17 + uint32(len(u))
	c := checksum(pseudo, u)
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(u[6:], c)
	return p
}

// collect starts dev's reader and returns a channel of copies of what it reads.
func collect(t *testing.T, dev *tun.Device) <-chan []byte {
	t.Helper()
	ch := make(chan []byte, 64)
	err := dev.Start(func(pkt stack.Packet) {
		select {
		case ch <- slices.Clone(pkt.Data):
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func TestTUNExchangesPacketsWithKernel(t *testing.T) {
	ns := tuntest.Netns(t)
	dev, err := tun.Open(tun.Config{Name: "stk%d", Addr: kernelAddr, Netns: ns, MTU: 1400})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if dev.Name() != "stk0" || dev.Type() != stack.LinkRawIP || dev.MTU() != 1400 {
		t.Fatalf("device %s type %v mtu %d, want stk0 raw-ip 1400", dev.Name(), dev.Type(), dev.MTU())
	}
	if !slices.Contains(tuntest.Links(t, ns), "stk0") {
		t.Fatalf("stk0 not in namespace %s: %v", ns, tuntest.Links(t, ns))
	}
	rx := collect(t, dev)

	var conn *net.UDPConn
	err = tun.InNetns(ns, func() (err error) {
		conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 99, 0, 1)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	remote := netip.AddrPortFrom(stackAddr, 9)
	if _, err := conn.WriteToUDPAddrPort([]byte("hello tun"), remote); err != nil {
		t.Fatal(err)
	}

	// The kernel → device direction: the datagram arrives as a raw IPv4 packet.
	deadline := time.After(5 * time.Second)
	for got := false; !got; {
		select {
		case p := <-rx:
			if len(p) >= 28 && p[9] == 17 && binary.BigEndian.Uint16(p[22:]) == 9 {
				if string(p[28:]) != "hello tun" {
					t.Fatalf("payload %q, want %q", p[28:], "hello tun")
				}
				got = true
			}
		case <-deadline:
			t.Fatal("no UDP packet read from the device within 5s")
		}
	}

	// The device → kernel direction: a reply written to the device reaches the socket.
	dev.Send(stack.Packet{ID: 1, Data: udpPacket(remote, local, []byte("hello kernel"))})
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 100)
	n, from, err := conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	if string(buf[:n]) != "hello kernel" || from != remote {
		t.Fatalf("socket read %q from %v, want %q from %v", buf[:n], from, "hello kernel", remote)
	}
	st := dev.Stats()
	if st.RxPackets == 0 || st.TxPackets != 1 || st.TxBytes != 40 || st.TxErrors != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestTAPCarriesEthernetAndARP(t *testing.T) {
	ns := tuntest.Netns(t)
	dev, err := tun.Open(tun.Config{Name: "tap%d", TAP: true, Addr: kernelAddr, Netns: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if dev.Type() != stack.LinkEthernet {
		t.Fatalf("type %v, want ethernet", dev.Type())
	}
	rx := collect(t, dev)
	var conn *net.UDPConn
	if err := tun.InNetns(ns, func() (err error) {
		conn, err = net.ListenUDP("udp4", nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.WriteToUDPAddrPort([]byte("x"), netip.AddrPortFrom(stackAddr, 9))
	// The kernel must resolve 10.99.0.2 first: an ARP request, broadcast.
	deadline := time.After(5 * time.Second)
	for {
		select {
		case f := <-rx:
			if len(f) >= 42 && binary.BigEndian.Uint16(f[12:]) == 0x0806 {
				if !slices.Equal(f[:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) {
					t.Fatalf("ARP request to %x, want broadcast", f[:6])
				}
				if tpa := netip.AddrFrom4([4]byte(f[38:42])); tpa != stackAddr {
					t.Fatalf("ARP asks for %v, want %v", tpa, stackAddr)
				}
				return
			}
		case <-deadline:
			t.Fatal("no ARP request within 5s")
		}
	}
}

func TestCloseRemovesDevice(t *testing.T) {
	ns := tuntest.Netns(t)
	dev, err := tun.Open(tun.Config{Name: "gone0", Addr: kernelAddr, Netns: ns})
	if err != nil {
		t.Fatal(err)
	}
	collect(t, dev)
	if !slices.Contains(tuntest.Links(t, ns), "gone0") {
		t.Fatal("device not created")
	}
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
	if err := dev.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	dev.Send(stack.Packet{Data: udpPacket(netip.MustParseAddrPort("10.99.0.2:1"), netip.MustParseAddrPort("10.99.0.1:1"), nil)})
	if st := dev.Stats(); st.TxDropped != 1 || st.TxErrors != 0 {
		t.Fatalf("send after close: stats %+v, want one TxDropped", st)
	}
	if links := tuntest.Links(t, ns); slices.Contains(links, "gone0") {
		t.Fatalf("device left behind after Close: %v", links)
	}
	if err := dev.Start(func(stack.Packet) {}); err == nil {
		t.Fatal("Start after Close succeeded")
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	tuntest.Require(t)
	tests := []struct {
		name string
		cfg  tun.Config
		is   error
	}{
		{"unknown netns", tun.Config{Netns: "stacklab-test-does-not-exist"}, tun.ErrNoNetns},
		{"netns with slash", tun.Config{Netns: "../x"}, tun.ErrNoNetns},
		{"mtu too small", tun.Config{MTU: 20}, nil},
		{"mtu too large", tun.Config{MTU: 70000}, nil},
		{"name too long", tun.Config{Name: "a-very-long-device-name"}, nil},
		{"ipv6 address", tun.Config{Addr: netip.MustParsePrefix("fd00::1/64")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev, err := tun.Open(tt.cfg)
			if err == nil {
				dev.Close()
				t.Fatal("Open succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("error %v, want %v", err, tt.is)
			}
		})
	}
}

func TestOpenFailsCleanWithoutCapability(t *testing.T) {
	if os.Getenv("STACKLAB_TUN_NOCAP_CHILD") == "1" {
		_, err := tun.Open(tun.Config{Name: "nocap0"})
		if !errors.Is(err, tun.ErrNeedRoot) {
			t.Fatalf("Open without CAP_NET_ADMIN: %v, want ErrNeedRoot", err)
		}
		return
	}
	tuntest.Require(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("skipping: setpriv (util-linux) not installed")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(setpriv, "--inh-caps=-all", "--bounding-set=-all", "--", exe,
		"-test.run=^TestOpenFailsCleanWithoutCapability$", "-test.v")
	cmd.Env = append(os.Environ(), "STACKLAB_TUN_NOCAP_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child without capabilities: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestOpenFailsCleanWithoutCapability") {
		t.Fatalf("child did not run the check:\n%s", out)
	}
	if err := exec.Command("ip", "link", "show", "nocap0").Run(); err == nil {
		t.Fatal("device nocap0 exists after a failed Open")
	}
}

func TestSendDoesNotAllocate(t *testing.T) {
	ns := tuntest.Netns(t)
	dev, err := tun.Open(tun.Config{Addr: kernelAddr, Netns: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	pkt := stack.Packet{ID: 1, Data: udpPacket(netip.AddrPortFrom(stackAddr, 9), netip.MustParseAddrPort("10.99.0.1:9"), make([]byte, 1372))}
	if n := testing.AllocsPerRun(1000, func() { dev.Send(pkt) }); n != 0 {
		t.Fatalf("Send allocates %.1f times per packet, want 0", n)
	}
	if st := dev.Stats(); st.TxErrors != 0 || st.TxPackets < 1000 {
		t.Fatalf("stats %+v", st)
	}
}
