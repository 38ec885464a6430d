package run

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"stacklab/pkt"
	"stacklab/stack"
)

// Modes of command: configure the stack about to be built (the init
// command), only check that every setting maps, or apply to the stack
// running the script.
const (
	cmdInit = iota
	cmdCheck
	cmdApply
)

// command handles a backtick shell block: sysctl settings of
// net.ipv4.tcp_* become the stack's settings (the first command's
// before it is built, a later one's at its time); anything else skips
// the script.
func (r *runner) command(c *pkt.Command, mode int) *failure {
	text := strings.ReplaceAll(c.Text, "\\\n", " ") // shell line continuations
	for _, part := range strings.FieldsFunc(text, func(r rune) bool { return r == ';' || r == '\n' }) {
		if i := strings.Index(part, "#"); i >= 0 {
			part = part[:i] // a shell comment
		}
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		f := shellFields(part) // a quoted value keeps its blanks
		if len(f) >= 2 && strings.HasSuffix(f[0], "common/set_sysctls.py") {
			// Upstream packetdrill's helper: each argument is
			// /proc/sys/PATH=VALUE, the sysctl PATH with dots.
			var b strings.Builder
			for _, a := range f[1:] {
				name, val, ok := strings.Cut(a, "=")
				rest, proc := strings.CutPrefix(name, "/proc/sys/")
				if !ok || !proc {
					return r.skipf(c.Pos.Line, "%s: set_sysctls.py argument %q is not /proc/sys/NAME=VALUE", c.Pos, a)
				}
				fmt.Fprintf(&b, "sysctl -q %s=%s\n", strings.ReplaceAll(rest, "/", "."), val)
			}
			if fl := r.command(&pkt.Command{Pos: c.Pos, Text: b.String()}, mode); fl != nil {
				return fl
			}
			continue
		}
		if len(f) == 1 && strings.HasSuffix(f[0], "common/defaults.sh") {
			// Upstream packetdrill's gtests/net/common/defaults.sh: its
			// settings, as far as stacklab has them.
			if fl := r.command(&pkt.Command{Pos: c.Pos, Text: upstreamDefaults}, mode); fl != nil {
				return fl
			}
			continue
		}
		if len(f) < 2 || f[0] != "sysctl" {
			return r.skipf(c.Pos.Line, "%s: shell command %q cannot run against stacklab (only sysctl net.ipv4.tcp_* settings are mapped)", c.Pos, part)
		}
		args := f[1:]
		for len(args) > 0 && (args[0] == "-q" || args[0] == "-w") {
			args = args[1:]
		}
		if len(args) == 0 {
			return r.skipf(c.Pos.Line, "%s: sysctl without a setting", c.Pos)
		}
		// sysctl takes several name=value settings at once; a line
		// whose words do not each hold one is one setting.
		settings := args
		for _, a := range args {
			if !strings.Contains(a, "=") {
				settings = []string{strings.Join(args, " ")}
				break
			}
		}
		// Before the run every command is checked (a script with one the
		// runner cannot map skips at once); the first one configures the
		// stack it builds, a later one changes it at its time, as sysctl
		// on a running kernel.
		saved := r.tcpOpts
		for _, setting := range settings {
			name, val, ok := strings.Cut(setting, "=")
			if !ok {
				return r.skipf(c.Pos.Line, "%s: sysctl %q reads a setting; only name=value is mapped", c.Pos, setting)
			}
			val = strings.Trim(strings.TrimSpace(val), `"'`)
			if msg := r.sysctl(strings.TrimSpace(name), val); msg != "" {
				return r.skipf(c.Pos.Line, "%s: sysctl %s=%s: %s", c.Pos, name, val, msg)
			}
		}
		switch {
		case mode == cmdCheck:
			r.tcpOpts = saved
		case mode == cmdApply:
			r.st.SetTCPOptions(r.tcpOpts)
		}
	}
	return nil
}

