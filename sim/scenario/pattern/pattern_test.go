package pattern

import (
	"net/netip"
	"strings"
	"testing"

	"stacklab/stack"
)

func TestParse(t *testing.T) {
	hosts := []string{"client", "server"}
	p, err := Parse("client > server:80 [S.] ack 1 win 65535", hosts)
	if err != nil {
		t.Fatal(err)
	}
	if p.Src.Host != "client" || p.Dst.Host != "server" || p.Dst.Port != 80 || p.Proto != "tcp" || p.Flags != "S." || *p.Ack != 1 || *p.Win != 65535 {
		t.Errorf("parsed %+v", p)
	}
	for _, tc := range []struct{ in, errPart string }{
		{"client > server [SYN]", "[S]"},
		{"client > sever", `did you mean "server"`},
		{"[S.] >", "direction first"},
		{"client > server seq 5:3", "B ≥ A"},
		{"client > server sack", "sack needs"},
		{"client > server [Q]", "not a TCP flag"},
	} {
		_, err := Parse(tc.in, hosts)
		if err == nil || !strings.Contains(err.Error(), tc.errPart) {
			t.Errorf("Parse(%q) = %v, want an error with %q", tc.in, err, tc.errPart)
		}
	}
}

func TestMatch(t *testing.T) {
	c, s := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	owns := func(h string, a netip.Addr) bool { return h == "client" && a == c || h == "server" && a == s }
	sum := &Summary{Src: netip.AddrPortFrom(c, 40000), Dst: netip.AddrPortFrom(s, 80), Proto: "tcp", Flags: "F.", Seq: 5, Ack: 9, Len: 0}
	p, _ := Parse("client > server:80 [F*] seq 5", []string{"client", "server"})
	if d := p.Match(sum, owns, nil); len(d) != 0 {
		t.Errorf("[F*] should match F.: %v", d)
	}
	p, _ = Parse("server > client [R]", []string{"client", "server"})
	d := p.Match(sum, owns, nil)
	if len(d) != 3 || d[0].Field != "src" || d[1].Field != "dst" || d[2].Field != "flags" {
		t.Errorf("diffs %v, want src, dst, flags", d)
	}
}

// TestDecodeRelative decodes a SYN and its SYN-ACK and sees sequence
// numbers relative to each direction's ISN, and Latest finds the flow.
func TestDecodeRelative(t *testing.T) {
	d := NewDecoder()
	syn := ipTCP([4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 40000, 80, 1000, 0, 0x02)
	synack := ipTCP([4]byte{10, 0, 0, 2}, [4]byte{10, 0, 0, 1}, 80, 40000, 7000, 1001, 0x12)
	var a, b Summary
	d.Decode(syn, stack.LinkRawIP, &a)
	d.Decode(synack, stack.LinkRawIP, &b)
	if a.Flags != "S" || a.Seq != 0 || b.Flags != "S." || b.Seq != 0 || b.Ack != 1 {
		t.Fatalf("syn %+v synack %+v", a, b)
	}
	f, ok := d.Latest(func(src, dst netip.AddrPort) bool { return src.Port() == 40000 })
	if !ok || f.ISN != 1000 || f.Next != 1 || !f.HasBack || f.BackISN != 7000 || f.BackNext != 1 {
		t.Errorf("Latest = %+v, %v", f, ok)
	}
	if got := b.Format(map[netip.Addr]string{netip.MustParseAddr("10.0.0.1"): "client"}); got != "10.0.0.2:80 > client:40000 [S.] seq 0 ack 1 win 65535 len 0" {
		t.Errorf("Format = %q", got)
	}
}

func ipTCP(src, dst [4]byte, sp, dp uint16, seq, ack uint32, flags byte) []byte {
	b := make([]byte, 40)
	b[0], b[3], b[8], b[9] = 0x45, 40, 64, 6
	copy(b[12:], src[:])
	copy(b[16:], dst[:])
	t := b[20:]
	t[0], t[1], t[2], t[3] = byte(sp>>8), byte(sp), byte(dp>>8), byte(dp)
	for i := 0; i < 4; i++ {
		t[4+i] = byte(seq >> (24 - 8*i))
		t[8+i] = byte(ack >> (24 - 8*i))
	}
	t[12], t[13], t[14], t[15] = 5<<4, flags, 0xff, 0xff
	return b
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"client > server:80 [S.] ack 1", "[F*]", "* > server icmp echo", "client > server sack 1:2,3:4", "seq 1:5 len 4", "arp request"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s, []string{"client", "server"})
		if err == nil && p != nil {
			p.Match(&Summary{}, func(string, netip.Addr) bool { return false }, nil)
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add(ipTCP([4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 1, 2, 3, 4, 0x12))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder()
		var s Summary
		d.Decode(data, stack.LinkRawIP, &s)
		d.Decode(data, stack.LinkEthernet, &s)
		_ = s.Format(nil)
	})
}
