package tcp

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"stacklab/stack/tcp/seqnum"
)

// dropLast drops the first transmission of the last data segment the
// named host sends (the one that ends at the end of a size-byte stream).
func dropLast(name string, size int) func(h *host, seg []byte, why string) verdict {
	done := false
	var isn seqnum.Value
	first := true
	return func(h *host, seg []byte, why string) verdict {
		var s segment
		parseSegment(seg, &s)
		if h.name != name || len(s.payload) == 0 {
			return verdict{}
		}
		if first {
			isn, first = s.seq-1, false
		}
		if !done && int(isn.Size(s.seq.Add(seqnum.Size(len(s.payload))))) == size+1 {
			done = true
			return verdict{drop: true}
		}
		return verdict{}
	}
}

// TestTailLossProbe loses the last segment of a transfer: nothing after
// it can bring a duplicate ACK. RACK-TLP sends a probe after about two
// round trips instead of waiting for the RTO; the older modes wait.
func TestTailLossProbe(t *testing.T) {
	for _, mode := range []string{"rack", "sack"} {
		t.Run(mode, func(t *testing.T) {
			w, cl, sv := pair(Config{Recovery: mode})
			c, s, _ := dial(t, w, cl, sv, nil)
			const size = 50_000
			w.filter = dropLast("client", size)
			msg := pattern(size, 1)
			a := &pumpEnd{c: c, out: msg}
			b := &pumpEnd{c: s}
			pump(t, w, a, b, false, 10*time.Second)
			if !bytes.Equal(b.in.Bytes(), msg) {
				t.Fatalf("got %d bytes", b.in.Len())
			}
			in, ctr := c.Info(), cl.p.Counters()
			if mode == "rack" && (in.RTOs != 0 || ctr.LossProbes != 1 || ctr.LossProbeRecovery != 0 || in.Retransmits != 1) {
				t.Fatalf("want one probe, no RTO: %+v %+v", in, ctr)
			}
			if mode == "sack" && in.RTOs != 1 {
				t.Fatalf("RFC 6675 has no probe; want one RTO: %+v", in)
			}
		})
	}
}

// delayNth delays the n-th data segment the named host sends by d.
func delayNth(name string, n int, d time.Duration) func(h *host, seg []byte, why string) verdict {
	count := 0
	return func(h *host, seg []byte, why string) verdict {
		var s segment
		parseSegment(seg, &s)
		if h.name != name || len(s.payload) == 0 {
			return verdict{}
		}
		count++
		if count == n {
			return verdict{delay: d}
		}
		return verdict{}
	}
}

// TestRACKReordering delays one segment behind the five after it, more
// than the three duplicate ACKs that RFC 6675 takes for a loss. RFC 6675
// retransmits it spuriously, learns from the receiver's D-SACK that it
// did (RFC 2883) and undoes the window cut; RACK waits out its
// reordering window once reordering has been seen, and the first time
// keeps recovery short enough that D-SACK undoes it too.
func TestRACKReordering(t *testing.T) {
	for _, mode := range []string{"rack", "sack"} {
		t.Run(mode, func(t *testing.T) {
			w, cl, sv := pair(Config{Recovery: mode, NoDelayedAck: true})
			c, s, _ := dial(t, w, cl, sv, nil)
			cl.tracing = true
			// Segment 20, late by 1.2 ms: 5 segments of ~0.2 ms... the
			// wire has no rate, so all of a flight leaves at once; the
			// delay is what reorders.
			w.filter = delayNth("client", 20, 3*time.Millisecond)
			msg := pattern(300_000, 2)
			a := &pumpEnd{c: c, out: msg}
			b := &pumpEnd{c: s}
			pump(t, w, a, b, false, 10*time.Second)
			if !bytes.Equal(b.in.Bytes(), msg) {
				t.Fatalf("got %d bytes", b.in.Len())
			}
			in, ctr, sctr := c.Info(), cl.p.Counters(), sv.p.Counters()
			t.Logf("%s: retrans %d undos %d dsack sent %d recv %d ssthresh %d", mode, in.Retransmits, ctr.Undos, sctr.DSACKSent, ctr.DSACKRecv, in.Ssthresh)
			if in.RTOs != 0 {
				t.Fatalf("RTO: %+v", in)
			}
			if in.Retransmits > 0 && (sctr.DSACKSent == 0 || ctr.DSACKRecv == 0 || ctr.Undos != 1 || in.Ssthresh < 1<<30) {
				t.Fatalf("a spurious retransmission was not undone: %+v %+v", in, ctr)
			}
		})
	}
}

