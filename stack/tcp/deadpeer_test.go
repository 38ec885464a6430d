package tcp

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

// deadPeer is a connection pair whose server can be made to go silent
// (every segment it sends is lost) at any moment.
type deadPeer struct {
	t      *testing.T
	w      *fnet
	cl, sv *host
	c, s   *Conn
	silent bool
}

func newDeadPeer(t *testing.T, cfg Config, o *SockOpts) *deadPeer {
	d := &deadPeer{t: t}
	d.w, d.cl, d.sv = pair(cfg)
	d.w.filter = func(h *host, seg []byte, why string) verdict {
		return verdict{drop: d.silent && h == d.sv}
	}
	d.c, d.s, _ = dial(t, d.w, d.cl, d.sv, o)
	return d
}

// closeWindow fills the server's 16 KiB receive buffer (the server never
// reads) so that the client is left with unsent data and a zero window.
func (d *deadPeer) closeWindow() {
	d.t.Helper()
	if _, err := d.c.Write(pattern(64<<10, 1)); err != nil {
		d.t.Fatal(err)
	}
	d.w.clk.advance(5 * time.Second)
	if d.c.sndWnd != 0 || !d.c.hasUnsent() {
		d.t.Fatalf("window %d, unsent %v: want a closed window with data waiting", d.c.sndWnd, d.c.hasUnsent())
	}
}

// deathTime runs the clock until c is CLOSED or limit passes, and returns
// how long that took.
func (d *deadPeer) deathTime(c *Conn, limit time.Duration) time.Duration {
	d.t.Helper()
	start := d.w.clk.now
	for c.State() != Closed {
		if d.w.clk.now.Sub(start) > limit {
			d.t.Fatalf("still %v after %v (probes %d, backoff %d)", c.State(), limit, d.c.zwpProbes, d.c.backoff)
		}
		d.w.clk.advance(100 * time.Millisecond)
	}
	return d.w.clk.now.Sub(start)
}

// TestDeadPeerEveryState: in every state a dead or hostile peer can
// leave a connection in, the connection ends within a bounded time, as
// Linux's does, and the abort is counted.
func TestDeadPeerEveryState(t *testing.T) {
	small := &SockOpts{RecvBuffer: 16 << 10}
	cases := []struct {
		name  string
		opts  *SockOpts
		setup func(d *deadPeer) *Conn // returns the connection that must end
		limit time.Duration           // it must end within this
		err   error                   // with this error (nil: not checked, an orphan)
	}{
		{"established, data in flight, peer silent", nil, func(d *deadPeer) *Conn {
			d.silent = true
			d.c.Write(pattern(4000, 2))
			return d.c
		}, 20 * time.Minute, syscall.ETIMEDOUT},
		{"established, zero window, peer silent", small, func(d *deadPeer) *Conn {
			d.closeWindow()
			d.silent = true
			return d.c
		}, 40 * time.Minute, syscall.ETIMEDOUT},
		{"FIN_WAIT_1 orphan, zero window, peer answers", small, func(d *deadPeer) *Conn {
			d.closeWindow()
			d.c.Close()
			if d.c.State() != FinWait1 {
				t.Fatalf("state %v", d.c.State())
			}
			return d.c
		}, 15 * time.Minute, nil},
		{"FIN_WAIT_1 orphan, zero window, peer silent", small, func(d *deadPeer) *Conn {
			d.closeWindow()
			d.c.Close()
			d.silent = true
			return d.c
		}, 15 * time.Minute, nil},
		{"FIN_WAIT_1 orphan, data in flight, peer silent", nil, func(d *deadPeer) *Conn {
			d.silent = true
			d.c.Write(pattern(4000, 3))
			d.c.Close()
			return d.c
		}, 5 * time.Minute, nil},
		{"LAST_ACK orphan, zero window, peer answers", small, func(d *deadPeer) *Conn {
			d.closeWindow()
			d.s.CloseWrite()
			d.w.clk.advance(time.Second)
			if d.c.State() != CloseWait {
				t.Fatalf("state %v", d.c.State())
			}
			d.c.Close()
			if d.c.State() != LastAck {
				t.Fatalf("state %v", d.c.State())
			}
			return d.c
		}, 15 * time.Minute, nil},
		{"LAST_ACK orphan, FIN unanswered", nil, func(d *deadPeer) *Conn {
			d.s.CloseWrite()
			d.w.clk.advance(time.Second)
			d.silent = true
			d.c.Close()
			return d.c
		}, 5 * time.Minute, nil},
		{"CLOSING orphan, last ACK lost", nil, func(d *deadPeer) *Conn {
			// Simultaneous close: the FINs cross, and the server's ACK
			// of the client's FIN is lost.
			d.s.CloseWrite()
			d.c.Close()
			d.w.clk.advance(time.Millisecond)
			d.silent = true
			d.w.clk.advance(20 * time.Millisecond)
			if d.c.State() != Closing {
				t.Fatalf("state %v", d.c.State())
			}
			d.silent = true
			return d.c
		}, 5 * time.Minute, nil},
		{"FIN_WAIT_2 orphan", nil, func(d *deadPeer) *Conn {
			d.c.Close()
			d.w.clk.advance(time.Second)
			if d.c.State() != FinWait2 {
				t.Fatalf("state %v", d.c.State())
			}
			return d.c
		}, 2 * time.Minute, nil},
		{"SYN_RECEIVED, handshake never completed", nil, func(d *deadPeer) *Conn {
			// A second client whose ACK of the SYN-ACK never comes.
			l, err := d.sv.p.Listen(ap("0.0.0.0:81"), 4, nil)
			if err != nil {
				t.Fatal(err)
			}
			_ = l
			d.w.filter = func(h *host, seg []byte, why string) verdict { return verdict{drop: h == d.cl && why != whyConnect} }
			if _, err := d.cl.p.Connect(netip.AddrPort{}, netip.AddrPortFrom(d.sv.addr, 81), nil); err != nil {
				t.Fatal(err)
			}
			d.w.clk.advance(50 * time.Millisecond)
			var child *Conn
			d.sv.p.Conns(func(c *Conn) {
				if c.State() == SynReceived {
					child = c
				}
			})
			if child == nil {
				t.Fatal("no SYN_RECEIVED connection")
			}
			return child
		}, 5 * time.Minute, nil},
		{"user timeout, data in flight", &SockOpts{UserTimeout: 10 * time.Second}, func(d *deadPeer) *Conn {
			d.silent = true
			d.c.Write(pattern(4000, 4))
			return d.c
		}, 10*time.Second + 300*time.Millisecond, syscall.ETIMEDOUT},
		{"user timeout, zero window, peer answers", &SockOpts{RecvBuffer: 16 << 10, UserTimeout: 30 * time.Second}, func(d *deadPeer) *Conn {
			d.closeWindow()
			return d.c
		}, 30 * time.Second, syscall.ETIMEDOUT},
		{"user timeout, keepalive unanswered", &SockOpts{KeepAlive: true, KeepIdle: 10 * time.Second, KeepInterval: 5 * time.Second, KeepCount: 100, UserTimeout: 30 * time.Second}, func(d *deadPeer) *Conn {
			d.silent = true
			return d.c
		}, 40 * time.Second, syscall.ETIMEDOUT},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newDeadPeer(t, Config{}, tc.opts)
			d.cl.tracing = true
			c := tc.setup(d)
			p := c.p
			took := d.deathTime(c, tc.limit)
			if tc.err != nil && !errors.Is(c.Err(), tc.err) {
				t.Fatalf("error %v, want %v", c.Err(), tc.err)
			}
			if _, ok := p.conns[c.tuple]; ok {
				t.Fatal("still in the table")
			}
			last := ""
			for _, ev := range d.cl.events {
				if ev.Name != "" {
					last = ev.Name + ": " + ev.Detail
				}
			}
			t.Logf("ended after %v; AbortOnTimeout %d; last client timer %s", took, p.Counters().AbortOnTimeout, last)
		})
	}
}

