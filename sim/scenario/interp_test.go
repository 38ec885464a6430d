package scenario

import (
	"net/netip"
	"testing"
)

func TestSplitCall(t *testing.T) {
	tests := []struct{ in, name, detail string }{
		{"connect(3, 10.0.0.2:80) → blocks", "connect", "3, 10.0.0.2:80 → blocks"},
		{"connect(3) → 0", "connect", "3 → 0"},
		{`send(3, "a) → (b\") ") → 9`, "send", `3, "a) → (b\") " → 9`},
		{`recv(4) → 5 "hello"`, "recv", `4 → 5 "hello"`},
		{"no call here", "", "no call here"},
		{"(odd", "", "(odd"},
	}
	for _, tt := range tests {
		name, detail := splitCall(tt.in)
		if name != tt.name || detail != tt.detail {
			t.Errorf("splitCall(%q) = %q, %q; want %q, %q", tt.in, name, detail, tt.name, tt.detail)
		}
	}
}

// TestSameSockAddr: getsockname/getpeername's == compares "addr:port"
// exactly, and an address alone with any port (an ephemeral port depends
// on the seed).
func TestSameSockAddr(t *testing.T) {
	got := netip.MustParseAddrPort("[2001:db8:1::ff:fe00:1]:42882")
	for _, c := range []struct {
		want string
		same bool
	}{
		{"[2001:db8:1::ff:fe00:1]:42882", true},
		{"[2001:db8:1::ff:fe00:1]:32768", false},
		{"2001:db8:1::ff:fe00:1", true},
		{"2001:db8:1::1", false},
		{"10.0.0.1", false},
	} {
		if sameSockAddr(got, c.want) != c.same {
			t.Errorf("%v == %q: %v, want %v", got, c.want, !c.same, c.same)
		}
	}
}