// shellFields splits a command line at blanks outside quotes, keeping
// the quotes (sysctl strips them from a value).
func shellFields(s string) []string {
	var out []string
	var cur strings.Builder
	var quote rune
	for _, ch := range s {
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			}
		case ch == '"' || ch == '\'':
			quote = ch
		case unicode.IsSpace(ch):
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteRune(ch)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// upstreamDefaults is what upstream packetdrill's common/defaults.sh
// sets that stacklab has a setting for. The rest of it has no
// counterpart, and stacklab behaves as that part asks or not at all:
// tcp_fack=0, tcp_reordering=3, tcp_early_retrans=4 with tcp_recovery=1
// (RACK-TLP) and tcp_notsent_lowat unlimited are stacklab's defaults;
// tcp_ecn_option, the pacing ratios and
// tcp_tso_win_divisor have nothing to act on (no AccECN, no pacing, no
// TSO); tcp_fastopen is not implemented; tcp_frto=2 (F-RTO) is the
// linux profile's default, set below all the same; the
// tcp_metrics flush and the pfifo qdisc on tun0 match a fresh stack.
const upstreamDefaults = `sysctl -q net.ipv4.tcp_rmem="4096 540000 15728640"
sysctl -q net.ipv4.tcp_wmem="4096 262144 4194304"
sysctl -q net.ipv4.tcp_timestamps=1
sysctl -q net.ipv4.tcp_syn_retries=5
sysctl -q net.ipv4.tcp_sack=1
sysctl -q net.ipv4.tcp_dsack=1
sysctl -q net.ipv4.tcp_frto=2
sysctl -q net.ipv4.tcp_congestion_control=cubic
sysctl -q net.ipv4.tcp_ecn=0
sysctl -q net.ipv4.tcp_syncookies=1
sysctl -q net.ipv4.tcp_slow_start_after_idle=0`

// sysctl maps one setting onto the stack's TCP options, or says why not.
func (r *runner) sysctl(name, val string) string {
	nums := strings.Fields(val)
	ints := make([]int, len(nums))
	for i, n := range nums {
		v, err := strconv.Atoi(n)
		if err != nil {
			ints = nil // words, as tcp_congestion_control takes
			break
		}
		ints[i] = v
	}
	one := func() (int, bool) {
		if len(ints) != 1 {
			return 0, false // none (`sysctl name=`), several, or a word
		}
		return ints[0], true
	}
	o := &r.tcpOpts
	switch name {
	case "net.ipv4.tcp_rmem":
		if len(ints) != 3 || ints[1] <= 0 || ints[2] < ints[1] {
			return "wants three numbers, the default at most the maximum"
		}
		o.RmemDefault, o.RmemMax = ints[1], ints[2]
	case "net.ipv4.tcp_slow_start_after_idle":
		v, ok := one()
		if !ok || v < 0 || v > 1 {
			return "wants 0 or 1"
		}
		o.NoIdleRestart = v == 0
	case "net.ipv4.tcp_wmem":
		if len(ints) != 3 || ints[1] <= 0 || ints[2] != 4194304 {
			return "wants three numbers; only the default (tcp_wmem[1]) is mapped, the maximum stays 4194304"
		}
		o.WmemDefault = ints[1]
	case "net.ipv4.tcp_syn_retries":
		v, ok := one()
		if !ok || v < 1 || v > 127 {
			return "wants 1 to 127"
		}
		o.SynRetries = v
	case "net.ipv4.tcp_syn_linear_timeouts":
		v, ok := one()
		if !ok || v < 0 || v > 127 {
			return "wants 0 to 127"
		}
		if o.SynLinearTimeouts = v; v == 0 {
			o.SynLinearTimeouts = -1
		}
	case "net.ipv4.tcp_early_retrans":
		v, ok := one()
		if !ok || v != 0 {
			return "only 0 (no tail loss probe) is mapped"
		}
		o.NoTLP = true
	case "net.ipv4.tcp_sack":
		v, ok := one()
		if !ok {
			return "wants 0 or 1"
		}
		o.NoSACK = v == 0
	case "net.ipv4.tcp_timestamps":
		v, ok := one()
		if !ok {
			return "wants 0 or 1"
		}
		o.NoTimestamps = v == 0
	case "net.ipv4.tcp_window_scaling":
		v, ok := one()
		if !ok {
			return "wants 0 or 1"
		}
		o.NoWindowScale = v == 0
	case "net.ipv4.tcp_dsack":
		v, ok := one()
		if !ok {
			return "wants 0 or 1"
		}
		o.NoDSACK = v == 0
	case "net.ipv4.tcp_frto":
		v, ok := one()
		if !ok || v < 0 || v > 2 {
			return "wants 0, 1 or 2"
		}
		o.NoFRTO = v == 0
	case "net.ipv4.tcp_ecn":
		v, ok := one()
		if !ok || v < 0 || v > 2 {
			return "wants 0, 1 or 2"
		}
		o.ECN = []string{"off", "on", "passive"}[v]
	case "net.ipv4.tcp_syncookies":
		v, ok := one()
		if !ok {
			return "wants 0, 1 or 2"
		}
		o.NoSynCookies = v == 0
	case "net.ipv4.tcp_congestion_control":
		if len(nums) != 1 || (nums[0] != "cubic" && nums[0] != "reno") {
			return "stacklab has cubic and reno (newreno)"
		}
		o.Congestion = map[string]string{"cubic": "cubic", "reno": "newreno"}[nums[0]]
	case "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_retries2":
		v, ok := one()
		if !ok || v < 1 {
			return "wants a positive number"
		}
		switch name {
		case "net.ipv4.tcp_keepalive_time":
			o.KeepIdle = secsDur(v)
		case "net.ipv4.tcp_keepalive_intvl":
			o.KeepInterval = secsDur(v)
		case "net.ipv4.tcp_keepalive_probes":
			o.KeepCount = v
		default:
			o.Retries = v
		}
	case "net.ipv4.tcp_invalid_ratelimit":
		v, ok := one()
		if !ok || v < 0 {
			return "wants milliseconds, 0 or more"
		}
		o.InvalidRateLimit = time.Duration(v) * time.Millisecond
		if v == 0 {
			o.InvalidRateLimit = -1 // Linux: 0 is no limit
		}
	case "net.ipv4.tcp_notsent_lowat":
		v, ok := one()
		if !ok || v < 0 || v > math.MaxUint32 {
			return "wants a byte count, 0 to 4294967295"
		}
		o.NotSentLowat = uint32(v)
		if v == math.MaxUint32 {
			o.NotSentLowat = 0 // UINT_MAX, Linux's default, is no limit
		}
	case "net.ipv4.tcp_challenge_ack_limit":
		v, ok := one()
		if !ok || v < 1 {
			return "wants a count, 1 or more (0, no challenge ACKs at all, is not mapped)"
		}
		if v < math.MaxInt32 { // INT_MAX, Linux's default, is no limit
			o.ChallengeACKLimit = v
		}
	default:
		return "not mapped to a stacklab setting"
	}
	return ""
}

// code evaluates a %{ }% block: assert lines over tcp_info fields.
func (r *runner) code(ev *pkt.Event) *failure {
	// A backslash at a line's end continues the line, as in Python.
	text := strings.NewReplacer("\\\r\n", " ", "\\\n", " ").Replace(ev.Code.Text)
	for _, stmt := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == ';' }) {
		stmt = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(stmt), "\\")) // the block's last line may end in one
		if stmt == "" || strings.HasPrefix(stmt, "#") {
			continue
		}
		rest, ok := strings.CutPrefix(stmt, "assert ")
		if !ok {
			return r.skipf(ev.Pos.Line, "%s: %%{ }%% code other than assert lines (%q) cannot run against stacklab", ev.Pos, stmt)
		}
		e := &expr{src: rest}
		e.lex()
		if e.err == nil {
			e.info, e.infoErr = r.tcpInfo()
		}
		v := e.parse()
		if e.err != nil {
			return r.failf(ev.Pos.Line, "%s: %v", ev.Pos, e.err)
		}
		if v == 0 {
			f := r.failf(ev.Pos.Line, "%s: assertion failed: %s", ev.Pos, rest)
			f.expected = rest
			f.actual = e.values()
			return f
		}
	}
	return nil
}

