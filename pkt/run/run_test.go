package run

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"stacklab/capture/tsharktest"
	"stacklab/pkt"
	"stacklab/stack"
)

// knownFailing lists the scripts of testdata/pkt that do not pass on
// stacklab yet, with why. The test fails if one of them starts passing
// (take it off the list) or if any other script fails. README reports
// the count.
var knownFailing = map[string]string{}

func TestTestdata(t *testing.T) {
	root := filepath.Join("..", "..", "testdata", "pkt")
	files, err := Expand([]string{root})
	if err != nil {
		t.Fatal(err)
	}
	var out1, out2 bytes.Buffer
	sum := Report(&out1, files, Options{Seed: 1}, false)
	Report(&out2, files, Options{Seed: 1}, false)
	if !bytes.Equal(out1.Bytes(), out2.Bytes()) {
		t.Errorf("two runs of testdata/pkt differ:\n%s\n----\n%s", out1.String(), out2.String())
	}
	status := map[string]string{}
	for _, line := range strings.Split(out1.String(), "\n") {
		m := regexp.MustCompile(`^(PASS|FAIL|SKIP|ERROR) ([^: ]+\.pkt)`).FindStringSubmatch(line)
		if m != nil {
			rel, _ := filepath.Rel(root, m[2])
			status[filepath.ToSlash(rel)] = m[1]
		}
	}
	if len(status) != len(files) {
		t.Fatalf("%d results for %d scripts:\n%s", len(status), len(files), out1.String())
	}
	var names []string
	for n := range status {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		_, known := knownFailing[n]
		switch {
		case known && status[n] == "PASS":
			t.Errorf("%s passes now: take it off knownFailing", n)
		case !known && status[n] != "PASS" && !(status[n] == "SKIP" && strings.HasSuffix(n, "v6.pkt")):
			t.Errorf("%s: %s", n, status[n])
		}
	}
	for n := range knownFailing {
		if _, ok := status[n]; !ok {
			t.Errorf("knownFailing names %s, which is not in testdata/pkt", n)
		}
	}
	// Scripts named *v4.pkt are IPv4-only, *v6.pkt IPv6-only (as
	// upstream packetdrill's run_all.py): each family skips the other's.
	only4, only6 := 0, 0
	for _, f := range files {
		switch {
		case strings.HasSuffix(f, "v4.pkt"):
			only4++
		case strings.HasSuffix(f, "v6.pkt"):
			only6++
		}
	}
	if only4 == 0 || only6 == 0 {
		t.Errorf("testdata/pkt has %d IPv4-only and %d IPv6-only scripts; want some of each", only4, only6)
	}
	if sum.Passed+len(knownFailing)+only6 != len(files) || sum.Skipped != only6 {
		t.Errorf("summary %+v with %d known failing and %d IPv6-only of %d", sum, len(knownFailing), only6, len(files))
	}
	// The scripts' TS vals tick in milliseconds, as Linux's and the
	// stack's clocks: checking them changes nothing.
	var out3 bytes.Buffer
	if tsum := Report(&out3, files, Options{Seed: 1, TSTick: time.Millisecond}, false); tsum != sum {
		t.Errorf("with --tcp_ts_tick_usecs=1000: %+v, without: %+v\n%s", tsum, sum, out3.String())
	}
	// Every script again on AF_INET6 sockets with IPv4-mapped addresses,
	// as packetdrill's --ip_version=ipv4-mapped-ipv6 (CI runs the
	// kernel side so too).
	var out4 bytes.Buffer
	if msum := Report(&out4, files, Options{Seed: 1, IPVersion: "ipv4-mapped-ipv6"}, false); msum != sum {
		t.Errorf("with --ip_version=ipv4-mapped-ipv6: %+v, with ipv4: %+v\n%s", msum, sum, out4.String())
	}
	// Every script again over IPv6 (AF_INET6 sockets, IPv6 packets,
	// ICMPv6), with the MTU upstream's run_all.py gives there so that
	// the MSS stays 1460; CI runs the kernel side so too. Twice: the
	// output is byte-identical.
	var out5, out6 bytes.Buffer
	o6 := Options{Seed: 1, IPVersion: "ipv6", MTU: 1520}
	sum6 := Report(&out5, files, o6, false)
	Report(&out6, files, o6, false)
	if !bytes.Equal(out5.Bytes(), out6.Bytes()) {
		t.Errorf("two runs of testdata/pkt over IPv6 differ")
	}
	if sum6.Failed != 0 || sum6.Skipped != only4 || sum6.Passed != len(files)-only4 {
		t.Errorf("with --ip_version=ipv6 --mtu=1520: %+v, want %d passed and the %d IPv4-only skipped\n%s", sum6, len(files)-only4, only4, out5.String())
	}
	t.Logf("%d of %d scripts pass; %d known failing; over IPv6 %d pass", sum.Passed, len(files), len(knownFailing), sum6.Passed)
	if t.Failed() {
		t.Log(out1.String())
	}
}

