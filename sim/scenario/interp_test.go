package scenario

import "testing"

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
