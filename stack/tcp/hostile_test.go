package tcp

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"stacklab/stack/core"
	"stacklab/stack/wire"
)

// TestInjectOverlapFirstCopyWins: out-of-order segments that overlap
// data already held, with different bytes, do not replace it: the first
// copy wins, as in Linux (tcp_data_queue_ofo drops a segment whose
// bytes it holds and trims a partial overlap).
func TestInjectOverlapFirstCopyWins(t *testing.T) {
	j := newInj(t, Config{NoTimestamps: true})
	c, iss := j.handshake(options{SACKPermitted: true})
	base := uint32(peerISN + 1)
	fill := func(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }
	send := func(off uint32, data []byte) {
		j.send(segSpec{seq: base + off, ack: iss + 1, flags: flagACK, payload: data, wnd: 1000})
	}
	send(100, fill('A', 100)) // [100, 200)
	send(100, fill('B', 100)) // the same range again
	send(150, fill('C', 100)) // [150, 250): only [200, 250) is new
	send(300, fill('D', 50))  // [300, 350)
	send(260, fill('E', 100)) // [260, 360): [260, 300) and [350, 360) are new
	send(0, fill('F', 100))   // fills the first hole
	send(250, fill('G', 10))  // and the second
	got := make([]byte, 1000)
	n, err := c.Read(got)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Join([][]byte{fill('F', 100), fill('A', 100), fill('C', 50), fill('G', 10),
		fill('E', 40), fill('D', 50), fill('E', 10)}, nil)
	if !bytes.Equal(got[:n], want) {
		t.Fatalf("read %q\nwant %q", got[:n], want)
	}
}

// TestInjectICMPValidated: an ICMP error about a TCP connection counts
// only when the segment it quotes carries a sequence number the
// connection has sent and not had acknowledged (RFC 5927 §4.1, Linux's
// tcp_v4_err); and a quoted MTU below 552 is taken as 552 (Linux's
// min_pmtu), so a forged error cannot shrink segments to a few bytes.
func TestInjectICMPValidated(t *testing.T) {
	j := newInj(t, Config{NoTimestamps: true})
	c, iss := j.handshake(options{HasMSS: true, MSS: 1460})
	if _, err := c.Write(make([]byte, 5000)); err != nil {
		t.Fatal(err)
	}
	j.h.out = nil
	mss := c.mss
	j.h.p.PathMTU(j.me, j.peer, iss+1+1<<30, 576)
	if c.mss != mss || len(j.h.out) != 0 {
		t.Fatalf("forged error (sequence 2^30 out of window): MSS %d → %d, %d segments resent", mss, c.mss, len(j.h.out))
	}
	j.h.p.HardError(j.me, j.peer, iss+1+1<<30, nil, true)
	if c.State() != Established {
		t.Fatal(c.State())
	}
	if n := j.h.p.Counters().OutOfWindowICMPs; n != 2 {
		t.Fatalf("OutOfWindowICMPs %d, want 2", n)
	}
	j.h.p.PathMTU(j.me, j.peer, iss+1, 68)
	if c.mss != 552-40 {
		t.Fatalf("MSS %d after a quoted MTU of 68, want %d", c.mss, 552-40)
	}
	for _, l := range j.h.out {
		if s := parseOut(t, l); len(s.payload) > 512 {
			t.Fatalf("resent %d bytes", len(s.payload))
		}
	}
}

