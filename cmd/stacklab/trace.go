package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"stacklab/capture/trace"
	"stacklab/capture/view"
)

func init() { registerCommand(newTraceCmd) }

// traceOptions are the flags of `stacklab trace`.
type traceOptions struct {
	File   string
	Format string
	HTML   string
	Color  string
}

func newTraceCmd(s *Streams) *cobra.Command {
	o := &traceOptions{}
	cmd := &cobra.Command{
		Use:   "trace FILE|-",
		Short: "Trace a pcap or pcapng file captured elsewhere (tcpdump, Wireshark)",
		Long: `Trace a pcap or pcapng file (from tcpdump, Wireshark, or a stacklab run)
the way stacklab traces its own runs: one block a packet, one line a layer
(eth, arp, ipv4, icmp, udp, tcp with its options), TCP sequence numbers
relative to each direction's first, as Wireshark shows them. --format json
writes one JSON object a packet instead. "-" reads the capture from
standard input (tcpdump -w - | stacklab trace -).

  stacklab trace capture.pcap
  stacklab trace out/client-eth0.pcapng --format json`,
		Args: oneArg("a pcap or pcapng file, or - for stdin"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.File = args[0]
			return runTrace(o, s)
		},
	}
	cmd.Flags().StringVar(&o.Format, "format", "text", "trace format: text or json")
	cmd.Flags().StringVar(&o.HTML, "html", "", "also write the capture as one self-contained HTML page (as stacklab view does) to this file")
	colorFlag(cmd.Flags(), &o.Color)
	return cmd
}

func runTrace(o *traceOptions, s *Streams) error {
	format, err := trace.ParseFormat(o.Format)
	if err != nil {
		return badInput(err)
	}
	out, flush, err := colorOut(o.Color, s.Out)
	if err != nil {
		return badInput(err)
	}
	if format != trace.Text {
		out = s.Out
	}
	defer flush()
	if o.File == "-" {
		if o.HTML != "" {
			return badInput(fmt.Errorf("--html reads the capture again from its file; save standard input to a file first"))
		}
		if err := trace.Read(s.In, out, trace.ReadOptions{Options: trace.Options{Format: format}}); err != nil {
			return badInput(fmt.Errorf("stdin: %w", err))
		}
		return nil
	}
	if st, err := os.Stat(o.File); err == nil && st.IsDir() {
		return badInput(fmt.Errorf("%s is a directory; name a pcap or pcapng file in it (a run writes HOST-eth0.pcapng files)", o.File))
	}
	var page *pageFile
	if o.HTML != "" {
		var err error
		if page, err = createPage(o.HTML, "--html"); err != nil {
			return err
		}
	}
	if err := trace.TraceFile(o.File, out, format); err != nil {
		if page != nil {
			page.abandon()
		}
		if errors.Is(err, fs.ErrNotExist) {
			return badInput(fmt.Errorf("%s: no such file", o.File))
		}
		return badInput(err)
	}
	if page != nil {
		m, err := view.FromCaptures(filepath.Base(o.File), []string{o.File})
		if err != nil {
			page.abandon()
			return badInput(err)
		}
		return page.write(m, s)
	}
	return nil
}
