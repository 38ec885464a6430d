package tunapp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"stacklab/sim"
	"stacklab/stack/tun"
	"stacklab/stack/tun/tuntest"
)

const (
	stackIP  = "10.99.0.2"
	kernelIP = "10.99.0.1"
)

// env is one test's stack on a TUN device in its own namespace.
type env struct {
	*App
	ns     string
	capDir string
}

// newEnv sets up an App in a fresh namespace; everything is taken down
// (and the capture linted) when the test ends.
func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	ns := tuntest.Netns(t)
	opts.Netns = ns
	goroutines := runtime.NumGoroutine()
	if opts.OutDir == "" && captureWorks {
		opts.OutDir = t.TempDir()
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	var log bytes.Buffer
	opts.Log = &log
	a, err := Setup(opts)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{App: a, ns: ns, capDir: opts.OutDir}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		for _, l := range tuntest.Links(t, ns) {
			if l != "lo" {
				t.Errorf("device %s left in the namespace after Close", l)
			}
		}
		if t.Failed() {
			t.Logf("app log:\n%s", log.String())
		}
		if opts.Impair.Corrupt == 0 {
			// (Corrupted frames reach the stack's NIC, and the capture, on purpose.)
			lintCaptures(t, opts.OutDir)
		}
		// Every goroutine the App started (reader, flusher, servers) ends
		// with it; give the runtime's own a moment to go.
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > goroutines {
			buf := make([]byte, 1<<20)
			t.Errorf("%d goroutines left after Close (%d before):\n%s", n-goroutines, goroutines, buf[:runtime.Stack(buf, true)])
		}
	})
	return e
}

// serve starts a server for mode until the test ends.
func (e *env) serve(t *testing.T, mode string) {
	t.Helper()
	s, err := e.Listen(mode, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server %s: %v", mode, err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("server %s did not stop within 10s", mode)
		}
	})
}

// kernel runs fn in the test's namespace (kernel sockets created there stay there).
func (e *env) kernel(t *testing.T, fn func() error) {
	t.Helper()
	if err := tun.InNetns(e.ns, fn); err != nil {
		t.Fatal(err)
	}
}

func (e *env) exec(t *testing.T, timeout time.Duration, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("skipping: %s not installed", name)
	}
	out, err := tuntest.Exec(t, e.ns, timeout, stdin, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

const big = 16 << 20

// captureWorks is false until tun mode can capture.
const captureWorks = true

func TestCurlFetchesPageAndDownload(t *testing.T) {
	e := newEnv(t, Options{})
	e.serve(t, "http")
	page := e.exec(t, 30*time.Second, nil, "curl", "-sS", "--fail", "--max-time", "20", "http://"+stackIP+"/")
	if string(page) != Page {
		t.Fatalf("curl /: got %q, want the page", page)
	}
	body := e.exec(t, 90*time.Second, nil, "curl", "-sS", "--fail", "--max-time", "80",
		fmt.Sprintf("http://%s/download?bytes=%d", stackIP, big))
	if len(body) != big || sum(body) != ContentSHA256(big) {
		t.Fatalf("curl /download: %d bytes sha256 %s, want %d bytes %s", len(body), sum(body), big, ContentSHA256(big))
	}
}

func TestEchoBothWaysWithHalfClose(t *testing.T) {
	e := newEnv(t, Options{})
	e.serve(t, "echo")

	// A kernel client: send 1 MiB, half-close, read the echo to EOF.
	data := make([]byte, 1<<20)
	io.ReadFull(NewContent(), data)
	var c *net.TCPConn
	e.kernel(t, func() error {
		d := net.Dialer{Timeout: 10 * time.Second}
		conn, err := d.Dial("tcp", stackIP+":7")
		if err == nil {
			c = conn.(*net.TCPConn)
		}
		return err
	})
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		if err == nil {
			err = c.CloseWrite()
		}
		werr <- err
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read echo: %v after %d bytes", err, len(got))
	}
	if err := <-werr; err != nil {
		t.Fatalf("write: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("echo returned %d bytes (sha256 %s), want %d (%s)", len(got), sum(got), len(data), sum(data))
	}

	// nc, if installed: -N shuts the socket down at EOF on stdin.
	if _, err := exec.LookPath("nc"); err == nil {
		out := e.exec(t, 20*time.Second, []byte("hello, stack\n"), "nc", "-N", "-w", "10", stackIP, "7")
		if string(out) != "hello, stack\n" {
			t.Fatalf("nc: echo %q, want %q", out, "hello, stack\n")
		}
	}
}

// kernelListen listens on the kernel side of the device until the test ends.
func (e *env) kernelListen(t *testing.T, port int) net.Listener {
	t.Helper()
	var l net.Listener
	e.kernel(t, func() (err error) {
		l, err = net.Listen("tcp4", fmt.Sprintf("%s:%d", kernelIP, port))
		return err
	})
	t.Cleanup(func() { l.Close() })
	return l
}

func TestStackDialsKernel(t *testing.T) {
	e := newEnv(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	t.Run("http", func(t *testing.T) {
		l := e.kernelListen(t, 8080)
		srv := &http.Server{Handler: Handler()}
		go srv.Serve(l)
		defer srv.Close()
		var out bytes.Buffer
		if err := e.Get(ctx, fmt.Sprintf("http://%s:8080/", kernelIP), false, &out); err != nil {
			t.Fatal(err)
		}
		if out.String() != Page {
			t.Fatalf("GET /: %q, want the page", out.String())
		}
		out.Reset()
		if err := e.Get(ctx, fmt.Sprintf("http://%s:8080/download?bytes=%d", kernelIP, big), true, &out); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%s %d\n", ContentSHA256(big), big); out.String() != want {
			t.Fatalf("GET /download: %q, want %q", out.String(), want)
		}
		err := e.Get(ctx, fmt.Sprintf("http://%s:8080/nothing", kernelIP), true, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "404") {
			t.Fatalf("GET /nothing: %v, want a 404 error", err)
		}
	})

	t.Run("connect with half-close", func(t *testing.T) {
		l := e.kernelListen(t, 7007)
		go func() {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			io.Copy(c, c)
			c.(*net.TCPConn).CloseWrite()
			io.Copy(io.Discard, c)
		}()
		data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10)
		var out bytes.Buffer
		if err := e.Connect(ctx, fmt.Sprintf("%s:7007", kernelIP), bytes.NewReader(data), &out); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("echo through kernel: %d bytes, want %d", out.Len(), len(data))
		}
	})
}

