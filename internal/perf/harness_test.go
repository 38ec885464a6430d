package perf

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"stacklab/internal/lossmeter"
	"stacklab/sim"
	"stacklab/stack"
)

// The two hosts of every benchmark; with simConfig.v6 they also have
// the IPv6 addresses and the connections use them.
var (
	clientAddr  = netip.MustParsePrefix("10.0.0.1/24")
	serverAddr  = netip.MustParsePrefix("10.0.0.2/24")
	clientAddr6 = netip.MustParsePrefix("2001:db8::1/64")
	serverAddr6 = netip.MustParsePrefix("2001:db8::2/64")
)

// simConfig configures a [simNet].
type simConfig struct {
	mtu  int              // NIC MTU on both ends; 0 means 1500
	imp  sim.Impairments  // both directions
	tcp  stack.TCPOptions // both stacks
	tap  stack.Tap        // capture, or nil
	obs  stack.Observer   // trace, or nil
	seed uint64           // varies the links' random choices (loss, reordering); 0 as before
	// meter, if set, watches the client → server pipe's two ends
	// (retransmissions and spurious ones on the wire).
	meter *lossmeter.Meter
	v6    bool // connections over IPv6 (AF_INET6 sockets, 2001:db8::/64)
}

// simNet is two stacks, client and server, joined by a point-to-point
// Ethernet link made of two sim.Pipes on one virtual clock.
type simNet struct {
	clock          *sim.Clock
	client, server *stack.Stack
	up, down       *sim.Pipe // client → server, server → client
	ids            uint64
	family         stack.Family // of the sockets listen and connect open
	serverIP       netip.Addr   // the address they use
}

