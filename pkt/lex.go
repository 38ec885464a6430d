package pkt

import (
	"fmt"
	"strings"
)

// Pos is a place in a script, 1-based.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Error is a malformed script: where, and what is wrong.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

type tokKind uint8

const (
	tEOF      tokKind = iota
	tInt              // 12, 0x1f
	tFloat            // 0.1, .1
	tWord             // socket, SOCK_STREAM, S, ack
	tString           // "..."
	tBack             // `command`
	tCode             // %{ code }%
	tEllipsis         // ...
	tOption           // --name=value at the start of the script
	tPunct            // one of + - * ~ < > : ( ) [ ] { } , = | . /
)

type token struct {
	kind tokKind
	text string // the token as written (unquoted for strings, backticks, code)
	pos  Pos
	nl   bool // the first token on its line
}

// maxTokens bounds the work spent on one script.
const maxTokens = 1 << 20

func lex(file, src string) ([]token, error) {
	var toks []token
	line, col := 1, 1
	i := 0
	nl := true
	adv := func(n int) {
		for k := 0; k < n && i < len(src); k++ {
			if src[i] == '\n' {
				line++
				col = 1
			} else {
				col++
			}
			i++
		}
	}
	for i < len(src) {
		if len(toks) > maxTokens {
			return nil, &Error{Pos{file, line, col}, "script too long"}
		}
		c := src[i]
		pos := Pos{file, line, col}
		switch {
		case c == '\n':
			nl = true
			adv(1)
			continue
		case c == ' ' || c == '\t' || c == '\r':
			adv(1)
			continue
		case strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				adv(1)
			}
			continue
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, &Error{pos, "unterminated /* comment"}
			}
			adv(end + 4)
			continue
		}
		t := token{pos: pos, nl: nl}
		nl = false
		switch {
		case c == '"':
			j := i + 1
			for j < len(src) && src[j] != '"' && src[j] != '\n' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(src) || src[j] != '"' {
				return nil, &Error{pos, "unterminated string (a \" is missing on this line)"}
			}
			t.kind, t.text = tString, src[i+1:j]
			adv(j + 1 - i)
		case c == '`':
			end := strings.IndexByte(src[i+1:], '`')
			if end < 0 {
				return nil, &Error{pos, "unterminated shell command (a closing ` is missing)"}
			}
			t.kind, t.text = tBack, src[i+1:i+1+end]
			adv(end + 2)
		case strings.HasPrefix(src[i:], "%{"):
			end := strings.Index(src[i+2:], "}%")
			if end < 0 {
				return nil, &Error{pos, "unterminated code block (a closing }% is missing)"}
			}
			t.kind, t.text = tCode, strings.TrimSpace(src[i+2:i+2+end])
			adv(end + 4)
		case strings.HasPrefix(src[i:], "..."):
			t.kind, t.text = tEllipsis, "..."
			adv(3)
		case strings.HasPrefix(src[i:], "--") && t.nl:
			j := i
			for j < len(src) && src[j] != '\n' && src[j] != ' ' && src[j] != '\t' && src[j] != '\r' {
				j++
			}
			t.kind, t.text = tOption, src[i+2:j]
			adv(j - i)
		case isDigit(c) || (c == '.' && i+1 < len(src) && isDigit(src[i+1])):
			j := i
			if c == '0' && i+1 < len(src) && (src[i+1] == 'x' || src[i+1] == 'X') {
				j += 2
				for j < len(src) && isHex(src[j]) {
					j++
				}
				t.kind = tInt
			} else {
				for j < len(src) && isDigit(src[j]) {
					j++
				}
				t.kind = tInt
				// A '.' followed by another '.' starts an ellipsis, not a fraction.
				if j < len(src) && src[j] == '.' && !strings.HasPrefix(src[j:], "...") {
					j++
					for j < len(src) && isDigit(src[j]) {
						j++
					}
					t.kind = tFloat
				}
			}
			t.text = src[i:j]
			adv(j - i)
		case isWordStart(c):
			j := i
			for j < len(src) && isWordByte(src[j]) {
				j++
			}
			t.kind, t.text = tWord, src[i:j]
			adv(j - i)
		case strings.IndexByte("+-*~<>:()[]{},=|./!&", c) >= 0:
			t.kind, t.text = tPunct, src[i:i+1]
			adv(1)
		default:
			return nil, &Error{pos, fmt.Sprintf("unexpected character %q", c)}
		}
		toks = append(toks, t)
	}
	toks = append(toks, token{kind: tEOF, pos: Pos{file, line, col}, nl: true})
	return toks, nil
}

func isDigit(c byte) bool     { return c >= '0' && c <= '9' }
func isHex(c byte) bool       { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }
func isWordStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isWordByte(c byte) bool  { return isWordStart(c) || isDigit(c) }
