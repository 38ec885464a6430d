package scenario

import (
	"fmt"
	"strings"

	"stacklab/stack"
	"stacklab/stack/wire"
)

// flowState is what the decoder knows of one direction of a TCP flow:
// where its sequence numbers start and how far they got, so that an
// injected segment can be written in relative numbers.
type flowState struct {
	isn   uint32
	next  uint32 // relative: the highest sequence number sent plus one
	seen  int    // order of the last packet, to find the latest flow
	ended bool   // a FIN or RST was seen
}

// parseInject reads an injected segment: a pattern naming both hosts and
// TCP flags, with optional seq, ack, win and len.
func parseInject(s string, hosts []string) (*Pattern, error) {
	p, err := ParsePattern(s, hosts)
	if err != nil {
		return nil, err
	}
	if p.Src.Host == "" || p.Dst.Host == "" || p.Proto != "tcp" || p.Flags == "" || strings.HasSuffix(p.Flags, "*") {
		return nil, fmt.Errorf(`inject a TCP segment as SRC > DST[:PORT] [FLAGS] [seq N] [ack N] [win N] [len N], e.g. "client > server:80 [R] seq 100"; it joins the latest connection between them`)
	}
	return p, nil
}

// inject builds the segment ev describes, as if the pattern's source had
// sent it, and delivers it to the destination's interface.
func (r *runner) inject(ev *TimedEvent) {
	p := ev.Inject
	src, dst := r.sc.Host(p.Src.Host), r.sc.Host(p.Dst.Host)
	// The latest flow between the two hosts that fits the ports.
	var key flowKey
	var fs *flowState
	for k, st := range r.dec.flows {
		if !src.Owns(k.src.Addr()) || !dst.Owns(k.dst.Addr()) ||
			p.Src.Port >= 0 && int(k.src.Port()) != p.Src.Port || p.Dst.Port >= 0 && int(k.dst.Port()) != p.Dst.Port {
			continue
		}
		if fs == nil || st.seen > fs.seen {
			key, fs = k, st
		}
	}
	if fs == nil {
		r.failAt(ev.Pos, "inject "+p.Text, fmt.Sprintf("no TCP connection from %s to %s has been seen yet to inject into", src.Name, dst.Name), nil)
		return
	}
	back := r.dec.flows[flowKey{key.dst, key.src}]
	seq, ack := fs.isn+fs.next, uint32(0)
	if p.Seq != nil {
		seq = fs.isn + *p.Seq
	}
	if back != nil {
		ack = back.isn + back.next
		if p.Ack != nil {
			ack = back.isn + *p.Ack
		}
	}
	flags := wire.TCPFlags(parseTCPFlags(p.Flags))
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
	for _, lk := range r.sc.linksOf(dst.Name) {
		a, b := r.net.Link(lk.Name()).NICs()
		a, b = r.cur(a), r.cur(b)
		if a.Stack() == hr.st {
			a, b = b, a
		}
		nic, peer = b, a
		if b.Addr().Contains(key.src.Addr()) {
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
	ip.Encode(&wire.IPv4Fields{TotalLen: uint16(40 + n), TTL: 64, DF: true, Protocol: wire.ProtoTCP, Src: key.src.Addr(), Dst: key.dst.Addr()})
	ip.SetChecksum()
	seg := wire.TCP(frame[wire.EthernetHeaderLen+20:])
	seg.Encode(&wire.TCPFields{SrcPort: key.src.Port(), DstPort: key.dst.Port(), Seq: seq, Ack: ack, Flags: flags, Window: uint16(win)})
	for i := 0; i < n; i++ {
		seg[20+i] = patternByte(int64(i))
	}
	seg.SetChecksum(key.src.Addr(), key.dst.Addr())
	r.event(dst.Name, "inject: "+p.Text)
	nic.Deliver(stack.Packet{ID: r.net.NextPacketID(), Data: frame})
}
