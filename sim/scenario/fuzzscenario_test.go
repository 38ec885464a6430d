package scenario

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// choices hands out decisions from fuzz input; once the input runs out
// every decision is 0.
type choices struct{ b []byte }

func (c *choices) n(k int) int {
	if len(c.b) == 0 || k <= 1 {
		return 0
	}
	v := int(c.b[0])
	c.b = c.b[1:]
	return v % k
}

func (c *choices) pick(opts ...string) string { return opts[c.n(len(opts))] }

// genScenario builds a random but valid scenario from data: one to three
// clients beside a server, on one link or each through a router, links
// with random delay, rate, queue, loss, duplication, corruption,
// reordering and MTU, events (links down and up, impairments changed, a
// crash and restart, an injected RST) and programs drawn from TCP, UDP
// and ICMP templates.
func genScenario(data []byte) string {
	c := &choices{b: data}
	var b strings.Builder
	seed := 1 + c.n(256)*256 + c.n(256)
	dur := 1 + c.n(8)
	fmt.Fprintf(&b, "name: fuzz\nseed: %d\nduration: %ds\n", seed, dur)
	nClients := 1 + c.n(3)
	routed := nClients > 1 || c.n(2) == 1
	serverApps := []string{"", "echo_server(:7)", "discard_server(:9)"}
	app := serverApps[c.n(len(serverApps))]
	b.WriteString("hosts:\n")
	clients := make([]string, nClients)
	for i := range clients {
		clients[i] = fmt.Sprintf("c%d", i+1)
		if routed {
			fmt.Fprintf(&b, "  %s: {addr: 10.0.%d.1/24, gateway: 10.0.%d.254}\n", clients[i], i+1, i+1)
		} else {
			fmt.Fprintf(&b, "  %s: {addr: 10.0.0.1/24}\n", clients[i])
		}
	}
	tcp := c.pick("", ", tcp: {profile: rfc}", ", tcp: {sack: false, timestamps: false}", ", tcp: {congestion: newreno, ecn: on}")
	if routed {
		fmt.Fprintf(&b, "  server: {addr: 10.0.9.1/24, gateway: 10.0.9.254%s", tcp)
	} else {
		fmt.Fprintf(&b, "  server: {addr: 10.0.0.2/24%s", tcp)
	}
	if app != "" {
		fmt.Fprintf(&b, ", apps: [%q]", app)
	}
	b.WriteString("}\n")
	var links [][2]string
	if routed {
		b.WriteString("routers:\n  r1: {addrs: [")
		for i := range clients {
			fmt.Fprintf(&b, "10.0.%d.254/24, ", i+1)
		}
		b.WriteString("10.0.9.254/24]}\n")
		for _, cl := range clients {
			links = append(links, [2]string{cl, "r1"})
		}
		links = append(links, [2]string{"r1", "server"})
	} else {
		links = append(links, [2]string{clients[0], "server"})
	}
	b.WriteString("links:\n")
	for _, l := range links {
		fmt.Fprintf(&b, "  - ends: [%s, %s]\n", l[0], l[1])
		fmt.Fprintf(&b, "    delay: %dms\n", c.n(50))
		if r := c.pick("", "1Mbit", "10Mbit", "100Mbit"); r != "" {
			fmt.Fprintf(&b, "    rate: %s\n", r)
			if q := c.pick("", "10", "100", "64KiB"); q != "" {
				fmt.Fprintf(&b, "    queue: %s\n", q)
			}
		}
		for _, k := range []string{"loss", "duplicate", "corrupt", "reorder"} {
			if c.n(3) == 0 {
				fmt.Fprintf(&b, "    %s: %d%%\n", k, c.n(25))
			}
		}
		if c.n(4) == 0 {
			fmt.Fprintf(&b, "    jitter: %dms\n", c.n(10))
		}
		if m := c.pick("", "", "576", "1280"); m != "" {
			fmt.Fprintf(&b, "    mtu: %s\n", m)
		}
	}
	if n := c.n(4); n > 0 {
		b.WriteString("events:\n")
		for range n {
			l := links[c.n(len(links))]
			name := l[0] + "-" + l[1]
			at := fmt.Sprintf("%dms", c.n(dur*1000))
			switch c.n(5) {
			case 0:
				fmt.Fprintf(&b, "  - {at: %s, link: %s, state: down}\n", at, name)
				fmt.Fprintf(&b, "  - {at: %dms, link: %s, state: up}\n", c.n(dur*1000), name)
			case 1:
				fmt.Fprintf(&b, "  - {at: %s, link: %s, set: {loss: %d%%}}\n", at, name, c.n(60))
			case 2:
				fmt.Fprintf(&b, "  - {at: %s, link: %s, forward: {delay: %dms, duplicate: %d%%}}\n", at, name, c.n(100), c.n(20))
			case 3:
				fmt.Fprintf(&b, "  - {at: %s, crash: server}\n", at)
				fmt.Fprintf(&b, "  - {at: %dms, restart: server}\n", c.n(dur*1000))
			case 4:
				fmt.Fprintf(&b, "  - {at: %s, inject: \"%s > server:7 [R] seq %d\"}\n", at, clients[0], c.n(3000))
			}
		}
	}
	b.WriteString("programs:\n")
	if app == "" {
		fmt.Fprintf(&b, "  server: %q\n", c.pick(
			"l = socket(tcp); bind(l, :7); listen(l, 8); c = accept(l); recv(c, all); close(c)",
			"u = socket(udp); bind(u, :7); repeat 5 { recvfrom(u, any) }",
			"l = socket(tcp); bind(l, :7); listen(l, 2); repeat 3 { c = accept(l); send(c, 2KiB); close(c) }",
			"sleep 100ms",
		))
	}
	for _, cl := range clients {
		size := []string{"1", "1KiB", "64KiB", "256KiB"}[c.n(4)]
		fmt.Fprintf(&b, "  %s: %q\n", cl, c.pick(
			"s = socket(tcp); connect(s, server:7); send(s, "+size+"); shutdown(s, wr); recv(s, all); close(s)",
			"s = socket(tcp); connect(s, server:9); send(s, "+size+"); close(s)",
			"s = socket(tcp); setsockopt(s, nodelay, 1); connect(s, server:7); repeat 5 { send(s, \"ping\"); sleep 10ms }; setsockopt(s, linger, 0); close(s)",
			"v = socket(udp); repeat 5 { sendto(v, "+size+", server:7) }; close(v)",
			"ping(server, 3, 100ms)",
			"s = socket(tcp); nonblock(s); connect(s, server:81) -> EINPROGRESS; poll(s, out, 2s); close(s)",
			"every 200ms for 1s { s = socket(tcp); connect(s, server:7); close(s) }",
		))
	}
	return b.String()
}

