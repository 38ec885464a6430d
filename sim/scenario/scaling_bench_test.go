package scenario

import (
	"fmt"
	"strings"
	"testing"
)

// The scaling benchmarks measure how a run's wall time grows with what
// a scenario asks for: simulated time, flows on one bottleneck, routers
// in a chain. bench/scaling.sh runs them and fits the exponent (wall
// time ∝ xᵏ) that the README's scaling table shows.

// runScaled loads src and runs it b.N times, reporting the packets the
// run moved per wall-clock second.
func runScaled(b *testing.B, src string) {
	b.Helper()
	sc, err := Load("scale.yaml", []byte(src))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var pkts int
	for b.Loop() {
		res, err := sc.Run(RunOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if !res.Passed() {
			b.Fatal(res.Failures[0])
		}
		pkts = 0
		for _, c := range res.Conns {
			pkts += c.PacketsAB + c.PacketsBA
		}
	}
	b.ReportMetric(float64(pkts), "pkts/run")
}

// BenchmarkScaleDuration: one bulk flow on a 10 Mbit/s, 20 ms link that
// lasts about 1 to 16 simulated seconds (1.2 MB a second).
func BenchmarkScaleDuration(b *testing.B) {
	for _, secs := range []int{1, 2, 4, 8, 16} {
		b.Run(fmt.Sprintf("sim=%ds", secs), func(b *testing.B) {
			runScaled(b, fmt.Sprintf(`duration: 60s
hosts:
  client: {addr: 10.0.0.1/24}
  server: {addr: 10.0.0.2/24, apps: ["discard_server(:9)"]}
links:
  - {ends: [client, server], delay: 10ms, rate: 10Mbit}
programs:
  client: |
    s = socket(tcp); connect(s, server:9)
    send(s, %d); close(s)
`, secs*1200000))
		})
	}
}

// BenchmarkScaleFlows: 1 to 1,000 bulk flows from one host, each a thread
// of its own, sharing one 100 Mbit/s, 20 ms bottleneck and 48 MB between
// them: the payload stays the same, so the growth is what each flow
// costs beyond its packets (handshakes, timers, loss at the shared queue).
// The server listens with a backlog of 1,024, so its SYN queue holds all
// 1,000 at once, as Linux's request queue (the listen backlog bounds it;
// SYN cookies would begin past it).
func BenchmarkScaleFlows(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("flows=%d", n), func(b *testing.B) {
			runScaled(b, fmt.Sprintf(`duration: 120s
hosts:
  client: {addr: 10.0.0.1/24}
  server: {addr: 10.0.0.2/24}
links:
  - {ends: [client, server], delay: 10ms, rate: 100Mbit, queue: 1000}
programs:
  server: |
    l = socket(tcp); bind(l, :9); listen(l, 1024)
    repeat %[1]d {
      c = accept(l)
      spawn { recv(c, all); close(c) }
    }
  client: |
    repeat %[1]d {
      spawn { s = socket(tcp); connect(s, server:9); send(s, %[2]d); close(s) }
    }
`, n, 48000000/n))
		})
	}
}

// BenchmarkScaleRouters: one 4 MiB transfer through a chain of 1 to 32
// routers, 100 Mbit/s and 1 ms per hop.
func BenchmarkScaleRouters(b *testing.B) {
	for _, n := range []int{1, 2, 4, 8, 16, 32} {
		b.Run(fmt.Sprintf("routers=%d", n), func(b *testing.B) {
			var sb strings.Builder
			fmt.Fprintf(&sb, "duration: 60s\nhosts:\n  client: {addr: 10.0.0.1/24, gateway: 10.0.0.254}\n  server: {addr: 10.0.%d.1/24, gateway: 10.0.%d.253}\nrouters:\n", n, n)
			for i := 1; i <= n; i++ {
				fmt.Fprintf(&sb, "  r%d:\n    addrs: [10.0.%d.254/24, 10.0.%d.253/24]\n", i, i-1, i)
				if i > 1 {
					fmt.Fprintf(&sb, "    routes: [{dst: 10.0.0.0/24, via: 10.0.%d.253}]\n", i-1)
				}
				if i < n {
					fmt.Fprintf(&sb, "    gateway: 10.0.%d.254\n", i)
				}
			}
			sb.WriteString("links:\n  - {ends: [client, r1], delay: 1ms, rate: 100Mbit}\n")
			for i := 1; i < n; i++ {
				fmt.Fprintf(&sb, "  - {ends: [r%d, r%d], delay: 1ms, rate: 100Mbit}\n", i, i+1)
			}
			fmt.Fprintf(&sb, "  - {ends: [r%d, server], delay: 1ms, rate: 100Mbit}\n", n)
			sb.WriteString(`programs:
  server: |
    l = socket(tcp); bind(l, :9); listen(l, 1); c = accept(l)
    recv(c, all) == 4MiB
  client: |
    s = socket(tcp); connect(s, server:9); send(s, 4MiB); close(s)
`)
			runScaled(b, sb.String())
		})
	}
}
