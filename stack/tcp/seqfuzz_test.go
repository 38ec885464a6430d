package tcp

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

// FuzzSequence runs a connection through a wire whose fate for each
// segment — delivered, lost, duplicated, delayed past later ones,
// corrupted — comes from the fuzzer, and data both ways. After each run:
// every byte read is a byte sent, in order; a side that saw the other's
// FIN without an error got everything; and once both applications have
// closed (or aborted), both connections reach CLOSED and leave the
// table within bounded time — no timer may keep one alive.
func FuzzSequence(f *testing.F) {
	f.Add([]byte{}, uint16(5000), uint16(300))
	f.Add([]byte{5, 0, 0, 6, 0, 7, 0x3f, 0, 5, 5, 5, 5, 0, 0}, uint16(60000), uint16(1))
	f.Add([]byte{5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5}, uint16(100), uint16(100))
	f.Add([]byte{0, 0, 0, 0x4f, 0x4f, 0x4f, 4, 4, 4, 0, 0}, uint16(20000), uint16(20000))
	f.Fuzz(func(t *testing.T, fate []byte, up, down uint16) {
		w, cl, sv := pair(Config{RecvBuffer: 16 << 10, SendBuffer: 16 << 10})
		i := 0
		w.filter = func(h *host, seg []byte, why string) verdict {
			if i >= len(fate) {
				return verdict{}
			}
			b := fate[i]
			i++
			switch b & 7 {
			case 5:
				return verdict{drop: true}
			case 6:
				return verdict{dup: true}
			case 7:
				return verdict{delay: time.Duration(b>>3) * 3 * time.Millisecond}
			case 4:
				return verdict{corrupt: b&0x40 != 0}
			}
			return verdict{}
		}
		l, err := sv.p.Listen(ap("0.0.0.0:80"), 4, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := cl.p.Connect(netip.AddrPort{}, ap("10.0.0.2:80"), nil)
		if err != nil {
			t.Fatal(err)
		}
		a := &seqEnd{c: c, out: pattern(int(up), 1)}
		var b *seqEnd
		for end := w.clk.now.Add(10 * time.Minute); w.clk.now.Before(end); {
			w.clk.advance(20 * time.Millisecond)
			if b == nil {
				if s, err := l.Accept(); err == nil {
					b = &seqEnd{c: s, out: pattern(int(down), 2)}
				}
			}
			a.step()
			checkLossCounts(t, a.c)
			if b != nil {
				b.step()
				checkLossCounts(t, b.c)
				if a.done() && b.done() {
					break
				}
			}
			if c.State() == Closed && b == nil {
				break
			}
		}
		// Both applications close (an abort when data is left unread).
		c.Close()
		l.Close()
		if b != nil {
			b.c.Close()
		}
		w.clk.advance(time.Hour)
		for _, e := range []*seqEnd{a, b} {
			if e == nil {
				continue
			}
			sent := pattern(int(up), 1)
			if e == a {
				sent = pattern(int(down), 2)
			}
			if !bytes.HasPrefix(sent, e.in.Bytes()) {
				t.Fatalf("read %d bytes that are not a prefix of those sent", e.in.Len())
			}
			if e.eof && e.err == nil && e.in.Len() != len(sent) {
				t.Fatalf("EOF after %d of %d bytes", e.in.Len(), len(sent))
			}
		}
		if n, m := cl.p.NumConns(), sv.p.NumConns(); n != 0 || m != 0 {
			var states []State
			cl.p.Conns(func(c *Conn) { states = append(states, c.State()) })
			sv.p.Conns(func(c *Conn) { states = append(states, c.State()) })
			t.Fatalf("an hour after both closed: %d and %d connections left, states %v", n, m, states)
		}
	})
}

// seqEnd is one application of FuzzSequence: it writes its data, shuts
// down its sending side, and reads until EOF or an error.
type seqEnd struct {
	c      *Conn
	out    []byte
	in     bytes.Buffer
	shut   bool
	eof    bool
	err    error
	failed bool
}

func (e *seqEnd) done() bool { return (e.eof || e.failed) && (e.shut || e.failed) }

func (e *seqEnd) step() {
	for len(e.out) > 0 && !e.failed {
		n, err := e.c.Write(e.out)
		if err != nil {
			if !errors.Is(err, syscall.EAGAIN) {
				e.failed, e.err = true, err
			}
			break
		}
		e.out = e.out[n:]
	}
	if len(e.out) == 0 && !e.shut && !e.failed {
		e.shut = true
		if err := e.c.CloseWrite(); err != nil {
			e.failed, e.err = true, err
		}
	}
	var buf [4096]byte
	for !e.eof && !e.failed {
		n, err := e.c.Read(buf[:])
		e.in.Write(buf[:n])
		switch {
		case err == io.EOF:
			e.eof = true
		case errors.Is(err, syscall.EAGAIN):
			return
		case err != nil:
			e.failed, e.err = true, err
		}
	}
}

// checkLossCounts checks the loss state's byte counters against its
// records: the pipe is computed from them on every ACK.
func checkLossCounts(t *testing.T, c *Conn) {
	t.Helper()
	ls := c.ls
	if ls == nil {
		return
	}
	var sacked, lost, retrans, lostRetrans int
	for _, r := range ls.txRecs() {
		n := r.len()
		if r.flags&txSACKed != 0 {
			sacked += n
		}
		if r.flags&txLost != 0 {
			lost += n
		}
		if r.flags&txRetrans != 0 {
			retrans += n
			if r.flags&txWasLost != 0 {
				lostRetrans += n
			}
		}
	}
	if sacked != ls.sacked || lost != ls.lost || retrans != ls.retrans || lostRetrans != ls.lostRetrans {
		t.Fatalf("loss counters sacked %d lost %d retrans %d lostRetrans %d, records say %d %d %d %d",
			ls.sacked, ls.lost, ls.retrans, ls.lostRetrans, sacked, lost, retrans, lostRetrans)
	}
}
