package view_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"stacklab/scenarios"
	"stacklab/sim/scenario"
)

// bulk is a loss-free transfer of about 100,000 packets (data and ACKs).
const bulk = `name: bulk-100k
seed: 1
duration: 10m
hosts:
  client: {addr: 10.0.0.1/24}
  server: {addr: 10.0.0.2/24}
links:
  - ends: [client, server]
    delay: 5ms
    rate: 1Gbit
programs:
  server: |
    l = socket(tcp); bind(l, :5001); listen(l, 1)
    c = accept(l)
    recv(c, all) == 96MiB
    close(c); close(l)
  client: |
    s = socket(tcp); connect(s, server:5001)
    send(s, 96MiB)
    close(s)
`

// BenchmarkPageOpen measures how long headless Chromium takes to open a
// page until it has drawn its ladder and graph (ms-to-drawn, from the
// start of navigation), and then until the records behind the packet
// details are read too (ms-to-records): the lossy-transfer scenario
// (1 MiB, about 800 packets sent) and a run of about 110,000.
func BenchmarkPageOpen(b *testing.B) {
	bctx := newBrowser(b)
	for _, c := range []struct {
		name string
		load func() (*scenario.Scenario, error)
	}{
		{"lossy-transfer", func() (*scenario.Scenario, error) { return scenarios.Load("lossy-transfer") }},
		{"bulk-100k", func() (*scenario.Scenario, error) { return scenario.Load("bulk.yaml", []byte(bulk)) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			sc, err := c.load()
			if err != nil {
				b.Fatal(err)
			}
			dir := b.TempDir()
			html := filepath.Join(dir, c.name+".html")
			res, err := sc.Run(scenario.RunOptions{HTML: html, Version: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Failures) > 0 {
				b.Fatal(res.Failures[0])
			}
			st, err := os.Stat(html)
			if err != nil {
				b.Fatal(err)
			}
			var hops int
			var openMs, recsMs float64
			b.ResetTimer()
			for b.Loop() {
				ctx, cancel := chromedp.NewContext(bctx)
				ctx, cancel2 := context.WithTimeout(ctx, 2*time.Minute)
				err := chromedp.Do(ctx, chromedp.Navigate("file://"+html), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)))
				if err == nil {
					hops, err = chromedp.Run(ctx, chromedp.Evaluate[int](`window.stacklab.hops`))
				}
				if err == nil {
					openMs, err = chromedp.Run(ctx, chromedp.Evaluate[float64](`window.stacklab.openMs`))
				}
				if err == nil {
					err = chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`body[data-records="1"]`)))
				}
				if err == nil {
					recsMs, err = chromedp.Run(ctx, chromedp.Evaluate[float64](`window.stacklab.times.records`))
				}
				cancel2()
				cancel()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(openMs, "ms-to-drawn")
			b.ReportMetric(recsMs, "ms-to-records")
			b.ReportMetric(float64(hops), "packets")
			b.ReportMetric(float64(st.Size())/1e6, "MB")
			b.Logf("%s: %d packets, page %.1f MB", c.name, hops, float64(st.Size())/1e6)
		})
	}
}