func (r *runner) tcpInfo() (stack.LinuxTCPInfo, error) {
	if r.lastFD < 0 {
		return stack.LinuxTCPInfo{}, fmt.Errorf("no socket to read tcp_info from")
	}
	return r.st.LinuxTCPInfo(r.lastFD)
}

// expr is a small evaluator for Python-like assert expressions: integers,
// tcpi_* names, ( ), not, and, or, comparisons, | & ^ << >> + - * / %.
// The part after a top-level comma is the message, ignored.
type expr struct {
	src     string
	toks    []string
	i       int
	err     error
	info    stack.LinuxTCPInfo
	infoErr error
	seen    []string
}

func (e *expr) lex() {
	s := e.src
	depth := 0
	for i := 0; i < len(s); {
		c := rune(s[i])
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == ',' && depth == 0:
			return // the assert's message
		case unicode.IsDigit(c):
			j := i
			for j < len(s) && (unicode.IsDigit(rune(s[j])) || s[j] == 'x' || (s[j] >= 'a' && s[j] <= 'f')) {
				j++
			}
			e.toks = append(e.toks, s[i:j])
			i = j
		case unicode.IsLetter(c) || c == '_':
			j := i
			for j < len(s) && (unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j])) || s[j] == '_' || s[j] == '.') {
				j++
			}
			e.toks = append(e.toks, s[i:j])
			i = j
		default:
			two := ""
			if i+1 < len(s) {
				two = s[i : i+2]
			}
			switch two {
			case "==", "!=", "<=", ">=", "<<", ">>", "//":
				e.toks = append(e.toks, two)
				i += 2
				continue
			}
			if strings.ContainsRune("()<>|&^+-*/%", c) {
				if c == '(' {
					depth++
				} else if c == ')' {
					depth--
				}
				e.toks = append(e.toks, string(c))
				i++
				continue
			}
			e.err = fmt.Errorf("unexpected %q in assert %q", c, e.src)
			return
		}
	}
}

