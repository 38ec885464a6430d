package scenario

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"stacklab/sim/scenario/diag"
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
	Pos     Pos
	Text    string
	Kind    ExpectKind
	Vantage string         // "host" (every interface) or "host:eth1", where packets are watched
	At      *time.Duration // packets: the exact time; sockets/counters: when to look (nil: at the end)
	Pattern *Pattern
	Host    string // socket and counter checks
	FD      int
	Var     string // the socket by its program variable ("client fd s …"), instead of FD
	Field   string // "state", "cwnd", …, the counter name, or the call
	Op      string // ==, !=, >=, <=, >, <
	Value   string // as written; numbers, sizes, durations or a state name
}

// Pattern matches packets, tcpdump-like: "client > server [S.] ack 1",
// "[F*]" (FIN with any other flags),
// "[P.] len 5", "* > server:80 tcp", "client > server icmp echo". Empty
// fields match anything.
type Pattern struct {
	Text     string
	Src, Dst hostSel
	Proto    string
	Flags    string // "" any
	Seq      *uint32
	SeqEnd   *uint32 // seq A:B means seq A, len B-A
	Ack      *uint32
	Len      *int
	Win      *int
	ICMP     string
	SACK     string // "A:B,C:D": exactly these SACK blocks, in order; "none": no SACK option
}

// hostSel selects an address: a host name or literal address, a port, or
// any (empty).
type hostSel struct {
	Host string
	Addr netip.Addr
	Port int // -1 any
}

func (h hostSel) String() string {
	s := h.Host
	if h.Addr.IsValid() {
		s = h.Addr.String()
	}
	if s == "" {
		s = "*"
	}
	if h.Port >= 0 {
		s += ":" + strconv.Itoa(h.Port)
	}
	return s
}

var patternWords = []string{"tcp", "udp", "icmp", "arp", "fragment", "seq", "ack", "len", "win", "sack", "echo", "echo-reply", "unreachable", "time-exceeded", "request", "reply"}

// ParsePattern reads a packet pattern; hosts are the valid host names.
func ParsePattern(s string, hosts []string) (*Pattern, error) {
	p := &Pattern{Text: strings.TrimSpace(s), Src: hostSel{Port: -1}, Dst: hostSel{Port: -1}}
	w := strings.Fields(s)
	if len(w) >= 3 && w[1] == ">" {
		var err error
		if p.Src, err = parseHostSel(w[0], hosts); err != nil {
			return nil, err
		}
		if p.Dst, err = parseHostSel(w[2], hosts); err != nil {
			return nil, err
		}
		w = w[3:]
	}
	num := func(i int, name string) (*uint32, *uint32, error) {
		if i+1 >= len(w) {
			return nil, nil, fmt.Errorf("%s needs a number after it", name)
		}
		v := w[i+1]
		if v == "*" {
			return nil, nil, nil
		}
		a, b, hasEnd := strings.Cut(v, ":")
		x, err := strconv.ParseUint(a, 10, 32)
		if err != nil || (hasEnd && name != "seq") {
			return nil, nil, fmt.Errorf("%s %q is not a number", name, v)
		}
		xv := uint32(x)
		if !hasEnd {
			return &xv, nil, nil
		}
		y, err := strconv.ParseUint(b, 10, 32)
		if err != nil || y < x {
			return nil, nil, fmt.Errorf("seq %q is not a range A:B with B ≥ A", v)
		}
		yv := uint32(y)
		return &xv, &yv, nil
	}
	for i := 0; i < len(w); i++ {
		t := w[i]
		switch {
		case strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]"):
			f := t[1 : len(t)-1]
			if f == "*" {
				continue
			}
			if spelled := spelledFlags(f); spelled != "" {
				return nil, fmt.Errorf("flags %s: write them as tcpdump prints them, one letter each: [%s]", t, spelled)
			}
			for i, c := range f {
				if c == '*' && i == len(f)-1 && i > 0 {
					continue
				}
				if !strings.ContainsRune("FSRPUEW.", c) {
					return nil, fmt.Errorf("flags %s: %q is not a TCP flag; use S F R P U E W and . for ACK, as tcpdump prints them", t, c)
				}
			}
			p.Flags = f
			if p.Proto == "" {
				p.Proto = "tcp"
			}
		case t == "tcp" || t == "udp" || t == "icmp" || t == "arp":
			p.Proto = t
		case t == "fragment":
			p.Proto = "ip" // an IPv4 fragment after the first
		case t == "echo" || t == "echo-reply" || t == "unreachable" || t == "time-exceeded":
			p.Proto, p.ICMP = "icmp", t
		case t == "request" || t == "reply":
			p.Proto, p.Flags = "arp", t
		case t == "seq" || t == "ack" || t == "len" || t == "win":
			a, b, err := num(i, t)
			if err != nil {
				return nil, err
			}
			i++
			switch t {
			case "seq":
				p.Seq, p.SeqEnd = a, b
			case "ack":
				p.Ack = a
			case "len":
				if a != nil {
					n := int(*a)
					p.Len = &n
				}
			case "win":
				if a != nil {
					n := int(*a)
					p.Win = &n
				}
			}
		case t == "sack":
			if i+1 >= len(w) || !validSACK(w[i+1]) {
				return nil, fmt.Errorf("sack needs its blocks after it, relative like seq: sack 4345:5793 or sack 4345:5793,7241:8689, or sack none")
			}
			i++
			p.SACK = w[i]
			if p.Proto == "" {
				p.Proto = "tcp"
			}
		case t == "*":
		default:
			if t == ">" {
				return nil, fmt.Errorf("write the direction first: SRC > DST [flags] …")
			}
			return nil, fmt.Errorf("%q is not part of a packet pattern%s", t, diag.DidYouMean(t, patternWords))
		}
	}
	return p, nil
}