// passive is the start of a passive open every mutation below shares.
const passive = "`sysctl -q net.ipv4.tcp_rmem=\"4096 131072 6291456\"`\n" +
	"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n" +
	"+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0\n" +
	"+0 bind(3, ..., ...) = 0\n" +
	"+0 listen(3, 1) = 0\n" +
	"+0 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>\n" +
	"+0 > S. 0:0(0) ack 1 win 64240 <mss 1460,nop,nop,sackOK,nop,wscale 7>\n" +
	"+.1 < . 1:1(0) ack 1 win 1000\n" +
	"+0 accept(3, ..., ...) = 4\n"

// playPassive plays passive followed by tail as the script name.pkt.
func playPassive(t *testing.T, name, tail string, o Options) Result {
	t.Helper()
	src := passive + tail
	s, err := pkt.Parse(name+".pkt", src)
	if err != nil {
		t.Fatal(err)
	}
	return Script(s, src, o)
}

// TestChecks runs small scripts, each passing or failing for one reason:
// every check the runner makes must be able to fail.
func TestChecks(t *testing.T) {
	cases := []struct {
		name, tail string
		status     Status
		msg        string // in the message
	}{
		{"pass", "+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 1\n", Pass, ""},
		{"seq", "+0 write(4, ..., 10) = 10\n+0 > P. 2:12(10) ack 1\n", Fail, "sequence number 1, expected 2"},
		{"len", "+0 write(4, ..., 10) = 10\n+0 > P. 1:12(11) ack 1\n", Fail, "payload of 10 bytes, expected 11"},
		{"ack", "+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 2\n", Fail, "ack 1, expected 2"},
		{"flags", "+0 write(4, ..., 10) = 10\n+0 > F. 1:11(10) ack 1\n", Fail, `flags "P.", expected "F."`},
		{"win", "+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 1 win 1\n", Fail, "window"},
		{"options", "+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 1 <nop>\n", Fail, "expected 1 option(s)"},
		{"ecn", "+0 write(4, ..., 10) = 10\n+0 > [ce] P. 1:11(10) ack 1\n", Fail, "ECN noecn, expected ce"},
		{"late", "+0 write(4, ..., 10) = 10\n+.01 > P. 1:11(10) ack 1\n", Fail, "packet sent at 0.100000, expected at 0.110000"},
		{"missing", "+0 > P. 1:11(10) ack 1\n", Fail, "not sent by 0.100000"},
		{"extra", "+0 write(4, ..., 10) = 10\n+.1 < . 1:1(0) ack 11 win 1000\n+0 write(4, ..., 5) = 5\n+0 > P. 11:16(5) ack 1\n", Fail, "expected at 0.200000"},
		{"result", "+0 write(4, ..., 10) = 9\n", Fail, "write returned 10, expected 9"},
		{"errno", "+0 read(4, ..., 10) = -1 ECONNRESET\n", Fail, "still blocked"},
		{"nonblocking", "+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n+0 read(4, ..., 10) = -1 EAGAIN (Resource temporarily unavailable)\n", Pass, ""},
		{"blocks", "+0...0.05 read(4, ..., 10) = 5\n+.05 < P. 1:6(5) ack 1 win 1000\n", Pass, ""},
		{"blocks-too-long", "+0...0.04 read(4, ..., 10) = 5\n+.05 < P. 1:6(5) ack 1 win 1000\n", Fail, "read is still blocked past 0.140000, when the script expects it to return"},
		{"assert", "+0 %{ assert tcpi_snd_cwnd == 11 }%\n", Fail, "assertion failed"},
		{"assert-pass", "+0 %{ assert tcpi_snd_cwnd == 10 and tcpi_snd_mss == 1460 }%\n", Pass, ""},
		{"assert-continued", "+0 %{ assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd; \\\n   assert tcpi_snd_mss == 1460;\\\n}%\n", Pass, ""},
		{"assert-continued-fails", "+0 %{ assert tcpi_snd_cwnd == 10; \\\n   assert tcpi_snd_mss == 1000 }%\n", Fail, "assertion failed"},
		{"shell", "+0 `echo hi`\n", Skip, "cannot run against stacklab"},
		{"sysctl-word", "+0 `sysctl -q net.ipv4.tcp_congestion_control=cubic`\n", Pass, ""},
		{"sysctl-word-unknown", "+0 `sysctl -q net.ipv4.tcp_congestion_control=bbr`\n", Skip, "stacklab has cubic and reno"},
		{"unsupported", "+0 setsockopt(4, IPPROTO_TCP, TCP_FASTOPEN, [1], 4) = 0\n", Fail, "not supported by stacklab: setsockopt TCP_FASTOPEN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := playPassive(t, c.name, c.tail, Options{})
			if res.Status != c.status || !strings.Contains(res.Message, c.msg) {
				t.Errorf("got %s %q (expected %q, actual %q), want %s with %q", res.Status, res.Message, res.Expected, res.Actual, c.status, c.msg)
			}
		})
	}
}

