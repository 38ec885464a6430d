package tcp

// Counters are a stack's TCP statistics, named as in Linux's
// `netstat -s` / nstat (Tcp* and TcpExt*). Drops are counted by reason.
type Counters struct {
	ActiveOpens  uint64 // connect calls that sent a SYN
	PassiveOpens uint64 // connections created from a listener
	AttemptFails uint64 // SYN_SENT/SYN_RECEIVED → CLOSED
	EstabResets  uint64 // ESTABLISHED/CLOSE_WAIT → CLOSED by RST
	CurrEstab    uint64 // connections now ESTABLISHED or CLOSE_WAIT
	InSegs       uint64 // segments received, errors included
	OutSegs      uint64 // segments sent, retransmissions excluded
	RetransSegs  uint64 // segments retransmitted
	InErrs       uint64 // segments dropped as malformed or with a bad checksum
	InCsumErrors uint64 // segments with a bad checksum
	OutRsts      uint64 // RSTs sent

	FastRetrans      uint64 // fast retransmits (RFC 5681 §3.2)
	Timeouts         uint64 // retransmission timer expirations
	SACKRecovery     uint64 // recoveries entered with SACK (RFC 6675)
	RenoRecovery     uint64 // recoveries entered without SACK (RFC 6582)
	DelayedACKs      uint64 // delayed ACKs sent by the timer
	ChallengeACKs    uint64 // RFC 5961 challenge ACKs sent
	KeepAliveProbes  uint64
	ZeroWindowProbes uint64
	TimeWaitRecycled uint64 // TIME_WAIT connections ended by a new SYN, or reused by a connect
	TimeWaitOverflow uint64 // connections closed at once rather than enter TIME_WAIT (or FIN_WAIT_2, orphaned) beyond Config.MaxTimeWait (TCPTimeWaitOverflow)

	RACKRecovery      uint64 // recoveries entered on losses RACK detected (RFC 8985)
	RACKReoTimeouts   uint64 // RACK reordering timer expirations
	LossProbes        uint64 // tail loss probes sent (TCPLossProbes)
	LossProbeRecovery uint64 // losses repaired by a probe (TCPLossProbeRecovery)
	DSACKSent         uint64 // D-SACK blocks sent for duplicate data (TCPDSACKOldSent + TCPDSACKOfoSent)
	DSACKRecv         uint64 // D-SACK blocks received (TCPDSACKRecv)
	Undos             uint64 // window reductions undone as spurious (TCPDSACKUndo + TCPFullUndo + TCPLossUndo)
	HyStartExits      uint64 // slow starts HyStart ended before a loss: HyStart++ after CSS, or Linux's HyStart
	HyStartTrain      uint64 // of those, Linux's HyStart on the ACK train (TCPHystartTrainDetect)
	HyStartDelay      uint64 // of those, Linux's HyStart on the RTT rise (TCPHystartDelayDetect)
	InCEMarks         uint64 // data segments that arrived marked CE (RFC 3168)
	ECNReductions     uint64 // congestion windows reduced for ECE (RFC 3168 §6.1.2)

	DropNoSocket       uint64 // no connection or listener: answered with RST
	DropMalformed      uint64 // too short, bad data offset; bad option lengths under the rfc profile
	DropBadChecksum    uint64 // same as InCsumErrors
	DropOutOfWindow    uint64 // unacceptable sequence number (ACK sent)
	DropPAWS           uint64 // timestamp older than TS.Recent (RFC 7323 §5)
	DropAckTooNew      uint64 // ACK of data not yet sent
	DropAckTooOld      uint64 // ACK below SND.UNA − MAX.SND.WND (RFC 5961 §5)
	DropNoACK          uint64 // synchronized state, ACK bit off
	DropListenOverflow uint64 // accept queue full
	DeferAcceptDrop    uint64 // the handshake's bare ACK, dropped under TCP_DEFER_ACCEPT (Linux's TCPDeferAcceptDrop)
	DropSynQueueFull   uint64 // SYN queue full, SYN cookies off (TCPReqQFullDrop)
	DropOFOQueueFull   uint64 // out-of-order segment with no room to keep it
	DropRcvBufFull     uint64 // data beyond the receive window
	DropChallengeLimit uint64 // challenge ACK suppressed by the rate limit
	DropRSTIgnored     uint64 // RST out of window or unacceptable
	DropSynSent        uint64 // unacceptable segment in SYN_SENT
	DropClosed         uint64 // segment for a connection that has closed
	AbortOnTimeout     uint64 // connections ended by the retransmission, persist or keepalive timer (ETIMEDOUT)
	AbortOnMemory      uint64 // connections closed with a RST beyond Config.MaxOrphans (TCPAbortOnMemory)
	OutOfWindowICMPs   uint64 // ICMP errors quoting a sequence number not in flight: ignored (RFC 5927 §4.1)
	SyncookiesSent     uint64 // SYN-ACKs with a SYN cookie (the SYN queue was full)
	SyncookiesRecv     uint64 // handshakes completed with a valid SYN cookie
	SyncookiesFailed   uint64 // ACKs to a listener with an invalid cookie
	PortsExhausted     uint64 // connects refused (EADDRNOTAVAIL): no free ephemeral port to the destination
	TxQueueFull        uint64 // times new data waited because the interface's transmit queue was full (tsq.go)
	InBadOptions       uint64 // segments taken with their options read only up to one with a bad length (linux profile)
	DelayedACKLost     uint64 // data or a FIN received again: our ACK of it was lost, or the sender timed out (DelayedACKLost)
	DupDataRehash      uint64 // new transmit hashes (IPv6 flow labels) drawn for duplicate data that came with a new flow label (TCPDuplicateDataRehash)
	SpuriousRTOs       uint64 // retransmission timeouts F-RTO found spurious, their reduction undone (TCPSpuriousRTOs)
	TSODeferred        uint64 // times new data the windows allowed waited for a bigger GSO packet (linux profile, Linux's tcp_tso_should_defer; tsodefer.go)

	// RFC 5961 and unacceptable segments (Linux's TcpExt names in brackets).
	SynChallenges       uint64 // SYNs on a synchronized connection, in or out of the window, answered by a challenge ACK if the limits allow (TCPSYNChallenge)
	AckSkippedSeq       uint64 // out-of-window pure ACKs left unanswered by the per-connection limit (TCPACKSkippedSeq)
	AckSkippedPAWS      uint64 // pure ACKs failing PAWS left unanswered by the per-connection limit (TCPACKSkippedPAWS)
	AckSkippedTimeWait  uint64 // pure ACKs and SYNs to a connection in TIME_WAIT left unanswered by the per-connection limit (TCPACKSkippedTimeWait)
	AckSkippedFinWait2  uint64 // the same for an orphan in FIN_WAIT_2 (TCPACKSkippedFinWait2)
	AbortOnData         uint64 // connections closed by the application reset by data arriving after, or by a close with SO_LINGER 0 (TCPAbortOnData, which Linux counts for both)
	AbortOnClose        uint64 // connections reset by a close that found unread data (TCPAbortOnClose)
	DropChallengeGlobal uint64 // challenge ACKs suppressed by the host-wide ChallengeACKLimit
	DropSynNoRoute      uint64 // SYNs to a listener with no route back to answer them (counted in Linux's ListenDrops)

	// SYN_RECEIVED of a passive open under the linux profile (Linux's tcp_check_req).
	AckSkippedSynRecv uint64 // retransmitted SYNs and unacceptable segments in SYN_RECEIVED left unanswered by the per-connection limit (TCPACKSkippedSynRecv)
	EmbryonicRsts     uint64 // connections in SYN_RECEIVED ended by an in-window RST or SYN (EmbryonicRsts)

	// SYNs dropped with SYN cookies off because less than a quarter of
	// tcp_max_syn_backlog (Config.SynBacklog) was free (Linux counts
	// them in ListenDrops only).
	DropSynBacklog uint64
}

