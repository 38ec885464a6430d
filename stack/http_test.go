//lint:file-ignore SA1019 the test runs golang.org/x/net/http2 itself, whose server and transport types are deprecated in favour of net/http's bundled copy

package stack_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"stacklab/stack"
)

// selfSigned returns a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "stacklab"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	cert, err := x509.ParseCertificate(der)
	must(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// TestHTTPOverStack serves net/http over the stack's loopback: HTTP/1.1
// in the clear, HTTP/1.1 over crypto/tls, and HTTP/2 (x/net/http2) over
// TLS, with a body large enough to take many windows.
func TestHTTPOverStack(t *testing.T) {
	s := stack.New(stack.Options{Name: "h"})
	body := strings.Repeat("0123456789abcdef", 20000) // 320 kB
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto+" "+body)
	})
	cert, pool := selfSigned(t)
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		return s.DialContext(ctx, network, addr)
	}
	get := func(t *testing.T, c *http.Client, url, proto string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		resp, err := c.Do(req)
		must(t, err)
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		must(t, err)
		if string(got) != proto+" "+body {
			t.Fatalf("%s: %d bytes, proto %s; want %s and the body intact", url, len(got), resp.Proto, proto)
		}
	}

	t.Run("http1", func(t *testing.T) {
		ln, err := s.ListenTCP(netip.MustParseAddrPort("127.0.0.1:0"), 0)
		must(t, err)
		srv := &http.Server{Handler: h}
		go srv.Serve(ln)
		defer srv.Close()
		tr := &http.Transport{DialContext: dial}
		defer tr.CloseIdleConnections()
		get(t, &http.Client{Transport: tr}, "http://"+ln.Addr().String()+"/", "HTTP/1.1")
	})
	t.Run("tls", func(t *testing.T) {
		ln, err := s.ListenTCP(netip.MustParseAddrPort("127.0.0.1:0"), 0)
		must(t, err)
		srv := &http.Server{Handler: h, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
		go srv.ServeTLS(ln, "", "")
		defer srv.Close()
		tr := &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: false}
		defer tr.CloseIdleConnections()
		get(t, &http.Client{Transport: tr}, "https://"+ln.Addr().String()+"/", "HTTP/1.1")
	})
	t.Run("http2", func(t *testing.T) {
		ln, err := s.ListenTCP(netip.MustParseAddrPort("127.0.0.1:0"), 0)
		must(t, err)
		srv := &http.Server{Handler: h, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
		must(t, http2.ConfigureServer(srv, nil))
		go srv.ServeTLS(ln, "", "")
		defer srv.Close()
		tr := &http2.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool},
			DialTLSContext: func(ctx context.Context, network, addr string, cfg *tls.Config) (net.Conn, error) {
				c, err := s.DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				tc := tls.Client(c, cfg)
				if err := tc.HandshakeContext(ctx); err != nil {
					c.Close()
					return nil, err
				}
				return tc, nil
			},
		}
		defer tr.CloseIdleConnections()
		get(t, &http.Client{Transport: tr}, "https://"+ln.Addr().String()+"/", "HTTP/2.0")
	})
}