// spelledFlags turns flags written as words ("SYN", "SYN,ACK", "ACK")
// into tcpdump's letters ("S.") for an error message, or returns "".
func spelledFlags(f string) string {
	words := strings.FieldsFunc(strings.ToUpper(f), func(r rune) bool { return r == ',' || r == '|' || r == '+' || r == '/' })
	letters := map[string]string{"SYN": "S", "FIN": "F", "RST": "R", "PSH": "P", "PUSH": "P", "URG": "U", "ECE": "E", "CWR": "W", "ACK": "."}
	out, ack := "", false
	for _, w := range words {
		l, ok := letters[w]
		if !ok {
			return ""
		}
		if l == "." {
			ack = true
			continue
		}
		out += l
	}
	if ack {
		out += "."
	}
	return out
}

// validSACK reports whether s is "none" or blocks "A:B[,C:D…]" with B > A.
func validSACK(s string) bool {
	if s == "none" {
		return true
	}
	for _, blk := range strings.Split(s, ",") {
		a, b, ok := strings.Cut(blk, ":")
		x, err1 := strconv.ParseUint(a, 10, 32)
		y, err2 := strconv.ParseUint(b, 10, 32)
		if !ok || err1 != nil || err2 != nil || y <= x {
			return false
		}
	}
	return true
}

func parseHostSel(s string, hosts []string) (hostSel, error) {
	h := hostSel{Port: -1}
	name, port, hasPort := strings.Cut(s, ":")
	if hasPort && port != "*" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return h, fmt.Errorf("%q has a bad port %q", s, port)
		}
		h.Port = int(n)
	}
	switch {
	case name == "*" || name == "":
	case isHost(name, hosts):
		h.Host = name
	default:
		a, err := netip.ParseAddr(name)
		if err != nil {
			return h, fmt.Errorf("unknown host %q%s", name, diag.DidYouMean(name, hosts))
		}
		h.Addr = a
	}
	return h, nil
}

func isHost(s string, hosts []string) bool { return slices.Contains(hosts, s) }

// fieldDiff is one field of a pattern compared with a packet.
type fieldDiff struct {
	Field, Want, Got string
}