func TestKernelPingsStack(t *testing.T) {
	e := newEnv(t, Options{})
	e.serve(t, "echo")

	// The kernel's ICMP through a raw socket in the namespace: always available to root.
	var pc *icmp.PacketConn
	e.kernel(t, func() (err error) {
		pc, err = icmp.ListenPacket("ip4:icmp", kernelIP)
		return err
	})
	defer pc.Close()
	dst := &net.IPAddr{IP: net.ParseIP(stackIP)}
	buf := make([]byte, 1500)
	for seq := 1; seq <= 3; seq++ {
		msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: 0x5717, Seq: seq, Data: []byte("stacklab ping")}}
		wb, err := msg.Marshal(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pc.WriteTo(wb, dst); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			pc.SetReadDeadline(deadline)
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				t.Fatalf("echo request %d: no reply: %v", seq, err)
			}
			rm, err := icmp.ParseMessage(1, buf[:n])
			if err != nil || rm.Type != ipv4.ICMPTypeEchoReply || from.String() != stackIP {
				continue
			}
			echo := rm.Body.(*icmp.Echo)
			if echo.ID != 0x5717 || echo.Seq != seq || string(echo.Data) != "stacklab ping" {
				t.Fatalf("echo reply %+v, want id 0x5717 seq %d", echo, seq)
			}
			break
		}
	}

	// And ping(8), when installed.
	if _, err := exec.LookPath("ping"); err == nil {
		out := e.exec(t, 20*time.Second, nil, "ping", "-c", "3", "-i", "0.2", "-W", "2", stackIP)
		if !strings.Contains(string(out), "3 received") {
			t.Fatalf("ping: %s", out)
		}
	}
}

func TestUDPBothWays(t *testing.T) {
	e := newEnv(t, Options{})
	e.serve(t, "udp-echo")

	// Kernel → stack's udp-echo.
	var kc *net.UDPConn
	e.kernel(t, func() (err error) {
		kc, err = net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(stackIP+":7")))
		return err
	})
	defer kc.Close()
	buf := make([]byte, 2048)
	for i := range 5 {
		msg := fmt.Sprintf("datagram %d", i)
		kc.Write([]byte(msg))
		kc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := kc.Read(buf)
		if err != nil {
			t.Fatalf("kernel → stack echo %d: %v", i, err)
		}
		if string(buf[:n]) != msg {
			t.Fatalf("echo %q, want %q", buf[:n], msg)
		}
	}

	// Stack → a kernel UDP echo.
	var ks *net.UDPConn
	e.kernel(t, func() (err error) {
		ks, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(kernelIP+":40000")))
		return err
	})
	defer ks.Close()
	go func() {
		b := make([]byte, 2048)
		for {
			n, from, err := ks.ReadFromUDPAddrPort(b)
			if err != nil {
				return
			}
			ks.WriteToUDPAddrPort(b[:n], from)
		}
	}()
	sc, err := e.Stack.DialUDP(netip.AddrPort{}, netip.MustParseAddrPort(kernelIP+":40000"))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	sc.Write([]byte("from the stack"))
	sc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := sc.Read(buf)
	if err != nil || string(buf[:n]) != "from the stack" {
		t.Fatalf("stack → kernel echo: %q, %v", buf[:n], err)
	}
}

