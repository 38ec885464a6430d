package tun_test

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stacklab/stack/tun"
	"stacklab/stack/tun/tuntest"
)

// benchPacket is the UDP payload size that makes 1400-byte IPv4 packets.
const benchPacket = 1400 - 28

// udpLoad sends n datagrams of size bytes from a kernel socket in the
// namespace to dst and counts the echoes, keeping at most window in
// flight; a window that sees nothing for 100ms counts as lost. It returns
// the echoes received and the time taken.
func udpLoad(tb testing.TB, ns string, dst *net.UDPAddr, n, size, window int) (int, time.Duration) {
	tb.Helper()
	var conn *net.UDPConn
	if err := tun.InNetns(ns, func() (err error) {
		conn, err = net.DialUDP("udp4", nil, dst)
		return err
	}); err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadBuffer(4 << 20)
	conn.SetWriteBuffer(4 << 20)

	tokens := make(chan struct{}, window)
	for range window {
		tokens <- struct{}{}
	}
	var sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	payload := make([]byte, size)
	start := time.Now()
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			select {
			case <-tokens:
			case <-stop:
				return
			}
			if _, err := conn.Write(payload); err != nil {
				return
			}
			sent.Add(1)
		}
	}()
	buf := make([]byte, 65536)
	received, lost := 0, 0
	deadline := time.Now().Add(time.Duration(n)*time.Millisecond + 10*time.Second)
	for received+lost < n && time.Now().Before(deadline) {
		conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := conn.Read(buf); err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			out := int(sent.Load()) - received - lost
			lost += out
			for range out {
				select {
				case tokens <- struct{}{}:
				default:
				}
			}
			continue
		}
		received++
		select {
		case tokens <- struct{}{}:
		default:
		}
	}
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	return received, elapsed
}

// reportRate reports packets and megabytes per second of 1400-byte packets.
func reportRate(b *testing.B, packets int, elapsed time.Duration) {
	b.ReportMetric(float64(packets)/elapsed.Seconds(), "pkts/s")
	b.ReportMetric(float64(packets)*1400/1e6/elapsed.Seconds(), "MB/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkTUNRawEcho measures the ceiling for anything on a TUN device:
// a Go loop that reads each packet from the device and writes it back with
// addresses and ports swapped (which keeps every checksum valid), while a
// kernel UDP socket in the namespace sends 1400-byte packets through it.
func BenchmarkTUNRawEcho(b *testing.B) {
	ns := tuntest.Netns(b)
	dev, err := tun.Open(tun.Config{Name: "raw%d", Addr: kernelAddr, Netns: ns})
	if err != nil {
		b.Fatal(err)
	}
	defer rawEcho(dev)()
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

// rawEcho runs the ceiling's echo loop on dev until the returned function
// is called: read a packet, swap IPv4 addresses and UDP ports (the
// checksums stay valid), write it back.
func rawEcho(dev *tun.Device) (stop func()) {
	f := dev.File()
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		var t [4]byte
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			p := buf[:n]
			if n < 28 || p[0] != 0x45 || p[9] != 17 {
				continue
			}
			copy(t[:], p[12:16])
			copy(p[12:16], p[16:20])
			copy(p[16:20], t[:])
			p[20], p[21], p[22], p[23] = p[22], p[23], p[20], p[21]
			f.Write(p)
		}
	}()
	return func() {
		dev.Close()
		<-done
	}
}
