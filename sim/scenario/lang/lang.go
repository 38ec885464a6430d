// Package lang is the scenario program language: its lexer and parser
// (Program, Stmt, ParseProgram), the calls and built-in apps it knows, errno
// names, endpoints ("server:80") and the units values are written in
// (durations, rates, sizes, probabilities).
package lang

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"stacklab/sim/scenario/diag"
	"stacklab/stack/tcp"
	"stacklab/stack/tcp/cc"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Program is one host's sequence of statements.
type Program struct {
	Host string
	Body []*Stmt
}

// StmtKind says what a [Stmt] is.
type StmtKind uint8

// Statement kinds.
const (
	StCall   StmtKind = iota + 1 // a socket call or a built-in app
	StSleep                      // sleep DUR
	StRepeat                     // repeat N { … }
	StEvery                      // every DUR for DUR { … }
	StNote                       // note "text": a line in the trace
	StSpawn                      // spawn { … }: the block as a thread of its own
	StIf                         // if COND { … } [else { … }]
	StWhile                      // while COND { … }
	StTest                       // internal: tests Body[0]'s condition (an if or while) after its call ran
	StSet                        // VAR = VALUE [+|- VALUE]: Args holds the values, Call the operator
)

// Cond is the condition of an if or a while. Either a call and the
// result it is tested for — `recv(s, 1) -> ECONNRESET`, `connect(s,
// server:7) -> OK` (any success): the call runs each time the condition
// is tested, and whatever it returns never fails the program — or two
// values compared — `fd == l`, `n != 0`: variables (a descriptor, or
// what recv or epoll_wait returned) or whole numbers.
type Cond struct {
	Pos   diag.Pos
	Call  *Stmt  // nil for a comparison
	Errno string // with Call: the result wanted, "OK" for any success
	Not   bool   // != rather than ==
	A, B  Arg    // a comparison's two values
	Text  string
}

// Stmt is one statement of a [Program].
type Stmt struct {
	Pos    diag.Pos
	Kind   StmtKind
	Var    string // the variable assigned ("s" in `s = socket(tcp)`), or ""
	Call   string // the call or app name
	Args   []Arg
	Expect *CallExpect
	Dur    time.Duration // sleep, every
	Until  bool          // sleep until DUR: Dur is a time since the start
	For    time.Duration // every … for
	Count  int           // repeat; -1 forever
	Body   []*Stmt       // repeat, every, spawn, if, while
	Else   []*Stmt       // if … else { … }
	Cond   *Cond         // if, while
	Test   bool          // a condition's call: its result is tested, never a failure
	Text   string        // the statement as written, for messages
}

// Arg is one argument of a call, as written.
type Arg struct {
	Pos    diag.Pos
	Text   string // unquoted text for a string literal
	Quoted bool
}

// CallExpect is the expected result of a call: `recv(c, 5) == "hello"`,
// `recv(c, all) == 1MiB`, `connect(s, server:81) -> ECONNREFUSED`.
type CallExpect struct {
	Pos   diag.Pos
	Data  *string // == "text": the bytes received
	Size  int64   // == SIZE: the count received, checked against the generated pattern; -1 unused
	Errno string  // -> NAME ("OK" for success)
	Text  string
}

// MaxRepeat bounds a repeat's count.
const MaxRepeat = 1_000_000

// CallSpec describes a call the language knows: its argument count range
// and whether it yields a value.
type CallSpec struct {
	Min, Max int
	App      bool
	Usage    string
}

