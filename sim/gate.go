package sim

import (
	"sync"

	"stacklab/stack"
	"stacklab/stack/core"
	"stacklab/stack/wire"
)

// Gate makes a [Middlebox] (a [NAT], a [Firewall]) part of a host, on
// the host's interface to one link: a NAT router's outside interface, a
// firewall's. Frames the interface sends pass the middlebox on their way
// to the wire (Inspect with AtoB: configure the middlebox's inside as
// AtoB), frames arriving from the wire pass it before the host sees them
// (BtoA). Tap sees the interface's frames as they are on the wire, after
// translation on the way out and before it on the way in; the host's own
// Tap sees them on the host's side of the middlebox, so a capture should
// take this interface's frames from Tap alone. A rejected frame is a drop
// event of the host's.
type Gate struct {
	Box Middlebox
	Tap stack.Tap
}

// gateLink is the stack.Link of a gated interface: the middlebox, then
// the pipe.
type gateLink struct {
	g    *Gate
	host string
	pipe *Pipe
	obs  core.Observer
	clk  *Clock
	nic  *stack.NIC

	mu       sync.Mutex // for the inbound buffer (the host's lock covers Send)
	out, in  []byte
	ev       core.Event
	hdr      int
	inbound  func(stack.Packet) (bool, string)
	outbound func(stack.Packet) (bool, string)
}

func newGateLink(g *Gate, host string, p *Pipe, obs core.Observer, clk *Clock) *gateLink {
	gl := &gateLink{g: g, host: host, pipe: p, obs: obs, clk: clk, hdr: p.hdr}
	gl.outbound = inspectBox(gl.hdr, g.Box, AtoB)
	gl.inbound = inspectBox(gl.hdr, g.Box, BtoA)
	return gl
}

// Send implements stack.Link; the host's lock is held.
func (gl *gateLink) Send(pkt stack.Packet) {
	gl.out = append(gl.out[:0], pkt.Data...)
	p := stack.Packet{ID: pkt.ID, Data: gl.out}
	if pass, why := gl.outbound(p); !pass {
		gl.drop(why, pkt.ID)
		return
	}
	if gl.g.Tap != nil {
		gl.g.Tap.Frame(gl.nic, stack.DirOut, p, "")
	}
	gl.pipe.Send(p)
}

// deliver takes a frame off the wire to the host.
func (gl *gateLink) deliver(pkt stack.Packet) {
	if pkt.ChecksumPartial {
		// The middlebox and the capture see it as on a wire.
		wire.FinishTCPChecksum(pkt.Data, gl.hdr == wire.EthernetHeaderLen)
		pkt.ChecksumPartial = false
	}
	if gl.g.Tap != nil {
		gl.g.Tap.Frame(gl.nic, stack.DirIn, pkt, "")
	}
	gl.mu.Lock()
	gl.in = append(gl.in[:0], pkt.Data...)
	p := stack.Packet{ID: pkt.ID, Data: gl.in}
	pass, why := gl.inbound(p)
	if !pass {
		gl.drop(why, pkt.ID)
		gl.mu.Unlock()
		return
	}
	// The host copies what it keeps; the buffer is ours again after.
	gl.nic.Deliver(p)
	gl.mu.Unlock()
}

func (gl *gateLink) drop(why string, id uint64) {
	if gl.obs == nil {
		return
	}
	gl.ev = core.Event{Time: gl.clk.Now(), Host: gl.host, Kind: core.EventDrop, FD: -1, Name: middleboxName(why), Detail: why, PacketID: id}
	gl.obs.Observe(&gl.ev)
}

// Regate puts g on an interface that a host adds anew to an existing link
// (a NAT router that restarts comes back with an empty table): out is the
// pipe the interface sends on, in the one that delivers to it. Give the
// returned link to AddNIC in place of out, then call attach with the new
// interface; it takes in's deliveries.
func (n *Network) Regate(g *Gate, host string, out, in *Pipe) (link stack.Link, attach func(nic *stack.NIC)) {
	gl := newGateLink(g, host, out, n.opts.Observer, n.clock)
	return gl, func(nic *stack.NIC) {
		gl.nic = nic
		in.SetDeliver(gl.deliver)
	}
}
