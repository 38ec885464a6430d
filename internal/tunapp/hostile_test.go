package tunapp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"stacklab/stack/tun"
	"stacklab/stack/tun/tuntest"
)

// The hostile-packet suite: packets a hostile peer could send, written
// into the stack's TUN device from the kernel side with a raw (AF_PACKET)
// socket in the test's own network namespace, so that nothing (not even
// the kernel's IP checks) stands between them and the stack. After each
// attack the stack must still be up, have counted the refusal, have
// answered as Linux answers the same packet, and the legitimate
// connection opened before the attacks must still carry data.

const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpPSH = 0x08
	tcpACK = 0x10
)

// hostile is a stack on a TUN device in a fresh namespace, with a raw
// socket on the kernel's side of the device.
type hostile struct {
	*App
	ns      string
	fd      int
	ifindex int
	eth     uint16 // the raw socket's protocol: ETH_P_IP or ETH_P_IPV6

	mu   sync.Mutex
	seen [][]byte // packets from the stack, at most maxSeen
	done chan struct{}
}

const maxSeen = 50000

func newHostile(t *testing.T) *hostile { return newHostileFamily(t, Options{}, unix.ETH_P_IP) }

// newHostileFamily is newHostile with more options (IPv6 addresses) and
// the raw socket speaking the family of eth.
func newHostileFamily(t *testing.T, o Options, eth uint16) *hostile {
	t.Helper()
	ns := tuntest.Netns(t)
	o.Netns, o.Seed, o.Log = ns, 1, io.Discard
	a, err := Setup(o)
	if err != nil {
		t.Fatal(err)
	}
	h := &hostile{App: a, ns: ns, eth: eth, done: make(chan struct{})}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	for _, mode := range []string{"echo", "udp-echo"} {
		(&env{App: a, ns: ns}).serve(t, mode)
	}
	err = tunInNetns(ns, func() error {
		ifi, err := net.InterfaceByName(a.Device.Name())
		if err != nil {
			return err
		}
		h.ifindex = ifi.Index
		h.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons(eth)))
		if err != nil {
			return fmt.Errorf("AF_PACKET socket: %w", err)
		}
		return unix.Bind(h.fd, &unix.SockaddrLinklayer{Protocol: htons(eth), Ifindex: h.ifindex})
	})
	if err != nil {
		t.Fatal(err)
	}
	unix.SetsockoptTimeval(h.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 50000})
	// SO_RCVBUFFORCE (root): SO_RCVBUF is capped at net.core.rmem_max
	// (208 KiB by default), which a flood of SYN-ACKs overflows under load,
	// losing the very packet a check looks for.
	if err := unix.SetsockoptInt(h.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 16<<20); err != nil {
		unix.SetsockoptInt(h.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 16<<20)
	}
	stopped := make(chan struct{})
	go h.sniff(stopped)
	t.Cleanup(func() {
		close(h.done)
		<-stopped
		unix.Close(h.fd)
	})
	return h
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// sniff keeps what the stack sends the kernel (packets the kernel
// receives from the device; not those the kernel sends).
func (h *hostile) sniff(stopped chan struct{}) {
	defer close(stopped)
	buf := make([]byte, 65536)
	for {
		select {
		case <-h.done:
			return
		default:
		}
		n, from, err := unix.Recvfrom(h.fd, buf, 0)
		if err != nil {
			continue
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		h.mu.Lock()
		if len(h.seen) < maxSeen {
			h.seen = append(h.seen, append([]byte(nil), buf[:n]...))
		}
		h.mu.Unlock()
	}
}

// mark returns the number of packets seen so far.
func (h *hostile) mark() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.seen)
}

// since waits d, then returns the packets seen after mark that match.
func (h *hostile) since(mark int, d time.Duration, match func(p []byte) bool) [][]byte {
	time.Sleep(d)
	h.mu.Lock()
	defer h.mu.Unlock()
	var out [][]byte
	for _, p := range h.seen[mark:] {
		if match(p) {
			out = append(out, p)
		}
	}
	return out
}

