// Package cc is TCP congestion control: the [Controller] interface the
// TCP engine drives, and two algorithms behind it, NewReno (RFC 5681,
// RFC 3465, RFC 6582) and CUBIC, in RFC 9438's arithmetic ([Cubic]) or
// in Linux's tcp_cubic's ([LinuxCubic], whole packets and jiffies, what
// [Config.Linux] selects). [New] picks one by name.
//
// A Controller computes windows; the engine detects losses and runs
// recovery. The split is described on [Controller]. Windows are in bytes,
// times are time.Time values from the stack's Clock, and no method
// allocates or reads a clock.
package cc