// TestTolerancePercent: --tolerance_percent widens the tolerance to a
// share of the time since the previous event, as packetdrill's: the
// probe at 0.4 s passes for a script line saying 0.42 with 12.5 % of
// the 320 ms waited (40 ms), from the options or the script's own line,
// and fails without it.
func TestTolerancePercent(t *testing.T) {
	tail := "+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 1\n+.32 > P. 1:11(10) ack 1\n"
	for _, c := range []struct {
		src  string
		o    Options
		want Status
	}{
		{passive + tail, Options{}, Fail},
		{passive + tail, Options{TolerancePercent: 12.5}, Pass},
		{passive + tail, Options{TolerancePercent: 5}, Fail}, // 16 ms
		{"--tolerance_percent=12.5\n" + passive + tail, Options{}, Pass},
	} {
		s, err := pkt.Parse("pct.pkt", c.src)
		if err != nil {
			t.Fatal(err)
		}
		if res := Script(s, c.src, c.o); res.Status != c.want {
			t.Errorf("%+v: %s %q, want %s", c.o, res.Status, res.Message, c.want)
		}
	}
}

// TestTSTick: with --tcp_ts_tick_usecs the outbound TS val is checked
// against the time since the first.
func TestTSTick(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "pkt", "handshake", "syn-retries.pkt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		src  string
		want Status
	}{
		{"--tcp_ts_tick_usecs=1000\n" + string(b), Pass},
		{"--tcp_ts_tick_usecs=1000\n" + strings.Replace(string(b), "TS val 1100", "TS val 1200", 1), Fail},
		{strings.Replace(string(b), "TS val 1100", "TS val 1200", 1), Pass}, // not checked without the option
	} {
		s, err := pkt.Parse("ts.pkt", c.src)
		if err != nil {
			t.Fatal(err)
		}
		if res := Script(s, c.src, Options{}); res.Status != c.want {
			t.Errorf("%s %q, want %s", res.Status, res.Message, c.want)
		}
	}
}

// TestMerge: ten segments sent at once are one script line unless
// --strict_segments.
func TestMerge(t *testing.T) {
	src := passive + "+0 setsockopt(4, IPPROTO_TCP, TCP_NODELAY, [1], 4) = 0\n+0 write(4, ..., 2920) = 2920\n+0 > P. 1:2921(2920) ack 1\n"
	s, err := pkt.Parse("merge.pkt", src)
	if err != nil {
		t.Fatal(err)
	}
	if res := Script(s, src, Options{}); res.Status != Pass {
		t.Fatalf("merged: %+v", res)
	}
	if res := Script(s, src, Options{StrictSegments: true}); res.Status != Fail || !strings.Contains(res.Message, `flags ".", expected "P."`) || !strings.Contains(res.Actual, "1:1461(1460)") {
		t.Fatalf("strict: %+v", res)
	}
}