// TestDSACKSent checks the receiver side of RFC 2883: a segment that
// arrives twice is acknowledged at once with a D-SACK block for it,
// first in the option.
func TestDSACKSent(t *testing.T) {
	j := newInj(t, Config{NoTimestamps: true})
	c, iss := j.handshake(options{HasMSS: true, MSS: 1000, SACKPermitted: true})
	_ = c
	data := make([]byte, 100)
	j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, wnd: 65535, payload: data})
	j.w.clk.advance(time.Second)
	j.h.out = nil
	j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, wnd: 65535, payload: data})
	a := j.next()
	if a.opts.NSACK != 1 || a.opts.SACK[0].Left != peerISN+1 || a.opts.SACK[0].Right != peerISN+101 || a.why != whyDSACK {
		t.Fatalf("want a D-SACK of 1001:1101, got %v %+v", a, a.opts)
	}
	// Out of order, then the same again: D-SACK within the SACK block.
	j.send(segSpec{seq: peerISN + 301, ack: iss + 1, flags: flagACK, wnd: 65535, payload: data})
	j.next()
	j.send(segSpec{seq: peerISN + 301, ack: iss + 1, flags: flagACK, wnd: 65535, payload: data})
	a = j.next()
	if a.opts.NSACK != 2 || a.opts.SACK[0].Left != peerISN+301 || a.opts.SACK[1].Left != peerISN+301 {
		t.Fatalf("want a D-SACK then the SACK block, got %+v", a.opts)
	}
	if got := j.h.p.Counters().DSACKSent; got != 2 {
		t.Fatalf("DSACKSent %d", got)
	}
	// Switched off: no D-SACK.
	j2 := newInj(t, Config{NoTimestamps: true, NoDSACK: true})
	_, iss = j2.handshake(options{HasMSS: true, MSS: 1000, SACKPermitted: true})
	j2.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, wnd: 65535, payload: data})
	j2.w.clk.advance(time.Second)
	j2.h.out = nil
	j2.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, wnd: 65535, payload: data})
	if a := j2.next(); a.opts.NSACK != 0 {
		t.Fatalf("D-SACK sent while off: %+v", a.opts)
	}
}

// TestPRR loses two segments of a large window and checks that recovery
// under PRR (RFC 6937) ends with cwnd = ssthresh and never had more in
// flight than before it began.
func TestPRR(t *testing.T) {
	w, cl, sv := pair(Config{})
	c, s, _ := dial(t, w, cl, sv, nil)
	cl.tracing = true
	w.filter = dropNth("client", 60, 63)
	msg := pattern(400_000, 3)
	a := &pumpEnd{c: c, out: msg}
	b := &pumpEnd{c: s}
	pump(t, w, a, b, false, 10*time.Second)
	if !bytes.Equal(b.in.Bytes(), msg) {
		t.Fatalf("got %d bytes", b.in.Len())
	}
	in := c.Info()
	if in.RTOs != 0 || in.FastRetransmits != 1 || in.Retransmits != 2 {
		t.Fatalf("%+v", in)
	}
	steps := 0
	for _, ev := range cl.events {
		if ev.Name == "prr" {
			steps++
		}
	}
	var exit string
	for _, ev := range cl.events {
		if ev.Name == "recovery done" {
			exit = ev.Detail
		}
	}
	if steps == 0 || exit == "" {
		t.Fatalf("no PRR steps (%d) or no recovery exit (%q)", steps, exit)
	}
	if ss := in.Ssthresh; !strings.Contains(exit, fmt.Sprintf("→ %d, ssthresh", ss)) {
		t.Fatalf("recovery exit %q: want cwnd = ssthresh %d", exit, ss)
	}
}