// await is since for a packet that must have come: the sniffer reads
// the device in real time, and on a loaded machine it may not have
// reached it yet (a check once found no SYN-ACK for a connection that
// had completed), so it looks again for up to 5 s before it returns
// what it found.
func (h *hostile) await(mark int, match func(p []byte) bool) [][]byte {
	got := h.since(mark, 0, match)
	for deadline := time.Now().Add(5 * time.Second); len(got) == 0 && time.Now().Before(deadline); {
		got = h.since(mark, 50*time.Millisecond, match)
	}
	return got
}

// send writes raw IP packets (of the socket's family) into the device,
// towards the stack, pausing now and then so that the device's queue
// does not overflow.
func (h *hostile) send(t *testing.T, pkts ...[]byte) {
	t.Helper()
	to := &unix.SockaddrLinklayer{Protocol: htons(h.eth), Ifindex: h.ifindex}
	base := h.counter("link.InFrames")
	for i, p := range pkts {
		for {
			err := unix.Sendto(h.fd, p, 0, to)
			if err == nil {
				break
			}
			if !errors.Is(err, unix.ENOBUFS) && !errors.Is(err, unix.EAGAIN) {
				t.Fatalf("sendto: %v", err)
			}
			time.Sleep(time.Millisecond)
		}
		if i%64 == 63 {
			// The device's queue drops what the stack has not read yet
			// when it is full (txqueuelen): a storm waits for the stack,
			// up to 2 s per 64 packets, to stay within 256 of it, so that
			// a slow (loaded, -race) run loses nothing on the way.
			time.Sleep(2 * time.Millisecond)
			for wait := time.Now().Add(2 * time.Second); time.Now().Before(wait); time.Sleep(time.Millisecond) {
				if h.counter("link.InFrames")-base+256 >= uint64(i+1) {
					break
				}
			}
		}
	}
}

// counter returns one of the stack's counters by name.
func (h *hostile) counter(name string) uint64 {
	for _, c := range h.Stack.Counters() {
		if c.Name == name {
			return c.Value
		}
	}
	panic("no counter " + name)
}

// counters snapshots the named counters.
func (h *hostile) counters(names ...string) map[string]uint64 {
	m := map[string]uint64{}
	for _, n := range names {
		m[n] = h.counter(n)
	}
	return m
}

// grew checks that each counter grew by at least min[name] since before.
func (h *hostile) grew(t *testing.T, before map[string]uint64, min map[string]uint64) {
	t.Helper()
	// The stack reads the TUN device in real time: on a loaded machine it
	// may still be working through a storm when the test looks, so each
	// counter gets up to 5 s to reach its mark.
	deadline := time.Now().Add(5 * time.Second)
	for n, want := range min {
		got := h.counter(n) - before[n]
		for got < want && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			got = h.counter(n) - before[n]
		}
		if got < want {
			t.Errorf("counter %s grew by %d, want at least %d", n, got, want)
		}
	}
}

// tunInNetns runs fn in namespace ns.
func tunInNetns(ns string, fn func() error) error { return tun.InNetns(ns, fn) }

var (
	stackAddr  = netip.MustParseAddr(stackIP)
	kernelAddr = netip.MustParseAddr(kernelIP)
)

func csum(b []byte, sum uint32) uint16 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
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

// ipPacket builds an IPv4 packet with a good header checksum.
func ipPacket(src, dst netip.Addr, proto byte, id uint16, off int, mf bool, payload []byte) []byte {
	p := make([]byte, 20+len(payload))
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	binary.BigEndian.PutUint16(p[4:], id)
	fo := uint16(off / 8)
	if mf {
		fo |= 0x2000
	}
	binary.BigEndian.PutUint16(p[6:], fo)
	p[8] = 64
	p[9] = proto
	s, d := src.As4(), dst.As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	binary.BigEndian.PutUint16(p[10:], csum(p[:20], 0))
	copy(p[20:], payload)
	return p
}

