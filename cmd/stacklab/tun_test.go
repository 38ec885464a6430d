package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"stacklab/internal/tunapp"
	"stacklab/stack/tun"
	"stacklab/stack/tun/tuntest"
)

// runTun runs `stacklab tun args…` in-process.
func runTun(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(append([]string{"tun"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestTunHelpListsFlags(t *testing.T) {
	code, out, _ := runTun("--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, f := range []string{"--addr", "--peer-addr", "--dev", "--tap", "--mtu", "--netns", "--cc", "--nodelay",
		"--no-sack", "--delay", "--loss", "--reorder", "--dup", "--corrupt", "--rate", "--format", "--trace",
		"--serve", "--get", "--connect", "-o, --out"} {
		if !strings.Contains(out, f) {
			t.Errorf("help does not mention %s", f)
		}
	}
}

func TestTunBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--loss", "lots"}, "stacklab tun: --loss: bad probability"},
		{[]string{"--delay", "-5ms"}, "stacklab tun: --delay"},
		{[]string{"--addr", "10.99.0.300/24"}, "stacklab tun: --addr"},
		{[]string{"--cc", "bbr"}, "stacklab tun: --cc"},
		{[]string{"--format", "xml"}, "stacklab tun: --format"},
		{[]string{"--mtu", "10"}, "stacklab tun: --mtu"},
		{[]string{"--serve", "echo", "--get", "http://x/"}, "choose one of --serve, --get and --connect"},
		{[]string{"--sha256"}, "--sha256: only goes with --get"},
		{[]string{"--bogus"}, "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, stderr := runTun(tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != 1 {
				t.Fatalf("exit %d, stderr %q; want exit 2 and one line containing %q", code, stderr, tt.want)
			}
		})
	}
}

// TestTunWithoutRoot runs the command without capabilities (setpriv drops
// them in a child process): one line saying what is missing, exit 2, and
// no device created.
func TestTunWithoutRoot(t *testing.T) {
	if os.Getenv("STACKLAB_TUN_CHILD") == "noroot" {
		code, _, stderr := runTun("--dev", "stknoroot0", "-o", os.Getenv("STACKLAB_TUN_OUT"))
		want := "stacklab tun: needs root (CAP_NET_ADMIN) to create a TUN device; run with sudo\n"
		if code != 2 || stderr != want {
			t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, want)
		}
		return
	}
	tuntest.Require(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("skipping: setpriv (util-linux) not installed")
	}
	out := t.TempDir() + "/out"
	cmd := exec.Command(setpriv, "--inh-caps=-all", "--bounding-set=-all", "--", os.Args[0], "-test.run=^TestTunWithoutRoot$", "-test.v")
	cmd.Env = append(os.Environ(), "STACKLAB_TUN_CHILD=noroot", "STACKLAB_TUN_OUT="+out)
	b, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(b), "--- PASS: TestTunWithoutRoot") {
		t.Fatalf("child: %v\n%s", err, b)
	}
	if exec.Command("ip", "link", "show", "stknoroot0").Run() == nil {
		t.Fatal("device stknoroot0 exists after the failed start")
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("capture directory created although nothing ran")
	}
}

// TestTunWithoutDevNetTun hides /dev/net/tun in a private mount namespace
// (unshare) and checks the one-line message and exit 2.
func TestTunWithoutDevNetTun(t *testing.T) {
	if os.Getenv("STACKLAB_TUN_CHILD") == "nodev" {
		code, _, stderr := runTun()
		want := "stacklab tun: needs /dev/net/tun (load the tun module with: modprobe tun)\n"
		if code != 2 || stderr != want {
			t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, want)
		}
		return
	}
	tuntest.Require(t)
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("skipping: unshare (util-linux) not installed")
	}
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", "--", "sh", "-c",
		`mount -t tmpfs tmpfs /dev/net && exec "$0" -test.run='^TestTunWithoutDevNetTun$' -test.v`, os.Args[0])
	cmd.Env = append(os.Environ(), "STACKLAB_TUN_CHILD=nodev")
	b, err := cmd.CombinedOutput()
	if err != nil && (strings.HasPrefix(string(b), "unshare:") || strings.HasPrefix(string(b), "mount:")) {
		t.Skipf("skipping: cannot hide /dev/net/tun in a mount namespace here: %s", b)
	}
	if err != nil || !strings.Contains(string(b), "--- PASS: TestTunWithoutDevNetTun") {
		t.Fatalf("child: %v\n%s", err, b)
	}
}

