package tunapp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"stacklab/sim"
)

const (
	stackIP6  = "fd99::2"
	kernelIP6 = "fd99::1"
)

func newEnv6(t *testing.T) *env {
	return newEnv(t, Options{Addr6: netip.MustParsePrefix(stackIP6 + "/64"), PeerAddr6: netip.MustParsePrefix(kernelIP6 + "/64")})
}

// TestIPv6KernelReachesStack: with both families on the device, the
// kernel pings the stack over IPv6 (ping -6) and fetches its HTTP page
// and a 16 MiB download over IPv6 (curl -6), checked by hash; the same
// dual-stack server still answers over IPv4.
func TestIPv6KernelReachesStack(t *testing.T) {
	e := newEnv6(t)
	e.serve(t, "http")
	out := e.exec(t, 20*time.Second, nil, "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", stackIP6)
	if !bytes.Contains(out, []byte("3 received")) {
		t.Fatalf("ping -6: %s", out)
	}
	page := e.exec(t, 30*time.Second, nil, "curl", "-6", "-sS", "--fail", "--max-time", "20", "http://["+stackIP6+"]/")
	if string(page) != Page {
		t.Fatalf("curl -6 /: got %q, want the page", page)
	}
	body := e.exec(t, 90*time.Second, nil, "curl", "-6", "-sS", "--fail", "--max-time", "80",
		"http://["+stackIP6+"]/download?bytes="+strconv.Itoa(big))
	if len(body) != big || sum(body) != ContentSHA256(big) {
		t.Fatalf("curl -6 /download: %d bytes sha256 %s, want %d bytes %s", len(body), sum(body), big, ContentSHA256(big))
	}
	page = e.exec(t, 30*time.Second, nil, "curl", "-4", "-sS", "--fail", "--max-time", "20", "http://"+stackIP+"/")
	if string(page) != Page {
		t.Fatalf("curl -4 / from the dual-stack server: got %q", page)
	}
	if v, _ := e.Stack.Counter("icmp6.OutEchoReplies"); v < 3 {
		t.Errorf("icmp6.OutEchoReplies = %d, want ≥ 3", v)
	}
}

// TestIPv6StackDialsKernel: the stack's client reaches a kernel server
// over IPv6 and echoes 1 MiB through it with a half-close; a closed
// kernel port refuses it.
func TestIPv6StackDialsKernel(t *testing.T) {
	e := newEnv6(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var l net.Listener
	e.kernel(t, func() (err error) {
		l, err = net.Listen("tcp6", "["+kernelIP6+"]:7007")
		return err
	})
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		io.Copy(c, c)
		c.(*net.TCPConn).CloseWrite()
	}()
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10)
	var out bytes.Buffer
	if err := e.Connect(ctx, "["+kernelIP6+"]:7007", bytes.NewReader(data), &out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("echo through the kernel over IPv6: %d bytes, want %d", out.Len(), len(data))
	}
	c, err := e.Stack.DialContext(ctx, "tcp6", "["+kernelIP6+"]:7999")
	if err == nil || !strings.Contains(err.Error(), "refused") {
		if c != nil {
			c.Close()
		}
		t.Fatalf("dial a closed kernel port over IPv6: %v, want connection refused", err)
	}
}

