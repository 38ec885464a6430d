package sim_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"stacklab/sim"
	"stacklab/stack"
)

// A UDP datagram crosses a 10 ms link in virtual time: the client first
// resolves the server's address with ARP (one round trip), so the
// datagram arrives three one-way delays after it was sent.
func ExampleNetwork() {
	n := sim.NewNetwork(sim.NetworkOptions{Seed: 1})
	client := n.AddHost("client", stack.Options{})
	server := n.AddHost("server", stack.Options{})
	link, err := n.Connect(
		client, stack.NICConfig{Addr: netip.MustParsePrefix("10.0.0.1/24")},
		server, stack.NICConfig{Addr: netip.MustParsePrefix("10.0.0.2/24")},
		sim.Symmetric(sim.Impairments{Delay: 10 * time.Millisecond}))
	if err != nil {
		fmt.Println(err)
		return
	}

	srv, _ := server.Socket(stack.SockDgram)
	server.SetNonblock(srv, true)
	server.Bind(srv, netip.MustParseAddrPort("10.0.0.2:7"))
	cli, _ := client.Socket(stack.SockDgram)
	client.SendTo(cli, []byte("hello"), netip.MustParseAddrPort("10.0.0.2:7"))

	// Run the network until the datagram is there to read.
	for server.Poll(srv)&stack.PollIn == 0 && n.Step() {
	}
	buf := make([]byte, 64)
	k, from, _ := server.RecvFrom(srv, buf)
	fmt.Printf("%q from %v, %v after the start\n", buf[:k], from.Addr(), n.Elapsed())
	fmt.Printf("client → server frames: %d sent, %d delivered\n",
		link.Counters(sim.AtoB).Sent, link.Counters(sim.AtoB).Delivered)
	// Output:
	// "hello" from 10.0.0.1, 30ms after the start
	// client → server frames: 2 sent, 2 delivered
}

// A Pipe alone is the impairment engine: here 1500-byte frames on a
// 100 Mbit/s link with 5 ms of delay arrive 120 µs apart.
func ExamplePipe() {
	clock := sim.NewClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	start := clock.Now()
	pipe := sim.NewPipe(clock, rand.New(rand.NewPCG(1, 2)),
		sim.Impairments{Delay: 5 * time.Millisecond, Rate: 100_000_000},
		func(pkt stack.Packet) {
			fmt.Printf("frame %d arrives at %v\n", pkt.ID, clock.Now().Sub(start))
		})
	frame := make([]byte, 1500)
	for id := range uint64(3) {
		pipe.Send(stack.Packet{ID: id + 1, Data: frame})
	}
	clock.Run()
	// Output:
	// frame 1 arrives at 5.12ms
	// frame 2 arrives at 5.24ms
	// frame 3 arrives at 5.36ms
}
