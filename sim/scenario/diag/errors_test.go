package diag

import "testing"

func TestSuggest(t *testing.T) {
	tests := []struct {
		in   string
		cand []string
		want string
	}{
		{"tpc", []string{"mac", "tcp", "mtu"}, "tcp"},
		{"conect", []string{"connect", "close"}, "connect"},
		{"xyz", []string{"connect", "close"}, ""},
		{"a", []string{"b"}, ""},
		{"HANDSHAKE", []string{"handshake"}, "handshake"},
	}
	for _, tt := range tests {
		if got := Suggest(tt.in, tt.cand); got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