// TestInjectSynFloodCookies: spoofed SYNs fill the SYN queue, which
// holds one more than the listen backlog, as Linux's request queue
// (inet_csk_reqsk_queue_is_full; checked on Linux 6.18: listen(8) and 20
// spoofed SYNs leave 9 in SYN-RECV and send 11 cookies); further SYNs
// are answered with SYN cookies and keep nothing, so a legitimate
// client's handshake completes at once and it is accepted (RFC 4987,
// Linux's tcp_syncookies=1); an ACK with a forged cookie gets a RST.
func TestInjectSynFloodCookies(t *testing.T) {
	j := newInj(t, Config{NoTimestamps: true})
	l, err := j.h.p.Listen(j.me, 8, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5000 {
		src := ap("10.0.0.1:1000")
		src = netip.AddrPortFrom(src.Addr(), uint16(1000+i))
		j.send(segSpec{src: src, seq: uint32(i * 7919), flags: flagSYN, wnd: 65535, opts: options{HasMSS: true, MSS: 1460}})
	}
	j.h.out = nil
	if n := j.h.p.NumConns(); n != 9 {
		t.Fatalf("%d connections held after the flood, want the SYN queue's 9 (backlog 8 + 1)", n)
	}
	// The legitimate client.
	j.send(segSpec{seq: peerISN, flags: flagSYN, wnd: 65535, opts: options{HasMSS: true, MSS: 1460, HasWScale: true, WScale: 7, SACKPermitted: true}})
	sa := j.next()
	if sa.flags != flagSYN|flagACK || sa.why != whySynCookie || sa.ack != peerISN+1 || sa.opts.HasWScale || sa.opts.SACKPermitted {
		t.Fatalf("SYN-ACK %v %+v", sa, sa.opts)
	}
	j.send(segSpec{seq: peerISN + 1, ack: uint32(sa.seq) + 1, flags: flagACK | flagPSH, wnd: 65535, payload: []byte("hello")})
	c, err := l.Accept()
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	if c.State() != Established || c.mss != 1460 {
		t.Fatalf("state %v mss %d", c.State(), c.mss)
	}
	buf := make([]byte, 10)
	if n, _ := c.Read(buf); string(buf[:n]) != "hello" {
		t.Fatalf("read %q", buf[:n])
	}
	// A forged cookie.
	j.h.out = nil
	j.send(segSpec{src: ap("10.0.0.1:50000"), seq: 77, ack: 12345, flags: flagACK, wnd: 65535})
	if s := j.next(); s.flags&flagRST == 0 {
		t.Fatalf("forged cookie answered with %v", s)
	}
	cs := j.h.p.Counters()
	if cs.SyncookiesSent != 5000-9+1 || cs.SyncookiesRecv != 1 || cs.SyncookiesFailed != 1 {
		t.Fatalf("cookies sent %d recv %d failed %d", cs.SyncookiesSent, cs.SyncookiesRecv, cs.SyncookiesFailed)
	}
	// With cookies off, the flood locks the listener out (Linux:
	// TCPReqQFullDrop and ListenDrops).
	k := newInj(t, Config{NoTimestamps: true, NoSynCookies: true})
	k.h.p.Listen(k.me, 8, nil)
	for i := range 9 {
		k.send(segSpec{src: netip.AddrPortFrom(k.peer.Addr(), uint16(1000+i)), seq: 1, flags: flagSYN, wnd: 65535})
	}
	k.h.out = nil
	k.send(segSpec{seq: peerISN, flags: flagSYN, wnd: 65535})
	k.none()
	if cs := k.h.p.Counters(); cs.DropSynQueueFull != 1 || cs.SyncookiesSent != 0 {
		t.Fatalf("cookies off: DropSynQueueFull %d SyncookiesSent %d", cs.DropSynQueueFull, cs.SyncookiesSent)
	}
}

// TestInjectMaxSynBacklog: tcp_max_syn_backlog (Config.SynBacklog)
// bounds nothing while SYN cookies are on; with them off, a SYN is
// dropped once less than a quarter of it is free, whatever the listen
// backlog (Linux's tcp_conn_request; checked on Linux 6.18 with
// listen(1000) and tcp_max_syn_backlog=16: 20 spoofed SYNs leave 20 in
// SYN-RECV with cookies on, 13 with them off and 7 ListenDrops).
func TestInjectMaxSynBacklog(t *testing.T) {
	for _, off := range []bool{false, true} {
		j := newInj(t, Config{NoTimestamps: true, SynBacklog: 16, NoSynCookies: off})
		if _, err := j.h.p.Listen(j.me, 1000, nil); err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			j.send(segSpec{src: netip.AddrPortFrom(j.peer.Addr(), uint16(1000+i)), seq: 1, flags: flagSYN, wnd: 65535})
		}
		cs := j.h.p.Counters()
		want, drops := 20, uint64(0)
		if off {
			want, drops = 13, 7
		}
		if n := j.h.p.NumConns(); n != want || cs.DropSynBacklog != drops || cs.SyncookiesSent != 0 {
			t.Errorf("cookies off %v: %d in SYN_RECEIVED, DropSynBacklog %d, cookies %d; want %d, %d, 0",
				off, n, cs.DropSynBacklog, cs.SyncookiesSent, want, drops)
		}
	}
}

