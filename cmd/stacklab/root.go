package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
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
		Long: `stacklab runs a userspace TCP/UDP/IPv4 stack on a simulated network in
virtual time, captures every frame to pcapng and traces each packet layer
by layer, from the socket call that caused it down to the link.

  stacklab list               the built-in scenarios
  stacklab run handshake      run one, trace to stdout, captures into ./out
  stacklab show handshake     its scenario file, to start your own from
  stacklab trace file.pcap    trace a capture made elsewhere`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return badInput(fmt.Errorf("%v (see %s --help)", err, c.CommandPath()))
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
