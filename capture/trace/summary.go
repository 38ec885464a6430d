package trace

import (
	"net/netip"
	"strconv"
	"time"
)

// Dir is the direction of a frame at its vantage point.
type Dir uint8

const (
	// DirUnknown is a frame from a capture that does not say.
	DirUnknown Dir = iota
	// DirIn is a frame the interface received.
	DirIn
	// DirOut is a frame the interface sent.
	DirOut
)

func (d Dir) String() string {
	switch d {
	case DirIn:
		return "in"
	case DirOut:
		return "out"
	}
	return "?"
}

// Summary is one packet as tcpdump would print it, in the terms the
// scenario expectations use: names, tcpdump flags, relative sequence
// numbers. Strings in it are shared and must not be modified.
type Summary struct {
	// Time is the capture time since the start of the trace.
	Time time.Duration
	// Vantage is "host:ifname", or "" for a foreign capture.
	Vantage string
	Dir     Dir
	// ID is the packet id shared by every copy of the packet (or the
	// frame number for a foreign capture).
	ID uint64
	// Src and Dst name the endpoints: host names where known, else
	// addresses; for ARP the sender and target ("broadcast" for a request).
	Src, Dst string
	// SrcAddr and DstAddr are the IP addresses and ports (port 0 when the
	// protocol has none).
	SrcAddr, DstAddr netip.AddrPort
	// Proto is "tcp", "udp", "icmp", "arp", "ipv4", "eth" or "".
	Proto string
	// Flags are the TCP flags in tcpdump's notation: "S", "S.", ".",
	// "P.", "F.", "R", "R."; empty for other protocols.
	Flags string
	// Seq and Ack are relative to each direction's initial sequence
	// number (Ack is 0 without the ACK flag).
	Seq, Ack uint32
	HasAck   bool
	// Len is the transport payload length in bytes.
	Len int
	// Win is the TCP window field as sent (not scaled).
	Win uint16
	// Options are the TCP options as the trace shows them
	// ("mss 1460,sackOK,TS 1 0,wscale 7"), without brackets.
	Options string
	// Info describes non-TCP packets: "echo request id 1 seq 1",
	// "who-has 10.0.0.2 tell 10.0.0.1", "port unreachable".
	Info string
	// Note says why the packet was sent (the capture comment).
	Note string
	// Drop is the reason the packet was dropped at this vantage, if it was.
	Drop string
	// Malformed says where and why decoding stopped, if it did.
	Malformed string
	// Analysis is the TCP analysis of the segment (Wireshark's
	// tcp.analysis flags), as found where it was first seen.
	Analysis Analysis
}

// String formats s close to tcpdump, with names and relative numbers:
//
//	client > server [S] seq 0 win 64240 <mss 1460,sackOK,TS 1 0,wscale 7>
//	client > server [P.] seq 1:6 ack 1 win 502 len 5
//	client > server udp len 5
//	client > server icmp echo request id 1 seq 1
func (s *Summary) String() string {
	b := make([]byte, 0, 96)
	b = append(b, s.Src...)
	b = append(b, " > "...)
	b = append(b, s.Dst...)
	switch s.Proto {
	case "tcp":
		b = append(b, " ["...)
		b = append(b, s.Flags...)
		b = append(b, "] seq "...)
		b = strconv.AppendUint(b, uint64(s.Seq), 10)
		if s.Len > 0 {
			b = append(b, ':')
			b = strconv.AppendUint(b, uint64(s.Seq+uint32(s.Len)), 10)
		}
		if s.HasAck {
			b = append(b, " ack "...)
			b = strconv.AppendUint(b, uint64(s.Ack), 10)
		}
		b = append(b, " win "...)
		b = strconv.AppendUint(b, uint64(s.Win), 10)
		if s.Options != "" {
			b = append(b, " <"...)
			b = append(b, s.Options...)
			b = append(b, '>')
		}
		if s.Len > 0 {
			b = append(b, " len "...)
			b = strconv.AppendInt(b, int64(s.Len), 10)
		}
	case "udp":
		b = append(b, " udp len "...)
		b = strconv.AppendInt(b, int64(s.Len), 10)
	default:
		if s.Proto != "" {
			b = append(b, ' ')
			b = append(b, s.Proto...)
		}
		if s.Info != "" {
			b = append(b, ' ')
			b = append(b, s.Info...)
		}
	}
	if s.Malformed != "" {
		b = append(b, " malformed: "...)
		b = append(b, s.Malformed...)
	}
	if s.Drop != "" {
		b = append(b, " (dropped: "...)
		b = append(b, s.Drop...)
		b = append(b, ')')
	}
	return string(b)
}
