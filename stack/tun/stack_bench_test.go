package tun_test

import (
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
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
	return ns, dev, st
}

// BenchmarkTUNStackUDPEcho measures kernel ↔ stack packets per second: a
// kernel UDP socket sends 1400-byte packets to the stack's UDP echo
// server over the device. Compare with BenchmarkTUNRawEcho, the ceiling
// of the same device in the same run.
func BenchmarkTUNStackUDPEcho(b *testing.B) {
	ns, _, st := attach(b)
	pc, err := st.ListenUDP(netip.AddrPortFrom(stackAddr, 7))
	if err != nil {
		b.Fatal(err)
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
	defer func() {
		pc.Close()
		<-done
	}()
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
