package scenario

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"
)

// twoHosts is the network most tests use: a 10 ms link at 100 Mbit/s.
const twoHosts = `hosts:
  client: {addr: 10.0.0.1/24}
  server: {addr: 10.0.0.2/24}
links:
  - ends: [client, server]
    delay: 10ms
    rate: 100Mbit
`

func runSrc(t *testing.T, src string) (*Result, string) {
	t.Helper()
	sc, err := Load("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var trace bytes.Buffer
	res, err := sc.Run(RunOptions{Trace: &trace})
	if err != nil {
		t.Fatal(err)
	}
	return res, trace.String()
}

// runTraced runs src, reports its failures, and checks that the trace
// holds each of wants (printing it with -v); it returns the trace.
func runTraced(t *testing.T, src string, wants ...string) string {
	t.Helper()
	res, trace := runSrc(t, src)
	reportFailures(t, res)
	if testing.Verbose() {
		t.Log(trace)
	}
	for _, w := range wants {
		if !strings.Contains(trace, w) {
			t.Errorf("trace lacks %q", w)
		}
	}
	return trace
}

// reportFailures reports each of res's failures as a test error.
func reportFailures(t *testing.T, res *Result) {
	t.Helper()
	for _, f := range res.Failures {
		t.Errorf("%s", f)
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		fails []string // substrings of the failures, in order; none: must pass
		trace []string // substrings of the trace
	}{
		{
			name: "request reply",
			src: twoHosts + `programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8)
    c = accept(l)
    recv(c, 5) == "hello"
    send(c, "world"); close(c)
  client: |
    sleep 1ms
    s = socket(tcp); connect(s, server:80)
    send(s, "hello"); recv(s, 5) == "world"; close(s)
expect:
  - client > server [S]
  - server > client [S.] ack 1
  - client > server [.]
  - client > server [P.] seq 1:6
  - no [R]
  - count client > server [S] == 1
  - on server: client > server [S]
  - client tcp.ActiveOpens == 1
`,
			trace: []string{"connect(3, 10.0.0.2:80) → blocks", "connect(3) → 0", `recv(4) → 5 "hello"`},
		},
		{
			name: "wrong data and wrong packet",
			src: twoHosts + `programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8)
    c = accept(l)
    recv(c, 5) == "howdy"
  client: |
    s = socket(tcp); connect(s, server:80)
    send(s, "hello"); close(s)
expect:
  - server > client [R.]
  - client tcp.ActiveOpens == 2
`,
			fails: []string{
				`t.yaml:12: expectation failed: recv(c, 5) == "howdy"`,
				`t.yaml:17: expectation failed: server > client [R.]`,
				`t.yaml:18: expectation failed: client tcp.ActiveOpens == 2`,
			},
		},
		{
			name: "refused expected and unexpected",
			src: twoHosts + `programs:
  client: |
    s = socket(tcp)
    connect(s, server:81) -> ECONNREFUSED
    t = socket(tcp)
    connect(t, server:82)
`,
			fails: []string{"connect failed with ECONNREFUSED; write `-> ECONNREFUSED`"},
		},
		{
			name: "expected error that does not come",
			src: twoHosts + `programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8); c = accept(l)
  client: |
    s = socket(tcp)
    connect(s, server:80) -> ECONNREFUSED
`,
			fails: []string{"connect returned 0 (success), expected ECONNREFUSED"},
		},
		{
			name: "non-blocking connect and poll",
			src: twoHosts + `programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8); c = accept(l)
    recv(c, all) == 3
    close(c)
  client: |
    s = socket(tcp); nonblock(s)
    connect(s, server:80) -> EINPROGRESS
    recv(s, any) -> EAGAIN
    poll(s, out)
    send(s, 3)
    close(s)
`,
			trace: []string{"connect(3, 10.0.0.2:80) → EINPROGRESS", "recv(3, any) → EAGAIN", "poll(3, out) → blocks", "poll(3) → out"},
		},
		{
			name: "bulk with pattern check and socket internals",
			src: twoHosts + `programs:
  server: |
    l = socket(tcp); bind(l, :5001); listen(l, 1); c = accept(l)
    recv(c, all) == 200KiB
    close(c)
  client: |
    s = socket(tcp); connect(s, server:5001)
    send(s, 200KiB)
    sleep 1s
    close(s)
expect:
  - at 45ms: client fd 3 state == ESTABLISHED
  - at 45ms: client fd 3 srtt >= 20ms
  - at 45ms: client fd 3 cwnd > 0
  - at 45ms: client fd s state == ESTABLISHED
  - at 100ms: server fd c rto >= 200ms
  - at 100ms: server fd 4 state == ESTABLISHED
  - client fd 3 state == ESTABLISHED
`,
			fails: []string{"t.yaml:25: expectation failed: client fd 3 state == ESTABLISHED", "no such socket"},
		},
		{
			name: "targeted drop is retransmitted",
			src: twoHosts + `programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8); c = accept(l)
    recv(c, 10) == "helloworld"
    close(c)
  client: |
    s = socket(tcp); connect(s, server:80)
    send(s, "hello"); sleep 100ms; send(s, "world")
    recv(s, all) == ""
    close(s)
faults:
  - drop 1st client > server [P.]
expect:
  # the first segment is lost; Nagle holds "world" back until the tail
  # loss probe sends it (RFC 8985 §7.3: new data, Nagle off); its SACK
  # shows "hello" lost (RACK), which is resent
  - client > server [P.] seq 1:6
  - client > server [P.] seq 6:11
  - client > server [P.] seq 1:6
  - on server: client > server [P.] seq 1:6
  - count client > server [P.] seq 1:6 == 2
  - client tcp.RetransSegs >= 1
`,
			trace: []string{"link: dropped"},
		},
		{
			name: "delayed SYN-ACK",
			src: twoHosts + `programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8); c = accept(l)
  client: |
    s = socket(tcp); connect(s, server:80)
faults:
  - delay 1st server > client [S.] by 3s
expect:
  - at 3.041018s on client: server > client [S.]
`,
			fails: []string{"time"},
		},
		{
			name: "link down and up",
			src: twoHosts + `events:
  - {at: 5ms, link: client-server, state: down}
  - {at: 2s, link: client-server, state: up}
programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8); c = accept(l)
  client: |
    sleep 10ms
    s = socket(tcp); connect(s, server:80)
expect:
  - count client > server [S] >= 2
  - on server: client > server [S]
`,
			trace: []string{"link down", "link up"},
		},
		{
			name: "loops",
			src: twoHosts + `programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8); c = accept(l)
    repeat 3 { recv(c, 4) == "ping" }
    every 1s for 3s { send(c, "x") }
    close(c)
  client: |
    s = socket(tcp); connect(s, server:80)
    repeat 3 { send(s, "ping"); sleep 10ms }
    recv(s, all) == "xxx"
    sleep until 5s
    note "five seconds in"
    sleep until 1s
    close(s)
expect:
  - count server > client [P.] len 1 == 3
  - at 5s: client > server [F.]
`,
			trace: []string{"client  note  five seconds in"},
		},
		{
			// A heartbeat whose ping is reset (NAT mapping gone) and one
			// whose ping gets no pong (dropped in silence): the built-in
			// client gives the connection up and connects again.
			name: "heartbeat reconnects",
			src: `hosts:
  client:
    addr: 10.0.0.1/24
    apps:
      - heartbeat_client(server:7000, 45s, 50s, 3s)
  other:
    addr: 10.0.1.1/24
    gateway: 10.0.1.2
    apps:
      - heartbeat_client(server:7000, 45s, 50s)
  server:
    addrs: [10.0.0.2/24, 10.0.1.2/24]
    apps:
      - heartbeat_server(:7000)
links:
  - {ends: [client, server], delay: 1ms, firewall: {inside: client, tcp_idle: 30s}}
  - {ends: [other, server], delay: 1ms}
expect:
  - on server: count client > server:7000 [S] == 2
  - on server: count server:7000 > client [P.] len 5 == 2
  - on server: count other > server:7000 [S] == 1
`,
			trace: []string{"client  note  heartbeat failed: reconnecting", "→ ETIMEDOUT (no pong within 3s)", "pong within 3s: false (_heartbeat returned ETIMEDOUT)"},
		},
		{
			// After a NAT router's restart the server's segment for a
			// forgotten mapping reaches the router's own TCP, which resets
			// it, as a Linux router with only a MASQUERADE rule does (the
			// built-in nat-restart shows it); with unmatched: drop it is
			// dropped, and the server retransmits into the void.
			name: "nat restart, unmatched drop",
			src: `hosts:
  client: {addr: 192.168.1.10/24, gateway: 192.168.1.1}
  server: {addr: 203.0.113.2/24, gateway: 203.0.113.1}
routers:
  home:
    addrs: [192.168.1.1/24, 203.0.113.1/24]
    nat: {outside: 203.0.113.1, unmatched: drop}
links:
  - {ends: [client, home], delay: 1ms}
  - {ends: [home, server], delay: 5ms}
events:
  - {at: 1s, restart: home}
programs:
  server: |
    l = socket(tcp); bind(l, :7); listen(l, 8); c = accept(l)
    sleep until 2s
    send(c, "late")
    sleep until 4s
  client: |
    s = socket(tcp); connect(s, server:7)
    sleep until 4s
expect:
  - on home:eth1: no home:30000 > server:7 [R]
  - on home:eth1: count server:7 > home:30000 [P.] len 4 >= 3
  - on client: no server:7 > client [P.]
`,
			trace: []string{"nat: translation table lost with the restart: 1 mappings forgotten", "nat: dropped, no mapping"},
		},
		{
			name: "apps",
			src: `hosts:
  client: {addr: 10.0.0.1/24}
  server:
    addr: 10.0.0.2/24
    apps:
      - echo_server(:7)
      - http_server(:80)
      - discard_server(:9)
      - bulk_recv(:5001, 64KiB)
      - udp_echo(:7)
links:
  - ends: [client, server]
    delay: 1ms
programs:
  client: |
    s = socket(tcp); connect(s, server:7)
    send(s, "echo me"); recv(s, 7) == "echo me"; close(s)
    http_client(server:80, 2, keepalive)
    http_client(server:80, 2, close, 1.0)
    bulk_send(server:5001, 64KiB)
    heartbeat_client(server:7, 1s, 3s)
    d = socket(tcp); connect(d, server:9); send(d, 10KiB); close(d)
    u = socket(udp); connect(u, server:7); send(u, "u"); recv(u, any) == "u"
expect:
  - count client > server:80 [S] == 3
  - count server:80 > client [P.] == 4
`,
			trace: []string{"HTTP/1.1 200 OK", "HTTP/1.0 200 OK", `→ 5 "ping\n"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, trace := runSrc(t, tt.src)
			var got []string
			for _, f := range res.Failures {
				got = append(got, f.String())
			}
			all := strings.Join(got, "\n")
			if len(tt.fails) == 0 && len(got) > 0 {
				t.Errorf("unexpected failures:\n%s\ntrace:\n%s", all, trace)
			}
			rest := all
			for _, w := range tt.fails {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("failures lack %q (in order):\n%s", w, all)
					continue
				}
				rest = rest[i+len(w):]
			}
			for _, w := range tt.trace {
				if !strings.Contains(trace, w) {
					t.Errorf("trace lacks %q:\n%s", w, trace)
				}
			}
		})
	}
}

func TestRunRouted(t *testing.T) {
	src := `hosts:
  client: {addr: 10.0.1.1/24, gateway: 10.0.1.254}
  server: {addr: 10.0.2.1/24, gateway: 10.0.2.254}
routers:
  r1: {addrs: [10.0.1.254/24, 10.0.2.254/24]}
links:
  - {ends: [client, r1], delay: 5ms}
  - {ends: [r1, server], delay: 5ms}
programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8); c = accept(l)
    recv(c, 2) == "hi"; close(c)
  client: |
    s = socket(tcp); connect(s, server:80); send(s, "hi"); close(s)
faults:
  - drop 1st client > server [P.] on r1-server
expect:
  - client > server [S]
  - on r1:eth0: client > server [S]
  - on r1:eth1: client > server [S]
  - on server: client > server [S]
  - on r1:eth1: count client > server [P*] == 2
  - count client > server [P*] == 2
  - r1 ip.ForwDatagrams >= 6
`
	res, trace := runSrc(t, src)
	reportFailures(t, res)
	if t.Failed() {
		t.Logf("trace:\n%s", trace)
	}
}

func TestRunFirewallAndCrash(t *testing.T) {
	src := twoHosts + `    firewall: {inside: client, tcp_idle: 30s}
events:
  - {at: 2m, crash: server}
programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8); c = accept(l)
    recv(c, all)
  client: |
    s = socket(tcp); connect(s, server:80)
    send(s, "a")
    sleep 1m
    send(s, "b")
    sleep 2m
    send(s, "c")
    sleep 5m
    close(s)
duration: 10m
`
	res, trace := runSrc(t, src)
	reportFailures(t, res)
	for _, w := range []string{"firewall: dropped", "host crashed"} {
		if !strings.Contains(trace, w) {
			t.Errorf("trace lacks %q", w)
		}
	}
}

func TestFailureShowsContext(t *testing.T) {
	res, _ := runSrc(t, twoHosts+`programs:
  client: |
    s = socket(tcp)
    connect(s, server:81) -> ECONNREFUSED
expect:
  - server > client [S.]
`)
	if len(res.Failures) != 1 {
		t.Fatalf("failures: %v", res.Failures)
	}
	f := res.Failures[0]
	if f.Pos.Line != 13 || len(f.Diffs) == 0 || f.Diffs[0].Field != "flags" || f.Diffs[0].Want != "[S.]" || f.Diffs[0].Got != "[R.]" {
		t.Errorf("failure = %+v", f)
	}
	if len(f.Recent) == 0 {
		t.Error("no recent events")
	}
}

// FuzzRun runs random programs on a fixed network: whatever they do, the
// run ends and nothing panics.
func FuzzRun(f *testing.F) {
	f.Add("l = socket(tcp); bind(l, :80); listen(l, 8); c = accept(l); recv(c, all); close(c)",
		"s = socket(tcp); connect(s, server:80); send(s, 1KiB); close(s)")
	f.Add("u = socket(udp); bind(u, :7); recvfrom(u, any)", "v = socket(udp); sendto(v, \"x\", server:7); recv(v, any)")
	f.Add("echo_server(:7)", "s = socket(tcp); nonblock(s); connect(s, server:7) -> EINPROGRESS; poll(s, out, 1s); send(s, \"a\"); recv(s, 1) == \"a\"")
	f.Add("repeat 3 { sleep 1ms }", "every 1ms for 10ms { s = socket(tcp); close(s) }")
	f.Add("s = socket(tcp); shutdown(s, wr); setsockopt(s, nodelay, 1); close(s); close(s)", "ping(server, 2, 10ms)")
	f.Fuzz(func(t *testing.T, server, client string) {
		src := "duration: 3s\n" + twoHosts + "programs:\n  server: " + strconv.Quote(server) + "\n  client: " + strconv.Quote(client) + "\n"
		sc, err := Load("fuzz.yaml", []byte(src))
		if err != nil {
			return
		}
		if _, err := sc.Run(RunOptions{}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestConnSummary(t *testing.T) {
	res, _ := runSrc(t, twoHosts+`programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8); c = accept(l)
    recv(c, all) == 10KiB; close(c)
  client: |
    sleep 100ms
    s = socket(tcp); connect(s, server:80); send(s, 10KiB); close(s)
`)
	if len(res.Conns) != 1 {
		t.Fatalf("conns = %v", res.Conns)
	}
	c := res.Conns[0]
	if c.Proto != "tcp" || !strings.HasPrefix(c.A, "client:") || c.B != "server:80" {
		t.Errorf("ends = %s %s %s", c.Proto, c.A, c.B)
	}
	if c.BytesAB != 10<<10 || c.BytesBA != 0 || c.RetransAB != 0 {
		t.Errorf("bytes %d/%d retrans %d", c.BytesAB, c.BytesBA, c.RetransAB)
	}
	// 10 ms each way, plus the serialisation of two 74-byte frames at 100 Mbit/s
	if c.HandshakeRTT < 20*time.Millisecond || c.HandshakeRTT > 21*time.Millisecond {
		t.Errorf("handshake RTT %v", c.HandshakeRTT)
	}
	if c.StateA != "CLOSED" && c.StateA != "TIME_WAIT" || c.StateB != "CLOSED" {
		t.Errorf("final states %s/%s", c.StateA, c.StateB)
	}
	if c.Flags != "SYN FIN" {
		t.Errorf("flags %q", c.Flags)
	}
	if ab, _ := c.Throughput(); ab <= 0 {
		t.Errorf("throughput %v", ab)
	}
}

// TestCallExpectations checks call results written under expect: ("client
// connect → ECONNREFUSED"): they hold, they excuse the program's error,
// and a wrong one fails with what the calls returned.
func TestCallExpectations(t *testing.T) {
	prog := `programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8)
    c = accept(l)
    recv(c, 5) == "hello"
    setsockopt(c, linger, 0); close(c)
  client: |
    s = socket(tcp)
    connect(s, server:81)
    close(s)
    s = socket(tcp); connect(s, server:80)
    send(s, "hello")
    recv(s, any)
    close(s)
`
	res, _ := runSrc(t, twoHosts+prog+`expect:
  - client connect → ECONNREFUSED
  - client connect -> 0
  - client recv → ECONNRESET
  - server accept → 4
  - client socket → OK
`)
	reportFailures(t, res)

	res, _ = runSrc(t, twoHosts+prog+`expect:
  - client connect → ECONNREFUSED
  - client recv → ECONNRESET
  - server accept → 5
  - server shutdown → 0
`)
	var msgs []string
	for _, f := range res.Failures {
		msgs = append(msgs, f.String())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"t.yaml:25: expectation failed: server accept → 5", "server's accept returned 4 at 0.", "server made no shutdown call that returned"} {
		if !strings.Contains(all, want) {
			t.Errorf("failures do not say %q:\n%s", want, all)
		}
	}
	if len(res.Failures) != 2 {
		t.Errorf("%d failures, want 2:\n%s", len(res.Failures), all)
	}

	// Without the expect: entry, the refused connect is an error.
	res, _ = runSrc(t, twoHosts+prog)
	msgs = msgs[:0]
	for _, f := range res.Failures {
		msgs = append(msgs, f.String())
	}
	if all := strings.Join(msgs, "\n"); !strings.Contains(all, "t.yaml:16: expectation failed: connect(s, server:81)") || !strings.Contains(all, "or `client connect → ECONNREFUSED` under expect:") {
		t.Errorf("failures:\n%s", all)
	}
}

// TestRestart checks that a restarted host comes back with no sockets,
// that the crashed stack's timers never fire again (its unacknowledged
// data is not resent after the restart), that the peer's next segment
// gets a RST, and that one capture file per interface is written.
func TestRestart(t *testing.T) {
	src := twoHosts + `events:
  - {at: 1s, crash: server}
  - {at: 3s, restart: server}
programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8); c = accept(l)
    sleep until 990ms
    send(c, 1MiB)
    recv(c, all)
  client: |
    s = socket(tcp); connect(s, server:80)
    sleep until 4s
    send(s, "x")
    recv(s, all)
    close(s)