// TestPropertyEfficiency bounds the cost of recovery, not only its
// result. Each seed moves 2 MiB over random loss at 1, 2 or 3 % (both
// ways: data and ACKs) with 5 % of the segments reordered by 1–3 ms,
// under both profiles, and must finish with at most one RTO (three at
// 3 %, where a retransmission and its probe are both lost now and then)
// and with retransmitted payload bytes (counted on the wire) at most
// twice the payload lost plus four segments (probes, lost
// retransmissions). The
// default run is 8 seeds per profile (about a second); a longer sweep:
// go test ./stack/tcp -run TestPropertyEfficiency -tcp.seeds 1000.
//
// Seeds 39 and 288 always run: a 300-seed sweep found them. Under rfc,
// seed 288's ACK for an original whose first ACK was lost covered that
// segment's retransmission, sent at the same instant after a burst of
// new data, and RACK deemed the whole burst lost (48 retransmissions
// for 6 segments lost); under linux, seed 39's reordered segments and
// ACKs were dropped by a PAWS test stricter than Linux's (2 RTOs).
func TestPropertyEfficiency(t *testing.T) {
	const size = 2 << 20
	seedList := []int{39, 288}
	for seed := 0; seed < *seeds; seed++ {
		if seed != 39 && seed != 288 {
			seedList = append(seedList, seed)
		}
	}
	for _, profile := range ProfileNames {
		for _, seed := range seedList {
			t.Run(fmt.Sprintf("%s/seed%d", profile, seed), func(t *testing.T) {
				t.Parallel()
				r := rand.New(rand.NewPCG(uint64(seed), 5))
				p := []float64{0.01, 0.02, 0.03}[seed%3]
				w, cl, sv := pair(Config{Profile: profile})
				c, s, _ := dial(t, w, cl, sv, nil)
				var lostBytes, sentBytes, lostSegs int
				mss := 0
				w.filter = func(h *host, seg []byte, why string) verdict {
					var v verdict
					var sg segment
					parseSegment(seg, &sg)
					data := h.name == "client" && len(sg.payload) > 0
					if data {
						sentBytes += len(sg.payload)
						mss = max(mss, len(sg.payload))
					}
					if r.Float64() < p {
						if data {
							lostBytes += len(sg.payload)
							lostSegs++
						}
						v.drop = true
					} else if r.Float64() < 0.05 {
						v.delay = time.Duration(1+r.IntN(3)) * time.Millisecond
					}
					return v
				}
				msg := pattern(size, byte(seed))
				a := &pumpEnd{c: c, out: msg}
				b := &pumpEnd{c: s}
				pump(t, w, a, b, false, 5*time.Minute)
				if !bytes.Equal(b.in.Bytes(), msg) {
					t.Fatalf("got %d bytes", b.in.Len())
				}
				in := c.Info()
				retrans := sentBytes - size
				t.Logf("p=%.2f lost %d segments (%d bytes), retransmitted %d bytes in %d segments, RTOs %d", p, lostSegs, lostBytes, retrans, in.Retransmits, in.RTOs)
				maxRTOs := uint64(1)
				if p > 0.025 {
					maxRTOs = 3
				}
				if in.RTOs > maxRTOs || retrans > 2*lostBytes+4*mss {
					t.Fatalf("p=%.2f: %d bytes lost, %d bytes retransmitted (bound %d), %d RTOs (bound %d): %+v",
						p, lostBytes, retrans, 2*lostBytes+4*mss, in.RTOs, maxRTOs, in)
				}
			})
		}
	}
}