var Calls = map[string]CallSpec{
	"socket":      {1, 1, false, "socket(tcp|udp|icmp|tcp6|udp6|icmp6)"},
	"bind":        {2, 2, false, "bind(fd, :port | addr:port)"},
	"listen":      {1, 2, false, "listen(fd, backlog)"},
	"accept":      {1, 1, false, "accept(fd)"},
	"connect":     {2, 2, false, "connect(fd, host:port)"},
	"send":        {2, 3, false, `send(fd, "text" | SIZE [, more|nosignal|eor|dontwait, joined by +])`},
	"sendto":      {3, 3, false, `sendto(fd, "text" | SIZE, host:port)`},
	"recv":        {2, 3, false, "recv(fd, N | all | any [, peek|dontwait|waitall, joined by +])"},
	"recvfrom":    {2, 2, false, "recvfrom(fd, N | any)"},
	"shutdown":    {2, 2, false, "shutdown(fd, rd|wr|rdwr)"},
	"close":       {1, 1, false, "close(fd)"},
	"setsockopt":  {3, 3, false, "setsockopt(fd, option, value)"},
	"getsockopt":  {2, 2, false, "[v =] getsockopt(fd, option) [== N]"},
	"getsockname": {1, 1, false, `getsockname(fd) [== "addr:port" or "addr"]`},
	"getpeername": {1, 1, false, `getpeername(fd) [== "addr:port" or "addr"]`},
	"ioctl":       {2, 2, false, "[n =] ioctl(fd, siocinq|siocoutq|siocoutqnsd|siocatmark) [== N]"},
	"nonblock":    {1, 2, false, "nonblock(fd)"},
	"poll":        {2, 3, false, "[r =] poll(fd[+fd…], in|out|inout [, timeout])"},
	"ss":          {0, 0, false, "ss()"},

	"epoll_create": {0, 0, false, "ep = epoll_create()"},
	"epoll_ctl":    {3, 4, false, "epoll_ctl(ep, add|mod|del, fd [, in|out|inout|in+et|in+oneshot])"},
	"epoll_wait":   {1, 2, false, "fd = epoll_wait(ep [, timeout])"},

	"echo_server":      {1, 1, true, "echo_server(:port)"},
	"blocking_server":  {1, 1, true, "blocking_server(:port)"},
	"thread_server":    {1, 1, true, "thread_server(:port)"},
	"epoll_server":     {1, 1, true, "epoll_server(:port)"},
	"discard_server":   {1, 1, true, "discard_server(:port)"},
	"udp_echo":         {1, 1, true, "udp_echo(:port)"},
	"bulk_send":        {2, 2, true, "bulk_send(host:port, SIZE)"},
	"bulk_recv":        {2, 2, true, "bulk_recv(:port, SIZE)"},
	"ping":             {1, 3, true, "ping(host [, count [, interval]])"},
	"http_server":      {1, 1, true, "http_server(:port)"},
	"http_client":      {2, 4, true, "http_client(host:port, requests [, keepalive|close [, 1.0|1.1]])"},
	"heartbeat_server": {1, 1, true, "heartbeat_server(:port)"},
	"heartbeat_client": {2, 4, true, "heartbeat_client(host:port, interval [, for [, timeout]])"},
}

var sockOptNames = []string{"keepalive", "linger", "rcvbuf", "sndbuf", "nodelay", "keepidle", "keepintvl", "keepcnt", "quickack", "reuseaddr", "congestion", "recovery", "ipv6_v6only",
	"reuseport", "broadcast", "rcvtimeo", "sndtimeo", "ttl", "tos", "user_timeout", "maxseg", "syncnt", "cork", "notsent_lowat", "inq", "udp_cork",
	"mtu_discover", "rcvlowat", "oobinline", "defer_accept"}

// RecvFlagNames and SendFlagNames are the flags recv and send take
// (MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL, MSG_OOB; MSG_MORE, MSG_NOSIGNAL,
// MSG_EOR, MSG_DONTWAIT, MSG_OOB), joined by + in one argument.
var (
	RecvFlagNames = []string{"peek", "dontwait", "waitall", "oob"}
	SendFlagNames = []string{"more", "nosignal", "eor", "dontwait", "oob"}
)

// ErrnoByName maps the errno names a program may expect to their values.
var ErrnoByName = map[string]syscall.Errno{
	"EAGAIN": syscall.EAGAIN, "EWOULDBLOCK": syscall.EAGAIN, "EINPROGRESS": syscall.EINPROGRESS,
	"ECONNREFUSED": syscall.ECONNREFUSED, "ECONNRESET": syscall.ECONNRESET, "ETIMEDOUT": syscall.ETIMEDOUT,
	"EADDRINUSE": syscall.EADDRINUSE, "EADDRNOTAVAIL": syscall.EADDRNOTAVAIL, "EPIPE": syscall.EPIPE,
	"ENOTCONN": syscall.ENOTCONN, "EISCONN": syscall.EISCONN, "EALREADY": syscall.EALREADY,
	"EINVAL": syscall.EINVAL, "EBADF": syscall.EBADF, "EHOSTUNREACH": syscall.EHOSTUNREACH,
	"ENETUNREACH": syscall.ENETUNREACH, "EMSGSIZE": syscall.EMSGSIZE, "EOPNOTSUPP": syscall.EOPNOTSUPP,
	"ECONNABORTED": syscall.ECONNABORTED, "ENOSYS": syscall.ENOSYS, "ENOBUFS": syscall.ENOBUFS, "ENOPROTOOPT": syscall.ENOPROTOOPT,
	"EPROTO": syscall.EPROTO,
}