// TestOutputDir: -o writes a capture and the trace per script.
func TestOutputDir(t *testing.T) {
	dir := t.TempDir()
	res, err := File(filepath.Join("..", "..", "testdata", "pkt", "handshake", "passive-open.pkt"), Options{Dir: dir})
	if err != nil || res.Status != Pass {
		t.Fatalf("%v %+v", err, res)
	}
	for _, f := range []string{"stacklab-tun0.pcapng", "trace.txt"} {
		b, err := os.ReadFile(filepath.Join(dir, "handshake", "passive-open", f))
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %v (%d bytes)", f, err, len(b))
		}
	}
}

// TestCapturesLint: the pcapng files -o writes open in tshark with no
// malformed packets or bad checksums.
func TestCapturesLint(t *testing.T) {
	if tsharktest.Path() == "" {
		t.Skip("tshark is not installed")
	}
	dir := t.TempDir()
	for _, f := range []string{"sack/sack-recovery.pkt", "handshake/active-open.pkt", "close/linger-zero.pkt"} {
		res, err := File(filepath.Join("..", "..", "testdata", "pkt", f), Options{Dir: dir})
		if err != nil || res.Status != Pass {
			t.Fatalf("%s: %v %+v", f, err, res)
		}
		pkts := tsharktest.Lint(t, filepath.Join(dir, strings.TrimSuffix(f, ".pkt"), "stacklab-tun0.pcapng"))
		if len(pkts) < 3 {
			t.Errorf("%s: %d packets", f, len(pkts))
		}
	}
}

// FuzzRun: any script that parses runs to PASS, FAIL or SKIP without
// panicking or hanging.
func FuzzRun(f *testing.F) {
	files, _ := Expand([]string{filepath.Join("..", "..", "testdata", "pkt")})
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(string(b))
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		s, err := pkt.Parse("fuzz.pkt", src)
		if err != nil {
			return
		}
		res := Script(s, src, Options{})
		switch res.Status {
		case Pass, Fail, Skip:
		default:
			t.Fatalf("status %q", res.Status)
		}
	})
}