expect:
  - client recv → ECONNRESET
  - server > client [R]
`
	sc, err := Load("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var trace bytes.Buffer
	res, err := sc.Run(RunOptions{Trace: &trace, OutDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	reportFailures(t, res)
	tr := trace.String()
	i := strings.Index(tr, "host restarted (boot 2)")
	if i < 0 {
		t.Fatalf("trace does not show the restart:\n%s", tr)
	}
	if !strings.Contains(tr[:i], "retransmit") {
		t.Errorf("the server did not retransmit while down; the test checks nothing")
	}
	if after := tr[i:]; strings.Contains(after, "len 1448") || strings.Contains(after, "retransmit") {
		t.Errorf("the crashed stack still sends after the restart:\n%s", after)
	}
	if len(res.Files) != 2 {
		t.Errorf("files %v, want one per host interface", res.Files)
	}
	for _, c := range res.Conns {
		if c.StateB != "gone (restart)" && c.StateA != "gone (restart)" {
			t.Errorf("connection %+v: want the server end gone", c)
		}
	}
}

// TestCountMessage checks the wording of a failed count: singular and
// plural.
func TestCountMessage(t *testing.T) {
	res, _ := runSrc(t, twoHosts+`programs:
  client: |
    s = socket(tcp)
    connect(s, server:81) -> ECONNREFUSED