// Counter is one named counter value.
type Counter struct {
	Name  string
	Value uint64
}

// List returns every counter as a (name, value) pair, in a fixed order.
func (c *Counters) List() []Counter {
	return []Counter{
		{"ActiveOpens", c.ActiveOpens},
		{"PassiveOpens", c.PassiveOpens},
		{"AttemptFails", c.AttemptFails},
		{"EstabResets", c.EstabResets},
		{"CurrEstab", c.CurrEstab},
		{"InSegs", c.InSegs},
		{"OutSegs", c.OutSegs},
		{"RetransSegs", c.RetransSegs},
		{"InErrs", c.InErrs},
		{"InCsumErrors", c.InCsumErrors},
		{"OutRsts", c.OutRsts},
		{"FastRetrans", c.FastRetrans},
		{"Timeouts", c.Timeouts},
		{"SACKRecovery", c.SACKRecovery},
		{"RenoRecovery", c.RenoRecovery},
		{"DelayedACKs", c.DelayedACKs},
		{"ChallengeACKs", c.ChallengeACKs},
		{"KeepAliveProbes", c.KeepAliveProbes},
		{"ZeroWindowProbes", c.ZeroWindowProbes},
		{"TimeWaitRecycled", c.TimeWaitRecycled},
		{"TimeWaitOverflow", c.TimeWaitOverflow},
		{"RACKRecovery", c.RACKRecovery},
		{"RACKReoTimeouts", c.RACKReoTimeouts},
		{"LossProbes", c.LossProbes},
		{"LossProbeRecovery", c.LossProbeRecovery},
		{"DSACKSent", c.DSACKSent},
		{"DSACKRecv", c.DSACKRecv},
		{"Undos", c.Undos},
		{"HyStartExits", c.HyStartExits},
		{"InCEMarks", c.InCEMarks},
		{"ECNReductions", c.ECNReductions},
		{"DropNoSocket", c.DropNoSocket},
		{"DropMalformed", c.DropMalformed},
		{"DropBadChecksum", c.DropBadChecksum},
		{"DropOutOfWindow", c.DropOutOfWindow},
		{"DropPAWS", c.DropPAWS},
		{"DropAckTooNew", c.DropAckTooNew},
		{"DropAckTooOld", c.DropAckTooOld},
		{"DropNoACK", c.DropNoACK},
		{"DropListenOverflow", c.DropListenOverflow},
		{"DeferAcceptDrop", c.DeferAcceptDrop},
		{"DropSynQueueFull", c.DropSynQueueFull},
		{"DropOFOQueueFull", c.DropOFOQueueFull},
		{"DropRcvBufFull", c.DropRcvBufFull},
		{"DropChallengeLimit", c.DropChallengeLimit},
		{"DropRSTIgnored", c.DropRSTIgnored},
		{"DropSynSent", c.DropSynSent},
		{"DropClosed", c.DropClosed},
		{"AbortOnTimeout", c.AbortOnTimeout},
		{"AbortOnMemory", c.AbortOnMemory},
		{"OutOfWindowICMPs", c.OutOfWindowICMPs},
		{"SyncookiesSent", c.SyncookiesSent},
		{"SyncookiesRecv", c.SyncookiesRecv},
		{"SyncookiesFailed", c.SyncookiesFailed},
		{"PortsExhausted", c.PortsExhausted},
		{"TxQueueFull", c.TxQueueFull},
		{"InBadOptions", c.InBadOptions},
		{"HyStartTrain", c.HyStartTrain},
		{"HyStartDelay", c.HyStartDelay},
		{"SynChallenges", c.SynChallenges},
		{"AckSkippedSeq", c.AckSkippedSeq},
		{"AckSkippedPAWS", c.AckSkippedPAWS},
		{"AckSkippedTimeWait", c.AckSkippedTimeWait},
		{"AckSkippedFinWait2", c.AckSkippedFinWait2},
		{"AbortOnData", c.AbortOnData},
		{"AbortOnClose", c.AbortOnClose},
		{"DropChallengeGlobal", c.DropChallengeGlobal},
		{"DropSynNoRoute", c.DropSynNoRoute},
		{"AckSkippedSynRecv", c.AckSkippedSynRecv},
		{"EmbryonicRsts", c.EmbryonicRsts},
		{"DropSynBacklog", c.DropSynBacklog},
		{"DelayedACKLost", c.DelayedACKLost},
		{"DupDataRehash", c.DupDataRehash},
		{"SpuriousRTOs", c.SpuriousRTOs},
		{"TSODeferred", c.TSODeferred},
	}
}
