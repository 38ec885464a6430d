package lang

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads "10ms", "1.5s", "2m", "0".
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration; write a number and a unit: ns, us, ms, s, m, h (e.g. 10ms, 1.5s)", s)
	}
	return d, nil
}

var rateUnits = []struct {
	name string
	mult float64
}{
	{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1},
	{"gbps", 1e9}, {"mbps", 1e6}, {"kbps", 1e3}, {"bps", 1},
}

// ParseRate reads a bit rate: "100Mbit", "1.5Gbit", "64kbit", "9600bit".
func ParseRate(s string) (uint64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for _, u := range rateUnits {
		if num, ok := strings.CutSuffix(t, u.name); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err == nil && v > 0 && v*u.mult < 1e15 {
				return uint64(v * u.mult), nil
			}
			break
		}
	}
	return 0, fmt.Errorf("%q is not a rate; write a positive number and a unit: bit, kbit, Mbit, Gbit (e.g. 100Mbit)", s)
}

var sizeUnits = []struct {
	name string
	mult int64
}{
	{"gib", 1 << 30}, {"mib", 1 << 20}, {"kib", 1 << 10},
	{"gb", 1e9}, {"mb", 1e6}, {"kb", 1e3}, {"b", 1},
}

// ParseSize reads a byte count: "1500", "64KiB", "1MiB", "2MB".
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if num, ok := strings.CutSuffix(t, u.name); ok {
			t, mult = strings.TrimSpace(num), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || v*float64(mult) > 1<<40 || v*float64(mult) != float64(int64(v*float64(mult))) {
		return 0, fmt.Errorf("%q is not a size; write a whole number of bytes or a number and a unit: B, KiB, MiB, GiB, kB, MB (e.g. 64KiB)", s)
	}
	return int64(v * float64(mult)), nil
}

// ParseProb reads a probability: "2%", "0.02".
func ParseProb(s string) (float64, error) {
	t := strings.TrimSpace(s)
	scale := 1.0
	if num, ok := strings.CutSuffix(t, "%"); ok {
		t, scale = strings.TrimSpace(num), 100
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || !(v/scale >= 0 && v/scale <= 1) {
		return 0, fmt.Errorf("%q is not a probability; write a value from 0 to 1 or a percentage (e.g. 0.02 or 2%%)", s)
	}
	return v / scale, nil
}

// FormatDuration prints d as the trace and messages do: "1.5s", "10ms".
func FormatDuration(d time.Duration) string { return d.String() }
