package perf

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"stacklab/stack"
)

// BenchmarkConnSetup opens, accepts and closes one connection per
// iteration in virtual time, and runs the clock past TIME_WAIT so each
// connection's whole life is in the measurement. It reports connections
// per wall second.
func BenchmarkConnSetup(b *testing.B) {
	n := newSimNet(b, simConfig{})
	const port = 80
	lfd := n.listen(b, port, 128)
	// Run each connection past TIME_WAIT (2·MSL, MSL 30 s by default).
	const linger = 61 * time.Second
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		cfd, sfd := n.connect(b, lfd, port)
		n.closePair(b, cfd, sfd, linger)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conns/s")
}

// idleConns is the number of connections BenchmarkIdleMemory holds open.
const idleConns = 10000

// BenchmarkIdleMemory establishes idleConns connections between two
// stacks, lets them go idle, and reports the heap growth per endpoint
// (two endpoints per connection). Run it with -benchtime 1x: each
// iteration builds all the connections again.
func BenchmarkIdleMemory(b *testing.B) {
	for range b.N {
		b.ReportMetric(idleMemory(b, idleConns), "B/endpoint")
	}
	b.ReportMetric(idleConns, "conns")
}

// idleMemory returns the heap bytes per endpoint of conns idle
// connections, counting the two stacks' growth from the moment the
// listener is ready.
func idleMemory(tb testing.TB, conns int) float64 {
	n := newSimNet(tb, simConfig{})
	const port = 80
	lfd := n.listen(tb, port, 128)
	// One connection first, so the ARP entries, the pools and the fd
	// tables' first growth are not counted per endpoint.
	c0, s0 := n.connect(tb, lfd, port)
	n.clock.RunFor(time.Second)
	// Two collections each time: the first moves the free TCP buffers
	// pooled for reuse (sync.Pool, stack/tcp's buffer.go) to the pool's
	// victim cache, the second frees them, so that the heap holds only
	// what the stacks hold.
	runtime.GC()
	runtime.GC()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for range conns {
		n.connect(tb, lfd, port)
	}
	n.clock.RunFor(time.Second) // delayed ACKs and handshake timers settle
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	if st := n.client.Poll(c0); st&stack.PollErr != 0 {
		tb.Fatalf("first connection failed while idle: poll %v", st)
	}
	info, err := n.server.TCPInfo(s0)
	if err != nil || info.State != "ESTABLISHED" {
		tb.Fatalf("first connection is %q (%v), want ESTABLISHED", info.State, err)
	}
	runtime.KeepAlive(n)
	return float64(int64(ms1.HeapAlloc)-int64(ms0.HeapAlloc)) / float64(2*conns)
}

// BenchmarkTimeWaitMemory leaves idleConns connections in TIME_WAIT on
// the client (it closes first; the server reads the FIN and closes too)
// and reports the heap growth per connection in TIME_WAIT, beside the
// size of the Linux kernel's timewait socket on this machine (the
// tw_sock_TCP slab's object size in /proc/slabinfo, when it is readable:
// Linux swaps a socket that enters TIME_WAIT for one). Run it with
// -benchtime 1x.
func BenchmarkTimeWaitMemory(b *testing.B) {
	for range b.N {
		b.ReportMetric(timeWaitMemory(b, idleConns), "B/time-wait")
	}
	if size, ok := linuxSlabObjSize("tw_sock_TCP"); ok {
		b.ReportMetric(float64(size), "linux-B/time-wait")
	}
}

// timeWaitMemory returns the heap bytes per connection of conns
// connections in TIME_WAIT, counting the two stacks' growth from the
// moment the listener is ready.
func timeWaitMemory(tb testing.TB, conns int) float64 {
	per, n := closedMemory(tb, conns, "TIME_WAIT", func(n *simNet, s int) {
		n.clock.RunFor(time.Millisecond) // the FIN reaches the server
		if err := n.server.Close(s); err != nil {
			tb.Fatal(err)
		}
		n.clock.RunFor(time.Millisecond) // 10,000 of them within 2·MSL
	}, nil)
	if len(n.server.Sockets()) != 1 {
		tb.Fatalf("the server holds %d sockets, want its listener alone", len(n.server.Sockets()))
	}
	return per
}

