package tcp

// ECN settings ([Config.ECN]), as Linux's net.ipv4.tcp_ecn.
const (
	ECNOff     = "off"     // never: tcp_ecn=0
	ECNPassive = "passive" // accept when the peer asks, do not ask: tcp_ecn=2, Linux's default
	ECNOn      = "on"      // ask on connect, accept when asked: tcp_ecn=1
)

// ECNNames lists the values [Config.ECN] accepts, the default first.
var ECNNames = []string{ECNPassive, ECNOn, ECNOff}
