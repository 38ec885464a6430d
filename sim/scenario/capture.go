package scenario

import (
	"cmp"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"stacklab/capture"
	"stacklab/capture/ladder"
	"stacklab/capture/series"
	"stacklab/capture/view"
)

// newRecorder builds the capture.Recorder that writes a run's trace and
// its pcapng files: one per vantage point, and one with every hop when
// the scenario's outputs ask for it.
func newRecorder(sc *Scenario, opts RunOptions, seed uint64, start time.Time, names map[netip.Addr]string, page io.Writer) (*capture.Recorder, error) {
	format, err := capture.ParseFormat(cmp.Or(opts.Format, "text"))
	if err != nil {
		return nil, err
	}
	co := capture.Options{
		Dir: opts.OutDir, Trace: opts.Trace, Format: format,
		Scenario: sc.Name, Seed: seed, Version: opts.Version, Start: start, Names: names,
		SnapLen: opts.SnapLen,
		// A run's stacks, links and tasks take turns on this goroutine.
		Serial: true,
	}
	if page != nil {
		co.Page = page
	}
	if (opts.Ladder || sc.Outputs.Ladder) && opts.OutDir != "" {
		co.Ladder = ladder.NewCollector(sc.HostNames(), cmp.Or(opts.LadderRows, ladder.DefaultKeep))
	}
	if sc.Outputs.Combined && opts.OutDir != "" {
		co.Combined = filepath.Join(opts.OutDir, "all-hops.pcapng")
	}
	rec, err := capture.New(co)
	if err != nil {
		return nil, err
	}
	for _, lk := range sc.Links {
		for i, end := range lk.Ends {
			if i == 1 && lk.Switch || lk.Trunk {
				break // a switch's capture points are its captured ports
			}
			out, in := lk.Forward, lk.Reverse
			if i == 1 {
				out, in = in, out
			}
			d := fmt.Sprintf("link %s to %s; out: %s; in: %s", lk.Name(), lk.Ends[1-i], describeImpair(out), describeImpair(in))
			if b := sc.Host(end).Box; b != nil && b.Outside == lk.Ifaces[i] {
				d += "; " + b.Kind + " on this interface: captured as on the outside wire"
			}
			rec.Describe(end+":eth"+strconv.Itoa(lk.Ifaces[i]), d)
		}
	}
	for _, sw := range sc.Switches {
		for _, peer := range sw.Capture {
			var imp Impair
			for _, lk := range sc.Links {
				if lk.Ends == [2]string{peer, sw.Name} {
					imp = lk.Reverse
				} else if lk.Ends == [2]string{sw.Name, peer} {
					imp = lk.Forward
				}
			}
			rec.Mirror(sw.Name + ":" + peer)
			rec.Describe(sw.Name+":"+peer, fmt.Sprintf("switch %s, the port toward %s (a mirror of it): in is what reaches the switch, out what it sends (%s)", sw.Name, peer, describeImpair(imp)))
		}
	}
	return rec, nil
}

// writeLadders draws the run's packets, TCP state changes and socket
// calls as ladder diagrams, in the three forms capture/ladder knows.
func writeLadders(dir string, l *ladder.Ladder) ([]string, error) {
	var files []string
	for _, f := range []struct {
		name string
		draw func(io.Writer) error
	}{{"ladder.txt", l.Text}, {"ladder.mmd", l.Mermaid}, {"ladder.svg", l.SVG}} {
		path := filepath.Join(dir, f.name)
		w, err := os.Create(path)
		if err != nil {
			return files, fmt.Errorf("cannot write the ladder diagram: %w", err)
		}
		err = f.draw(w)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return files, fmt.Errorf("writing %s: %w", path, err)
		}
		files = append(files, path)
	}
	return files, nil
}

