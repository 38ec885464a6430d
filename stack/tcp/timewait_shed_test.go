package tcp

import (
	"testing"
	"time"
)

// TestTimeWaitSheds checks that a connection in TIME_WAIT that no
// descriptor holds keeps only what TIME_WAIT uses, as Linux swaps its
// socket for a small timewait socket: the loss-recovery state, tcp_info's
// counters and the retransmission and delayed-ACK timers are let go,
// and TIME_WAIT still ends after 2·MSL. A connection whose descriptor is
// still open (it reached TIME_WAIT by shutdown) keeps tcp_info's
// counters, which its TCP_INFO reads, until it is closed.
func TestTimeWaitSheds(t *testing.T) {
	for _, byShutdown := range []bool{false, true} {
		w, cl, sv, l := func() (*fnet, *host, *host, *Listener) {
			w, cl, sv := pair(Config{})
			l, err := sv.p.Listen(ap("0.0.0.0:80"), 16, nil)
			if err != nil {
				t.Fatal(err)
			}
			return w, cl, sv, l
		}()
		c, s := connectTo(t, w, cl, sv, l, nil)
		if _, err := c.Write(make([]byte, 20000)); err != nil {
			t.Fatal(err)
		}
		w.clk.advance(time.Second)
		_ = c.tx() // tcp_info's counters, as a TCP_INFO call makes them
		if c.ls == nil || c.ti.x == nil || c.rtx.t == nil {
			t.Fatalf("before the close: loss state %v, tcp_info counters %v, rtx timer %v: the test sends too little", c.ls != nil, c.ti.x != nil, c.rtx.t != nil)
		}
		if byShutdown {
			if err := c.CloseWrite(); err != nil {
				t.Fatal(err)
			}
		} else {
			c.Close()
		}
		w.clk.advance(100 * time.Millisecond)
		buf := make([]byte, 32<<10)
		for n, _ := s.Read(buf); n > 0; n, _ = s.Read(buf) {
		}
		s.Close()
		w.clk.advance(100 * time.Millisecond)
		if c.State() != TimeWait {
			t.Fatalf("shutdown %v: client in %v, want TIME_WAIT", byShutdown, c.State())
		}
		cwnd := c.cc.Cwnd()
		if byShutdown {
			if c.ti.x == nil {
				t.Fatal("a descriptor still open lost its tcp_info counters in TIME_WAIT")
			}
			c.Close()
		}
		if c.ls != nil || c.sb != nil || c.ti.x != nil || c.rtx.t != nil || c.delack.t != nil {
			t.Errorf("shutdown %v: in TIME_WAIT with no descriptor, still held: loss state %v, scoreboard %v, tcp_info counters %v, rtx timer %v, delayed-ACK timer %v",
				byShutdown, c.ls != nil, c.sb != nil, c.ti.x != nil, c.rtx.t != nil, c.delack.t != nil)
		}
		if f, ok := c.cc.(*frozenCC); !ok || f.Cwnd() != cwnd {
			t.Errorf("shutdown %v: congestion controller %T in TIME_WAIT with no descriptor, want its window (%d) frozen", byShutdown, c.cc, cwnd)
		}
		w.clk.advance(2*DefaultMSL + time.Second)
		if c.State() != Closed || cl.p.timeWait != 0 {
			t.Errorf("shutdown %v: after 2·MSL the client is %v (%d in TIME_WAIT), want CLOSED", byShutdown, c.State(), cl.p.timeWait)
		}
	}
}
