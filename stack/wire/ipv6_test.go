package wire

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

// IPv6 frames captured from the Linux kernel (testdata/linux/linux-ipv6.pcap
// at the repository root), as hex. Client 2001:db8::1 (0e:a3:2a:53:cb:7b),
// server 2001:db8::2 (7e:da:d1:fd:27:11). Frame numbers count from 1, as
// tshark's do.
const (
	// #1: neighbour solicitation for 2001:db8::2 to ff02::1:ff00:2, with a
	// source link-layer address option.
	fixtureNS = "3333ff0000020ea32a53cb7b86dd6000000000203aff20010db8000000000000000000000001ff0200000000000000000001ff000002870019b60000000020010db800000000000000000000000201010ea32a53cb7b"
	// #2: neighbour advertisement (solicited, override) with a target
	// link-layer address option.
	fixtureNA = "0ea32a53cb7b7edad1fd271186dd6000000000203aff20010db800000000000000000000000220010db80000000000000000000000018800148a6000000020010db800000000000000000000000202017edad1fd2711"
	// #3: echo request id 0x640f seq 1, 56 bytes of data, flow label 0xb5dcb.
	fixturePing6 = "7edad1fd27110ea32a53cb7b86dd600b5dcb00403a4020010db800000000000000000000000120010db80000000000000000000000028000e57d640f0001adf1126b000000005752040000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637"
	// #13: SYN, <mss 1440,sackOK,TS val 3543289072 ecr 0,nop,wscale 10>.
	fixtureSYN6 = "7edad1fd27110ea32a53cb7b86dd6005b6d70028064020010db800000000000000000000000120010db8000000000000000000000002c5381f9119f0102400000000a002fd20c07a0000020405a00402080ad3324cf0000000000103030a"
	// #59: UDP 41911 → 5999 "nobody\n".
	fixtureUDP6 = "7edad1fd27110ea32a53cb7b86dd60013869000f114020010db800000000000000000000000120010db8000000000000000000000002a3b7176f000fa9dc6e6f626f64790a"
	// #60: ICMPv6 port unreachable quoting #59.
	fixturePortUnreach6 = "0ea32a53cb7b7edad1fd271186dd600da0d3003f3a4020010db800000000000000000000000220010db80000000000000000000000010104f9730000000060013869000f114020010db800000000000000000000000120010db8000000000000000000000002a3b7176f000fa9dc6e6f626f64790a"
)

var (
	client6 = netip.MustParseAddr("2001:db8::1")
	server6 = netip.MustParseAddr("2001:db8::2")
)

func ipv6Of(t testing.TB, frame string) IPv6 {
	t.Helper()
	ip, err := ParseIPv6(hexBytes(t, frame)[EthernetHeaderLen:])
	if err != nil {
		t.Fatal(err)
	}
	return ip
}