func ErrnoNames() []string {
	names := append(sortedKeys(ErrnoByName), "OK")
	slices.Sort(names)
	return names
}

// ErrnoName returns the symbolic name of e ("ECONNREFUSED").
func ErrnoName(e syscall.Errno) string {
	best := ""
	for n, v := range ErrnoByName {
		if v == e && (best == "" || n < best) && n != "EWOULDBLOCK" {
			best = n
		}
	}
	if best == "" {
		return fmt.Sprintf("errno %d", int(e))
	}
	return best
}

// PosMapper turns an offset in a program's text into a file position.
type PosMapper func(off int) diag.Pos

// token kinds of the program lexer.
type tokKind uint8

const (
	tEOF tokKind = iota
	tWord
	tString
	tPunct // ( ) , ; { } = == ->
	tNewline
)

type token struct {
	kind tokKind
	text string
	off  int
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == ':' || c == '/' || c == '*' || c == '-' || c == '%' || c == '[' || c == ']' || c == '+'
}

// lex splits src into tokens; a bad character or an unterminated string
// is reported with its offset.
func lex(src string) ([]token, int, error) {
	var toks []token
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '\n':
			toks = append(toks, token{tNewline, "\n", i})
			i++
		case c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(src) && src[j] != '"'; j++ {
				if src[j] == '\n' {
					return nil, i, fmt.Errorf("string not closed on its line; add a closing \"")
				}
				if src[j] == '\\' && j+1 < len(src) {
					j++
					switch src[j] {
					case 'n':
						b.WriteByte('\n')
					case 'r':
						b.WriteByte('\r')
					case 't':
						b.WriteByte('\t')
					case '0':
						b.WriteByte(0)
					default:
						b.WriteByte(src[j])
					}
					continue
				}
				b.WriteByte(src[j])
			}
			if j >= len(src) {
				return nil, i, fmt.Errorf("string not closed; add a closing \"")
			}
			toks = append(toks, token{tString, b.String(), i})
			i = j + 1
		case c == '=' && i+1 < len(src) && src[i+1] == '=':
			toks = append(toks, token{tPunct, "==", i})
			i += 2
		case c == '!' && i+1 < len(src) && src[i+1] == '=':
			toks = append(toks, token{tPunct, "!=", i})
			i += 2
		case c == '-' && i+1 < len(src) && src[i+1] == '>':
			toks = append(toks, token{tPunct, "->", i})
			i += 2
		case strings.HasPrefix(src[i:], "→"):
			toks = append(toks, token{tPunct, "->", i})
			i += len("→")
		case strings.IndexByte("(),;{}=", c) >= 0:
			toks = append(toks, token{tPunct, string(c), i})
			i++
		case isWordByte(c):
			j := i
			for j < len(src) && isWordByte(src[j]) && !(src[j] == '-' && j+1 < len(src) && src[j+1] == '>') {
				j++
			}
			toks = append(toks, token{tWord, src[i:j], i})
			i = j
		default:
			return nil, i, fmt.Errorf("unexpected character %q", c)
		}
	}
	toks = append(toks, token{tEOF, "", len(src)})
	return toks, 0, nil
}

type progParser struct {
	src   string
	toks  []token
	i     int
	pos   PosMapper
	path  string
	hosts []string
	errs  diag.ErrorList
	vars  map[string]bool
}

func (p *progParser) peek() token { return p.toks[p.i] }
func (p *progParser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *progParser) errAt(off int, format string, args ...any) {
	p.errs = append(p.errs, &diag.Error{Pos: p.pos(off), Path: p.path, Msg: fmt.Sprintf(format, args...)})
}

// skipToEnd skips to the end of the current statement after an error.
func (p *progParser) skipToEnd() {
	for {
		t := p.peek()
		if t.kind == tEOF || t.kind == tNewline || t.text == ";" || t.text == "}" {
			return
		}
		p.next()
	}
}

