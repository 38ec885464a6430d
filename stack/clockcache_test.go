package stack_test

import (
	"net/netip"
	"testing"
	"time"

	"stacklab/sim"
	"stacklab/stack"
	"stacklab/stack/core"
)

// countingClock counts the readings of the clock it wraps.
type countingClock struct {
	c     *sim.Clock
	reads int
}

func (c *countingClock) Now() time.Time { c.reads++; return c.c.Now() }
func (c *countingClock) AfterFunc(d time.Duration, f func()) core.Timer {
	return c.c.AfterFunc(d, f)
}

// TestClockReadOncePerEntry checks that a call into the stack reads the
// clock once however many layers ask for the time (Linux's per-packet
// clock cache), and afresh at every call: a send of data on an
// established connection reads it once, and the timestamps of two sends
// a few milliseconds apart differ by those milliseconds.
func TestClockReadOncePerEntry(t *testing.T) {
	sc := sim.NewClock(time.Unix(1000, 0))
	clk := &countingClock{c: sc}
	var sent [][]byte
	var a, b *stack.Stack
	var anic, bnic *stack.NIC
	a = stack.New(stack.Options{Name: "a", Clock: clk})
	b = stack.New(stack.Options{Name: "b", Clock: clk})
	link := func(to **stack.NIC, record bool) stack.Link {
		return stack.LinkFunc(func(pkt stack.Packet) {
			out := stack.Packet{ID: pkt.ID, Data: append([]byte(nil), pkt.Data...), ChecksumOK: pkt.ChecksumOK}
			if record {
				sent = append(sent, out.Data)
			}
			sc.AfterFunc(time.Millisecond, func() { (*to).Deliver(out) })
		})
	}
	var err error
	anic, err = a.AddNIC(stack.NICConfig{Name: "eth0", Type: stack.LinkRawIP, Addr: netip.MustParsePrefix("10.0.0.1/24")}, link(&bnic, true))
	must(t, err)
	bnic, err = b.AddNIC(stack.NICConfig{Name: "eth0", Type: stack.LinkRawIP, Addr: netip.MustParsePrefix("10.0.0.2/24")}, link(&anic, false))
	must(t, err)
	lfd, _ := b.Socket(stack.SockStream)
	must(t, b.Bind(lfd, netip.MustParseAddrPort("0.0.0.0:80")))
	must(t, b.Listen(lfd, 1))
	cfd, _ := a.Socket(stack.SockStream)
	must(t, a.SetNonblock(cfd, true))
	a.Connect(cfd, netip.MustParseAddrPort("10.0.0.2:80"))
	sc.RunFor(10 * time.Millisecond)
	sent = nil
	for i, gap := range []time.Duration{0, 7 * time.Millisecond} {
		sc.RunFor(gap)
		reads := clk.reads
		if n, err := a.Send(cfd, []byte("hello")); n != 5 || err != nil {
			t.Fatalf("send: %d, %v", n, err)
		}
		if got := clk.reads - reads; got != 1 {
			t.Errorf("send %d read the clock %d times, want once", i, got)
		}
		sc.RunFor(time.Millisecond)
	}
	var tsvals []uint32
	for _, f := range sent {
		seg := f[20:]                              // IPv4 without options
		if len(seg) > 20+10 && seg[13]&0x08 != 0 { // PSH: the data
			for o := seg[20 : int(seg[12]>>4)*4]; len(o) > 0; {
				if o[0] == 0 || o[0] == 1 {
					o = o[1:]
					continue
				}
				if o[0] == 8 {
					tsvals = append(tsvals, uint32(o[2])<<24|uint32(o[3])<<16|uint32(o[4])<<8|uint32(o[5]))
				}
				o = o[o[1]:]
			}
		}
	}
	if len(tsvals) != 2 || tsvals[1]-tsvals[0] != 8 {
		t.Errorf("the data segments' TSvals %v, want two 8 ms apart (the clock read afresh at each send)", tsvals)
	}
}
