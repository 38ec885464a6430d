package scenario

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
)

var propSeeds = flag.Int("scenario.seeds", 6, "seeds for the property test of bulk transfers over random impairments")

// TestPropertyBulkBothWays sends 1 MiB each way at once (a connection in
// each direction) over a link with random loss (up to 20%), duplication,
// reordering and corruption, for several seeds and both congestion
// controllers, through the whole scenario engine: every byte must arrive
// intact and in order (bulk_recv checks), and every transfer finish.
func TestPropertyBulkBothWays(t *testing.T) {
	for seed := range uint64(*propSeeds) {
		for _, cc := range []string{"newreno", "cubic"} {
			rng := rand.New(rand.NewPCG(seed, 0x5eed))
			loss := rng.Float64() * 0.20
			dup := rng.Float64() * 0.02
			reorder := rng.Float64() * 0.05
			corrupt := rng.Float64() * 0.02
			name := fmt.Sprintf("seed%d-%s", seed, cc)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				src := fmt.Sprintf(`name: %s
seed: %d
duration: 1h
hosts:
  client: {addr: 10.0.0.1/24, tcp: {congestion: %[3]s}}
  server: {addr: 10.0.0.2/24, tcp: {congestion: %[3]s}}
links:
  - ends: [client, server]
    delay: 5ms
    rate: 50Mbit
    loss: %.4f
    duplicate: %.4f
    reorder: %.4f
    corrupt: %.4f
programs:
  server: |
    bulk_recv(:5001, 1MiB)
    sleep 1ms
    bulk_send(client:5002, 1MiB)
  client: |
    bulk_recv(:5002, 1MiB)
    bulk_send(server:5001, 1MiB)
`, name, seed, cc, loss, dup, reorder, corrupt)
				sc, err := Load(name+".yaml", []byte(src))
				if err != nil {
					t.Fatal(err)
				}
				res, err := sc.Run(RunOptions{})
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range res.Failures {
					t.Errorf("loss %.3f dup %.3f reorder %.3f corrupt %.3f:\n%s", loss, dup, reorder, corrupt, f)
				}
			})
		}
	}
}
