package main

import (
	"io"

	"github.com/spf13/cobra"

	"stacklab/sim/scenario"
)

func init() { registerCommand(newFormatTopic) }

// newFormatTopic is a help topic, not a command: `stacklab help format`
// prints the scenario file reference (FORMAT.md), so that someone with
// only the binary can write a scenario.
func newFormatTopic(s *Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "format",
		Short: "How to write a scenario file (hosts, links, programs, faults, expect)",
		Long:  scenario.FormatReference,
	}
	cmd.SetHelpFunc(func(c *cobra.Command, _ []string) {
		io.WriteString(c.OutOrStdout(), scenario.FormatReference)
	})
	return cmd
}
