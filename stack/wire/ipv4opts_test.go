package wire

import (
	"bytes"
	"net/netip"
	"testing"
)

// TestIPv4OptionProblem: each case was sent to Linux 6.18 (an echo request
// with the options, raw socket to 127.0.0.1 in a fresh namespace): the
// parameter problems point where Linux's did, and the packets Linux
// answered pass.
func TestIPv4OptionProblem(t *testing.T) {
	for _, c := range []struct {
		name    string
		opts    []byte
		pointer int
		srr     bool
	}{
		{"lsrr (Linux drops, no answer)", []byte{131, 7, 4, 127, 0, 0, 1, 0}, -1, true},
		{"rr pointer 3", []byte{7, 7, 3, 0, 0, 0, 0, 0}, 22, false},
		{"rr with room", []byte{7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0}, -1, false},
		{"rr full", []byte{7, 7, 8, 1, 2, 3, 4, 0}, -1, false},
		{"ts pointer 4", []byte{68, 8, 4, 0, 0, 0, 0, 0}, 22, false},
		{"ts flag 2 (Linux answers)", []byte{68, 8, 5, 2, 0, 0, 0, 0}, -1, false},
		{"ts full", []byte{68, 8, 9, 0, 0, 0, 0, 0}, -1, false},
		{"ts full, overflow 15", []byte{68, 8, 9, 0xf0, 0, 0, 0, 0}, 23, false},
		{"router alert of 3", []byte{148, 3, 0, 0}, 21, false},
		{"two rr", []byte{7, 3, 4, 7, 3, 4, 0, 0}, 23, false},
		{"ts and address without room", []byte{68, 8, 5, 1, 0, 0, 0, 0}, 22, false},
		{"two lsrr", []byte{131, 3, 4, 137, 3, 4, 0, 0}, 23, true},
	} {
		b := make([]byte, 20+len(c.opts))
		ip := IPv4(b)
		ip.Encode(&IPv4Fields{TotalLen: uint16(len(b)), TTL: 64, Protocol: ProtoICMP,
			Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")})
		b[0] = 0x40 | byte(len(b)/4)
		copy(b[20:], c.opts)
		ip.SetChecksum()
		if _, err := ParseIPv4(b); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		p, srr := ip.IPv4OptionProblem()
		if p != c.pointer || srr != c.srr {
			t.Errorf("%s: pointer %d source route %v, want %d %v", c.name, p, srr, c.pointer, c.srr)
		}
	}
}

// FuzzIPv4RecordOptions: any option list IPv4OptionProblem accepts can be
// filled in on arrival, forwarded, echoed and built without a panic, and
// the echoed options fit a header and their lengths parse.
func FuzzIPv4RecordOptions(f *testing.F) {
	f.Add([]byte{7, 15, 8, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{68, 20, 5, 3, 10, 0, 0, 2, 0, 0, 0, 0, 10, 0, 0, 9, 0, 0, 0, 0})
	f.Add([]byte{68, 8, 9, 0x10, 0, 0, 0, 1, 7, 7, 4, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, opts []byte) {
		if len(opts) > 40 {
			opts = opts[:40]
		}
		for len(opts)%4 != 0 {
			opts = append(opts, 0)
		}
		b := make(IPv4, 20+len(opts)+8)
		b.Encode(&IPv4Fields{TotalLen: uint16(len(b)), TTL: 64, Protocol: ProtoICMP, HeaderLen: uint8(20 + len(opts)),
			Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")})
		copy(b[20:], opts)
		b.SetChecksum()
		if _, err := ParseIPv4(b); err != nil {
			return
		}
		if p, srr := b.IPv4OptionProblem(); p >= 0 || srr {
			return
		}
		local := func(a netip.Addr) bool { return a == netip.MustParseAddr("10.0.0.2") }
		fwd := bytes.Clone(b)
		rec := IPv4(fwd).RecordIPv4Options(netip.MustParseAddr("10.0.0.2"), 1234, local)
		IPv4(fwd).ForwardIPv4Options(rec, netip.MustParseAddr("10.1.0.2"))
		rec = b.RecordIPv4Options(netip.MustParseAddr("10.0.0.2"), 1234, local)
		eo, st, ok := b.EchoIPv4Options(rec, local)
		if !ok {
			return
		}
		if len(eo) > 40 || len(eo)%4 != 0 {
			t.Fatalf("echoed options of %d bytes", len(eo))
		}
		r := make(IPv4, 20+len(eo)+8)
		r.Encode(&IPv4Fields{TotalLen: uint16(len(r)), TTL: 64, Protocol: ProtoICMP, HeaderLen: uint8(20 + len(eo)),
			Src: netip.MustParseAddr("10.0.0.2"), Dst: netip.MustParseAddr("10.0.0.1")})
		copy(r[20:], eo)
		r.BuildIPv4Options(st, netip.MustParseAddr("10.0.0.2"), 1234)
		r.SetChecksum()
		if _, err := ParseIPv4(r); err != nil {
			t.Fatalf("echoed options %x do not parse: %v", eo, err)
		}
		// (The echoed pointer may leave part of a slot, which the sender
		// then refuses: Linux's ip_options_echo does the same.)
	})
}