func (e *expr) peek() string {
	if e.i < len(e.toks) {
		return e.toks[e.i]
	}
	return ""
}

func (e *expr) next() string { t := e.peek(); e.i++; return t }

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func (e *expr) parse() int64 {
	v := e.or()
	if e.err == nil && e.i < len(e.toks) {
		e.err = fmt.Errorf("unexpected %q in assert %q", e.peek(), e.src)
	}
	return v
}

func (e *expr) or() int64 {
	v := e.and()
	for e.peek() == "or" {
		e.next()
		w := e.and()
		v = b2i(v != 0 || w != 0)
	}
	return v
}

func (e *expr) and() int64 {
	v := e.not()
	for e.peek() == "and" {
		e.next()
		w := e.not()
		v = b2i(v != 0 && w != 0)
	}
	return v
}

func (e *expr) not() int64 {
	if e.peek() == "not" {
		e.next()
		return b2i(e.not() == 0)
	}
	return e.cmp()
}

func (e *expr) cmp() int64 {
	v := e.bits()
	res := int64(1)
	chained := false
	for {
		op := e.peek()
		switch op {
		case "==", "!=", "<", "<=", ">", ">=":
		default:
			if chained {
				return res
			}
			return v
		}
		e.next()
		w := e.bits()
		var ok bool
		switch op {
		case "==":
			ok = v == w
		case "!=":
			ok = v != w
		case "<":
			ok = v < w
		case "<=":
			ok = v <= w
		case ">":
			ok = v > w
		case ">=":
			ok = v >= w
		}
		if !ok {
			res = 0
		}
		chained, v = true, w
	}
}

func (e *expr) bits() int64 {
	v := e.shift()
	for {
		switch e.peek() {
		case "|":
			e.next()
			v |= e.shift()
		case "&":
			e.next()
			v &= e.shift()
		case "^":
			e.next()
			v ^= e.shift()
		default:
			return v
		}
	}
}

