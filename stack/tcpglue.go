package stack

import (
	"math/rand/v2"
	"net/netip"
	"syscall"
	"time"

	"stacklab/stack/core"
	"stacklab/stack/tcp"
	"stacklab/stack/wire"
)

// tcpNet is the network layer as the TCP engine sees it. Every method
// runs with the stack's lock held.
type tcpNet struct{ s *Stack }

func (t tcpNet) Now() time.Time { return t.s.now() }

func (t tcpNet) AfterFunc(d time.Duration, f func()) core.Timer { return t.s.afterFunc(d, f) }

func (t tcpNet) Rand() *rand.Rand { return t.s.opts.Rand }

func (t tcpNet) Route(remote netip.Addr) (netip.Addr, int, error) {
	n, _, ok := t.s.route(remote)
	if !ok {
		return netip.Addr{}, 0, syscall.ENETUNREACH
	}
	if remote.Is6() && !remote.Is4In6() {
		return sourceFor(n, remote), n.MTU6(), nil
	}
	return sourceFor(n, remote), min(n.cfg.MTU, wire.IPv4MaxTotalLen), nil // lo's 65536 is more than IPv4 can carry
}

// TxFull implements tcp.TxQueueNet: whether the interface toward remote
// has a transmit queue (a [QueueLink]) and it is full.
func (t tcpNet) TxFull(remote netip.Addr) bool {
	if t.s.qlinks == 0 {
		return false
	}
	n, _, ok := t.s.route(remote)
	return ok && n.qlink != nil && n.qlink.TxFull()
}

// txReady resumes the TCP connections a full transmit queue held back.
func (s *Stack) txReady() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tcp.TxReady()
}

func (t tcpNet) IsLocal(a netip.Addr) bool { return t.s.isLocal(a) }

// IsGroupAddr implements tcp.GroupNet.
func (t tcpNet) IsGroupAddr(a netip.Addr) bool { return t.s.groupAddr(a) }

// SegmentBuffer implements tcp.SegmentBufferNet: the room after
// segHeadroom in the frame buffer, where ipSendOpts and ip6SendVia find a
// segment already in place and write only the headers before it.
func (t tcpNet) SegmentBuffer() []byte { return t.s.out[segHeadroom:cap(t.s.out)] }

func (t tcpNet) Output(local, remote netip.Addr, seg []byte, why string) {
	t.OutputECN(local, remote, seg, why, 0)
}

// OutputECN implements tcp.ECNNet: the segment leaves with ecn in the
// IP header's ECN field (RFC 3168 §5).
func (t tcpNet) OutputECN(local, remote netip.Addr, seg []byte, why string, ecn uint8) {
	t.OutputIP(local, remote, seg, why, tcp.IPHeader{TOS: ecn & 3, DF: true})
}

// OutputIP implements tcp.IPNet: the segment leaves with the socket's
// IP_TTL (0: the stack's) and IP_TOS, with DF unless the socket's
// IP_MTU_DISCOVER says otherwise, and then with the identification TCP
// chose. Segments fit the route's MTU (the MSS is clamped to it), so
// none is ever fragmented.
func (t tcpNet) OutputIP(local, remote netip.Addr, seg []byte, why string, h tcp.IPHeader) {
	ttl := h.TTL
	if ttl == 0 {
		ttl = t.s.opts.TTL
	}
	pol := dfOff
	if h.DF {
		pol = dfOn
		t.s.txID, t.s.txIDSet = h.ID, true
	}
	if h.Flow != 0 {
		t.s.txFlow, t.s.txFlowSet = h.Flow, true
	}
	t.s.txPartial = t.s.txOffload // TCP left the checksum out (SetChecksumOffload)
	err := t.s.ipSendChecksummed(ttl, h.TOS, local, remote, wire.ProtoTCP, seg, pol, why)
	t.s.txPartial, t.s.txIDSet, t.s.txFlowSet = false, false, false
	if err != nil && t.s.opts.Observer != nil {
		t.s.observe(&Event{Kind: EventDrop, Proto: "tcp", Name: "ip.OutNoRoutes", Detail: "tcp output: " + err.Error()})
	}
}