// TestInjectACKStorm: a storm of forged or unacceptable ACKs against an
// established connection with data in flight costs at most a few
// answers, each refusal is counted, and the connection carries on.
//   - ACKs of data never sent: dropped, one challenge ACK per 500 ms
//     (Linux's tcp_ack; the rfc profile answers each, RFC 5961 §5.2);
//   - pure ACKs outside the receive window: one answer per 500 ms
//     (Linux's tcp_invalid_ratelimit);
//   - ACKs older than SND.UNA − MAX.SND.WND: one challenge ACK per 500 ms
//     per connection (RFC 5961 §5.2, Linux's tcp_send_challenge_ack);
//   - duplicate ACKs: one fast retransmission, not one per ACK.
func TestInjectACKStorm(t *testing.T) {
	const storm = 1000
	j := newInj(t, Config{NoTimestamps: true})
	j.h.tracing = false
	c, iss := j.handshake(options{HasMSS: true, MSS: 1000, SACKPermitted: true})
	if _, err := c.Write(make([]byte, 4000)); err != nil {
		t.Fatal(err)
	}
	if n := len(j.h.out); n != 4 {
		t.Fatalf("%d segments in flight, want 4", n)
	}
	j.h.out = nil
	una := iss + 1
	rcv := uint32(peerISN + 1)
	for i := range storm {
		j.send(segSpec{seq: rcv, ack: una + 100000 + uint32(i), flags: flagACK, wnd: 65535})
	}
	if n := len(j.h.out); n != 1 || parseOut(t, j.h.out[0]).why != whyChallengeAck {
		t.Fatalf("ACKs of unsent data: %d answers, want 1 challenge ACK", n)
	}
	// Past the 500 ms limit (the retransmission timer fires too: not
	// counted here).
	j.w.clk.advance(600 * time.Millisecond)
	j.h.out = nil
	for i := range storm {
		j.send(segSpec{seq: rcv + 1<<20 + uint32(i), ack: una, flags: flagACK, wnd: 65535})
	}
	if n := len(j.h.out); n != 1 {
		t.Fatalf("out-of-window ACKs: %d answers, want 1", n)
	}
	j.h.out = nil
	// The same 500 ms limit covers challenge ACKs (Linux's
	// last_oow_ack_time serves both).
	// (Advancing the clock also fires the retransmission timer: not
	// counted here.)
	j.w.clk.advance(time.Second)
	j.h.out = nil
	for range storm {
		j.send(segSpec{seq: rcv, ack: una - 1<<20, flags: flagACK, wnd: 65535})
	}
	if n := len(j.h.out); n != 1 || parseOut(t, j.h.out[0]).why != whyChallengeAck {
		t.Fatalf("too-old ACKs: %d answers, want 1 challenge ACK", n)
	}
	j.h.out = nil
	for range storm {
		j.send(segSpec{seq: rcv, ack: una, flags: flagACK, wnd: 65535,
			opts: options{NSACK: 1, SACK: [4]wire.SACKBlock{{Left: una + 3000, Right: una + 4000}}}})
	}
	// The two RTOs above left the connection in the Loss state with
	// cwnd 1 and the head's retransmission in flight: as Linux's
	// tcp_xmit_retransmit_queue, nothing more goes until an ACK moves
	// SND.UNA, and never more than the lost ones once.
	if n := len(j.h.out); n > 4 {
		t.Fatalf("%d duplicate ACKs: %d segments sent, want at most the lost ones once (0 to 4)", storm, n)
	}
	got := j.h.p.Counters()
	if got.DropAckTooNew != storm || got.DropOutOfWindow != storm || got.DropAckTooOld != storm ||
		got.DropChallengeLimit != 2*(storm-1) || got.ChallengeACKs != 2 {
		t.Fatalf("counters: too new %d, out of window %d, too old %d, challenge limited %d, challenge ACKs %d",
			got.DropAckTooNew, got.DropOutOfWindow, got.DropAckTooOld, got.DropChallengeLimit, got.ChallengeACKs)
	}
	// The real ACK still works: everything acknowledged, more data flows.
	j.h.out = nil
	j.send(segSpec{seq: rcv, ack: una + 4000, flags: flagACK, wnd: 65535})
	if _, err := c.Write([]byte("after the storm")); err != nil {
		t.Fatal(err)
	}
	if s := j.next(); string(s.payload) != "after the storm" || uint32(s.seq) != una+4000 {
		t.Fatalf("after the storm: %v", s)
	}
	if c.State() != Established {
		t.Fatal(c.State())
	}
}

// TestInjectAckTooNewRFC: under the rfc profile an ACK of unsent data is
// answered with an ACK (RFC 9293 §3.10.7.4) every time, where the linux
// profile's challenge ACKs are rate-limited (TestInjectACKStorm).
func TestInjectAckTooNewRFC(t *testing.T) {
	j := newInj(t, Config{Profile: ProfileRFC, NoTimestamps: true})
	_, iss := j.handshake(options{})
	j.send(segSpec{seq: peerISN + 1, ack: iss + 5000, flags: flagACK, wnd: 65535})
	j.expect(flagACK, iss+1, peerISN+1)
}

