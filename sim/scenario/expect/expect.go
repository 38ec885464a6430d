// Package expect reads a scenario's expectations ("client > server [S.]",
// "at 2s: client fd 3 state == ESTABLISHED", "server accept → OK", …) into
// Expectations the runner checks, and holds the comparisons they use.
package expect

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"stacklab/sim/scenario/diag"
	"stacklab/sim/scenario/lang"
	"stacklab/sim/scenario/pattern"
)

// ExpectKind says what an [Expectation] checks.
type ExpectKind uint8

// Expectation kinds.
const (
	ExpPacket  ExpectKind = iota + 1 // a packet matching Pattern, in order with the others at the vantage
	ExpNone                          // no packet matches Pattern
	ExpCount                         // the number of packets matching Pattern compares to Value
	ExpSocket                        // a socket field (state, cwnd, …) at a time
	ExpCounter                       // a stack counter at a time
	ExpCall                          // a socket call on a host returned a result ("client connect → ECONNREFUSED")
)

// Expectation is one entry of a scenario's `expect` list.
type Expectation struct {
	Pos     diag.Pos
	Text    string
	Kind    ExpectKind
	Vantage string         // "host" (every interface) or "host:eth1", where packets are watched
	At      *time.Duration // packets: the exact time; sockets/counters: when to look (nil: at the end)
	Pattern *pattern.Pattern
	Host    string // socket and counter checks
	FD      int
	Var     string // the socket by its program variable ("client fd s …"), instead of FD
	Field   string // "state", "cwnd", …, the counter name, or the call
	Op      string // ==, !=, >=, <=, >, <
	Value   string // as written; numbers, sizes, durations or a state name
}

var socketFields = []string{"state", "cwnd", "ssthresh", "srtt", "rttvar", "rto", "mss", "snd_wnd", "rcv_wnd", "retransmits", "rtos", "fast_retransmits", "bytes_sent", "bytes_acked", "bytes_received", "congestion", "recovery"}

var compareOps = []string{"==", "!=", ">=", "<=", ">", "<"}