func TestTunGetAndConnect(t *testing.T) {
	ns := tuntest.Netns(t)
	var hl, el net.Listener
	err := tun.InNetns(ns, func() (err error) {
		if hl, err = net.Listen("tcp4", "0.0.0.0:8080"); err != nil {
			return err
		}
		el, err = net.Listen("tcp4", "0.0.0.0:7007")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer hl.Close()
	defer el.Close()
	go http.Serve(hl, tunapp.Handler())
	go func() {
		for {
			c, err := el.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				b := make([]byte, 4096)
				for {
					n, err := c.Read(b)
					if err != nil {
						break
					}
					c.Write(bytes.ToUpper(b[:n]))
				}
				c.(*net.TCPConn).CloseWrite()
			}()
		}
	}()

	const n = 1 << 20
	code, stdout, stderr := runTun("--netns", ns, "-q", "--get", fmt.Sprintf("http://10.99.0.1:8080/download?bytes=%d", n), "--sha256")
	if want := fmt.Sprintf("%s %d\n", tunapp.ContentSHA256(n), n); code != 0 || stdout != want {
		t.Fatalf("--get: exit %d, stdout %q, stderr %q; want %q", code, stdout, stderr, want)
	}

	var out, errb bytes.Buffer
	code = Main([]string{"tun", "--netns", ns, "-q", "--connect", "10.99.0.1:7007"}, strings.NewReader("hello\nkernel\n"), &out, &errb)
	if code != 0 || out.String() != "HELLO\nKERNEL\n" {
		t.Fatalf("--connect: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}

	code, _, stderr = runTun("--netns", ns, "-q", "--connect", "10.99.0.1:7999")
	if code != 1 || !strings.Contains(stderr, "connection refused") {
		t.Fatalf("--connect to a closed port: exit %d, stderr %q; want 1 and connection refused", code, stderr)
	}
	if links := tuntest.Links(t, ns); !slices.Equal(links, []string{"lo"}) {
		t.Fatalf("devices left behind: %v", links)
	}
}

// TestTunServeStopsOnSIGTERM runs `stacklab tun --serve http` in a child
// process, fetches a page with curl, sends SIGTERM and checks the device
// is gone.
func TestTunServeStopsOnSIGTERM(t *testing.T) {
	if os.Getenv("STACKLAB_TUN_CHILD") == "serve" {
		os.Exit(Main([]string{"tun", "--netns", os.Getenv("STACKLAB_TUN_NETNS"), "--dev", "stkserve0", "--serve", "http"},
			os.Stdin, os.Stdout, os.Stderr))
	}
	ns := tuntest.Netns(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestTunServeStopsOnSIGTERM$")
	cmd.Env = append(os.Environ(), "STACKLAB_TUN_CHILD=serve", "STACKLAB_TUN_NETNS="+ns)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
	}()

	// Wait for the server (bounded), then fetch the page.
	var page []byte
	for i := 0; ; i++ {
		out, err := tuntest.Exec(t, ns, 5*time.Second, nil, "curl", "-sS", "--fail", "--max-time", "2", "http://10.99.0.2/")
		if err == nil {
			page = out
			break
		}
		if i == 50 {
			t.Fatalf("server not reachable after 50 tries: %v\nstderr: %s", err, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if string(page) != tunapp.Page {
		t.Fatalf("curl: %q", page)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\nstderr: %s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no exit within 10s of SIGTERM\nstderr: %s", stderr.String())
	}
	if links := tuntest.Links(t, ns); !slices.Equal(links, []string{"lo"}) {
		t.Fatalf("devices left behind after SIGTERM: %v", links)
	}
	if !strings.Contains(stderr.String(), "http server on 10.99.0.2:80") {
		t.Errorf("status lines missing: %s", stderr.String())
	}
}
