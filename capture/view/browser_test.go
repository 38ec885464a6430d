package view_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"stacklab/capture"
	"stacklab/capture/ladder"
	"stacklab/capture/trace"
	"stacklab/capture/view"
	"stacklab/scenarios"
	"stacklab/sim/scenario"
)

var shots = flag.String("shots", filepath.Join(os.TempDir(), "stacklab-view-screenshots"), "directory for the pages' screenshots")

// browser finds Chromium, or skips the test saying what to install.
func browser(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	tb.Skip("no Chromium found (install the Debian package chromium): the HTML page is not tested in a browser")
	return ""
}

// newBrowser starts one headless browser for the whole test.
func newBrowser(tb testing.TB) context.Context {
	path := browser(tb)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.WindowSize(1400, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	tb.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	tb.Cleanup(cancel2)
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// pageRun runs a built-in scenario with --html and returns the page's
// path and the number of frames sent, counted from its pcapng files.
func pageRun(tb testing.TB, name string) (string, int) {
	tb.Helper()
	sc, err := scenarios.Load(name)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	html := filepath.Join(dir, name+".html")
	res, err := sc.Run(scenario.RunOptions{OutDir: dir, HTML: html, Version: "test"})
	if err != nil {
		tb.Fatal(err)
	}
	mirrors := map[string]bool{} // captures of switch ports: not in the page
	for _, sw := range sc.Switches {
		for _, peer := range sw.Capture {
			mirrors[sw.Name+"-"+peer+".pcapng"] = true
		}
	}
	var all []capture.Summary
	for _, f := range res.Files {
		if !strings.HasSuffix(f, ".pcapng") || mirrors[filepath.Base(f)] {
			continue
		}
		sums, err := capture.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		all = append(all, sums...)
	}
	// The hops the ladder draws from the same frames, merged in time (at
	// one instant a frame sent before frames received): one a frame
	// sent, and one a frame received whose sending was not captured (a
	// packet injected onto a link, a broadcast's second receiver).
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Time != all[j].Time {
			return all[i].Time < all[j].Time
		}
		return all[i].Dir == trace.DirOut && all[j].Dir != trace.DirOut
	})
	sent := len(ladder.Build(all, nil).Msgs)
	return html, sent
}

// watch records console errors, exceptions and requests other than the
// page itself.
type watch struct {
	mu       sync.Mutex
	errs     []string
	requests []string
}

func (w *watch) listen(ctx context.Context, page string) error {
	return chromedp.Listen(ctx, func(ev any) {
		w.mu.Lock()
		defer w.mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == "error" || e.Type == "warning" || e.Type == "assert" {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				w.errs = append(w.errs, fmt.Sprintf("console.%s: %s", e.Type, strings.Join(parts, " ")))
			}
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			w.errs = append(w.errs, fmt.Sprintf("exception at %d:%d: %s", d.LineNumber, d.ColumnNumber, msg))
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError || e.Entry.Level == cdplog.EntryLevelWarning {
				w.errs = append(w.errs, fmt.Sprintf("log %s: %s %s", e.Entry.Level, e.Entry.Text, e.Entry.URL))
			}
		case *network.EventRequestWillBeSent:
			if e.Request.URL != page {
				w.requests = append(w.requests, e.Request.URL)
			}
		}
	})
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](tb testing.TB, ctx context.Context, expr string) T {
	tb.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.Fatalf("%s: %v", expr, err)
	}
	return v
}

