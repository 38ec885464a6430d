package tcp

import (
	"net/netip"
	"strconv"

	"stacklab/stack/core"
)

// minPathMSS is the smallest MSS path MTU discovery will go down to: a
// 128-byte packet, enough for the header and options with payload to
// spare. (RFC 1191 §3 lets the MTU fall to 68; Linux stops at 552.)
const minPathMSS = 128 - 40

// PathMTU tells the connection from local to remote that a router on the
// path could not forward one of its segments without fragmenting it and
// that the next hop takes at most mtu bytes (an ICMP "fragmentation
// needed", RFC 1191 §4). The connection's MSS shrinks to fit and what is
// in flight — all of it sent too big, and dropped — is resent at once in
// smaller segments, without a congestion response: the loss was not
// congestion (RFC 1191 §6.3, Linux's tcp_simple_retransmit).
func (p *Proto) PathMTU(local, remote netip.AddrPort, mtu int) {
	c := p.conns[core.Tuple{Local: local, Remote: remote}]
	if c == nil || !c.state.synchronized() || c.dead {
		return
	}
	mss := max(mtu-40, minPathMSS) // 20 bytes of IPv4, 20 of TCP
	if mss >= c.mss {
		return
	}
	why := "ICMP fragmentation needed → path MTU " + strconv.Itoa(mtu) + ", resend"
	if p.net.Tracing() {
		p.net.Observe(&core.Event{Kind: core.EventNote, Proto: "tcp", Conn: c.tuple, FD: -1,
			Name: "pmtu", Detail: "path MTU " + strconv.Itoa(mtu) + ": MSS " + strconv.Itoa(c.mss) + " → " + strconv.Itoa(mss)})
	}
	c.mss = mss
	c.cc.SetMSS(c.sendMSS())
	if c.sndUna == c.sndMax {
		return
	}
	c.inRecovery = false
	c.dupAcks = 0
	c.rttTiming = false // Karn: what follows is a retransmission
	c.sackTimeout()
	c.sndNxt = c.sndUna
	c.retransEvent(why)
	c.sendSegment(why, true)
	c.armRTO()
}

// HardError reports an ICMP error that RFC 1122 §4.2.3.9 calls hard
// (port or protocol unreachable) for the connection from local to remote.
// A connection still being opened fails with err, as on Linux; an
// established one carries on, its own timers deciding.
func (p *Proto) HardError(local, remote netip.AddrPort, err error) {
	c := p.conns[core.Tuple{Local: local, Remote: remote}]
	if c == nil || c.dead || (c.state != SynSent && c.state != SynReceived) {
		return
	}
	if p.net.Tracing() {
		p.net.Observe(&core.Event{Kind: core.EventNote, Proto: "tcp", Conn: c.tuple, FD: -1,
			Name: "icmp", Detail: "hard ICMP error → " + err.Error()})
	}
	c.fail(err)
}