func TestIPv6Fixtures(t *testing.T) {
	ip := ipv6Of(t, fixturePing6)
	if ip.Version() != 6 || ip.TrafficClass() != 0 || ip.FlowLabel() != 0xb5dcb || ip.PayloadLen() != 64 ||
		ip.NextHeader() != ProtoICMPv6 || ip.HopLimit() != 64 || ip.Src() != client6 || ip.Dst() != server6 {
		t.Fatalf("echo request header: %+v", ip.Fields())
	}
	m, err := ParseICMPv6(ip.Payload(), ip.Src(), ip.Dst())
	if err != nil || m.Type() != ICMPv6EchoRequest || m.ID() != 0x640f || m.Seq() != 1 || len(m.Body()) != 56 || m.IsError() {
		t.Fatalf("echo request: %v %+v", err, m.Fields())
	}
	if _, err := ParseICMPv6(ip.Payload(), ip.Src(), netip.MustParseAddr("2001:db8::3")); !errors.Is(err, ErrBadChecksum) {
		t.Errorf("checksum over another destination: %v, want ErrBadChecksum (the pseudo-header is covered)", err)
	}

	ip = ipv6Of(t, fixtureSYN6)
	seg, err := ParseTCP(ip.Payload())
	if err != nil || !seg.IsChecksumValid(ip.Src(), ip.Dst()) || seg.Flags() != SYN || seg.DstPort() != 8081 {
		t.Fatalf("syn over ipv6: %v %+v", err, seg.Fields())
	}
	var o TCPOptions
	if err := ParseTCPOptions(seg.Options(), &o); err != nil || o.MSS != 1440 || o.WScale != 10 || !o.SACKPermitted {
		t.Errorf("syn options: %v %+v", err, o)
	}

	ip = ipv6Of(t, fixtureUDP6)
	u, err := ParseUDP(ip.Payload())
	if err != nil || !u.IsChecksumValid(ip.Src(), ip.Dst()) || string(u.Payload()) != "nobody\n" {
		t.Fatalf("udp over ipv6: %v %+v", err, u.Fields())
	}
	zero := bytes.Clone(u)
	zero[UDPChecksumOffset], zero[UDPChecksumOffset+1] = 0, 0
	if UDP(zero).IsChecksumValid(ip.Src(), ip.Dst()) {
		t.Error("a zero UDP checksum over IPv6 verified; RFC 8200 §8.1 makes it mandatory")
	}
	if !UDP(zero).IsChecksumValid(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")) {
		t.Error("a zero UDP checksum over IPv4 must still mean none was computed")
	}

	ip = ipv6Of(t, fixturePortUnreach6)
	m, err = ParseICMPv6(ip.Payload(), ip.Src(), ip.Dst())
	if err != nil || m.Type() != ICMPv6DestUnreachable || m.Code() != ICMPv6CodePortUnreachable || !m.IsError() {
		t.Fatalf("port unreachable: %v %+v", err, m.Fields())
	}
	q, err := ParseIPv6Quoted(m.Body())
	if err != nil || q.Src() != client6 || q.NextHeader() != ProtoUDP {
		t.Fatalf("quoted: %v %+v", err, q.Fields())
	}
	if qu, err := ParseUDP(q.Payload()); err != nil || qu.DstPort() != 5999 {
		t.Errorf("quoted udp: %v", err)
	}
}

func TestNDPFixtures(t *testing.T) {
	ip := ipv6Of(t, fixtureNS)
	if ip.Dst() != SolicitedNodeAddr(server6) || ip.Dst() != netip.MustParseAddr("ff02::1:ff00:2") {
		t.Errorf("NS sent to %v, solicited-node address of %v is %v", ip.Dst(), server6, SolicitedNodeAddr(server6))
	}
	eth, _ := ParseEthernet(hexBytes(t, fixtureNS))
	if eth.Dst() != IPv6MulticastMAC(ip.Dst()) {
		t.Errorf("NS to MAC %v, want %v", eth.Dst(), IPv6MulticastMAC(ip.Dst()))
	}
	m, err := ParseICMPv6(ip.Payload(), ip.Src(), ip.Dst())
	if err != nil || !m.IsNDP() || m.ValidateNDP(ip.HopLimit()) != nil || m.NDPTarget() != server6 {
		t.Fatalf("NS: %v %+v", err, m.Fields())
	}
	if mac, ok := NDPLinkAddr(FindNDPOption(m.NDPOptions(), NDPOptSourceLinkAddr)); !ok || mac != eth.Src() {
		t.Errorf("NS source link-layer address %v, want %v", mac, eth.Src())
	}
	if err := m.ValidateNDP(64); !errors.Is(err, ErrBadNDP) {
		t.Errorf("NS with hop limit 64 must be refused (RFC 4861 §7.1.1): %v", err)
	}

	ip = ipv6Of(t, fixtureNA)
	m, err = ParseICMPv6(ip.Payload(), ip.Src(), ip.Dst())
	if err != nil || m.ValidateNDP(ip.HopLimit()) != nil || m.NDPTarget() != server6 ||
		m.NDPFlags() != NDPSolicitedFlag|NDPOverrideFlag {
		t.Fatalf("NA: %v flags %#x", err, m.NDPFlags())
	}
	if mac, ok := NDPLinkAddr(FindNDPOption(m.NDPOptions(), NDPOptTargetLinkAddr)); !ok || mac != (MAC{0x7e, 0xda, 0xd1, 0xfd, 0x27, 0x11}) {
		t.Errorf("NA target link-layer address %v", mac)
	}
}

