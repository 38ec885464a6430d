package tun_test

import (
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"stacklab/stack"
	"stacklab/stack/tun"
	"stacklab/stack/tun/tuntest"
)

// attach opens a TUN device in a fresh namespace with a stack on it,
// 10.99.0.1 (kernel) ↔ 10.99.0.2 (stack), capture off.
func attach(tb testing.TB) (string, *tun.Device, *stack.Stack) {
	tb.Helper()
	ns := tuntest.Netns(tb)
	dev, st := attachIn(tb, ns)
	return ns, dev, st
}

// attachIn is attach in an existing namespace.
func attachIn(tb testing.TB, ns string) (*tun.Device, *stack.Stack) {
	tb.Helper()
	dev, err := tun.Open(tun.Config{Name: "stk%d", Addr: kernelAddr, Netns: ns})
	if err != nil {
		tb.Fatal(err)
	}
	st := stack.New(stack.Options{Name: "stacklab", Clock: stack.RealClock{}, Rand: rand.New(rand.NewPCG(1, 2))})
	nic, err := st.AddNIC(stack.NICConfig{Name: "tun0", Type: dev.Type(), Addr: netip.PrefixFrom(stackAddr, 24), MTU: dev.MTU()}, dev)
	if err != nil {
		dev.Close()
		tb.Fatal(err)
	}
	if err := dev.Start(nic.Deliver); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { dev.Close() })
	return dev, st
}

// BenchmarkTUNStackUDPEcho measures kernel ↔ stack packets per second: a
// kernel UDP socket sends 1400-byte packets to the stack's UDP echo
// server over the device. Compare with BenchmarkTUNRawEcho, the ceiling
// of the same device in the same run.
func BenchmarkTUNStackUDPEcho(b *testing.B) {
	ns, _, st := attach(b)
	defer udpEcho(b, st)()
	dst := &net.UDPAddr{IP: stackAddr.AsSlice(), Port: 7}
	udpLoad(b, ns, dst, 1000, benchPacket, 128) // warm up
	b.ResetTimer()
	got, elapsed := udpLoad(b, ns, dst, max(b.N, 1000), benchPacket, 128)
	b.StopTimer()
	if got == 0 {
		b.Fatal("no echoes")
	}
	reportRate(b, got, elapsed)
}

