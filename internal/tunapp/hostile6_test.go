package tunapp

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The hostile-packet suite over IPv6: the same kind of attacks as
// TestHostilePacketsOverTUN, written as raw IPv6 packets into the TUN
// device of a stack run with --addr6, against a kernel connection made
// over IPv6 first.

var (
	stackAddr6  = netip.MustParseAddr(stackIP6)
	kernelAddr6 = netip.MustParseAddr(kernelIP6)
)

// ip6Packet builds an IPv6 packet (hop limit 64).
func ip6Packet(src, dst netip.Addr, nh byte, payload []byte) []byte {
	p := make([]byte, 40+len(payload))
	p[0] = 0x60
	binary.BigEndian.PutUint16(p[4:], uint16(len(payload)))
	p[6] = nh
	p[7] = 64
	s, d := src.As16(), dst.As16()
	copy(p[8:], s[:])
	copy(p[24:], d[:])
	copy(p[40:], payload)
	return p
}

func pseudo6(src, dst netip.Addr, proto byte, n int) uint32 {
	s, d := src.As16(), dst.As16()
	var sum uint32
	for i := 0; i < 16; i += 2 {
		sum += uint32(s[i])<<8 | uint32(s[i+1])
		sum += uint32(d[i])<<8 | uint32(d[i+1])
	}
	return sum + uint32(proto) + uint32(n>>16) + uint32(n&0xffff)
}

// tcpSegment6 builds a TCP segment with a good IPv6 checksum.
func tcpSegment6(src, dst netip.AddrPort, seq, ack uint32, flags byte, wnd uint16, opts, payload []byte) []byte {
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
	binary.BigEndian.PutUint16(s[16:], csum(s, pseudo6(src.Addr(), dst.Addr(), 6, len(s))))
	return s
}

func tcpPacket6(src, dst netip.AddrPort, seq, ack uint32, flags byte, wnd uint16, opts, payload []byte) []byte {
	return ip6Packet(src.Addr(), dst.Addr(), 6, tcpSegment6(src, dst, seq, ack, flags, wnd, opts, payload))
}

// icmp6Packet builds an ICMPv6 message in an IPv6 packet.
func icmp6Packet(src, dst netip.Addr, typ, code byte, rest uint32, body []byte) []byte {
	m := make([]byte, 8+len(body))
	m[0], m[1] = typ, code
	binary.BigEndian.PutUint32(m[4:], rest)
	copy(m[8:], body)
	binary.BigEndian.PutUint16(m[2:], csum(m, pseudo6(src, dst, 58, len(m))))
	return ip6Packet(src, dst, 58, m)
}

// parseTCP6 parses a TCP segment (no extension headers) the stack sent.
func parseTCP6(p []byte) (seg, bool) {
	if len(p) < 60 || p[6] != 6 {
		return seg{}, false
	}
	t := p[40:]
	if n := int(binary.BigEndian.Uint16(p[4:])); n <= len(t) {
		t = t[:n]
	}
	hl := int(t[12]>>4) * 4
	if hl < 20 || hl > len(t) {
		return seg{}, false
	}
	src := netip.AddrPortFrom(netip.AddrFrom16([16]byte(p[8:24])), binary.BigEndian.Uint16(t[0:]))
	dst := netip.AddrPortFrom(netip.AddrFrom16([16]byte(p[24:40])), binary.BigEndian.Uint16(t[2:]))
	return seg{src: src, dst: dst, seq: binary.BigEndian.Uint32(t[4:]), ack: binary.BigEndian.Uint32(t[8:]),
		flags: t[13], payload: t[hl:], opts: t[20:hl]}, true
}

// icmp6From matches ICMPv6 messages of type typ the stack sent.
func icmp6From(typ byte) func([]byte) bool {
	return func(p []byte) bool { return len(p) >= 48 && p[0]>>4 == 6 && p[6] == 58 && p[40] == typ }
}

