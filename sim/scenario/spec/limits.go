package spec

import (
	"fmt"
	"unicode/utf8"
)

// Limits bound a scenario file before the YAML parser sees it, so that a
// huge, deeply nested or binary file is refused at once with a message
// instead of costing minutes and gigabytes. Zero fields take the
// defaults.
type Limits struct {
	MaxBytes int // default DefaultMaxBytes
	MaxDepth int // default DefaultMaxDepth
}

// Default [Limits]: the largest built-in scenario is under 10 KB and
// nested about 8 levels deep.
const (
	DefaultMaxBytes = 1 << 20
	DefaultMaxDepth = 64
)

func (l Limits) fill() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	return l
}

// CheckInput applies lim to the file name holding src: its size, that
// it is text (UTF-8 without control characters other than tab, CR and
// LF; the offending byte is named by position and value, never echoed),
// and its nesting: block levels (each deeper indentation, each "- " of
// a sequence entry) plus flow levels ("[" and "{"). Errors name the
// limit and the flag that raises it.
func CheckInput(name string, src []byte, lim Limits) error {
	lim = lim.fill()
	if len(src) > lim.MaxBytes {
		return ErrorList{{Pos: Pos{File: name}, Msg: fmt.Sprintf("%d bytes, over the limit of %d for a scenario file; raise it with --max-size", len(src), lim.MaxBytes)}}
	}
	line, col := 1, 1
	var indents []int // indentation of the open block levels
	flow := 0
	lineStart, inIndent, dashes := true, true, 0
	indent := 0
	var quote byte
	comment := false
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRune(src[i:])
		if (r == utf8.RuneError && size == 1) || (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f {
			return ErrorList{{Pos: Pos{File: name, Line: line, Col: col}, Msg: fmt.Sprintf("byte 0x%02x is not text: a scenario is a YAML text file (UTF-8)", src[i])}}
		}
		c := src[i]
		i += size
		if c == '\n' {
			line, col = line+1, 1
			lineStart, inIndent, dashes, indent, comment = true, true, 0, 0, false
			if quote == '\'' || quote == '"' {
				continue // a quoted scalar may span lines
			}
			continue
		}
		col++
		if comment {
			continue
		}
		if inIndent {
			switch {
			case c == ' ':
				indent++
				continue
			case c == '-' && i < len(src) && (src[i] == ' ' || src[i] == '\n'):
				dashes++
				indent++
				continue
			case c == '#':
				comment = true
				continue
			}
			inIndent = false
			if lineStart {
				lineStart = false
				for len(indents) > 0 && indents[len(indents)-1] >= indent {
					indents = indents[:len(indents)-1]
				}
				indents = append(indents, indent)
				if d := len(indents) + dashes + flow; d > lim.MaxDepth {
					return depthError(name, line, col, lim)
				}
			}
		}
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i < 2 || src[i-2] == ' '):
			comment = true
		case c == '[' || c == '{':
			flow++
			if len(indents)+dashes+flow > lim.MaxDepth {
				return depthError(name, line, col, lim)
			}
		case (c == ']' || c == '}') && flow > 0:
			flow--
		}
	}
	return nil
}

func depthError(name string, line, col int, lim Limits) error {
	return ErrorList{{Pos: Pos{File: name, Line: line, Col: col}, Msg: fmt.Sprintf("nested more than %d levels deep, the limit for a scenario file; raise it with --max-depth", lim.MaxDepth)}}
}

// LoadLimited is [Load] with lim checked first (see [CheckInput]).
func LoadLimited(name string, src []byte, lim Limits) (*Scenario, error) {
	if err := CheckInput(name, src, lim); err != nil {
		return nil, err
	}
	return load(name, src)
}
