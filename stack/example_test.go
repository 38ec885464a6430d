package stack_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"syscall"
	"time"

	"stacklab/sim"
	"stacklab/stack"
	"stacklab/stack/linktest"
)

// Two stacks in virtual time: the server listens, the client connects
// with a non-blocking socket, and the simulator's clock runs the
// handshake. Every step is a plain function call; nothing sleeps.
func Example_facade() {
	n := sim.NewNetwork(sim.NetworkOptions{Seed: 1})
	client := n.AddHost("client", stack.Options{})
	server := n.AddHost("server", stack.Options{})
	if _, err := n.Connect(
		client, stack.NICConfig{Name: "eth0", Addr: netip.MustParsePrefix("10.0.0.1/24")},
		server, stack.NICConfig{Name: "eth0", Addr: netip.MustParsePrefix("10.0.0.2/24")},
		sim.Symmetric(sim.Impairments{Delay: 10 * time.Millisecond})); err != nil {
		fmt.Println(err)
		return
	}

	l, _ := server.Socket(stack.SockStream)
	server.Bind(l, netip.MustParseAddrPort("0.0.0.0:80"))
	server.Listen(l, 8)

	s, _ := client.Socket(stack.SockStream)
	client.SetNonblock(s, true)
	err := client.Connect(s, netip.MustParseAddrPort("10.0.0.2:80"))
	fmt.Println("connect → EINPROGRESS:", errors.Is(err, syscall.EINPROGRESS))

	// ARP request and reply, SYN, SYN-ACK, ACK: five 10 ms crossings.
	n.RunFor(50 * time.Millisecond)
	c, from, _ := server.Accept(l)
	info, _ := server.Info(c)
	fmt.Println("accepted", from.Addr(), info.State, "at", n.Elapsed())
	// Output:
	// connect → EINPROGRESS: true
	// accepted 10.0.0.1 ESTABLISHED at 50ms
}

// The net.Conn API in real time, over a channel-backed link: what a Go
// program embedding the stack uses.
func Example_netConn() {
	a := stack.New(stack.Options{Name: "a"})
	b := stack.New(stack.Options{Name: "b"})
	closeLink, _ := linktest.Connect(
		a, stack.NICConfig{Name: "eth0", Addr: netip.MustParsePrefix("10.0.0.1/24")},
		b, stack.NICConfig{Name: "eth0", Addr: netip.MustParsePrefix("10.0.0.2/24")})
	defer closeLink()

	ln, _ := b.ListenTCP(netip.MustParseAddrPort("0.0.0.0:7"), 0)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c) // echo until the client's FIN
		c.Close()
	}()

	c, err := a.DialContext(context.Background(), "tcp", "10.0.0.2:7")
	if err != nil {
		fmt.Println(err)
		return
	}
	c.Write([]byte("hello"))
	c.(*stack.TCPConn).CloseWrite()
	reply, _ := io.ReadAll(c)
	c.Close()
	fmt.Printf("%s\n", reply)
	// Output: hello
}
