package kernel

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// chunk is the size of each write in the bulk benchmarks.
const chunk = 64 << 10

// listen returns a loopback listener whose accepted sockets use mss (0
// means the route's default).
func listen(tb testing.TB, mss int) net.Listener {
	tb.Helper()
	lc := net.ListenConfig{Control: clampMSS(mss)}
	ln, err := lc.Listen(tb.Context(), "tcp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen on loopback: %v", err)
	}
	return ln
}

// clampMSS returns a socket control function that sets TCP_MAXSEG before
// the socket connects or listens.
func clampMSS(mss int) func(network, address string, c syscall.RawConn) error {
	if mss == 0 {
		return nil
	}
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, mss)
		})
		if err != nil {
			return err
		}
		return serr
	}
}

// BenchmarkBulk sends chunk-sized writes over one loopback connection to
// a reader that discards them, and reports throughput and Go heap
// allocations per MB (the kernel's own allocations are not visible).
func BenchmarkBulk(b *testing.B) {
	for _, tc := range []struct {
		name string
		mss  int
	}{
		{"mtu=1500", 1460},
		{"mtu=65535", 0}, // loopback MTU 65536
	} {
		b.Run(tc.name, func(b *testing.B) { benchBulk(b, tc.mss) })
	}
}

func benchBulk(b *testing.B, mss int) {
	ln := listen(b, mss)
	defer ln.Close()
	type result struct {
		n   int64
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		buf := make([]byte, 256<<10)
		var n int64
		for {
			k, err := c.Read(buf)
			n += int64(k)
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				done <- result{n, err}
				return
			}
		}
	}()
	d := net.Dialer{Control: clampMSS(mss)}
	c, err := d.DialContext(b.Context(), "tcp4", ln.Addr().String())
	if err != nil {
		b.Fatalf("dial: %v", err)
	}
	buf := make([]byte, chunk)
	b.SetBytes(chunk)
	b.ReportAllocs()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(buf); err != nil {
			b.Fatalf("write: %v", err)
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		b.Fatalf("shutdown: %v", err)
	}
	r := <-done
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	c.Close()
	if r.err != nil {
		b.Fatalf("reader: %v", r.err)
	}
	if want := int64(b.N) * chunk; r.n != want {
		b.Fatalf("reader got %d bytes, want %d", r.n, want)
	}
	mb := float64(r.n) / 1e6
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/mb, "allocs/MB")
}

// BenchmarkConnSetup measures dial + accept + close of loopback
// connections, one at a time, and reports connections per second. The
// client closes first; Linux reuses its TIME_WAIT ports on loopback
// (net.ipv4.tcp_tw_reuse = 2, the default).
func BenchmarkConnSetup(b *testing.B) {
	ln := listen(b, 0)
	defer ln.Close()
	accepted := make(chan error, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				accepted <- err
				return
			}
			c.Close()
			accepted <- nil
		}
	}()
	addr := ln.Addr().String()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := net.Dial("tcp4", addr)
		if err != nil {
			b.Fatalf("dial #%d: %v", i, err)
		}
		if err := <-accepted; err != nil {
			b.Fatalf("accept #%d: %v", i, err)
		}
		c.Close()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conns/s")
}

// idleConns is the number of connections held open in BenchmarkIdleMemory.
const idleConns = 10000

// BenchmarkIdleMemory opens idleConns loopback connections, leaves them
// idle, and reports the memory per endpoint (two endpoints per
// connection): the growth of the kernel's socket slabs plus the Go heap.
// It needs root for /proc/slabinfo and 2·idleConns descriptors; it raises
// RLIMIT_NOFILE when allowed, and otherwise opens as many connections as
// the limit leaves room for (reported as the "conns" metric).
func BenchmarkIdleMemory(b *testing.B) {
	if _, err := socketSlabBytes(); err != nil {
		b.Skipf("kernel memory not readable: %v", err)
	}
	n := idleConns
	if limit := raiseNoFile(2*idleConns + 256); limit < 2*idleConns+256 {
		n = (int(limit) - 256) / 2
		if n < 1000 {
			b.Skipf("RLIMIT_NOFILE %d leaves room for only %d connections", limit, n)
		}
	}
	for i := 0; i < b.N; i++ {
		perEndpoint, err := idleMemory(b, n)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(perEndpoint, "B/endpoint")
	}
	b.ReportMetric(float64(n), "conns")
}

