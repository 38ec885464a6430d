// Package cc is TCP congestion control: the [Controller] interface the
// TCP engine drives, and two algorithms behind it, NewReno (RFC 5681,
// RFC 3465, RFC 6582) and CUBIC (RFC 9438). [New] picks one by name.
//
// A Controller computes windows; the engine detects losses and runs
// recovery. The split is described on [Controller]. Windows are in bytes,
// times are time.Time values from the stack's Clock, and no method
// allocates or reads a clock.
package cc
