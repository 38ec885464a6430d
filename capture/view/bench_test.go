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
// start of navigation), and until the details of the middle packet,
// selected as soon as the page is drawn, are shown (ms-to-details; a
// timed by the page when it has drawn them), until the whole page is read
// (ms-to-parsed), and from a click on a packet whose records are not
// read yet to its details (ms-click-to-details): the lossy-transfer scenario
// (1 MiB, about 800 packets sent) and a run of about 110,000, whose page
// is the largest a run makes: its first and last 50,000 records
// (maxRecords), some 33,000 packets.
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
			var openMs, detailMs, docMs, clickMs float64
			var timesJSON string
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
				// As a person would: the page drawn, select the middle
				// packet at once and wait until its layers are shown.
				if err == nil {
					_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`window.stacklab.select(window.stacklab.hops >> 1), true`))
				}
				if err == nil {
					err = chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#detail h3`)))
				}
				if err == nil {
					detailMs, err = chromedp.Run(ctx, chromedp.Evaluate[float64](`window.stacklab.times.detail`))
				}
				// Once the page is read, a click on a packet not shown yet.
				if err == nil {
					err = chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`body[data-records="1"]`)))
				}
				if err == nil {
					_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState !== "loading" && (window.stacklab.select(window.stacklab.hops / 3 | 0), true)`))
				}
				if err == nil {
					_, err = chromedp.Run(ctx, chromedp.Poll[bool](`window.stacklab.times.detailOf === (window.stacklab.hops / 3 | 0)`))
				}
				if err == nil {
					clickMs, err = chromedp.Run(ctx, chromedp.Evaluate[float64](`window.stacklab.times.detail - window.stacklab.times.select`))
				}
				if err == nil {
					timesJSON, err = chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.stacklab.times)`))
				}
				if err == nil {
					docMs, err = chromedp.Run(ctx, chromedp.Evaluate[float64](`window.stacklab.times.docread || 0`))
				}
				cancel2()
				cancel()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(openMs, "ms-to-drawn")
			b.ReportMetric(detailMs, "ms-to-details")
			b.ReportMetric(docMs, "ms-to-parsed")
			b.ReportMetric(clickMs, "ms-click-to-details")
			b.ReportMetric(float64(hops), "packets")
			b.ReportMetric(float64(st.Size())/1e6, "MB")
			b.Logf("%s: %d packets, page %.1f MB; ms since navigation: %s", c.name, hops, float64(st.Size())/1e6, timesJSON)
		})
	}
}
