// Package capture records what a stacklab run does: every frame in and
// out of every NIC into pcapng files, one per vantage point
// (DIR/HOST-IFNAME.pcapng), and the layered trace of socket calls, state
// changes, timers and packets (text or JSON lines, see package
// [stacklab/capture/trace]). A [Recorder] is the stacks' [stack.Tap] and
// [core.Observer] at once.
//
// Each pcapng interface is named "host:ifname", has the NIC's link type
// (Ethernet, or raw IPv4 for TUN), nanosecond timestamps and the link's
// parameters as its description. Each packet carries its direction, the
// packet id every copy of it shares along its path (epb_packetid), and a
// comment saying why it was sent and, if it was dropped, why. The file
// comment names the scenario, the seed and the stacklab version. Host names
// go into a name resolution block, which Wireshark shows when "Resolve
// network addresses" is on.
//
// Each vantage point gets its own file because Wireshark marks every later
// copy of a segment in one file as a retransmission. A combined file with
// every hop is written only on request and says so in its comment.
//
// With more than one CPU, a Recorder works beside the stacks, as tcpdump
// beside the kernel: the stacks' calls only copy each frame and event
// into a bounded batch, and another goroutine decodes, traces and writes
// it. The files and the trace are the same byte for byte either way. A
// simulation in virtual time, whose stacks take turns on one goroutine,
// says so with [Options.Serial], and the stacks' calls then take no lock
// (stacklab run does).
//
// Foreign captures (pcap or pcapng, from tcpdump or Wireshark) are traced
// the same way by [TraceFile] and summarized by [ReadFile].
package capture

import (
	"stacklab/stack"
	"stacklab/stack/core"
)

var (
	_ stack.Tap     = (*Recorder)(nil)
	_ core.Observer = (*Recorder)(nil)
)