func TestClosedPortRefusedBothWays(t *testing.T) {
	e := newEnv(t, Options{})
	var err error
	e.kernel(t, func() error {
		d := net.Dialer{Timeout: 10 * time.Second}
		var c net.Conn
		c, err = d.Dial("tcp4", stackIP+":81")
		if c != nil {
			c.Close()
		}
		return nil
	})
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("kernel dial of the stack's closed port: %v, want ECONNREFUSED", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := e.Stack.DialContext(ctx, "tcp", kernelIP+":81")
	if err == nil {
		c.Close()
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("stack dial of the kernel's closed port: %v, want ECONNREFUSED", err)
	}
}

func TestTAPServesHTTP(t *testing.T) {
	e := newEnv(t, Options{TAP: true})
	e.serve(t, "http")
	page := e.exec(t, 30*time.Second, nil, "curl", "-sS", "--fail", "--max-time", "20", "http://"+stackIP+"/")
	if string(page) != Page {
		t.Fatalf("curl / over TAP: got %q", page)
	}
}

func TestLossyTransferBothWays(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping 2×16 MiB over a lossy link in -short mode")
	}
	// Issue 4 asks for the 16 MiB transfer itself, both ways, over 2 %
	// loss, 5 % reordering and 5 ms delay: ~11,500 segments each way,
	// some 230 of them lost. It takes most of a minute of the suite.
	const n = big
	e := newEnv(t, Options{Impair: sim.Impairments{Loss: 0.02, Reorder: 0.05, Delay: 5 * time.Millisecond}})
	e.serve(t, "http")
	start := time.Now()
	body := e.exec(t, 240*time.Second, nil, "curl", "-sS", "--fail", "--max-time", "230",
		fmt.Sprintf("http://%s/download?bytes=%d", stackIP, n))
	down := time.Since(start)
	if len(body) != n || sum(body) != ContentSHA256(n) {
		t.Fatalf("download: %d bytes sha256 %s, want %d bytes %s", len(body), sum(body), n, ContentSHA256(n))
	}
	file := filepath.Join(t.TempDir(), "up")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	reply := e.exec(t, 240*time.Second, nil, "curl", "-sS", "--fail", "--max-time", "230",
		"--data-binary", "@"+file, "-H", "Content-Type: application/octet-stream", "http://"+stackIP+"/upload")
	up := time.Since(start)
	if want := fmt.Sprintf("%s %d\n", ContentSHA256(n), n); string(reply) != want {
		t.Fatalf("upload: stack saw %q, want %q", reply, want)
	}
	in, out := e.in.Counters(), e.out.Counters()
	if in.Dropped() == 0 || out.Dropped() == 0 {
		t.Fatalf("impairments dropped nothing: in %+v out %+v", in, out)
	}
	t.Logf("IPv4, 2%% loss, 5%% reorder, 5 ms: kernel ← stack %.2f MB/s (%v), kernel → stack %.2f MB/s (%v); link drops in %d out %d",
		float64(n)/down.Seconds()/1e6, down.Round(time.Millisecond), float64(n)/up.Seconds()/1e6, up.Round(time.Millisecond), in.Dropped(), out.Dropped())
	// The wire's counts (the loss table's common measure): the stack's
	// retransmissions as it counted them (a retransmitted SYN-ACK or
	// bare FIN carries no data: the wire leaves it out), the kernel's too.
	// The connection can still retransmit while the counts are read (a
	// tail probe for a reply whose ACK was lost), so each read is
	// bracketed by two readings of the meter: the stack counts a
	// retransmission before the meter sees it.
	before, win := e.outMeter.Stats(), e.inMeter.Stats()
	var stackRetrans uint64
	for _, c := range e.Stack.Counters() {
		if c.Name == "tcp.RetransSegs" {
			stackRetrans = c.Value
		}
	}
	var w bytes.Buffer
	e.WriteCounters(&w)
	after := e.outMeter.Stats()
	if before.Retransmits == 0 || stackRetrans < before.Retransmits || stackRetrans > after.Retransmits+3 {
		t.Errorf("stack → kernel: the stack retransmitted %d segments, the wire saw %+v then %+v", stackRetrans, before, after)
	}
	if win.Retransmits == 0 || win.DataSegments < n/1500 {
		t.Errorf("kernel → stack: the wire saw %+v, want 16 MiB of segments and some retransmitted", win)
	}
	m := regexp.MustCompile(`(?m)^\s*wire\.out\.RetransSegs\s+(\d+)$`).FindStringSubmatch(w.String())
	if m == nil {
		t.Fatalf("WriteCounters lacks wire.out.RetransSegs:\n%s", w.String())
	}
	if v, _ := strconv.ParseUint(m[1], 10, 64); v < before.Retransmits || v > after.Retransmits {
		t.Errorf("WriteCounters: wire.out.RetransSegs %d, want between the meter's %d and %d:\n%s", v, before.Retransmits, after.Retransmits, w.String())
	}
}

