package pkt

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxDepth bounds nested expressions, so that a hostile script cannot
// exhaust the stack.
const maxDepth = 64

// Parse reads a script. file names it in errors.
func Parse(file, src string) (*Script, error) {
	toks, err := lex(file, src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, s: &Script{File: file}}
	if err := p.script(); err != nil {
		return nil, err
	}
	return p.s, nil
}

type parser struct {
	toks  []token
	i     int
	s     *Script
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) errf(t token, format string, args ...any) error {
	return &Error{t.pos, fmt.Sprintf(format, args...)}
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of file"
	case tString:
		return strconv.Quote(t.text)
	case tBack:
		return "a shell command"
	case tCode:
		return "a code block"
	}
	return strconv.Quote(t.text)
}

func (p *parser) isPunct(s string) bool {
	t := p.peek()
	return t.kind == tPunct && t.text == s
}

func (p *parser) isWord(s string) bool {
	t := p.peek()
	return t.kind == tWord && t.text == s
}

func (p *parser) expectPunct(s, what string) error {
	t := p.next()
	if t.kind != tPunct || t.text != s {
		return p.errf(t, "expected %q %s, found %s", s, what, describe(t))
	}
	return nil
}

func (p *parser) uint32(what string) (uint32, error) {
	t := p.next()
	if t.kind != tInt {
		return 0, p.errf(t, "expected %s (a number), found %s", what, describe(t))
	}
	v, err := strconv.ParseUint(t.text, 0, 32)
	if err != nil {
		return 0, p.errf(t, "%s %s is out of range (0 to 4294967295)", what, t.text)
	}
	return uint32(v), nil
}

func (p *parser) script() error {
	for p.peek().kind == tOption {
		t := p.next()
		name, val, _ := strings.Cut(t.text, "=")
		if name == "" {
			return p.errf(t, "empty option name after --")
		}
		p.s.Options = append(p.s.Options, Option{Pos: t.pos, Name: name, Value: val})
	}
	if t := p.peek(); t.kind == tBack {
		p.next()
		p.s.Init = &Command{Pos: t.pos, Text: t.text}
	}
	for p.peek().kind != tEOF {
		t := p.peek()
		if t.kind == tBack {
			// A command with no time after the events is the cleanup.
			p.next()
			if p.peek().kind != tEOF {
				return p.errf(t, "a shell command needs a time (e.g. +0 `...`) unless it is the first or last line")
			}
			p.s.Cleanup = &Command{Pos: t.pos, Text: t.text}
			break
		}
		if !t.nl {
			return p.errf(t, "unexpected %s: each event starts on a new line", describe(t))
		}
		if err := p.event(); err != nil {
			return err
		}
	}
	if len(p.s.Events) == 0 {
		return p.errf(p.peek(), "the script has no events")
	}
	return nil
}

func (p *parser) duration(t token) (time.Duration, error) {
	if t.kind != tInt && t.kind != tFloat {
		return 0, p.errf(t, "expected a time in seconds, found %s", describe(t))
	}
	f, err := strconv.ParseFloat(t.text, 64)
	if err != nil || f > 1e6 {
		return 0, p.errf(t, "time %s is out of range (at most 1000000 s)", t.text)
	}
	return time.Duration(math.Round(f*1e6)) * time.Microsecond, nil
}