// TestPageInBrowser opens every built-in scenario's page in headless
// Chromium: it must load with no console error and no request, hold one
// arrow per frame sent, select a packet on a click and show its layers,
// step with the arrow keys, and draw graph points for TCP runs. A
// screenshot of each page goes into -shots.
func TestPageInBrowser(t *testing.T) {
	bctx := newBrowser(t)
	if err := os.MkdirAll(*shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Run("all", func(t *testing.T) {
		for _, name := range scenarios.Names() {
			t.Run(name, func(t *testing.T) {
				// Two at a time (go test -parallel): a scenario runs while
				// the other's page is open, in its own tab of the browser.
				t.Parallel()
				pageInBrowser(t, bctx, name)
			})
		}
	})
	t.Logf("screenshots in %s", *shots)
}

// pageInBrowser is TestPageInBrowser for one built-in scenario.
func pageInBrowser(t *testing.T, bctx context.Context, name string) {
	{
		{
			html, sent := pageRun(t, name)
			url := "file://" + html
			ctx, cancel := chromedp.NewContext(bctx)
			defer cancel()
			ctx, cancel2 := context.WithTimeout(ctx, 30*time.Second)
			defer cancel2()
			w := &watch{}
			if err := w.listen(ctx, url); err != nil {
				t.Fatal(err)
			}
			err := chromedp.Do(ctx,
				chromedp.Navigate(url),
				chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)))
			if err != nil {
				t.Fatalf("opening the page: %v", err)
			}
			hops := eval[int](t, ctx, `window.stacklab.hops`)
			if hops != sent {
				t.Errorf("the ladder has %d arrows; the captures hold %d frames sent", hops, sent)
			}
			if hops == 0 {
				t.Fatal("no packet in the page")
			}
			// Click the first packet's label row, as a person would.
			pt := eval[[]float64](t, ctx, `window.stacklab.point(0)`)
			if err := chromedp.Do(ctx, chromedp.MouseClickXY(pt[0], pt[1])); err != nil {
				t.Fatal(err)
			}
			// The details are drawn once the records are read (they follow the script).
			if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#detail h3`))); err != nil {
				t.Fatalf("the details of the first packet never appeared: %v", err)
			}
			selected := eval[int](t, ctx, `window.stacklab.selected()`)
			layers := eval[string](t, ctx, `Array.from(document.querySelectorAll('#detail h3')).map(e => e.textContent).join(' ')`)
			if selected != 0 {
				t.Errorf("clicking the first packet selected %d", selected)
			}
			if !strings.Contains(layers, "eth") || !strings.Contains(layers, "bytes") {
				t.Errorf("the details of the first packet show no layers or bytes: %q", layers)
			}
			if hops > 1 {
				if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.ArrowRight)); err != nil {
					t.Fatal(err)
				}
				if next := eval[int](t, ctx, `window.stacklab.selected()`); next != 1 {
					t.Errorf("→ after the first packet selected %d, want 1", next)
				}
				if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.ArrowLeft)); err != nil {
					t.Fatal(err)
				}
				if next := eval[int](t, ctx, `window.stacklab.selected()`); next != 0 {
					t.Errorf("← went to %d, want 0", next)
				}
			}
			tcp := eval[bool](t, ctx, `window.stacklab.tcpConns`)
			points := eval[int](t, ctx, `window.stacklab.graphPoints()`)
			shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatal(err)
			}
			if tcp && points == 0 {
				t.Errorf("the TCP graph has no points")
			}
			if name == "fast-retransmit" {
				checkRTT(t, ctx)
			}
			if err := os.WriteFile(filepath.Join(*shots, name+".png"), shot, 0o644); err != nil {
				t.Fatal(err)
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			for _, e := range w.errs {
				t.Errorf("%s", e)
			}
			for _, r := range w.requests {
				t.Errorf("the page made a request: %s", r)
			}
		}
	}
}

// checkRTT checks the page's RTT per ACK: the RTT graph draws one point
// per ACK the trace timed, and an ACK's details say its RTT.
func checkRTT(t *testing.T, ctx context.Context) {
	t.Helper()
	n := eval[int](t, ctx, `window.stacklab.rttHops()`)
	if n < 10 {
		t.Errorf("only %d ACKs carry an RTT", n)
	}
	legend := eval[string](t, ctx, `(() => { const k = document.getElementById("gkind"); k.value = "rtt"; k.dispatchEvent(new Event("input")); return document.getElementById("legend").textContent; })()`)
	shown := eval[int](t, ctx, `window.stacklab.rttHops(true)`) // of the graph's connection, direction
	if want := fmt.Sprintf("RTT per ACK (%d)", shown); shown < n/2 || !strings.Contains(legend, want) {
		t.Errorf("the RTT graph's legend %q, want %q", legend, want)
	}
	detail := eval[string](t, ctx, `(() => { window.stacklab.select(window.stacklab.firstRTT()); return document.getElementById("detail").textContent; })()`)
	if !strings.Contains(detail, "RTT") || !strings.Contains(detail, "ms: acknowledges #") {
		t.Errorf("an ACK's details do not say its RTT: %.300q", detail)
	}
}

// manyHosts is a LAN of twelve hosts with long names on one switch.
func manyHosts() string {
	var b strings.Builder
	b.WriteString("name: many-lifelines\nseed: 1\nduration: 2s\nhosts:\n")
	for i := 1; i <= 11; i++ {
		fmt.Fprintf(&b, "  workstation-%02d: {addr: 10.0.0.%d/24}\n", i, i)
	}
	b.WriteString("  web-server:\n    addr: 10.0.0.80/24\n    apps: [http_server(:80)]\nswitches:\n  sw: {}\nlinks:\n")
	for i := 1; i <= 11; i++ {
		fmt.Fprintf(&b, "  - {ends: [workstation-%02d, sw], delay: 1ms}\n", i)
	}
	b.WriteString("  - {ends: [web-server, sw], delay: 1ms}\nprograms:\n")
	for _, i := range []int{1, 6, 11} {
		fmt.Fprintf(&b, "  workstation-%02d: |\n    http_client(10.0.0.80:80, 1)\n", i)
	}
	return b.String()
}

