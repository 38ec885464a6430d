package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"stacklab/sim/scenario/diag"
)

// version is stacklab's version, set at build time with
// -ldflags "-X main.version=v1.2.3".
var version = "v0.1.0-dev"

// Exit codes.
const (
	exitOK       = 0
	exitFailed   = 1 // an expectation failed, or the run could not finish
	exitBadInput = 2 // a bad flag, file or scenario name
)

// Streams are a command's standard streams, passed in so that commands
// run in tests without a process.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// commands holds the constructors of the subcommands; each file adds its
// own with registerCommand from an init function (tun.go does the same).
var commands []func(s *Streams) *cobra.Command

// registerCommand adds a subcommand to the root command. Call it from an
// init function in this package: the constructor gets the streams and
// returns the command; return an *exitError (via badInput or failed) from
// RunE to choose the exit code.
func registerCommand(newCmd func(s *Streams) *cobra.Command) {
	commands = append(commands, newCmd)
}

// exitError carries an exit code out of a command. A nil err means the
// command printed its message itself.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// badInput marks err as the user's input being wrong (exit code 2).
func badInput(err error) error { return &exitError{exitBadInput, err} }

// failed marks err as a failed run (exit code 1). A nil err means the
// message was already printed.
func failed(err error) error { return &exitError{exitFailed, err} }

// newRoot builds the command tree.
func newRoot(s *Streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "stacklab",
		Short: "A layered protocol simulator and packet tracer",
		Long: `stacklab runs a userspace TCP/UDP/IP stack (IPv4 and IPv6) on a simulated network in
virtual time, captures every frame to pcapng and traces each packet layer
by layer, from the socket call that caused it down to the link.

  stacklab list               the built-in scenarios
  stacklab run handshake      run one, trace to stdout, captures into ./out
  stacklab show handshake     its scenario file, to start your own from
  stacklab trace file.pcap    trace a capture made elsewhere
  stacklab pkt testdata/pkt   play packetdrill scripts against the stack
  stacklab help format        how to write a scenario file`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetVersionTemplate(versionLine())
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return badInput(fmt.Errorf("%s (see %s --help)", flagError(c, err), c.CommandPath()))
	})
	for _, newCmd := range commands {
		root.AddCommand(newCmd(s))
	}
	return root
}

// Main runs stacklab with args (without the program name) and returns
// the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := &Streams{In: stdin, Out: stdout, Err: stderr}
	root := newRoot(s)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintf(stderr, "stacklab: %v\n", ee.err)
		}
		return ee.code
	}
	// Errors from cobra itself: an unknown command or a bad argument count.
	msg := err.Error()
	fmt.Fprintf(stderr, "stacklab: %s\n", msg)
	if strings.HasPrefix(msg, "unknown command") {
		fmt.Fprintln(stderr, "Run 'stacklab --help' for the commands.")
	}
	return exitBadInput
}

// flagError rewrites pflag's messages for people: a did-you-mean for an
// unknown flag, and what a value should look like instead of the parser's
// internals (`strconv.ParseUint: parsing "-1": invalid syntax`).
func flagError(c *cobra.Command, err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		var names []string
		c.Flags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
		if best := diag.Suggest(name, names); best != "" {
			return fmt.Sprintf("%s; did you mean --%s?", msg, best)
		}
		return msg
	}
	// invalid argument "X" for "--seed" flag: strconv.ParseUint: …
	if rest, ok := strings.CutPrefix(msg, "invalid argument "); ok {
		if val, tail, ok := strings.Cut(rest, " for "); ok {
			if fl, why, ok := strings.Cut(tail, " flag: "); ok {
				fl = strings.Trim(fl, `"`)
				if i := strings.Index(fl, ", "); i >= 0 { // "-o, --out"
					fl = fl[i+2:]
				}
				switch {
				case strings.Contains(why, "strconv.ParseUint"):
					why = "want a whole number, 0 or more"
				case strings.Contains(why, "strconv.Parse"):
					why = "want a whole number"
				case strings.HasPrefix(why, "time: "):
					why = "want a duration with its unit, like 500ms, 10s or 2m"
				}
				return fmt.Sprintf("%s %s: %s", fl, val, why)
			}
		}
	}
	return msg
}

// oneArg accepts exactly one argument, and says what it should be when
// it is missing or there are more.
func oneArg(what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return badInput(fmt.Errorf("%s needs %s", c.Name(), what))
		case len(args) > 1:
			return badInput(fmt.Errorf("%s takes one argument, %s; got %d: %s", c.Name(), what, len(args), strings.Join(args, " ")))
		}
		return nil
	}
}
