package stack

import "syscall"

// AddNIC adds a network interface attached to link and returns it. The
// interface's subnet becomes a directly connected route.
func (s *Stack) AddNIC(cfg NICConfig, link Link) (*NIC, error) { return nil, syscall.ENOSYS }

// AddRoute adds a route; the most specific prefix wins.
func (s *Stack) AddRoute(r Route) {}

// Deliver hands the stack a frame received on the interface. pkt.Data is
// only read during the call.
func (n *NIC) Deliver(pkt Packet) {}

// Emit reports an event from outside the stack's core (the scenario
// interpreter's socket calls, an application) to the stack's Observer,
// filling in the time and host name.
func (s *Stack) Emit(ev Event) {}

// Tracing reports whether the stack has an Observer.
func (s *Stack) Tracing() bool { return s.opts.Observer != nil }
