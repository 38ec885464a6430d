package scenario

import (
	"strings"
	"testing"
	"time"

	"stacklab/sim/scenario/expect"
)

const exampleYAML = `name: handshake
about: Three-way handshake, one request and reply, orderly close.
seed: 7
hosts:
  client: {addr: 10.0.0.1/24}
  server:
    addr: 10.0.0.2/24
    tcp: {congestion: cubic, delayed_ack: false, keepalive: {idle: 10s}}
links:
  - ends: [client, server]
    delay: 10ms
    rate: 100Mbit
    forward: {loss: 2%}
programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8)
    c = accept(l)
    recv(c, 5) == "hello"
    send(c, "world"); close(c)
  client: |
    sleep 1ms
    s = socket(tcp); connect(s, server:80)
    send(s, "hello"); recv(s, 5) == "world"; close(s)
faults:
  - drop 2nd client > server [P.]
expect:
  - client > server  [S]
  - server > client  [S.] ack 1
  - no [R]
  - at 2s: client fd 3 cwnd >= 14600
  - server tcp.RetransSegs == 0
`

func TestLoadExample(t *testing.T) {
	sc, err := Load("handshake.yaml", []byte(exampleYAML))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != "handshake" || sc.Seed != 7 || len(sc.Hosts) != 2 || len(sc.Links) != 1 {
		t.Fatalf("got %+v", sc)
	}
	srv := sc.Host("server")
	if srv.TCP.Congestion != "cubic" || !srv.TCP.NoDelayedAck || srv.TCP.KeepIdle != 10*time.Second {
		t.Errorf("server tcp = %+v", srv.TCP)
	}
	lk := sc.Links[0]
	if lk.Forward.Delay != 10*time.Millisecond || lk.Reverse.Delay != 10*time.Millisecond || lk.Forward.Rate != 100e6 {
		t.Errorf("link = %+v", lk)
	}
	if lk.Forward.Loss != 0.02 || lk.Reverse.Loss != 0 {
		t.Errorf("loss forward %v reverse %v", lk.Forward.Loss, lk.Reverse.Loss)
	}
	body := srv.Program.Body
	if len(body) != 7 || body[0].Var != "l" || body[0].Call != "socket" {
		t.Fatalf("server program = %d statements", len(body))
	}
	if got := body[4].Pos; got.Line != 18 || got.Col != 5 {
		t.Errorf("recv position = %v, want line 18 col 5", got)
	}
	if e := body[4].Expect; e == nil || e.Data == nil || *e.Data != "hello" {
		t.Errorf("recv expectation = %+v", e)
	}
	if len(sc.Expect) != 5 || sc.Expect[2].Kind != expect.ExpNone || sc.Expect[3].Kind != expect.ExpSocket || sc.Expect[4].Kind != expect.ExpCounter {
		t.Fatalf("expect = %+v", sc.Expect)
	}
	if e := sc.Expect[3]; *e.At != 2*time.Second || e.FD != 3 || e.Field != "cwnd" || e.Op != ">=" {
		t.Errorf("socket expectation = %+v", e)
	}
	if f := sc.Faults[0]; f.Action != FaultDrop || f.N != 2 || f.Pattern.Flags != "P." {
		t.Errorf("fault = %+v", f)
	}
}