// Parse reads one expectation; key is the mapping key when
// the entry was written "at 2s: …" or "on server: …" (else "").
// taps are the further vantage points "on" may name: capture points on
// switch ports, SWITCH:PEER.
func Parse(key, val string, hosts []string, taps ...string) (*Expectation, error) {
	if key == "" && (strings.HasPrefix(val, "at ") || strings.HasPrefix(val, "on ")) {
		if k, v, ok := strings.Cut(val, ": "); ok {
			key, val = k, v
		}
	}
	e := &Expectation{Text: strings.TrimSpace(val), Vantage: hosts[0], FD: -1}
	if key != "" {
		e.Text = key + ": " + e.Text
		kw := strings.Fields(key)
		if len(kw) > 0 && (kw[0] == "count" || kw[0] == "no" || kw[0] == "none") {
			return nil, fmt.Errorf("%q: put the vantage or time first, e.g. \"on %s: %s …\"", key, strings.Join(kw[min(2, len(kw)-1):], " "), kw[0])
		}
		for i := 0; i < len(kw); i += 2 {
			if i+1 >= len(kw) {
				return nil, fmt.Errorf("%q: write \"at TIME\" and/or \"on HOST\" before the colon", key)
			}
			switch kw[i] {
			case "at":
				d, err := lang.ParseDuration(kw[i+1])
				if err != nil {
					return nil, err
				}
				e.At = &d
			case "on":
				if slices.Contains(taps, kw[i+1]) {
					e.Vantage = kw[i+1]
					continue
				}
				host, ifname, hasIf := strings.Cut(kw[i+1], ":")
				if !slices.Contains(hosts, host) {
					return nil, fmt.Errorf("unknown host %q%s", host, diag.DidYouMean(host, hosts))
				}
				if n, err := strconv.Atoi(strings.TrimPrefix(ifname, "eth")); hasIf && (!strings.HasPrefix(ifname, "eth") || err != nil || n < 0) {
					return nil, fmt.Errorf("%q: name an interface as HOST:ethN, e.g. %s:eth1", kw[i+1], host)
				}
				e.Vantage = kw[i+1]
			default:
				return nil, fmt.Errorf("%q: write \"at TIME\" and/or \"on HOST\" before the colon%s", key, diag.DidYouMean(kw[i], []string{"at", "on"}))
			}
		}
	}
	w := strings.Fields(val)
	if len(w) == 0 {
		return nil, fmt.Errorf("empty expectation; write a packet pattern such as \"client > server [S]\"")
	}
	switch {
	case w[0] == "no" || w[0] == "none":
		e.Kind = ExpNone
		p, err := pattern.Parse(strings.Join(w[1:], " "), hosts)
		if err != nil {
			return nil, err
		}
		e.Pattern = p
	case w[0] == "count":
		e.Kind = ExpCount
		if len(w) < 3 || !isOp(w[len(w)-2]) {
			return nil, fmt.Errorf("count needs a comparison at the end: count client > server [S] == 1")
		}
		e.Op, e.Value = w[len(w)-2], w[len(w)-1]
		if _, err := strconv.Atoi(e.Value); err != nil {
			return nil, fmt.Errorf("count: %q is not a whole number", e.Value)
		}
		p, err := pattern.Parse(strings.Join(w[1:len(w)-2], " "), hosts)
		if err != nil {
			return nil, err
		}
		e.Pattern = p
	case len(w) >= 2 && slices.Contains(hosts, w[0]) && w[1] == "fd":
		// HOST fd N FIELD OP VALUE
		e.Kind, e.Host = ExpSocket, w[0]
		if len(w) != 6 {
			return nil, fmt.Errorf("write a socket check as HOST fd N FIELD OP VALUE, e.g. client fd 3 cwnd >= 14600")
		}
		n, err := strconv.Atoi(w[2])
		switch {
		case err == nil && n >= 0:
			e.FD = n
		case lang.IsIdent(w[2]):
			e.Var = w[2] // a socket variable of the host's program
		default:
			return nil, fmt.Errorf("fd %q is neither a descriptor number nor a socket variable of %s's program", w[2], e.Host)
		}
		e.Field, e.Op, e.Value = w[3], w[4], w[5]
		if !slices.Contains(socketFields, e.Field) {
			return nil, fmt.Errorf("unknown socket field %q%s", e.Field, diag.DidYouMean(e.Field, socketFields))
		}
		if !isOp(e.Op) {
			return nil, fmt.Errorf("%q is not a comparison; use one of %s", e.Op, strings.Join(compareOps, " "))
		}
		if e.Field != "state" && e.Field != "congestion" && e.Field != "recovery" {
			if _, err := ParseQuantity(e.Value); err != nil {
				return nil, fmt.Errorf("%s: %v", e.Field, err)
			}
		}
	case len(w) >= 2 && slices.Contains(hosts, w[0]) && (strings.Contains(val, "→") || strings.Contains(val, "->")):
		// HOST CALL → RESULT
		norm := strings.NewReplacer("→", " → ", "->", " → ").Replace(val)
		w = strings.Fields(norm)
		if len(w) != 4 || w[2] != "→" {
			return nil, fmt.Errorf("write a call result as HOST CALL → RESULT, e.g. client connect → ECONNREFUSED, server accept → 4")
		}
		e.Kind, e.Host, e.Field, e.Op = ExpCall, w[0], w[1], "=="
		if _, ok := lang.Calls[e.Field]; !ok || lang.Calls[e.Field].App {
			return nil, fmt.Errorf("unknown call %q%s", e.Field, diag.DidYouMean(e.Field, socketCallNames()))
		}
		res := w[3]
		if n, err := strconv.Atoi(res); err == nil && n >= 0 {
			res = strconv.Itoa(n)
		} else if res == "OK" {
			// any success: a descriptor, a byte count, 0
		} else if _, ok := lang.ErrnoByName[res]; ok {
			if res == "EWOULDBLOCK" {
				res = "EAGAIN"
			}
		} else {
			return nil, fmt.Errorf("unknown result %q: write an errno name or a number%s", res, diag.DidYouMean(res, lang.ErrnoNames()))
		}
		e.Value = res
	case len(w) == 4 && slices.Contains(hosts, w[0]) && isOp(w[2]):
		e.Kind, e.Host, e.Field, e.Op, e.Value = ExpCounter, w[0], w[1], w[2], w[3]
		if _, err := strconv.ParseUint(e.Value, 10, 64); err != nil {
			return nil, fmt.Errorf("counter %s: %q is not a whole number", e.Field, e.Value)
		}
	case len(w) >= 2 && slices.Contains(hosts, w[0]) && w[1] != ">" && !strings.HasPrefix(w[1], "["):
		if spec, ok := lang.Calls[w[1]]; ok && !spec.App {
			return nil, fmt.Errorf("write a call result as HOST CALL → RESULT, e.g. %s %s → 0", w[0], w[1])
		}
		return nil, fmt.Errorf("after a host name write > DST [flags] for a packet, fd N FIELD OP VALUE for a socket, COUNTER OP VALUE for a counter (%s tcp.RetransSegs == 0), or CALL → RESULT for a call (%s connect → ECONNREFUSED)", w[0], w[0])
	case len(w) >= 2 && !slices.Contains(hosts, w[0]) && w[1] != ">" && !strings.HasPrefix(w[0], "[") && !pattern.IsWord(w[0]) && w[0] != "*":
		return nil, fmt.Errorf("unknown host %q%s", w[0], diag.DidYouMean(w[0], hosts))
	default:
		e.Kind = ExpPacket
		p, err := pattern.Parse(val, hosts)
		if err != nil {
			return nil, err
		}
		e.Pattern = p
	}
	if e.At != nil && e.Kind == ExpCall {
		return nil, fmt.Errorf("a call result has no time: write %s %s → %s; the trace shows when it returned", e.Host, e.Field, e.Value)
	}
	if e.At != nil && (e.Kind == ExpNone || e.Kind == ExpCount) {
		return nil, fmt.Errorf("\"at\" gives the time of one packet or of a socket or counter check; it cannot apply to no/count")
	}
	return e, nil
}

// socketCallNames lists the calls a program makes on sockets, for
// did-you-mean in call expectations.
func socketCallNames() []string {
	var names []string
	for _, n := range slices.Sorted(maps.Keys(lang.Calls)) {
		if !lang.Calls[n].App {
			names = append(names, n)
		}
	}
	return names
}

func isOp(s string) bool { return slices.Contains(compareOps, s) }

// ParseQuantity reads a number, size or duration as an int64 (durations
// in nanoseconds).
func ParseQuantity(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	if n, err := lang.ParseSize(s); err == nil {
		return n, nil
	}
	if d, err := lang.ParseDuration(s); err == nil {
		return int64(d), nil
	}
	return 0, fmt.Errorf("%q is not a number, size or duration", s)
}

// Compare applies op to a and b.
func Compare(a int64, op string, b int64) bool {
	switch op {
	case "==":
		return a == b
	case "!=":
		return a != b
	case ">=":
		return a >= b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case "<":
		return a < b
	}
	return false
}