expect:
  - count client > server [S] == 2
  - count [*] == 0
`)
	if len(res.Failures) != 2 {
		t.Fatalf("%d failures, want 2: %v", len(res.Failures), res.Failures)
	}
	if got := res.Failures[0].Msg; got != "1 packet matches at client" {
		t.Errorf("message %q", got)
	}
	if got := res.Failures[1].Msg; !strings.HasSuffix(got, "packets match at client") {
		t.Errorf("message %q", got)
	}
}

// TestEventSetKeepsOtherImpairments: an event's set: changes only the
// impairments it names; the link keeps its delay when only loss is set,
// in both directions, and a forward: change leaves the reverse alone.
func TestEventSetKeepsOtherImpairments(t *testing.T) {
	src := twoHosts + `events:
  - {at: 1ms, link: client-server, set: {loss: 0%}}
  - {at: 2ms, link: client-server, forward: {delay: 20ms}}
programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8); c = accept(l)
  client: |
    sleep 100ms
    s = socket(tcp); connect(s, server:80)
expect:
  - client > server [S]
`
	sc, err := Load("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	res, err := sc.Run(RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reportFailures(t, res)
	// client → server now 20 ms, server → client still the link's 10 ms:
	// the handshake takes 30 ms (plus the 100 Mbit/s serialisation).
	if len(res.Conns) == 0 {
		t.Fatal("no connection")
	}
	if got := res.Conns[0].HandshakeRTT; got < 30*time.Millisecond || got > 31*time.Millisecond {
		t.Errorf("handshake RTT %v, want 30 ms (the link's 10 ms kept, forward changed to 20 ms alone)", got)
	}
}

// TestSetsockoptUDPCork: under udp_cork two sends are one datagram,
// sent when the option is cleared.
// TestSetsockoptMTUDiscover: mtu_discover is IP_MTU_DISCOVER; a UDP
// datagram carries DF by default (IP_PMTUDISC_WANT, as Linux's) and not
// under 0 (IP_PMTUDISC_DONT); 6 is refused.
func TestSetsockoptMTUDiscover(t *testing.T) {
	res, trace := runSrc(t, twoHosts+`programs:
  server: |
    u = socket(udp); bind(u, :7)
    recvfrom(u, any) == "want"
    recvfrom(u, any) == "dont"
  client: |
    u = socket(udp); connect(u, server:7)
    getsockopt(u, mtu_discover) == 1
    send(u, "want")
    sleep 1s
    setsockopt(u, mtu_discover, 0); getsockopt(u, mtu_discover) == 0
    send(u, "dont")
    setsockopt(u, mtu_discover, 6)
