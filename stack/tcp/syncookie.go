package tcp

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"time"

	"stacklab/stack/core"
	"stacklab/stack/tcp/seqnum"
)

// SYN cookies (RFC 4987 §3.6), used as Linux does (tcp_syncookies=1):
// only while a listener's SYN queue is full, a SYN is answered with a
// SYN-ACK whose sequence number encodes the connection, and nothing is
// kept; the ACK that completes the handshake is checked against the
// cookie and the connection created then, straight into the accept
// queue. A flood of spoofed SYNs then costs no memory and a legitimate
// client connects at once.
//
// The cookie, like Linux's cookie_v4_init_sequence: the peer's ISN plus
// a keyed hash of the 4-tuple, a minute counter in the top 8 bits, and
// in the low 24 bits a second hash (keyed with the counter too) plus the
// index of the MSS in cookieMSS. A cookie is good for 2 minutes.
//
// When the SYN carried timestamps (and the stack uses them), the other
// options travel in the low 6 bits of the SYN-ACK's TSval, which the
// peer echoes in the TSecr of its ACK, as Linux's cookie_init_timestamp
// and cookie_timestamp_decode: bits 0-3 the peer's window scale (15: no
// window scaling), bit 4 SACK permitted, bit 5 ECN; the clock's other
// bits are kept, rounded down so that the TSval never runs ahead of the
// clock. The connection then has window scaling, SACK, timestamps and
// ECN as a SYN-queue connection would. Without timestamps it has none of
// them, as on Linux.

// cookieMSS are the MSS values a cookie can carry over IPv4 (Linux's
// msstab), cookieMSS6 over IPv6 (msstab6: MTUs 1280, 1480, 1500 and
// 9000 less the headers).
var (
	cookieMSS  = [...]int{536, 1300, 1440, 1460}
	cookieMSS6 = [...]int{1220, 1420, 1440, 8940}
)

// cookieTable is the MSS table of a connection from local.
func cookieTable(local netip.Addr) [4]int {
	if local.Is4() {
		return cookieMSS
	}
	return cookieMSS6
}

// cookieMaxAge is how many minutes a cookie stays valid (Linux's
// MAX_SYNCOOKIE_AGE).
const cookieMaxAge = 2

// Bits of the options a cookie's timestamp carries (Linux's TS_OPT_*).
const (
	cookieTSBits    = 6
	cookieTSWScale  = 0xf // window scale; all ones: none
	cookieTSSACK    = 1 << 4
	cookieTSECN     = 1 << 5
	cookieTSOptMask = 1<<cookieTSBits - 1
)

// cookieHash is a keyed hash of the 4-tuple and count (IPv4 or IPv6).
func (p *Proto) cookieHash(t core.Tuple, count uint32) uint32 {
	var b [16 + 1 + 36 + 4]byte
	copy(b[:], p.secret[:])
	b[16] = 'C'
	la, ra := t.Local.Addr().As16(), t.Remote.Addr().As16()
	copy(b[17:], la[:])
	copy(b[33:], ra[:])
	binary.BigEndian.PutUint16(b[49:], t.Local.Port())
	binary.BigEndian.PutUint16(b[51:], t.Remote.Port())
	binary.BigEndian.PutUint32(b[53:], count)
	h := sha256.Sum256(b[:])
	return binary.BigEndian.Uint32(h[:])
}

// cookieTSVal returns the TSval of a SYN-ACK answering a SYN with a
// cookie, whose low bits carry the options agreed (before the offset of
// the address pair is added).
func (p *Proto) cookieTSVal(opts uint32) uint32 {
	now := p.tsNow()
	ts := now&^cookieTSOptMask | opts
	if ts > now {
		ts -= 1 << cookieTSBits
	}
	return ts
}

