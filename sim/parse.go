package sim

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The parsers below read the quantities a scenario file gives as strings.
// They accept an optional space between the number and the unit, and
// their errors name the valid units.

type unit struct {
	name string
	mult float64
}

// rateUnits are decimal, as link rates are: 1 Mbit = 10⁶ bit.
var rateUnits = []unit{
	{"bit", 1}, {"kbit", 1e3}, {"mbit", 1e6}, {"gbit", 1e9}, {"tbit", 1e12},
	{"bps", 1}, {"kbps", 1e3}, {"mbps", 1e6}, {"gbps", 1e9}, {"tbps", 1e12},
}

const rateHelp = "use a number with a unit: bit, Kbit, Mbit, Gbit, Tbit (or bps, Kbps, Mbps, Gbps; decimal, per second), e.g. 100Mbit"

// ParseRate parses a link rate such as "100Mbit", "1.5 Gbit/s" or
// "56kbps" into bits per second. Units are decimal and case-insensitive;
// a trailing "/s" is allowed after a bit unit.
func ParseRate(s string) (uint64, error) {
	num, u, err := splitUnit(s)
	if err != nil || u == "" {
		return 0, fmt.Errorf("bad rate %q: %s", s, rateHelp)
	}
	u = strings.TrimSuffix(strings.ToLower(u), "/s")
	for _, ru := range rateUnits {
		if u == ru.name {
			v := num * ru.mult
			if v < 0 || v >= math.MaxUint64 || math.IsNaN(v) {
				return 0, fmt.Errorf("rate %q out of range: %s", s, rateHelp)
			}
			return uint64(math.Round(v)), nil
		}
	}
	return 0, fmt.Errorf("bad rate %q: unknown unit %q; %s", s, u, rateHelp)
}

const durationHelp = "use a number with a unit: ns, us (or µs), ms, s, m, h, e.g. 10ms, 1.5s, 2m"

// ParseDuration parses a non-negative duration such as "10ms", "1.5s",
// "2m" or "1h30m" (Go's syntax, plus an optional space before the unit).
// "0" needs no unit.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if i := strings.IndexByte(t, ' '); i > 0 && !strings.ContainsRune(t[i+1:], ' ') {
		t = t[:i] + t[i+1:] // "10 ms"
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q: %s", s, durationHelp)
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q is negative: %s", s, durationHelp)
	}
	return d, nil
}

var sizeUnits = []unit{
	{"b", 1},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30},
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
}

const sizeHelp = "use a number of bytes with an optional unit: B, KB, MB, GB (decimal) or KiB, MiB, GiB (binary; K, M, G mean the same), e.g. 64KiB"

// ParseSize parses a size in bytes such as "1500", "1500B", "64KiB",
// "1.5MB" or "1M". KB, MB and GB are decimal; KiB, MiB, GiB and the bare
// K, M, G are binary. Units are case-insensitive. The result must be a
// whole number of bytes.
func ParseSize(s string) (int, error) {
	num, u, err := splitUnit(s)
	if err != nil {
		return 0, fmt.Errorf("bad size %q: %s", s, sizeHelp)
	}
	mult := 1.0
	if u != "" {
		lu := strings.ToLower(u)
		found := false
		for _, su := range sizeUnits {
			if lu == su.name {
				mult, found = su.mult, true
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("bad size %q: unknown unit %q; %s", s, u, sizeHelp)
		}
	}
	v := num * mult
	if v < 0 || v > math.MaxInt32*float64(1<<31) || v != math.Trunc(v) {
		return 0, fmt.Errorf("size %q is not a whole number of bytes from 0 up: %s", s, sizeHelp)
	}
	return int(v), nil
}

// ParseProbability parses a probability given as a fraction ("0.02") or
// a percentage ("2%"), from 0 to 1 (100%).
func ParseProbability(s string) (float64, error) {
	t := strings.TrimSpace(s)
	scale := 1.0
	if rest, ok := strings.CutSuffix(t, "%"); ok {
		t, scale = strings.TrimSpace(rest), 100
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) {
		return 0, fmt.Errorf("bad probability %q: use a fraction from 0 to 1 or a percentage, e.g. 0.02 or 2%%", s)
	}
	v /= scale
	if v < 0 || v > 1 {
		return 0, fmt.Errorf("probability %q out of range: use a fraction from 0 to 1 or a percentage up to 100%%", s)
	}
	return v, nil
}

// splitUnit splits "1.5 Gbit" into 1.5 and "Gbit".
func splitUnit(s string) (float64, string, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.' || t[i] == '+' || t[i] == '-' || t[i] == '_' ||
		(t[i] == 'e' || t[i] == 'E') && i+1 < len(t) && (t[i+1] >= '0' && t[i+1] <= '9' || t[i+1] == '-' || t[i+1] == '+')) {
		i++
	}
	if i == 0 {
		return 0, "", fmt.Errorf("no number")
	}
	v, err := strconv.ParseFloat(t[:i], 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, "", fmt.Errorf("bad number")
	}
	return v, strings.TrimSpace(t[i:]), nil
}
