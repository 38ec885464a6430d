package scenario

import (
	"cmp"
	"fmt"
	"time"

	"stacklab/sim"
	"stacklab/stack"
)

// hostClock is the network's clock as one boot of a host sees it: when
// the host restarts, the old boot's clock dies, so that the timers of the
// stack that crashed (retransmission, keepalive, TIME_WAIT) never fire
// again and the old stack stays silent for good.
type hostClock struct {
	c    *sim.Clock
	dead bool
}

func (hc *hostClock) Now() time.Time { return hc.c.Now() }

func (hc *hostClock) AfterFunc(d time.Duration, f func()) stack.Timer {
	return hc.c.AfterFunc(d, func() {
		if !hc.dead {
			f()
		}
	})
}

// newStack builds boot number boot of h's stack as sim.Network.AddHost
// would (the first boot draws the same random numbers), on a clock of its
// own that a restart can stop. Later boots draw other random numbers:
// other ISNs (RFC 6528's secret) and ephemeral ports.
func (r *runner) newStack(h *Host, boot int) (*stack.Stack, *hostClock) {
	label := "host/" + h.Name
	if boot > 0 {
		label = fmt.Sprintf("host/%s/boot%d", h.Name, boot)
	}
	hc := &hostClock{c: r.clock}
	st := stack.New(stack.Options{
		Name: h.Name, Clock: hc, Rand: r.net.Rand(label), PacketID: r.net.NextPacketID,
		Observer: (*hub)(r), Tap: (*hub)(r), TCP: h.TCP, TTL: h.TTL, LocalPortRange: h.PortRange, Forwarding: h.Router,
	})
	return st, hc
}

// restart brings a host back as a new stack with no sockets, as after a
// reboot: it crashes first if it has not, the old stack's timers stop, a
// new stack takes over the host's interfaces (same addresses and MACs),
// its links come up and its apps start again; its program does not. A
// peer that still has a connection to it gets a RST the next time it
// sends (RFC 9293 §3.5.2: no connection exists).
func (r *runner) restart(host string) {
	hr := r.hosts[host]
	if !hr.crashed {
		r.crash(host)
	}
	hr.clock.dead = true
	hr.boot++
	// The old stack's connections are gone, whatever state they were in.
	for k, state := range r.states {
		if hr.h.Owns(k.Local.Addr()) && state != "CLOSED" {
			r.states[k] = "gone (restart)"
		}
	}
	st, hc := r.newStack(hr.h, hr.boot)
	// A NAT's or firewall's table lives in the router's memory: the
	// restarted router comes back with an empty one (as Linux's conntrack
	// after a reboot), so packets of the connections it translated or let
	// through before are refused until their ends start anew.
	switch box := r.boxes[host].(type) {
	case *sim.NAT:
		r.event(host, fmt.Sprintf("nat: translation table lost with the restart: %d mappings forgotten", box.Mappings()))
	case *sim.Firewall:
		r.event(host, fmt.Sprintf("firewall: flow table lost with the restart: %d flows forgotten", box.Flows()))
	}
	old := hr.nics
	hr.st, hr.clock, hr.nics, hr.crashed = st, hc, map[int]*stack.NIC{}, false
	for _, lk := range r.sc.LinksOf(host) {
		l := r.net.Link(lk.Name())
		end, in := 0, sim.BtoA
		if lk.Ends[1] == host && lk.Ends[0] != host {
			end, in = 1, sim.AtoB
		}
		iface := lk.Ifaces[end]
		was := old[iface]
		cfg := nicConfig(hr.h, iface)
		cfg.MAC = was.MAC()
		var link stack.Link = l.Pipe(1 - in)
		var attach func(*stack.NIC)
		g, err := r.gate(hr, iface) // a NAT or firewall, with an empty table
		if err == nil && g != nil {
			link, attach = r.net.Regate(g, host, l.Pipe(1-in), l.Pipe(in))
		}
		nic, err2 := st.AddNIC(cfg, link)
		if err = cmp.Or(err, err2); err != nil {
			r.failAt(hr.h.Pos, "restart "+host, fmt.Sprintf("%s cannot come back on %s: %v", host, lk.Name(), err), nil)
			continue
		}
		if attach != nil {
			attach(nic)
			r.gated[nic] = true
		}
		hr.nics[iface] = nic
		r.alias[nic] = r.orig(was) // the same vantage point, the same capture file
		r.current[r.orig(was)] = nic
		if !r.reordered[l.Pipe(in)] && attach == nil {
			l.Pipe(in).SetDeliver(nic.Deliver)
		}
		l.SetUp(true)
	}
	if err := hr.addRoutes(); err != nil {
		r.failAt(hr.h.Pos, "restart "+host, err.Error(), nil)
	}
	r.event(host, fmt.Sprintf("host restarted (boot %d): no sockets, links up", hr.boot+1))
	for _, app := range hr.h.Apps {
		r.startApp(hr, app)
	}
}

// orig returns the NIC of a host's first boot that nic took over from,
// or nic itself.
func (r *runner) orig(nic *stack.NIC) *stack.NIC {
	if o, ok := r.alias[nic]; ok {
		return o
	}
	return nic
}

// cur returns the NIC that now serves the interface nic was created for
// (nic itself unless its host restarted).
func (r *runner) cur(nic *stack.NIC) *stack.NIC {
	if c, ok := r.current[nic]; ok {
		return c
	}
	return nic
}
