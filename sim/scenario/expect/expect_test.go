package expect

import (
	"strings"
	"testing"
)

var hosts = []string{"client", "server"}

func TestParseKinds(t *testing.T) {
	for _, tc := range []struct {
		key, val string
		kind     ExpectKind
		vantage  string
	}{
		{"", "client > server [S]", ExpPacket, "client"},
		{"on server", "client > server [S]", ExpPacket, "server"},
		{"", "no server > client [R]", ExpNone, "client"},
		{"", "count client > server [S] == 1", ExpCount, "client"},
		{"at 2s", "client fd 3 state == ESTABLISHED", ExpSocket, "client"},
		{"", "client connect → ECONNREFUSED", ExpCall, "client"},
	} {
		e, err := Parse(tc.key, tc.val, hosts)
		if err != nil {
			t.Errorf("Parse(%q, %q): %v", tc.key, tc.val, err)
			continue
		}
		if e.Kind != tc.kind || e.Vantage != tc.vantage {
			t.Errorf("Parse(%q, %q) = kind %d at %s, want %d at %s", tc.key, tc.val, e.Kind, e.Vantage, tc.kind, tc.vantage)
		}
	}
	for _, tc := range []struct{ key, val, errPart string }{
		{"", "", "empty expectation"},
		{"count client", "x", "put the vantage or time first"},
		{"on sever", "client > server [S]", `did you mean "server"`},
		{"", "count client > server [S] == x", "not a whole number"},
	} {
		if _, err := Parse(tc.key, tc.val, hosts); err == nil || !strings.Contains(err.Error(), tc.errPart) {
			t.Errorf("Parse(%q, %q) = %v, want an error with %q", tc.key, tc.val, err, tc.errPart)
		}
	}
}

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		a    int64
		op   string
		b    int64
		want bool
	}{{1, "==", 1, true}, {1, "!=", 1, false}, {2, ">", 1, true}, {2, "<=", 1, false}, {1, ">=", 1, true}, {0, "<", 1, true}} {
		if got := Compare(tc.a, tc.op, tc.b); got != tc.want {
			t.Errorf("Compare(%d %s %d) = %v", tc.a, tc.op, tc.b, got)
		}
	}
	if n, err := ParseQuantity("64KiB"); err != nil || n != 65536 {
		t.Errorf("ParseQuantity(64KiB) = %d, %v", n, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("", "client > server [S.] ack 1")
	f.Add("at 1s on server:eth0", "server fd 4 cwnd >= 10")
	f.Add("", "count * > server:80 tcp == 3")
	f.Fuzz(func(t *testing.T, key, val string) {
		if e, err := Parse(key, val, hosts); err == nil && e == nil {
			t.Fatal("nil expectation without an error")
		}
	})
}