func pseudo(src, dst netip.Addr, proto byte, n int) uint32 {
	s, d := src.As4(), dst.As4()
	var sum uint32
	for i := 0; i < 4; i += 2 {
		sum += uint32(s[i])<<8 | uint32(s[i+1])
		sum += uint32(d[i])<<8 | uint32(d[i+1])
	}
	return sum + uint32(proto) + uint32(n)
}

// tcpPacket builds an IPv4 packet holding a TCP segment with a good
// checksum; opts must be a multiple of 4 bytes long.
func tcpPacket(src, dst netip.AddrPort, seq, ack uint32, flags byte, wnd uint16, opts, payload []byte) []byte {
	hl := 20 + len(opts)
	s := make([]byte, hl+len(payload))
	binary.BigEndian.PutUint16(s[0:], src.Port())
	binary.BigEndian.PutUint16(s[2:], dst.Port())
	binary.BigEndian.PutUint32(s[4:], seq)
	binary.BigEndian.PutUint32(s[8:], ack)
	s[12] = byte(hl/4) << 4
	s[13] = flags
	binary.BigEndian.PutUint16(s[14:], wnd)
	copy(s[20:], opts)
	copy(s[hl:], payload)
	binary.BigEndian.PutUint16(s[16:], csum(s, pseudo(src.Addr(), dst.Addr(), 6, len(s))))
	return ipPacket(src.Addr(), dst.Addr(), 6, uint16(seq), 0, false, s)
}

// udpPayload builds a UDP header and payload with a good checksum.
func udpPayload(src, dst netip.AddrPort, payload []byte) []byte {
	u := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(u[0:], src.Port())
	binary.BigEndian.PutUint16(u[2:], dst.Port())
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	copy(u[8:], payload)
	binary.BigEndian.PutUint16(u[6:], csum(u, pseudo(src.Addr(), dst.Addr(), 17, len(u))))
	return u
}

// icmpPacket builds an ICMP message (type, code, 4 bytes of rest) in an
// IPv4 packet.
func icmpPacket(src, dst netip.Addr, typ, code byte, rest uint32, body []byte) []byte {
	m := make([]byte, 8+len(body))
	m[0], m[1] = typ, code
	binary.BigEndian.PutUint32(m[4:], rest)
	copy(m[8:], body)
	binary.BigEndian.PutUint16(m[2:], csum(m, 0))
	return ipPacket(src, dst, 1, 0x1c3f, 0, false, m)
}

// seg is a parsed TCP segment the stack sent.
type seg struct {
	src, dst netip.AddrPort
	seq, ack uint32
	flags    byte
	payload  []byte
	opts     []byte
}

func parseTCP(p []byte) (seg, bool) {
	if len(p) >= 40 && p[0]>>4 == 6 {
		return parseTCP6(p)
	}
	if len(p) < 20 || p[0]>>4 != 4 || p[9] != 6 {
		return seg{}, false
	}
	ihl := int(p[0]&15) * 4
	tot := int(binary.BigEndian.Uint16(p[2:]))
	if tot > len(p) || ihl+20 > tot {
		return seg{}, false
	}
	t := p[ihl:tot]
	hl := int(t[12]>>4) * 4
	if hl < 20 || hl > len(t) {
		return seg{}, false
	}
	src := netip.AddrPortFrom(netip.AddrFrom4([4]byte(p[12:16])), binary.BigEndian.Uint16(t[0:]))
	dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte(p[16:20])), binary.BigEndian.Uint16(t[2:]))
	return seg{src: src, dst: dst, seq: binary.BigEndian.Uint32(t[4:]), ack: binary.BigEndian.Uint32(t[8:]),
		flags: t[13], payload: t[hl:], opts: t[20:hl]}, true
}

// tcpTo matches segments from the stack to dst.
func tcpTo(dst netip.AddrPort, also func(seg) bool) func([]byte) bool {
	return func(p []byte) bool {
		s, ok := parseTCP(p)
		return ok && s.dst == dst && (also == nil || also(s))
	}
}

