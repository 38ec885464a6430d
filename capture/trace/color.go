package trace

import (
	"bytes"
	"io"
	"regexp"
)

// ANSI colours of the text trace on a terminal.
const (
	ansiReset   = "\x1b[0m"
	ansiBold    = "\x1b[1m"
	ansiDim     = "\x1b[2m"
	ansiRed     = "\x1b[31m"
	ansiGreen   = "\x1b[32m"
	ansiYellow  = "\x1b[33m"
	ansiBlue    = "\x1b[34m"
	ansiMagenta = "\x1b[35m"
	ansiCyan    = "\x1b[36m"
	ansiBoldRed = "\x1b[1;31m"
)

var (
	// " 0.021007 client → server  #3  74 B  (connect)"
	colorHeader = regexp.MustCompile(`^( *[0-9]+\.[0-9]+ )(.+? → .+?  #[0-9]+  [0-9]+ B)(.*)$`)
	// " 0.011003 server:eth0 ← client  #1  42 B"
	colorReceipt = regexp.MustCompile(`^ *[0-9]+\.[0-9]+ \S+ ← `)
	// "… CLOSED → SYN_SENT" at the end of an event line
	colorState = regexp.MustCompile(`[A-Z][A-Z0-9_]+ → [A-Z][A-Z0-9_]+$`)
	colorFlags = regexp.MustCompile(`  \[[A-Z, <>a-z]+\]  `)
	colorMark  = regexp.MustCompile(`\[TCP [^\]]+\]`)
	colorNote  = regexp.MustCompile(`  \([^()]*(\([^()]*\)[^()]*)*\)$`)
)

// markColour picks the colour of an analysis mark: red for loss and
// repair, magenta for duplicate ACKs, yellow for window trouble, blue
// for the rest (keep-alives, window updates).
func markColour(m []byte) string {
	switch {
	case bytes.Contains(m, []byte("Retransmission")), bytes.Contains(m, []byte("Out-Of-Order")),
		bytes.Contains(m, []byte("not captured")), bytes.Contains(m, []byte("unseen")):
		return ansiBoldRed
	case bytes.Contains(m, []byte("Dup ACK")):
		return ansiMagenta
	case bytes.Contains(m, []byte("Zero")), bytes.Contains(m, []byte("Full")):
		return ansiYellow
	}
	return ansiBlue
}

// ColorWriter colours a text trace written through it for a terminal:
// packet headers bold with their "why" in yellow, arrivals dim, TCP flags
// cyan, Wireshark's analysis marks by kind, drops red, state changes
// green. It works a line at a time; Flush writes a last line that has no
// newline yet.
type ColorWriter struct {
	w    io.Writer
	line []byte
	out  []byte
}

// NewColorWriter returns a ColorWriter writing to w.
func NewColorWriter(w io.Writer) *ColorWriter { return &ColorWriter{w: w} }

// Write colours each complete line of p.
func (c *ColorWriter) Write(p []byte) (int, error) {
	n := len(p)
	c.out = c.out[:0]
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.line = append(c.line, p...)
			break
		}
		c.line = append(c.line, p[:i]...)
		c.out = colorLine(c.out, c.line)
		c.out = append(c.out, '\n')
		c.line = c.line[:0]
		p = p[i+1:]
	}
	if len(c.out) > 0 {
		if _, err := c.w.Write(c.out); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// Flush writes what is left of an unfinished line.
func (c *ColorWriter) Flush() error {
	if len(c.line) == 0 {
		return nil
	}
	out := colorLine(nil, c.line)
	c.line = c.line[:0]
	_, err := c.w.Write(out)
	return err
}

// colorLine appends line, coloured, to b.
func colorLine(b, line []byte) []byte {
	wrap := func(b []byte, colour string, s []byte) []byte {
		b = append(b, colour...)
		b = append(b, s...)
		return append(b, ansiReset...)
	}
	switch {
	case bytes.HasPrefix(line, []byte("   dropped")):
		return wrap(b, ansiRed, line)
	case bytes.HasPrefix(line, []byte("   tcp ")):
		// Flags cyan, analysis marks by kind.
		last := 0
		for _, m := range colorFlags.FindAllIndex(line, -1) {
			b = append(b, line[last:m[0]+2]...)
			b = wrap(b, ansiCyan, line[m[0]+2:m[1]-2])
			last = m[1] - 2
		}
		rest := line[last:]
		last = 0
		for _, m := range colorMark.FindAllIndex(rest, -1) {
			b = append(b, rest[last:m[0]]...)
			b = wrap(b, markColour(rest[m[0]:m[1]]), rest[m[0]:m[1]])
			last = m[1]
		}
		return append(b, rest[last:]...)
	case colorReceipt.Match(line):
		return wrap(b, ansiDim, line)
	}
	if m := colorHeader.FindSubmatchIndex(line); m != nil {
		b = append(b, line[m[2]:m[3]]...)
		b = wrap(b, ansiBold, line[m[4]:m[5]])
		rest := line[m[6]:m[7]]
		if n := colorNote.FindIndex(rest); n != nil {
			b = append(b, rest[:n[0]+2]...)
			return wrap(b, ansiYellow, rest[n[0]+2:])
		}
		return append(b, rest...)
	}
	if m := colorState.FindIndex(line); m != nil {
		b = append(b, line[:m[0]]...)
		return wrap(b, ansiGreen, line[m[0]:])
	}
	return append(b, line...)
}
