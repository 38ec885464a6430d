// Package scenarios is stacklab's library of built-in scenarios: YAML
// files embedded in the binary, each a small experiment with expectations
// that pin its behaviour. `stacklab list` shows them and `stacklab run
// NAME` runs one.
package scenarios