func (p *parser) event() error {
	ev := Event{Pos: p.peek().pos}
	t := p.next()
	switch {
	case t.kind == tPunct && t.text == "*":
		ev.Time.Kind = TimeAny
	case t.kind == tPunct && t.text == "+":
		d, err := p.duration(p.next())
		if err != nil {
			return err
		}
		ev.Time = Time{Kind: TimeRelative, Start: d}
	case t.kind == tInt || t.kind == tFloat:
		d, err := p.duration(t)
		if err != nil {
			return err
		}
		ev.Time = Time{Kind: TimeAbsolute, Start: d}
	default:
		return p.errf(t, "expected an event time (0, +0.1, * or a~b), found %s", describe(t))
	}
	if p.isPunct("~") {
		p.next()
		rel := p.isPunct("+")
		if rel {
			p.next()
		}
		if rel != (ev.Time.Kind == TimeRelative) || ev.Time.Kind == TimeAny {
			return p.errf(p.peek(), "a time range is a~b or +a~+b")
		}
		d, err := p.duration(p.next())
		if err != nil {
			return err
		}
		if d < ev.Time.Start {
			return p.errf(t, "time range ends before it starts")
		}
		ev.Time.Max = d
		ev.Time.RangeRelative = rel
		ev.Time.Kind = TimeRange
	}
	if p.peek().kind == tEllipsis {
		p.next()
		d, err := p.duration(p.next())
		if err != nil {
			return err
		}
		ev.Time.Blocking, ev.Time.End = true, d
	}
	a := p.peek()
	switch {
	case a.kind == tPunct && (a.text == "<" || a.text == ">"):
		pk, err := p.packet()
		if err != nil {
			return err
		}
		ev.Packet = pk
	case a.kind == tBack:
		p.next()
		ev.Command = &Command{Pos: a.pos, Text: a.text}
	case a.kind == tCode:
		p.next()
		ev.Code = &Code{Pos: a.pos, Text: a.text}
	case a.kind == tWord:
		c, err := p.call()
		if err != nil {
			return err
		}
		ev.Call = c
	default:
		return p.errf(a, "expected a packet (< or >), a system call, a `command` or a %%{ code }%% block after the time, found %s", describe(a))
	}
	if ev.Time.Blocking && ev.Call == nil {
		return p.errf(a, "only a system call can block (...T)")
	}
	p.s.Events = append(p.s.Events, ev)
	return nil
}

var ecnMarks = map[string]bool{"noecn": true, "ect0": true, "ect1": true, "ce": true, "ect01": true}

// ipInfo reads a packet's IP header fields in brackets, as packetdrill
// writes them: an ECN mark, "flowlabel 0xN", or both ("ect0, flowlabel
// 0x1").
func (p *parser) ipInfo(pk *Packet) error {
	open := p.next()
	closer := map[string]string{"[": "]", "(": ")"}[open.text]
	t := p.peek()
	if t.kind == tWord && ecnMarks[t.text] {
		p.next()
		pk.ECN = t.text
		if !p.isPunct(",") {
			return p.expectPunct(closer, "after the ECN mark")
		}
		p.next()
		t = p.peek()
	}
	if t.kind != tWord || t.text != "flowlabel" {
		if pk.ECN != "" {
			return p.errf(t, "expected flowlabel after the ECN mark and comma, found %s", describe(t))
		}
		return p.errf(t, "expected an ECN mark (noecn, ect0, ect1, ce, ect01) or flowlabel 0xN, found %s", describe(t))
	}
	p.next()
	v, err := p.uint32("flow label")
	if err != nil {
		return err
	}
	if v >= 1<<20 {
		return p.errf(p.toks[p.i-1], "flow label %s does not fit in 20 bits (at most 0xfffff)", p.toks[p.i-1].text)
	}
	pk.FlowLabel, pk.HasFlowLabel = v, true
	return p.expectPunct(closer, "after the flow label")
}