expect:
  - client setsockopt → EINVAL
`)
	reportFailures(t, res)
	var df []bool
	for _, line := range strings.Split(trace, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "ipv4  10.0.0.1 → 10.0.0.2") {
			df = append(df, strings.Contains(line, "  DF  "))
		}
	}
	if len(df) != 2 || !df[0] || df[1] {
		t.Errorf("the two datagrams' DF %v, want [true false]", df)
	}
}

func TestSetsockoptUDPCork(t *testing.T) {
	res, _ := runSrc(t, twoHosts+`programs:
  server: |
    u = socket(udp); bind(u, :7)
    recvfrom(u, any) == "hello"
    recvfrom(u, any) == "after"
  client: |
    u = socket(udp); connect(u, server:7)
    setsockopt(u, udp_cork, 1); send(u, "hel"); send(u, "lo"); setsockopt(u, udp_cork, 0)
    send(u, "after")
    s = socket(tcp)
    setsockopt(s, udp_cork, 1)
expect:
  - client setsockopt → ENOPROTOOPT
`)
	reportFailures(t, res)
}

// TestSetsockoptNewOptions runs the socket options added for issue 9
// from the scenario language, with Linux's validation.
func TestSetsockoptNewOptions(t *testing.T) {
	prog := `programs:
  server: |
    l = socket(tcp); setsockopt(l, maxseg, 600); bind(l, :80); listen(l, 8)
    c = accept(l)
    setsockopt(c, inq, 1)
    recv(c, 5) == "hello"
    close(c)
  client: |
    s = socket(tcp)
    setsockopt(s, maxseg, 50)
    setsockopt(s, syncnt, 2); setsockopt(s, tos, 16); setsockopt(s, ttl, 9)
    connect(s, server:80)
    setsockopt(s, cork, 1); send(s, "hel"); send(s, "lo"); setsockopt(s, cork, 0)
    setsockopt(s, notsent_lowat, 4096)
    recv(s, any)
    close(s)
