package tcp

import "stacklab/stack/tcp/cc"

// HyStart settings [Config.HyStart] accepts.
const (
	// HyStartClassic is Linux's HyStart (tcp_cubic, hystart=1): the
	// linux profile's default for CUBIC.
	HyStartClassic = "classic"
	// HyStartPlusPlus is HyStart++ (RFC 9406): the rfc profile's
	// default.
	HyStartPlusPlus = "hystart++"
	// HyStartOff lets slow start run until the first loss: the linux
	// profile's default for NewReno (Linux's reno has no HyStart).
	HyStartOff = "off"
)

// HyStartNames lists the values [Config.HyStart] accepts; "" means the
// profile's default.
var HyStartNames = []string{HyStartClassic, HyStartPlusPlus, HyStartOff}

// hystartMode returns the HyStart a controller named ccName runs under
// the stack's configuration: the one Config.HyStart names, or the
// profile's default (linux: Linux's HyStart with CUBIC, none with
// NewReno, as Linux's congestion-control modules; rfc: HyStart++).
func (p *Proto) hystartMode(ccName string) cc.HyStartMode {
	switch p.cfg.HyStart {
	case HyStartClassic:
		return cc.HyStartClassic
	case HyStartPlusPlus:
		return cc.HyStartPlusPlus
	case HyStartOff:
		return cc.HyStartOff
	}
	if !p.linux {
		return cc.HyStartPlusPlus
	}
	if ccName == "cubic" {
		return cc.HyStartClassic
	}
	return cc.HyStartOff
}

// ccConfig returns the controller configuration for a controller named
// name on a connection whose SMSS is mss.
func (p *Proto) ccConfig(name string, mss int) cc.Config {
	return cc.Config{MSS: mss, PerPacket: p.linux, Linux: p.linux, HyStart: p.hystartMode(name), HZ: p.ccHZ()}
}
