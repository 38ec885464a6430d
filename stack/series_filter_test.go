package stack_test

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"stacklab/stack"
)

// kindCounter counts the events it is given by kind; wants is its
// answer to core.SeriesFilter.
type kindCounter struct {
	n     map[stack.EventKind]int
	wants bool
}

func (k *kindCounter) Observe(ev *stack.Event) { k.n[ev.Kind]++ }
func (k *kindCounter) WantsSeries() bool       { return k.wants }

// plainCounter is an Observer that does not implement core.SeriesFilter.
type plainCounter struct{ n map[stack.EventKind]int }

func (k *plainCounter) Observe(ev *stack.Event) { k.n[ev.Kind]++ }

// TestSeriesFilter: an Observer that says it does not want EventSeries
// gets none (and still gets the rest); one that wants them, or says
// nothing, gets them.
func TestSeriesFilter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		obs    stack.Observer
		series bool
	}{
		{"filter-no", &kindCounter{n: map[stack.EventKind]int{}}, false},
		{"filter-yes", &kindCounter{n: map[stack.EventKind]int{}, wants: true}, true},
		{"no-filter", &plainCounter{n: map[stack.EventKind]int{}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPairWith(t, stack.LinkEthernet, 1500, stack.Options{Observer: tc.obs})
			tcpExchange(t, p, 64<<10)
			var n map[stack.EventKind]int
			switch o := tc.obs.(type) {
			case *kindCounter:
				n = o.n
			case *plainCounter:
				n = o.n
			}
			if got := n[stack.EventSeries] > 0; got != tc.series {
				t.Errorf("%d series events; want some: %v", n[stack.EventSeries], tc.series)
			}
			if n[stack.EventState] == 0 {
				t.Errorf("no state events: the filter must drop only series")
			}
		})
	}
}

// tcpExchange connects a to b and sends total bytes from a to b.
func tcpExchange(t *testing.T, p *pair, total int) {
	t.Helper()
	lfd, err := p.b.Socket(stack.SockStream)
	must(t, err)
	must(t, p.b.Bind(lfd, netip.AddrPortFrom(netip.Addr{}, 80)))
	must(t, p.b.Listen(lfd, 8))
	must(t, p.b.SetNonblock(lfd, true))
	cfd, err := p.a.Socket(stack.SockStream)
	must(t, err)
	must(t, p.a.SetNonblock(cfd, true))
	if err := p.a.Connect(cfd, netip.AddrPortFrom(p.bAddr, 80)); !errors.Is(err, syscall.EINPROGRESS) {
		t.Fatalf("connect: %v", err)
	}
	p.clock.RunFor(200 * time.Millisecond)
	afd, _, err := p.b.Accept(lfd)
	must(t, err)
	must(t, p.b.SetNonblock(afd, true))
	buf := make([]byte, 16<<10)
	sent, got := 0, 0
	for got < total {
		if sent < total {
			k, err := p.a.Send(cfd, buf[:min(len(buf), total-sent)])
			if err != nil && !errors.Is(err, syscall.EAGAIN) {
				t.Fatal(err)
			}
			sent += k
		}
		p.clock.RunFor(200 * time.Millisecond)
		for {
			k, err := p.b.Recv(afd, buf)
			if err != nil {
				break
			}
			got += k
		}
	}
}
