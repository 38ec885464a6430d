package tcp

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"
)

var seeds = flag.Int("tcp.seeds", 8, "number of seeds for the TCP property test")

// dropNth drops the n-th (1-based) data segment sent by the named host.
func dropNth(name string, n ...int) func(h *host, seg []byte, why string) verdict {
	count := 0
	return func(h *host, seg []byte, why string) verdict {
		var s segment
		parseSegment(seg, &s)
		if h.name != name || len(s.payload) == 0 {
			return verdict{}
		}
		count++
		for _, x := range n {
			if x == count {
				return verdict{drop: true}
			}
		}
		return verdict{}
	}
}

func TestFastRetransmit(t *testing.T) {
	for _, cfg := range []Config{{NoSACK: true}, {}} {
		name := "newreno"
		if !cfg.NoSACK {
			name = "sack"
			cfg.Recovery = "sack"
		}
		t.Run(name, func(t *testing.T) {
			w, cl, sv := pair(cfg)
			c, s, _ := dial(t, w, cl, sv, nil)
			w.filter = dropNth("client", 5, 7)
			cl.tracing = true
			msg := pattern(200_000, 3)
			a := &pumpEnd{c: c, out: msg}
			b := &pumpEnd{c: s}
			pump(t, w, a, b, true, 30*time.Second)
			if !bytes.Equal(b.in.Bytes(), msg) {
				t.Fatalf("got %d bytes", b.in.Len())
			}
			in := c.Info()
			if in.FastRetransmits != 1 || in.RTOs != 0 || in.Retransmits != 2 {
				t.Fatalf("info %+v", in)
			}
			ctr := cl.p.Counters()
			if name == "sack" && ctr.SACKRecovery != 1 || name == "newreno" && ctr.RenoRecovery != 1 {
				t.Fatalf("counters %+v", ctr)
			}
			if in.Ssthresh >= 1<<30 {
				t.Fatalf("ssthresh not set: %+v", in)
			}
			var sawRetr bool
			for _, ev := range cl.events {
				if ev.Kind == 4 && ev.Detail != "" {
					sawRetr = true
				}
			}
			if !sawRetr {
				t.Fatalf("no retransmit event")
			}
		})
	}
}

func TestRTOBackoffTimeout(t *testing.T) {
	w, cl, sv := pair(Config{Retries: 4, RTOMin: 200 * time.Millisecond})
	c, _, _ := dial(t, w, cl, sv, nil)
	w.filter = func(h *host, seg []byte, why string) verdict { return verdict{drop: true} }
	w.keepLog = true
	c.Write([]byte("hello"))
	w.clk.advance(10 * time.Minute)
	if c.State() != Closed {
		t.Fatalf("state %v", c.State())
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ETIMEDOUT) {
		t.Fatalf("read: %v", err)
	}
	// The original and 4 retransmissions, each gap double the last. (A
	// tail loss probe goes first, at the PTO, and the first RTO one RTO
	// after it, as Linux does; the gaps double from there.)
	var times []time.Duration
	probes := 0
	for _, l := range w.log {
		if l.from == "client" && len(parseOut(t, l).payload) > 0 {
			if strings.HasPrefix(l.why, "TLP") {
				probes++
				continue
			}
			times = append(times, l.at)
		}
	}
	if len(times) != 5 || probes != 1 {
		t.Fatalf("sent %d times and %d probes", len(times), probes)
	}
	for i := 3; i < len(times); i++ {
		g1, g2 := times[i-1]-times[i-2], times[i]-times[i-1]
		if g2 != 2*g1 {
			t.Fatalf("gaps %v then %v", g1, g2)
		}
	}
	if cl.p.Counters().Timeouts != 4 {
		t.Fatalf("%+v", cl.p.Counters())
	}
}

func TestSynRetriesTimeout(t *testing.T) {
	w, cl, _ := pair(Config{SynRetries: 2})
	w.filter = func(h *host, seg []byte, why string) verdict { return verdict{drop: true} }
	c, _ := cl.p.Connect(netip0(), ap("10.0.0.2:80"), nil)
	w.clk.advance(time.Second + 2*time.Second + 3*time.Second)
	if c.State() != SynSent {
		t.Fatalf("gave up early: %v", c.State())
	}
	w.clk.advance(5 * time.Second)
	if c.State() != Closed || !errors.Is(c.Err(), syscall.ETIMEDOUT) {
		t.Fatalf("state %v", c.State())
	}
}

