package wire

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// fuzzSeeds returns the fixtures cut at the offset of a layer.
func fuzzSeeds(f *testing.F, off int, frames ...string) {
	for _, s := range frames {
		b, err := hex.DecodeString(s)
		if err != nil {
			f.Fatal(err)
		}
		if off <= len(b) {
			f.Add(b[off:])
		}
	}
	f.Add([]byte{})
}

const tcpOff = EthernetHeaderLen + IPv4MinHeaderLen

func FuzzEthernet(f *testing.F) {
	fuzzSeeds(f, 0, fixtureARPRequest, fixtureSYN, fixturePing)
	f.Fuzz(func(t *testing.T, b []byte) {
		eth, err := ParseEthernet(b)
		if err != nil {
			if len(b) >= EthernetHeaderLen {
				t.Fatalf("rejected %d bytes: %v", len(b), err)
			}
			return
		}
		out := make([]byte, EthernetHeaderLen)
		fl := eth.Fields()
		Ethernet(out).Encode(&fl)
		if !bytes.Equal(out, b[:EthernetHeaderLen]) || len(eth.Payload()) != len(b)-EthernetHeaderLen {
			t.Fatalf("round trip: %x vs %x", out, b[:EthernetHeaderLen])
		}
		_ = eth.Dst().String()
	})
}

func FuzzARP(f *testing.F) {
	fuzzSeeds(f, EthernetHeaderLen, fixtureARPRequest, fixtureARPReply)
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseARP(b)
		if err != nil {
			if a.IsValid() {
				t.Fatal("IsValid disagrees with ParseARP")
			}
			return
		}
		out := make([]byte, ARPLen)
		fl := a.Fields()
		ARP(out).Encode(&fl)
		if !bytes.Equal(out, b[:ARPLen]) {
			t.Fatalf("round trip: %x vs %x", out, b[:ARPLen])
		}
	})
}

func FuzzIPv4(f *testing.F) {
	fuzzSeeds(f, EthernetHeaderLen, fixtureSYN, fixturePing, fixtureUDP, fixturePortUnreach, fixtureRSTACK)
	f.Fuzz(func(t *testing.T, b []byte) {
		if q, err := ParseIPv4Quoted(b); err == nil {
			_ = q.Payload()
			_ = q.Options()
			_ = q.Fields()
		}
		ip, err := ParseIPv4(b)
		if err != nil {
			return
		}
		if !ip.IsValid() || !ip.IsChecksumValid() || int(ip.TotalLen()) != len(ip) {
			t.Fatal("accepted packet is not consistent")
		}
		if ip.HeaderLen()+len(ip.Payload()) != len(ip) {
			t.Fatal("payload length wrong")
		}
		out := bytes.Clone(ip[:ip.HeaderLen()])
		fl := ip.Fields()
		IPv4(out).Encode(&fl)
		IPv4(out).SetChecksum()
		// Encode clears the reserved flag bit (RFC 791 §3.1).
		want := bytes.Clone(ip[:ip.HeaderLen()])
		want[IPv4FlagsFragOffset] &^= 0x80
		IPv4(want).SetChecksum()
		if !bytes.Equal(out, want) {
			t.Fatalf("round trip: %x vs %x", out, want)
		}
		c := bytes.Clone(ip)
		IPv4(c).DecTTL()
		if !IPv4(c).IsChecksumValid() {
			t.Fatal("DecTTL broke the checksum")
		}
	})
}

func FuzzICMPv4(f *testing.F) {
	fuzzSeeds(f, EthernetHeaderLen+IPv4MinHeaderLen, fixturePing, fixturePortUnreach)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseICMPv4(b)
		if err != nil {
			return
		}
		out := bytes.Clone(m)
		fl := m.Fields()
		ICMPv4(out).Encode(&fl)
		ICMPv4(out).SetChecksum()
		if !ICMPv4(out).IsChecksumValid() || !bytes.Equal(out[4:], m[4:]) || out[0] != m[0] || out[1] != m[1] {
			t.Fatalf("round trip: %x vs %x", out, []byte(m))
		}
		_, _ = ParseIPv4Quoted(m.Payload())
	})
}

func FuzzUDP(f *testing.F) {
	fuzzSeeds(f, tcpOff, fixtureUDP)
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := ParseUDP(b)
		if err != nil {
			return
		}
		if int(u.Length()) != len(u) || len(u.Payload()) != len(u)-UDPHeaderLen {
			t.Fatal("length inconsistent")
		}
		out := bytes.Clone(u)
		fl := u.Fields()
		UDP(out).Encode(&fl)
		UDP(out).SetChecksum(client, server)
		if !UDP(out).IsChecksumValid(client, server) || !bytes.Equal(out[:6], u[:6]) {
			t.Fatalf("round trip: %x vs %x", out, []byte(u))
		}
		_ = u.IsChecksumValid(client, server)
	})
}

