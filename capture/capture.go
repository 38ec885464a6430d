package capture

import (
	"io"

	"stacklab/capture/trace"
)

// Summary is one packet in tcpdump's terms, for expectations; see
// [trace.Summary].
type Summary = trace.Summary

// Format selects the trace output: [Text] or [JSON].
type Format = trace.Format

// Trace formats.
const (
	Text = trace.Text
	JSON = trace.JSON
)

// ParseFormat parses "text" or "json".
func ParseFormat(s string) (Format, error) { return trace.ParseFormat(s) }

// TraceFile writes the trace of a foreign pcap or pcapng file to w.
// Checksums are verified and bad ones marked; a truncated or corrupt file
// gives the trace up to the damage and an error saying where.
func TraceFile(path string, w io.Writer, format Format) error {
	return trace.TraceFile(path, w, format)
}

// ReadFile returns the summary of every packet in a pcap or pcapng file.
// On a truncated or corrupt file it returns the packets before the damage
// and an error.
func ReadFile(path string) ([]Summary, error) { return trace.ReadFile(path) }