// impair returns a random filter: loss, duplication, reordering (extra
// delay) and corruption, each with probability p.
func impair(r *rand.Rand, p float64) func(h *host, seg []byte, why string) verdict {
	return func(h *host, seg []byte, why string) verdict {
		var v verdict
		v.drop = r.Float64() < p
		v.dup = r.Float64() < p/2
		v.corrupt = r.Float64() < p/4
		if r.Float64() < p {
			v.delay = time.Duration(r.IntN(30)) * time.Millisecond
		}
		return v
	}
}

func TestPropertyLossyTransfer(t *testing.T) {
	size := 1 << 20
	if testing.Short() {
		size = 100_000
	}
	for seed := 0; seed < *seeds; seed++ {
		for _, ccName := range []string{"newreno", "cubic"} {
			seed, ccName := seed, ccName
			t.Run(fmt.Sprintf("%s/seed%d", ccName, seed), func(t *testing.T) {
				t.Parallel()
				r := rand.New(rand.NewPCG(uint64(seed), 99))
				p := r.Float64() * 0.2
				cfg := Config{Congestion: ccName, NoSACK: seed%3 == 1, NoTimestamps: seed%4 == 2, MSL: time.Second}
				w, cl, sv := pair(cfg)
				c, s, _ := dial(t, w, cl, sv, nil)
				w.filter = impair(r, p)
				a := &pumpEnd{c: c, out: pattern(size, byte(seed))}
				b := &pumpEnd{c: s, out: pattern(size, byte(seed+100))}
				pump(t, w, a, b, true, 30*time.Minute)
				if !bytes.Equal(b.in.Bytes(), pattern(size, byte(seed))) || !bytes.Equal(a.in.Bytes(), pattern(size, byte(seed+100))) {
					t.Fatalf("p=%.3f: data mismatch: %d/%d bytes, states %v %v, info %+v", p, b.in.Len(), a.in.Len(), c.State(), s.State(), c.Info())
				}
				c.Close()
				s.Close()
				w.filter = nil
				w.clk.advance(5 * time.Minute)
				if cl.p.NumConns() != 0 || sv.p.NumConns() != 0 {
					t.Fatalf("p=%.3f: left %v %v", p, c.State(), s.State())
				}
			})
		}
	}
}

// TestPropertyFlowControl mixes loss with small buffers, odd MTUs and a
// slow reader, so zero windows, probes and window updates meet loss.
func TestPropertyFlowControl(t *testing.T) {
	for seed := 0; seed < *seeds; seed++ {
		seed := seed
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(uint64(seed), 7))
			p := r.Float64() * 0.1
			cfg := Config{
				Congestion:   []string{"newreno", "cubic"}[seed%2],
				NoSACK:       r.IntN(3) == 0,
				NoTimestamps: r.IntN(3) == 0,
				NoDelayedAck: r.IntN(2) == 0,
				NoDelay:      r.IntN(2) == 0,
				RecvBuffer:   2048 + r.IntN(64<<10),
				SendBuffer:   2048 + r.IntN(64<<10),
				MSL:          time.Second,
			}
			w, cl, sv := pair(cfg)
			cl.mtu, sv.mtu = 576+r.IntN(8000), 576+r.IntN(8000)
			c, s, _ := dial(t, w, cl, sv, nil)
			w.filter = impair(r, p)
			const size = 200_000
			a := &pumpEnd{c: c, out: pattern(size, byte(seed))}
			b := &pumpEnd{c: s, out: pattern(size/2, byte(seed+1))}
			end := w.clk.now.Add(time.Hour)
			for w.clk.now.Before(end) && (!a.eof || !b.eof) {
				if r.IntN(4) == 0 {
					a.step(t, true)
				}
				if r.IntN(4) == 0 {
					b.step(t, true)
				}
				if !w.clk.step(end) {
					w.clk.advance(10 * time.Millisecond)
				}
			}
			if !bytes.Equal(b.in.Bytes(), pattern(size, byte(seed))) || !bytes.Equal(a.in.Bytes(), pattern(size/2, byte(seed+1))) {
				t.Fatalf("cfg %+v p=%.3f: %d/%d bytes, states %v %v\n%+v\n%+v", cfg, p, b.in.Len(), a.in.Len(), c.State(), s.State(), c.Info(), s.Info())
			}
		})
	}
}