`
	res, _ := runSrc(t, twoHosts+prog+`expect:
  - client setsockopt → EINVAL
  - client recv → 0
`)
	reportFailures(t, res)
}

// TestSocketCallsAndFlags runs from the scenario language the calls and
// flags issue 9 asks for besides setsockopt: getsockopt (with Linux's
// doubled SO_RCVBUF), getsockname/getpeername, ioctl(SIOCINQ), recv
// with MSG_PEEK, MSG_DONTWAIT and MSG_WAITALL, send with MSG_MORE (the
// partial segment waits for the next send without it) and MSG_NOSIGNAL,
// and poll for POLLRDHUP once the peer has shut its side.
func TestSocketCallsAndFlags(t *testing.T) {
	prog := `programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8)
    c = accept(l)
    getsockname(c) == "10.0.0.2:80"
    getpeername(c) == "10.0.0.1:40000"
    recv(c, any, dontwait) -> EAGAIN
    sleep 100ms
    n = ioctl(c, siocinq) == 5
    recv(c, any, peek) == "hello"
    recv(c, 5, waitall) == "hello"
    recv(c, any, dontwait) -> EAGAIN
    sleep 100ms
    recv(c, 6) == "world!"
    poll(c, in+rdhup)
    recv(c, any) == ""
    close(c)
  client: |
    s = socket(tcp)
    setsockopt(s, rcvbuf, 4096)
    v = getsockopt(s, rcvbuf) == 8192
    getsockopt(s, cork) == 0
    bind(s, :40000)
    connect(s, server:80)
    sleep 50ms
    send(s, "hello", nosignal)
    sleep 200ms
    send(s, "wor", more)
    sleep 50ms
    send(s, "ld!")
    sleep 200ms
    shutdown(s, wr)
    sleep 100ms
    close(s)