// TestIPv6UDPBothWaysAndFragments: over IPv6 the kernel's UDP reaches the
// stack's udp-echo and back, a 4,000-byte datagram included (fragmented
// by the kernel, reassembled by the stack, fragmented again by the
// stack's source fragmentation and reassembled by the kernel); the
// stack's UDP reaches a kernel echo; a closed port refuses TCP both ways.
func TestIPv6UDPBothWaysAndFragments(t *testing.T) {
	e := newEnv6(t)
	e.serve(t, "udp-echo")
	var kc *net.UDPConn
	e.kernel(t, func() (err error) {
		kc, err = net.DialUDP("udp6", nil, net.UDPAddrFromAddrPort(netip.MustParseAddrPort("["+stackIP6+"]:7")))
		return err
	})
	defer kc.Close()
	buf := make([]byte, 8192)
	for _, size := range []int{10, 1400, 4000} {
		msg := bytes.Repeat([]byte{byte(size)}, size)
		kc.Write(msg)
		kc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := kc.Read(buf)
		if err != nil || !bytes.Equal(buf[:n], msg) {
			t.Fatalf("kernel → stack echo of %d bytes over IPv6: %d bytes, %v", size, n, err)
		}
	}
	for name, min := range map[string]uint64{"ip6.ReasmOKs": 1, "ip6.FragCreates": 3, "udp6.InDatagrams": 3} {
		if v, _ := e.Stack.Counter(name); v < min {
			t.Errorf("%s = %d, want ≥ %d", name, v, min)
		}
	}

	var ks *net.UDPConn
	e.kernel(t, func() (err error) {
		ks, err = net.ListenUDP("udp6", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("["+kernelIP6+"]:40000")))
		return err
	})
	defer ks.Close()
	go func() {
		b := make([]byte, 8192)
		for {
			n, from, err := ks.ReadFromUDPAddrPort(b)
			if err != nil {
				return
			}
			ks.WriteToUDPAddrPort(b[:n], from)
		}
	}()
	sc, err := e.Stack.DialUDP(netip.AddrPort{}, netip.MustParseAddrPort("["+kernelIP6+"]:40000"))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	sc.Write([]byte("from the stack"))
	sc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := sc.Read(buf); err != nil || string(buf[:n]) != "from the stack" {
		t.Fatalf("stack → kernel echo over IPv6: %q, %v", buf[:n], err)
	}

	var derr error
	e.kernel(t, func() error {
		d := net.Dialer{Timeout: 10 * time.Second}
		c, err := d.Dial("tcp6", "["+stackIP6+"]:81")
		if c != nil {
			c.Close()
		}
		derr = err
		return nil
	})
	if derr == nil || !strings.Contains(derr.Error(), "refused") {
		t.Fatalf("kernel dial of the stack's closed port over IPv6: %v, want connection refused", derr)
	}
}

// TestIPv6LossyTransferBothWays is TestLossyTransferBothWays over IPv6:
// 16 MiB each way between the kernel's curl -6 and the stack's HTTP
// server through 2 % loss, 5 % reordering and 5 ms delay, checked by
// hash; the goodput of each direction is logged (go test -v).
func TestIPv6LossyTransferBothWays(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping 2×16 MiB over a lossy IPv6 link in -short mode")
	}
	const n = big
	e := newEnv(t, Options{
		Addr6: netip.MustParsePrefix(stackIP6 + "/64"), PeerAddr6: netip.MustParsePrefix(kernelIP6 + "/64"),
		Impair: sim.Impairments{Loss: 0.02, Reorder: 0.05, Delay: 5 * time.Millisecond},
	})
	e.serve(t, "http")
	start := time.Now()
	body := e.exec(t, 240*time.Second, nil, "curl", "-6", "-sS", "--fail", "--max-time", "230",
		"http://["+stackIP6+"]/download?bytes="+strconv.Itoa(n))
	down := time.Since(start)
	if len(body) != n || sum(body) != ContentSHA256(n) {
		t.Fatalf("download over IPv6: %d bytes sha256 %s, want %d bytes %s", len(body), sum(body), n, ContentSHA256(n))
	}
	file := filepath.Join(t.TempDir(), "up")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	reply := e.exec(t, 240*time.Second, nil, "curl", "-6", "-sS", "--fail", "--max-time", "230",
		"--data-binary", "@"+file, "-H", "Content-Type: application/octet-stream", "http://["+stackIP6+"]/upload")
	up := time.Since(start)
	if want := fmt.Sprintf("%s %d\n", ContentSHA256(n), n); string(reply) != want {
		t.Fatalf("upload over IPv6: stack saw %q, want %q", reply, want)
	}
	in, out := e.in.Counters(), e.out.Counters()
	if in.Dropped() == 0 || out.Dropped() == 0 {
		t.Fatalf("impairments dropped nothing: in %+v out %+v", in, out)
	}
	// The bytes crossed as IPv6: the stack counted the segments and
	// retransmitted some over IPv6, and the v4 counters stayed near idle.
	seg6, _ := e.Stack.Counter("ip6.InReceives")
	if seg6 < n/1500 {
		t.Errorf("ip6.InReceives = %d, want ≥ %d (the transfer went over IPv4?)", seg6, n/1500)
	}
	if r, _ := e.Stack.Counter("tcp.RetransSegs"); r == 0 {
		t.Errorf("tcp.RetransSegs = 0 over a 2 %% lossy link")
	}
	t.Logf("IPv6, 2%% loss, 5%% reorder, 5 ms: kernel ← stack %.2f MB/s (%v), kernel → stack %.2f MB/s (%v); link drops in %d out %d",
		float64(n)/down.Seconds()/1e6, down.Round(time.Millisecond), float64(n)/up.Seconds()/1e6, up.Round(time.Millisecond), in.Dropped(), out.Dropped())
}
