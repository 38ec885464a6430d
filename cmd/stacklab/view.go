package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"stacklab/capture/view"
)

func init() { registerCommand(newViewCmd) }

func newViewCmd(s *Streams) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "view DIR|FILE",
		Short: "Write one self-contained HTML page of a run's captures or of a pcap file",
		Long: `Write one HTML page that works offline: the topology, a ladder of every
packet in path order (click one, or step with the arrow keys, to see its
layers, why it was sent and its bytes), filters, and each TCP connection's
graphs (time–sequence, cwnd, RTT, in flight, windows, throughput).

DIR is a run's output directory (its per-host .pcapng files are merged);
FILE is one pcap or pcapng file, from stacklab or captured elsewhere. The
socket calls, states and TCP variables are only in pages that
stacklab run --html writes: captures do not hold them.

  stacklab view out                  # writes out/view.html
  stacklab view capture.pcap -o capture.html`,
		Args: oneArg("a run's output directory or a pcap/pcapng file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runView(args[0], out, s)
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "the HTML file to write (default: DIR/view.html, or FILE with .html)")
	return cmd
}

func runView(target, out string, s *Streams) error {
	st, err := os.Stat(target)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return badInput(fmt.Errorf("%s: no such file or directory", target))
		}
		return badInput(err)
	}
	var paths []string
	title := filepath.Base(strings.TrimSuffix(target, string(os.PathSeparator)))
	if st.IsDir() {
		if paths, err = view.Dir(target); err != nil {
			return badInput(err)
		}
		if out == "" {
			out = filepath.Join(target, "view.html")
		}
	} else {
		paths = []string{target}
		if out == "" {
			out = strings.TrimSuffix(target, filepath.Ext(target)) + ".html"
		}
	}
	page, err := createPage(out, "-o")
	if err != nil {
		return err
	}
	m, err := view.FromCaptures(title, paths)
	if err != nil {
		page.abandon()
		return badInput(err)
	}
	return page.write(m, s)
}

// pageFile is where a page is written: a temporary file beside its
// destination, opened before the captures are read, so that a path that
// cannot be written to is refused at once, and renamed over the
// destination only once the page is whole, so that a failure leaves the
// page there before as it was.
type pageFile struct {
	out string
	f   *os.File
}

// createPage opens the temporary file for a page to be written to out.
func createPage(out, flag string) (*pageFile, error) {
	f, err := os.CreateTemp(filepath.Dir(out), ".stacklab-page-*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, badInput(fmt.Errorf("cannot write the page %s: %v; choose another path with %s", out, err, flag))
	}
	return &pageFile{out: out, f: f}, nil
}

// abandon removes the temporary file.
func (p *pageFile) abandon() {
	p.f.Close()
	os.Remove(p.f.Name())
}

// write writes the page, puts it in place and says where.
func (p *pageFile) write(m *view.Model, s *Streams) error {
	err := m.WriteHTML(p.f)
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(p.f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(p.f.Name(), p.out)
	}
	if err != nil {
		os.Remove(p.f.Name())
		return failed(fmt.Errorf("writing %s: %w", p.out, err))
	}
	fmt.Fprintf(s.Err, "page: %s (%d packets)\n", filepath.ToSlash(p.out), len(m.Hops))
	return nil
}