// TestRackDetectStopsSoundly checks the early stop of RACK's loss
// detection (lossState.rackStop) against the whole walk: across lossy,
// reordering transfers with and without SACK, checked before every
// segment either end sends, every record at or after the first one the
// walk would stop at is one the walk skips anyway (SACKed, lost, or
// sent after RACK's delivered segment), so the stop changes neither the
// losses found nor the reordering timer.
func TestRackDetectStopsSoundly(t *testing.T) {
	checks, stops := 0, 0
	check := func(c *Conn) {
		ls := c.ls
		if ls == nil || !ls.rackSet {
			return
		}
		checks++
		stop := -1
		for i := ls.head; i < len(ls.q); i++ {
			if stop < 0 && ls.rackStop(&ls.q[i]) {
				stop = i
				stops++
			}
			if r := &ls.q[i]; stop >= 0 && r.flags&(txSACKed|txLost) == 0 && r.order < ls.rackOrder {
				t.Fatalf("record %d [%d, %d) order %d flags %#x is past the stop at %d but sent before RACK's order %d",
					i, r.start, r.end, r.order, r.flags, stop, ls.rackOrder)
			}
		}
	}
	lossyTransfers(t, 12, 7, func(seed int) Config { return Config{NoSACK: seed%3 == 2, MSL: time.Second} },
		func(seed int) float64 { return 0.02 + 0.01*float64(seed%4) }, check)
	if checks == 0 || stops == 0 {
		t.Fatalf("%d checks, %d with an early stop: the transfers did not exercise the stop", checks, stops)
	}
	t.Logf("%d checks, %d with an early stop", checks, stops)
}

// TestTxFindMatchesWalk checks the retransmission queue's lookups by
// halves (txFind, in sackFit and txSplit) against the walks from the
// front they replaced, on queues of random records (whole and partial
// segments, records of several segments as after an MSS change, a queue
// partly consumed from the front, sequence numbers wrapping past 2³²)
// and SACK block edges anywhere in, before, after and between them.
func TestTxFindMatchesWalk(t *testing.T) {
	const mss = 1000
	// The walks as they were (before txFind), around the same narrowing
	// and cutting of a record.
	walkFit := func(ls *lossState, start, end seqnum.Value) (seqnum.Value, seqnum.Value) {
		for i := range ls.txRecs() {
			r := &ls.txRecs()[i]
			if !r.start.LessThan(end) {
				break
			}
			if r.start.LessThan(start) && start.LessThan(r.end) {
				start = r.fitStart(start, mss)
			}
			if r.start.LessThan(end) && end.LessThan(r.end) {
				end = r.fitEnd(end, mss)
			}
		}
		return start, end
	}
	walkSplit := func(ls *lossState, seq seqnum.Value) int {
		recs := ls.txRecs()
		for i := range recs {
			r := &recs[i]
			if seq.LessThanEq(r.start) {
				return ls.head + i
			}
			if seq.LessThan(r.end) {
				return ls.txCut(ls.head+i, seq)
			}
		}
		return len(ls.q)
	}
	rng := rand.New(rand.NewPCG(13, 14))
	for trial := range 300 {
		isn := seqnum.Value(rng.Uint32())
		if trial%3 == 0 {
			isn = seqnum.Value(1<<32 - 1 - rng.IntN(20*mss)) // wraps within the queue
		}
		ls := &lossState{}
		at := isn
		n := rng.IntN(40)
		if trial%10 == 0 {
			n = 0
		}
		for i := range n {
			size := mss
			switch rng.IntN(6) {
			case 0:
				size = 1 + rng.IntN(mss) // a short segment
			case 1:
				size = mss * (2 + rng.IntN(3)) // sent before the MSS fell
			case 2:
				size = mss*(1+rng.IntN(3)) + 1 + rng.IntN(mss-1)
			}
			ls.q = append(ls.q, txSeg{start: at, end: at.Add(seqnum.Size(size)), order: uint64(i), flags: txPSH})
			at = at.Add(seqnum.Size(size))
		}
		ls.head = rng.IntN(len(ls.q) + 1)
		if n > 0 && ls.head == len(ls.q) {
			ls.head--
		}
		lo := isn
		if ls.head < len(ls.q) {
			lo = ls.q[ls.head].start
		}
		span := int(lo.Size(at))
		edge := func() seqnum.Value {
			if recs := ls.txRecs(); len(recs) > 0 && rng.IntN(3) > 0 {
				// A record's edge, as SACK blocks mostly are, or next to one.
				r := recs[rng.IntN(len(recs))]
				e := r.start
				if rng.IntN(2) == 0 {
					e = r.end
				}
				return seqnum.Value(int32(e) + int32(rng.IntN(3)-1)*int32(rng.IntN(2)))
			}
			off := int32(rng.IntN(span+4*mss) - 2*mss) // from 2 MSS below the queue to 2 above
			return seqnum.Value(int32(lo) + off)
		}
		for range 20 {
			start, end := edge(), edge()
			if end.LessThan(start) {
				start, end = end, start
			}
			ws, we := walkFit(ls, start, end)
			gs, ge := ls.sackFit(start, end, mss)
			if ws != gs || we != ge {
				t.Fatalf("trial %d: sackFit(%d, %d) = %d, %d; the walk gives %d, %d", trial, start, end, gs, ge, ws, we)
			}
			a := &lossState{q: append([]txSeg(nil), ls.q...), head: ls.head}
			b := &lossState{q: append([]txSeg(nil), ls.q...), head: ls.head}
			wi, gi := walkSplit(a, start), b.txSplit(start)
			if wi != gi || fmt.Sprint(a.q) != fmt.Sprint(b.q) {
				t.Fatalf("trial %d: txSplit(%d) = %d, the walk %d; queues\n%v\n%v", trial, start, gi, wi, b.q, a.q)
			}
		}
	}
}

