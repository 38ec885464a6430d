package tunapp

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Mode is what [Run] does once the stack is up. Exactly one of Serve, Get
// and Connect is set; all empty means Serve "echo".
type Mode struct {
	// Serve is echo, discard, http or udp-echo, on Port (0: the mode's default).
	Serve string
	Port  uint16
	// Get is a URL to fetch through the stack; Hash prints "SHA256 SIZE"
	// instead of the body.
	Get  string
	Hash bool
	// Connect is HOST:PORT for an nc-like pipe of stdin and stdout.
	Connect string
}

// Run sets up an [App], runs mode until it finishes or ctx ends (a server
// runs until ctx ends), and takes everything down again. Errors in options
// or environment are [*SetupError]s.
func Run(ctx context.Context, opts Options, mode Mode, stdin io.Reader, stdout io.Writer) (err error) {
	n := 0
	for _, s := range []string{mode.Serve, mode.Get, mode.Connect} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		return setupErr("choose one of --serve, --get and --connect")
	}
	if n == 0 {
		mode.Serve = "echo"
	}
	if mode.Serve != "" {
		if _, ok := servePorts[mode.Serve]; !ok {
			return setupErr("--serve %q: use one of echo, discard, http, udp-echo", mode.Serve)
		}
	}
	a, err := Setup(opts)
	if err != nil {
		return err
	}
	// The stack's counters go to the log on SIGUSR1 and at exit.
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-usr1:
				a.WriteCounters(a.log)
			case <-done:
				return
			}
		}
	}()
	defer func() {
		signal.Stop(usr1)
		close(done)
		a.WriteCounters(a.log)
		err = errors.Join(err, a.Close())
	}()
	switch {
	case mode.Get != "":
		return a.Get(ctx, mode.Get, mode.Hash, stdout)
	case mode.Connect != "":
		return a.Connect(ctx, mode.Connect, stdin, stdout)
	}
	return a.Serve(ctx, mode.Serve, mode.Port)
}