// TestNDPEncode builds each NDP message with options, sends it through the
// parser and the validity checks, and rebuilds the Linux NA byte for byte.
func TestNDPEncode(t *testing.T) {
	na := ipv6Of(t, fixtureNA)
	b := make([]byte, 64)
	n := EncodeNDP(b, &NDPFields{Type: ICMPv6NeighborAdvert, Flags: NDPSolicitedFlag | NDPOverrideFlag, Target: server6})
	n += EncodeNDPLinkAddr(b[n:], NDPOptTargetLinkAddr, MAC{0x7e, 0xda, 0xd1, 0xfd, 0x27, 0x11})
	ICMPv6(b[:n]).SetChecksum(server6, client6)
	if !bytes.Equal(b[:n], na.Payload()) {
		t.Fatalf("NA encoded\n %x\nwant\n %x", b[:n], na.Payload())
	}

	router := LinkLocalFromMAC(MAC{0x02, 0, 0, 0, 0, 0xfe})
	all := netip.MustParseAddr("ff02::1")
	pfx := NDPPrefix{Prefix: netip.MustParsePrefix("2001:db8:1::/64"), OnLink: true, Autonomous: true, ValidLifetime: 2592000, PreferredLifetime: 604800}
	n = EncodeNDP(b, &NDPFields{Type: ICMPv6RouterAdvert, Flags: 64<<24 | NDPOtherFlag, RouterLifetime: 1800, ReachableTime: 30000, RetransTimer: 1000})
	n += EncodeNDPLinkAddr(b[n:], NDPOptSourceLinkAddr, MAC{0x02, 0, 0, 0, 0, 0xfe})
	n += EncodeNDPMTU(b[n:], 1500)
	n += EncodeNDPPrefix(b[n:], &pfx)
	ICMPv6(b[:n]).SetChecksum(router, all)
	m, err := ParseICMPv6(b[:n], router, all)
	if err != nil || m.ValidateNDP(255) != nil {
		t.Fatalf("RA: %v", err)
	}
	if m.RACurHopLimit() != 64 || m.NDPFlags()&NDPOtherFlag == 0 || m.NDPFlags()&NDPManagedFlag != 0 ||
		m.RARouterLifetime() != 1800 || m.RAReachableTime() != 30000 || m.RARetransTimer() != 1000 {
		t.Errorf("RA fields: hop %d flags %#x life %d reach %d retrans %d", m.RACurHopLimit(), m.NDPFlags(),
			m.RARouterLifetime(), m.RAReachableTime(), m.RARetransTimer())
	}
	if mtu, ok := NDPMTU(FindNDPOption(m.NDPOptions(), NDPOptMTU)); !ok || mtu != 1500 {
		t.Errorf("RA MTU option %d", mtu)
	}
	if p, ok := ParseNDPPrefix(FindNDPOption(m.NDPOptions(), NDPOptPrefixInfo)); !ok || p != pfx {
		t.Errorf("RA prefix %+v, want %+v", p, pfx)
	}

	n = EncodeNDP(b, &NDPFields{Type: ICMPv6Redirect, Target: router, RedirectDst: server6})
	m = ICMPv6(b[:n])
	if m.NDPTarget() != router || m.NDPRedirectDst() != server6 || m.ValidateNDP(255) != nil {
		t.Errorf("redirect: %v %v", m.NDPTarget(), m.NDPRedirectDst())
	}

	// An option of length zero makes the whole message invalid (RFC 4861 §4.6).
	n = EncodeNDP(b, &NDPFields{Type: ICMPv6RouterSolicit})
	b[n], b[n+1] = NDPOptSourceLinkAddr, 0
	if err := ICMPv6(b[:n+8]).ValidateNDP(255); !errors.Is(err, ErrBadNDP) {
		t.Errorf("zero-length option: %v", err)
	}
	// A solicitation for a multicast target is invalid (RFC 4861 §7.1.1).
	n = EncodeNDP(b, &NDPFields{Type: ICMPv6NeighborSolicit, Target: all})
	if err := ICMPv6(b[:n]).ValidateNDP(255); !errors.Is(err, ErrBadNDP) {
		t.Errorf("multicast target: %v", err)
	}
}

