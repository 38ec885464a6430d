package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"stacklab/capture/trace"
)

// colorFlag adds --color to a command that prints a text trace.
func colorFlag(fs *pflag.FlagSet, mode *string) {
	fs.StringVar(mode, "color", "auto", "colour the text trace: auto (on a terminal, unless NO_COLOR is set), always or never")
}

// colorOut returns where a text trace goes: w itself, or w through a
// trace.ColorWriter when mode says so ("auto": w is a terminal and the
// NO_COLOR environment variable is empty or unset). flush writes what
// the colourer holds; call it before writing anything else to w.
func colorOut(mode string, w io.Writer) (out io.Writer, flush func() error, err error) {
	on := false
	switch mode {
	case "auto", "":
		on = isTerminal(w) && os.Getenv("NO_COLOR") == ""
	case "always":
		on = true
	case "never":
	default:
		return nil, nil, fmt.Errorf("--color %q: want auto, always or never", mode)
	}
	if !on {
		return w, func() error { return nil }, nil
	}
	cw := trace.NewColorWriter(w)
	return cw, cw.Flush, nil
}
