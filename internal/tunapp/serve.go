package tunapp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"stacklab/stack"
)

// Modes of [App.Serve], with their default ports.
var servePorts = map[string]uint16{
	"echo":     7,
	"discard":  9,
	"http":     80,
	"udp-echo": 7,
}

// ServeModes lists the modes [App.Serve] accepts.
var ServeModes = []string{"echo", "discard", "http", "udp-echo"}

// DefaultPort returns the port mode listens on by default (0 for an
// unknown mode).
func DefaultPort(mode string) uint16 { return servePorts[mode] }

// Server is a server listening on the stack, ready for [Server.Run].
type Server struct {
	a    *App
	mode string
	addr netip.AddrPort
	l    *stack.TCPListener
	pc   *stack.UDPConn
}

// Listen starts listening for mode on port (0: the mode's default) without
// serving yet: connections wait in the backlog until [Server.Run]. The
// modes are "echo" (TCP, each connection's bytes sent back, the write side
// closed after the client's), "discard" (TCP, read and dropped), "http"
// (Go's net/http on the stack's listener, see [Handler]) and "udp-echo".
func (a *App) Listen(mode string, port uint16) (*Server, error) {
	if _, ok := servePorts[mode]; !ok {
		return nil, setupErr("--serve %q: use one of echo, discard, http, udp-echo", mode)
	}
	if port == 0 {
		port = servePorts[mode]
	}
	s := &Server{a: a, mode: mode, addr: netip.AddrPortFrom(a.opts.Addr.Addr(), port)}
	var err error
	on := s.addr
	if a.opts.Addr6.IsValid() {
		// Both families: a dual-stack socket on [::] takes IPv4 too.
		on = netip.AddrPortFrom(netip.IPv6Unspecified(), port)
	}
	if mode == "udp-echo" {
		s.pc, err = a.Stack.ListenUDP(on)
	} else {
		s.l, err = a.Stack.ListenTCP(on, 128)
	}
	if err != nil {
		return nil, &SetupError{Err: fmt.Errorf("listen on %s: %w", s.addr, err)}
	}
	proto := "tcp"
	if s.pc != nil {
		proto = "udp"
	}
	a.logf("stacklab tun: %s server on %s (%s); ping %s answers", mode, s.addr, proto, s.addr.Addr())
	if a.opts.Addr6.IsValid() {
		a.logf("stacklab tun: and on %s; ping -6 %s answers", netip.AddrPortFrom(a.opts.Addr6.Addr(), port), a.opts.Addr6.Addr())
	}
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() netip.AddrPort { return s.addr }

// Run serves until ctx is done, then closes the listener and every
// connection and returns nil; it returns an error only if serving fails.
func (s *Server) Run(ctx context.Context) error {
	switch s.mode {
	case "udp-echo":
		return s.a.serveUDPEcho(ctx, s.pc)
	case "http":
		srv := &http.Server{Handler: Handler(), ReadHeaderTimeout: 10 * time.Second}
		stop := context.AfterFunc(ctx, func() { srv.Close() })
		defer stop()
		if err := srv.Serve(s.l); err != nil && !errors.Is(err, http.ErrServerClosed) && ctx.Err() == nil {
			return err
		}
		return nil
	}
	return s.a.serveTCP(ctx, s.l, s.mode)
}

// Serve listens for mode on port and serves until ctx is done: [App.Listen]
// then [Server.Run]. The stack answers ping in every mode.
func (a *App) Serve(ctx context.Context, mode string, port uint16) error {
	s, err := a.Listen(mode, port)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

func (a *App) serveTCP(ctx context.Context, l net.Listener, mode string) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	closing := false
	// closeAll ends serving: the listener and every connection, and any
	// connection accepted after it ran (Accept may return one that raced
	// with the close), so that wg.Wait never waits on a live peer.
	closeAll := func() {
		l.Close()
		mu.Lock()
		closing = true
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	}
	stop := context.AfterFunc(ctx, closeAll)
	defer func() {
		stop()
		closeAll()
		wg.Wait()
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}
		mu.Lock()
		if closing {
			mu.Unlock()
			c.Close()
			continue // the closed listener ends the loop
		}
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
				c.Close()
			}()
			a.logf("stacklab tun: %s: connection from %s", mode, c.RemoteAddr())
			n, err := handleTCP(c, mode)
			if err != nil && ctx.Err() == nil {
				a.logf("stacklab tun: %s: %s: %v after %d bytes", mode, c.RemoteAddr(), err, n)
				return
			}
			a.logf("stacklab tun: %s: %s closed after %d bytes", mode, c.RemoteAddr(), n)
		}()
	}
}

// handleTCP serves one echo or discard connection until the client's FIN,
// and returns the bytes read.
func handleTCP(c net.Conn, mode string) (int64, error) {
	if mode == "discard" {
		return io.Copy(io.Discard, c)
	}
	n, err := io.Copy(c, c)
	if err != nil {
		return n, err
	}
	// The client closed its side: close ours after the echoed data (half-close).
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return n, cw.CloseWrite()
	}
	return n, nil
}

func (a *App) serveUDPEcho(ctx context.Context, pc *stack.UDPConn) error {
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()
	defer pc.Close()
	buf := make([]byte, 65536)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("udp-echo: %w", err)
		}
		if _, err := pc.WriteTo(buf[:n], from); err != nil && ctx.Err() == nil {
			a.logf("stacklab tun: udp-echo: reply to %s: %v", from, err)
		}
	}
}

// MaxDownload bounds /download?bytes=N.
const MaxDownload = 1 << 30

// Handler returns the HTTP server of `--serve http`:
//   - GET / returns a small HTML page;
//   - GET /download?bytes=N returns N bytes of [NewContent] (at most [MaxDownload]);
//   - POST /upload reads the body and answers "SHA256HEX SIZE\n".
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, Page)
	})
	mux.HandleFunc("GET /download", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(r.URL.Query().Get("bytes"), 10, 64)
		if err != nil || n < 0 || n > MaxDownload {
			http.Error(w, fmt.Sprintf("bytes: want a size from 0 to %d", MaxDownload), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		io.Copy(w, io.LimitReader(NewContent(), n))
	})
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%s %d\n", hex.EncodeToString(h.Sum(nil)), n)
	})
	return mux
}

// Page is the HTML page served at /.
const Page = `<!doctype html>
<html><head><title>stacklab</title></head>
<body><h1>Hello from stacklab</h1>
<p>This page came over TCP from a userspace stack on a TUN device.</p>
<p><a href="/download?bytes=1048576">1 MiB download</a></p>
</body></html>
`

// contentReader is the deterministic byte stream behind /download: byte
// i is i mod 251, so that shifted or repeated blocks show up in a hash.
type contentReader struct{ off int64 }

func (c *contentReader) Read(b []byte) (int, error) {
	v := byte(c.off % 251)
	for i := range b {
		b[i] = v
		if v++; v == 251 {
			v = 0
		}
	}
	c.off += int64(len(b))
	return len(b), nil
}

// ContentSHA256 returns the hex SHA-256 of the first n bytes of the download stream.
func ContentSHA256(n int64) string {
	h := sha256.New()
	io.CopyN(h, NewContent(), n)
	return hex.EncodeToString(h.Sum(nil))
}

// NewContent returns a reader of the download stream from its start.
func NewContent() io.Reader { return &contentReader{} }
