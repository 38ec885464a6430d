// Package ladder draws the packets of a run as a ladder (sequence)
// diagram: one column a host, one arrow a packet hop from the sender to
// the receiver, sloping down with time, in three forms: text for a
// terminal, Mermaid for Markdown, and a self-contained SVG.
//
// A diagram is built from the packet summaries a capture.Recorder keeps:
// each packet id is followed from the vantage point that sent it to the
// one that received it, hop by hop through routers. A hop that no
// vantage point received was lost on the link (✗ at the receiver's end);
// a packet the receiver dropped is marked with the reason.
package ladder
