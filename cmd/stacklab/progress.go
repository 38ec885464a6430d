package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// isTerminal reports whether w is a terminal, where a progress line
// belongs (a file or a pipe gets none).
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// progressLine returns a RunOptions.Progress that keeps one line on w up
// to date — virtual time reached, frames, and the wall-clock time left at
// the rate so far — and clears it at the end.
func progressLine(w io.Writer) func(at time.Duration, frames int, duration time.Duration, done bool) {
	start := time.Now()
	return func(at time.Duration, frames int, duration time.Duration, done bool) {
		if done {
			fmt.Fprint(w, "\r\x1b[K")
			return
		}
		fmt.Fprint(w, "\r\x1b[K"+progressText(at, frames, duration, time.Since(start)))
	}
}

// progressText is the progress line's text.
func progressText(at time.Duration, frames int, duration, wall time.Duration) string {
	eta := "?"
	if at > 0 {
		left := time.Duration(float64(wall) * float64(duration-at) / float64(at))
		eta = left.Round(time.Second).String()
	}
	return fmt.Sprintf("running: %s of %s virtual time, %d frames, about %s left", at.Round(time.Millisecond), duration, frames, eta)
}