// pageInput describes the run's HTML page: its title, words and
// topology. The JSON trace is written into a view.Builder as the run
// goes (newPage).
func pageInput(sc *Scenario, lang string) view.Input {
	in := view.Input{Title: sc.Name, About: sc.About, Lang: lang}
	if lang == "zh" && sc.AboutZH != "" {
		in.About = sc.AboutZH
	}
	for _, h := range sc.Hosts {
		n := view.Node{Name: h.Name, Router: h.Router}
		for _, p := range h.Ifaces {
			n.Addrs = append(n.Addrs, p.String())
		}
		in.Nodes = append(in.Nodes, n)
	}
	for _, sw := range sc.Switches {
		in.Nodes = append(in.Nodes, view.Node{Name: sw.Name})
	}
	for _, lk := range sc.Links {
		d := fmt.Sprintf("link %s to %s; out: %s; in: %s", lk.Name(), lk.Ends[1], describeImpair(lk.Forward), describeImpair(lk.Reverse))
		if lk.Firewall != nil {
			d += "; firewall, inside " + lk.Firewall.Inside
		}
		if lk.NAT != nil {
			d += "; nat, inside " + lk.NAT.Inside
		}
		in.Links = append(in.Links, view.Link{A: lk.Ends[0], B: lk.Ends[1], Desc: d})
	}
	return in
}

// writePage writes the run's HTML page from the JSON trace written into
// page.
func writePage(path string, page *view.Builder) error {
	m, err := page.Model()
	if err != nil {
		return fmt.Errorf("the HTML page: %w", err)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("cannot write the HTML page: %w", err)
		}
	}
	w, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cannot write the HTML page: %w", err)
	}
	err = m.WriteHTML(w)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// openSeries creates opts.Series/series.csv and has the run's series
// written into it as they come; they are kept besides only for plots.
func (r *runner) openSeries(opts RunOptions) error {
	if err := os.MkdirAll(opts.Series, 0o755); err != nil {
		return fmt.Errorf("cannot write the series into %s: %w", opts.Series, err)
	}
	f, err := os.Create(filepath.Join(opts.Series, "series.csv"))
	if err != nil {
		return fmt.Errorf("cannot write the series: %w", err)
	}
	r.seriesFile = f
	r.series.StreamCSV(f, opts.Plots && opts.OutDir != "")
	return nil
}

// writePlots draws the TCP series as SVG plots into opts.OutDir, if
// asked.
func writePlots(set *series.Set, opts RunOptions) ([]string, error) {
	if !opts.Plots || opts.OutDir == "" {
		return nil, nil
	}
	var files []string
	for _, c := range set.Conns() {
		path := filepath.Join(opts.OutDir, "tcp-"+c.Name()+".svg")
		w, err := os.Create(path)
		if err != nil {
			return files, fmt.Errorf("cannot write the series: %w", err)
		}
		err = c.WriteSVG(w)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return files, fmt.Errorf("writing %s: %w", path, err)
		}
		files = append(files, path)
	}
	return files, nil
}

// describeImpair writes one direction's link parameters.
func describeImpair(i Impair) string {
	var parts []string
	if i.Delay > 0 {
		parts = append(parts, "delay "+i.Delay.String())
	}
	if i.Jitter > 0 {
		parts = append(parts, "jitter "+i.Jitter.String())
	}
	if i.Rate > 0 {
		parts = append(parts, fmt.Sprintf("rate %g Mbit/s", float64(i.Rate)/1e6))
	}
	if i.QueuePackets > 0 {
		parts = append(parts, fmt.Sprintf("queue %d packets", i.QueuePackets))
	}
	if i.QueueBytes > 0 {
		parts = append(parts, fmt.Sprintf("queue %d bytes", i.QueueBytes))
	}
	if i.AQM.Kind != "" {
		ecn := "drop"
		if i.AQM.ECN {
			ecn = "ecn"
		}
		parts = append(parts, fmt.Sprintf("aqm %s (%s)", i.AQM.Kind, ecn))
	}
	if i.Loss > 0 {
		parts = append(parts, fmt.Sprintf("loss %g%%", i.Loss*100))
	}
	if i.Burst.P > 0 {
		parts = append(parts, fmt.Sprintf("burst loss p %g r %g", i.Burst.P, i.Burst.R))
	}
	if i.Duplicate > 0 {
		parts = append(parts, fmt.Sprintf("duplicate %g%%", i.Duplicate*100))
	}
	if i.Reorder > 0 {
		parts = append(parts, fmt.Sprintf("reorder %g%%", i.Reorder*100))
	}
	if i.Corrupt > 0 {
		parts = append(parts, fmt.Sprintf("corrupt %g%%", i.Corrupt*100))
	}
	if i.MTU > 0 {
		parts = append(parts, fmt.Sprintf("mtu %d", i.MTU))
	}
	if len(parts) == 0 {
		return "perfect"
	}
	return strings.Join(parts, ", ")
}
