package scenario

import (
	"strings"
	"testing"
)

// TestSpawn serves three clients (the client program's three sockets)
// with a thread each: every thread sleeps 1s before answering, so the
// replies come back within 0.1s of each other a second after the
// requests, not a second apart as a one-at-a-time server would answer. Each thread has its own
// copy of c and its own lane in the trace.
func TestSpawn(t *testing.T) {
	res, trace := runSrc(t, twoHosts+`programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8)
    repeat forever {
      c = accept(l)
      spawn {
        recv(c, 2)
        sleep 1s
        send(c, "ok"); close(c)
      }
    }
  client: |
    a = socket(tcp); connect(a, server:80); send(a, "hi")
    b = socket(tcp); connect(b, server:80); send(b, "hi")
    d = socket(tcp); connect(d, server:80); send(d, "hi")
    recv(a, 2) == "ok"; recv(b, 2) == "ok"; recv(d, 2) == "ok"
    close(a); close(b); close(d)
    sleep until 1.5s
    note "done"
expect:
  - at 1.2s: server fd l state == LISTEN
`)
	reportFailures(t, res)
	for _, w := range []string{"server  spawn  server/t1", "server  spawn  server/t3", "server/t1  recv(4, 2) → blocks", "server/t3  send(6, \"ok\") → 2", "server/t2  close(5) → 0"} {
		if !strings.Contains(trace, w) {
			t.Errorf("trace lacks %q", w)
		}
	}
	// the three replies leave within one millisecond of each other
	var sends []string
	for _, l := range strings.Split(trace, "\n") {
		if strings.Contains(l, `send(`) && strings.Contains(l, "server/t") {
			sends = append(sends, strings.Fields(l)[0])
		}
	}
	// (the client opens its connections one after the other, 20ms apart;
	// a one-at-a-time server would answer a second apart)
	if len(sends) != 3 || sends[0][:3] != "1.0" || sends[2][:3] != "1.0" {
		t.Errorf("thread replies at %v, want three within 0.1s of 1s", sends)
	}
}

// TestSocketTable: ss() writes the host's sockets into the trace, the
// listener and the connection with its unread bytes, and after the
// client closed first its connection in FIN_WAIT_2 without a descriptor
// (once the server's delayed ACK of the FIN came: 40 ms, as Linux's).
func TestSocketTable(t *testing.T) {
	res, trace := runSrc(t, twoHosts+`programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8)
    c = accept(l)
    sleep 100ms
    ss()
    recv(c, 2); sleep 200ms; close(c)
  client: |
    s = socket(tcp); connect(s, server:80); send(s, "hi")
    sleep 150ms
    close(s)
    sleep 100ms
    ss()
`)
	reportFailures(t, res)
	for _, w := range []string{
		"server  ss  Netid State       Recv-Q Send-Q  Local Address:Port    Peer Address:Port     Process",
		"server  ss  tcp   LISTEN           0      8  0.0.0.0:80            *:*                   fd=3",
		"server  ss  tcp   ESTABLISHED      2      0  10.0.0.2:80           10.0.0.1:",
		"client  ss  tcp   FIN_WAIT_2       0      0  10.0.0.1:",
	} {
		if !strings.Contains(trace, w) {
			t.Errorf("trace lacks %q", w)
		}
	}
}

// TestServerModels: the event loop and the thread-per-connection server
// answer two clients whose connections are open at once; the blocking
// server answers the second only after the first has finished.
func TestServerModels(t *testing.T) {
	res, trace := runSrc(t, `hosts:
  client: {addr: 10.0.0.1/24}
  server:
    addr: 10.0.0.2/24
    apps: [blocking_server(:1), thread_server(:2), epoll_server(:3)]
links:
  - {ends: [client, server], delay: 10ms}
programs:
  client: |
    a = socket(tcp); connect(a, server:1); send(a, "x")
    b = socket(tcp); connect(b, server:1); send(b, "y")
    recv(a, 1) == "x"
    sleep 100ms
    shutdown(a, wr)
    recv(b, 1) == "y"
    close(a); close(b)
    c = socket(tcp); connect(c, server:2); send(c, "x")
    d = socket(tcp); connect(d, server:2); send(d, "y")
    recv(d, 1) == "y"; recv(c, 1) == "x"
    e = socket(tcp); connect(e, server:3); send(e, "x")
    f = socket(tcp); connect(f, server:3); send(f, "y")
    recv(f, 1) == "y"; recv(e, 1) == "x"
    close(c); close(d); close(e); close(f)
`)
	reportFailures(t, res)
	for _, w := range []string{"epoll_create1(0) → ", "epoll_ctl(", "epoll_wait(", "server/t1  recv(", "server/t2  recv("} {
		if !strings.Contains(trace, w) {
			t.Errorf("trace lacks %q", w)
		}
	}
	// the blocking server reads b's request only once a has ended, 100ms
	// after it was answered
	if i, j := strings.Index(trace, "client  shutdown(3, wr)"), strings.Index(trace, `recv(7, any) → 1 "y"`); i < 0 || j < 0 || j < i {
		t.Errorf("the blocking server served b before a ended (shutdown at %d, served at %d)", i, j)
	}
}