func (p *parser) packet() (*Packet, error) {
	d := p.next()
	pk := &Packet{In: d.text == "<", Proto: "tcp"}
	if p.isPunct("[") || p.isPunct("(") {
		if err := p.ipInfo(pk); err != nil {
			return nil, err
		}
	}
	switch {
	case p.isWord("udp"):
		p.next()
		pk.Proto = "udp"
		if err := p.expectPunct("(", "before the UDP payload length"); err != nil {
			return nil, err
		}
		n, err := p.uint32("UDP payload length")
		if err != nil {
			return nil, err
		}
		if n > 65507 {
			return nil, p.errf(p.toks[p.i-1], "UDP payload length %d is more than 65507", n)
		}
		pk.UDPLen = int(n)
		return pk, p.expectPunct(")", "after the UDP payload length")
	case p.isWord("icmp"):
		p.next()
		pk.Proto = "icmp"
		t := p.next()
		if t.kind != tWord {
			return nil, p.errf(t, "expected an ICMP type (e.g. unreachable), found %s", describe(t))
		}
		pk.ICMPType = t.text
		if p.peek().kind == tWord && !p.isWord("mtu") && !p.isWord("id") && !p.peek().nl {
			pk.ICMPCode = p.next().text
		}
		if p.isWord("mtu") {
			p.next()
			v, err := p.uint32("MTU")
			if err != nil {
				return nil, err
			}
			if v > 65535 {
				return nil, p.errf(p.toks[p.i-1], "ICMP MTU %d is out of 16-bit range", v)
			}
			pk.ICMPMTU = int(v)
		}
		if p.isWord("id") {
			p.next()
			v, err := p.uint32("echo id")
			if err != nil {
				return nil, err
			}
			if v > 65535 {
				return nil, p.errf(p.toks[p.i-1], "ICMP echo id %d is out of 16-bit range (0 to 65535)", v)
			}
			pk.ICMPID, pk.HasICMPID = int(v), true
		}
		pk.Echoed = "tcp"
		if p.isPunct("[") {
			p.next()
			if err := p.icmpEchoed(pk); err != nil {
				return nil, err
			}
			if err := p.expectPunct("]", "after the packet the ICMP message quotes ([udp (N)] or [seq:end(len)])"); err != nil {
				return nil, err
			}
		}
		return pk, nil
	}
	// TCP flags: a word of flag letters, optionally followed by '.', or '.' alone.
	t := p.peek()
	switch {
	case t.kind == tWord:
		p.next()
		for _, c := range t.text {
			if !strings.ContainsRune("FSRPEWU", c) {
				return nil, p.errf(t, "unknown TCP flag %q in %q (flags are F S R P E W U and '.' for ACK)", c, t.text)
			}
		}
		pk.Flags = t.text
		if p.isPunct(".") {
			p.next()
			pk.AckFlag = true
		}
	case t.kind == tPunct && t.text == ".":
		p.next()
		pk.AckFlag = true
	case t.kind == tPunct && t.text == "-":
		p.next()
	default:
		return nil, p.errf(t, "expected TCP flags (e.g. S, S., P., .) or udp/icmp, found %s", describe(t))
	}
	var err error
	if pk.Seq, err = p.uint32("start sequence number"); err != nil {
		return nil, err
	}
	if err := p.expectPunct(":", "between the start and end sequence numbers (seq:end(len))"); err != nil {
		return nil, err
	}
	if pk.End, err = p.uint32("end sequence number"); err != nil {
		return nil, err
	}
	if err := p.expectPunct("(", "before the payload length (seq:end(len))"); err != nil {
		return nil, err
	}
	lt := p.peek()
	n, err := p.uint32("payload length")
	if err != nil {
		return nil, err
	}
	if err := p.expectPunct(")", "after the payload length"); err != nil {
		return nil, err
	}
	if n > 65495 {
		return nil, p.errf(lt, "payload length %d does not fit an IPv4 packet", n)
	}
	if pk.End-pk.Seq != n {
		return nil, p.errf(lt, "payload length %d does not match %d:%d (end - start = %d)", n, pk.Seq, pk.End, pk.End-pk.Seq)
	}
	pk.Len = int(n)
	for {
		switch {
		case p.isWord("ack") && !pk.HasAck:
			p.next()
			if pk.Ack, err = p.uint32("ack number"); err != nil {
				return nil, err
			}
			pk.HasAck = true
			continue
		case p.isWord("win") && !pk.HasWin:
			p.next()
			if pk.Win, err = p.uint32("window"); err != nil {
				return nil, err
			}
			if pk.Win > 65535 {
				return nil, p.errf(p.toks[p.i-1], "window %d is more than 65535 (the field is 16 bits; scaling applies)", pk.Win)
			}
			pk.HasWin = true
			continue
		case p.isWord("urg") && !pk.HasUrg:
			p.next()
			if pk.Urg, err = p.uint32("urgent pointer"); err != nil {
				return nil, err
			}
			pk.HasUrg = true
			continue
		}
		break
	}
	if p.isPunct("<") {
		if err := p.tcpOptions(pk); err != nil {
			return nil, err
		}
	}
	return pk, nil
}

// maxOptionBytes is the room for options in a TCP header.
const maxOptionBytes = 40