func TestHostilePacketsOverTUN6(t *testing.T) {
	h := newHostileFamily(t, Options{Addr6: netip.MustParsePrefix(stackIP6 + "/64"), PeerAddr6: netip.MustParsePrefix(kernelIP6 + "/64")}, unix.ETH_P_IPV6)
	stackEcho := netip.AddrPortFrom(stackAddr6, 7)
	l := h.dial(t, 5*time.Second)
	l.roundTrip(t)
	if !l.local.Addr().Is6() || l.local.Addr().Is4In6() {
		t.Fatalf("the legitimate connection is not over IPv6: %v", l.local)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapAlloc

	t.Run("bad IPv6 headers and options", func(t *testing.T) {
		before := h.counters("ip6.InHdrErrors", "ip6.InTruncatedPkts", "ip6.InUnknownProtos", "icmp6.OutParmProblems", "icmp6.InEchos", "icmp6.InErrors")
		echo := icmp6Packet(kernelAddr6, stackAddr6, 128, 0, 0x7e570001, []byte("hostile"))
		long := bytes.Clone(echo)
		binary.BigEndian.PutUint16(long[4:], 1400) // payload length past the packet
		badSum := bytes.Clone(echo)
		badSum[42] ^= 0xff
		m := h.mark()
		h.send(t, long, badSum)
		if n := len(h.since(m, 200*time.Millisecond, func(p []byte) bool { return len(p) > 40 && p[6] == 58 })); n != 0 {
			t.Errorf("%d ICMPv6 answers to a truncated packet and a bad checksum, want none (Linux drops them)", n)
		}
		if got := h.counter("ip6.InHdrErrors") + h.counter("ip6.InTruncatedPkts") - before["ip6.InHdrErrors"] - before["ip6.InTruncatedPkts"]; got < 1 {
			t.Errorf("a truncated packet was not counted (ip6.InHdrErrors + ip6.InTruncatedPkts grew by %d)", got)
		}
		h.grew(t, before, map[string]uint64{"icmp6.InErrors": 1})
		// An unknown next header: Parameter Problem code 1 pointing at
		// the Next Header field (byte 6), as Linux's ip6_input_finish.
		m = h.mark()
		h.send(t, ip6Packet(kernelAddr6, stackAddr6, 253, []byte("experimental")))
		pp := h.since(m, 300*time.Millisecond, icmp6From(4))
		if len(pp) != 1 || pp[0][41] != 1 || binary.BigEndian.Uint32(pp[0][44:]) != 6 {
			t.Errorf("unknown next header: %d parameter problems %x, want 1 of code 1 pointing at byte 6", len(pp), pp)
		}
		// A destination option of an unknown type whose top bits say
		// "discard and send a Parameter Problem" (RFC 8200 §4.2): code 2
		// pointing at the option (byte 42), as Linux's ip6_tlvopt_unknown.
		time.Sleep(300 * time.Millisecond) // ICMPv6 errors are rate limited
		icmpEcho := echo[40:]
		dopt := append([]byte{58, 0, 0x9e, 4, 0, 0, 0, 0}, icmpEcho...)
		m = h.mark()
		h.send(t, ip6Packet(kernelAddr6, stackAddr6, 60, dopt))
		pp = h.since(m, 300*time.Millisecond, icmp6From(4))
		if len(pp) != 1 || pp[0][41] != 2 || binary.BigEndian.Uint32(pp[0][44:]) != 42 {
			t.Errorf("unknown destination option: %d parameter problems %x, want 1 of code 2 pointing at byte 42", len(pp), pp)
		}
		h.grew(t, before, map[string]uint64{"ip6.InUnknownProtos": 1, "ip6.InHdrErrors": 1, "icmp6.OutParmProblems": 2})
		// A chain of 100 destination-options headers: dropped at once
		// (the walk is bounded), the stack stays up.
		var chain []byte
		for range 100 {
			chain = append(chain, 60, 0, 1, 4, 0, 0, 0, 0)
		}
		chain[len(chain)-8] = 58
		m = h.mark()
		h.send(t, ip6Packet(kernelAddr6, stackAddr6, 60, append(chain, icmpEcho...)))
		if n := len(h.since(m, 200*time.Millisecond, icmp6From(129))); n != 0 {
			t.Errorf("an echo behind 100 extension headers was answered")
		}
		// The same echo request intact is answered.
		time.Sleep(300 * time.Millisecond)
		m = h.mark()
		h.send(t, echo)
		if n := len(h.since(m, 300*time.Millisecond, icmp6From(129))); n != 1 {
			t.Errorf("%d echo replies to a good request, want 1", n)
		}
		h.grew(t, before, map[string]uint64{"icmp6.InEchos": 1})
		l.roundTrip(t)
	})

	t.Run("fragment flood", func(t *testing.T) {
		// 1,000 first fragments of datagrams that never complete
		// (1.4 MB): reassembly keeps 256 datagrams, evicting the oldest
		// (each counted), and the rest time out after 60 s; nothing
		// grows without bound.
		before := h.counters("ip6.ReasmReqds", "ip6.ReasmFails")
		var flood [][]byte
		for i := range 1000 {
			frag := make([]byte, 8+1400)
			frag[0] = 17
			binary.BigEndian.PutUint16(frag[2:], 1) // offset 0, more fragments
			binary.BigEndian.PutUint32(frag[4:], uint32(0x6000+i))
			flood = append(flood, ip6Packet(kernelAddr6, stackAddr6, 44, frag))
		}
		h.send(t, flood...)
		time.Sleep(200 * time.Millisecond)
		h.grew(t, before, map[string]uint64{"ip6.ReasmReqds": 1000, "ip6.ReasmFails": 1000 - 256})
		l.roundTrip(t)
	})

	t.Run("SYN flood", func(t *testing.T) {
		before := h.counters("tcp.SyncookiesSent", "tcp.SyncookiesRecv")
		var flood [][]byte
		for i := range 2000 {
			a := kernelAddr6.As16()
			a[12], a[13], a[14], a[15] = 0, 1, byte(i>>8), byte(i)
			src := netip.AddrPortFrom(netip.AddrFrom16(a), uint16(20000+i))
			flood = append(flood, tcpPacket6(src, stackEcho, uint32(i)*7919, 0, tcpSYN, 65535, []byte{2, 4, 5, 0xa0}, nil))
		}
		h.send(t, flood...)
		start := time.Now()
		c := h.dial(t, 3*time.Second)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("a legitimate connect during the flood took %v", d)
		}
		c.roundTrip(t)
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
		before := h.counters("tcp.ChallengeACKs", "tcp.SynChallenges", "tcp.DropOutOfWindow", "tcp.DropAckTooNew", "tcp.DropAckTooOld")
		snd, rcv := h.state(t, l)
		from := l.local
		challenge := func(s seg) bool { return s.flags == tcpACK && len(s.payload) == 0 && s.seq == snd && s.ack == rcv }
		expectAnswers := func(what string, want int, pkt []byte) {
			t.Helper()
			m := h.mark()
			h.send(t, pkt)
			if got := len(h.since(m, 300*time.Millisecond, tcpTo(from, challenge))); got != want {
				t.Errorf("%s: %d ACKs, want %d", what, got, want)
			}
			time.Sleep(300 * time.Millisecond) // past the 500 ms per-connection limit
		}
		expectAnswers("RST in the window, not at RCV.NXT (challenge ACK)", 1,
			tcpPacket6(from, stackEcho, rcv+1000, 0, tcpRST, 0, nil, nil))
		expectAnswers("RST outside the window (ignored)", 0,
			tcpPacket6(from, stackEcho, rcv+1<<30, 0, tcpRST, 0, nil, nil))
		expectAnswers("SYN in the window (challenge ACK)", 1,
			tcpPacket6(from, stackEcho, rcv+10, 0, tcpSYN, 65535, nil, nil))
		expectAnswers("SYN outside the window (challenge ACK)", 1,
			tcpPacket6(from, stackEcho, rcv+1<<30, 0, tcpSYN, 65535, nil, nil))
		expectAnswers("data outside the window (duplicate ACK)", 1,
			tcpPacket6(from, stackEcho, rcv+1<<30, snd, tcpACK|tcpPSH, 65535, nil, []byte("injected-1\n")))
		expectAnswers("data acknowledging what was never sent (challenge ACK)", 1,
			tcpPacket6(from, stackEcho, rcv, snd+1<<20, tcpACK|tcpPSH, 65535, nil, []byte("injected-2\n")))
		h.grew(t, before, map[string]uint64{"tcp.ChallengeACKs": 4, "tcp.SynChallenges": 2, "tcp.DropOutOfWindow": 2, "tcp.DropAckTooNew": 1})
		l.roundTrip(t)
	})

	t.Run("SYN and ACK storm", func(t *testing.T) {
		before := h.counters("tcp.SynChallenges", "tcp.DropChallengeLimit", "tcp.AckSkippedSeq")
		snd, rcv := h.state(t, l)
		from := l.local
		var storm [][]byte
		for i := range 2000 {
			storm = append(storm, tcpPacket6(from, stackEcho, rcv+1<<30+uint32(i), snd, tcpACK, 65535, nil, nil),
				tcpPacket6(from, stackEcho, rcv+1<<30+uint32(i), 0, tcpSYN, 65535, nil, nil))
		}
		m := h.mark()
		start := time.Now()
		h.send(t, storm...)
		n := len(h.since(m, 200*time.Millisecond, tcpTo(from, nil)))
		if limit := int(time.Since(start)/(500*time.Millisecond)) + 2; n > limit {
			t.Errorf("4,000 out-of-window ACKs and SYNs: %d answers, want at most one per 500 ms (%d)", n, limit)
		}
		h.grew(t, before, map[string]uint64{"tcp.SynChallenges": 2000, "tcp.DropChallengeLimit": 1900, "tcp.AckSkippedSeq": 1900})
		time.Sleep(500 * time.Millisecond)
		l.roundTrip(t)
	})

	t.Run("forged ICMPv6 errors (RFC 5927)", func(t *testing.T) {
		before := h.counters("tcp.OutOfWindowICMPs", "icmp6.InPktTooBigs", "icmp6.InDestUnreachs")
		snd, _ := h.state(t, l)
		quote := func(seq uint32) []byte {
			return tcpPacket6(netip.AddrPortFrom(stackAddr6, 7), l.local, seq, 0, tcpACK, 0, nil, nil)[:48]
		}
		far := quote(snd + 1<<30)
		h.send(t, icmp6Packet(kernelAddr6, stackAddr6, 1, 4, 0, far), // port unreachable
			icmp6Packet(kernelAddr6, stackAddr6, 2, 0, 600, far)) // packet too big
		time.Sleep(200 * time.Millisecond)
		h.grew(t, before, map[string]uint64{"tcp.OutOfWindowICMPs": 2, "icmp6.InPktTooBigs": 1, "icmp6.InDestUnreachs": 1})
		big := bytes.Repeat([]byte("m"), 1400)
		echo := func() [][]byte {
			m := h.mark()
			l.c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := l.c.Write(big); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(l.c, make([]byte, len(big))); err != nil {
				t.Fatal(err)
			}
			return h.since(m, 100*time.Millisecond, tcpTo(l.local, func(s seg) bool { return len(s.payload) > 0 }))
		}
		for _, p := range echo() {
			if s, _ := parseTCP(p); len(s.payload) < 1400 {
				t.Errorf("a %d-byte segment after a forged Packet Too Big: the error was taken", len(s.payload))
				break
			}
		}
		// A Packet Too Big quoting a sequence number in flight, with an
		// MTU of 500: taken, but never below IPv6's 1280 (RFC 8200 §5).
		snd, _ = h.state(t, l)
		h.send(t, icmp6Packet(kernelAddr6, stackAddr6, 2, 0, 500, quote(snd)))
		time.Sleep(100 * time.Millisecond)
		largest := 0
		for _, p := range echo() {
			if s, _ := parseTCP(p); len(s.payload) > largest {
				largest = len(s.payload)
			}
			if len(p) > 1280 {
				t.Errorf("a %d-byte packet after Packet Too Big 500 (floor 1280)", len(p))
				break
			}
		}
		// 1280 − 40 (IPv6) − 20 (TCP) − 12 (timestamps) = 1208.
		if largest != 1208 {
			t.Errorf("largest segment %d bytes after Packet Too Big 500, want 1208 (the 1280-byte floor)", largest)
		}
		l.roundTrip(t)
	})

	// Two collections, as in TestHostilePacketsOverTUN: pooled free TCP
	// buffers go at the second.
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