// TestManyLifelines opens the page of a run with thirteen lifelines in
// a 1400-px window: the host names must not overlap one another or the
// labels' column, every lifeline and name must be on screen, and the
// labels' column must keep at least 300 px.
func TestManyLifelines(t *testing.T) {
	bctx := newBrowser(t)
	sc, err := scenario.Load("many.yaml", []byte(manyHosts()))
	if err != nil {
		t.Fatal(err)
	}
	html := filepath.Join(t.TempDir(), "many.html")
	if _, err := sc.Run(scenario.RunOptions{HTML: html, Version: "test"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := chromedp.NewContext(bctx)
	defer cancel()
	ctx, cancel2 := context.WithTimeout(ctx, 30*time.Second)
	defer cancel2()
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+html), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`))); err != nil {
		t.Fatal(err)
	}
	g := eval[struct {
		Width  float64   `json:"width"`
		LabelX float64   `json:"labelX"`
		Cols   []float64 `json:"cols"`
		Names  []struct {
			T  string  `json:"t"`
			X0 float64 `json:"x0"`
			X1 float64 `json:"x1"`
			Y  float64 `json:"y"`
		} `json:"names"`
	}](t, ctx, `window.stacklab.geometry()`)
	if len(g.Cols) < 13 || len(g.Names) != len(g.Cols) {
		t.Fatalf("%d lifelines, %d names; want 13 (12 hosts and the switch)", len(g.Cols), len(g.Names))
	}
	if g.LabelX+300 > g.Width {
		t.Errorf("the labels' column starts at %.0f of %.0f px: less than 300 px for the labels", g.LabelX, g.Width)
	}
	for i, n := range g.Names {
		if i > 0 && g.Cols[i]-g.Cols[i-1] < 40 {
			t.Errorf("lifelines %d and %d are %.0f px apart", i-1, i, g.Cols[i]-g.Cols[i-1])
		}
		if n.X0 < 55 || n.X1 > g.LabelX-4 || n.T == "" || n.X0 > g.Cols[i] || n.X1 < g.Cols[i] {
			t.Errorf("host name %q at %.0f–%.0f over lifeline %.0f: off its place (labels from %.0f)", n.T, n.X0, n.X1, g.Cols[i], g.LabelX)
		}
		for _, m := range g.Names[:i] {
			if m.Y == n.Y && m.X1 > n.X0 && n.X1 > m.X0 {
				t.Errorf("host names %q and %q overlap", m.T, n.T)
			}
		}
		// Cut names still tell the hosts apart.
		for _, m := range g.Names[:i] {
			if m.T == n.T {
				t.Errorf("two lifelines are both named %q", n.T)
			}
		}
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err == nil {
		os.MkdirAll(*shots, 0o755)
		err = os.WriteFile(filepath.Join(*shots, "many-lifelines.png"), shot, 0o644)
	}
	if err != nil {
		t.Error(err)
	}
}

// TestBoundedPageInBrowser opens the page of lossy-transfer held to
// 1,500 records: it loads with no console error, says how many records
// it left out, and its graphs shade them and draw no line across them,
// in the time–sequence graph (the ACK line) and the cwnd graph.
func TestBoundedPageInBrowser(t *testing.T) {
	bctx := newBrowser(t)
	sc, err := scenarios.Load("lossy-transfer")
	if err != nil {
		t.Fatal(err)
	}
	var tr bytes.Buffer
	if _, err := sc.Run(scenario.RunOptions{Trace: &tr, Format: "json", Version: "test"}); err != nil {
		t.Fatal(err)
	}
	m, err := view.BuildLimited(view.Input{Title: "lossy-transfer"}, tr.Bytes(), 1500)
	if err != nil {
		t.Fatal(err)
	}
	if m.Gap == nil {
		t.Fatalf("%d records: none left out at 1,500", len(m.Recs))
	}
	html := filepath.Join(t.TempDir(), "bounded.html")
	f, err := os.Create(html)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.WriteHTML(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ctx, cancel := chromedp.NewContext(bctx)
	defer cancel()
	ctx, cancel2 := context.WithTimeout(ctx, 30*time.Second)
	defer cancel2()
	w := &watch{}
	url := "file://" + html
	if err := w.listen(ctx, url); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`))); err != nil {
		t.Fatal(err)
	}
	if n := eval[int](t, ctx, `window.stacklab.gap.n`); n != m.Gap.N {
		t.Errorf("the page says %d records left out, the model %d", n, m.Gap.N)
	}
	for _, kind := range []string{"tseq", "cwnd"} {
		breaks := eval[int](t, ctx, `(() => { const k = document.getElementById("gkind"); k.value = "`+kind+`"; k.dispatchEvent(new Event("input")); return window.stacklab.graphBreaks(); })()`)
		if breaks < 1 {
			t.Errorf("%s graph: no line broken at the records left out", kind)
		}
		shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err == nil {
			os.MkdirAll(*shots, 0o755)
			err = os.WriteFile(filepath.Join(*shots, "bounded-"+kind+".png"), shot, 0o644)
		}
		if err != nil {
			t.Error(err)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.errs {
		t.Error(e)
	}
}
