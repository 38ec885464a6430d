package pkt

import "time"

// Script is a parsed .pkt file.
type Script struct {
	File    string
	Options []Option // --name=value lines at the top
	Init    *Command // a shell command before the first event
	Events  []Event
	Cleanup *Command // a shell command after the last event
}

// Option is a --name[=value] line.
type Option struct {
	Pos   Pos
	Name  string
	Value string
}

// TimeKind says how an event's time is written.
type TimeKind uint8

const (
	TimeAbsolute TimeKind = iota + 1 // 1.5
	TimeRelative                     // +0.1: after the previous event
	TimeAny                          // *: whenever
	TimeRange                        // a~b or +a~+b: within the range
)

// Time is when an event happens; End is the return time of a blocking
// call (written "...T", relative to the start).
type Time struct {
	Kind       TimeKind
	Start, Max time.Duration // Max only for TimeRange
	// RangeRelative: +a~+b, both after the previous event.
	RangeRelative bool
	Blocking      bool
	End           time.Duration // with Blocking
}

// Event is one line of a script: exactly one of its actions is set.
type Event struct {
	Pos     Pos
	Time    Time
	Packet  *Packet
	Call    *Call
	Command *Command
	Code    *Code
}

// Packet is a packet the script injects (In) or expects (!In).
type Packet struct {
	In    bool
	Proto string // "tcp", "udp", "icmp"
	ECN   string // "", "noecn", "ect0", "ect1", "ce", "ect01"
	// FlowLabel is the IPv6 flow label written "(flowlabel 0x1)": an
	// inbound packet carries it; an outbound one is checked as
	// packetdrill does, against the label the same script label stood
	// for last (the same script label, the same live label; another
	// script label, another live label). Over IPv4 it is ignored.
	FlowLabel    uint32
	HasFlowLabel bool

	// TCP
	Flags      string // letters from FSRP.EWU, as written (without the dot)
	AckFlag    bool   // the '.'
	Seq, End   uint32
	Len        int
	Ack        uint32
	HasAck     bool
	Win        uint32
	HasWin     bool
	Urg        uint32
	HasUrg     bool
	Options    []TCPOption
	HasOptions bool // <...> was written
	AnyOptions bool // <...> literally

	// UDP: payload length; ICMP: type and code names, MTU, echo id
	UDPLen    int
	ICMPType  string
	ICMPCode  string
	ICMPMTU   int
	ICMPID    int
	HasICMPID bool
	// Echoed is what an ICMP error quotes of the packet it is about, as
	// packetdrill writes it: "tcp" for [seq:end(len)] or nothing (the
	// TCP sequence number EchoSeq, in script terms), "udp" for
	// [udp (N)] (EchoLen the UDP payload length).
	Echoed  string
	EchoSeq uint32
	EchoLen int
}

// TCPOption is one option in a packet's <...> list.
type TCPOption struct {
	Pos    Pos
	Kind   string // nop, eol, mss, wscale, sackOK, sack, TS, FO, FOEXP, md5
	Value  uint32 // mss, wscale
	TSVal  uint32
	TSEcr  uint32
	Blocks [][2]uint32 // sack
	Cookie string      // FO, md5
}

// Call is a system call and its expected result.
type Call struct {
	Name   string
	Args   []Expr
	Result Expr
	Errno  string // "" or ECONNREFUSED etc.
	Note   string
}

// Command is a backtick shell command.
type Command struct {
	Pos  Pos
	Text string
}

// Code is a %{ }% block.
type Code struct {
	Pos  Pos
	Text string
}

// ExprKind says what an expression is.
type ExprKind uint8

const (
	ExprEllipsis ExprKind = iota + 1 // ...
	ExprInt                          // 12, -1, 0x10
	ExprWord                         // SOCK_STREAM
	ExprString                       // "abc" (Ellipsis set for "abc"...)
	ExprOr                           // a|b|c in List
	ExprAssign                       // Name=Value (Name in Word, value List[0])
	ExprArray                        // [a, b]
	ExprStruct                       // {a, b} or {name=value, ...}
	ExprCall                         // htons(80), inet_addr("1.2.3.4"), msg_iov(1)
)

// Expr is a system call argument or result.
type Expr struct {
	Pos      Pos
	Kind     ExprKind
	Int      int64
	Word     string // word, string, call or field name
	Ellipsis bool   // "abc"...
	List     []Expr
}