func TestLoadErrors(t *testing.T) {
	base := "hosts:\n  client: {addr: 10.0.0.1/24}\n  server: {addr: 10.0.0.2/24}\n"
	tests := []struct {
		name, src, want string
	}{
		{"unknown top key", "nmae: x\n" + base, `x.yaml:1:1: unknown key "nmae"; did you mean "name"?`},
		{"unknown host key", "hosts:\n  client: {adr: 10.0.0.1/24}\n", `x.yaml:2:12: hosts.client: unknown key "adr"; did you mean "addr"?`},
		{"bad addr", "hosts:\n  client: {addr: 10.0.0.300/24}\n", `x.yaml:2:18: hosts.client.addr: "10.0.0.300/24" is not an IPv4 address`},
		{"congestion typo", "hosts:\n  client:\n    addr: 10.0.0.1/24\n    tcp: {congestion: cubc}\n", `x.yaml:4:23: hosts.client.tcp.congestion: unknown congestion control "cubc"; did you mean "cubic"?`},
		{"profile typo", "hosts:\n  client:\n    addr: 10.0.0.1/24\n    tcp: {profile: linx}\n", `x.yaml:4:20: hosts.client.tcp.profile: unknown profile "linx": use linux or rfc; did you mean "linux"?`},
		{"ecn typo", "hosts:\n  client:\n    addr: 10.0.0.1/24\n    tcp: {ecn: yes}\n", `x.yaml:4:16: hosts.client.tcp.ecn: unknown ecn setting "yes": use passive, on or off`},
		{"aqm typo", "hosts:\n  a: {addr: 10.0.0.1/24}\n  b: {addr: 10.0.0.2/24}\nlinks:\n  - {ends: [a, b], aqm: codle}\n", `x.yaml:5:25: links[0].aqm: unknown aqm "codle": use codel or red; did you mean "codel"?`},
		{"aqm thresholds", "hosts:\n  a: {addr: 10.0.0.1/24}\n  b: {addr: 10.0.0.2/24}\nlinks:\n  - {ends: [a, b], aqm: {kind: red, min: 20, max: 10}}\n", `x.yaml:5:25: links[0].aqm: aqm min 20 must be below max 10`},
		{"unknown host in link", base + "links:\n  - ends: [client, sever]\n", `x.yaml:5:20: links[0].ends: unknown host "sever"; did you mean "server"?`},
		{"bad rate", base + "links:\n  - ends: [client, server]\n    rate: 100Mbits\n", `x.yaml:6:11: links[0].rate: "100Mbits" is not a rate`},
		{"unknown program host", base + "programs:\n  clinet: |\n    sleep 1s\n", `x.yaml:5:3: programs: unknown host "clinet"; did you mean "client"?`},
		{"program call typo", base + "programs:\n  client: |\n    s = socket(tcp)\n    conect(s, server:80)\n", `x.yaml:7:5: programs.client: unknown call "conect"; did you mean "connect"?`},
		{"program host typo", base + "programs:\n  client: |\n    s = socket(tcp)\n    connect(s, sever:80)\n", `x.yaml:7:16: programs.client: connect: unknown host "sever" in "sever:80"; did you mean "server"?`},
		{"program unknown socket", base + "programs:\n  client: |\n    s = socket(tcp)\n    close(x)\n", `x.yaml:7:11: programs.client: close: unknown socket "x"`},
		{"inline program", base + "programs:\n  client: \"sleep 1ms; s = socket(tpc)\"\n", `x.yaml:5:34: programs.client: socket: "tpc" is not one of tcp, udp, icmp, tcp6, udp6, icmp6; did you mean "tcp"?`},
		{"ipv6 first", "hosts:\n  client:\n    addr: [2001:db8::1/64, 10.0.0.1/24]\n", `x.yaml:3:12: hosts.client.addr[0]: an interface needs its IPv4 address first, then IPv6 ones: [10.0.0.1/24, 2001:db8::1/64]`},
		{"ipv6 link-local", "hosts:\n  client:\n    addr: [10.0.0.1/24, fe80::1/64]\n", `hosts.client.addr[1]: fe80::1/64 is not a global unicast IPv6 address`},
		{"ipv6 in braces", "hosts:\n  client: {addr: [10.0.0.1/24, 2001:db8::1/64]}\n", `inside { } YAML splits an IPv6 address at its colons`},
		{"two ipv4 on a host", "hosts:\n  client:\n    addr: [10.0.0.1/24, 10.0.1.1/24]\n", `one interface has one IPv4 address`},
		{"ipv6 literal without brackets", base + "programs:\n  client: |\n    s = socket(tcp6)\n    connect(s, 2001:db8::2:80)\n", `write an IPv6 address in brackets`},
		{"route family", "hosts:\n  client:\n    addr: [10.0.0.1/24, 2001:db8::1/64]\n    routes: [{dst: 2001:db8:5::/64, via: 10.0.0.254}]\n", `the gateway must be of the destination's family`},
		{"bad errno", base + "programs:\n  client: |\n    s = socket(tcp)\n    connect(s, server:81) -> ECONNREFUSD\n", `did you mean "ECONNREFUSED"?`},
		{"expect host typo", base + "expect:\n  - clinet > server [S]\n", `x.yaml:5:5: expect[0]: unknown host "clinet"; did you mean "client"?`},
		{"expect flags", base + "expect:\n  - client > server [X]\n", `is not a TCP flag`},
		{"expect flags spelled", base + "expect:\n  - client > server [SYN,ACK]\n", `flags [SYN,ACK]: write them as tcpdump prints them, one letter each: [S.]`},
		{"expect field", base + "expect:\n  - \"at 1s: client fd 3 cwdn >= 10\"\n", `unknown socket field "cwdn"; did you mean "cwnd"?`},
		{"no hosts", "name: x\n", `a scenario needs at least one host`},
		{"not a mapping", "module stacklab\n", `x.yaml:1:1: expected a mapping (key: value), found a scalar`},
		{"yaml syntax", "hosts: [a, b\n", `x.yaml:1:`},
		{"unclosed string", base + "programs:\n  client: |\n    s = socket(tcp)\n    send(s, \"abc)\n", `x.yaml:7:13: programs.client: string not closed`},
		{"fault no link", base + "faults:\n  - drop 1st client > server [S]\n", `no link joins client and server`},
		{"event link typo", base + "links:\n  - ends: [client, server]\nevents:\n  - {at: 1s, link: client-srver, state: down}\n", `unknown link "client-srver"; did you mean "client-server"?`},
		{"alias", "x: &a 1\n" + base, `unknown key "x"`},
		{"host on no link", base, `x.yaml:2:3: hosts.client: host client is on no link`},
		{"no shared subnet", "hosts:\n  a: {addr: 10.0.0.1/24}\n  b: {addr: 10.0.1.1/24}\nlinks:\n  - ends: [a, b]\n", `x.yaml:5:5: links[0]: a (10.0.0.1/24) and b (10.0.1.1/24) share no subnet`},
		{"router without addrs", base + "routers:\n  r1: {mtu: 1500}\n", `x.yaml:5:3: routers.r1: a router needs addrs`},
		{"gateway off subnet", "hosts:\n  a: {addr: 10.0.0.1/24, gateway: 10.9.0.1}\n", `hosts.a.gateway: 10.9.0.1 is on none of a's subnets`},
		{"crash typo", base + "links:\n  - ends: [client, server]\nevents:\n  - {at: 1s, crash: sever}\n", `unknown host "sever"; did you mean "server"?`},
		{"fault link typo", base + "links:\n  - ends: [client, server]\nfaults:\n  - drop 1st client > server [S] on client-sever\n", `unknown link "client-sever"; did you mean "client-server"?`},
		{"firewall inside", base + "links:\n  - ends: [client, server]\n    firewall: {inside: clinet}\n", `did you mean "client"?`},
		{"nat inside", base + "links:\n  - ends: [client, server]\n    nat: {inside: sever}\n", `did you mean "server"?`},
		{"port range", "hosts:\n  client:\n    addr: 10.0.0.1/24\n    local_port_range: 40009-40000\n", `x.yaml:4:23: hosts.client.local_port_range: local_port_range is a range MIN-MAX with 1 ≤ MIN ≤ MAX ≤ 65535`},
		{"nat ports", base + "links:\n  - ends: [client, server]\n    nat: {ports: 5-1}\n", "ports is a range MIN-MAX"},
		{"nat public", base + "links:\n  - ends: [client, server]\n    nat: {public: nowhere}\n", "public is an IPv4 address"},
		{"nat and firewall", base + "links:\n  - ends: [client, server]\n    firewall: {inside: client}\n    nat: {inside: client}\n", "one middlebox"},
		{"nat key", base + "links:\n  - ends: [client, server]\n    nat: {tcp_idel: 5s}\n", `did you mean "tcp_idle"?`},
		{"inject without flags", base + "links:\n  - ends: [client, server]\nevents:\n  - {at: 1s, inject: \"client > server:80\"}\n", `x.yaml:7:22: events[0].inject: inject a TCP segment as SRC > DST`},
		{"flood without port", base + "links:\n  - ends: [client, server]\nevents:\n  - {at: 1s, flood: \"client > server [S]\", count: 10}\n", `x.yaml:7:21: events[0].flood: flood with SRC > DST:PORT [S]`},
		{"flood of ACKs", base + "links:\n  - ends: [client, server]\nevents:\n  - {at: 1s, flood: \"client > server:80 [.]\", count: 10}\n", `events[0].flood: flood with SRC > DST:PORT [S] (a SYN flood) or SRC > DST:PORT udp len N`},
		{"flood too long", base + "links:\n  - ends: [client, server]\nevents:\n  - {at: 1s, flood: \"client > server:9 udp len 9000\", count: 10}\n", `a UDP flood's len is 0 to 1472 bytes, not 9000`},
		{"flood without count", base + "links:\n  - ends: [client, server]\nevents:\n  - {at: 1s, flood: \"client > server:80 [S]\"}\n", `x.yaml:7:5: events[0]: a flood event has at, flood, count`},
		{"flood count", base + "links:\n  - ends: [client, server]\nevents:\n  - {at: 1s, flood: \"client > server:80 [S]\", count: 1000000}\n", `events[0].count`},
		{"flood every", base + "links:\n  - ends: [client, server]\nevents:\n  - {at: 1s, flood: \"client > server:80 [S]\", count: 5, every: 0s}\n", `every is the gap between two flood packets`},
		{"flood spoof", base + "links:\n  - ends: [client, server]\nevents:\n  - {at: 1s, flood: \"client > server:80 [S]\", count: 5, spoof: ::ffff:10.0.0.0/104}\n", `spoof is the prefix the sources are drawn from, IPv4 or IPv6`},
		{"flood on a link event", base + "links:\n  - ends: [client, server]\nevents:\n  - {at: 1s, link: client-server, flood: \"client > server:80 [S]\", count: 5}\n", `a flood event has at, flood, count`},
		{"folded program", base + "links:\n  - ends: [client, server]\nprograms:\n  client: >\n    sleep 1s\n    sleep 2s\n", `x.yaml:7:11: programs.client: a folded block (>)`},
		{"socket variable", base + "links:\n  - ends: [client, server]\nprograms:\n  client: \"sock = socket(tcp)\"\nexpect:\n  - \"client fd sok state == CLOSED\"\n", `x.yaml:9:5: expect[0]: client's program has no socket variable "sok"; did you mean "sock"?`},
		{"call result typo", base + "links:\n  - ends: [client, server]\nexpect:\n  - client conect → ECONNREFUSED\n", `x.yaml:7:5: expect[0]: unknown call "conect"; did you mean "connect"?`},
		{"call result errno", base + "links:\n  - ends: [client, server]\nexpect:\n  - client connect -> ECONNREFUSD\n", `x.yaml:7:5: expect[0]: unknown result "ECONNREFUSD": write an errno name or a number; did you mean "ECONNREFUSED"?`},
		{"call result host", base + "links:\n  - ends: [client, server]\nexpect:\n  - clinet connect → ECONNREFUSED\n", `unknown host "clinet"; did you mean "client"?`},
		{"call result shape", base + "links:\n  - ends: [client, server]\nexpect:\n  - client connect(s) → 0 now\n", `write a call result as HOST CALL → RESULT`},
		{"call result no arrow", base + "links:\n  - ends: [client, server]\nexpect:\n  - client connect\n", `write a call result as HOST CALL → RESULT, e.g. client connect → 0`},
		{"host then nonsense", base + "links:\n  - ends: [client, server]\nexpect:\n  - client tcp.RetransSegs\n", `after a host name write > DST [flags] for a packet`},
		{"call result at", base + "links:\n  - ends: [client, server]\nexpect:\n  - \"at 1s: client connect → 0\"\n", `a call result has no time`},
		{"vantage iface", base + "links:\n  - ends: [client, server]\nexpect:\n  - \"on client:wlan0: [S]\"\n", `name an interface as HOST:ethN`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("x.yaml", []byte(tt.src))
			if el, ok := err.(ErrorList); ok && tt.name == "not a mapping" && len(el) != 1 {
				t.Errorf("%d errors, want only the one:\n%v", len(el), err)
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, tt.want)
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(exampleYAML))
	f.Add([]byte("hosts:\n  a: {addr: 10.0.0.1/24}\nprograms:\n  a: \"repeat 3 { sleep 1s }\"\n"))
	f.Add([]byte("hosts: [a, b\n"))
	f.Add([]byte("{}"))
	f.Add([]byte(`hosts:
  a: {addr: 10.0.1.1/24, gateway: 10.0.1.254, apps: [echo_server(:7)]}
  b: {addr: 10.0.2.1/24, gateway: 10.0.2.254, routes: [{dst: 10.0.3.0/24, via: 10.0.2.254}]}
routers:
  r: {addrs: [10.0.1.254/24, 10.0.2.254/24]}
links:
  - {ends: [a, r], delay: 1ms, firewall: {inside: a, tcp_idle: 30s}}
  - {ends: [r, b], rate: 1Mbit, queue: 10, forward: {loss: 1%, burst_loss: {p: 0.1, r: 0.5}}}
events:
  - {at: 1s, link: a-r, state: down}
  - {at: 2s, crash: b}
  - {at: 3s, inject: "a > b:80 [R] seq 5"}
faults:
  - drop 2nd a > b [P.] on r-b
  - corrupt 1st b > a [*] at 40 on a-r
expect:
  - on r:eth1: count a > b [S] == 1
  - "at 2s: a fd 3 cwnd >= 1"
outputs: {combined: true, ladder: true}
`))
	f.Add([]byte("- a\n- b\n"))
	f.Add([]byte(lanYAML))
	f.Add([]byte(`hosts:
  a: {addr: 10.0.0.1/24}
  b: {addr: 10.0.0.2/24, apps: [echo_server(:7)]}
links:
  - {ends: [a, b]}
events:
  - {at: 1s, crash: b}
  - {at: 2s, restart: b}
faults:
  - reorder 2nd a > b [.] after 3
expect:
  - a connect → ECONNREFUSED
  - b > a [.] ack 1 sack 1:2,3:4
`))
	f.Fuzz(func(t *testing.T, src []byte) {
		sc, err := Load("fuzz.yaml", src)
		if err == nil && sc == nil {
			t.Fatal("nil scenario without an error")
		}
	})
}

func TestLoadDefaultName(t *testing.T) {
	for file, want := range map[string]string{"dir/x.yaml": "x", "y.yml": "y", "stdin": "stdin"} {
		sc, err := Load(file, []byte("hosts:\n  a: {addr: 10.0.0.1/24}\n  b: {addr: 10.0.0.2/24}\nlinks:\n  - ends: [a, b]\n"))
		if err != nil {
			t.Fatal(err)
		}
		if sc.Name != want {
			t.Errorf("%s: name %q, want %q", file, sc.Name, want)
		}
	}
}
