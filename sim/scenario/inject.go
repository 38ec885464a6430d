package scenario

import (
	"fmt"
	"net/netip"

	"stacklab/sim/scenario/pattern"
	"stacklab/stack"
	"stacklab/stack/wire"
)

// inject builds the segment ev describes, as if the pattern's source had
// sent it, and delivers it to the destination's interface.
func (r *runner) inject(ev *TimedEvent) {
	p := ev.Inject
	src, dst := r.sc.Host(p.Src.Host), r.sc.Host(p.Dst.Host)
	// The latest flow between the two hosts that fits the ports.
	fl, ok := r.dec.Latest(func(s, d netip.AddrPort) bool {
		return src.Owns(s.Addr()) && dst.Owns(d.Addr()) &&
			(p.Src.Port < 0 || int(s.Port()) == p.Src.Port) && (p.Dst.Port < 0 || int(d.Port()) == p.Dst.Port)
	})
	if !ok {
		r.failAt(ev.Pos, "inject "+p.Text, fmt.Sprintf("no TCP connection from %s to %s has been seen yet to inject into", src.Name, dst.Name), nil)
		return
	}
	seq, ack := fl.ISN+fl.Next, uint32(0)
	if p.Seq != nil {
		seq = fl.ISN + *p.Seq
	}
	if fl.HasBack {
		ack = fl.BackISN + fl.BackNext
		if p.Ack != nil {
			ack = fl.BackISN + *p.Ack
		}
	}
	flags := wire.TCPFlags(pattern.ParseTCPFlags(p.Flags))
	win := 65535
	if p.Win != nil {
		win = *p.Win
	}
	n := 0
	if p.Len != nil {
		n = *p.Len
	}
	// The destination's interface on the way back to the source, and the
	// interface at the other end of its link, whose MAC the frame carries.
	hr := r.hosts[dst.Name]
	var nic, peer *stack.NIC
	for _, lk := range r.sc.LinksOf(dst.Name) {
		if lk.Switch {
			continue
		}
		a, b := r.net.Link(lk.Name()).NICs()
		a, b = r.cur(a), r.cur(b)
		if a.Stack() == hr.st {
			a, b = b, a
		}
		nic, peer = b, a
		if b.Addr().Contains(fl.Src.Addr()) {
			break
		}
	}
	if nic == nil {
		return
	}
	frame := make([]byte, wire.EthernetHeaderLen+20+20+n)
	var dmac, smac wire.MAC
	copy(dmac[:], nic.MAC())
	copy(smac[:], peer.MAC())
	wire.Ethernet(frame).Encode(&wire.EthernetFields{Dst: dmac, Src: smac, Type: wire.EtherTypeIPv4})
	ip := wire.IPv4(frame[wire.EthernetHeaderLen:])
	ip.Encode(&wire.IPv4Fields{TotalLen: uint16(40 + n), TTL: 64, DF: true, Protocol: wire.ProtoTCP, Src: fl.Src.Addr(), Dst: fl.Dst.Addr()})
	ip.SetChecksum()
	seg := wire.TCP(frame[wire.EthernetHeaderLen+20:])
	seg.Encode(&wire.TCPFields{SrcPort: fl.Src.Port(), DstPort: fl.Dst.Port(), Seq: seq, Ack: ack, Flags: flags, Window: uint16(win)})
	for i := 0; i < n; i++ {
		seg[20+i] = patternByte(int64(i))
	}
	seg.SetChecksum(fl.Src.Addr(), fl.Dst.Addr())
	r.event(dst.Name, "inject: "+p.Text)
	nic.Deliver(stack.Packet{ID: r.net.NextPacketID(), Data: frame})
}