// TestZeroWindowAnsweredStaysOpen: RFC 1122 §4.2.2.17 and Linux: while
// the peer answers the probes, a connection the application still holds
// keeps probing a closed window indefinitely, far past Retries probes.
func TestZeroWindowAnsweredStaysOpen(t *testing.T) {
	d := newDeadPeer(t, Config{}, &SockOpts{RecvBuffer: 16 << 10})
	d.closeWindow()
	d.w.clk.advance(6 * time.Hour)
	if d.c.State() != Established {
		t.Fatalf("state %v (%v) after 6 h of answered probes", d.c.State(), d.c.Err())
	}
	if n := d.cl.p.Counters().ZeroWindowProbes; n < 100 {
		t.Fatalf("%d probes in 6 h, want > 100", n)
	}
	if n := d.cl.p.Counters().AbortOnTimeout; n != 0 {
		t.Fatalf("AbortOnTimeout %d", n)
	}
}

// TestZeroWindowSilentCountsProbes: a peer that stops answering ends the
// connection after exactly Retries unanswered probes (tcp_retries2).
func TestZeroWindowSilentCountsProbes(t *testing.T) {
	d := newDeadPeer(t, Config{Retries: 5}, &SockOpts{RecvBuffer: 16 << 10})
	d.closeWindow()
	d.silent = true
	before := d.cl.p.Counters().ZeroWindowProbes
	d.deathTime(d.c, time.Hour)
	if n := d.cl.p.Counters().ZeroWindowProbes - before; n != 5 {
		t.Fatalf("%d probes after the peer fell silent, want 5", n)
	}
	if !errors.Is(d.c.Err(), syscall.ETIMEDOUT) || d.cl.p.Counters().AbortOnTimeout != 1 {
		t.Fatalf("err %v, AbortOnTimeout %d", d.c.Err(), d.cl.p.Counters().AbortOnTimeout)
	}
}

// TestUserTimeoutSynSent: TCP_USER_TIMEOUT bounds connect as well,
// instead of the SYN retry count.
func TestUserTimeoutSynSent(t *testing.T) {
	w, cl, sv := pair(Config{})
	w.filter = func(h *host, seg []byte, why string) verdict { return verdict{drop: true} }
	_ = sv
	c, err := cl.p.Connect(netip.AddrPort{}, ap("10.0.0.2:80"), &SockOpts{UserTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	start := w.clk.now
	for c.State() != Closed && w.clk.now.Sub(start) < time.Minute {
		w.clk.advance(10 * time.Millisecond)
	}
	took := w.clk.now.Sub(start)
	if !errors.Is(c.Err(), syscall.ETIMEDOUT) || took < 5*time.Second || took > 5100*time.Millisecond {
		t.Fatalf("err %v after %v, want ETIMEDOUT at 5 s", c.Err(), took)
	}
	if err := c.SetUserTimeout(-time.Second); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("SetUserTimeout(-1s) = %v, want EINVAL", err)
	}
}