// match compares p with a packet; addr resolves host names. It returns
// the fields that differ (none: a match).
func (p *Pattern) match(s *pktSummary, owns func(host string, a netip.Addr) bool, diffs []fieldDiff) []fieldDiff {
	diffs = diffs[:0]
	sel := func(field string, h hostSel, ap netip.AddrPort) {
		bad := h.Host != "" && !owns(h.Host, ap.Addr()) || h.Addr.IsValid() && h.Addr != ap.Addr()
		if bad || h.Port >= 0 && int(ap.Port()) != h.Port {
			diffs = append(diffs, fieldDiff{field, h.String(), ap.String()})
		}
	}
	sel("src", p.Src, s.Src)
	sel("dst", p.Dst, s.Dst)
	if p.Proto != "" && p.Proto != s.Proto {
		diffs = append(diffs, fieldDiff{"proto", p.Proto, s.Proto})
		return diffs
	}
	if p.Flags != "" && !flagsMatch(p.Flags, s.Flags) {
		diffs = append(diffs, fieldDiff{"flags", "[" + p.Flags + "]", "[" + s.Flags + "]"})
	}
	if p.ICMP != "" && p.ICMP != s.ICMP {
		diffs = append(diffs, fieldDiff{"icmp", p.ICMP, s.ICMP})
	}
	if p.Seq != nil && *p.Seq != s.Seq {
		diffs = append(diffs, fieldDiff{"seq", fmt.Sprint(*p.Seq), fmt.Sprint(s.Seq)})
	}
	if p.SeqEnd != nil && int(*p.SeqEnd-*p.Seq) != s.Len {
		diffs = append(diffs, fieldDiff{"len", fmt.Sprint(*p.SeqEnd - *p.Seq), fmt.Sprint(s.Len)})
	}
	if p.Ack != nil && (*p.Ack != s.Ack || !strings.Contains(s.Flags, ".")) {
		diffs = append(diffs, fieldDiff{"ack", fmt.Sprint(*p.Ack), fmt.Sprint(s.Ack)})
	}
	if p.Len != nil && *p.Len != s.Len {
		diffs = append(diffs, fieldDiff{"len", fmt.Sprint(*p.Len), fmt.Sprint(s.Len)})
	}
	if p.Win != nil && *p.Win != s.Win {
		diffs = append(diffs, fieldDiff{"win", fmt.Sprint(*p.Win), fmt.Sprint(s.Win)})
	}
	if p.SACK != "" {
		if got := s.sackString(); got != p.SACK {
			diffs = append(diffs, fieldDiff{"sack", p.SACK, got})
		}
	}
	return diffs
}

// flagsMatch compares a pattern's flags with a packet's: exactly, or,
// with a trailing "*" ("F*"), the packet has at least those flags.
func flagsMatch(want, got string) bool {
	if w, ok := strings.CutSuffix(want, "*"); ok {
		for _, c := range w {
			if !strings.ContainsRune(got, c) {
				return false
			}
		}
		return true
	}
	return want == got
}

var socketFields = []string{"state", "cwnd", "ssthresh", "srtt", "rttvar", "rto", "mss", "snd_wnd", "rcv_wnd", "retransmits", "rtos", "fast_retransmits", "bytes_sent", "bytes_acked", "bytes_received", "congestion", "recovery"}

var compareOps = []string{"==", "!=", ">=", "<=", ">", "<"}

