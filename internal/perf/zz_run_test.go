package perf

import (
	"os"
	"path/filepath"
	"testing"

	"stacklab/sim/scenario"
)

func BenchmarkZZRunnerPcap(b *testing.B) {
	sc, err := scenario.Load("runner-bulk.yaml", []byte(runnerBulk(runnerCostBytes)))
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	for _, name := range []string{"client-eth0.pcapng", "server-eth0.pcapng"} {
		os.Symlink(os.DevNull, filepath.Join(dir, name))
	}
	for range b.N {
		res, err := sc.Run(scenario.RunOptions{OutDir: dir})
		if err != nil || !res.Passed() {
			b.Fatal(err, res.Failures)
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		fi, _ := e.Info()
		b.Logf("%s %d", e.Name(), fi.Size())
	}
}
