package sim

import (
	"strings"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		err  string
	}{
		{"100Mbit", 100e6, ""},
		{"100 Mbit", 100e6, ""},
		{"1.5Gbit/s", 1.5e9, ""},
		{"56kbps", 56000, ""},
		{"10Mbps", 10e6, ""},
		{"9600bit", 9600, ""},
		{"1gbit", 1e9, ""},
		{"2Tbit", 2e12, ""},
		{"0bit", 0, ""},
		{"100", 0, "Mbit"},
		{"100MB", 0, `unknown unit "mb"`},
		{"fast", 0, "Kbit"},
		{"", 0, "Gbit"},
		{"-1Mbit", 0, "out of range"},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseRate(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"10ms", 10 * time.Millisecond, false},
		{"1.5s", 1500 * time.Millisecond, false},
		{"2m", 2 * time.Minute, false},
		{"1h30m", 90 * time.Minute, false},
		{"250us", 250 * time.Microsecond, false},
		{"250µs", 250 * time.Microsecond, false},
		{"10 ms", 10 * time.Millisecond, false},
		{" 3s ", 3 * time.Second, false},
		{"0", 0, false},
		{"10", 0, true},
		{"10 m s", 0, true},
		{"-1s", 0, true},
		{"1d", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if tt.err {
			if err == nil || !strings.Contains(err.Error(), "ms") {
				t.Errorf("ParseDuration(%q) = %v, %v; want an error naming the units", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int
		err  bool
	}{
		{"1500", 1500, false},
		{"1500B", 1500, false},
		{"64KiB", 65536, false},
		{"64 kib", 65536, false},
		{"64K", 65536, false},
		{"64KB", 64000, false},
		{"1.5MB", 1500000, false},
		{"1MiB", 1 << 20, false},
		{"1M", 1 << 20, false},
		{"2GiB", 2 << 30, false},
		{"0", 0, false},
		{"1.5", 0, true},
		{"1.5B", 0, true},
		{"-1KiB", 0, true},
		{"10 bytes", 0, true},
		{"KiB", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if tt.err {
			if err == nil || !strings.Contains(err.Error(), "KiB") {
				t.Errorf("ParseSize(%q) = %v, %v; want an error naming the units", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseProbability(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		err  bool
	}{
		{"0.02", 0.02, false},
		{"2%", 0.02, false},
		{"2 %", 0.02, false},
		{"100%", 1, false},
		{"0", 0, false},
		{"1", 1, false},
		{"1.5", 0, true},
		{"101%", 0, true},
		{"-0.1", 0, true},
		{"NaN", 0, true},
		{"half", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseProbability(tt.in)
		if (err != nil) != tt.err || !tt.err && got != tt.want {
			t.Errorf("ParseProbability(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"100Mbit", "1.5s", "64KiB", "2%", "1e3kbit", "-", "", "1e400B", ".e5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if r, err := ParseRate(s); err == nil && strings.HasPrefix(strings.TrimSpace(s), "-") && r != 0 {
			t.Errorf("ParseRate(%q) = %v: negative accepted", s, r)
		}
		if d, err := ParseDuration(s); err == nil && d < 0 {
			t.Errorf("ParseDuration(%q) = %v", s, d)
		}
		if n, err := ParseSize(s); err == nil && n < 0 {
			t.Errorf("ParseSize(%q) = %v", s, n)
		}
		if p, err := ParseProbability(s); err == nil && !(p >= 0 && p <= 1) {
			t.Errorf("ParseProbability(%q) = %v", s, p)
		}
	})
}