func (e *expr) shift() int64 {
	v := e.sum()
	for {
		switch e.peek() {
		case "<<":
			e.next()
			v <<= uint(e.sum() & 63)
		case ">>":
			e.next()
			v >>= uint(e.sum() & 63)
		default:
			return v
		}
	}
}

func (e *expr) sum() int64 {
	v := e.prod()
	for {
		switch e.peek() {
		case "+":
			e.next()
			v += e.prod()
		case "-":
			e.next()
			v -= e.prod()
		default:
			return v
		}
	}
}

func (e *expr) prod() int64 {
	v := e.unary()
	for {
		switch e.peek() {
		case "*":
			e.next()
			v *= e.unary()
		case "/", "//", "%":
			op := e.next()
			w := e.unary()
			if w == 0 {
				if e.err == nil {
					e.err = fmt.Errorf("division by zero in assert %q", e.src)
				}
				return 0
			}
			if op == "%" {
				v %= w
			} else {
				v /= w
			}
		default:
			return v
		}
	}
}

func (e *expr) unary() int64 {
	t := e.next()
	switch {
	case t == "":
		if e.err == nil {
			e.err = fmt.Errorf("assert %q ends too soon", e.src)
		}
		return 0
	case t == "-":
		return -e.unary()
	case t == "(":
		v := e.or()
		if e.next() != ")" && e.err == nil {
			e.err = fmt.Errorf("a ')' is missing in assert %q", e.src)
		}
		return v
	case t == "True":
		return 1
	case t == "False":
		return 0
	case unicode.IsDigit(rune(t[0])):
		v, err := strconv.ParseInt(t, 0, 64)
		if err != nil && e.err == nil {
			e.err = fmt.Errorf("bad number %q in assert %q", t, e.src)
		}
		return v
	}
	v, err := e.field(t)
	if err != nil && e.err == nil {
		e.err = err
	}
	e.seen = append(e.seen, fmt.Sprintf("%s=%d", t, v))
	return v
}

// values lists the fields an assertion read, for its failure message.
func (e *expr) values() string { return strings.Join(e.seen, " ") }

// Linux's TCP states (TCP_ESTABLISHED …), for comparisons with
// tcpi_state.
var linuxStates = map[string]int64{
	"TCP_ESTABLISHED": 1, "TCP_SYN_SENT": 2, "TCP_SYN_RECV": 3, "TCP_FIN_WAIT1": 4, "TCP_FIN_WAIT2": 5, "TCP_TIME_WAIT": 6,
	"TCP_CLOSE": 7, "TCP_CLOSE_WAIT": 8, "TCP_LAST_ACK": 9, "TCP_LISTEN": 10, "TCP_CLOSING": 11,
	"TCP_CA_Open": 0, "TCP_CA_Disorder": 1, "TCP_CA_CWR": 2, "TCP_CA_Recovery": 3, "TCP_CA_Loss": 4,
	"TCPI_OPT_TIMESTAMPS": 1, "TCPI_OPT_SACK": 2, "TCPI_OPT_WSCALE": 4, "TCPI_OPT_ECN": 8,
}

// field reads a name: a constant, or a tcp_info field of the socket
// under test as Linux reports it (stack.LinuxTCPInfo).
func (e *expr) field(name string) (int64, error) {
	if v, ok := constants[name]; ok {
		return v, nil
	}
	if v, ok := linuxStates[name]; ok {
		return v, nil
	}
	if !strings.HasPrefix(name, "tcpi_") {
		return 0, fmt.Errorf("unknown name %s in assert %q", name, e.src)
	}
	if e.infoErr != nil {
		return 0, fmt.Errorf("tcp_info: %v", e.infoErr)
	}
	v, ok := e.info.Field(name)
	if !ok {
		return 0, fmt.Errorf("%s is not available from stacklab's tcp_info", name)
	}
	return v, nil
}

func secsDur(v int) time.Duration { return time.Duration(v) * time.Second }
