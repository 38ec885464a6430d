package scenario

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"time"

	"stacklab/stack"
)

// sink receives everything the stacks report: the trace and the captures.
type sink interface {
	stack.Tap
	stack.Observer
	start(t time.Time)
	summary(res *Result)
	Close() ([]string, error)
}

// newSink builds the trace and capture writers for a run.
func newSink(sc *Scenario, opts RunOptions, seed uint64, names map[netip.Addr]string) (sink, error) {
	switch opts.Format {
	case "", "text", "json":
	default:
		return nil, fmt.Errorf("unknown trace format %q; use text or json", opts.Format)
	}
	return &simpleSink{w: bufferedOrNil(opts.Trace), json: opts.Format == "json", names: names, dec: newDecoder()}, nil
}

func bufferedOrNil(w io.Writer) *bufio.Writer {
	if w == nil {
		return nil
	}
	return bufio.NewWriter(w)
}

// simpleSink writes a one-line-per-packet trace.
type simpleSink struct {
	w     *bufio.Writer
	json  bool
	names map[netip.Addr]string
	t0    time.Time
	dec   *decoder
	sum   pktSummary
}

func (s *simpleSink) start(t time.Time) { s.t0 = t }

func (s *simpleSink) Frame(nic *stack.NIC, dir stack.Dir, pkt stack.Packet, note string) {
	if s.w == nil {
		return
	}
	s.sum = pktSummary{}
	s.dec.decode(pkt.Data, nic.Type(), &s.sum)
	t := nic.Stack().Clock().Now().Sub(s.t0)
	if s.json {
		s.writeJSON(map[string]any{"t": t.Seconds(), "type": "packet", "host": nic.Stack().Name(), "dir": dir.String(), "id": pkt.ID, "len": len(pkt.Data), "summary": s.sum.format(s.names), "note": note})
		return
	}
	arrow := "→"
	if dir == stack.DirIn {
		arrow = "←"
	}
	fmt.Fprintf(s.w, "%9.6f %-8s %s #%d %d B  %s", t.Seconds(), nic.Stack().Name(), arrow, pkt.ID, len(pkt.Data), s.sum.format(s.names))
	if note != "" {
		fmt.Fprintf(s.w, "  (%s)", note)
	}
	s.w.WriteByte('\n')
}

func (s *simpleSink) Observe(ev *stack.Event) {
	if s.w == nil {
		return
	}
	t := ev.Time.Sub(s.t0)
	if s.json {
		s.writeJSON(map[string]any{"t": t.Seconds(), "type": ev.Kind.String(), "host": ev.Host, "fd": ev.FD, "name": ev.Name, "from": ev.From, "to": ev.To, "detail": ev.Detail, "id": ev.PacketID})
		return
	}
	fmt.Fprintf(s.w, "%9.6f %-8s ", t.Seconds(), ev.Host)
	switch ev.Kind {
	case stack.EventCall:
		s.w.WriteString(ev.Detail)
	case stack.EventState:
		fmt.Fprintf(s.w, "%s %s → %s", ev.Proto, ev.From, ev.To)
	default:
		fmt.Fprintf(s.w, "%s %s", ev.Kind, ev.Name)
		if ev.Detail != "" {
			fmt.Fprintf(s.w, ": %s", ev.Detail)
		}
	}
	s.w.WriteByte('\n')
}

func (s *simpleSink) writeJSON(v any) {
	b, _ := json.Marshal(v)
	s.w.Write(b)
	s.w.WriteByte('\n')
}

func (s *simpleSink) summary(res *Result) {
	if s.w == nil || s.json {
		return
	}
	writeSummary(s.w, res)
}

// writeSummary prints the per-connection summary and counters.
func writeSummary(w io.Writer, res *Result) {
	fmt.Fprintf(w, "\nconnections:\n")
	for _, c := range res.Conns {
		fmt.Fprintf(w, "  %s\n", c)
	}
	fmt.Fprintf(w, "counters (non-zero):\n")
	for _, h := range sortedKeys(res.Counters) {
		fmt.Fprintf(w, "  %s:", h)
		for i, c := range res.Counters[h] {
			if i%6 == 0 {
				fmt.Fprintf(w, "\n   ")
			}
			fmt.Fprintf(w, " %s=%d", c.Name, c.Value)
		}
		fmt.Fprintln(w)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}

func (s *simpleSink) Close() ([]string, error) {
	if s.w == nil {
		return nil, nil
	}
	return nil, s.w.Flush()
}
