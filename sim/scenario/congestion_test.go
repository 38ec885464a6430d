package scenario

import (
	"strings"
	"testing"
)

// TestSetsockoptCongestion checks TCP_CONGESTION per socket: the name is
// checked at load time, and the connection uses the chosen controller.
func TestSetsockoptCongestion(t *testing.T) {
	src := twoHosts + `programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8)
    c = accept(l); recv(c, all); close(c)
  client: |
    s = socket(tcp); setsockopt(s, congestion, cubic)
    connect(s, server:80); send(s, 64KiB); close(s)
`
	res, trace := runSrc(t, src)
	if !res.Passed() {
		t.Fatalf("failures: %v", res.Failures)
	}
	if !strings.Contains(trace, "setsockopt(3, TCP_CONGESTION, cubic) → 0") {
		t.Errorf("trace lacks the setsockopt line:\n%s", trace)
	}

	bad := strings.Replace(src, "congestion, cubic", "congestion, cubik", 1)
	_, err := Load("t.yaml", []byte(bad))
	if err == nil || !strings.Contains(err.Error(), `did you mean "cubic"?`) {
		t.Fatalf("unknown controller: %v, want a did-you-mean error", err)
	}
}
