package scenario

import (
	"strings"
	"testing"
)

// TestIfWhileEpoll runs a client that counts with while, branches on a
// call's result (a refused connect, then a working one) and a server
// whose epoll_wait times out before any client comes (the variable is
// 0), then serves one with the ready descriptor it returns.
func TestIfWhileEpoll(t *testing.T) {
	res, trace := runSrc(t, twoHosts+`programs:
  server: |
    ep = epoll_create()
    fd = epoll_wait(ep, 100ms)
    if fd == 0 {
      note "timed out"
    }
    l = socket(tcp); bind(l, :80); listen(l, 8); nonblock(l)
    epoll_ctl(ep, add, l, in)
    fd = epoll_wait(ep)
    if fd != l {
      note "wrong descriptor"
    }
    c = accept(l)
    n = recv(c, any)
    if n == 5 {
      send(c, "right")
    } else {
      send(c, "wrong")
    }
    close(c)
  client: |
    tries = 0
    ok = 0
    while ok == 0 {
      tries = tries + 1
      s = socket(tcp)
      if connect(s, server:80) -> ECONNREFUSED {
        close(s)
        sleep 150ms
      } else {
        ok = 1
      }
    }
    send(s, "hello"); recv(s, 5) == "right"
    if tries != 2 {
      note "wrong count"
    }
    close(s)
`)
	reportFailures(t, res)
	for _, w := range []string{
		"epoll_wait(3) → 0 (timeout)",
		"fd == 0: true (fd is 0)",
		"note  timed out",
		"epoll_wait(3) → 1 ready: 4 in",
		"fd != l: false (fd is 4, l is 4)",
		"connect(s, server:80) -> ECONNREFUSED: true",
		"connect(s, server:80) -> ECONNREFUSED: false",
		"ok == 0: false (ok is 1)",
		"tries != 2: false (tries is 2)",
	} {
		if !strings.Contains(trace, w) {
			t.Errorf("trace lacks %q", w)
		}
	}
	for _, w := range []string{"wrong descriptor", "wrong count"} {
		if strings.Contains(trace, w) {
			t.Errorf("trace has %q", w)
		}
	}
}

// TestWhileEndless stops a while loop that never waits, with the
// program's position, instead of hanging.
func TestWhileEndless(t *testing.T) {
	res, _ := runSrc(t, twoHosts+`programs:
  client: |
    n = 0
    while n == 0 {
      m = n + 1
    }
`)
	if len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Msg, "is a loop endless?") {
		t.Fatalf("failures %v", res.Failures)
	}
}

// TestPollSet polls two connections and reads the one that is ready
// first, then times out on a set with nothing to read.
func TestPollSet(t *testing.T) {
	res, trace := runSrc(t, twoHosts+`programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8)
    x = accept(l); y = accept(l)
    r = poll(x+y, in)
    if r == y {
      recv(y, 2) == "b!"
    }
    r = poll(x+y, in, 100ms)
    if r == 0 {
      note "nothing more"
    }
    recv(x, 2) == "a!"
  client: |
    a = socket(tcp); connect(a, server:80)
    b = socket(tcp); connect(b, server:80)
    sleep 50ms
    send(b, "b!")
    sleep 500ms
    send(a, "a!")
    sleep 100ms
`)
	reportFailures(t, res)
	for _, w := range []string{"poll([4, 5], in) → blocks", "poll([4, 5]) → 1: 5 in", "r == y: true (r is 5, y is 5)", "→ 0 (timeout)", "note  nothing more"} {
		if !strings.Contains(trace, w) {
			t.Errorf("trace lacks %q", w)
		}
	}
}
