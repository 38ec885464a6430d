package tcp

import "syscall"

// recoveryMode is a connection's loss-recovery algorithm.
type recoveryMode uint8

const (
	// recoveryRACK is RACK-TLP (RFC 8985) with PRR (RFC 6937), as Linux:
	// losses are detected from send times, a tail loss probe replaces
	// most timeouts (rack.go). Without SACK it falls back to NewReno.
	recoveryRACK recoveryMode = iota
	// recoverySACK is RFC 6675: three duplicate ACKs or IsLost start
	// recovery; NextSeg chooses what to send while pipe < cwnd.
	recoverySACK
	// recoveryNewReno is RFC 5681 §3.2 with RFC 6582: duplicate ACKs
	// counted, one retransmission per partial ACK, window inflation.
	// SACK blocks, if negotiated, are still kept (an RTO skips what
	// they cover) but do not drive recovery.
	recoveryNewReno
)

// RecoveryNames lists the loss-recovery algorithms [Config.Recovery]
// and [Conn.SetRecovery] accept, the default first.
var RecoveryNames = []string{"rack", "sack", "newreno"}

// parseRecovery returns the mode named name ("" is the default).
func parseRecovery(name string) (recoveryMode, bool) {
	switch name {
	case "", "rack":
		return recoveryRACK, true
	case "sack":
		return recoverySACK, true
	case "newreno":
		return recoveryNewReno, true
	}
	return 0, false
}

// String returns the mode's name.
func (m recoveryMode) String() string {
	switch m {
	case recoveryNewReno:
		return "newreno"
	case recoverySACK:
		return "sack"
	}
	return "rack"
}

// SetRecovery selects the connection's loss-recovery algorithm by name
// (see [RecoveryNames]). It takes effect at the next loss; a recovery
// under way is ended as if by its full ACK. It returns syscall.ENOENT
// for an unknown name.
func (c *Conn) SetRecovery(name string) error {
	m, ok := parseRecovery(name)
	if !ok {
		return syscall.ENOENT
	}
	if c.inRecovery && m != c.recMode {
		c.inRecovery = false
		c.dupAcks = 0
		c.cc.ExitRecovery(c.p.net.Now(), int(c.sndUna.Size(c.sndMax)))
	}
	c.recMode = m
	return nil
}