// TestRackScanSkipsSoundly checks RACK's walk, which crosses runs of
// SACKed records by their skip hints (rackScan, pastSACKed), against the
// walk of every record it replaced, at every segment of lossy transfers
// both ways: the same records deemed lost and the same wait. The hints
// live on across the checks, as in a connection, while records are
// SACKed, split and acknowledged.
func TestRackScanSkipsSoundly(t *testing.T) {
	checks, skipped := 0, 0
	check := func(c *Conn) {
		ls := c.ls
		if ls == nil || !ls.rackSet {
			return
		}
		checks++
		now, wnd := c.since(), c.reoWnd()
		var want []seqnum.Value
		var wantWait time.Duration
		for i := ls.head; i < len(ls.q); i++ {
			r := &ls.q[i]
			if ls.rackStop(r) {
				break
			}
			if r.flags&(txSACKed|txLost) != 0 || r.order >= ls.rackOrder {
				continue
			}
			if left := r.xmit + ls.rackRTT + wnd - now; left > 0 {
				wantWait = max(wantWait, left)
			} else {
				want = append(want, r.start)
			}
		}
		var got []seqnum.Value
		gotWait := ls.rackScan(now, wnd, func(r *txSeg, _ time.Duration) { got = append(got, r.start) })
		if fmt.Sprint(got) != fmt.Sprint(want) || gotWait != wantWait {
			t.Fatalf("rackScan deems %v lost and waits %v; the whole walk %v and %v", got, gotWait, want, wantWait)
		}
		for i := ls.head; i < len(ls.q); i++ {
			if ls.q[i].skip > 1 {
				skipped++
				break
			}
		}
	}
	lossyTransfers(t, 8, 11, func(int) Config { return Config{MSL: time.Second} },
		func(seed int) float64 { return 0.01 + 0.01*float64(seed%3) }, check)
	if checks == 0 || skipped == 0 {
		t.Fatalf("%d checks, %d with a run of SACKed records crossed in a step: the transfers did not exercise the hints", checks, skipped)
	}
	t.Logf("%d checks, %d with a hint over a run", checks, skipped)
}

// lossyTransfers runs n lossy, reordering transfers, 300 kB one way and
// 100 kB the other at once, and calls check with each end before every
// segment either sends: transfer i with cfg(i), its impairments drawn
// from seed (i, salt) at loss rate loss(i).
func lossyTransfers(t *testing.T, n int, salt uint64, cfg func(int) Config, loss func(int) float64, check func(*Conn)) {
	t.Helper()
	for seed := range n {
		r := rand.New(rand.NewPCG(uint64(seed), salt))
		w, cl, sv := pair(cfg(seed))
		c, s, _ := dial(t, w, cl, sv, nil)
		lossy := impair(r, loss(seed))
		w.filter = func(h *host, seg []byte, why string) verdict {
			check(c)
			check(s)
			return lossy(h, seg, why)
		}
		a := &pumpEnd{c: c, out: pattern(300_000, byte(seed))}
		b := &pumpEnd{c: s, out: pattern(100_000, byte(seed+1))}
		pump(t, w, a, b, true, 30*time.Minute)
		if !bytes.Equal(b.in.Bytes(), pattern(300_000, byte(seed))) {
			t.Fatalf("seed %d: data mismatch", seed)
		}
	}
}
