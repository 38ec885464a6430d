package trace

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"stacklab/stack/wire"
)

// TestIPv6ExtensionHeaders traces a raw IPv6 packet carrying a hop-by-hop
// and a destination options header before UDP, in both formats.
func TestIPv6ExtensionHeaders(t *testing.T) {
	src, dst := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	exts := []byte{
		wire.IPv6ExtDestOpts, 0, wire.IPv6OptRouterAlert, 2, 0, 0, wire.IPv6OptPadN, 0,
		wire.ProtoUDP, 0, wire.IPv6OptPadN, 4, 0, 0, 0, 0,
	}
	udp := make([]byte, wire.UDPHeaderLen+2)
	wire.UDP(udp).Encode(&wire.UDPFields{SrcPort: 1000, DstPort: 2000, Length: uint16(len(udp))})
	wire.UDP(udp).SetChecksum(src, dst)
	pkt := make([]byte, wire.IPv6HeaderLen, wire.IPv6HeaderLen+len(exts)+len(udp))
	pkt = append(append(pkt, exts...), udp...)
	wire.IPv6(pkt).Encode(&wire.IPv6Fields{PayloadLen: uint16(len(exts) + len(udp)), NextHeader: wire.IPv6ExtHopByHop, HopLimit: 64, Src: src, Dst: dst})
	for _, tc := range []struct {
		format Format
		want   string
	}{
		{Text, "ipv6  2001:db8::1 → 2001:db8::2  hlim 64  len 26  hbh  dstopts"},
		{JSON, `"proto":17,"ext":["hbh","dstopts"]}`},
	} {
		var out bytes.Buffer
		tr := New(&out, Options{Format: tc.format, Checksums: true})
		tr.Frame(&Frame{Time: time.Unix(1, 0), Link: LinkRawIP, Dir: DirOut, ID: 1, Data: pkt}, nil)
		if err := tr.Flush(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), tc.want) || strings.Contains(out.String(), "malformed") || strings.Contains(out.String(), "bad cksum") {
			t.Errorf("%v trace lacks %q:\n%s", tc.format, tc.want, out.String())
		}
	}
}