// parseExpectation reads one expectation; key is the mapping key when
// the entry was written "at 2s: …" or "on server: …" (else "").
func parseExpectation(key, val string, hosts []string) (*Expectation, error) {
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
				d, err := parseDuration(kw[i+1])
				if err != nil {
					return nil, err
				}
				e.At = &d
			case "on":
				host, ifname, hasIf := strings.Cut(kw[i+1], ":")
				if !isHost(host, hosts) {
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
		p, err := ParsePattern(strings.Join(w[1:], " "), hosts)
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
		p, err := ParsePattern(strings.Join(w[1:len(w)-2], " "), hosts)
		if err != nil {
			return nil, err
		}
		e.Pattern = p
	case len(w) >= 2 && isHost(w[0], hosts) && w[1] == "fd":
		// HOST fd N FIELD OP VALUE
		e.Kind, e.Host = ExpSocket, w[0]
		if len(w) != 6 {
			return nil, fmt.Errorf("write a socket check as HOST fd N FIELD OP VALUE, e.g. client fd 3 cwnd >= 14600")
		}
		n, err := strconv.Atoi(w[2])
		switch {
		case err == nil && n >= 0:
			e.FD = n
		case isIdent(w[2]):
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
			if _, err := parseQuantity(e.Value); err != nil {
				return nil, fmt.Errorf("%s: %v", e.Field, err)
			}
		}
	case len(w) >= 2 && isHost(w[0], hosts) && (strings.Contains(val, "→") || strings.Contains(val, "->")):
		// HOST CALL → RESULT
		norm := strings.NewReplacer("→", " → ", "->", " → ").Replace(val)
		w = strings.Fields(norm)
		if len(w) != 4 || w[2] != "→" {
			return nil, fmt.Errorf("write a call result as HOST CALL → RESULT, e.g. client connect → ECONNREFUSED, server accept → 4")
		}
		e.Kind, e.Host, e.Field, e.Op = ExpCall, w[0], w[1], "=="
		if _, ok := calls[e.Field]; !ok || calls[e.Field].app {
			return nil, fmt.Errorf("unknown call %q%s", e.Field, diag.DidYouMean(e.Field, socketCallNames()))
		}
		res := w[3]
		if n, err := strconv.Atoi(res); err == nil && n >= 0 {
			res = strconv.Itoa(n)
		} else if res == "OK" {
			// any success: a descriptor, a byte count, 0
		} else if _, ok := errnoByName[res]; ok {
			if res == "EWOULDBLOCK" {
				res = "EAGAIN"
			}
		} else {
			return nil, fmt.Errorf("unknown result %q: write an errno name or a number%s", res, diag.DidYouMean(res, errnoNames()))
		}
		e.Value = res
	case len(w) == 4 && isHost(w[0], hosts) && isOp(w[2]):
		e.Kind, e.Host, e.Field, e.Op, e.Value = ExpCounter, w[0], w[1], w[2], w[3]
		if _, err := strconv.ParseUint(e.Value, 10, 64); err != nil {
			return nil, fmt.Errorf("counter %s: %q is not a whole number", e.Field, e.Value)
		}
	case len(w) >= 2 && isHost(w[0], hosts) && w[1] != ">" && !strings.HasPrefix(w[1], "["):
		if spec, ok := calls[w[1]]; ok && !spec.app {
			return nil, fmt.Errorf("write a call result as HOST CALL → RESULT, e.g. %s %s → 0", w[0], w[1])
		}
		return nil, fmt.Errorf("after a host name write > DST [flags] for a packet, fd N FIELD OP VALUE for a socket, COUNTER OP VALUE for a counter (%s tcp.RetransSegs == 0), or CALL → RESULT for a call (%s connect → ECONNREFUSED)", w[0], w[0])
	case len(w) >= 2 && !isHost(w[0], hosts) && w[1] != ">" && !strings.HasPrefix(w[0], "[") && !isPatternWord(w[0]) && w[0] != "*":
		return nil, fmt.Errorf("unknown host %q%s", w[0], diag.DidYouMean(w[0], hosts))
	default:
		e.Kind = ExpPacket
		p, err := ParsePattern(val, hosts)
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
	for _, n := range sortedKeys(calls) {
		if !calls[n].app {
			names = append(names, n)
		}
	}
	return names
}

func isPatternWord(s string) bool { return slices.Contains(patternWords, s) }

func isOp(s string) bool { return slices.Contains(compareOps, s) }

// parseQuantity reads a number, size or duration as an int64 (durations
// in nanoseconds).
func parseQuantity(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	if n, err := parseSize(s); err == nil {
		return n, nil
	}
	if d, err := parseDuration(s); err == nil {
		return int64(d), nil
	}
	return 0, fmt.Errorf("%q is not a number, size or duration", s)
}

// compare applies op to a and b.
func compare(a int64, op string, b int64) bool {
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
