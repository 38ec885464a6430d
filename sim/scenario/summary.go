package scenario

import (
	"fmt"
	"io"
	"maps"
	"slices"
)

// WriteSummary prints the per-connection summary and the non-zero
// counters of each host.
func (res *Result) WriteSummary(w io.Writer) {
	fmt.Fprintf(w, "\nconnections:\n")
	for _, c := range res.Conns {
		fmt.Fprintf(w, "  %s\n", c)
	}
	fmt.Fprintf(w, "counters (non-zero):\n")
	for _, h := range sortedKeys(res.Counters) {
		fmt.Fprintf(w, "  %s:", h)
		for i, c := range res.Counters[h] {
			if i%6 == 0 {
				fmt.Fprintf(w, "\n   ")
			}
			fmt.Fprintf(w, " %s=%d", c.Name, c.Value)
		}
		fmt.Fprintln(w)
	}
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
