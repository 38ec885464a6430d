// Package trace decodes captured frames layer by layer and writes
// stacklab's trace: a text format for people (like strace for socket
// calls and tcpdump for packets, one line a layer) and JSON lines for
// programs (schema in capture/SCHEMA.md). It also summarizes each packet in
// tcpdump's terms ([Summary]) for the scenario engine's expectations, and
// reads foreign pcap and pcapng files ([Read], [TraceFile], [ReadFile]).
//
// Sequence and acknowledgment numbers are relative to each direction's
// initial sequence number, as Wireshark shows them. TCP windows are shown
// as sent, unscaled, as tcpdump shows them. Times are seconds since the
// start of the trace with six decimals.
//
// The text trace of a simulated run looks like this:
//
//	0.000000 server  listen(3, 8) → 0                        CLOSED → LISTEN
//	0.001000 client  connect(3, 10.0.0.2:80) → blocks        CLOSED → SYN_SENT
//	0.001000 client → server  #3  74 B  (connect)
//	  eth   02:00:0a:00:00:01 → 02:00:0a:00:00:02  IPv4
//	  ipv4  10.0.0.1 → 10.0.0.2  ttl 64  id 1  DF  len 60
//	  tcp   49152 → 80  [SYN]  seq 0  win 64240  <mss 1460,sackOK,TS 1 0,wscale 7>
//	0.011000 server:eth0 ← client  #3  74 B
//
// A packet is shown in full where it is sent; where it arrives, one line
// says so. A packet forwarded by a router is shown again ("via r1:eth1"),
// since a router changes it. A packet seen arriving whose sending was not
// captured (a TUN device's kernel peer) is shown in full ("at host:if").
// A socket call and the state change it caused share a line when they
// happen at the same instant; the frames sent meanwhile follow the line.
//
// Formatting allocates nothing per frame. Only the decoding needed for the
// trace is done, with the header views of [stacklab/stack/wire].
package trace
