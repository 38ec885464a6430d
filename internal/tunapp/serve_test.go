package tunapp

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// raceListener is a net.Listener whose first Accept returns a connection
// only after Close was called, as when a connection completes while the
// server shuts down; later Accepts fail as a closed listener's do.
type raceListener struct {
	closed   chan struct{}
	once     sync.Once
	accepted bool
	peer     net.Conn // the client's end of the connection handed out
}

func (l *raceListener) Accept() (net.Conn, error) {
	<-l.closed
	if l.accepted {
		return nil, net.ErrClosed
	}
	l.accepted = true
	srv, cli := net.Pipe()
	l.peer = cli
	return srv, nil
}

func (l *raceListener) Close() error   { l.once.Do(func() { close(l.closed) }); return nil }
func (l *raceListener) Addr() net.Addr { return &net.TCPAddr{} }

// TestServeTCPStopsWithLateConnection stops an echo server whose listener
// hands out one more connection after the stop: the server closes it and
// returns instead of echoing for a client that never hangs up.
func TestServeTCPStopsWithLateConnection(t *testing.T) {
	a := &App{log: io.Discard}
	l := &raceListener{closed: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.serveTCP(ctx, l, "echo") }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serveTCP: %v", err)
		}
	case <-time.After(5 * time.Second):
		l.peer.Close()
		t.Fatal("serveTCP still waiting on a connection accepted after the stop")
	}
	if _, err := l.peer.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("late connection not closed: read %v", err)
	}
}