func TestIPv6Addresses(t *testing.T) {
	// RFC 4291 appendix A: the universal/local bit is inverted.
	if got, want := LinkLocalFromMAC(MAC{0x00, 0x00, 0x5e, 0x00, 0x53, 0x01}), netip.MustParseAddr("fe80::200:5eff:fe00:5301"); got != want {
		t.Errorf("LinkLocalFromMAC = %v, want %v", got, want)
	}
	if got := IPv6MulticastMAC(netip.MustParseAddr("ff02::1")); got != (MAC{0x33, 0x33, 0, 0, 0, 1}) {
		t.Errorf("IPv6MulticastMAC(ff02::1) = %v", got)
	}
	if got := SolicitedNodeAddr(netip.MustParseAddr("fe80::200:5eff:fe00:5301")); got != netip.MustParseAddr("ff02::1:ff00:5301") {
		t.Errorf("SolicitedNodeAddr = %v", got)
	}
}

// TestIPv6Put checks the fixed header Put writes, read back field by
// field, whatever the addresses carry (a zone, which is not written; an
// IPv4 address, written IPv4-mapped; none, written as zeros), over a
// buffer that held other bytes; and that Encode adds the flow label.
func TestIPv6Put(t *testing.T) {
	addrs := []netip.Addr{client6, netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("10.0.0.1"), {}}
	written := func(a netip.Addr) netip.Addr {
		if !a.IsValid() {
			return netip.IPv6Unspecified()
		}
		return netip.AddrFrom16(a.As16())
	}
	for _, src := range addrs {
		for _, dst := range addrs {
			b := IPv6(bytes.Repeat([]byte{0xff}, IPv6HeaderLen))
			b.Put(0xb9, 0x12345, 1440, ProtoTCP, 63, src, dst)
			want := IPv6Fields{TrafficClass: 0xb9, FlowLabel: 0x12345, PayloadLen: 1440, NextHeader: ProtoTCP, HopLimit: 63, Src: written(src), Dst: written(dst)}
			if got := b.Fields(); got != want || b[0]>>4 != 6 {
				t.Errorf("Put(%v → %v) reads back %+v (version %d), want %+v", src, dst, got, b[0]>>4, want)
			}
		}
	}
	b := IPv6(make([]byte, IPv6HeaderLen))
	f := IPv6Fields{TrafficClass: 0xb9, FlowLabel: 0x12345, PayloadLen: 8, NextHeader: ProtoUDP, HopLimit: 1, Src: client6, Dst: server6}
	if b.Encode(&f); b.Fields() != f {
		t.Errorf("Encode(%+v) reads back %+v", f, b.Fields())
	}
}

// build6 returns an IPv6 packet whose payload is the given extension
// headers (each a byte slice whose first byte is its Next Header) and a
// UDP header, with next naming the first header.
func build6(next uint8, exts ...[]byte) IPv6 {
	var payload []byte
	for _, e := range exts {
		payload = append(payload, e...)
	}
	payload = append(payload, 0, 1, 0, 2, 0, 8, 0, 0) // UDP 1 → 2, no data
	b := make([]byte, IPv6HeaderLen+len(payload))
	IPv6(b).Encode(&IPv6Fields{PayloadLen: uint16(len(payload)), NextHeader: next, HopLimit: 64, Src: client6, Dst: server6})
	copy(b[IPv6HeaderLen:], payload)
	return IPv6(b)
}

