package main

import (
	"github.com/spf13/cobra"

	"stacklab/scenarios"
)

func init() { registerCommand(newShowCmd) }

func newShowCmd(s *Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Print a built-in scenario's file, to read or to start a new one from",
		Args:  oneArg("the name of a built-in scenario; stacklab list shows them"),
		ValidArgsFunction: func(c *cobra.Command, args []string, to string) ([]string, cobra.ShellCompDirective) {
			names, _ := completeScenario(c, args, to)
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(_ *cobra.Command, args []string) error {
			src, err := scenarios.Source(args[0])
			if err != nil {
				return badInput(err)
			}
			_, err = s.Out.Write(src)
			return err
		},
	}
}
