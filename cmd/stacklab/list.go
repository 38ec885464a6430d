package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"stacklab/scenarios"
)

func init() { registerCommand(newListCmd) }

func newListCmd(s *Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the built-in scenarios",
		Args:  cobra.NoArgs,
		RunE:  func(*cobra.Command, []string) error { return runList(s) },
	}
}

func runList(s *Streams) error {
	infos, err := scenarios.List()
	if err != nil {
		return failed(fmt.Errorf("a built-in scenario does not load (a bug): %w", err))
	}
	tw := tabwriter.NewWriter(s.Out, 0, 0, 2, ' ', 0)
	for _, in := range infos {
		fmt.Fprintf(tw, "%s\t%s\n", in.Name, in.About)
	}
	return tw.Flush()
}
