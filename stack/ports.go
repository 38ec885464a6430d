package stack

// The ephemeral port range is Options.LocalPortRange, Linux's
// net.ipv4.ip_local_port_range (32768–60999 by default; RFC 6335 §6
// suggests the IANA dynamic range, 49152–65535). Connections take their
// ports in package tcp (RFC 6056 Algorithm 4, even offsets first);
// bind(0), listen on an unbound socket and UDP take theirs here.

// bindPortTCP picks a port for a TCP bind(0) or a listen on an unbound
// socket, as Linux's inet_csk_find_open_port does: from a random odd
// offset in the range it walks the odd ports in steps of two, then the
// even ones, leaving the even ports to connect (whose search starts
// there) as long as possible. free reports whether a port may be taken.
func (s *Stack) bindPortTCP(free func(uint16) bool) (uint16, bool) {
	first, last := int(s.opts.LocalPortRange[0]), int(s.opts.LocalPortRange[1])
	n := last - first + 1
	even := n &^ 1
	if even == 0 {
		if free(uint16(first)) {
			return uint16(first), true // a range of one port
		}
		return 0, false
	}
	offset := s.opts.Rand.IntN(even) | 1
	for pass := range 2 {
		for i := 0; i < even; i += 2 {
			k := (offset + i) % even
			if p := uint16(first + k); free(p) {
				return p, true
			}
		}
		if pass == 0 {
			offset-- // the other parity
		}
	}
	if n != even && free(uint16(last)) {
		return uint16(last), true // an odd-sized range's last port
	}
	return 0, false
}

// bindPortUDP picks a port for a UDP bind(0) or the implicit bind of a
// first send, as Linux's udp_lib_get_port does: a random port in the
// range, either parity (RFC 6056 §3.3.1, Algorithm 1), the next free one
// after it if it is taken.
func (s *Stack) bindPortUDP(free func(uint16) bool) (uint16, bool) {
	first := int(s.opts.LocalPortRange[0])
	n := int(s.opts.LocalPortRange[1]) - first + 1
	start := s.opts.Rand.IntN(n)
	for i := range n {
		if p := uint16(first + (start+i)%n); free(p) {
			return p, true
		}
	}
	return 0, false
}
