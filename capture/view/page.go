package view

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"strings"
)

//go:embed assets/view.js
var viewJS string

//go:embed assets/view.css
var viewCSS string

// csp forbids every request: the page is one file and works offline.
const csp = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"

// maxPageBytes bounds the frames' bytes kept in a page; past it each
// frame keeps only its first 128 bytes (its headers).
const maxPageBytes = 16 << 20

// WriteHTML writes the model as one self-contained HTML page: the
// topology, the ladder, the packet details and the TCP graphs. The page
// makes no request: its script and style are inline.
func (m *Model) WriteHTML(w io.Writer) error {
	m.trimBytes()
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="%s">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%s — stacklab</title>
<style>%s</style>
</head><body>
<script id="data" type="application/json">`, csp, html.EscapeString(m.Title), viewCSS)
	// "</" cannot appear inside a script element.
	bw.WriteString(strings.ReplaceAll(string(data), "</", `<\/`))
	bw.WriteString("</script>\n<script>\n")
	bw.WriteString(viewJS)
	bw.WriteString("</script>\n</body></html>\n")
	return bw.Flush()
}

// trimBytes cuts each frame's bytes to its first 128 when all of them
// would make the page larger than maxPageBytes.
func (m *Model) trimBytes() {
	total := 0
	for _, r := range m.Recs {
		total += len(r)
	}
	if total <= maxPageBytes {
		return
	}
	const key = `,"bytes":"`
	for i, r := range m.Recs {
		s := string(r)
		k := strings.LastIndex(s, key)
		if k < 0 {
			continue
		}
		start := k + len(key)
		end := strings.IndexByte(s[start:], '"')
		if end > 256 {
			m.Recs[i] = json.RawMessage(s[:start+256] + s[start+end:])
		}
	}
}