// cookieOptions returns the options bits for a SYN s (timestamps on).
func (p *Proto) cookieOptions(s *segment) uint32 {
	var v uint32 = cookieTSWScale
	if s.opts.HasWScale && !p.cfg.NoWindowScale {
		v = uint32(min(s.opts.WScale, 14))
	}
	if s.opts.SACKPermitted && !p.cfg.NoSACK {
		v |= cookieTSSACK
	}
	if p.cfg.ECN != ECNOff && s.has(flagECE) && s.has(flagCWR) {
		v |= cookieTSECN
	}
	return v
}

func (p *Proto) cookieCount() uint32 {
	return uint32(p.net.Now().Sub(p.epoch) / time.Minute)
}

// makeCookie returns the ISS for a SYN from the peer of t with ISN irs.
func (p *Proto) makeCookie(t core.Tuple, irs seqnum.Value, mssIdx int) seqnum.Value {
	n := p.cookieCount()
	return seqnum.Value(p.cookieHash(t, 0) + uint32(irs) + n<<24 + ((p.cookieHash(t, n) + uint32(mssIdx)) & 0xffffff))
}

// checkCookie checks the ISS a handshake's ACK acknowledges and returns
// the MSS index it carries.
func (p *Proto) checkCookie(t core.Tuple, irs, iss seqnum.Value) (int, bool) {
	v := uint32(iss) - p.cookieHash(t, 0) - uint32(irs)
	now := p.cookieCount()
	age := (now - v>>24) & 0xff
	if age > cookieMaxAge || age > now {
		return 0, false
	}
	idx := (v - p.cookieHash(t, now-age)) & 0xffffff
	if idx >= uint32(len(cookieMSS)) {
		return 0, false
	}
	return int(idx), true
}

// cookieConn builds the connection a cookie stands for: passive, not
// yet in the table, with the options in o (the MSS always; window
// scaling, SACK and timestamps when the cookie carried them).
func (l *Listener) cookieConn(t core.Tuple, mtu int, irs, iss seqnum.Value, o options) *Conn {
	c := l.p.newConn(t, &l.opts, mtu)
	c.passive = true
	c.iss = iss
	c.sndUna, c.sndNxt, c.sndMax = iss, iss, iss
	c.sndBase = iss.Add(1)
	c.recover, c.sndSml = iss, iss
	c.irs = irs
	c.rcvNxt = irs.Add(1)
	c.negotiate(&segment{opts: o})
	return c
}

// sendCookie answers a SYN with a SYN cookie.
func (l *Listener) sendCookie(t core.Tuple, s *segment, mtu int) {
	p := l.p
	// What the connection will be: the MSS always, the rest only when
	// timestamps carry it.
	peer := peerDefaultMSS(t.Local.Addr())
	if s.opts.HasMSS {
		peer = int(s.opts.MSS)
	}
	neg := options{HasMSS: true, MSS: uint16(peer)}
	var bits uint32
	tsOK := s.opts.HasTS && !p.cfg.NoTimestamps
	if tsOK {
		bits = p.cookieOptions(s)
		neg.HasTS, neg.TSVal = true, s.opts.TSVal
		neg.SACKPermitted = bits&cookieTSSACK != 0
		if ws := bits & cookieTSWScale; ws != cookieTSWScale {
			neg.HasWScale, neg.WScale = true, uint8(ws)
		}
	}
	c := l.cookieConn(t, mtu, s.seq, 0, neg)
	idx := 0
	for i, m := range cookieTable(t.Local.Addr()) {
		if m <= min(peer, c.rcvMSS) {
			idx = i
		}
	}
	iss := p.makeCookie(t, s.seq, idx)
	l.lastOverflow = p.net.Now()
	p.counters.SyncookiesSent++
	o := options{HasMSS: true, MSS: uint16(c.rcvMSS)}
	var flags uint8 = flagSYN | flagACK
	if tsOK {
		o.HasTS, o.TSVal, o.TSEcr = true, p.cookieTSVal(bits)+c.tsOffset, s.opts.TSVal
		o.HasWScale, o.WScale = c.wsOK, c.rcvWScale
		o.SACKPermitted = c.sackOK
		if bits&cookieTSECN != 0 {
			flags |= flagECE // an ECN-setup SYN-ACK
		}
	}
	c.xmit(iss, s.seq.Add(1), flags, uint16(c.synWindow()), &o, nil, nil, whySynCookie)
}