// ParseProgram parses program text on its own (not inside a scenario
// file): positions in errors are line and column within src, path names
// the program, and hosts are the host names it may use.
func ParseProgram(src, path string, hosts []string) (*Program, error) {
	return ParseAt(src, path, hosts, nil)
}

// ParseAt parses program text; pos maps offsets in src to file
// positions (nil: line and column within src).
func ParseAt(src, path string, hosts []string, pos PosMapper) (*Program, error) {
	if pos == nil {
		pos = TextPos("program", src)
	}
	toks, off, err := lex(src)
	if err != nil {
		return nil, diag.ErrorList{{Pos: pos(off), Path: path, Msg: err.Error()}}
	}
	p := &progParser{src: src, toks: toks, pos: pos, path: path, hosts: hosts, vars: map[string]bool{}}
	body := p.block(false)
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return &Program{Body: body}, nil
}

// TextPos maps offsets to line:col within src itself.
func TextPos(file, src string) PosMapper {
	return func(off int) diag.Pos {
		line, col := 1, 1
		for i := 0; i < off && i < len(src); i++ {
			if src[i] == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
		return diag.Pos{File: file, Line: line, Col: col}
	}
}

func (p *progParser) block(inBraces bool) []*Stmt {
	var body []*Stmt
	for {
		t := p.peek()
		switch {
		case t.kind == tEOF:
			if inBraces {
				p.errAt(t.off, "block not closed; add a }")
			}
			return body
		case t.kind == tNewline || t.text == ";":
			p.i++
			continue
		case t.text == "}":
			if inBraces {
				p.i++
				return body
			}
			p.errAt(t.off, "} without a matching {")
			p.i++
			continue
		}
		n := len(p.errs)
		st := p.stmt()
		if len(p.errs) > n {
			p.skipToEnd()
			continue
		}
		if st != nil {
			body = append(body, st)
		}
		t = p.peek()
		if t.kind != tEOF && t.kind != tNewline && t.text != ";" && t.text != "}" {
			p.errAt(t.off, "unexpected %q after the statement; separate statements with a newline or ;", t.text)
			p.skipToEnd()
		}
	}
}

func (p *progParser) stmt() *Stmt {
	start := p.peek()
	st := &Stmt{Pos: p.pos(start.off)}
	defer func() { st.Text = strings.TrimSpace(p.src[start.off:p.peek().off]) }()
	if start.kind != tWord {
		p.errAt(start.off, "expected a statement, found %q", start.text)
		return nil
	}
	switch start.text {
	case "sleep":
		p.i++
		st.Kind = StSleep
		if t := p.peek(); t.kind == tWord && t.text == "until" {
			p.i++
			st.Until = true
		}
		st.Dur = p.duration()
		return st
	case "note":
		p.i++
		st.Kind = StNote
		t := p.next()
		if t.kind != tString {
			p.errAt(t.off, "note takes a quoted text: note \"the server crashes now\"")
			return nil
		}
		st.Args = []Arg{{Pos: p.pos(t.off), Text: t.text, Quoted: true}}
		return st
	case "repeat":
		p.i++
		st.Kind = StRepeat
		t := p.next()
		n, err := strconv.Atoi(t.text)
		if t.kind == tWord && t.text == "forever" {
			n, err = -1, nil
		}
		if t.kind != tWord || err != nil || n < -1 || n > MaxRepeat {
			p.errAt(t.off, "repeat needs a count from 0 to %d, or forever: repeat 5 { … }", MaxRepeat)
			return nil
		}
		st.Count = n
		st.Body = p.braces()
		return st
	case "spawn":
		p.i++
		st.Kind = StSpawn
		st.Body = p.braces()
		return st
	case "if", "while":
		p.i++
		st.Kind = StIf
		if start.text == "while" {
			st.Kind = StWhile
		}
		if st.Cond = p.cond(start.text); st.Cond == nil {
			// Skip the block too, so that its } is no second error.
			for t := p.peek(); t.kind != tEOF && t.kind != tNewline && t.text != "{"; t = p.peek() {
				p.i++
			}
			if p.peek().text == "{" {
				p.braces()
			}
			return nil
		}
		st.Body = p.braces()
		if t := p.peek(); st.Kind == StIf && t.kind == tWord && t.text == "else" {
			p.i++
			if t := p.peek(); t.kind == tWord && t.text == "if" {
				n := len(p.errs)
				if e := p.stmt(); e != nil && len(p.errs) == n {
					st.Else = []*Stmt{e}
				}
				return st
			}
			st.Else = p.braces()
		}
		return st
	case "else":
		p.errAt(start.off, "else without an if; write it on the line of the if's closing brace: } else {")
		for t := p.peek(); t.kind != tEOF && t.kind != tNewline && t.text != "{"; t = p.peek() {
			p.i++
		}
		if p.peek().text == "{" {
			p.braces()
		}
		return nil
	case "every":
		p.i++
		st.Kind = StEvery
		st.Dur = p.duration()
		if t := p.next(); t.text != "for" {
			p.errAt(t.off, "every needs a total time: every 20s for 2m { … }")
			return nil
		}
		st.For = p.duration()
		if st.Dur < time.Millisecond {
			p.errAt(start.off, "every needs an interval of at least 1ms")
		}
		st.Body = p.braces()
		return st
	}
	// VAR = VALUE [+|- VALUE]: a counter
	if p.i+2 < len(p.toks) && p.toks[p.i+1].text == "=" && p.toks[p.i+2].kind == tWord &&
		(p.i+3 >= len(p.toks) || p.toks[p.i+3].text != "(") {
		return p.set(st, start)
	}
	// [var =] call(args) [== x | -> y]
	if p.i+1 < len(p.toks) && p.toks[p.i+1].text == "=" {
		st.Var = start.text
		if !IsIdent(st.Var) {
			p.errAt(start.off, "%q is not a variable name; use letters, digits and _", st.Var)
			return nil
		}
		p.i += 2
	}
	name := p.next()
	if name.kind != tWord {
		p.errAt(name.off, "expected a call, found %q", name.text)
		return nil
	}
	spec, ok := Calls[name.text]
	if !ok {
		p.errAt(name.off, "unknown call %q%s", name.text, diag.DidYouMean(name.text, sortedKeys(Calls)))
		return nil
	}
	st.Kind, st.Call = StCall, name.text
	if t := p.next(); t.text != "(" {
		p.errAt(t.off, "expected ( after %s; usage: %s", name.text, spec.Usage)
		return nil
	}
	for {
		t := p.next()
		if t.text == ")" && len(st.Args) == 0 {
			break
		}
		if t.kind != tWord && t.kind != tString {
			p.errAt(t.off, "expected an argument, found %q; usage: %s", t.text, spec.Usage)
			return nil
		}
		st.Args = append(st.Args, Arg{Pos: p.pos(t.off), Text: t.text, Quoted: t.kind == tString})
		t = p.next()
		if t.text == ")" {
			break
		}
		if t.text != "," {
			p.errAt(t.off, "expected , or ) in the arguments; usage: %s", spec.Usage)
			return nil
		}
	}
	if len(st.Args) < spec.Min || len(st.Args) > spec.Max {
		p.errAt(name.off, "%s takes %s; usage: %s", name.text, argCount(spec), spec.Usage)
		return nil
	}
	if t := p.peek(); t.text == "==" || t.text == "->" {
		p.i++
		v := p.next()
		ce := &CallExpect{Pos: p.pos(t.off), Size: -1, Text: t.text + " " + v.text}
		switch {
		case t.text == "==" && v.kind == tString:
			s := v.text
			ce.Data = &s
			ce.Text = fmt.Sprintf("== %q", s)
		case t.text == "==" && v.kind == tWord:
			n, err := ParseSize(v.text)
			if err != nil {
				p.errAt(v.off, "expected \"text\" or a size after ==: %v", err)
				return nil
			}
			ce.Size = n
		case t.text == "->" && v.kind == tWord:
			name := strings.ToUpper(v.text)
			if name == "0" {
				name = "OK"
			}
			if _, ok := ErrnoByName[name]; !ok && name != "OK" {
				p.errAt(v.off, "unknown result %q%s", v.text, diag.DidYouMean(v.text, ErrnoNames()))
				return nil
			}
			ce.Errno = name
		default:
			p.errAt(v.off, "expected a result after %s", t.text)
			return nil
		}
		if ce.Data != nil || ce.Size >= 0 {
			switch {
			case st.Call == "recv" || st.Call == "recvfrom":
			case (st.Call == "getsockopt" || st.Call == "ioctl") && ce.Size >= 0:
			case (st.Call == "getsockname" || st.Call == "getpeername") && ce.Data != nil:
			default:
				p.errAt(t.off, "== compares received data after recv or recvfrom, a number after getsockopt or ioctl, a quoted \"addr:port\" after getsockname or getpeername (for other calls write -> ERRNO)")
				return nil
			}
		}
		st.Expect = ce
	}
	p.check(st, spec)
	if st.Var != "" {
		p.vars[st.Var] = true
	}
	return st
}

// set reads `VAR = VALUE [+|- VALUE]`, where each VALUE is a whole
// number or a variable already assigned.
func (p *progParser) set(st *Stmt, start token) *Stmt {
	st.Kind, st.Var = StSet, start.text
	if !IsIdent(st.Var) {
		p.errAt(start.off, "%q is not a variable name; use letters, digits and _", st.Var)
		return nil
	}
	p.i += 2
	operand := func() bool {
		t := p.next()
		if t.kind != tWord {
			p.errAt(t.off, "expected a number or a variable, found %q", t.text)
			return false
		}
		if _, err := strconv.Atoi(t.text); err != nil && !p.vars[t.text] {
			p.errAt(t.off, "%q is neither a whole number nor a variable assigned before%s", t.text, diag.DidYouMean(t.text, sortedKeys(p.vars)))
			return false
		}
		st.Args = append(st.Args, Arg{Pos: p.pos(t.off), Text: t.text})
		return true
	}
	if !operand() {
		return nil
	}
	if t := p.peek(); t.kind == tWord && (t.text == "+" || t.text == "-") {
		p.i++
		st.Call = t.text
		if !operand() {
			return nil
		}
	}
	p.vars[st.Var] = true
	return st
}

// cond reads an if's or while's condition: CALL -> RESULT, or
// VALUE ==|!= VALUE.
func (p *progParser) cond(kw string) *Cond {
	start := p.peek()
	c := &Cond{Pos: p.pos(start.off)}
	defer func() { c.Text = strings.TrimSpace(p.src[start.off:p.peek().off]) }()
	if start.kind != tWord {
		p.errAt(start.off, "%s needs a condition: %s recv(s, 1) -> ECONNRESET { … }, or %s n != 0 { … }", kw, kw, kw)
		return nil
	}
	isCall := p.i+1 < len(p.toks) && (p.toks[p.i+1].text == "(" || p.toks[p.i+1].text == "=" && p.i+3 < len(p.toks) && p.toks[p.i+3].text == "(")
	if isCall {
		n := len(p.errs)
		st := p.stmt()
		if st == nil || len(p.errs) > n {
			return nil
		}
		if st.Kind != StCall || Calls[st.Call].App {
			p.errAt(start.off, "%s tests a socket call's result, not %s", kw, st.Call)
			return nil
		}
		if st.Expect == nil || st.Expect.Errno == "" {
			p.errAt(p.peek().off, "%s tests the call's result: %s; write -> OK (success) or -> ERRNO after the call", kw, st.Text)
			return nil
		}
		c.Call, c.Errno = st, st.Expect.Errno
		st.Expect, st.Test = nil, true
		return c
	}
	value := func(t token) (Arg, bool) {
		a := Arg{Pos: p.pos(t.off), Text: t.text}
		if t.kind != tWord {
			p.errAt(t.off, "expected a variable or a number, found %q", t.text)
			return a, false
		}
		if _, err := strconv.Atoi(t.text); err == nil {
			return a, true
		}
		if !p.vars[t.text] {
			p.errAt(t.off, "unknown variable %q%s; assign it first, e.g. n = recv(c, any)", t.text, diag.DidYouMean(t.text, sortedKeys(p.vars)))
			return a, false
		}
		return a, true
	}
	var ok bool
	if c.A, ok = value(p.next()); !ok {
		return nil
	}
	op := p.next()
	if op.text != "==" && op.text != "!=" {
		p.errAt(op.off, "expected == or != in the condition, found %q: %s fd == l { … }", op.text, kw)
		return nil
	}
	c.Not = op.text == "!="
	if c.B, ok = value(p.next()); !ok {
		return nil
	}
	return c
}

func argCount(s CallSpec) string {
	switch {
	case s.Min == s.Max && s.Min == 1:
		return "1 argument"
	case s.Min == s.Max:
		return fmt.Sprintf("%d arguments", s.Min)
	}
	return fmt.Sprintf("%d to %d arguments", s.Min, s.Max)
}

func IsIdent(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func (p *progParser) duration() time.Duration {
	t := p.next()
	d, err := ParseDuration(t.text)
	if t.kind != tWord || err != nil {
		p.errAt(t.off, "expected a duration (e.g. 10ms, 1.5s), found %q", t.text)
		return 0
	}
	return d
}

func (p *progParser) braces() []*Stmt {
	t := p.next()
	if t.text != "{" {
		p.errAt(t.off, "expected { to open the loop body")
		return nil
	}
	return p.block(true)
}

// argErr reports a problem with argument i of st.
func (p *progParser) argErr(a Arg, format string, args ...any) {
	p.errs = append(p.errs, &diag.Error{Pos: a.Pos, Path: p.path, Msg: fmt.Sprintf(format, args...)})
}

// check validates the arguments of a call statement.
func (p *progParser) check(st *Stmt, spec CallSpec) {
	a := st.Args
	fdArg := func(i int) {
		if a[i].Quoted || !p.vars[a[i].Text] {
			known := sortedKeys(p.vars)
			msg := "assign it first, e.g. s = socket(tcp)"
			if c := diag.Suggest(a[i].Text, known); c != "" {
				msg = fmt.Sprintf("did you mean %q?", c)
			}
			p.argErr(a[i], "%s: unknown socket %q; %s", st.Call, a[i].Text, msg)
		}
	}
	choice := func(i int, valid ...string) {
		for _, v := range valid {
			if a[i].Text == v {
				return
			}
		}
		hint := "" // the valid ones are listed already
		if c := diag.Suggest(a[i].Text, valid); c != "" {
			hint = fmt.Sprintf("; did you mean %q?", c)
		}
		p.argErr(a[i], "%s: %q is not one of %s%s", st.Call, a[i].Text, strings.Join(valid, ", "), hint)
	}
	addr := func(i int, needHost bool) {
		if _, err := ParseEndpoint(a[i].Text, p.hosts, needHost); err != nil {
			p.argErr(a[i], "%s: %v", st.Call, err)
		}
	}
	size := func(i int) {
		if a[i].Quoted {
			return
		}
		if _, err := ParseSize(a[i].Text); err != nil {
			p.argErr(a[i], "%s: %v", st.Call, err)
		}
	}
	num := func(i int, what string) {
		if n, err := strconv.Atoi(a[i].Text); err != nil || n < 0 {
			p.argErr(a[i], "%s: %s must be a whole number, not %q", st.Call, what, a[i].Text)
		}
	}
	dur := func(i int) {
		if _, err := ParseDuration(a[i].Text); err != nil {
			p.argErr(a[i], "%s: %v", st.Call, err)
		}
	}
	flags := func(i int, valid ...string) {
		for _, f := range strings.Split(a[i].Text, "+") {
			if !slices.Contains(valid, f) {
				p.argErr(a[i], "%s: unknown flag %q in %q; use %s, joined by +%s", st.Call, f, a[i].Text, strings.Join(valid, ", "), diag.DidYouMean(f, valid))
				return
			}
		}
	}
	wantsVar := st.Call == "socket" || st.Call == "accept" || st.Call == "epoll_create" || st.Call == "epoll_wait" || st.Call == "recv" || st.Call == "poll" || st.Call == "getsockopt" || st.Call == "ioctl"
	if st.Var != "" && !wantsVar {
		p.errs = append(p.errs, &diag.Error{Pos: st.Pos, Path: p.path, Msg: fmt.Sprintf("%s returns nothing to keep; assign socket(), accept(), epoll_create(), epoll_wait() (the ready descriptor), recv() (the byte count), getsockopt() (the value) and ioctl() (the count)", st.Call)})
	}
	switch st.Call {
	case "socket":
		choice(0, "tcp", "udp", "icmp", "tcp6", "udp6", "icmp6")
		if st.Var == "" {
			p.errs = append(p.errs, &diag.Error{Pos: st.Pos, Path: p.path, Msg: "socket() needs a name: s = socket(tcp)"})
		}
	case "bind":
		fdArg(0)
		addr(1, false)
	case "listen":
		fdArg(0)
		if len(a) > 1 {
			num(1, "the backlog")
		}
	case "accept", "close":
		fdArg(0)
	case "connect":
		fdArg(0)
		addr(1, true)
	case "send":
		fdArg(0)
		size(1)
		if len(a) > 2 {
			flags(2, SendFlagNames...)
		}
	case "sendto":
		fdArg(0)
		size(1)
		addr(2, true)
	case "recv", "recvfrom":
		fdArg(0)
		if t := a[1].Text; t != "all" && t != "any" {
			size(1)
		}
		if len(a) > 2 {
			flags(2, RecvFlagNames...)
		}
	case "getsockopt":
		fdArg(0)
		if a[1].Text == "congestion" || a[1].Text == "recovery" {
			p.argErr(a[1], "getsockopt: %s is a name, not a number; the trace and ss() show it", a[1].Text)
		} else {
			choice(1, sockOptNames...)
		}
	case "getsockname", "getpeername":
		fdArg(0)
	case "ioctl":
		fdArg(0)
		choice(1, "siocinq", "siocatmark", "siocoutq", "siocoutqnsd")
	case "shutdown":
		fdArg(0)
		choice(1, "rd", "wr", "rdwr")
	case "setsockopt":
		fdArg(0)
		choice(1, sockOptNames...)
		if a[1].Text == "congestion" {
			// TCP_CONGESTION takes a name, not a number.
			choice(2, cc.Names()...)
		} else if a[1].Text == "recovery" {
			choice(2, tcp.RecoveryNames...)
		} else {
			num(2, "the value")
		}
	case "nonblock":
		fdArg(0)
		if len(a) > 1 {
			choice(1, "0", "1")
		}
	case "poll":
		// one descriptor, or a set: a+b+c
		for off, part := 0, ""; off <= len(a[0].Text); off += len(part) + 1 {
			part, _, _ = strings.Cut(a[0].Text[off:], "+")
			if part == "" || !p.vars[part] {
				p.argErr(a[0], "poll: unknown socket %q in %q; name assigned descriptors, joined by + for a set: poll(a+b, in)%s", part, a[0].Text, diag.DidYouMean(part, sortedKeys(p.vars)))
				break
			}
		}
		choice(1, "in", "out", "inout", "rdhup", "in+rdhup", "pri", "in+pri")
		if len(a) > 2 {
			dur(2)
		}
	case "epoll_create":
		if st.Var == "" {
			p.errs = append(p.errs, &diag.Error{Pos: st.Pos, Path: p.path, Msg: "epoll_create() needs a name: ep = epoll_create()"})
		}
	case "epoll_ctl":
		fdArg(0)
		choice(1, "add", "mod", "del")
		fdArg(2)
		if len(a) > 3 {
			choice(3, "in", "out", "inout", "in+et", "in+oneshot")
		} else if a[1].Text != "del" {
			p.argErr(a[1], "epoll_ctl: %s needs the events: epoll_ctl(ep, %s, fd, in)", a[1].Text, a[1].Text)
		}
	case "epoll_wait":
		fdArg(0)
		if len(a) > 1 {
			dur(1)
		}
	case "echo_server", "discard_server", "udp_echo", "http_server", "heartbeat_server", "blocking_server", "thread_server", "epoll_server":
		addr(0, false)
	case "bulk_send":
		addr(0, true)
		size(1)
	case "bulk_recv":
		addr(0, false)
		size(1)
	case "ping":
		if !slices.Contains(p.hosts, a[0].Text) {
			if _, err := netip.ParseAddr(a[0].Text); err != nil {
				p.argErr(a[0], "ping: unknown host %q%s", a[0].Text, diag.DidYouMean(a[0].Text, p.hosts))
			}
		}
		if len(a) > 1 {
			num(1, "the count")
		}
		if len(a) > 2 {
			dur(2)
		}
	case "http_client":
		addr(0, true)
		num(1, "the number of requests")
		if len(a) > 2 {
			choice(2, "keepalive", "close")
		}
		if len(a) > 3 {
			choice(3, "1.0", "1.1")
		}
	case "heartbeat_client":
		addr(0, true)
		dur(1)
		if len(a) > 2 {
			dur(2)
		}
		if len(a) > 3 {
			dur(3)
		}
	}
	if spec.App && st.Var != "" {
		p.errs = append(p.errs, &diag.Error{Pos: st.Pos, Path: p.path, Msg: fmt.Sprintf("%s is an app and returns nothing to assign", st.Call)})
	}
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