// BenchmarkFinWait2Memory is BenchmarkTimeWaitMemory for orphans in
// FIN_WAIT_2: the client closes first, the server ACKs its FIN and
// sends none (it is then torn down, Stack.Destroy, which sends nothing,
// so that only the client's connections remain), and it reports the
// heap growth per client connection left in FIN_WAIT_2. Linux makes such
// an orphan a timewait socket too (tcp_time_wait in its FIN_WAIT2
// substate), as stacklab packs it. Run it with -benchtime 1x.
func BenchmarkFinWait2Memory(b *testing.B) {
	for range b.N {
		b.ReportMetric(finWait2Memory(b, idleConns), "B/fin-wait-2")
	}
	if size, ok := linuxSlabObjSize("tw_sock_TCP"); ok {
		b.ReportMetric(float64(size), "linux-B/fin-wait-2")
	}
}

// finWait2Memory returns the heap bytes per connection of conns orphans
// in FIN_WAIT_2 on the client, from the moment the listener is ready.
func finWait2Memory(tb testing.TB, conns int) float64 {
	per, _ := closedMemory(tb, conns, "FIN_WAIT_2", func(n *simNet, _ int) {
		n.clock.RunFor(time.Millisecond) // the FIN and its ACK
	}, func(n *simNet) { n.server.Destroy() })
	return per
}

// closedMemory opens conns connections one by one that the client
// closes first, then after(n, server descriptor) for each, and returns
// the heap growth per connection from the moment the listener is ready
// (one connection before, for the ARP entries, the pools and the
// tables' first growth), once end (if any) has run and every one of
// them waits on the client in state; and the network, for more checks.
func closedMemory(tb testing.TB, conns int, state string, after func(n *simNet, s int), end func(n *simNet)) (float64, *simNet) {
	n := newSimNet(tb, simConfig{})
	const port = 80
	lfd := n.listen(tb, port, 128)
	closeOne := func() {
		c, s := n.connect(tb, lfd, port)
		if err := n.client.Close(c); err != nil {
			tb.Fatal(err)
		}
		after(n, s)
	}
	closeOne()
	runtime.GC()
	runtime.GC()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for range conns {
		closeOne()
	}
	if end != nil {
		end(n)
	}
	n.clock.RunFor(time.Second) // well within 2·MSL and the FIN_WAIT_2 timeout
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	in := 0
	for _, e := range n.client.Sockets() {
		if e.State == state {
			in++
		}
	}
	if in != conns+1 {
		tb.Fatalf("%d connections in %s on the client, want %d", in, state, conns+1)
	}
	return float64(int64(ms1.HeapAlloc)-int64(ms0.HeapAlloc)) / float64(conns), n
}

// linuxSlabObjSize returns the object size of a kernel slab cache from
// /proc/slabinfo (readable by root).
func linuxSlabObjSize(name string) (int, bool) {
	data, err := os.ReadFile("/proc/slabinfo")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) > 3 && f[0] == name {
			size, err := strconv.Atoi(f[3])
			return size, err == nil
		}
	}
	return 0, false
}

// TestTimeWaitMemorySmall runs the TIME_WAIT and FIN_WAIT_2 memory
// measurements on a few connections, so the harness is checked by
// `go test`.
func TestTimeWaitMemorySmall(t *testing.T) {
	for state, measure := range map[string]func(testing.TB, int) float64{"TIME_WAIT": timeWaitMemory, "FIN_WAIT_2": finWait2Memory} {
		per := measure(t, 200)
		if per <= 0 {
			t.Errorf("memory per connection in %s %v B: the heap did not grow", state, per)
		}
		t.Logf("%.0f B per connection in %s (200 connections)", per, state)
	}
}

// TestIdleMemorySmall runs the idle-memory measurement on a few
// connections, so the harness is checked by `go test`.
func TestIdleMemorySmall(t *testing.T) {
	per := idleMemory(t, 200)
	if per <= 0 {
		t.Errorf("idle memory per endpoint %v B: the heap did not grow", per)
	}
	t.Logf("%.0f B per idle endpoint (200 connections)", per)
}
