package sim

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"stacklab/stack"
)

// TestFirewallKeepalive: behind a firewall that forgets idle flows after
// a minute, an idle connection dies, and one with 30 s keepalives lives.
func TestFirewallKeepalive(t *testing.T) {
	for _, keepalive := range []bool{false, true} {
		name := "idle"
		if keepalive {
			name = "keepalive"
		}
		t.Run(name, func(t *testing.T) {
			n, cl, sv, l := pair(t, NetworkOptions{Seed: 1}, Symmetric(Impairments{Delay: 5 * time.Millisecond}))
			fw := NewFirewall(n.Clock(), FirewallConfig{TCPIdle: time.Minute})
			l.SetMiddlebox(fw)
			lfd, _ := sv.Socket(stack.SockStream)
			mustOK(t, sv.SetNonblock(lfd, true))
			mustOK(t, sv.Bind(lfd, netip.MustParseAddrPort("10.0.0.2:80")))
			mustOK(t, sv.Listen(lfd, 4))
			cfd, _ := cl.Socket(stack.SockStream)
			mustOK(t, cl.SetNonblock(cfd, true))
			if keepalive {
				mustOK(t, cl.SetSockopt(cfd, stack.SoKeepAlive, 1))
				mustOK(t, cl.SetSockopt(cfd, stack.TCPKeepIdle, 30))
				mustOK(t, cl.SetSockopt(cfd, stack.TCPKeepIntvl, 10))
				mustOK(t, cl.SetSockopt(cfd, stack.TCPKeepCnt, 3))
			}
			cl.Connect(cfd, netip.MustParseAddrPort("10.0.0.2:80"))
			n.RunFor(time.Second)
			sfd, _, err := sv.Accept(lfd)
			mustOK(t, err)
			mustOK(t, sv.SetNonblock(sfd, true))

			n.RunFor(5 * time.Minute)
			if _, err := cl.Send(cfd, []byte("still there?")); err != nil {
				t.Fatal(err)
			}
			n.RunFor(time.Second)
			buf := make([]byte, 64)
			k, err := sv.Recv(sfd, buf)
			if keepalive {
				if err != nil || string(buf[:k]) != "still there?" {
					t.Fatalf("with keepalives: server read %q, %v", buf[:k], err)
				}
				if fw.Stats().Rejected != 0 {
					t.Errorf("firewall rejected %d packets", fw.Stats().Rejected)
				}
				return
			}
			if !errors.Is(err, syscall.EAGAIN) {
				t.Fatalf("without keepalives: server read %q, %v; want nothing (EAGAIN)", buf[:k], err)
			}
			if c := l.Counters(AtoB); c.DropMiddlebox == 0 {
				t.Errorf("the firewall dropped nothing: %+v", c)
			}
		})
	}
}
