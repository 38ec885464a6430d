package scenario

import "testing"

// BenchmarkRunBulk runs a 16 MiB transfer over a 1 Gbit/s, 10 ms link
// with no trace and no captures: the scenario engine's own cost per
// packet (packet summaries for expectations, the event ring) on top of
// the stack's and the simulator's.
func BenchmarkRunBulk(b *testing.B) {
	sc, err := Load("bulk.yaml", []byte(`hosts:
  client: {addr: 10.0.0.1/24}
  server: {addr: 10.0.0.2/24}
links:
  - ends: [client, server]
    delay: 10ms
    rate: 1Gbit
programs:
  server: |
    l = socket(tcp); bind(l, :5001); listen(l, 1); c = accept(l)
    recv(c, all) == 16MiB
    close(c)
  client: |
    s = socket(tcp); connect(s, server:5001)
    send(s, 16MiB)
    close(s)
expect:
  - client > server [S]
`))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var pkts int
	for b.Loop() {
		res, err := sc.Run(RunOptions{})
		if err != nil || !res.Passed() {
			b.Fatal(err, res.Failures)
		}
		pkts = 0
		for _, c := range res.Conns {
			pkts += c.PacketsAB + c.PacketsBA
		}
	}
	b.ReportMetric(float64(pkts)*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}
