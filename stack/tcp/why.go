package tcp

// Reasons given to Net.Output for the capture comment of each segment.
// They are constants so that the hot path allocates nothing; a formatted
// variant with numbers is built only when tracing.
const (
	whyConnect         = "connect"
	whySynReceived     = "SYN received"
	whySynCookie       = "SYN received, SYN queue full: SYN cookie (RFC 4987)"
	whySimOpen         = "simultaneous open → SYN-ACK"
	whySynRetrans      = "rto → SYN retransmit"
	whySynAckRetrans   = "rto → SYN-ACK retransmit"
	whyHandshakeAck    = "SYN-ACK received → ACK"
	whySend            = "send"
	whyAckOfData       = "ack of data"
	whyQuickAck        = "quick ack (Linux quick-ACK mode)"
	whyECE             = "CE received → ACK with ECE"
	whyAckOpened       = "ACK opened window"
	whyDupAck          = "out-of-order data → dup ACK"
	whyOutOfWindow     = "out-of-window segment → ACK"
	whyProbeAck        = "probe → ACK"
	whyDelayedAck      = "delayed ack timer"
	whyWindowUpdate    = "window update"
	whyRTO             = "rto"
	whyAfterRTO        = "retransmit after rto (slow start)"
	whyPMTUResend      = "path MTU lowered → resend in smaller segments"
	whyFastRetransmit  = "3 dup ACKs → fast retransmit"
	whyPartialAck      = "partial ACK → retransmit"
	whySACKRetransmit  = "SACK recovery → retransmit"
	whyLimitedTransmit = "limited transmit (RFC 3042)"
	whySACKLoss        = "SACKed data past SND.UNA → fast retransmit (RFC 6675)"
	whyKeepAlive       = "keepalive probe"
	whyZeroWindowProbe = "zero-window probe"
	whyWindowProbe     = "probe timer → what the window takes"
	whyClose           = "close → FIN"
	whyAckFIN          = "FIN received → ACK"
	whyTimeWaitAck     = "FIN in TIME_WAIT → ACK"
	whyRSTNoSocket     = "RST: no socket"
	whyRSTListen       = "RST: ACK to listener"
	whyRSTAbort        = "abort → RST"
	whyRSTKeepAlive    = "keepalive timeout → RST"
	whyRSTUnread       = "close with unread data → RST"
	whyRSTOrphans      = "too many orphans → RST"
	whyRSTData         = "data after close → RST"
	whyRSTDataAfterFIN = "data after the peer's FIN → RST"
	whyRSTSynFinWait2  = "SYN to a closed connection in FIN_WAIT_2 → RST"
	whyRSTBadAck       = "RST: unacceptable ACK"
	whyRSTSynRecv      = "RST: SYN in the window of SYN_RECEIVED"
	whySynAckDupSyn    = "SYN retransmitted → SYN-ACK again"
	whyChallengeAck    = "challenge ACK (RFC 5961)"
	whyPAWS            = "PAWS: old timestamp → ACK"
)

// Reasons of the loss-recovery segments of rack.go.
const (
	whyRACKRetransmit = "RACK: lost → retransmit"
	whyTLP            = "TLP probe: last segment again"
	whyTLPNew         = "TLP probe: new data"
	whyDSACK          = "duplicate data → D-SACK"
	whyDSACKFIN       = "duplicate FIN → D-SACK"
)

// whyTxReady: new data the interface's full queue held back (tsq.go).
const whyTxReady = "transmit queue has room → send"
