package wire

import (
	"encoding/hex"
	"testing"
)

// Frames captured from the Linux kernel (testdata/linux at the repository root), as
// hex. Client 10.0.0.1 (46:2b:27:5b:8d:d4), server 10.0.0.2
// (a6:d5:fc:24:6d:7d).
const (
	// linux-http-get.pcap #0: who-has 10.0.0.2 tell 10.0.0.1.
	fixtureARPRequest = "ffffffffffff462b275b8dd408060001080006040001462b275b8dd40a0000010000000000000a000002"
	// linux-http-get.pcap #1: 10.0.0.2 is-at a6:d5:fc:24:6d:7d.
	fixtureARPReply = "462b275b8dd4a6d5fc246d7d08060001080006040002a6d5fc246d7d0a000002462b275b8dd40a000001"
	// linux-http-get.pcap #2: SYN, <mss 1460,sackOK,TS val 1477719785 ecr 0,nop,wscale 10>.
	fixtureSYN = "a6d5fc246d7d462b275b8dd408004500003c83f240004006a2c70a0000010a000002c3b81f90b169ca4700000000a002faf04b120000020405b40402080a581436e9000000000103030a"
	// linux-http-get.pcap #3: SYN-ACK.
	fixtureSYNACK = "462b275b8dd4a6d5fc246d7d08004500003c00004000400626ba0a0000020a0000011f90c3b8f1b35952b169ca48a012fe88eea50000020405b40402080af47b1941581436e90103030a"
	// linux-http-get.pcap #5: PSH-ACK with "GET /page.txt HTTP/1.1…" (cut).
	fixtureACK = "a6d5fc246d7d462b275b8dd408004500003483f340004006a2ce0a0000010a000002c3b81f90b169ca48f1b359538010003f1bbf00000101080a581436e9f47b1941"
	// linux-refused.pcap #1: RST-ACK from a closed port, no options.
	fixtureRSTACK = "462b275b8dd4a6d5fc246d7d08004500002800004000400626ce0a0000020a0000010009b6ec00000000ea55bcd7501400003dab0000"
	// linux-ping.pcap #0: echo request id 0x5c31 seq 1, 56 bytes of data.
	fixturePing = "a6d5fc246d7d462b275b8dd4080045000054d866400040014e400a0000010a0000020800845b5c310001d9d5066b00000000735e050000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637"
	// linux-udp.pcap #0: UDP 57950 → 7007 "hello\n".
	fixtureUDP = "a6d5fc246d7d462b275b8dd4080045000022a37b40004011834d0a0000010a000002e25e1b5f000eaa3568656c6c6f0a"
	// linux-udp.pcap #3: ICMP port unreachable quoting UDP "nobody\n", TOS 0xc0.
	fixturePortUnreach = "462b275b8dd4a6d5fc246d7d080045c0003fa42200004001c1d90a0000020a000001030311200000000045000023a0544000401186730a0000010a000002b9fa176f000fdb0b6e6f626f64790a"
)

// fixtureIPv4ICMP is the IPv4 packet of fixturePing (Ethernet header removed).
var fixtureIPv4ICMP = fixturePing[2*EthernetHeaderLen:]

func hexBytes(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex fixture: %v", err)
	}
	return b
}
