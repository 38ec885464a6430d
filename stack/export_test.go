package stack

import (
	"net/netip"
	"time"
)

// LoopbackBusy reports whether frames wait on lo or their delivery is
// scheduled: the differential test's settle waits for it to end.
func (s *Stack) LoopbackBusy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.loq.q) > 0
}

// AutoAddrLifetimes returns when an autoconfigured address's valid and
// preferred lifetimes end (zero: infinite), whether it is deprecated,
// and whether n has it.
func (n *NIC) AutoAddrLifetimes(a netip.Addr) (valid, preferred time.Time, deprecated, ok bool) {
	n.stack.mu.Lock()
	defer n.stack.mu.Unlock()
	i := n.autoIndex(a)
	if i < 0 {
		return time.Time{}, time.Time{}, false, false
	}
	x := n.slaac.auto[i]
	return x.validUntil, x.prefUntil, x.deprecated, true
}

// RenewAddr applies a prefix information option's lifetimes (seconds)
// to the autoconfigured address a of n, as an advertisement does.
func (s *Stack) RenewAddr(n *NIC, a netip.Addr, valid, preferred uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := n.autoIndex(a); i >= 0 {
		s.renewAddr(n, i, valid, preferred, s.opts.Clock.Now())
	}
}

// TxInPlace returns how many segments the stack sent from where TCP
// built them, without copying them behind its headers.
func (s *Stack) TxInPlace() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.txInPlace
}
