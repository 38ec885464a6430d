// Package diag holds what every part of a scenario file's reading shares:
// positions (file:line:col), errors that name them, and "did you mean"
// suggestions for misspelt names.
package diag

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a position in a scenario file. Line and Col count from 1; the
// zero Pos means "no position".
type Pos struct {
	File      string
	Line, Col int
}

// String writes "file:line:col", or the file alone without a line.
func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Error is one problem in a scenario file: where it is, which field, and
// what to do about it.
type Error struct {
	Pos  Pos
	Path string // the field, e.g. "hosts.client.tcp.congestion"
	Msg  string
}

// Error writes "file:line:col: field.path: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Pos.String())
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem the scenario loader found, in file order.
type ErrorList []*Error

// Error writes one problem a line.
func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

func (l ErrorList) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		if l[i].Pos.Line != l[j].Pos.Line {
			return l[i].Pos.Line < l[j].Pos.Line
		}
		return l[i].Pos.Col < l[j].Pos.Col
	})
}

// Suggest returns the candidate nearest to s by edit distance, or "" if
// none is close enough to be a plausible typo.
func Suggest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := editDistance(strings.ToLower(s), strings.ToLower(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	limit := 2
	if len(s) > 6 {
		limit = 3
	}
	if best == "" || bestD > limit || bestD >= len(s) {
		return ""
	}
	return best
}

// DidYouMean formats a suggestion as a sentence tail, or a list of the
// valid names when nothing is close.
func DidYouMean(s string, candidates []string) string {
	if c := Suggest(s, candidates); c != "" {
		return fmt.Sprintf("; did you mean %q?", c)
	}
	if len(candidates) == 0 {
		return ""
	}
	return "; valid: " + strings.Join(candidates, ", ")
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of neighbours each cost 1,
// so "tpc" is one step from "tcp".
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
