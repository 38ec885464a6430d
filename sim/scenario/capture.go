package scenario

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"

	"stacklab/capture/pcapng"
	"stacklab/capture/trace"
	"stacklab/stack"
)

// capSink writes the layered trace (capture/trace) and one pcapng file
// per vantage point (capture/pcapng), plus a combined file on request.
type capSink struct {
	tr      *trace.Tracer
	frame   trace.Frame
	dir     string
	wantAll bool
	section pcapng.Section
	descr   map[string]string // "host:eth0" → link parameters
	names   []pcapng.NameRecord

	files    map[*stack.NIC]*vantageFile
	order    []*vantageFile
	combined *vantageFile
	combIdx  map[*stack.NIC]int
	err      error
	pkt      pcapng.Packet
	comments [1]string
}

type vantageFile struct {
	path string
	f    *os.File
	w    *pcapng.Writer
}

// newSink builds the trace and capture writers for a run that starts at
// start.
func newSink(sc *Scenario, opts RunOptions, seed uint64, start time.Time, names map[netip.Addr]string) (*capSink, error) {
	format, err := trace.ParseFormat(orDefault(opts.Format, "text"))
	if err != nil {
		return nil, err
	}
	s := &capSink{
		dir:     opts.OutDir,
		wantAll: sc.Outputs.Combined,
		descr:   map[string]string{},
		files:   map[*stack.NIC]*vantageFile{},
		combIdx: map[*stack.NIC]int{},
	}
	if opts.Trace != nil {
		s.tr = trace.New(opts.Trace, trace.Options{Format: format, Names: names, Start: start})
	}
	app := "stacklab"
	if opts.Version != "" {
		app += " " + opts.Version
	}
	s.section = pcapng.Section{Application: app, Comment: fmt.Sprintf("scenario %s, seed %d, %s", sc.Name, seed, app)}
	for _, lk := range sc.Links {
		for i, end := range lk.Ends {
			out, in := lk.Forward, lk.Reverse
			if i == 1 {
				out, in = in, out
			}
			s.descr[end+":eth0"] = fmt.Sprintf("link %s to %s; out: %s; in: %s", lk.Name(), lk.Ends[1-i], describeImpair(out), describeImpair(in))
		}
	}
	for _, h := range sc.Hosts {
		s.names = append(s.names, pcapng.NameRecord{Addr: h.Addr.Addr(), Names: []string{h.Name}})
	}
	if s.dir != "" {
		if err := os.MkdirAll(s.dir, 0o755); err != nil {
			return nil, fmt.Errorf("cannot create the output directory: %w", err)
		}
	}
	return s, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
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

func linkType(t stack.LinkType) (trace.LinkType, layers.LinkType) {
	if t == stack.LinkRawIP {
		return trace.LinkRawIP, layers.LinkTypeRaw
	}
	return trace.LinkEthernet, layers.LinkTypeEthernet
}

func (s *capSink) Frame(nic *stack.NIC, dir stack.Dir, pkt stack.Packet, note string) {
	now := nic.Stack().Clock().Now()
	host := nic.Stack().Name()
	vantage := host + ":" + nic.Name()
	tlt, plt := linkType(nic.Type())
	if s.tr != nil {
		f := &s.frame
		*f = trace.Frame{Time: now, Host: host, Vantage: vantage, Link: tlt, ID: pkt.ID, Data: pkt.Data, Note: note, Dir: trace.DirOut}
		if dir == stack.DirIn {
			f.Dir = trace.DirIn
		}
		s.tr.Frame(f, nil)
	}
	if s.dir == "" || s.err != nil {
		return
	}
	vf := s.files[nic]
	if vf == nil {
		vf = s.open(filepath.Join(s.dir, host+"-"+nic.Name()+".pcapng"), s.section, pcapng.Interface{Name: vantage, Description: s.descr[vantage], LinkType: plt})
		if vf == nil {
			return
		}
		s.files[nic] = vf
	}
	p := &s.pkt
	*p = pcapng.Packet{Time: now, Data: pkt.Data, ID: pkt.ID, Dir: pcapng.DirOutbound}
	if dir == stack.DirIn {
		p.Dir = pcapng.DirInbound
	}
	s.comments[0] = note
	p.Comments = s.comments[:]
	if err := vf.w.WritePacket(p); err != nil && s.err == nil {
		s.err = err
	}
	if s.wantAll && s.combined == nil {
		sec := s.section
		sec.Comment += "; every hop in one file: Wireshark marks the later copies of each packet as retransmissions, so open the per-host files to study TCP"
		s.combined = s.open(filepath.Join(s.dir, "all-hops.pcapng"), sec, pcapng.Interface{Name: vantage, Description: s.descr[vantage], LinkType: plt})
		if s.combined == nil {
			return
		}
		s.combIdx[nic] = 0
	}
	if s.combined != nil {
		idx, ok := s.combIdx[nic]
		if !ok {
			var err error
			idx, err = s.combined.w.AddInterface(pcapng.Interface{Name: vantage, Description: s.descr[vantage], LinkType: plt})
			if err != nil {
				s.err = err
				return
			}
			s.combIdx[nic] = idx
		}
		p.Interface = idx
		if err := s.combined.w.WritePacket(p); err != nil && s.err == nil {
			s.err = err
		}
	}
}

// open creates a capture file.
func (s *capSink) open(path string, sec pcapng.Section, first pcapng.Interface) *vantageFile {
	f, err := os.Create(path)
	if err != nil {
		s.err = fmt.Errorf("cannot write the capture: %w", err)
		return nil
	}
	w, err := pcapng.NewWriter(f, sec, first)
	if err == nil {
		err = w.WriteNames(s.names)
	}
	if err != nil {
		f.Close()
		s.err = err
		return nil
	}
	vf := &vantageFile{path: path, f: f, w: w}
	s.order = append(s.order, vf)
	return vf
}

func (s *capSink) Observe(ev *stack.Event) {
	if s.tr != nil {
		s.tr.Event(ev)
	}
}

func (s *capSink) summary(res *Result) {}

func (s *capSink) Close() ([]string, error) {
	var errs []error
	if s.err != nil {
		errs = append(errs, s.err)
	}
	if s.tr != nil {
		if err := s.tr.Flush(); err != nil {
			errs = append(errs, fmt.Errorf("writing the trace: %w", err))
		}
	}
	var paths []string
	for _, vf := range s.order {
		if err := vf.w.Close(); err != nil {
			errs = append(errs, err)
		}
		if err := vf.f.Close(); err != nil {
			errs = append(errs, err)
		}
		paths = append(paths, vf.path)
	}
	return paths, errors.Join(errs...)
}