// icmpEchoed reads what an ICMP error quotes, inside its [ ]: udp (N)
// or a TCP seq:end(len).
func (p *parser) icmpEchoed(pk *Packet) error {
	if p.isWord("udp") {
		p.next()
		if err := p.expectPunct("(", "before the quoted UDP payload length"); err != nil {
			return err
		}
		n, err := p.uint32("quoted UDP payload length")
		if err != nil {
			return err
		}
		if n > 65507 {
			return p.errf(p.toks[p.i-1], "quoted UDP payload length %d is more than 65507", n)
		}
		pk.Echoed, pk.EchoLen = "udp", int(n)
		return p.expectPunct(")", "after the quoted UDP payload length")
	}
	t := p.peek()
	if t.kind != tInt {
		return p.errf(t, "expected what the ICMP message quotes, udp (N) or a TCP seq:end(len), found %s", describe(t))
	}
	start, err := p.uint32("quoted start sequence number")
	if err != nil {
		return err
	}
	if err := p.expectPunct(":", "between the quoted start and end sequence numbers (seq:end(len))"); err != nil {
		return err
	}
	end, err := p.uint32("quoted end sequence number")
	if err != nil {
		return err
	}
	if err := p.expectPunct("(", "before the quoted payload length (seq:end(len))"); err != nil {
		return err
	}
	lt := p.peek()
	n, err := p.uint32("quoted payload length")
	if err != nil {
		return err
	}
	if end-start != n {
		return p.errf(lt, "quoted payload length %d does not match %d:%d (end - start = %d)", n, start, end, end-start)
	}
	pk.Echoed, pk.EchoSeq, pk.EchoLen = "tcp", start, int(n)
	return p.expectPunct(")", "after the quoted payload length")
}

func (p *parser) tcpOptions(pk *Packet) error {
	open := p.next()
	pk.HasOptions = true
	if p.peek().kind == tEllipsis {
		p.next()
		pk.AnyOptions = true
		return p.expectPunct(">", "after <...")
	}
	size := 0
	for {
		t := p.next()
		if t.kind != tWord {
			return p.errf(t, "expected a TCP option (nop, eol, mss, wscale, sackOK, sack, TS, FO, md5), found %s", describe(t))
		}
		o := TCPOption{Pos: t.pos, Kind: t.text}
		var err error
		switch t.text {
		case "nop", "eol":
			size++
		case "mss":
			if o.Value, err = p.uint32("MSS"); err != nil {
				return err
			}
			if o.Value > 65535 {
				return p.errf(t, "mss %d is more than 65535", o.Value)
			}
			size += 4
		case "wscale":
			if o.Value, err = p.uint32("window scale"); err != nil {
				return err
			}
			if o.Value > 255 {
				return p.errf(t, "wscale %d does not fit a byte", o.Value)
			}
			size += 3
		case "sackOK":
			size += 2
		case "sack":
			for p.peek().kind == tInt {
				a, _ := p.uint32("SACK block start")
				if err := p.expectPunct(":", "in a SACK block (start:end)"); err != nil {
					return err
				}
				b, err := p.uint32("SACK block end")
				if err != nil {
					return err
				}
				o.Blocks = append(o.Blocks, [2]uint32{a, b})
			}
			if len(o.Blocks) == 0 || len(o.Blocks) > 4 {
				return p.errf(t, "sack takes 1 to 4 blocks start:end, found %d", len(o.Blocks))
			}
			size += 2 + 8*len(o.Blocks)
		case "TS":
			if !p.isWord("val") {
				return p.errf(p.peek(), "expected \"val\" after TS (TS val N ecr N)")
			}
			p.next()
			if o.TSVal, err = p.uint32("TS value"); err != nil {
				return err
			}
			if !p.isWord("ecr") {
				return p.errf(p.peek(), "expected \"ecr\" after the TS value (TS val N ecr N)")
			}
			p.next()
			if o.TSEcr, err = p.uint32("TS echo reply"); err != nil {
				return err
			}
			size += 10
		case "FO", "FOEXP", "md5":
			if q := p.peek(); (q.kind == tWord || q.kind == tInt) && !p.isPunct(",") {
				o.Cookie = p.next().text
			}
			size += 2 + len(o.Cookie)/2
		default:
			return p.errf(t, "unknown TCP option %q (nop, eol, mss, wscale, sackOK, sack, TS, FO, FOEXP, md5)", t.text)
		}
		pk.Options = append(pk.Options, o)
		if size > maxOptionBytes {
			return p.errf(open, "TCP options take %d bytes, more than the %d a header holds", size, maxOptionBytes)
		}
		if p.isPunct(",") {
			p.next()
			continue
		}
		return p.expectPunct(">", "or ',' after a TCP option")
	}
}

