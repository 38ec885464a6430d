//go:build race

package sim

// raceEnabled shortens statistical tests under the race detector.
const raceEnabled = true