// runGenerated runs src into dir and returns the run's bytes: every
// capture and the trace, in order.
func runGenerated(t *testing.T, src, dir string) []byte {
	t.Helper()
	sc, err := Load("fuzz.yaml", []byte(src))
	if err != nil {
		t.Fatalf("a generated scenario does not load: %v\n%s", err, src)
	}
	var trace bytes.Buffer
	if _, err := sc.Run(RunOptions{OutDir: dir, Trace: &trace, WallTimeout: 60 * time.Second}); err != nil {
		t.Fatalf("run: %v\n%s", err, src)
	}
	out := trace.Bytes()
	files, _ := filepath.Glob(filepath.Join(dir, "*.pcapng"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(append(out, filepath.Base(f)...), b...)
	}
	return out
}

// maxFuzzOutput bounds a generated run's captures and trace: at most
// 8 virtual seconds of at most 3 clients' bounded programs.
const maxFuzzOutput = 64 << 20

// FuzzScenario generates random but valid scenarios (topology, faults,
// events, programs) and runs each twice: it must load, end within its
// virtual duration and the wall-clock limit without a panic, give the
// same captures and trace byte for byte both times (same seed, same
// bytes), and keep its output and the heap bounded.
func FuzzScenario(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 7, 3, 0, 1, 0, 1, 2, 2, 20, 0, 5, 0, 5, 1, 1, 0, 0, 0})
	f.Add([]byte{1, 2, 5, 2, 2, 1, 3, 10, 1, 1, 0, 20, 0, 3, 0, 7, 2, 1, 3, 0, 2, 4, 1, 2, 3, 1, 0, 4, 2, 5})
	f.Add([]byte{2, 9, 7, 1, 0, 2, 0, 30, 2, 3, 0, 10, 1, 0, 2, 0, 5, 40, 0, 2, 2, 0, 0, 3, 3, 1, 100, 0, 6, 3, 5})
	f.Add(bytes.Repeat([]byte{3, 1, 4, 1, 5, 9, 2, 6}, 8))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 512 {
			data = data[:512]
		}
		src := genScenario(data)
		a := runGenerated(t, src, t.TempDir())
		b := runGenerated(t, src, t.TempDir())
		if !bytes.Equal(a, b) {
			t.Fatalf("same scenario and seed, different bytes (%d vs %d)\n%s", len(a), len(b), src)
		}
		if len(a) > maxFuzzOutput {
			t.Fatalf("%d bytes of captures and trace\n%s", len(a), src)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc > 1<<30 {
			t.Fatalf("heap %d MB after a run\n%s", ms.HeapAlloc>>20, src)
		}
	})
}

// TestGenScenarioValid: the generator's scenarios load for many inputs
// (FuzzScenario runs them; this checks the generator alone, quickly).
func TestGenScenarioValid(t *testing.T) {
	for i := range 300 {
		data := make([]byte, 64)
		x := uint32(i*2654435761 + 1)
		for j := range data {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			data[j] = byte(x)
		}
		src := genScenario(data)
		if _, err := Load("fuzz.yaml", []byte(src)); err != nil {
			t.Fatalf("input %d: %v\n%s", i, err, src)
		}
	}
}