func FuzzTCP(f *testing.F) {
	fuzzSeeds(f, tcpOff, fixtureSYN, fixtureSYNACK, fixtureACK, fixtureRSTACK)
	f.Fuzz(func(t *testing.T, b []byte) {
		seg, err := ParseTCP(b)
		if err != nil {
			if seg.IsValid() {
				t.Fatal("IsValid disagrees")
			}
			return
		}
		if TCPMinHeaderLen+len(seg.Options())+len(seg.Payload()) != len(seg) {
			t.Fatal("split inconsistent")
		}
		var o TCPOptions
		_ = ParseTCPOptions(seg.Options(), &o)
		_ = seg.Flags().String()
		out := bytes.Clone(seg)
		fl := seg.Fields()
		TCP(out).Encode(&fl)
		// Encode clears the reserved bits and the checksum.
		if !bytes.Equal(out[:12], seg[:12]) || out[12] != seg[12]&0xf0 || !bytes.Equal(out[13:16], seg[13:16]) || !bytes.Equal(out[18:], seg[18:]) {
			t.Fatalf("round trip: %x vs %x", out, []byte(seg))
		}
		TCP(out).SetChecksum(client, server)
		if !TCP(out).IsChecksumValid(client, server) {
			t.Fatal("SetChecksum does not verify")
		}
	})
}

func FuzzTCPOptions(f *testing.F) {
	f.Add([]byte{2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7})
	f.Add([]byte{1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6, 1, 1, 5, 18, 0, 0, 0, 10, 0, 0, 0, 20, 0, 0, 0, 30, 0, 0, 0, 40})
	f.Add([]byte{1, 1, 5, 34, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 8})
	f.Add([]byte{2, 4, 5})
	f.Add([]byte{30, 1})
	// Two SACK options, the second shorter: the first's blocks must not
	// stay beyond NSACK.
	f.Add([]byte{5, 26, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 5, 10, 0, 0, 0, 7, 0, 0, 0, 8})
	f.Fuzz(func(t *testing.T, b []byte) {
		var o TCPOptions
		if err := ParseTCPOptions(b, &o); err != nil && err != ErrBadOption {
			t.Fatalf("unexpected error %v", err)
		}
		if o.NSACK < 0 || o.NSACK > TCPMaxSACKBlocks {
			t.Fatalf("NSACK %d", o.NSACK)
		}
		for _, syn := range []bool{true, false} {
			out := make([]byte, TCPMaxOptionsLen)
			n := EncodeTCPOptions(out, &o, syn)
			if n != TCPOptionsLen(&o, syn) || n%4 != 0 || n > TCPMaxOptionsLen {
				t.Fatalf("encoded %d bytes (syn %v)", n, syn)
			}
			var back TCPOptions
			if err := ParseTCPOptions(out[:n], &back); err != nil {
				t.Fatalf("own encoding does not parse: %v", err)
			}
			want := o
			if syn {
				want.NSACK, want.SACK = 0, [TCPMaxSACKBlocks]SACKBlock{}
			} else {
				want.HasMSS, want.MSS, want.HasWScale, want.WScale, want.SACKPermitted = false, 0, false, 0, false
				if want.HasTS && want.NSACK > 3 {
					want.NSACK, want.SACK[3] = 3, SACKBlock{}
				}
			}
			if back != want {
				t.Fatalf("syn %v: back %+v\nwant %+v", syn, back, want)
			}
		}
	})
}

// FuzzFinishTCPChecksum: any frame, Ethernet or bare IP, is either left
// as it is or given a TCP checksum that verifies, and only its two
// checksum bytes change.
func FuzzFinishTCPChecksum(f *testing.F) {
	fuzzSeeds(f, 0, fixtureSYN, fixtureSYNACK, fixtureACK, fixtureRSTACK)
	fuzzSeeds(f, EthernetHeaderLen, fixtureSYN, fixtureACK)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, eth := range []bool{true, false} {
			frame := bytes.Clone(b)
			if !FinishTCPChecksum(frame, eth) {
				if !bytes.Equal(frame, b) {
					t.Fatal("not finished, but changed")
				}
				continue
			}
			ip := frame
			if eth {
				ip = frame[EthernetHeaderLen:]
			}
			var seg TCP
			var ok bool
			if ip[0]>>4 == 4 {
				v4 := IPv4(ip)
				seg = TCP(ip[v4.HeaderLen():v4.TotalLen()])
				ok = seg.IsChecksumValid(v4.Src(), v4.Dst())
			} else {
				v6 := IPv6(ip)
				seg = TCP(ip[IPv6HeaderLen : IPv6HeaderLen+int(v6.PayloadLen())])
				ok = seg.IsChecksumValid(v6.Src(), v6.Dst())
			}
			if !ok {
				t.Fatal("finished checksum does not verify")
			}
			diff := 0
			for i := range frame {
				if frame[i] != b[i] {
					diff++
				}
			}
			if diff > 2 {
				t.Fatalf("%d bytes changed, want at most the checksum's 2", diff)
			}
		}
	})
}