func TestIPv6Chain(t *testing.T) {
	hbh := []byte{IPv6ExtRouting, 0, IPv6OptRouterAlert, 2, 0, 0, IPv6OptPadN, 0}
	rt := []byte{IPv6ExtDestOpts, 0, 0, 0, 0, 0, 0, 0}
	dst := []byte{ProtoUDP, 0, 0x3e, 1, 0, IPv6OptPad1, IPv6OptPad1, IPv6OptPad1} // unknown option type 0x3e: skip
	frag := make([]byte, 8)
	IPv6FragmentHeader(frag).Encode(&IPv6FragmentFields{NextHeader: ProtoUDP, Offset: 1448, More: true, ID: 7})

	ip := build6(IPv6ExtHopByHop, hbh, rt, dst)
	c, err := ip.Chain()
	if err != nil || c.Proto != ProtoUDP || c.Offset != IPv6HeaderLen+24 || c.ProtoOffset != IPv6HeaderLen+16 ||
		c.HopByHop == nil || c.Routing == nil || c.DestOpts == nil || c.Fragment != nil {
		t.Fatalf("chain: %v %+v", err, c)
	}
	var types []uint8
	for off := 0; ; {
		typ, _, next, ok, err := c.HopByHop.NextOption(off)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		types, off = append(types, typ), next
	}
	if !bytes.Equal(types, []byte{IPv6OptRouterAlert, IPv6OptPadN}) {
		t.Errorf("hop-by-hop options %v", types)
	}
	if IPv6OptionAction(0x3e) != IPv6OptActSkip || IPv6OptionAction(0xc2) != IPv6OptActDiscardICMPUC || IPv6OptionAction(0x80) != IPv6OptActDiscardICMP {
		t.Error("option actions")
	}
	if _, err := ParseUDP(ip[c.Offset:]); err != nil {
		t.Errorf("upper layer: %v", err)
	}

	// A fragment that is not the whole packet stops the walk.
	c, err = build6(IPv6ExtFragment, frag).Chain()
	if err != nil || c.Fragment == nil || c.FragmentAt != IPv6HeaderLen || c.Proto != ProtoUDP || c.Fragment.Offset() != 1448 ||
		!c.Fragment.More() || c.Fragment.ID() != 7 || c.Fragment.IsAtomic() {
		t.Errorf("fragment: %v %+v", err, c)
	}

	cases := []struct {
		name string
		ip   IPv6
		err  error
	}{
		{"hop-by-hop not first", build6(IPv6ExtDestOpts, []byte{IPv6ExtHopByHop, 0, 0, 0, 0, 0, 0, 0}, []byte{ProtoUDP, 0, 0, 0, 0, 0, 0, 0}), ErrBadExtension},
		{"header past the end", build6(IPv6ExtDestOpts, []byte{ProtoUDP, 3, 0, 0, 0, 0, 0, 0}), ErrTruncated},
		{"too many headers", build6(IPv6ExtDestOpts, bytes.Repeat([]byte{IPv6ExtDestOpts, 0, 0, 0, 0, 0, 0, 0}, IPv6MaxExtHeaders+1)), ErrBadExtension},
	}
	for _, tc := range cases {
		if _, err := tc.ip.Chain(); !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
	// An unknown Next Header ends the walk with the offset of the byte
	// that named it, for a Parameter Problem's pointer.
	c, err = build6(IPv6ExtDestOpts, []byte{253, 0, 0, 0, 0, 0, 0, 0}).Chain()
	if err != nil || c.Proto != 253 || c.ProtoOffset != IPv6HeaderLen {
		t.Errorf("unknown next header: %v %+v", err, c)
	}
}

func TestParseIPv6Errors(t *testing.T) {
	ip := ipv6Of(t, fixtureUDP6)
	cases := []struct {
		name string
		b    []byte
		err  error
	}{
		{"short", ip[:39], ErrTruncated},
		{"version 4", append([]byte{0x45}, ip[1:]...), ErrBadVersion6},
		{"payload past the end", ip[:len(ip)-1], ErrTruncated},
	}
	for _, tc := range cases {
		if _, err := ParseIPv6(tc.b); !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
	jumbo := bytes.Clone(ip)
	IPv6(jumbo).SetPayloadLen(0)
	IPv6(jumbo).SetNextHeader(IPv6ExtHopByHop)
	if _, err := ParseIPv6(jumbo); !errors.Is(err, ErrBadLength) {
		t.Errorf("jumbogram: %v", err)
	}
	padded := append(bytes.Clone(ip), 0, 0, 0, 0)
	if p, err := ParseIPv6(padded); err != nil || len(p) != len(ip) {
		t.Errorf("padding not trimmed: %v %d", err, len(p))
	}
	if q, err := ParseIPv6Quoted(ip[:48]); err != nil || len(q.Payload()) != 8 {
		t.Errorf("quoted, cut short: %v", err)
	}
	tc := bytes.Clone(ip)
	IPv6(tc).SetTrafficClass(0xb9)
	if IPv6(tc).TrafficClass() != 0xb9 || IPv6(tc).FlowLabel() != ip.FlowLabel() || IPv6(tc).Version() != 6 {
		t.Errorf("SetTrafficClass: %#x %#x", IPv6(tc).TrafficClass(), IPv6(tc).FlowLabel())
	}
}

func FuzzIPv6(f *testing.F) {
	fuzzSeeds(f, EthernetHeaderLen, fixtureNS, fixtureNA, fixturePing6, fixtureSYN6, fixtureUDP6, fixturePortUnreach6)
	f.Add([]byte(build6(IPv6ExtHopByHop, []byte{IPv6ExtFragment, 0, 1, 0, 0, 0, 0, 0}, []byte{ProtoUDP, 0, 0, 1, 0, 0, 0, 9})))
	f.Fuzz(func(t *testing.T, b []byte) {
		ip, err := ParseIPv6(b)
		if err != nil {
			if ip.IsValid() && err != ErrBadLength {
				t.Fatal("IsValid disagrees with ParseIPv6")
			}
			return
		}
		out := make([]byte, IPv6HeaderLen)
		fl := ip.Fields()
		IPv6(out).Encode(&fl)
		if !bytes.Equal(out, b[:IPv6HeaderLen]) {
			t.Fatalf("round trip: %x vs %x", out, b[:IPv6HeaderLen])
		}
		c, err := ip.Chain()
		if err != nil {
			return
		}
		if c.Offset > len(ip) || c.ProtoOffset >= c.Offset || ip[c.ProtoOffset] != c.Proto {
			t.Fatalf("chain offsets %+v in %d bytes", c, len(ip))
		}
		for _, o := range []IPv6Options{c.HopByHop, c.DestOpts} {
			for off, n := 0, 0; o != nil && n < 256; n++ {
				_, _, next, ok, err := o.NextOption(off)
				if !ok || err != nil {
					break
				}
				if next <= off {
					t.Fatalf("option walk did not advance at %d", off)
				}
				off = next
			}
		}
	})
}

func FuzzICMPv6(f *testing.F) {
	for _, s := range []string{fixtureNS, fixtureNA, fixturePing6, fixturePortUnreach6} {
		f.Add(hexBytes(f, s)[EthernetHeaderLen+IPv6HeaderLen:], uint8(255))
	}
	f.Fuzz(func(t *testing.T, b []byte, hop uint8) {
		m := ICMPv6(b)
		if len(b) < ICMPv6HeaderLen {
			if _, err := ParseICMPv6(b, client6, server6); !errors.Is(err, ErrTruncated) {
				t.Fatalf("short message: %v", err)
			}
			return
		}
		m.SetChecksum(client6, server6)
		if _, err := ParseICMPv6(m, client6, server6); err != nil {
			t.Fatalf("checksum just set does not verify: %v", err)
		}
		if m.ValidateNDP(hop) != nil {
			return
		}
		// A valid NDP message's accessors and options are safe to read
		// (and a target asked of a message without one, a router
		// advertisement, is the zero Addr, not a panic).
		if tgt := m.NDPTarget(); len(m) < 24 && tgt.IsValid() {
			t.Fatalf("a %d-byte message has target %v", len(m), tgt)
		}
		if m.Type() == ICMPv6Redirect {
			_ = m.NDPRedirectDst()
		}
		for opts := m.NDPOptions(); len(opts) > 0; {
			typ, body, rest, err := NextNDPOption(opts)
			if err != nil {
				t.Fatalf("option list ValidateNDP accepted fails: %v", err)
			}
			switch typ {
			case NDPOptPrefixInfo:
				ParseNDPPrefix(body)
			case NDPOptMTU:
				NDPMTU(body)
			case NDPOptSourceLinkAddr, NDPOptTargetLinkAddr:
				NDPLinkAddr(body)
			}
			opts = rest
		}
	})
}