`
	res, trace := runSrc(t, twoHosts+prog)
	reportFailures(t, res)
	if testing.Verbose() {
		t.Log(trace)
	}
	for _, want := range []string{
		"getsockopt(3, rcvbuf) → 8192",
		"ioctl(4, SIOCINQ) → 5",
		"recv(4, any, peek) → 5 \"hello\"",
		"recv(4, any, dontwait) → EAGAIN",
		"send(3, \"wor\", more) → 3",
		"poll(4, in+rdhup) → blocks", "poll(4) → in|out|rdhup",
	} {
		if !strings.Contains(trace, want) {
			t.Errorf("trace lacks %q", want)
		}
	}
	// MSG_MORE: "wor" waits for "ld!" and they go as one segment.
	if strings.Contains(trace, "len 3") {
		t.Errorf("a 3-byte segment was sent: MSG_MORE's partial segment did not wait")
	}
}

// TestSocketCallErrors: the new calls' arguments are checked at load.
func TestSocketCallErrors(t *testing.T) {
	for _, tc := range []struct{ prog, want string }{
		{`s = socket(tcp); recv(s, any, peak)`, `unknown flag "peak"`},
		{`s = socket(tcp); send(s, "x", more+eof)`, `unknown flag "eof"`},
		{`s = socket(tcp); getsockopt(s, congestion)`, "is a name, not a number"},
		{`s = socket(tcp); ioctl(s, fionread)`, `"fionread" is not one of siocinq`},
		{`s = socket(tcp); getsockname(s) == 5`, "a quoted"},
		{`s = socket(tcp); n = getpeername(s)`, "returns nothing to keep"},
	} {
		_, err := Load("t.yaml", []byte(twoHosts+"programs:\n  client: |\n    "+tc.prog+"\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "t.yaml:") {
			t.Errorf("%s: error %v, want one naming t.yaml:line:col and %q", tc.prog, err, tc.want)
		}
	}
}

// TestMaxTimeWaitBuckets runs max_tw_buckets (Linux's
// tcp_max_tw_buckets) in a scenario: a server that closes first, with
// room for one TIME_WAIT, keeps the first connection there and closes
// the second at once, counted as tcp.TimeWaitOverflow; both clients'
// LAST_ACKs end on the server's final ACK, with nothing retransmitted.
func TestMaxTimeWaitBuckets(t *testing.T) {
	src := `name: tw-buckets
hosts:
  a: {addr: 10.0.0.1/24}
  b: {addr: 10.0.0.3/24}
  server: {addr: 10.0.0.2/24, tcp: {max_tw_buckets: 1}}
switches:
  sw: {}
links:
  - {ends: [a, sw]}
  - {ends: [b, sw]}
  - {ends: [server, sw]}
programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8)
    c = accept(l); close(c)
    sleep 100ms
    d = accept(l); close(d)
  a: |
    s = socket(tcp); connect(s, server:80)
    recv(s, 1) == ""; close(s)
  b: |
    sleep 50ms
    s = socket(tcp); connect(s, server:80)
    recv(s, 1) == ""; close(s)
expect:
  - server tcp.TimeWaitOverflow == 1
  - a tcp.RetransSegs == 0
  - b tcp.RetransSegs == 0
`
	res, trace := runSrc(t, src)
	reportFailures(t, res)
	for want, n := range map[string]int{
		"FIN_WAIT_2 → TIME_WAIT": 1, "FIN_WAIT_2 → CLOSED": 1,
		"time-wait-overflow  10.0.0.2:80 → 10.0.0.3:": 1, "TIME_WAIT full (1 of 1, tcp_max_tw_buckets): closed without it": 1,
	} {
		if got := strings.Count(trace, want); got != n {
			t.Errorf("the trace has %q %d times, want %d:\n%s", want, got, n, trace)
		}
	}
}

// TestMaxOrphans runs max_orphans (Linux's tcp_max_orphans) in a
// scenario: with none allowed, a client's close sends its FIN, then a
// RST, and the connection ends at once (tcp.AbortOnMemory).
func TestMaxOrphans(t *testing.T) {
	src := `name: orphans
