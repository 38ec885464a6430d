package capture_test

import (
	"fmt"
	"net/netip"
	"os"
	"time"

	"stacklab/capture"
	"stacklab/sim"
	"stacklab/stack"
)

// Trace a capture written by tcpdump on Linux: a SYN to a closed port
// and the kernel's RST.
func ExampleTraceFile() {
	if err := capture.TraceFile("../testdata/linux/linux-refused.pcap", os.Stdout, capture.Text); err != nil {
		fmt.Println(err)
	}
	// Output:
	//  0.000000 10.0.0.1 → 10.0.0.2  #1  74 B
	//    eth   46:2b:27:5b:8d:d4 → a6:d5:fc:24:6d:7d  IPv4
	//    ipv4  10.0.0.1 → 10.0.0.2  ttl 64  id 25959  DF  len 60
	//    tcp   46828 → 9  [SYN]  seq 0 (ISN 3931487446)  win 64240  <mss 1460,sackOK,TS 3727134322 0,wscale 10>
	//  0.000000 10.0.0.1  tcp 10.0.0.1:46828 → 10.0.0.2:9  CLOSED → SYN_SENT  (inferred)
	//  0.000033 10.0.0.2 → 10.0.0.1  #2  54 B
	//    eth   a6:d5:fc:24:6d:7d → 46:2b:27:5b:8d:d4  IPv4
	//    ipv4  10.0.0.2 → 10.0.0.1  ttl 64  id 0  DF  len 40
	//    tcp   9 → 46828  [RST, ACK]  seq 1  ack 1  win 0  [RTT 0.033 ms, ACK of #1]
	//  0.000033 10.0.0.1  tcp 10.0.0.1:46828 → 10.0.0.2:9  SYN_SENT → CLOSED  (inferred)
	//
	// connections:
	//   tcp 10.0.0.1:46828 ⇄ 10.0.0.2:9  1/1 pkts  0/0 B  retrans 0/0  rtt 0.033 ms  0.000000–0.000033 s  refused
}

// Summaries are what scenario expectations match against.
func ExampleReadFile() {
	sums, err := capture.ReadFile("../testdata/linux/linux-refused.pcap")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range sums {
		fmt.Println(s.String())
	}
	// Output:
	// 10.0.0.1 > 10.0.0.2 [S] seq 0 win 64240 <mss 1460,sackOK,TS 3727134322 0,wscale 10>
	// 10.0.0.2 > 10.0.0.1 [R.] seq 1 ack 1 win 0
}

// A Recorder is both the Tap and the Observer of the stacks it records.
// Here it captures a simulated network into out/ (client-eth0.pcapng,
// server-eth0.pcapng) and writes the text trace to stdout.
func ExampleNew() {
	rec, err := capture.New(capture.Options{
		Dir:      "out",
		Trace:    os.Stdout,
		Format:   capture.Text,
		Scenario: "handshake",
		Seed:     1,
		Version:  "v0.1.0",
		Start:    sim.DefaultStart,
		Names: map[netip.Addr]string{
			netip.MustParseAddr("10.0.0.1"): "client",
			netip.MustParseAddr("10.0.0.2"): "server",
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	net := sim.NewNetwork(sim.NetworkOptions{Seed: 1, Tap: rec, Observer: rec})
	client := net.AddHost("client", stack.Options{})
	server := net.AddHost("server", stack.Options{})
	rec.Describe("client:eth0", "10 ms each way")
	net.Connect(client, stack.NICConfig{Addr: netip.MustParsePrefix("10.0.0.1/24")},
		server, stack.NICConfig{Addr: netip.MustParsePrefix("10.0.0.2/24")},
		sim.Symmetric(sim.Impairments{Delay: 10 * time.Millisecond}))
	// … open sockets, run the clock …
	net.RunFor(time.Second)
	if err := rec.Close(); err != nil {
		fmt.Println(err)
	}
}