// BenchmarkTUNStackTCP measures bulk TCP between the kernel and the stack
// over the device (MTU 1500), each direction on one connection: MB/s of
// payload and packets/s through the device.
func BenchmarkTUNStackTCP(b *testing.B) {
	const chunk = 1 << 20
	b.Run("kernel-to-stack", func(b *testing.B) {
		ns, dev, st := attach(b)
		l, err := st.ListenTCP(netip.AddrPortFrom(stackAddr, 9), 8)
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		read := make(chan int64, 1)
		go func() {
			c, err := l.Accept()
			if err != nil {
				read <- 0
				return
			}
			defer c.Close()
			n, _ := io.Copy(io.Discard, c)
			read <- n
		}()
		var c net.Conn
		if err := tun.InNetns(ns, func() (err error) {
			c, err = net.DialTimeout("tcp4", stackAddr.String()+":9", 10*time.Second)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		bulk(b, dev, c, chunk, read)
	})
	b.Run("stack-to-kernel", func(b *testing.B) {
		ns, dev, st := attach(b)
		var l net.Listener
		if err := tun.InNetns(ns, func() (err error) {
			l, err = net.Listen("tcp4", "10.99.0.1:9")
			return err
		}); err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		read := make(chan int64, 1)
		go func() {
			c, err := l.Accept()
			if err != nil {
				read <- 0
				return
			}
			defer c.Close()
			n, _ := io.Copy(io.Discard, c)
			read <- n
		}()
		c, err := st.DialTCP(b.Context(), netip.AddrPort{}, netip.MustParseAddrPort("10.99.0.1:9"))
		if err != nil {
			b.Fatal(err)
		}
		bulk(b, dev, c, chunk, read)
	})
}

// bulk writes b.N chunks to c, closes it, waits for the reader's count
// and reports the rates.
func bulk(b *testing.B, dev *tun.Device, c net.Conn, chunk int, read <-chan int64) {
	buf := make([]byte, chunk)
	b.SetBytes(int64(chunk))
	before := dev.Stats()
	b.ResetTimer()
	start := time.Now()
	c.SetDeadline(time.Now().Add(5 * time.Minute))
	for range b.N {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	c.Close()
	var n int64
	select {
	case n = <-read:
	case <-time.After(time.Minute):
		b.Fatal("reader did not finish within a minute")
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if n != int64(b.N*chunk) {
		b.Fatalf("reader got %d bytes, want %d", n, b.N*chunk)
	}
	after := dev.Stats()
	pkts := after.RxPackets - before.RxPackets + after.TxPackets - before.TxPackets
	b.ReportMetric(float64(pkts)/elapsed.Seconds(), "pkts/s")
}

// udpEcho runs a UDP echo server on the stack's port 7 until the returned
// function is called.
func udpEcho(tb testing.TB, st *stack.Stack) (stop func()) {
	pc, err := st.ListenUDP(netip.AddrPortFrom(stackAddr, 7))
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	return func() {
		pc.Close()
		<-done
	}
}

// BenchmarkTUNStackVsCeiling runs the stack's UDP echo and the raw echo
// ceiling (BenchmarkTUNRawEcho's loop on a second device in the same
// namespace) in alternating rounds of at least 20,000 packets, so that
// both see the same machine, and reports both rates and the stack's
// share of the ceiling (%ceiling, the median over rounds of each round's
// ratio, so that a burst of load elsewhere spoils a round, not the
// figure; the target is at least 80).
func BenchmarkTUNStackVsCeiling(b *testing.B) {
	ns := tuntest.Netns(b)
	raw, err := tun.Open(tun.Config{Name: "raw%d", Addr: netip.MustParsePrefix("10.98.0.1/24"), Netns: ns})
	if err != nil {
		b.Fatal(err)
	}
	defer rawEcho(raw)()
	_, st := attachIn(b, ns)
	defer udpEcho(b, st)()
	rawDst := &net.UDPAddr{IP: net.IPv4(10, 98, 0, 2), Port: 7}
	stackDst := &net.UDPAddr{IP: stackAddr.AsSlice(), Port: 7}
	udpLoad(b, ns, rawDst, 1000, benchPacket, 128)
	udpLoad(b, ns, stackDst, 1000, benchPacket, 128)
	const rounds = 7
	n := max(b.N/rounds, 20000)
	var rawPkts, stackPkts int
	var rawTime, stackTime time.Duration
	var ratios []float64
	b.ResetTimer()
	for range rounds {
		rp, rd := udpLoad(b, ns, rawDst, n, benchPacket, 128)
		rawPkts, rawTime = rawPkts+rp, rawTime+rd
		sp, sd := udpLoad(b, ns, stackDst, n, benchPacket, 128)
		stackPkts, stackTime = stackPkts+sp, stackTime+sd
		if rp > 0 && sp > 0 {
			ratios = append(ratios, (float64(sp)/sd.Seconds())/(float64(rp)/rd.Seconds()))
		}
	}
	b.StopTimer()
	if rawPkts == 0 || stackPkts == 0 {
		b.Fatal("no echoes")
	}
	rawRate := float64(rawPkts) / rawTime.Seconds()
	stackRate := float64(stackPkts) / stackTime.Seconds()
	b.ReportMetric(rawRate, "ceiling-pkts/s")
	b.ReportMetric(stackRate, "pkts/s")
	b.ReportMetric(stackRate*1400/1e6, "MB/s")
	slices.Sort(ratios)
	b.ReportMetric(100*ratios[len(ratios)/2], "%ceiling")
	b.ReportMetric(0, "ns/op")
}
