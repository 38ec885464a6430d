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
