package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

func init() { registerCommand(newVersionCmd) }

func newVersionCmd(s *Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print stacklab's version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprint(s.Out, versionLine())
			return nil
		},
	}
}

// versionLine is what `stacklab version` and `stacklab --version` print.
func versionLine() string {
	return fmt.Sprintf("stacklab %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
