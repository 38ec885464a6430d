package sim

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"stacklab/stack"
)

// bulk sends size bytes from a to b's port 80 over TCP with non-blocking
// sockets, stepping the network's clock, and returns what b received.
// The client half-closes when done; the transfer ends at the server's EOF
// or after limit of virtual time.
func bulk(t testing.TB, n *Network, a, b *stack.Stack, data []byte, limit time.Duration) []byte {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	lfd, err := b.Socket(stack.SockStream)
	must(err)
	must(b.SetNonblock(lfd, true))
	must(b.Bind(lfd, netip.MustParseAddrPort("10.0.0.2:80")))
	must(b.Listen(lfd, 8))
	cfd, err := a.Socket(stack.SockStream)
	must(err)
	must(a.SetNonblock(cfd, true))
	if err := a.Connect(cfd, netip.MustParseAddrPort("10.0.0.2:80")); !errors.Is(err, syscall.EINPROGRESS) {
		t.Fatalf("connect: %v, want EINPROGRESS", err)
	}
	got := make([]byte, 0, len(data))
	buf := make([]byte, 32<<10)
	sfd, sent, shut, eof := -1, 0, false, false
	end := n.Now().Add(limit)
	for !eof && n.Now().Before(end) {
		if sfd < 0 && b.Poll(lfd)&stack.PollIn != 0 {
			if fd, _, err := b.Accept(lfd); err == nil {
				sfd = fd // accepted sockets block, as on Linux
				must(b.SetNonblock(sfd, true))
			}
		}
		if sent < len(data) {
			if a.Poll(cfd)&(stack.PollOut|stack.PollErr) == 0 {
				// Not writable: wait for the clock.
			} else if k, err := a.Send(cfd, data[sent:]); err == nil {
				sent += k
			} else if !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.ENOTCONN) {
				t.Fatalf("send after %d bytes: %v", sent, err)
			}
		} else if !shut {
			must(a.Shutdown(cfd, stack.ShutWR))
			shut = true
		}
		for sfd >= 0 && b.Poll(sfd)&(stack.PollIn|stack.PollErr|stack.PollHup) != 0 {
			k, err := b.Recv(sfd, buf)
			if err != nil {
				if !errors.Is(err, syscall.EAGAIN) {
					t.Fatalf("recv after %d bytes: %v", len(got), err)
				}
				break
			}
			if k == 0 {
				eof = true
				break
			}
			got = append(got, buf[:k]...)
		}
		if !eof && !n.Step() {
			break
		}
	}
	if sfd >= 0 {
		b.Close(sfd)
	}
	a.Close(cfd)
	b.Close(lfd)
	return got
}

// TestTCPOverImpairments is the property test of DESIGN.md: whatever the
// link does, the bytes delivered equal the bytes sent.
func TestTCPOverImpairments(t *testing.T) {
	data := make([]byte, 96<<10)
	for i := range data {
		data[i] = byte(i*7 + i>>8)
	}
	base := Impairments{Delay: 5 * time.Millisecond, Rate: 50e6}
	with := func(f func(*Impairments)) Impairments { imp := base; f(&imp); return imp }
	tests := []struct {
		name string
		imp  Impairments
	}{
		{"clean", base},
		{"loss 2%", with(func(i *Impairments) { i.Loss = 0.02 })},
		{"burst loss", with(func(i *Impairments) { i.Burst = GilbertElliott{P: 0.01, R: 0.3, LossBad: 0.5} })},
		{"reorder", with(func(i *Impairments) { i.Reorder = 0.05; i.ReorderDelay = 2 * time.Millisecond })},
		{"duplicate", with(func(i *Impairments) { i.Duplicate = 0.05 })},
		{"corrupt", with(func(i *Impairments) { i.Corrupt = 0.02 })},
		{"jitter", with(func(i *Impairments) { i.Jitter = 3 * time.Millisecond })},
		{"small queue", with(func(i *Impairments) { i.Rate = 5e6; i.QueuePackets = 8 })},
		{"everything", with(func(i *Impairments) {
			i.Loss, i.Duplicate, i.Reorder, i.Corrupt, i.Jitter, i.QueueBytes = 0.01, 0.01, 0.01, 0.01, time.Millisecond, 32<<10
		})},
	}
	for _, tt := range tests {
		for seed := range uint64(3) {
			t.Run(fmt.Sprintf("%s/seed%d", tt.name, seed), func(t *testing.T) {
				t.Parallel()
				n, a, b, l := pair(t, NetworkOptions{Seed: seed}, Symmetric(tt.imp))
				got := bulk(t, n, a, b, data, 10*time.Minute)
				t.Logf("link %+v, elapsed %v", l.Counters(Both), n.Elapsed())
				if !bytes.Equal(got, data) {
					t.Fatalf("received %d bytes, want %d intact (link %+v)", len(got), len(data), l.Counters(Both))
				}
			})
		}
	}
}

// BenchmarkNetworkTCP measures a bulk TCP transfer in virtual time over
// a 1 Gbit/s, 10 ms link: simulated packets per wall-clock second.
func BenchmarkNetworkTCP(b *testing.B) {
	data := make([]byte, 4<<20)
	var pkts uint64
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n, cl, sv, l := pair(&testing.T{}, NetworkOptions{}, Symmetric(Impairments{Delay: 10 * time.Millisecond, Rate: 1e9}))
		got := bulk(b, n, cl, sv, data, time.Hour)
		if len(got) != len(data) {
			b.Fatalf("received %d of %d", len(got), len(data))
		}
		pkts += l.Counters(Both).Sent
	}
	b.ReportMetric(float64(pkts)/b.Elapsed().Seconds(), "pkts/s")
}
