package tcp

import (
	"net/netip"
	"strconv"

	"stacklab/stack/core"
	"stacklab/stack/tcp/seqnum"
)

// minPathMTU is the smallest path MTU discovery goes down to: a quoted
// MTU below it is taken as this (RFC 1191 §3 lets the MTU fall to 68;
// Linux's min_pmtu stops at 552, so a forged "fragmentation needed"
// cannot make a connection send tiny segments).
const minPathMTU = 552

// icmpConn returns the connection an ICMP error quoting a segment from
// local to remote with sequence number seq is about, or nil when there
// is none or seq is not one it has sent: RFC 5927 §4.1, as Linux's
// tcp_v4_err, which takes only a quoted sequence number in
// [SND.UNA, SND.NXT] (the highest sent), so that an off-path attacker
// must guess it. Such errors are counted as OutOfWindowICMPs. A
// connection in TIME_WAIT, or an orphan in FIN_WAIT_2, ignores them all,
// as Linux's timewait socket, which both are there (tcp_v4_err and
// tcp_v6_err return at once for one; a packed one is not in conns).
func (p *Proto) icmpConn(local, remote netip.AddrPort, seq uint32) *Conn {
	c := p.conns[core.Tuple{Local: local, Remote: remote}]
	if c == nil || c.dead || c.timewaitSock() {
		return nil
	}
	if s := seqnum.Value(seq); s.LessThan(c.sndUna) || c.sndMax.LessThan(s) {
		p.counters.OutOfWindowICMPs++
		if p.net.Tracing() {
			p.net.Observe(&core.Event{Kind: core.EventDrop, Proto: "tcp", Conn: c.tuple, FD: -1,
				Name: "OutOfWindowICMPs", Detail: "ICMP error quoting a sequence number not in flight"})
		}
		return nil
	}
	return c
}

// PathMTU tells the connection from local to remote that a router on the
// path could not forward one of its segments without fragmenting it and
// that the next hop takes at most mtu bytes (an ICMP "fragmentation
// needed", RFC 1191 §4) quoting a segment with sequence number seq
// (see icmpConn; mtu is taken as at least 552). The connection's MSS
// shrinks to fit and what is in flight — all of it sent too big, and
// dropped — is resent at once in smaller segments, as many as the
// congestion window holds, without a congestion response: the loss was not
// congestion (RFC 1191 §6.3, Linux's tcp_simple_retransmit).
func (p *Proto) PathMTU(local, remote netip.AddrPort, seq uint32, mtu int) {
	c := p.icmpConn(local, remote, seq)
	if c == nil || !c.state.synchronized() {
		return
	}
	mss := max(mtu, minPathMTU) - 40 // 20 bytes of IPv4, 20 of TCP
	if !local.Addr().Is4() {
		// IPv6 links carry at least 1280 bytes (RFC 8200 §5); the
		// header is 40 bytes, TCP's 20.
		mss = max(mtu, 1280) - 60
	}
	if mss >= c.mss {
		return
	}
	why := "ICMP fragmentation needed → path MTU " + strconv.Itoa(mtu) + ", resend"
	if !local.Addr().Is4() {
		why = "ICMPv6 packet too big → path MTU " + strconv.Itoa(mtu) + ", resend"
	}
	if p.net.Tracing() {
		p.net.Observe(&core.Event{Kind: core.EventNote, Proto: "tcp", Conn: c.tuple, FD: -1,
			Name: "pmtu", Detail: "path MTU " + strconv.Itoa(mtu) + ": MSS " + strconv.Itoa(c.mss) + " → " + strconv.Itoa(mss)})
	}
	c.mss = mss
	c.ti.pmtu = int32(max(mtu, minPathMTU))
	c.cc.SetMSS(c.sendMSS())
	if c.sndUna == c.sndMax {
		return
	}
	c.inRecovery = false
	c.dupAcks = 0
	c.rttTiming = false // Karn: what follows is a retransmission
	c.sackTimeout()
	sent := c.sndMax
	c.sndNxt = c.sndUna
	c.retransEvent(why)
	// Everything in flight went too big: all of it is resent now, as far
	// as the congestion window allows (Linux's tcp_simple_retransmit
	// marks each such segment lost and tcp_xmit_retransmit_queue sends
	// them at once), the first even past it.
	if c.sendSegment(why, true) {
		for c.sndNxt.LessThan(sent) && c.sendSegment(whyPMTUResend, false) {
		}
	}
	c.armRTO()
}

// HardError reports an ICMP error (other than one for path MTU
// discovery) for the connection from local to remote, quoting a segment
// with sequence number seq (see icmpConn). As Linux's tcp_v4_err and
// tcp_v6_err, a connect in SYN_SENT fails with err whatever the error
// (so a host unreachable ends connect with EHOSTUNREACH at once); a
// passive opening in SYN_RECEIVED ends only when synRecv says the error
// drops Linux's request socket (tcp_req_err); an established connection
// carries on, its own timers deciding (RFC 1122 §4.2.3.9).
func (p *Proto) HardError(local, remote netip.AddrPort, seq uint32, err error, synRecv bool) {
	c := p.icmpConn(local, remote, seq)
	if c == nil || c.state != SynSent && (c.state != SynReceived || !synRecv) {
		return
	}
	if p.net.Tracing() {
		p.net.Observe(&core.Event{Kind: core.EventNote, Proto: "tcp", Conn: c.tuple, FD: -1,
			Name: "icmp", Detail: "hard ICMP error → " + err.Error()})
	}
	c.fail(err)
}

// ipTCPHeaderLen is the size of the IP and TCP headers of a segment from
// local: 40 over IPv4, 60 over IPv6 (the MSS is the MTU less these,
// RFC 9293 §3.7.1, RFC 8200 §8.3).
// maxPacket is the largest IP packet of local's family: IPv4's total
// length stops at 65535; IPv6's payload length leaves its 40-byte header
// out (no jumbograms), so a link MTU of 65536 (Linux's lo) is usable.
func maxPacket(local netip.Addr) int {
	if local.Is4() {
		return 65535
	}
	return 65535 + 40
}

func ipTCPHeaderLen(local netip.Addr) int {
	if local.Is4() {
		return 40
	}
	return 60
}