// TestDgramChecks: UDP and ICMP lines are played and checked; each check
// can fail. The stack's own ICMP (a port unreachable for a datagram to a
// closed port) is matched too, which packetdrill cannot do on the
// kernel once the socket is closed.
func TestDgramChecks(t *testing.T) {
	const udp = "0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3\n+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n+0 connect(3, ..., ...) = 0\n+0 write(3, ..., 10) = 10\n"
	cases := []struct {
		name, src string
		status    Status
		msg       string
	}{
		{"udp", udp + "+0 > udp (10)\n+.01 < udp (3)\n+0 read(3, ..., 10) = 3\n", Pass, ""},
		{"udp-len", udp + "+0 > udp (11)\n", Fail, "UDP payload of 10 bytes, expected 11"},
		{"udp-not-tcp", udp + "+0 > . 1:1(0) ack 1\n", Fail, "a udp packet, expected a TCP segment"},
		{"refused", udp + "+0 > udp (10)\n+.01 < icmp unreachable port_unreachable [udp (10)]\n+0 read(3, ..., 10) = -1 ECONNREFUSED (Connection refused)\n", Pass, ""},
		{"host-unreachable-soft", udp + "+0 > udp (10)\n+.01 < icmp unreachable host_unreachable [udp (10)]\n+0 read(3, ..., 10) = -1 EAGAIN (Resource temporarily unavailable)\n", Pass, ""},
		{"closed-port", udp + "+0 > udp (10)\n+0 close(3) = 0\n+.01 < udp (4)\n+0 > icmp unreachable port_unreachable\n", Pass, ""},
		{"icmp-code", udp + "+0 > udp (10)\n+0 close(3) = 0\n+.01 < udp (4)\n+0 > icmp unreachable host_unreachable\n", Fail, "ICMP type 3 code 3, expected unreachable host_unreachable"},
		{"icmp-name", udp + "+0 > udp (10)\n+.01 < icmp unreachable no_such_code [udp (10)]\n", Fail, `unknown ICMP code "no_such_code"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := pkt.Parse(c.name+".pkt", c.src)
			if err != nil {
				t.Fatal(err)
			}
			res := Script(s, c.src, Options{})
			if res.Status != c.status || !strings.Contains(res.Message, c.msg) {
				t.Errorf("got %s %q (expected %q, actual %q), want %s with %q", res.Status, res.Message, res.Expected, res.Actual, c.status, c.msg)
			}
		})
	}
}

// TestIPv4MappedIPv6: with --ip_version=ipv4-mapped-ipv6 the sockets
// under test are AF_INET6 (bound to [::]:8080, the accepted one's peer
// ::ffff:192.0.2.1) while the packets stay IPv4; with ipv6 they are
// AF_INET6 over IPv6 packets (peer [2001:db8::1], packetdrill's default);
// the script passes as it does in ipv4 mode, where the sockets are
// AF_INET. A script named *v6.pkt or *v4.pkt is played in its family
// only, saying so.
func TestIPv4MappedIPv6(t *testing.T) {
	src := passive + "+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 1\n"
	for _, c := range []struct {
		version string
		family  stack.Family
		peer    string
	}{
		{"ipv4", stack.AFInet, "192.0.2.1:50427"},
		{"ipv4-mapped-ipv6", stack.AFInet6, "[::ffff:192.0.2.1]:50427"},
		{"ipv6", stack.AFInet6, "[2001:db8::1]:50427"},
	} {
		s, err := pkt.Parse("mapped.pkt", src)
		if err != nil {
			t.Fatal(err)
		}
		mtu := 1500
		if c.version == "ipv6" {
			mtu = 1520 // the MSS stays 1460, as upstream packetdrill's run_all.py
		}
		r := newRunner(s, src, Options{IPVersion: c.version, MTU: mtu})
		if f := r.run(); f != nil {
			t.Fatalf("%s: %s", c.version, f.msg)
		}
		for script, fd := range r.fds {
			if got := r.st.FamilyOf(fd); got != c.family {
				t.Errorf("%s: socket %d is %v, want %v", c.version, script, got, c.family)
			}
		}
		if peer, err := r.st.GetPeername(r.fds[4]); err != nil || peer.String() != c.peer {
			t.Errorf("%s: accepted socket's peer %v (%v), want %s", c.version, peer, err, c.peer)
		}
	}
	// Over IPv6 the packets are IPv6: none of the stack's is IPv4.
	s, _ := pkt.Parse("six.pkt", src)
	r := newRunner(s, src, Options{IPVersion: "ipv6", MTU: 1520})
	if f := r.run(); f != nil {
		t.Fatalf("ipv6: %s", f.msg)
	}
	cs := map[string]uint64{}
	for _, c := range r.st.Counters() {
		cs[c.Name] = c.Value
	}
	if cs["ip.OutRequests"] != 0 || cs["ip6.OutRequests"] < 2 {
		t.Errorf("ipv6: ip.OutRequests %d, ip6.OutRequests %d: want IPv6 packets only", cs["ip.OutRequests"], cs["ip6.OutRequests"])
	}
	// A script named *v6.pkt is played over IPv6 only, *v4.pkt over
	// IPv4 only; a version packetdrill does not have is bad input.
	for _, c := range []struct {
		name, version string
		status        Status
		msg           string
	}{
		{"x-v6.pkt", "ipv4", Skip, "IPv6-only"},
		{"x-v6.pkt", "ipv4-mapped-ipv6", Skip, "IPv6-only"},
		{"x-v4.pkt", "ipv6", Skip, "IPv4-only"},
		{"x-v4.pkt", "ipv4", Pass, ""},
		{"x.pkt", "ipv5", Fail, "want ipv4, ipv4-mapped-ipv6 or ipv6"},
	} {
		s, _ := pkt.Parse(c.name, src)
		mtu := 1500
		if c.version == "ipv6" {
			mtu = 1520
		}
		if res := Script(s, src, Options{IPVersion: c.version, MTU: mtu}); res.Status != c.status || !strings.Contains(res.Message, c.msg) {
			t.Errorf("%s with %s: %s %q, want %s with %q", c.name, c.version, res.Status, res.Message, c.status, c.msg)
		}
	}
}

// TestIPv6Packets: over IPv6 an injected ICMPv6 Packet Too Big reaches
// the connection (the MSS falls to 1220) and ICMP names are ICMPv6's
// (frag_needed is an error naming the fix).
func TestIPv6Packets(t *testing.T) {
	src := passive + "+0 write(4, ..., 1460) = 1460\n+0 > P. 1:1461(1460) ack 1\n" +
		"+.01 < icmp packet_too_big mtu 1280 [1:1461(1460)]\n+0 > P. 1:1461(1460) ack 1\n" +
		"+0 %{ assert tcpi_snd_mss == 1220 and tcpi_pmtu == 1280 }%\n"
	s, err := pkt.Parse("ptb.pkt", src)
	if err != nil {
		t.Fatal(err)
	}
	res := Script(s, src, Options{IPVersion: "ipv6", MTU: 1520})
	if res.Status != Pass {
		t.Fatalf("%s %s: %s", res.Status, res.Message, res.Actual)
	}
	bad := strings.Replace(src, "icmp packet_too_big mtu 1280", "icmp unreachable frag_needed mtu 1280", 1)
	s, _ = pkt.Parse("fn.pkt", bad)
	if res := Script(s, bad, Options{IPVersion: "ipv6", MTU: 1520}); res.Status != Fail || !strings.Contains(res.Message, "ICMPv6's") {
		t.Errorf("frag_needed over IPv6: %s %q, want a failure saying the names are ICMPv6's", res.Status, res.Message)
	}
}

// TestFlowLabels checks the IPv6 flow label as packetdrill does: an
// inbound packet carries the script's label; an outbound one is held to
// the live label its script label stood for last, each check able to
// fail; over IPv4 labels are ignored.
func TestFlowLabels(t *testing.T) {
	const write = "+0 write(4, ..., 10) = 10\n"
	const acked = "+.01 < . 1:1(0) ack 11 win 1000\n"
	const noTLP = "+0 `sysctl -q net.ipv4.tcp_early_retrans=0`\n"
	cases := []struct {
		name, tail string
		status     Status
		msg        string
	}{
		{"same", write + "+0 > (flowlabel 0x1) P. 1:11(10) ack 1\n" + acked + write + "+0 > (flowlabel 0x1) P. 11:21(10) ack 1\n", Pass, ""},
		{"unchecked", write + "+0 > (flowlabel 0x1) P. 1:11(10) ack 1\n" + acked + write + "+0 > (flowlabel 0) P. 11:21(10) ack 1\n", Pass, ""},
		{"expected-new", write + "+0 > (flowlabel 0x1) P. 1:11(10) ack 1\n" + acked + write + "+0 > (flowlabel 0x2) P. 11:21(10) ack 1\n", Fail, "expected a different one for 0x2"},
		// A retransmission timeout draws a new label: the same script
		// label fails, another passes.
		{"rto-same", noTLP + write + "+0 > (flowlabel 0x1) P. 1:11(10) ack 1\n+.3 > (flowlabel 0x1) P. 1:11(10) ack 1\n", Fail, "expected 0x"},
		{"rto-new", noTLP + write + "+0 > (flowlabel 0x1) P. 1:11(10) ack 1\n+.3 > (flowlabel 0x2) P. 1:11(10) ack 1\n", Pass, ""},
		// An inbound label reaches the stack: duplicate data with a new
		// one draws a new label for the ACK.
		{"inbound", "+0 < (flowlabel 0x5) P. 1:11(10) ack 1 win 1000\n+0 > (flowlabel 0x1) . 1:1(0) ack 11\n" +
			"+.1 < (flowlabel 0x6) P. 1:11(10) ack 1 win 1000\n+0 > (flowlabel 0x2) . 1:1(0) ack 11 <nop,nop,sack 1:11>\n", Pass, ""},
		{"inbound-same", "+0 < (flowlabel 0x5) P. 1:11(10) ack 1 win 1000\n+0 > (flowlabel 0x1) . 1:1(0) ack 11\n" +
			"+.1 < (flowlabel 0x5) P. 1:11(10) ack 1 win 1000\n+0 > (flowlabel 0x2) . 1:1(0) ack 11 <nop,nop,sack 1:11>\n", Fail, "expected a different one"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := playPassive(t, c.name, c.tail, Options{IPVersion: "ipv6", MTU: 1520})
			if res.Status != c.status || !strings.Contains(res.Message, c.msg) {
				t.Errorf("got %s %q (expected %q, actual %q), want %s with %q", res.Status, res.Message, res.Expected, res.Actual, c.status, c.msg)
			}
			// Over IPv4 there are no labels to check.
			if res := playPassive(t, c.name, c.tail, Options{}); res.Status != Pass {
				t.Errorf("over IPv4: %s %q", res.Status, res.Message)
			}
		})
	}
}