func idleMemory(b *testing.B, n int) (float64, error) {
	ln := listen(b, 0)
	defer ln.Close()
	conns := make([]net.Conn, 0, 2*n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	runtime.GC()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	k0, err := socketSlabBytes()
	if err != nil {
		return 0, err
	}
	for i := 0; i < n; i++ {
		c, s, err := dialAccept(ln, i)
		if err != nil {
			return 0, err
		}
		conns = append(conns, c, s)
	}
	time.Sleep(50 * time.Millisecond) // let the last ACKs settle
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	k1, err := socketSlabBytes()
	if err != nil {
		return 0, err
	}
	goHeap := int64(ms1.HeapAlloc) - int64(ms0.HeapAlloc)
	return float64(k1-k0+goHeap) / float64(2*n), nil
}

// BenchmarkTimeWaitMemory leaves idleConns loopback connections in
// TIME_WAIT on the client side (it closes first; the server reads the
// EOF and closes too) and reports the kernel memory per connection in
// TIME_WAIT: the growth of the timewait socket slab (internal/perf:
// TimeWaitMemory). It needs root for /proc/slabinfo. The connections'
// ports stay taken for TIME_WAIT's 60 s after it returns.
func BenchmarkTimeWaitMemory(b *testing.B) {
	if _, err := slabBytes(timeWaitSlabs); err != nil {
		b.Skipf("kernel memory not readable: %v", err)
	}
	for range b.N {
		per, err := timeWaitMemory(b, idleConns)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(per, "B/time-wait")
	}
}

func timeWaitMemory(b *testing.B, n int) (float64, error) {
	ln := listen(b, 0)
	defer ln.Close()
	k0, err := slabBytes(timeWaitSlabs)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 1)
	for i := range n {
		c, s, err := dialAccept(ln, i)
		if err != nil {
			return 0, err
		}
		c.Close()
		if _, err := s.Read(buf); err != io.EOF {
			s.Close()
			return 0, fmt.Errorf("server read #%d: %v, want EOF", i, err)
		}
		s.Close()
	}
	time.Sleep(50 * time.Millisecond) // the last ACKs
	k1, err := slabBytes(timeWaitSlabs)
	if err != nil {
		return 0, err
	}
	return float64(k1-k0) / float64(n), nil
}

// dialAccept makes the i-th loopback connection to ln: both its ends.
func dialAccept(ln net.Listener, i int) (c, s net.Conn, err error) {
	if c, err = net.Dial("tcp4", ln.Addr().String()); err != nil {
		return nil, nil, fmt.Errorf("dial #%d: %w", i, err)
	}
	if s, err = ln.Accept(); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("accept #%d: %w", i, err)
	}
	return c, s, nil
}

// raiseNoFile tries to let the process open n descriptors and returns
// the soft limit in force afterwards.
func raiseNoFile(n uint64) uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if lim.Cur >= n {
		return lim.Cur
	}
	want := lim
	want.Cur = n
	if want.Max < n {
		want.Max = n
	}
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) == nil {
		return n
	}
	lim.Cur = lim.Max // the hard limit is as far as we may go
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) != nil {
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	return lim.Cur
}

// socketSlabs are the slab caches that grow with each TCP socket a Go
// program holds: the socket itself, its inode, and the epoll entries of
// Go's poller.
var socketSlabs = map[string]bool{
	"TCP":              true,
	"sock_inode_cache": true,
	"eventpoll_epi":    true,
	"eventpoll_pwq":    true,
}

// socketSlabBytes sums active objects × object size over socketSlabs.
func socketSlabBytes() (int64, error) { return slabBytes(socketSlabs) }

// timeWaitSlabs are the slab caches that grow with each TCP connection
// in TIME_WAIT: the timewait socket that takes the socket's place.
var timeWaitSlabs = map[string]bool{"tw_sock_TCP": true}

// slabBytes sums active objects × object size over the caches named.
func slabBytes(caches map[string]bool) (int64, error) {
	f, err := os.Open("/proc/slabinfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var total int64
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 4 || !caches[fs[0]] {
			continue
		}
		active, err1 := strconv.ParseInt(fs[1], 10, 64)
		size, err2 := strconv.ParseInt(fs[3], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("/proc/slabinfo: bad line %q", sc.Text())
		}
		total += active * size
		found++
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if found == 0 {
		return 0, errors.New("/proc/slabinfo lists none of the TCP socket caches")
	}
	return total, nil
}

// TestSocketSlabBytes checks that the kernel's socket memory can be read
// and grows when sockets are opened, so that BenchmarkIdleMemory measures
// something.
func TestSocketSlabBytes(t *testing.T) {
	k0, err := socketSlabBytes()
	if err != nil {
		t.Skipf("kernel memory not readable: %v", err)
	}
	ln := listen(t, 0)
	defer ln.Close()
	var conns []net.Conn
	for range 200 {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c, s)
	}
	k1, err := socketSlabBytes()
	for _, c := range conns {
		c.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	if k1-k0 < 400*1024 {
		t.Errorf("400 sockets grew the socket slabs by %d bytes, want at least 1 KiB each", k1-k0)
	}
}
