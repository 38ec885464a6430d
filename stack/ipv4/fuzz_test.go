package ipv4

import (
	"bytes"
	"testing"
	"time"

	"stacklab/stack/wire"
)

// FuzzReassembler feeds fragments of one known datagram, cut as the input
// describes (3 bytes each: offset in 8-byte units, length in 8-byte units,
// flags), plus raw packets, and checks the reassembler never panics, never
// produces bytes that were not sent, and keeps its memory count right.
func FuzzReassembler(f *testing.F) {
	f.Add([]byte{0, 3, 1, 3, 3, 1, 6, 2, 0})
	f.Add([]byte{6, 2, 0, 3, 3, 1, 0, 3, 1})
	f.Add([]byte{0, 3, 1, 2, 3, 1, 0, 3, 1, 6, 2, 0, 0xff, 0xff, 0x82})
	f.Add([]byte{0, 3, 1, 0, 3, 1, 3, 3, 1, 6, 2, 0})
	f.Fuzz(runReasm)
}

func runReasm(t *testing.T, in []byte) {
	payload := seq(2048)
	{
		r := NewReassembler(Config{MaxBytes: 4096, MaxDatagrams: 4, MaxFragments: 16})
		now := t0
		for len(in) >= 3 {
			off, n, fl := int(in[0])*8, int(in[1])*8, in[2]
			in = in[3:]
			if off+n > len(payload) {
				n = max(0, len(payload)-off)
				if off > len(payload) {
					off = len(payload)
				}
			}
			id := uint16(fl >> 4 & 3)
			p := packet(id, false, nil, payload[off:off+n])
			p.SetFlagsFragment(false, fl&1 != 0, uint16(off))
			p.SetChecksum()
			out, err := r.Add(p, now)
			if err == nil && out != nil && out.IsFragment() == false && len(out) > wire.IPv4MinHeaderLen {
				if !out.IsChecksumValid() || !bytes.Equal(out.Payload(), payload[:len(out.Payload())]) {
					t.Fatalf("reassembled bytes were never sent")
				}
			}
			if fl&2 != 0 {
				now = now.Add(10 * time.Second)
				r.Expire(now, func(first wire.IPv4) {
					if first != nil && (first.FragmentOffset() != 0 || !first.IsChecksumValid()) {
						t.Fatal("timed-out first fragment is not a first fragment")
					}
				})
			}
			if r.Held() < 0 || r.Charged() < r.Held() || r.Charged() > 4096 || r.Len() > 4 {
				t.Fatalf("held %d mem %d len %d", r.Held(), r.Charged(), r.Len())
			}
		}
		r.Expire(now.Add(time.Hour), nil)
		if r.Held() != 0 || r.Charged() != 0 || r.Len() != 0 {
			t.Fatalf("after expiry: held %d mem %d len %d", r.Held(), r.Charged(), r.Len())
		}
	}
}

// FuzzFragment fragments arbitrary valid packets and reassembles them.
func FuzzFragment(f *testing.F) {
	f.Add(uint16(3000), uint16(1500), []byte{})
	f.Add(uint16(100), uint16(68), []byte{0x83, 7, 4, 10, 0, 0, 9, 0})
	f.Add(uint16(65000), uint16(576), []byte{0x07, 3, 4, 1})
	f.Fuzz(func(t *testing.T, size, mtu uint16, opts []byte) {
		if len(opts) > 40 {
			opts = opts[:40]
		}
		for len(opts)%4 != 0 {
			opts = append(opts, 0)
		}
		size = min(size, uint16(65535-20-len(opts)))
		pkt := packet(77, false, opts, seq(int(size)))
		if _, err := wire.ParseIPv4(pkt); err != nil {
			return // random option bytes that do not parse: only valid packets are fragmented
		}
		var frags []wire.IPv4
		err := Fragment(pkt, int(mtu), nil, func(fr wire.IPv4) { frags = append(frags, bytes.Clone(fr)) })
		if err != nil {
			if len(pkt) <= int(mtu) {
				t.Fatalf("fitting packet refused: %v", err)
			}
			return
		}
		r := NewReassembler(Config{})
		var got wire.IPv4
		for i := len(frags) - 1; i >= 0; i-- {
			fr := frags[i]
			if len(fr) > int(mtu) && len(frags) > 1 {
				t.Fatalf("fragment of %d bytes over mtu %d", len(fr), mtu)
			}
			if _, err := wire.ParseIPv4(fr); err != nil {
				t.Fatalf("fragment invalid: %v", err)
			}
			out, err := r.Add(fr, t0)
			if err != nil {
				t.Fatal(err)
			}
			if out != nil {
				got = bytes.Clone(out)
			}
		}
		if !bytes.Equal(got, pkt) {
			t.Fatalf("round trip differs (%d fragments)", len(frags))
		}
	})
}
