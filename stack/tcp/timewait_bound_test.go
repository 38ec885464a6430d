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
		c, err := cl.p.Connect(netip0(), ap("10.0.0.2:80"), nil)
		if err != nil {
			t.Fatal(err)
		}
		w.clk.advance(100 * time.Millisecond)
		s, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
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
