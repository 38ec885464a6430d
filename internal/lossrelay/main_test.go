package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"stacklab/sim"
	"stacklab/stack/tun"
)

// TestRelayBetweenNamespaces joins two namespaces it creates and pings
// across: with 10 ms each way every echo comes back after at least 20 ms;
// with 100 % loss none does, and the pipes count the drops. Root only.
func TestRelayBetweenNamespaces(t *testing.T) {
	if err := tun.Check(""); err != nil {
		t.Skipf("needs root and /dev/net/tun: %v", err)
	}
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("no ping")
	}
	for _, tc := range []struct {
		name string
		imp  sim.Impairments
		want int
	}{
		{"delay", sim.Impairments{Delay: 10 * time.Millisecond}, 5},
		{"loss", sim.Impairments{Loss: 1}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := fmt.Sprintf("lrtest-a-%d", os.Getpid()), fmt.Sprintf("lrtest-b-%d", os.Getpid())
			for _, ns := range []string{a, b} {
				if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
					t.Fatalf("ip netns add %s: %v: %s", ns, err, out)
				}
				t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
			}
			r, err := start(a, b, tc.imp, 1)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := exec.Command("ip", "netns", "exec", a, "ping", "-c", "5", "-i", "0.05", "-W", "1", "10.98.0.2").CombinedOutput()
			ab, ba := r.stop()
			m := regexp.MustCompile(`(\d+) received`).FindSubmatch(out)
			if m == nil {
				t.Fatalf("ping output: %s", out)
			}
			got, _ := strconv.Atoi(string(m[1]))
			if got != tc.want {
				t.Fatalf("%d echoes back, want %d: %s", got, tc.want, out)
			}
			if tc.want > 0 {
				rtt := regexp.MustCompile(`= ([\d.]+)/`).FindSubmatch(out)
				if v, _ := strconv.ParseFloat(string(rtt[1]), 64); v < 20 {
					t.Fatalf("min RTT %v ms, want at least 20: %s", v, out)
				}
				if ab.Delivered < 5 || ba.Delivered < 5 {
					t.Fatalf("pipes delivered %d and %d", ab.Delivered, ba.Delivered)
				}
			} else if ab.DropLoss < 5 {
				t.Fatalf("a→b dropped %d, want 5", ab.DropLoss)
			}
		})
	}
}

// TestRelayMetersKernelRetransmissions sends 2 MiB from one kernel to
// the other over 5 % loss and checks the wire's count of retransmitted
// segments against the sending kernel's own (TcpRetransSegs, which also
// counts a retransmitted SYN or bare FIN, the wire not: at most a few
// more). Root, socat and nstat only.
func TestRelayMetersKernelRetransmissions(t *testing.T) {
	if err := tun.Check(""); err != nil {
		t.Skipf("needs root and /dev/net/tun: %v", err)
	}
	for _, tool := range []string{"socat", "nstat"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	a, b := fmt.Sprintf("lrtcp-a-%d", os.Getpid()), fmt.Sprintf("lrtcp-b-%d", os.Getpid())
	for _, ns := range []string{a, b} {
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			t.Fatalf("ip netns add %s: %v: %s", ns, err, out)
		}
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		exec.Command("ip", "-n", ns, "link", "set", "lo", "up").Run()
	}
	r, err := start(a, b, sim.Impairments{Loss: 0.05, Delay: time.Millisecond}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.stop()
	srv := exec.Command("ip", "netns", "exec", b, "timeout", "60", "socat", "-u", "TCP-LISTEN:5001,reuseaddr", "OPEN:/dev/null")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	out, err := exec.Command("ip", "netns", "exec", a, "sh", "-c",
		"head -c 2097152 /dev/zero | timeout 60 socat -u - TCP:10.98.0.2:5001").CombinedOutput()
	if err != nil {
		t.Fatalf("socat: %v: %s", err, out)
	}
	if err := srv.Wait(); err != nil {
		t.Fatalf("receiving socat: %v", err)
	}
	nst, err := exec.Command("ip", "netns", "exec", a, "nstat", "-asz", "TcpRetransSegs").CombinedOutput()
	if err != nil {
		t.Fatalf("nstat: %v: %s", err, nst)
	}
	m := regexp.MustCompile(`TcpRetransSegs\s+(\d+)`).FindSubmatch(nst)
	if m == nil {
		t.Fatalf("nstat output: %s", nst)
	}
	kernel, _ := strconv.ParseUint(string(m[1]), 10, 64)
	st := r.mab.Stats()
	t.Logf("kernel TcpRetransSegs %d, wire %+v", kernel, st)
	if st.DataSegments < 2097152/1500 || st.Retransmits == 0 || st.Unmatched != 0 {
		t.Fatalf("wire %+v: want every segment of 2 MiB, some retransmitted, none unmatched", st)
	}
	if kernel < st.Retransmits || kernel > st.Retransmits+3 {
		t.Errorf("kernel retransmitted %d segments, the wire saw %d", kernel, st.Retransmits)
	}
}