// cookieDecode returns the options a handshake's ACK s carries back in
// its TSecr (Linux's cookie_timestamp_decode), and false if they cannot
// be right (options the stack has since turned off).
func (l *Listener) cookieDecode(t core.Tuple, s *segment, mss int) (options, bool) {
	p := l.p
	o := options{HasMSS: true, MSS: uint16(mss)}
	if !s.opts.HasTS || s.opts.TSEcr == 0 {
		return o, true // no timestamps: the MSS only
	}
	if p.cfg.NoTimestamps {
		return o, false
	}
	bits := (s.opts.TSEcr - p.tsOffset(t.Local.Addr(), t.Remote.Addr())) & cookieTSOptMask
	o.HasTS, o.TSVal = true, s.opts.TSVal
	if bits&cookieTSSACK != 0 {
		if p.cfg.NoSACK {
			return o, false
		}
		o.SACKPermitted = true
	}
	if ws := bits & cookieTSWScale; ws != cookieTSWScale {
		if p.cfg.NoWindowScale {
			return o, false
		}
		o.HasWScale, o.WScale = true, uint8(ws)
	}
	return o, true
}

// cookieAck completes a handshake answered with a SYN cookie, if the ACK
// s carries a valid one; it reports whether it did.
func (l *Listener) cookieAck(t core.Tuple, s *segment) bool {
	p := l.p
	if p.cfg.NoSynCookies || l.lastOverflow.IsZero() || p.net.Now().Sub(l.lastOverflow) > cookieMaxAge*time.Minute ||
		s.has(flagSYN|flagRST) {
		return false
	}
	irs, iss := s.seq-1, s.ack-1
	idx, ok := p.checkCookie(t, irs, iss)
	if !ok {
		p.counters.SyncookiesFailed++
		return false
	}
	if l.acceptFull() {
		p.counters.DropListenOverflow++
		p.drop(nil, "DropListenOverflow", "accept queue full", s.pktID)
		return true
	}
	_, mtu, err := p.net.Route(t.Remote.Addr())
	if err != nil {
		return false
	}
	o, ok := l.cookieDecode(t, s, cookieTable(t.Local.Addr())[idx])
	if !ok {
		p.counters.SyncookiesFailed++
		return false
	}
	c := l.cookieConn(t, mtu, irs, iss, o)
	if c.tsOK && p.cfg.ECN != ECNOff && (s.opts.TSEcr-c.tsOffset)&cookieTSECN != 0 {
		c.ecn.ok = true
	}
	c.listener = l
	c.rcvSsthresh = c.initialRcvWnd()
	c.rcvAdv = c.rcvNxt.Add(seqnum.Size(c.synWindow()))
	c.rcvWndEdge = c.rcvNxt.Add(seqnum.Size(c.initialRcvWnd()))
	c.lastAckSent = c.rcvNxt
	c.sndUna, c.sndNxt, c.sndMax = s.ack, s.ack, s.ack
	c.sndWnd = uint32(s.wnd) << c.sndWScale
	c.maxSndWnd = c.sndWnd
	c.sndWl1, c.sndWl2 = s.seq, s.ack
	c.lastRecv = p.net.Now()
	p.addConn(t, c)
	p.counters.PassiveOpens++
	p.counters.SyncookiesRecv++
	c.setState(SynReceived)
	l.acceptQ = append(l.acceptQ, c)
	l.queued++
	c.established()
	l.wake()
	if len(s.payload) > 0 || s.has(flagFIN) {
		c.input(s)
	}
	return true
}
