package tcp

import (
	"testing"
	"time"
)

// TestTimeWaitBounded checks Config.MaxTimeWait, Linux's
// tcp_max_tw_buckets: with room for two, five connections the client
// closes first leave two in TIME_WAIT; the other three ACK the server's
// FIN and close at once, counted as TimeWaitOverflow (on Linux 6.18 with
// tcp_max_tw_buckets=2 the same five closes leave two TIME_WAIT sockets
// and TcpExtTCPTimeWaitOverflow 3). The servers' LAST_ACK ends on that
// ACK, with nothing retransmitted. Once the two expire, TIME_WAIT has
// room again; a negative bound allows none.
func TestTimeWaitBounded(t *testing.T) {
	w, cl, sv := pair(Config{MaxTimeWait: 2})
	l, err := sv.p.Listen(ap("0.0.0.0:80"), 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	var clients, servers []*Conn
	closeOne := func() {
		t.Helper()
		c, s := connectTo(t, w, cl, sv, l, nil)
		c.Close()
		w.clk.advance(100 * time.Millisecond)
		s.Close()
		w.clk.advance(100 * time.Millisecond)
		clients, servers = append(clients, c), append(servers, s)
	}
	for range 5 {
		closeOne()
	}
	inTW := 0
	for i, c := range clients {
		switch c.State() {
		case TimeWait:
			inTW++
		case Closed:
		default:
			t.Errorf("client %d in %v", i, c.State())
		}
		if s := servers[i]; s.State() != Closed {
			t.Errorf("server %d in %v, want CLOSED on the client's last ACK", i, s.State())
		}
	}
	if inTW != 2 || cl.p.timeWait != 2 {
		t.Fatalf("%d clients in TIME_WAIT (count %d), want 2", inTW, cl.p.timeWait)
	}
	if got := cl.p.Counters().TimeWaitOverflow; got != 3 {
		t.Fatalf("TimeWaitOverflow %d, want 3", got)
	}
	if got := sv.p.Counters().RetransSegs; got != 0 {
		t.Fatalf("the server retransmitted %d segments: a FIN went unACKed", got)
	}
	// 2·MSL later the two are gone, and the next close has room.
	w.clk.advance(2*DefaultMSL + time.Second)
	if cl.p.timeWait != 0 {
		t.Fatalf("%d in TIME_WAIT after 2·MSL", cl.p.timeWait)
	}
	closeOne()
	if c := clients[len(clients)-1]; c.State() != TimeWait {
		t.Fatalf("a close after the others expired: %v, want TIME_WAIT", c.State())
	}

	// MaxTimeWait < 0: none at all.
	w, cl, sv = pair(Config{MaxTimeWait: -1})
	if l, err = sv.p.Listen(ap("0.0.0.0:80"), 16, nil); err != nil {
		t.Fatal(err)
	}
	clients, servers = nil, nil
	closeOne()
	if c, s := clients[0], servers[0]; c.State() != Closed || s.State() != Closed || cl.p.Counters().TimeWaitOverflow != 1 {
		t.Fatalf("MaxTimeWait -1: client %v, server %v, overflow %d", c.State(), s.State(), cl.p.Counters().TimeWaitOverflow)
	}
}

// TestOrphanFinWait2Bounded: an orphan in FIN_WAIT_2 takes a TIME_WAIT
// place, as Linux keeps it as a timewait socket. With room for two, five
// connections the client closes while the server keeps its end open
// leave two clients in FIN_WAIT_2 and three closed at once, counted as
// overflows (Linux 6.18 with tcp_max_tw_buckets=2: two FIN-WAIT-2, and
// TcpExtTCPTimeWaitOverflow 3). When the server's FIN comes, an orphan
// in FIN_WAIT_2 goes on to TIME_WAIT in the place it holds.
func TestOrphanFinWait2Bounded(t *testing.T) {
	w, cl, sv := pair(Config{MaxTimeWait: 2})
	l, err := sv.p.Listen(ap("0.0.0.0:80"), 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	var clients, servers []*Conn
	for range 5 {
		c, s := connectTo(t, w, cl, sv, l, nil)
		c.Close()
		w.clk.advance(100 * time.Millisecond)
		clients, servers = append(clients, c), append(servers, s)
	}
	fw2 := 0
	for _, c := range clients {
		if c.State() == FinWait2 {
			fw2++
		}
	}
	if fw2 != 2 || cl.p.timeWait != 2 || cl.p.Counters().TimeWaitOverflow != 3 {
		t.Fatalf("%d clients in FIN_WAIT_2 (places taken %d, overflows %d), want 2, 2, 3", fw2, cl.p.timeWait, cl.p.Counters().TimeWaitOverflow)
	}
	servers[0].Close()
	w.clk.advance(100 * time.Millisecond)
	if clients[0].State() != TimeWait || cl.p.timeWait != 2 || cl.p.Counters().TimeWaitOverflow != 3 {
		t.Fatalf("after the server's FIN: client %v, places %d, overflows %d", clients[0].State(), cl.p.timeWait, cl.p.Counters().TimeWaitOverflow)
	}

	// A close in FIN_WAIT_2 (after shutdown(SHUT_WR)) takes its place at
	// the close: with none allowed, it ends there.
	w, cl, sv = pair(Config{MaxTimeWait: -1})
	c, _, _ := dial(t, w, cl, sv, nil)
	c.CloseWrite()
	w.clk.advance(100 * time.Millisecond)
	if c.State() != FinWait2 {
		t.Fatalf("after shutdown(SHUT_WR): %v", c.State())
	}
	c.Close()
	if c.State() != Closed || cl.p.Counters().TimeWaitOverflow != 1 {
		t.Fatalf("close in FIN_WAIT_2 with no place: %v, overflows %d", c.State(), cl.p.Counters().TimeWaitOverflow)
	}
}

// TestOrphansBounded checks Config.MaxOrphans, Linux's tcp_max_orphans:
// with a server that answers nothing more, each close leaves the client
// in FIN_WAIT_1 with its FIN unacknowledged; with room for two, the
// third close and after send their FIN, then a RST, and end at once
// (AbortOnMemory), as Linux's tcp_close when tcp_check_oom finds too
// many orphans. An orphan that ends gives its place back.
func TestOrphansBounded(t *testing.T) {
	w, cl, sv := pair(Config{MaxOrphans: 2})
	l, err := sv.p.Listen(ap("0.0.0.0:80"), 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	var clients []*Conn
	for range 4 {
		c, _ := connectTo(t, w, cl, sv, l, nil)
		clients = append(clients, c)
	}
	var rsts []string
	w.filter = func(h *host, seg []byte, why string) verdict {
		if h == cl && why == whyRSTOrphans {
			rsts = append(rsts, why)
		}
		return verdict{drop: h == sv} // the server answers nothing
	}
	for _, c := range clients {
		c.Close()
		w.clk.advance(10 * time.Millisecond)
	}
	want := []State{FinWait1, FinWait1, Closed, Closed}
	for i, c := range clients {
		if c.State() != want[i] {
			t.Errorf("client %d in %v, want %v", i, c.State(), want[i])
		}
	}
	if cl.p.orphans != 2 || cl.p.Counters().AbortOnMemory != 2 || len(rsts) != 2 {
		t.Fatalf("orphans %d, AbortOnMemory %d, RSTs %d: want 2, 2, 2", cl.p.orphans, cl.p.Counters().AbortOnMemory, len(rsts))
	}
	// The orphans run out of retries (tcp_orphan_retries) and give their
	// places back.
	w.clk.advance(30 * time.Minute)
	if clients[0].State() != Closed || cl.p.orphans != 0 {
		t.Fatalf("after the orphans' retries: client %v, orphans %d", clients[0].State(), cl.p.orphans)
	}
}
