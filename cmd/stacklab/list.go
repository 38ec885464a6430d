package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"stacklab/scenarios"
)

func init() { registerCommand(newListCmd) }

// listOptions are the flags of `stacklab list`.
type listOptions struct {
	Long bool
}

func newListCmd(s *Streams) *cobra.Command {
	o := &listOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the built-in scenarios",
		Args:  cobra.NoArgs,
		RunE:  func(*cobra.Command, []string) error { return runList(o, s) },
	}
	cmd.Flags().BoolVarP(&o.Long, "long", "l", false, "the whole description of each, not the start of its first sentence")
	return cmd
}

func runList(o *listOptions, s *Streams) error {
	infos, err := scenarios.List()
	if err != nil {
		return failed(fmt.Errorf("a built-in scenario does not load (a bug): %w", err))
	}
	tw := tabwriter.NewWriter(s.Out, 0, 0, 2, ' ', 0)
	for _, in := range infos {
		about := in.About
		if !o.Long {
			about = shorten(firstSentence(about), listWidth)
		}
		fmt.Fprintf(tw, "%s\t%s\n", in.Name, about)
	}
	return tw.Flush()
}

// listWidth is how much of a description `stacklab list` shows on its
// line; -l shows it all.
const listWidth = 72

// shorten cuts s to at most n characters at a word boundary, ending it
// with "…" when it cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := n - 1
	for i := cut; i > n/2; i-- {
		if r[i] == ' ' {
			cut = i
			break
		}
	}
	return strings.TrimRight(string(r[:cut]), " ,;:(") + "…"
}

// firstSentence cuts s after its first sentence: a period followed by a
// space.
func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}
