package stack_test

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"stacklab/stack"
	"stacklab/stack/wire"
)

// TestIPv4OptionSemantics: echo requests carrying IP options, answered
// as Linux 6.18 answered the same packets (sent with a raw socket to
// 127.0.0.1 in a fresh namespace): a source route is dropped without an
// answer and counted (accept_source_route=0); a bad pointer, a repeated
// option or a full timestamp whose overflow count is 15 gets a parameter
// problem pointing where Linux's did, counted in ip.InHdrErrors; a
// record route or timestamp that is well formed, full or not, is taken.
func TestIPv4OptionSemantics(t *testing.T) {
	echo := func(opts []byte) []byte {
		b := make([]byte, 20+len(opts)+8+5)
		ip := wire.IPv4(b)
		ip.Encode(&wire.IPv4Fields{TotalLen: uint16(len(b)), ID: 9, TTL: 64, Protocol: wire.ProtoICMP,
			Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")})
		b[0] = 0x40 | byte((20+len(opts))/4)
		copy(b[20:], opts)
		m := wire.ICMPv4(b[20+len(opts):])
		m.Encode(&wire.ICMPv4Fields{Type: wire.ICMPEcho, Rest: 0x00420001})
		copy(m[8:], "probe")
		m.SetChecksum()
		ip.SetChecksum()
		return b
	}
	for _, c := range []struct {
		name    string
		opts    []byte
		pointer int // parameter problem's pointer; 0: an echo reply; -1: nothing
	}{
		{"lsrr", []byte{131, 7, 4, 127, 0, 0, 1, 0}, -1},
		{"ssrr", []byte{137, 7, 4, 127, 0, 0, 1, 0}, -1},
		{"rr pointer 3", []byte{7, 7, 3, 0, 0, 0, 0, 0}, 22},
		{"rr with room", []byte{7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0},
		{"rr full", []byte{7, 7, 8, 1, 2, 3, 4, 0}, 0},
		{"ts pointer 4", []byte{68, 8, 4, 0, 0, 0, 0, 0}, 22},
		{"ts flag 2", []byte{68, 8, 5, 2, 0, 0, 0, 0}, 0},
		{"ts full", []byte{68, 8, 9, 0, 0, 0, 0, 0}, 0},
		{"ts full, overflow 15", []byte{68, 8, 9, 0xf0, 0, 0, 0, 0}, 23},
		{"router alert of 3", []byte{148, 3, 0, 0}, 21},
		{"two rr", []byte{7, 3, 4, 7, 3, 4, 0, 0}, 23},
	} {
		clock, nic, out := rawStack(t)
		s := nic.Stack()
		nic.Deliver(stack.Packet{ID: 1, Data: echo(c.opts)})
		clock.RunFor(10 * time.Millisecond)
		var got []string
		pointer := -1
		for _, p := range *out {
			ip := wire.IPv4(p)
			if ip.Protocol() != wire.ProtoICMP {
				continue
			}
			m := ip.Payload()
			switch m[0] {
			case wire.ICMPEchoReply:
				pointer = 0
			case wire.ICMPParamProblem:
				pointer = int(binary.BigEndian.Uint32(m[4:]) >> 24)
			}
			got = append(got, string(rune('0'+m[0])))
		}
		if pointer != c.pointer || len(got) > 1 {
			t.Errorf("%s: answers %q, pointer %d, want %d", c.name, got, pointer, c.pointer)
		}
		switch {
		case c.pointer > 0 && counter(t, s, "ip.InHdrErrors") != 1:
			t.Errorf("%s: ip.InHdrErrors %d", c.name, counter(t, s, "ip.InHdrErrors"))
		case c.pointer < 0 && counter(t, s, "ip.InSrcRouteDrops") != 1:
			t.Errorf("%s: ip.InSrcRouteDrops %d", c.name, counter(t, s, "ip.InSrcRouteDrops"))
		case c.pointer == 0 && counter(t, s, "icmp.InEchos") != 1:
			t.Errorf("%s: icmp.InEchos %d", c.name, counter(t, s, "icmp.InEchos"))
		}
	}
}
