package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"stacklab/scenarios"
)

func init() { registerCommand(newListCmd) }

// listOptions are the flags of `stacklab list`.
type listOptions struct {
	Long bool
	Lang string
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
	cmd.Flags().StringVar(&o.Lang, "lang", "", "en or zh (Simplified Chinese); default from LANG")
	return cmd
}

func runList(o *listOptions, s *Streams) error {
	lang, err := chooseLang(o.Lang)
	if err != nil {
		return badInput(err)
	}
	groups, infos, err := scenarios.Grouped()
	if err != nil {
		return failed(fmt.Errorf("a built-in scenario does not load (a bug): %w", err))
	}
	for i, g := range groups {
		if i > 0 {
			fmt.Fprintln(s.Out)
		}
		title := g.Title
		if lang == "zh" {
			title = g.TitleZH
		}
		fmt.Fprintf(s.Out, "%s\n", title)
		tw := tabwriter.NewWriter(s.Out, 0, 0, 2, ' ', 0)
		for _, n := range g.Names {
			in := infos[n]
			about := in.About
			if lang == "zh" && in.AboutZH != "" {
				about = in.AboutZH
			}
			if !o.Long {
				about = shorten(firstSentence(about), listWidth)
			}
			fmt.Fprintf(tw, "  %s\t%s\n", in.Name, about)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// chooseLang returns "en" or "zh": the --lang flag, else LANG
// (zh_CN.UTF-8 and the like choose zh).
func chooseLang(flag string) (string, error) {
	switch flag {
	case "en", "zh":
		return flag, nil
	case "":
		if strings.HasPrefix(os.Getenv("LANG"), "zh") {
			return "zh", nil
		}
		return "en", nil
	}
	return "", fmt.Errorf("unknown --lang %q; use en or zh", flag)
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
// space, or a Chinese full stop.
func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	if i := strings.Index(s, "。"); i >= 0 {
		return s[:i+len("。")]
	}
	return s
}
