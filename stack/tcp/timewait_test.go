package tcp

import (
	"fmt"
	"strings"
	"testing"
	"time"

	wirefmt "stacklab/stack/wire"
)

// TestTimeWaitPacked checks that a connection in TIME_WAIT that no
// descriptor holds is packed, as Linux swaps its socket for a small
// timewait socket: it leaves the connection table for the tw table
// (its port still counted), the Conn a caller still holds says TIME_WAIT
// and then CLOSED when 2·MSL is over, and the stack counts it. A
// connection whose descriptor is still open (it reached TIME_WAIT by
// shutdown) stays whole, its tcp_info counters kept for TCP_INFO, until
// it is closed.
func TestTimeWaitPacked(t *testing.T) {
	for _, byShutdown := range []bool{false, true} {
		w, cl, sv := pair(Config{})
		l, err := sv.p.Listen(ap("0.0.0.0:80"), 16, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, s := connectTo(t, w, cl, sv, l, nil)
		if _, err := c.Write(make([]byte, 20000)); err != nil {
			t.Fatal(err)
		}
		w.clk.advance(time.Second)
		_ = c.tx() // tcp_info's counters, as a TCP_INFO call makes them
		if byShutdown {
			if err := c.CloseWrite(); err != nil {
				t.Fatal(err)
			}
		} else {
			c.Close()
		}
		w.clk.advance(100 * time.Millisecond)
		buf := make([]byte, 32<<10)
		for n, _ := s.Read(buf); n > 0; n, _ = s.Read(buf) {
		}
		s.Close()
		w.clk.advance(100 * time.Millisecond)
		if c.State() != TimeWait {
			t.Fatalf("shutdown %v: client in %v, want TIME_WAIT", byShutdown, c.State())
		}
		tp := c.Tuple()
		if byShutdown {
			if c.packed != nil || cl.p.conns[tp] != c || c.ti.x == nil {
				t.Fatal("a connection whose descriptor is open was packed in TIME_WAIT")
			}
			c.Close()
		}
		if c.packed == nil || cl.p.conns[tp] != nil || cl.p.tw[tp] == nil || cl.p.NumConns() != 1 || cl.p.PortConns(tp.Local.Port()) != 1 {
			t.Fatalf("shutdown %v: not packed: %v in the table, %v packed, %d conns, %d on its port",
				byShutdown, cl.p.conns[tp] != nil, cl.p.tw[tp] != nil, cl.p.NumConns(), cl.p.PortConns(tp.Local.Port()))
		}
		if c.State() != TimeWait || cl.p.timeWait != 1 {
			t.Fatalf("shutdown %v: packed connection says %v (%d in TIME_WAIT)", byShutdown, c.State(), cl.p.timeWait)
		}
		seen := 0
		cl.p.Conns(func(v *Conn) {
			if v.Tuple() == tp && v.State() == TimeWait {
				seen++
			}
		})
		if seen != 1 {
			t.Fatalf("Conns shows the packed connection %d times", seen)
		}
		w.clk.advance(2*DefaultMSL + time.Second)
		if c.State() != Closed || cl.p.timeWait != 0 || len(cl.p.tw) != 0 || cl.p.NumConns() != 0 || cl.p.PortConns(tp.Local.Port()) != 0 {
			t.Errorf("shutdown %v: after 2·MSL the client is %v (%d in TIME_WAIT, %d packed, %d conns)",
				byShutdown, c.State(), cl.p.timeWait, len(cl.p.tw), cl.p.NumConns())
		}
	}
}

// TestTimeWaitPackedSame sends the same segments to a connection in
// TIME_WAIT kept whole and to one packed (revived for each segment and
// packed again), and compares everything they send, every event they
// report, their counters and their states: packing must change nothing
// a peer or a trace can see. Each sequence starts from a fresh TIME_WAIT
// with timestamps, SACK and window scaling, after data both ways.
func TestTimeWaitPackedSame(t *testing.T) {
	type probe func(j *inj, iss, rcv uint32, ts uint32)
	ack := func(j *inj, seq, ackn uint32, flags uint8, ts uint32, payload string) {
		j.send(segSpec{seq: seq, ack: ackn, flags: flags, wnd: 1000, opts: options{HasTS: true, TSVal: ts, TSEcr: 1}, payload: []byte(payload)})
	}
	cases := map[string]probe{
		"fin-again": func(j *inj, iss, rcv, ts uint32) {
			ack(j, rcv-1, iss, flagFIN|flagACK, ts+1, "")
			j.w.clk.advance(10 * time.Second)
			ack(j, rcv-1, iss, flagFIN|flagACK, ts+2, "")
		},
		"old-ack-and-rate-limit": func(j *inj, iss, rcv, ts uint32) {
			ack(j, rcv-100, iss, flagACK, ts+1, "")
			ack(j, rcv-100, iss, flagACK, ts+2, "")
			j.w.clk.advance(600 * time.Millisecond)
			ack(j, rcv-100, iss, flagACK, ts+3, "")
		},
		"old-data-dsack": func(j *inj, iss, rcv, ts uint32) {
			ack(j, rcv-4, iss, flagACK, ts+1, "llo")
		},
		"new-data": func(j *inj, iss, rcv, ts uint32) {
			ack(j, rcv, iss, flagACK|flagPSH, ts+1, "more")
		},
		"paws": func(j *inj, iss, rcv, ts uint32) {
			ack(j, rcv, iss, flagACK, ts-1000, "x")
			j.w.clk.advance(time.Second)
			ack(j, rcv-1, iss, flagFIN|flagACK, ts-1000, "")
		},
		"rst-in-window": func(j *inj, iss, rcv, ts uint32) {
			ack(j, rcv+10, iss, flagRST, ts+1, "")
			j.w.clk.advance(time.Second)
			ack(j, rcv, iss, flagRST, ts+1, "")
		},
		"syn-old": func(j *inj, iss, rcv, ts uint32) {
			j.send(segSpec{seq: rcv - 1000, flags: flagSYN, wnd: 1000, opts: options{HasTS: true, TSVal: ts - 5}})
		},
		"syn-reuse": func(j *inj, iss, rcv, ts uint32) {
			j.send(segSpec{seq: rcv + 100000, flags: flagSYN, wnd: 1000, opts: options{HasTS: true, TSVal: ts + 5, HasMSS: true, MSS: 1460}})
		},
		"ack-too-new-with-sack": func(j *inj, iss, rcv, ts uint32) {
			j.send(segSpec{seq: rcv, ack: iss + 5000, flags: flagACK, wnd: 1000,
				opts: options{HasTS: true, TSVal: ts + 1, NSACK: 1, SACK: [4]wirefmt.SACKBlock{{Left: iss - 100, Right: iss - 50}}}})
			j.w.clk.advance(time.Second)
			j.send(segSpec{seq: rcv, ack: iss, flags: flagACK | flagECE | flagCWR, wnd: 2000,
				opts: options{HasTS: true, TSVal: ts + 2, NSACK: 1, SACK: [4]wirefmt.SACKBlock{{Left: iss - 100, Right: iss - 50}}}})
		},
		"expire": func(j *inj, iss, rcv, ts uint32) {
			j.w.clk.advance(30 * time.Second)
			ack(j, rcv-1, iss, flagFIN|flagACK, ts+1, "") // restarts 2·MSL
			j.w.clk.advance(59 * time.Second)
			ack(j, rcv, iss, flagACK, ts+2, "")
		},
	}
	run := func(name string, pack bool) string {
		j := newInj(t, Config{})
		j.h.p.noPack = !pack
		const ts0 = 5000
		c, iss := j.handshake(options{HasTS: true, TSVal: ts0, SACKPermitted: true, HasWScale: true, WScale: 7})
		// Data both ways, then the DUT closes first.
		ack(j, peerISN+1, iss+1, flagACK|flagPSH, ts0+1, "hello")
		c.Write([]byte("hi"))
		j.w.clk.advance(time.Second)
		ack(j, peerISN+6, iss+3, flagACK, ts0+2, "")
		buf := make([]byte, 16)
		c.Read(buf)
		c.Close()
		ack(j, peerISN+6, iss+4, flagACK, ts0+3, "")
		ack(j, peerISN+6, iss+4, flagFIN|flagACK, ts0+4, "")
		j.w.clk.advance(time.Second)
		if c.State() != TimeWait {
			t.Fatalf("%s: DUT in %v, want TIME_WAIT", name, c.State())
		}
		if _, packed := j.h.p.tw[c.Tuple()]; packed != pack {
			t.Fatalf("%s: packed %v, want %v", name, packed, pack)
		}
		j.h.out, j.h.events = nil, nil
		cases[name](j, iss+4, peerISN+7, ts0+4)
		j.w.clk.advance(2*DefaultMSL + time.Second)
		return packedReport(t, j, c)
	}
	for name := range cases {
		whole, packed := run(name, false), run(name, true)
		if whole != packed {
			t.Errorf("%s: a packed TIME_WAIT differs from a whole one:\nwhole:\n%s\npacked:\n%s", name, whole, packed)
		} else if testing.Verbose() {
			t.Logf("%s:\n%s", name, whole)
		}
	}
}

// TestTimeWaitSYNUnrevived: when nothing traces the stack, a SYN that
// ends a packed TIME_WAIT on its way to the listener (Linux's
// TCP_TW_SYN) is handled without making the connection again, and
// everything else still revives it; either way the segments sent, the
// counters and the tables are those of a traced stack, which revives
// the connection for every segment.
func TestTimeWaitSYNUnrevived(t *testing.T) {
	syn := func(seq, ts uint32, flags uint8) segSpec {
		return segSpec{seq: seq, flags: flags, wnd: 1000, opts: options{HasTS: true, TSVal: ts, HasMSS: true, MSS: 1460}}
	}
	cases := []struct {
		name    string
		seg     func(rcv, ts uint32) segSpec
		revived bool // untraced
	}{
		{"above RCV.NXT", func(rcv, ts uint32) segSpec { return syn(rcv+100000, ts+5, flagSYN) }, false},
		{"below, newer timestamp", func(rcv, ts uint32) segSpec { return syn(rcv-1000, ts+5, flagSYN) }, false},
		{"below, same timestamp", func(rcv, ts uint32) segSpec { return syn(rcv-1000, ts, flagSYN) }, true},
		{"failing PAWS", func(rcv, ts uint32) segSpec { return syn(rcv+100000, ts-5, flagSYN) }, true},
		{"with ACK", func(rcv, ts uint32) segSpec { return syn(rcv+100000, ts+5, flagSYN|flagACK) }, true},
		{"with RST", func(rcv, ts uint32) segSpec { return syn(rcv+100000, ts+5, flagSYN|flagRST) }, true},
	}
	run := func(i int, tracing, closeListener bool) (string, int) {
		j := newInj(t, Config{})
		const ts0 = 5000
		c, iss := j.handshake(options{HasTS: true, TSVal: ts0, SACKPermitted: true, HasWScale: true, WScale: 7})
		c.Close()
		j.send(segSpec{seq: peerISN + 1, ack: iss + 2, flags: flagACK, wnd: 1000, opts: options{HasTS: true, TSVal: ts0 + 1, TSEcr: 1}})
		j.send(segSpec{seq: peerISN + 1, ack: iss + 2, flags: flagFIN | flagACK, wnd: 1000, opts: options{HasTS: true, TSVal: ts0 + 2, TSEcr: 1}})
		if _, packed := j.h.p.tw[c.Tuple()]; !packed {
			t.Fatalf("%s: not packed", cases[i].name)
		}
		if closeListener {
			j.h.p.listens = nil
		}
		j.h.tracing = tracing
		j.h.out = nil
		j.h.p.revives = 0
		j.send(cases[i].seg(peerISN+2, ts0+2))
		j.h.events = nil // a traced stack's events are what the untraced one goes without
		return packedReport(t, j, c), j.h.p.revives
	}
	for i, tc := range cases {
		for _, noListener := range []bool{false, true} {
			traced, _ := run(i, true, noListener)
			untraced, revives := run(i, false, noListener)
			if testing.Verbose() {
				t.Logf("%s (no listener %v): revives %d\n%s", tc.name, noListener, revives, untraced)
			}
			if traced != untraced {
				t.Errorf("%s (no listener %v): untraced differs from traced:\ntraced:\n%s\nuntraced:\n%s", tc.name, noListener, traced, untraced)
			}
			if want := tc.revived || noListener; (revives > 0) != want {
				t.Errorf("%s (no listener %v): %d revivals untraced, want revived %v", tc.name, noListener, revives, want)
			}
		}
	}
}

// TestFinWait2PackedSame is TestTimeWaitPackedSame for an orphan in
// FIN_WAIT_2 (closed, its FIN acknowledged, the peer's FIN not come):
// packed, as Linux makes it a timewait socket in its FIN_WAIT2 substate,
// it answers every sequence of segments as a whole one does — the peer's
// FIN taking it into TIME_WAIT, data and SYNs reset, segments outside
// the window ACKed within the rate limit, RSTs, PAWS, the timeout.
func TestFinWait2PackedSame(t *testing.T) {
	type probe func(j *inj, iss, rcv uint32, ts uint32)
	ack := func(j *inj, seq, ackn uint32, flags uint8, ts uint32, payload string) {
		j.send(segSpec{seq: seq, ack: ackn, flags: flags, wnd: 1000, opts: options{HasTS: true, TSVal: ts, TSEcr: 1}, payload: []byte(payload)})
	}
	cases := map[string]probe{
		"fin": func(j *inj, iss, rcv, ts uint32) {
			ack(j, rcv, iss, flagFIN|flagACK, ts+1, "")
			j.w.clk.advance(10 * time.Second)
			ack(j, rcv, iss, flagFIN|flagACK, ts+2, "")
		},
		"fin-with-data": func(j *inj, iss, rcv, ts uint32) {
			ack(j, rcv, iss, flagFIN|flagACK|flagPSH, ts+1, "bye")
		},
		"new-data": func(j *inj, iss, rcv, ts uint32) {
			ack(j, rcv, iss, flagACK|flagPSH, ts+1, "more")
		},
		"old-data": func(j *inj, iss, rcv, ts uint32) {
			ack(j, rcv-4, iss, flagACK, ts+1, "llo")
			ack(j, rcv-4, iss, flagACK, ts+2, "llo")
		},
		"dup-ack": func(j *inj, iss, rcv, ts uint32) {
			ack(j, rcv, iss, flagACK, ts+1, "")
			j.w.clk.advance(time.Second)
			ack(j, rcv, iss, flagACK, ts+2, "")
		},
		"old-ack-and-rate-limit": func(j *inj, iss, rcv, ts uint32) {
			ack(j, rcv-100, iss, flagACK, ts+1, "")
			ack(j, rcv-100, iss, flagACK, ts+2, "")
			j.w.clk.advance(600 * time.Millisecond)
			ack(j, rcv-100, iss, flagACK, ts+3, "")
		},
		"paws": func(j *inj, iss, rcv, ts uint32) {
			ack(j, rcv, iss, flagACK, ts-1000, "x")
			j.w.clk.advance(time.Second)
			ack(j, rcv, iss, flagFIN|flagACK, ts-1000, "")
		},
		"rst-in-window": func(j *inj, iss, rcv, ts uint32) {
			ack(j, rcv+10, iss, flagRST, ts+1, "")
		},
		"rst-outside": func(j *inj, iss, rcv, ts uint32) {
			ack(j, rcv+100000, iss, flagRST, ts+1, "")
			j.w.clk.advance(time.Second)
			ack(j, rcv, iss, flagRST, ts+1, "")
		},
		"syn-in-window": func(j *inj, iss, rcv, ts uint32) {
			j.send(segSpec{seq: rcv + 10, flags: flagSYN, wnd: 1000, opts: options{HasTS: true, TSVal: ts + 5}})
		},
		"syn-old": func(j *inj, iss, rcv, ts uint32) {
			j.send(segSpec{seq: rcv - 1000, flags: flagSYN, wnd: 1000, opts: options{HasTS: true, TSVal: ts - 5}})
		},
		"expire": func(j *inj, iss, rcv, ts uint32) {
			j.w.clk.advance(30 * time.Second)
			ack(j, rcv, iss, flagACK, ts+1, "")
			j.w.clk.advance(31 * time.Second)
			ack(j, rcv, iss, flagACK, ts+2, "")
		},
		"fin-late": func(j *inj, iss, rcv, ts uint32) {
			j.w.clk.advance(50 * time.Second)
			ack(j, rcv, iss, flagFIN|flagACK, ts+1, "")
			j.w.clk.advance(30 * time.Second)
			ack(j, rcv, iss, flagFIN|flagACK, ts+2, "")
		},
	}
	run := func(name string, pack bool) string {
		j := newInj(t, Config{})
		j.h.p.noPack = !pack
		const ts0 = 5000
		c, iss := j.handshake(options{HasTS: true, TSVal: ts0, SACKPermitted: true, HasWScale: true, WScale: 7})
		// Data both ways, then the DUT closes; the peer ACKs its FIN
		// and sends none.
		ack(j, peerISN+1, iss+1, flagACK|flagPSH, ts0+1, "hello")
		c.Write([]byte("hi"))
		j.w.clk.advance(time.Second)
		ack(j, peerISN+6, iss+3, flagACK, ts0+2, "")
		buf := make([]byte, 16)
		c.Read(buf)
		c.Close()
		ack(j, peerISN+6, iss+4, flagACK, ts0+3, "")
		j.w.clk.advance(time.Second)
		if c.State() != FinWait2 {
			t.Fatalf("%s: DUT in %v, want FIN_WAIT_2", name, c.State())
		}
		if _, packed := j.h.p.tw[c.Tuple()]; packed != pack {
			t.Fatalf("%s: packed %v, want %v", name, packed, pack)
		}
		j.h.out, j.h.events = nil, nil
		cases[name](j, iss+4, peerISN+6, ts0+3)
		j.w.clk.advance(2*DefaultMSL + time.Second)
		return packedReport(t, j, c)
	}
	for name := range cases {
		whole, packed := run(name, false), run(name, true)
		if whole != packed {
			t.Errorf("%s: a packed FIN_WAIT_2 differs from a whole one:\nwhole:\n%s\npacked:\n%s", name, whole, packed)
		} else if testing.Verbose() {
			t.Logf("%s:\n%s", name, whole)
		}
	}
}

// TestFinWait2OrphanIgnoresICMP: an orphan in FIN_WAIT_2 is a timewait
// socket on Linux, which ignores ICMP errors; packed or whole (an ACK it
// owes keeps it whole until it goes out), a "fragmentation needed"
// quoting its FIN changes nothing, reports nothing, counts nothing.
func TestFinWait2OrphanIgnoresICMP(t *testing.T) {
	for _, pack := range []bool{true, false} {
		j := newInj(t, Config{})
		j.h.p.noPack = !pack
		c, iss := j.handshake(options{HasMSS: true, MSS: 1460})
		c.Close()
		j.send(segSpec{seq: peerISN + 1, ack: iss + 2, flags: flagACK, wnd: 1000})
		if c.State() != FinWait2 {
			t.Fatalf("packed %v: DUT in %v, want FIN_WAIT_2", pack, c.State())
		}
		mss := c.mss
		j.h.events = nil
		j.h.p.PathMTU(j.me, j.peer, iss+1, 600)
		j.h.p.PathMTU(j.me, j.peer, iss+2, 600)
		if c.mss != mss || len(j.h.events) != 0 || j.h.p.Counters().OutOfWindowICMPs != 0 {
			t.Errorf("packed %v: MSS %d → %d, %d events, %d out-of-window ICMPs: the ICMP error was not ignored",
				pack, mss, c.mss, len(j.h.events), j.h.p.Counters().OutOfWindowICMPs)
		}
	}
}

// packedReport is what the packed-against-whole tests compare after a
// run: every segment the DUT sent and when, every event with its
// variables, c's state, and the counts and counters that packing
// touches (connections whole and packed together: which holds one is
// what differs).
func packedReport(t *testing.T, j *inj, c *Conn) string {
	var b strings.Builder
	for _, o := range j.h.out {
		fmt.Fprintf(&b, "at %v: %v\n", o.at, parseOut(t, o))
	}
	for _, ev := range j.h.events {
		vars := ev.Vars
		ev.Vars = nil
		fmt.Fprintf(&b, "event %+v", ev)
		if vars != nil {
			fmt.Fprintf(&b, " vars %+v", *vars)
		}
		b.WriteString("\n")
	}
	p := j.h.p
	fmt.Fprintf(&b, "state %v, conns %d, in TIME_WAIT %d, orphans %d, ports %v\ncounters %+v\n",
		c.State(), p.NumConns(), p.timeWait, p.orphans, p.portConns, p.Counters())
	return b.String()
}

// TestTimeWaitIgnoresICMP: an ICMP error for a connection in TIME_WAIT
// is ignored, as Linux's tcp_v4_err returns at once for a timewait
// socket: whether the connection is packed (no descriptor) or whole (its
// descriptor still open, after shutdown), a "fragmentation needed" that
// quotes its last sequence number changes no MSS, reports nothing and
// counts nothing.
func TestTimeWaitIgnoresICMP(t *testing.T) {
	for _, byShutdown := range []bool{false, true} {
		j := newInj(t, Config{})
		c, iss := j.handshake(options{HasMSS: true, MSS: 1460})
		if byShutdown {
			c.CloseWrite()
		} else {
			c.Close()
		}
		j.send(segSpec{seq: peerISN + 1, ack: iss + 2, flags: flagFIN | flagACK, wnd: 1000})
		if c.State() != TimeWait {
			t.Fatalf("shutdown %v: DUT in %v, want TIME_WAIT", byShutdown, c.State())
		}
		mss := c.mss
		j.h.events = nil
		j.h.p.PathMTU(j.me, j.peer, iss+2, 600)
		if c.mss != mss || len(j.h.events) != 0 || j.h.p.Counters().OutOfWindowICMPs != 0 {
			t.Errorf("shutdown %v: MSS %d → %d, %d events, %d out-of-window ICMPs: the ICMP error was not ignored",
				byShutdown, mss, c.mss, len(j.h.events), j.h.p.Counters().OutOfWindowICMPs)
		}
	}
}

// FuzzPackedSame is TestTimeWaitPackedSame and TestFinWait2PackedSame
// for arbitrary segments: a connection in TIME_WAIT or an orphan in
// FIN_WAIT_2, packed or kept whole, traced or not, gets the same three
// segments (each a sequence and acknowledgment offset from what it
// expects, flags, a timestamp step, a payload length and a pause
// before it), and the two must send the same segments and end with the
// same state, counters and tables.
func FuzzPackedSame(f *testing.F) {
	f.Add(true, false, int32(0), int32(0), uint8(flagFIN|flagACK), int8(1), uint8(0), uint16(10),
		int32(100000), int32(0), uint8(flagSYN), int8(5), uint8(0), uint16(1000),
		int32(0), int32(0), uint8(flagRST), int8(0), uint8(0), uint16(0))
	f.Add(false, true, int32(0), int32(0), uint8(flagACK|flagPSH), int8(1), uint8(4), uint16(0),
		int32(-100), int32(0), uint8(flagACK), int8(-3), uint8(0), uint16(600),
		int32(10), int32(0), uint8(flagSYN), int8(2), uint8(0), uint16(61000))
	// Segments outside the window twice within the rate limit's 500 ms.
	f.Add(false, false, int32(-100), int32(0), uint8(flagACK), int8(1), uint8(0), uint16(0),
		int32(-100), int32(0), uint8(flagACK), int8(1), uint8(0), uint16(100),
		int32(-1), int32(0), uint8(flagFIN|flagACK), int8(1), uint8(0), uint16(100))
	f.Add(true, true, int32(-100), int32(0), uint8(flagACK), int8(1), uint8(0), uint16(0),
		int32(-100), int32(0), uint8(flagACK), int8(1), uint8(0), uint16(100),
		int32(0), int32(0), uint8(flagACK|flagPSH), int8(1), uint8(3), uint16(100))
	f.Fuzz(func(t *testing.T, fw2, traced bool,
		seq1, ack1 int32, fl1 uint8, ts1 int8, len1 uint8, ms1 uint16,
		seq2, ack2 int32, fl2 uint8, ts2 int8, len2 uint8, ms2 uint16,
		seq3, ack3 int32, fl3 uint8, ts3 int8, len3 uint8, ms3 uint16) {
		type seg struct {
			seq, ack int32
			fl       uint8
			ts       int8
			n        uint8
			ms       uint16
		}
		segs := []seg{{seq1, ack1, fl1, ts1, len1, ms1}, {seq2, ack2, fl2, ts2, len2, ms2}, {seq3, ack3, fl3, ts3, len3, ms3}}
		run := func(pack bool) string {
			j := newInj(t, Config{})
			j.h.p.noPack = !pack
			const ts0 = 5000
			send := func(seq, ack uint32, flags uint8, ts uint32, payload []byte) {
				j.send(segSpec{seq: seq, ack: ack, flags: flags, wnd: 1000, opts: options{HasTS: true, TSVal: ts, TSEcr: 1}, payload: payload})
			}
			c, iss := j.handshake(options{HasTS: true, TSVal: ts0, SACKPermitted: true, HasWScale: true, WScale: 7})
			send(peerISN+1, iss+1, flagACK|flagPSH, ts0+1, []byte("hello"))
			c.Read(make([]byte, 16))
			c.Close()
			send(peerISN+6, iss+2, flagACK, ts0+2, nil)
			rcv := uint32(peerISN + 6)
			want := FinWait2
			if !fw2 {
				send(peerISN+6, iss+2, flagFIN|flagACK, ts0+3, nil)
				rcv++
				want = TimeWait
			}
			j.w.clk.advance(time.Second)
			if _, packed := j.h.p.tw[c.Tuple()]; c.State() != want || packed != pack {
				t.Fatalf("DUT in %v, packed %v: want %v, packed %v", c.State(), packed, want, pack)
			}
			j.h.tracing = traced
			j.h.out, j.h.events = nil, nil
			ts := uint32(ts0 + 3)
			for _, s := range segs {
				j.w.clk.advance(time.Duration(s.ms) * time.Millisecond)
				ts += uint32(int32(s.ts))
				send(rcv+uint32(s.seq), iss+2+uint32(s.ack), s.fl, ts, make([]byte, s.n%64))
			}
			j.w.clk.advance(2*DefaultMSL + time.Second)
			return packedReport(t, j, c)
		}
		if whole, packed := run(false), run(true); whole != packed {
			t.Errorf("packed differs from whole (FIN_WAIT_2 %v, traced %v):\nwhole:\n%s\npacked:\n%s", fw2, traced, whole, packed)
		}
	})
}