// legit is the kernel's connection to the stack's echo server.
type legit struct {
	c     net.Conn
	local netip.AddrPort // the kernel's end
	n     int
}

func (h *hostile) dial(t *testing.T, timeout time.Duration) *legit {
	t.Helper()
	var c net.Conn
	err := tunInNetns(h.ns, func() (err error) {
		d := net.Dialer{Timeout: timeout}
		if h.eth == unix.ETH_P_IPV6 {
			c, err = d.Dial("tcp6", "["+stackIP6+"]:7")
			return err
		}
		c, err = d.Dial("tcp4", stackIP+":7")
		return err
	})
	if err != nil {
		t.Fatalf("kernel's connection to the stack: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &legit{c: c, local: c.LocalAddr().(*net.TCPAddr).AddrPort()}
}

// roundTrip sends a line and reads exactly it back: no injected byte may
// appear in the stream.
func (l *legit) roundTrip(t *testing.T) {
	t.Helper()
	l.n++
	msg := []byte(fmt.Sprintf("legitimate line %d\n", l.n))
	l.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := l.c.Write(msg); err != nil {
		t.Fatalf("legitimate connection: write: %v", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(l.c, got); err != nil {
		t.Fatalf("legitimate connection: read: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("legitimate connection: echo %q, want %q", got, msg)
	}
}

// state returns the stack's SND.NXT and RCV.NXT on the connection, from
// the last segment it sent the kernel, once the kernel has nothing
// unacknowledged.
func (h *hostile) state(t *testing.T, l *legit) (sndNxt, rcvNxt uint32) {
	t.Helper()
	time.Sleep(100 * time.Millisecond) // the delayed ACK of the last echo
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.seen) - 1; i >= 0; i-- {
		if s, ok := parseTCP(h.seen[i]); ok && s.dst == l.local {
			n := uint32(len(s.payload))
			if s.flags&(tcpSYN|tcpFIN) != 0 {
				n++
			}
			return s.seq + n, s.ack
		}
	}
	t.Fatal("no segment of the legitimate connection seen")
	return 0, 0
}

func TestHostilePacketsOverTUN(t *testing.T) {
	h := newHostile(t)
	stackEcho := netip.AddrPortFrom(stackAddr, 7)
	l := h.dial(t, 5*time.Second)
	l.roundTrip(t)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapAlloc

	t.Run("bad IP checksum and header", func(t *testing.T) {
		before := h.counters("ip.InHdrErrors", "icmp.InEchos", "icmp.OutParmProbs")
		echo := icmpPacket(kernelAddr, stackAddr, 8, 0, 0x7e570001, []byte("hostile"))
		bad := bytes.Clone(echo)
		bad[10] ^= 0xff // header checksum
		short := bytes.Clone(echo)
		short[0] = 0x44 // header length 16
		long := bytes.Clone(echo)
		binary.BigEndian.PutUint16(long[2:], 1400) // total length past the packet
		binary.BigEndian.PutUint16(long[10:], 0)
		binary.BigEndian.PutUint16(long[10:], csum(long[:20], 0))
		m := h.mark()
		h.send(t, bad, short, long)
		if n := len(h.since(m, 200*time.Millisecond, func(p []byte) bool { return len(p) > 20 && p[9] == 1 })); n != 0 {
			t.Errorf("%d ICMP answers to broken headers, want none (Linux drops them)", n)
		}
		h.grew(t, before, map[string]uint64{"ip.InHdrErrors": 3})
		// A malformed IP option (a record-route option claiming 40
		// bytes in a 4-byte option area): dropped, and answered with a
		// parameter problem pointing at it (byte 21), as Linux's
		// ip_options_compile does.
		opt := make([]byte, 24+len(echo)-20)
		copy(opt, echo[:20])
		copy(opt[24:], echo[20:])
		opt[0] = 0x46
		copy(opt[20:], []byte{1, 7, 40, 4})
		binary.BigEndian.PutUint16(opt[2:], uint16(len(opt)))
		binary.BigEndian.PutUint16(opt[10:], 0)
		binary.BigEndian.PutUint16(opt[10:], csum(opt[:24], 0))
		m = h.mark()
		h.send(t, opt)
		pp := h.since(m, 300*time.Millisecond, func(p []byte) bool { return len(p) > 28 && p[9] == 1 && p[20] == 12 })
		if len(pp) != 1 || pp[0][24] != 21 {
			t.Errorf("malformed IP option: %d parameter problems %x, want 1 pointing at byte 21", len(pp), pp)
		}
		h.grew(t, before, map[string]uint64{"ip.InHdrErrors": 4, "icmp.OutParmProbs": 1})
		// The same echo request with its header intact is answered.
		m = h.mark()
		h.send(t, echo)
		if n := len(h.since(m, 300*time.Millisecond, func(p []byte) bool { return len(p) > 20 && p[9] == 1 && p[20] == 0 })); n != 1 {
			t.Errorf("%d echo replies to a good request, want 1", n)
		}
		h.grew(t, before, map[string]uint64{"icmp.InEchos": 1})
		l.roundTrip(t)
	})

	t.Run("bad TCP checksum and option lengths", func(t *testing.T) {
		before := h.counters("tcp.InCsumErrors", "tcp.InBadOptions")
		from := netip.MustParseAddrPort("10.99.0.77:4242")
		syn := tcpPacket(from, stackEcho, 1000, 0, tcpSYN, 65535, nil, nil)
		syn[len(syn)-3] ^= 0x55 // inside the TCP checksum
		// An MSS option claiming 9 bytes in a 4-byte option area: Linux's
		// tcp_parse_options stops there and takes the SYN, with the
		// default MSS.
		badOpt := tcpPacket(netip.MustParseAddrPort("10.99.0.78:4242"), stackEcho, 2000, 0, tcpSYN, 65535, []byte{2, 9, 5, 0xb4}, nil)
		m := h.mark()
		h.send(t, syn, badOpt)
		if n := len(h.since(m, 300*time.Millisecond, tcpTo(from, nil))); n != 0 {
			t.Errorf("%d answers to a SYN with a bad checksum, want none", n)
		}
		sa := h.since(m, 0, tcpTo(netip.MustParseAddrPort("10.99.0.78:4242"), func(s seg) bool { return s.flags == tcpSYN|tcpACK && s.ack == 2001 }))
		if len(sa) == 0 {
			t.Errorf("no SYN-ACK to a SYN with a bad option length (Linux answers it)")
		}
		h.grew(t, before, map[string]uint64{"tcp.InCsumErrors": 1, "tcp.InBadOptions": 1})
		l.roundTrip(t)
	})

	// UDP datagrams from a kernel port to the stack's udp-echo.
	var ku *net.UDPConn
	if err := tunInNetns(h.ns, func() (err error) {
		ku, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(kernelIP), Port: 40000})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ku.Close()
	kuAddr := netip.AddrPortFrom(kernelAddr, 40000)
	udpEchoes := func(m int, d time.Duration, size int) int {
		return len(h.since(m, d, func(p []byte) bool {
			return len(p) >= 28 && p[9] == 17 && binary.BigEndian.Uint16(p[22:]) == 40000 && int(binary.BigEndian.Uint16(p[24:])) == 8+size
		}))
	}
	fragmented := func(id uint16, size int) [][]byte {
		data := bytes.Repeat([]byte{byte(id)}, size)
		u := udpPayload(kuAddr, netip.AddrPortFrom(stackAddr, 7), data)
		var out [][]byte
		for off := 0; off < len(u); off += 1480 {
			end := min(off+1480, len(u))
			out = append(out, ipPacket(kernelAddr, stackAddr, 17, id, off, end < len(u), u[off:end]))
		}
		return out
	}

	t.Run("overlapping fragments", func(t *testing.T) {
		before := h.counters("ip.ReasmFails", "ip.ReasmOKs")
		u := udpPayload(kuAddr, netip.AddrPortFrom(stackAddr, 7), bytes.Repeat([]byte("o"), 40))
		first := ipPacket(kernelAddr, stackAddr, 17, 0x0a01, 0, true, u[:24])
		overlap := ipPacket(kernelAddr, stackAddr, 17, 0x0a01, 16, false, append([]byte("XXXXXXXX"), u[24:]...))
		m := h.mark()
		h.send(t, first, overlap)
		if n := udpEchoes(m, 300*time.Millisecond, 40); n != 0 {
			t.Errorf("a datagram from overlapping fragments was delivered (%d echoes); Linux discards it", n)
		}
		h.grew(t, before, map[string]uint64{"ip.ReasmFails": 1})
		m = h.mark()
		h.send(t, fragmented(0x0a02, 3000)...)
		if n := udpEchoes(m, 300*time.Millisecond, 3000); n != 1 {
			t.Errorf("%d echoes of a good fragmented datagram, want 1", n)
		}
		h.grew(t, before, map[string]uint64{"ip.ReasmOKs": 1})
		l.roundTrip(t)
	})

	t.Run("fragment flood", func(t *testing.T) {
		// 1,000 first fragments that never complete (1.5 MB): the
		// oldest are evicted, the rest time out, nothing grows
		// without bound, and a good fragmented datagram still passes.
		before := h.counters("ip.ReasmReqds", "ip.ReasmFails", "ip.ReasmOKs")
		var flood [][]byte
		for i := range 1000 {
			flood = append(flood, fragmented(uint16(0x1000+i), 3000)[0])
		}
		h.send(t, flood...)
		time.Sleep(200 * time.Millisecond)
		m := h.mark()
		h.send(t, fragmented(0x0b01, 3000)...)
		if n := udpEchoes(m, 300*time.Millisecond, 3000); n != 1 {
			t.Errorf("after the flood: %d echoes of a good fragmented datagram, want 1", n)
		}
		h.grew(t, before, map[string]uint64{"ip.ReasmReqds": 1000, "ip.ReasmFails": 1000 - 256, "ip.ReasmOKs": 1})
		l.roundTrip(t)
	})

	// (This runs before the SYN flood: for two minutes after a
	// listener's SYN queue overflowed, an ACK that fits a SYN cookie
	// makes a new connection, on Linux as here; after an echo, the
	// kernel's next segment would.)
	t.Run("RST at RCV.NXT resets", func(t *testing.T) {
		before := h.counters("tcp.EstabResets")
		c := h.dial(t, 3*time.Second)
		c.roundTrip(t)
		_, rcv := h.state(t, c)
		h.send(t, tcpPacket(c.local, stackEcho, rcv, 0, tcpRST, 0, nil, nil))
		time.Sleep(100 * time.Millisecond)
		h.grew(t, before, map[string]uint64{"tcp.EstabResets": 1})
		// The kernel's next segment is answered with a RST.
		c.c.SetDeadline(time.Now().Add(5 * time.Second))
		c.c.Write([]byte("after the reset\n"))
		_, err := c.c.Read(make([]byte, 64))
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("kernel read after the stack's end was reset: %v, want ECONNRESET", err)
		}
		l.roundTrip(t)
	})

	t.Run("SYN flood", func(t *testing.T) {
		// 2,000 SYNs from spoofed addresses fill the SYN queue; SYN
		// cookies answer the rest, so a legitimate client still
		// connects at once, as on Linux (tcp_syncookies=1).
		before := h.counters("tcp.SyncookiesSent", "tcp.SyncookiesRecv")
		var flood [][]byte
		for i := range 2000 {
			src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 99, 0, byte(100 + i%100)}), uint16(20000+i))
			flood = append(flood, tcpPacket(src, stackEcho, uint32(i)*7919, 0, tcpSYN, 65535, []byte{2, 4, 5, 0xb4}, nil))
		}
		h.send(t, flood...)
		start := time.Now()
		c := h.dial(t, 3*time.Second)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("a legitimate connect during the flood took %v", d)
		}
		c.roundTrip(t)
		// The kernel's SYN had timestamps: the cookie SYN-ACK keeps
		// window scaling and SACK in its TSval, as Linux's would.
		sa := h.await(0, tcpTo(c.local, func(s seg) bool { return s.flags == tcpSYN|tcpACK }))
		if len(sa) != 1 {
			t.Fatalf("%d SYN-ACKs to the kernel's connection", len(sa))
		}
		s, _ := parseTCP(sa[0])
		kinds := map[byte]bool{}
		for o := s.opts; len(o) > 0; {
			if o[0] <= 1 {
				o = o[1:]
				continue
			}
			if len(o) < 2 || o[1] < 2 || int(o[1]) > len(o) {
				break
			}
			kinds[o[0]] = true
			o = o[o[1]:]
		}
		if !kinds[2] || !kinds[3] || !kinds[4] || !kinds[8] {
			t.Errorf("cookie SYN-ACK options %x: want MSS, window scale, SACK permitted and timestamps", s.opts)
		}
		// 256 KiB each way: more than an unscaled window.
		big := bytes.Repeat([]byte("0123456789abcdef"), 16<<10)
		c.c.SetDeadline(time.Now().Add(20 * time.Second))
		go c.c.Write(big)
		got := make([]byte, len(big))
		if _, err := io.ReadFull(c.c, got); err != nil || !bytes.Equal(got, big) {
			t.Errorf("256 KiB echo over the cookie connection: %v", err)
		}
		c.c.Close()
		h.grew(t, before, map[string]uint64{"tcp.SyncookiesSent": 1, "tcp.SyncookiesRecv": 1})
		l.roundTrip(t)
	})

	t.Run("RST, SYN and data injection (RFC 5961)", func(t *testing.T) {
		before := h.counters("tcp.ChallengeACKs", "tcp.DropOutOfWindow", "tcp.DropAckTooNew", "tcp.DropAckTooOld")
		snd, rcv := h.state(t, l)
		from := l.local
		challenge := func(s seg) bool { return s.flags == tcpACK && len(s.payload) == 0 && s.seq == snd && s.ack == rcv }
		expectAnswers := func(what string, want int, pkt []byte) {
			t.Helper()
			m := h.mark()
			h.send(t, pkt)
			if got := len(h.since(m, 200*time.Millisecond, tcpTo(from, challenge))); got != want {
				t.Errorf("%s: %d ACKs, want %d", what, got, want)
			}
			time.Sleep(400 * time.Millisecond) // past the 500 ms per-connection limit
		}
		expectAnswers("RST in the window, not at RCV.NXT (challenge ACK)", 1,
			tcpPacket(from, stackEcho, rcv+1000, 0, tcpRST, 0, nil, nil))
		expectAnswers("RST outside the window (ignored)", 0,
			tcpPacket(from, stackEcho, rcv+1<<30, 0, tcpRST, 0, nil, nil))
		expectAnswers("SYN in the window (challenge ACK)", 1,
			tcpPacket(from, stackEcho, rcv+10, 0, tcpSYN, 65535, nil, nil))
		expectAnswers("data outside the window (duplicate ACK)", 1,
			tcpPacket(from, stackEcho, rcv+1<<30, snd, tcpACK|tcpPSH, 65535, nil, []byte("injected-1\n")))
		expectAnswers("data acknowledging what was never sent (dropped, challenge ACK as Linux)", 1,
			tcpPacket(from, stackEcho, rcv, snd+1<<20, tcpACK|tcpPSH, 65535, nil, []byte("injected-2\n")))
		expectAnswers("data with an ACK older than the window (challenge ACK)", 1,
			tcpPacket(from, stackEcho, rcv, snd-1<<30, tcpACK|tcpPSH, 65535, nil, []byte("injected-3\n")))
		h.grew(t, before, map[string]uint64{"tcp.ChallengeACKs": 4, "tcp.DropOutOfWindow": 2, "tcp.DropAckTooNew": 1, "tcp.DropAckTooOld": 1})
		l.roundTrip(t) // and no injected byte came back
	})

	t.Run("ACK storm", func(t *testing.T) {
		before := h.counters("tcp.DropOutOfWindow", "tcp.DropAckTooNew")
		snd, rcv := h.state(t, l)
		from := l.local
		var oow, unsent [][]byte
		for i := range 2000 {
			oow = append(oow, tcpPacket(from, stackEcho, rcv+1<<30+uint32(i), snd, tcpACK, 65535, nil, nil))
			unsent = append(unsent, tcpPacket(from, stackEcho, rcv, snd+1<<20+uint32(i), tcpACK, 65535, nil, nil))
		}
		m := h.mark()
		h.send(t, oow...)
		if n := len(h.since(m, 200*time.Millisecond, tcpTo(from, nil))); n > 3 {
			t.Errorf("2,000 out-of-window ACKs: %d answers, want one per 500 ms", n)
		}
		time.Sleep(500 * time.Millisecond)
		m = h.mark()
		h.send(t, unsent...)
		if n := len(h.since(m, 200*time.Millisecond, tcpTo(from, nil))); n > 3 {
			t.Errorf("2,000 ACKs of unsent data: %d answers, want one challenge ACK per 500 ms", n)
		}
		h.grew(t, before, map[string]uint64{"tcp.DropOutOfWindow": 2000, "tcp.DropAckTooNew": 2000})
		l.roundTrip(t)
	})

	t.Run("forged ICMP errors (RFC 5927)", func(t *testing.T) {
		before := h.counters("tcp.OutOfWindowICMPs", "icmp.InErrors", "icmp.InDestUnreachs")
		snd, _ := h.state(t, l)
		// The segment each error quotes: the stack's, with a sequence
		// number far outside what it has in flight.
		quote := tcpPacket(netip.AddrPortFrom(stackAddr, 7), l.local, snd+1<<30, 0, tcpACK, 0, nil, nil)[:28]
		portUnreach := icmpPacket(kernelAddr, stackAddr, 3, 3, 0, quote)
		fragNeeded := icmpPacket(kernelAddr, stackAddr, 3, 4, 68, quote)
		truncated := icmpPacket(kernelAddr, stackAddr, 3, 3, 0, quote[:22])
		h.send(t, portUnreach, fragNeeded, truncated)
		time.Sleep(200 * time.Millisecond)
		h.grew(t, before, map[string]uint64{"tcp.OutOfWindowICMPs": 2, "icmp.InErrors": 1, "icmp.InDestUnreachs": 3})
		// Segments keep their full size: the forged MTU was not taken.
		big := bytes.Repeat([]byte("m"), 1400)
		m := h.mark()
		l.c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := l.c.Write(big); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(l.c, make([]byte, len(big))); err != nil {
			t.Fatal(err)
		}
		for _, p := range h.since(m, 0, tcpTo(l.local, nil)) {
			if s, _ := parseTCP(p); len(s.payload) > 0 && len(s.payload) < 1400 {
				t.Errorf("a %d-byte segment after a forged MTU of 68: the error was taken", len(s.payload))
				break
			}
		}
		l.roundTrip(t)
	})

	// Bounded: the Go heap after the attacks is within a few MB of
	// before (the reassembly queue is at most 4 MiB). Two collections:
	// the first moves the free TCP buffers pooled for reuse (sync.Pool)
	// to its victim cache, the second frees those, so that what is left
	// is what the stack still holds.
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	if grew := int64(ms.HeapAlloc) - int64(heapBefore); grew > 24<<20 {
		t.Errorf("heap grew by %d MB during the attacks", grew>>20)
	}
	if t.Failed() {
		var b strings.Builder
		h.WriteCounters(&b)
		t.Log(b.String())
	}
}
