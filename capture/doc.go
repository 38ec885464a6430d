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
// Capture costs the stacks little: unless summaries are asked for or
// [Options.Sync] is set, a Recorder only copies each frame and event into
// a batch while the stack waits, and a worker goroutine, started per full
// batch (256 KiB) and gone when it is written, formats the trace and
// writes the files, in order, while the simulation goes on. The output is
// the same byte for byte either way. Flush, Close and Files wait for the
// worker.
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