// TestInjectSynCookieOptions: a connection made from a SYN cookie keeps
// window scaling, SACK and timestamps when the SYN had timestamps: the
// SYN-ACK's TSval carries them in its low 6 bits (wscale in bits 0-3,
// SACK bit 4), the peer echoes them in TSecr, and the connection is made
// with them (Linux's cookie_init_timestamp / cookie_timestamp_decode).
// Without timestamps there is nowhere to keep them: MSS only, as Linux.
func TestInjectSynCookieOptions(t *testing.T) {
	j := newInj(t, Config{})
	l, err := j.h.p.Listen(j.me, 3, nil) // a SYN queue of 4
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		j.send(segSpec{src: netip.AddrPortFrom(j.peer.Addr(), uint16(2000+i)), seq: 1, flags: flagSYN, wnd: 65535})
	}
	j.h.out = nil
	syn := options{HasMSS: true, MSS: 1460, HasWScale: true, WScale: 7, SACKPermitted: true, HasTS: true, TSVal: 5000}
	j.send(segSpec{seq: peerISN, flags: flagSYN, wnd: 65535, opts: syn})
	sa := j.next()
	if sa.why != whySynCookie || sa.flags != flagSYN|flagACK {
		t.Fatalf("%v: want a SYN cookie", sa)
	}
	if !sa.opts.HasWScale || !sa.opts.SACKPermitted || !sa.opts.HasTS || sa.opts.TSEcr != 5000 {
		t.Fatalf("cookie SYN-ACK options %+v: want wscale, SACK and timestamps", sa.opts)
	}
	off := j.h.p.tsOffset(j.me.Addr(), j.peer.Addr())
	if bits := (sa.opts.TSVal - off) & 63; bits != 7|1<<4 {
		t.Fatalf("TSval's low bits %#x, want wscale 7 | SACK (0x17)", bits)
	}
	if d := int32(j.h.p.tsNow() - (sa.opts.TSVal - off)); d < 0 || d >= 64 {
		t.Fatalf("TSval %d is %d ms from the clock, want 0 to 63 behind", sa.opts.TSVal-off, d)
	}
	j.send(segSpec{seq: peerISN + 1, ack: uint32(sa.seq) + 1, flags: flagACK, wnd: 1000,
		opts: options{HasTS: true, TSVal: 5001, TSEcr: sa.opts.TSEcr + (sa.opts.TSVal - sa.opts.TSEcr)}})
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	in := c.Info()
	if in.SndWScale != 7 || int(in.RcvWScale) != int(sa.opts.WScale) || !in.SACK || !in.Timestamps || in.MSS != 1460 {
		t.Fatalf("cookie connection %+v: want wscale 7/%d, SACK, timestamps, MSS 1460", in, sa.opts.WScale)
	}
	if c.sndWnd != 1000<<7 {
		t.Fatalf("send window %d, want 1000<<7", c.sndWnd)
	}
	c.Write([]byte("x"))
	if s := j.next(); !s.opts.HasTS || s.opts.TSEcr != 5001 {
		t.Fatalf("data segment %v %+v: want timestamps echoing 5001", s, s.opts)
	}

	// The same SYN without timestamps: the cookie carries the MSS only.
	other := netip.AddrPortFrom(j.peer.Addr(), 3000)
	j.send(segSpec{src: other, seq: 9000, flags: flagSYN, wnd: 65535,
		opts: options{HasMSS: true, MSS: 1460, HasWScale: true, WScale: 7, SACKPermitted: true}})
	sa = j.next()
	if sa.why != whySynCookie || sa.opts.HasWScale || sa.opts.SACKPermitted || sa.opts.HasTS {
		t.Fatalf("cookie SYN-ACK without timestamps %v %+v: want the MSS only", sa, sa.opts)
	}
	j.send(segSpec{src: other, seq: 9001, ack: uint32(sa.seq) + 1, flags: flagACK, wnd: 1000})
	c2, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if in := c2.Info(); in.SndWScale != -1 || in.SACK || in.Timestamps {
		t.Fatalf("%+v", in)
	}
}

// TestSynCookieIPv6: cookies are made and checked for IPv6 4-tuples too
// (the hash took only IPv4 addresses).
func TestSynCookieIPv6(t *testing.T) {
	j := newInj(t, Config{})
	tu := core.Tuple{Local: netip.MustParseAddrPort("[2001:db8::2]:80"), Remote: netip.MustParseAddrPort("[2001:db8::1]:40000")}
	iss := j.h.p.makeCookie(tu, 12345, 3)
	if idx, ok := j.h.p.checkCookie(tu, 12345, iss); !ok || idx != 3 {
		t.Fatalf("IPv6 cookie: %d %v", idx, ok)
	}
	other := tu
	other.Remote = netip.MustParseAddrPort("[2001:db8::3]:40000")
	if _, ok := j.h.p.checkCookie(other, 12345, iss); ok {
		t.Fatal("a cookie checked for another IPv6 peer")
	}
}
