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
	"sync"
	"time"
)

// HTTPClient returns a net/http client whose connections go through the
// stack (its Transport's DialContext is the stack's).
func (a *App) HTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         a.Stack.DialContext,
		MaxIdleConns:        1,
		IdleConnTimeout:     time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		DisableCompression:  true,
	}}
}

// Get fetches url through the stack and writes the body to w, or, with
// hash, a line "SHA256HEX SIZE". A status other than 2xx is an error
// (after the body has been written).
func (a *App) Get(ctx context.Context, url string, hash bool, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return setupErr("--get %q: %v", url, err)
	}
	client := a.HTTPClient()
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	a.logf("stacklab tun: GET %s: %s", url, resp.Status)
	if hash {
		h := sha256.New()
		n, err := io.Copy(h, resp.Body)
		if err != nil {
			return fmt.Errorf("GET %s: body after %d bytes: %w", url, n, err)
		}
		fmt.Fprintf(w, "%s %d\n", hex.EncodeToString(h.Sum(nil)), n)
	} else if n, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("GET %s: body after %d bytes: %w", url, n, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// Connect opens a TCP connection to addr through the stack and pipes
// stdin to it and it to stdout, like nc: at EOF on stdin it closes its
// write side (half-close) and goes on reading until the peer closes. It
// returns when both directions are done or ctx ends.
func (a *App) Connect(ctx context.Context, addr string, stdin io.Reader, stdout io.Writer) error {
	c, err := a.Stack.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect %s: %w", addr, err)
	}
	a.logf("stacklab tun: connected %s → %s", c.LocalAddr(), c.RemoteAddr())
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	var wg sync.WaitGroup
	var sendErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := io.Copy(c, stdin); err != nil {
			sendErr = err
			return
		}
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			sendErr = cw.CloseWrite()
		}
	}()
	_, recvErr := io.Copy(stdout, c)
	if recvErr != nil {
		// The peer is gone (or ctx ended): unblock a sender stuck in stdin
		// only as far as the connection goes.
		c.Close()
	}
	// After the peer's FIN, keep sending until standard input ends (the
	// connection is half-open), as nc does.
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	if recvErr == nil {
		select {
		case <-done:
		case <-ctx.Done():
		}
	}
	c.Close()
	if ctx.Err() != nil {
		return nil
	}
	if recvErr != nil && !errors.Is(recvErr, net.ErrClosed) {
		return fmt.Errorf("connection to %s: %w", addr, recvErr)
	}
	select {
	case <-done:
		if sendErr != nil && !errors.Is(sendErr, net.ErrClosed) {
			return fmt.Errorf("connection to %s: %w", addr, sendErr)
		}
	default:
	}
	return nil
}