func (t tcpNet) Observe(ev *core.Event) {
	if t.s.opts.Observer != nil {
		t.s.observe(ev)
	}
}

func (t tcpNet) Tracing() bool { return t.s.opts.Observer != nil }

func (t tcpNet) Series() bool { return t.s.series }

// tcpConfig converts the stack's TCP options to the engine's.
// tcpConfig is the stack's TCP configuration: its TCP options and its
// ephemeral port range.
func (s *Stack) tcpConfig(o TCPOptions) tcp.Config {
	c := tcpConfigOf(o)
	c.PortFirst, c.PortLast = s.opts.LocalPortRange[0], s.opts.LocalPortRange[1]
	return c
}

func tcpConfigOf(o TCPOptions) tcp.Config {
	return tcp.Config{
		MSL:               o.MSL,
		Profile:           o.Profile,
		SynAckRetries:     o.SynAckRetries,
		ECN:               o.ECN,
		SendBuffer:        o.SendBuffer,
		RecvBuffer:        o.RecvBuffer,
		NoDelay:           o.NoDelay,
		NoDelayedAck:      o.NoDelayedAck,
		DelayedAckTime:    o.DelayedAckTime,
		RTOMin:            o.RTOMin,
		RTOMax:            o.RTOMax,
		RTOInitial:        o.RTOInitial,
		Retries:           o.Retries,
		SynRetries:        o.SynRetries,
		SynLinearTimeouts: o.SynLinearTimeouts,
		Congestion:        o.Congestion,
		Recovery:          o.Recovery,
		NoDSACK:           o.NoDSACK,
		NoFRTO:            o.NoFRTO,
		HyStart:           o.HyStart,
		NoSACK:            o.NoSACK,
		NoTimestamps:      o.NoTimestamps,
		NoWindowScale:     o.NoWindowScale,
		KeepIdle:          o.KeepIdle,
		KeepInterval:      o.KeepInterval,
		KeepCount:         o.KeepCount,
		SynBacklog:        o.SynBacklog,
		MaxTimeWait:       o.MaxTimeWait,
		TimeWaitReuse:     o.TimeWaitReuse,
		MaxOrphans:        o.MaxOrphans,
		NoSynCookies:      o.NoSynCookies,
		OrphanRetries:     o.OrphanRetries,
		RmemMax:           o.RmemMax,
		RmemDefault:       o.RmemDefault,
		WmemDefault:       o.WmemDefault,
		NoIdleRestart:     o.NoIdleRestart,
		NoTLP:             o.NoTLP,
		NoTSODefer:        o.NoTSODefer,
		NotSentLowat:      o.NotSentLowat,
		HZ:                o.HZ,

		InvalidRateLimit:  o.InvalidRateLimit,
		ChallengeACKLimit: o.ChallengeACKLimit,
	}
}

func tcpInfo(i tcp.Info) TCPInfo {
	return TCPInfo{
		SndWScale:       i.SndWScale,
		RcvWScale:       i.RcvWScale,
		SACK:            i.SACK,
		Timestamps:      i.Timestamps,
		RcvMSS:          i.RcvMSS,
		Unacked:         i.Unacked,
		SndCwnd:         i.Linux.SndCwnd, // in segments of the payload MSS, as tcpi_snd_cwnd
		State:           i.State.String(),
		MSS:             i.MSS,
		Cwnd:            i.Cwnd,
		Ssthresh:        i.Ssthresh,
		SRTT:            i.SRTT,
		RTTVar:          i.RTTVar,
		RTO:             i.RTO,
		SndWnd:          i.SndWnd,
		RcvWnd:          i.RcvWnd,
		Retransmits:     int(i.Retransmits),
		RTOs:            int(i.RTOs),
		FastRetransmits: int(i.FastRetransmits),
		BytesSent:       i.BytesSent,
		BytesAcked:      i.BytesAcked,
		BytesReceived:   i.BytesReceived,
		Congestion:      i.Congestion,
		Recovery:        i.Recovery,
	}
}
