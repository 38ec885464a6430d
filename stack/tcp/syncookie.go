package tcp

import (
	"crypto/sha256"
	"encoding/binary"
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
// What the cookie cannot carry is lost: the connection has no window
// scaling, SACK or timestamps. (Linux keeps them, when the peer sent
// timestamps, in the low bits of the SYN-ACK's TSval; stacklab does not.)

// cookieMSS are the MSS values a cookie can carry (Linux's msstab).
var cookieMSS = [...]int{536, 1300, 1440, 1460}

// cookieMaxAge is how many minutes a cookie stays valid (Linux's
// MAX_SYNCOOKIE_AGE).
const cookieMaxAge = 2

// cookieHash is a keyed hash of the 4-tuple and count.
func (p *Proto) cookieHash(t core.Tuple, count uint32) uint32 {
	var b [16 + 1 + 12 + 4]byte
	copy(b[:], p.secret[:])
	b[16] = 'C'
	la, ra := t.Local.Addr().As4(), t.Remote.Addr().As4()
	copy(b[17:], la[:])
	copy(b[21:], ra[:])
	binary.BigEndian.PutUint16(b[25:], t.Local.Port())
	binary.BigEndian.PutUint16(b[27:], t.Remote.Port())
	binary.BigEndian.PutUint32(b[29:], count)
	h := sha256.Sum256(b[:])
	return binary.BigEndian.Uint32(h[:])
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

// cookieConn builds the connection a cookie stands for: passive, in
// not yet in the table, no options but the MSS.
func (l *Listener) cookieConn(t core.Tuple, mtu int, irs, iss seqnum.Value, mss int) *Conn {
	c := l.p.newConn(t, &l.opts, mtu)
	c.passive = true
	c.iss = iss
	c.sndUna, c.sndNxt, c.sndMax = iss, iss, iss
	c.sndBase = iss.Add(1)
	c.recover, c.sndSml = iss, iss
	c.irs = irs
	c.rcvNxt = irs.Add(1)
	c.negotiate(&segment{opts: options{HasMSS: true, MSS: uint16(mss)}})
	return c
}

// sendCookie answers a SYN with a SYN cookie.
func (l *Listener) sendCookie(t core.Tuple, s *segment, mtu int) {
	p := l.p
	c := l.cookieConn(t, mtu, s.seq, 0, 0)
	peer := defaultMSS
	if s.opts.HasMSS {
		peer = int(s.opts.MSS)
	}
	idx := 0
	for i, m := range cookieMSS {
		if m <= min(peer, c.rcvMSS) {
			idx = i
		}
	}
	iss := p.makeCookie(t, s.seq, idx)
	l.lastOverflow = p.net.Now()
	p.counters.SyncookiesSent++
	o := options{HasMSS: true, MSS: uint16(c.rcvMSS)}
	c.xmit(iss, s.seq.Add(1), flagSYN|flagACK, uint16(c.synWindow()), &o, nil, nil, whySynCookie)
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
	if len(l.acceptQ) >= l.backlog {
		p.counters.DropListenOverflow++
		p.drop(nil, "DropListenOverflow", "accept queue full", s.pktID)
		return true
	}
	_, mtu, err := p.net.Route(t.Remote.Addr())
	if err != nil {
		return false
	}
	c := l.cookieConn(t, mtu, irs, iss, cookieMSS[idx])
	c.listener = l
	c.rcvAdv = c.rcvNxt.Add(seqnum.Size(c.synWindow()))
	c.lastAckSent = c.rcvNxt
	c.sndUna, c.sndNxt, c.sndMax = s.ack, s.ack, s.ack
	c.sndWnd = uint32(s.wnd)
	c.maxSndWnd = c.sndWnd
	c.sndWl1, c.sndWl2 = s.seq, s.ack
	c.lastRecv = p.net.Now()
	p.conns[t] = c
	p.counters.PassiveOpens++
	p.counters.SyncookiesRecv++
	c.setState(SynReceived)
	l.acceptQ = append(l.acceptQ, c)
	c.established()
	l.wake()
	if len(s.payload) > 0 || s.has(flagFIN) {
		c.input(s)
	}
	return true
}