hosts:
  client: {addr: 10.0.0.1/24, tcp: {max_orphans: 0}}
  server: {addr: 10.0.0.2/24}
links:
  - ends: [client, server]
    delay: 1ms
programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8)
    c = accept(l)
    sleep 1s
  client: |
    s = socket(tcp); connect(s, server:80)
    sleep 10ms
    close(s)
expect:
  - client > server [F.]
  - client > server [R.]
  - client tcp.AbortOnMemory == 1
`
	res, trace := runSrc(t, src)
	reportFailures(t, res)
	if !strings.Contains(trace, "too many orphans → RST") || !strings.Contains(trace, "too-many-orphans") {
		t.Errorf("the trace does not show the abort:\n%s", trace)
	}
}

// TestPeekWaitAll: recv with MSG_PEEK|MSG_WAITALL on TCP waits for the
// whole length while it peeks, as Linux's tcp_recvmsg does (checked on
// Linux 6.18 over loopback: it returns the 6 bytes of two sends 200 ms
// apart at the second), returns what is there once the peer's FIN
// comes, and leaves every byte queued.
func TestPeekWaitAll(t *testing.T) {
	prog := `programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8)
    c = accept(l)
    recv(c, 6, peek+waitall) == "abcdef"
    recv(c, 6, dontwait) == "abcdef"
    recv(c, 8, peek+waitall) == "gh"
    recv(c, 8, peek+waitall+dontwait) == "gh"
    recv(c, any) == "gh"
    close(c)
  client: |
    s = socket(tcp)
    connect(s, server:80)
    send(s, "abc")
    sleep 100ms
    send(s, "def")
    sleep 100ms
    send(s, "gh")
    sleep 100ms
    shutdown(s, wr)
    sleep 100ms
    close(s)
`
	runTraced(t, twoHosts+prog, `recv(4, 6, peek+waitall) → blocks`, `recv(4, 8, peek+waitall) → blocks`)
}

// TestRcvLowat: recv(c, any) on a blocking TCP socket with SO_RCVLOWAT
// takes what is there, then waits until the mark's bytes are waiting
// again (testdata/pkt/lowat/rcvlowat-read.pkt on the kernel): "cd" leaves
// 2 of 5 and does not end it; "efghi" does, and it returns all 9 bytes.
// A non-blocking one takes what is there.
func TestRcvLowat(t *testing.T) {
	prog := `programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8)
    c = accept(l)
    setsockopt(c, rcvlowat, 5)
    getsockopt(c, rcvlowat) == 5
    sleep 50ms
    recv(c, any) == "abcdefghi"
    sleep 250ms
    recv(c, any, dontwait) == "xy"
    close(c)
  client: |
    s = socket(tcp)
    connect(s, server:80)
    send(s, "ab")
    sleep 100ms
    send(s, "cd")
    sleep 100ms
    send(s, "efghi")
    sleep 100ms
    send(s, "xy")
    sleep 100ms
    close(s)
`
	runTraced(t, twoHosts+prog, `recv(4, any) → blocks`) // after the first bytes
}

// TestUrgentData: send(s, "!", oob) makes "!" urgent (MSG_OOB); the
// receiver's read stops before it, SIOCATMARK says the mark is next,
// poll says pri, recv(c, 1, oob) returns it, and the next read skips it
// (testdata/pkt/urgent/*.pkt on the kernel).
func TestUrgentData(t *testing.T) {
	prog := `programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8)
    c = accept(l)
    sleep 100ms
    poll(c, in+pri)
    ioctl(c, siocatmark) == 0
    recv(c, any) == "hello"
    ioctl(c, siocatmark) == 1
    recv(c, 1, oob) == "!"
    recv(c, 1, oob) -> EINVAL
    sleep 200ms
    recv(c, any) == "world"
    close(c)
  client: |
    s = socket(tcp)
    connect(s, server:80)
    send(s, "hello")
    send(s, "!", oob)
    sleep 200ms
    send(s, "world")
    sleep 100ms
    close(s)
`
	runTraced(t, twoHosts+prog, "poll(4, in+pri) → in|out|pri", "[PSH, ACK, URG]", "urg 1")
}

// TestUrgentSendBlocks: send(s, "!", oob) on a blocking socket whose
// send buffer is full waits, as any blocking send; only a recv with
// MSG_OOB never waits (Linux's tcp_recv_urg).
func TestUrgentSendBlocks(t *testing.T) {
	prog := `programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8)
    c = accept(l)
    sleep 1s
    recv(c, all)
    close(c)
  client: |
    s = socket(tcp)
    connect(s, server:80)
    send(s, 16MiB, dontwait)
    send(s, "!", oob)
    close(s)
