package stack_test

import (
	"net/netip"
	"testing"
	"time"

	"stacklab/stack"
)

// TestPeekWaitAllBlocks: on a blocking TCP socket, recv with
// MSG_PEEK|MSG_WAITALL waits, peeking, for the whole length, as Linux's
// tcp_recvmsg (checked on Linux 6.18 over loopback: two sends 200 ms
// apart come back whole at the second; with SO_RCVTIMEO 300 ms, what is
// there at the timeout; after the peer's FIN, what is there at once). No
// byte is consumed. Over lo, in real time.
func TestPeekWaitAllBlocks(t *testing.T) {
	s, c, sv := loConnected(t)
	_, err := s.Send(c, []byte("abc"))
	must(t, err)
	go func() {
		time.Sleep(50 * time.Millisecond)
		s.Send(c, []byte("def"))
	}()
	buf := make([]byte, 16)
	t0 := time.Now()
	n, _, err := s.RecvMsg(sv, buf[:6], stack.MsgPeek|stack.MsgWaitAll)
	if err != nil || string(buf[:n]) != "abcdef" {
		t.Fatalf("peek+waitall of 6 = %q, %v; want \"abcdef\"", buf[:n], err)
	}
	if d := time.Since(t0); d < 40*time.Millisecond {
		t.Errorf("peek+waitall returned after %v, before the second send", d)
	}
	// A timeout returns what is there.
	must(t, s.SetSockopt(sv, stack.SoRcvTimeo, 30))
	t0 = time.Now()
	n, _, err = s.RecvMsg(sv, buf, stack.MsgPeek|stack.MsgWaitAll)
	if err != nil || string(buf[:n]) != "abcdef" {
		t.Fatalf("peek+waitall of 16 with SO_RCVTIMEO = %q, %v; want \"abcdef\"", buf[:n], err)
	}
	if d := time.Since(t0); d < 25*time.Millisecond {
		t.Errorf("peek+waitall with SO_RCVTIMEO 30 ms returned after %v", d)
	}
	// After the peer's FIN, what is there, at once.
	must(t, s.SetSockopt(sv, stack.SoRcvTimeo, 0))
	must(t, s.Shutdown(c, stack.ShutWR))
	n, _, err = s.RecvMsg(sv, buf, stack.MsgPeek|stack.MsgWaitAll)
	if err != nil || string(buf[:n]) != "abcdef" {
		t.Fatalf("peek+waitall after the FIN = %q, %v; want \"abcdef\"", buf[:n], err)
	}
	n, _, err = s.RecvMsg(sv, buf, 0)
	if err != nil || string(buf[:n]) != "abcdef" {
		t.Fatalf("recv after the peeks = %q, %v; want every byte still queued", buf[:n], err)
	}
}

// loConnected returns a stack in real time with a blocking TCP
// connection to itself over lo: the client's descriptor and the
// accepted one. The stack is destroyed when the test ends.
func loConnected(t *testing.T) (s *stack.Stack, c, sv int) {
	t.Helper()
	s = stack.New(stack.Options{Name: "h"})
	t.Cleanup(s.Destroy)
	l, err := s.Socket(stack.SockStream)
	must(t, err)
	must(t, s.Bind(l, netip.MustParseAddrPort("127.0.0.1:0")))
	must(t, s.Listen(l, 4))
	addr, err := s.GetSockname(l)
	must(t, err)
	c, err = s.Socket(stack.SockStream)
	must(t, err)
	must(t, s.Connect(c, addr))
	sv, _, err = s.Accept(l)
	must(t, err)
	return s, c, sv
}