func (p *parser) call() (*Call, error) {
	name := p.next()
	c := &Call{Name: name.text}
	if err := p.expectPunct("(", "after the system call name "+name.text); err != nil {
		return nil, err
	}
	args, err := p.exprList(")")
	if err != nil {
		return nil, err
	}
	c.Args = args
	if err := p.expectPunct("=", "and the expected result after "+name.text+"(...)"); err != nil {
		return nil, err
	}
	if c.Result, err = p.expr(); err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind == tWord && !t.nl {
		p.next()
		c.Errno = t.text
	}
	if p.isPunct("(") && !p.peek().nl {
		open := p.next()
		var words []string
		for !p.isPunct(")") {
			t := p.next()
			if t.kind == tEOF {
				return nil, p.errf(open, "unterminated note: a ')' is missing")
			}
			words = append(words, t.text)
		}
		p.next()
		c.Note = strings.Join(words, " ")
	}
	return c, nil
}

func (p *parser) exprList(closer string) ([]Expr, error) {
	var list []Expr
	if p.isPunct(closer) {
		p.next()
		return list, nil
	}
	for {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		list = append(list, e)
		if p.isPunct(",") {
			p.next()
			continue
		}
		return list, p.expectPunct(closer, "or ',' in a list")
	}
}

func (p *parser) expr() (Expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return Expr{}, p.errf(p.peek(), "expression nested more than %d deep", maxDepth)
	}
	e, err := p.unary()
	if err != nil || !p.isPunct("|") {
		return e, err
	}
	or := Expr{Pos: e.Pos, Kind: ExprOr, List: []Expr{e}}
	for p.isPunct("|") {
		p.next()
		e, err := p.unary()
		if err != nil {
			return Expr{}, err
		}
		or.List = append(or.List, e)
	}
	return or, nil
}

func (p *parser) unary() (Expr, error) {
	t := p.next()
	e := Expr{Pos: t.pos}
	switch {
	case t.kind == tEllipsis:
		e.Kind = ExprEllipsis
	case t.kind == tInt:
		v, err := strconv.ParseInt(t.text, 0, 64)
		if err != nil {
			u, uerr := strconv.ParseUint(t.text, 0, 64)
			if uerr != nil {
				return e, p.errf(t, "number %s is out of range", t.text)
			}
			v = int64(u)
		}
		e.Kind, e.Int = ExprInt, v
	case t.kind == tPunct && t.text == "-":
		n := p.next()
		if n.kind != tInt {
			return e, p.errf(n, "expected a number after '-', found %s", describe(n))
		}
		v, err := strconv.ParseInt(n.text, 0, 64)
		if err != nil {
			return e, p.errf(n, "number -%s is out of range", n.text)
		}
		e.Kind, e.Int = ExprInt, -v
	case t.kind == tString:
		e.Kind, e.Word = ExprString, t.text
		if p.peek().kind == tEllipsis {
			p.next()
			e.Ellipsis = true
		}
	case t.kind == tWord:
		e.Kind, e.Word = ExprWord, t.text
		if p.isPunct("(") {
			p.next()
			args, err := p.exprList(")")
			if err != nil {
				return e, err
			}
			e.Kind, e.List = ExprCall, args
		}
		if p.isPunct("=") {
			p.next()
			v, err := p.expr()
			if err != nil {
				return e, err
			}
			// msg_iov(1)=[...] keeps the call in List[1:]; Name=value is List[0].
			e.List = append([]Expr{v}, e.List...)
			e.Kind = ExprAssign
		}
	case t.kind == tPunct && t.text == "[":
		list, err := p.exprList("]")
		if err != nil {
			return e, err
		}
		e.Kind, e.List = ExprArray, list
	case t.kind == tPunct && t.text == "{":
		list, err := p.exprList("}")
		if err != nil {
			return e, err
		}
		e.Kind, e.List = ExprStruct, list
	default:
		return e, p.errf(t, "expected an expression (a number, name, \"string\", [...], {...} or ...), found %s", describe(t))
	}
	return e, nil
}