func newSimNet(tb testing.TB, cfg simConfig) *simNet {
	tb.Helper()
	if cfg.mtu == 0 {
		cfg.mtu = 1500
	}
	n := &simNet{clock: sim.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
	host := func(name string, seed uint64) *stack.Stack {
		return stack.New(stack.Options{
			Name:     name,
			Clock:    n.clock,
			Rand:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
			Observer: cfg.obs,
			Tap:      cfg.tap,
			PacketID: n.nextID,
			TCP:      cfg.tcp,
		})
	}
	n.client = host("client", 1)
	n.server = host("server", 2)
	pipe := func(from, to string, seed uint64) *sim.Pipe {
		return sim.NewPipeConfig(sim.PipeConfig{
			Clock:       n.clock,
			Rand:        rand.New(rand.NewPCG(seed+cfg.seed<<8, seed+1)),
			Impairments: cfg.imp,
			HeaderLen:   sim.HeaderLen(stack.LinkEthernet),
			Name:        from + "—" + to,
			From:        from,
			To:          to,
			Observer:    cfg.obs,
			// They deliver to the stacks, as a sim.Network's pipes do.
			PartialChecksums: true,
		})
	}
	n.up = pipe("client", "server", 3)
	n.down = pipe("server", "client", 4)
	var upLink stack.Link = n.up
	if cfg.meter != nil {
		upLink = cfg.meter.Link(n.up)
	}
	ccfg := stack.NICConfig{Name: "eth0", Type: stack.LinkEthernet, Addr: clientAddr, MTU: cfg.mtu}
	scfg := stack.NICConfig{Name: "eth0", Type: stack.LinkEthernet, Addr: serverAddr, MTU: cfg.mtu}
	n.family, n.serverIP = stack.AFInet, serverAddr.Addr()
	if cfg.v6 {
		ccfg.Addrs6 = []netip.Prefix{clientAddr6}
		scfg.Addrs6 = []netip.Prefix{serverAddr6}
		n.family, n.serverIP = stack.AFInet6, serverAddr6.Addr()
	}
	cnic, err := n.client.AddNIC(ccfg, upLink)
	if err != nil {
		tb.Fatal(err)
	}
	snic, err := n.server.AddNIC(scfg, n.down)
	if err != nil {
		tb.Fatal(err)
	}
	if cfg.meter != nil {
		n.up.SetDeliver(cfg.meter.Exit(snic.Deliver))
	} else {
		n.up.SetDeliver(snic.Deliver)
	}
	n.down.SetDeliver(cnic.Deliver)
	return n
}

func (n *simNet) nextID() uint64 { n.ids++; return n.ids }

// packets returns the frames sent over the link, both directions.
func (n *simNet) packets() uint64 { return n.up.Counters().Sent + n.down.Counters().Sent }

// listen opens a non-blocking listening socket on the server.
func (n *simNet) listen(tb testing.TB, port uint16, backlog int) int {
	tb.Helper()
	fd, err := n.server.SocketFamily(n.family, stack.SockStream)
	if err != nil {
		tb.Fatal(err)
	}
	if err := n.server.SetNonblock(fd, true); err != nil {
		tb.Fatal(err)
	}
	if err := n.server.Bind(fd, netip.AddrPortFrom(n.serverIP, port)); err != nil {
		tb.Fatal(err)
	}
	if err := n.server.Listen(fd, backlog); err != nil {
		tb.Fatal(err)
	}
	return fd
}

// connect opens a connection from the client to the server's listening
// socket lfd on port, running the clock until the server has accepted it,
// and returns both non-blocking descriptors. It polls before each call
// so that no EAGAIN error (and its allocation) is made on the way.
func (n *simNet) connect(tb testing.TB, lfd int, port uint16) (cfd, sfd int) {
	cfd, err := n.client.SocketFamily(n.family, stack.SockStream)
	if err != nil {
		tb.Fatal(err)
	}
	if err := n.client.SetNonblock(cfd, true); err != nil {
		tb.Fatal(err)
	}
	err = n.client.Connect(cfd, netip.AddrPortFrom(n.serverIP, port))
	if err != nil && !errors.Is(err, syscall.EINPROGRESS) {
		tb.Fatalf("connect: %v", err)
	}
	for n.server.Poll(lfd)&stack.PollIn == 0 || n.client.Poll(cfd)&stack.PollOut == 0 {
		if !n.clock.Step() {
			tb.Fatalf("connect: the simulation ran out of events before the connection was established")
		}
	}
	if err := n.client.SockError(cfd); err != nil {
		tb.Fatalf("connect: %v", err)
	}
	sfd, _, err = n.server.Accept(lfd)
	if err != nil {
		tb.Fatalf("accept: %v", err)
	}
	if err := n.server.SetNonblock(sfd, true); err != nil {
		tb.Fatal(err)
	}
	return cfd, sfd
}

// transfer sends total bytes from the client's cfd to the server's sfd,
// in writes of len(wbuf), reading into rbuf, until the server has read
// them all or the clock reaches deadline (if not zero). It returns the
// bytes the server read.
func (n *simNet) transfer(tb testing.TB, cfd, sfd int, total int64, deadline time.Time, wbuf, rbuf []byte) int64 {
	var sent, got int64
	for got < total {
		if !deadline.IsZero() && !n.clock.Now().Before(deadline) {
			break
		}
		progress := false
		if sent < total && n.client.Poll(cfd)&stack.PollOut != 0 {
			w := wbuf
			if rest := total - sent; rest < int64(len(w)) {
				w = w[:rest]
			}
			k, err := n.client.Send(cfd, w)
			if err != nil && !errors.Is(err, syscall.EAGAIN) {
				tb.Fatalf("send after %d bytes: %v", sent, err)
			}
			sent += int64(k)
			progress = k > 0
		}
		for n.server.Poll(sfd)&stack.PollIn != 0 {
			k, err := n.server.Recv(sfd, rbuf)
			if err != nil && !errors.Is(err, syscall.EAGAIN) {
				tb.Fatalf("recv after %d bytes: %v", got, err)
			}
			if k == 0 {
				if err == nil {
					tb.Fatalf("recv: end of stream after %d of %d bytes", got, total)
				}
				break
			}
			got += int64(k)
			progress = true
		}
		if !progress && !n.clock.Step() {
			tb.Fatalf("transfer stalled after %d bytes sent, %d received: no events left", sent, got)
		}
	}
	return got
}

// closePair closes both ends and runs the clock past TIME_WAIT, so the
// connection is gone from both stacks.
func (n *simNet) closePair(tb testing.TB, cfd, sfd int, linger time.Duration) {
	if err := n.client.Close(cfd); err != nil {
		tb.Fatalf("close client: %v", err)
	}
	if err := n.server.Close(sfd); err != nil {
		tb.Fatalf("close server: %v", err)
	}
	n.clock.RunFor(linger)
}
