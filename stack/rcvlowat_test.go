package stack_test

import (
	"testing"
	"time"

	"stacklab/stack"
	tcpengine "stacklab/stack/tcp"
)

// TestRcvLowatBlockingRecv: a blocking recv on a TCP socket with
// SO_RCVLOWAT copies what is there, then waits until the mark's bytes
// are waiting again (Linux's tcp_recvmsg sleeps until tcp_data_ready
// wakes it, which it does only then: testdata/pkt/lowat/rcvlowat-read.pkt
// on the kernel), and SO_RCVTIMEO returns what it has. Over lo, in real
// time, through the facade's own blocking path (the pkt runner retries
// non-blocking calls instead).
func TestRcvLowatBlockingRecv(t *testing.T) {
	s, c, sv := loConnected(t)
	must(t, s.SetSockopt(sv, stack.SoRcvLowat, 5))
	if v, err := s.GetSockopt(sv, stack.SoRcvLowat); err != nil || v != 5 {
		t.Fatalf("SO_RCVLOWAT reads %d, %v; want 5", v, err)
	}

	// "ab" is there: copied at once; "cd" leaves 2 waiting, short of 5,
	// and does not end the wait; "efghi" makes 7, and the read returns
	// every byte it has room for.
	_, err := s.Send(c, []byte("ab"))
	must(t, err)
	go func() {
		time.Sleep(30 * time.Millisecond)
		s.Send(c, []byte("cd"))
		time.Sleep(60 * time.Millisecond)
		s.Send(c, []byte("efghi"))
	}()
	buf := make([]byte, 16)
	t0 := time.Now()
	n, err := s.Recv(sv, buf)
	if err != nil || string(buf[:n]) != "abcdefghi" {
		t.Fatalf("recv with SO_RCVLOWAT 5 = %q, %v; want \"abcdefghi\"", buf[:n], err)
	}
	if d := time.Since(t0); d < 80*time.Millisecond {
		t.Errorf("recv returned after %v, before the mark's bytes were waiting", d)
	}

	// A buffer shorter than the mark is the target; a timeout returns
	// what was copied.
	_, err = s.Send(c, []byte("xyz"))
	must(t, err)
	n, err = s.Recv(sv, buf[:2])
	if err != nil || string(buf[:n]) != "xy" {
		t.Fatalf("recv of 2 = %q, %v; want \"xy\"", buf[:n], err)
	}
	must(t, s.SetSockopt(sv, stack.SoRcvTimeo, 40))
	t0 = time.Now()
	n, err = s.Recv(sv, buf)
	if err != nil || string(buf[:n]) != "z" {
		t.Fatalf("recv with SO_RCVTIMEO = %q, %v; want \"z\"", buf[:n], err)
	}
	if d := time.Since(t0); d < 35*time.Millisecond {
		t.Errorf("recv with SO_RCVTIMEO 40 ms returned after %v", d)
	}

	// Readiness follows the mark; the peer's FIN makes the socket
	// readable below it.
	_, err = s.Send(c, []byte("12"))
	must(t, err)
	if ev := s.Poll(sv); ev&stack.PollIn != 0 {
		t.Errorf("poll with 2 bytes of 5 = %v, want no POLLIN", ev)
	}
	must(t, s.SetSockopt(sv, stack.SoRcvLowat, 0)) // 0 is 1
	if ev := s.Poll(sv); ev&stack.PollIn == 0 {
		t.Errorf("poll after SO_RCVLOWAT 0 = %v, want POLLIN", ev)
	}
	must(t, s.SetSockopt(sv, stack.SoRcvLowat, 5))
	must(t, s.Shutdown(c, stack.ShutWR))
	if ev := s.Poll(sv); ev&stack.PollIn == 0 {
		t.Errorf("poll after the FIN = %v, want POLLIN", ev)
	}
	n, err = s.Recv(sv, buf)
	if err != nil || string(buf[:n]) != "12" {
		t.Fatalf("recv after the FIN = %q, %v; want \"12\"", buf[:n], err)
	}
}

// TestRcvLowatProfiles: under the linux profile SO_RCVLOWAT grows an
// autotuned receive buffer to hold the mark (SO_RCVBUF twice it, as
// Linux's tcp_set_rcvlowat), so 300 KB waiting for a reader whose mark
// is 1 MiB leave the socket unreadable; the rfc profile keeps its
// buffer, and once it is nearly full (or the window is down to a
// segment) the socket is readable below the mark, as Linux's
// tcp_epollin_ready makes it rather than wait for bytes that cannot
// come.
func TestRcvLowatProfiles(t *testing.T) {
	const mark = 1 << 20
	for _, profile := range []string{tcpengine.ProfileLinux, tcpengine.ProfileRFC} {
		p := newPairWith(t, stack.LinkEthernet, 1500, stack.Options{TCP: stack.TCPOptions{Profile: profile}})
		u, _ := p.b.Socket(stack.SockStream)
		before, err := p.b.GetSockopt(u, stack.SoRcvBuf)
		must(t, err)
		must(t, p.b.SetSockopt(u, stack.SoRcvLowat, mark))
		after, err := p.b.GetSockopt(u, stack.SoRcvBuf)
		must(t, err)
		if want := map[string]int{tcpengine.ProfileLinux: 2 * mark, tcpengine.ProfileRFC: before}[profile]; after != want {
			t.Errorf("%s: SO_RCVBUF after SO_RCVLOWAT %d reads %d (was %d), want %d", profile, mark, after, before, want)
		}

		c, s, _ := connected(t, p)
		must(t, p.b.SetSockopt(s, stack.SoRcvLowat, mark))
		chunk := make([]byte, 16<<10)
		sent := 0
		for range 200 {
			if sent < 300<<10 {
				n, _ := p.a.Send(c, chunk)
				sent += n
			}
			p.clock.RunFor(5 * time.Millisecond)
		}
		inq, err := p.b.InQ(s)
		must(t, err)
		readable := p.b.Poll(s)&stack.PollIn != 0
		switch profile {
		case tcpengine.ProfileLinux:
			if inq != sent || readable {
				t.Errorf("linux: %d of %d bytes waiting, readable %v; want all of them, not readable below the mark", inq, sent, readable)
			}
		case tcpengine.ProfileRFC:
			if inq >= sent || !readable {
				t.Errorf("rfc: %d of %d bytes waiting, readable %v; want the buffer full and readable", inq, sent, readable)
			}
		}
	}
}
