// Package core holds the few types every layer of the stack shares: the
// [Clock] all time comes from, the [Event]s a stack reports to its
// [Observer], and the connection [Tuple]. It imports nothing of stacklab,
// so protocol packages (stack/tcp, …) and the stack above them can both
// use it.
package core