func TestCorruptionDuplicationAndRate(t *testing.T) {
	e := newEnv(t, Options{Impair: sim.Impairments{Corrupt: 0.01, Duplicate: 0.02, Rate: 200_000_000}})
	e.serve(t, "http")
	const n = 4 << 20
	body := e.exec(t, 120*time.Second, nil, "curl", "-sS", "--fail", "--max-time", "110",
		fmt.Sprintf("http://%s/download?bytes=%d", stackIP, n))
	if len(body) != n || sum(body) != ContentSHA256(n) {
		t.Fatalf("download: %d bytes sha256 %s, want %d bytes %s", len(body), sum(body), n, ContentSHA256(n))
	}
	file := filepath.Join(t.TempDir(), "up")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	reply := e.exec(t, 120*time.Second, nil, "curl", "-sS", "--fail", "--max-time", "110",
		"--data-binary", "@"+file, "-H", "Content-Type: application/octet-stream", "http://"+stackIP+"/upload")
	if want := fmt.Sprintf("%s %d\n", ContentSHA256(n), n); string(reply) != want {
		t.Fatalf("upload: stack saw %q, want %q", reply, want)
	}
	in, out := e.in.Counters(), e.out.Counters()
	if in.Corrupted == 0 || out.Corrupted == 0 || in.Duplicated == 0 || out.Duplicated == 0 {
		t.Fatalf("impairments idle: in %+v out %+v", in, out)
	}
	// Corruption hits any byte past the link header; the IP header
	// checksum or TCP's catches it, and the stack counts the drop.
	ipBad, _ := e.Stack.Counter("ip.InHdrErrors")
	tcpBad, _ := e.Stack.Counter("tcp.InErrs")
	if ipBad+tcpBad == 0 {
		t.Fatalf("stack counted no bad packets although %d inbound were corrupted", in.Corrupted)
	}
}

func TestSetupErrors(t *testing.T) {
	tuntest.Require(t)
	ns := tuntest.Netns(t)
	tests := []struct {
		name string
		opts Options
		mode Mode
		want string
	}{
		{"same addresses", Options{Addr: netip.MustParsePrefix("10.99.0.1/24")}, Mode{}, "different addresses"},
		{"bad format", Options{Format: "xml"}, Mode{}, "--format"},
		{"two modes", Options{}, Mode{Serve: "echo", Get: "http://x/"}, "choose one"},
		{"bad serve", Options{}, Mode{Serve: "ftp"}, "--serve"},
		{"no netns", Options{Netns: "stacklab-test-missing"}, Mode{}, "network namespace not found"},
		{"bad impairment", Options{Impair: sim.Impairments{Loss: 2}}, Mode{}, "loss"},
		{"bad device name", Options{Dev: "a-name-longer-than-ifnamsiz", Netns: ns}, Mode{}, "--dev"},
		{"busy device", Options{Dev: "stlbusy0", Netns: ns}, Mode{}, "--dev stlbusy0"},
	}
	// The busy device: held open by another App for the whole test.
	held, err := Setup(Options{Dev: "stlbusy0", Netns: ns, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Run(context.Background(), tt.opts, tt.mode, nil, io.Discard)
			var se *SetupError
			if !errors.As(err, &se) || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tt.want)) {
				t.Fatalf("Run: %v, want a SetupError containing %q", err, tt.want)
			}
		})
	}
}

// TestCountersAtExit: the stack's counters are written to the log when
// stacklab tun stops.
func TestCountersAtExit(t *testing.T) {
	tuntest.Require(t)
	var log bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Run(ctx, Options{Netns: tuntest.Netns(t), Log: &log}, Mode{Serve: "echo"}, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "counters (non-zero):") {
		t.Fatalf("log:\n%s", log.String())
	}
}

func TestContent(t *testing.T) {
	b := make([]byte, 600)
	r := NewContent()
	io.ReadFull(r, b[:100])
	io.ReadFull(r, b[100:])
	for i, v := range b {
		if v != byte(i%251) {
			t.Fatalf("byte %d = %d, want %d", i, v, i%251)
		}
	}
	if ContentSHA256(600) != sum(b) {
		t.Fatal("ContentSHA256 disagrees with the stream")
	}
}