`
	runTraced(t, twoHosts+prog, `send(3, "!", oob) → blocks`) // into a full buffer
}

// TestNotSentLowatKey: the tcp block's notsent_lowat is the stack's
// tcp_notsent_lowat, the TCP_NOTSENT_LOWAT of every socket that sets
// none (lowat/sysctl.pkt on the kernel): a non-blocking send of 60000
// bytes stops where the socket option of 5000 stops it, while the
// option still reads 0; without the key it takes what the send buffer
// takes (set to hold all 60000: the 46080 it starts with stops the
// send near where the mark does).
func TestNotSentLowatKey(t *testing.T) {
	prog := func(opt string) string {
		return `programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8)
    c = accept(l)
    sleep 1s
    recv(c, all)
    close(c)
  client: |
    s = socket(tcp)
    setsockopt(s, sndbuf, 100000)
    ` + opt + `
    getsockopt(s, notsent_lowat) == ` + map[bool]string{true: "5000", false: "0"}[opt != ""] + `
    connect(s, server:80)
    send(s, 60000, dontwait)
    sleep 2s
    close(s)
`
	}
	sent := func(trace string) string {
		for _, line := range strings.Split(trace, "\n") {
			if i := strings.Index(line, "send(3, 60000, dontwait)"); i >= 0 {
				return strings.TrimSpace(line[i:])
			}
		}
		t.Fatalf("no send in the trace:\n%s", trace)
		return ""
	}
	hosts := strings.Replace(twoHosts, "client: {addr: 10.0.0.1/24}", "client: {addr: 10.0.0.1/24, tcp: {notsent_lowat: 5000}}", 1)
	res, key := runSrc(t, hosts+prog(""))
	reportFailures(t, res)
	res, opt := runSrc(t, twoHosts+prog("setsockopt(s, notsent_lowat, 5000)"))
	reportFailures(t, res)
	res, none := runSrc(t, twoHosts+prog(""))
	reportFailures(t, res)
	t.Logf("key: %s\noption: %s\nneither: %s", sent(key), sent(opt), sent(none))
	if sent(key) != sent(opt) {
		t.Errorf("with the key, %q; with the socket option, %q", sent(key), sent(opt))
	}
	if sent(key) == sent(none) {
		t.Errorf("the key changed nothing: %q", sent(key))
	}
}

// TestHZKey: the tcp block's hz is the kernel's CONFIG_HZ, in whose
// jiffies the linux profile counts its timeouts: the RTO after the
// handshake (whose SYN waited for ARP), 240.018 ms to the microsecond
// of Linux's RTT estimator (hz: 0), is 244 ms at 250 Hz (4 ms ticks) and
// 250 ms at 100.
func TestHZKey(t *testing.T) {
	for _, tc := range []struct{ hz, want string }{{"", "244ms"}, {"100", "250ms"}, {"0", "240.018ms"}} {
		hosts := twoHosts
		if tc.hz != "" {
			hosts = strings.Replace(twoHosts, "client: {addr: 10.0.0.1/24}", "client: {addr: 10.0.0.1/24, tcp: {hz: "+tc.hz+"}}", 1)
		}
		res, _ := runSrc(t, hosts+`programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8)
    c = accept(l)
    close(c)
  client: |
    s = socket(tcp)
    connect(s, server:80)
    sleep 100ms
    close(s)
expect:
  - at 50ms: client fd s rto == `+tc.want+`
`)
		for _, f := range res.Failures {
			t.Errorf("hz %q: %s", tc.hz, f)
		}
	}
}

// TestSynLinearTimeoutsKey: tcp: {syn_linear_timeouts: N} sets Linux's
// tcp_syn_linear_timeouts: with the default 4 a connect to a host that
// drops everything fails at 131 s, with 0 at 127 s (doubling from 1 s).
func TestSynLinearTimeoutsKey(t *testing.T) {
	for _, tc := range []struct{ key, before, after string }{{"", "130s", "132s"}, {"0", "126s", "128s"}} {
		hosts := `hosts:
  client: {addr: 10.0.0.1/24}
  server: {addr: 10.0.0.2/24}
links:
  - ends: [client, server]
    delay: 10ms
    firewall: {inside: server} # the client's SYNs open nothing: dropped
`
		if tc.key != "" {
			hosts = strings.Replace(hosts, "client: {addr: 10.0.0.1/24}", "client: {addr: 10.0.0.1/24, tcp: {syn_linear_timeouts: "+tc.key+"}}", 1)
		}
		res, _ := runSrc(t, hosts+`duration: 3m
programs:
  client: |
    s = socket(tcp)
    connect(s, server:80) -> ETIMEDOUT
expect:
  - at `+tc.before+`: client fd s state == SYN_SENT
  - at `+tc.after+`: client fd s state == CLOSED
`)
		for _, f := range res.Failures {
			t.Errorf("syn_linear_timeouts %q: %s", tc.key, f)
		}
	}
}

// An expectation's time that differs from the packet's by less than a
// microsecond says so in nanoseconds, not with the same figure twice.
func TestTimeDiffBelowMicrosecond(t *testing.T) {
	d := timeDiff(20*time.Millisecond+400, 20*time.Millisecond)
	if d.Want != "0.020000400" || d.Got != "0.020000000" {
		t.Errorf("timeDiff = %q, %q; want nanoseconds", d.Want, d.Got)
	}
	d = timeDiff(21*time.Millisecond, 20*time.Millisecond)
	if d.Want != "0.021000" || d.Got != "0.020000" {
		t.Errorf("timeDiff = %q, %q; want microseconds", d.Want, d.Got)
	}
}
