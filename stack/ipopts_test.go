package stack_test

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"stacklab/sim"
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

// echoWith is an echo request from 10.0.0.1 to dst carrying opts.
func echoWith(dst string, opts []byte) []byte {
	b := make([]byte, 20+len(opts)+8+5)
	ip := wire.IPv4(b)
	ip.Encode(&wire.IPv4Fields{TotalLen: uint16(len(b)), ID: 9, TTL: 64, Protocol: wire.ProtoICMP, HeaderLen: uint8(20 + len(opts)),
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr(dst)})
	copy(b[20:], opts)
	m := wire.ICMPv4(b[20+len(opts):])
	m.Encode(&wire.ICMPv4Fields{Type: wire.ICMPEcho, Rest: 0x00420001})
	copy(m[8:], "probe")
	m.SetChecksum()
	ip.SetChecksum()
	return b
}

// TestIPv4RecordRouteAndTimestamp: a host fills in an echo request's
// record route and timestamp on arrival and returns them in its reply
// with one more entry of its own, as Linux 6.18 (ping -R from another
// namespace: sender, target, target, sender; internal/tunapp's
// TestIPOptionsOverTUN checks the same against the kernel's ping). A
// request whose option has part of a slot left gets no reply, as on
// Linux (ip_options_echo fails).
func TestIPv4RecordRouteAndTimestamp(t *testing.T) {
	me := []byte{10, 0, 0, 2}
	ts := func(ms uint32) []byte { return binary.BigEndian.AppendUint32(nil, ms) }
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	zero := make([]byte, 40)
	for _, c := range []struct {
		name       string
		opts, want []byte // want: the reply's options; nil: no reply
	}{
		// The sender's own entry is in; room for two more.
		{"rr", cat([]byte{7, 15, 8, 10, 0, 0, 1}, zero[:8], []byte{0}), cat([]byte{7, 15, 16, 10, 0, 0, 1}, me, me, []byte{0})},
		// Room for our entry on arrival only: the reply copies it, full.
		{"rr one slot", []byte{7, 7, 4, 0, 0, 0, 0, 0}, []byte{7, 7, 8, 10, 0, 0, 2, 0}},
		// Nine bytes: after our entry one byte is left, not a slot.
		{"rr partial slot", cat([]byte{7, 9, 4}, zero[:6], zero[:3]), nil},
		{"ts only", cat([]byte{68, 12, 5, 0}, zero[:8]), cat([]byte{68, 12, 13, 0}, ts(1234), ts(1234))},
		{"ts and addr", cat([]byte{68, 20, 5, 1}, zero[:16]), cat([]byte{68, 20, 21, 1}, me, ts(1234), me, ts(1234))},
		// Prespecified: only the slots naming us get a time.
		{"ts prespec", cat([]byte{68, 20, 5, 3}, me, zero[:4], []byte{10, 0, 0, 9}, zero[:4]), cat([]byte{68, 20, 13, 3}, me, ts(1234), []byte{10, 0, 0, 9}, zero[:4])},
		// Full: one more host counted in the overflow, twice.
		{"ts full", []byte{68, 8, 9, 0x10, 0, 0, 0, 1}, []byte{68, 8, 9, 0x20, 0, 0, 0, 1}},
		// Other options are not returned.
		{"router alert", []byte{148, 4, 0, 0}, nil},
	} {
		clock, nic, out := rawStack(t)
		clock.RunFor(1234 * time.Millisecond)
		nic.Deliver(stack.Packet{ID: 1, Data: echoWith("10.0.0.2", c.opts)})
		clock.RunFor(10 * time.Millisecond)
		var reply wire.IPv4
		for _, p := range *out {
			if ip := wire.IPv4(p); ip.Protocol() == wire.ProtoICMP && ip.Payload()[0] == wire.ICMPEchoReply {
				reply = ip
			}
		}
		switch {
		case c.name == "router alert":
			if reply == nil || reply.HeaderLen() != 20 {
				t.Errorf("%s: reply %x, want one without options", c.name, reply)
			}
		case c.want == nil:
			if reply != nil {
				t.Errorf("%s: replied %x, want no reply", c.name, reply)
			}
			if counter(t, nic.Stack(), "icmp.InIgnored") != 1 || counter(t, nic.Stack(), "icmp.OutEchoReps") != 0 {
				t.Errorf("%s: icmp.InIgnored %d icmp.OutEchoReps %d, want 1 0", c.name, counter(t, nic.Stack(), "icmp.InIgnored"), counter(t, nic.Stack(), "icmp.OutEchoReps"))
			}
		case reply == nil:
			t.Errorf("%s: no reply", c.name)
		default:
			got := reply.Options()
			want := append([]byte(nil), c.want...)
			for len(want)%4 != 0 {
				want = append(want, 0)
			}
			if string(got) != string(want) {
				t.Errorf("%s: reply options\n got %v\nwant %v", c.name, got, want)
			}
			if _, err := wire.ParseIPv4(reply); err != nil {
				t.Errorf("%s: reply does not parse: %v", c.name, err)
			}
		}
	}
}

// TestIPv4RecordRouteForwarded: a router writes the address of the
// interface it forwards out of into the record route, and the time and
// the address it arrived on into the timestamp (Linux 6.18 through a
// namespace router: ping -R lists the router's far address going out,
// ping -T tsandaddr its near one).
func TestIPv4RecordRouteForwarded(t *testing.T) {
	clock := sim.NewClock(time.Unix(0, 0))
	s := stack.New(stack.Options{Name: "r", Clock: clock, Rand: rand.New(rand.NewPCG(1, 2)), Forwarding: true})
	var out [][]byte
	add := func(name, addr string, sink *[][]byte) *stack.NIC {
		nic, err := s.AddNIC(stack.NICConfig{Name: name, Type: stack.LinkRawIP, Addr: netip.MustParsePrefix(addr)},
			stack.LinkFunc(func(p stack.Packet) {
				if sink != nil {
					*sink = append(*sink, append([]byte(nil), p.Data...))
				}
			}))
		if err != nil {
			t.Fatal(err)
		}
		return nic
	}
	in := add("tun0", "10.0.0.2/24", nil)
	add("tun1", "10.1.0.2/24", &out)
	clock.RunFor(1234 * time.Millisecond)
	rr := []byte{7, 11, 8, 10, 0, 0, 1, 0, 0, 0, 0, 1} // and a NOP
	tsa := []byte{68, 12, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0}
	in.Deliver(stack.Packet{ID: 1, Data: echoWith("10.1.0.1", append(rr, tsa...))})
	clock.RunFor(10 * time.Millisecond)
	if len(out) != 1 {
		t.Fatalf("%d packets forwarded, want 1", len(out))
	}
	ip, err := wire.ParseIPv4(out[0])
	if err != nil {
		t.Fatalf("forwarded packet: %v", err)
	}
	want := []byte{7, 11, 12, 10, 0, 0, 1, 10, 1, 0, 2, 1, 68, 12, 13, 1, 10, 0, 0, 2, 0, 0, 0x04, 0xd2}
	if got := ip.Options(); string(got) != string(want) {
		t.Errorf("forwarded options\n got %v\nwant %v", got, want)
	}
}
