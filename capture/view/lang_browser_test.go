package view_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"stacklab/scenarios"
	"stacklab/sim/scenario"
)

// TestPageInChinese opens a lesson's page written with Lang "zh" in
// headless Chromium: its words are Chinese, the html element says so,
// and the scenario's Chinese about text is shown before a packet is
// selected.
func TestPageInChinese(t *testing.T) {
	bctx := newBrowser(t)
	sc, err := scenarios.Load("handshake")
	if err != nil {
		t.Fatal(err)
	}
	if sc.AboutZH == "" {
		t.Fatal("handshake has no about_zh")
	}
	dir := t.TempDir()
	html := filepath.Join(dir, "handshake.html")
	if _, err := sc.Run(scenario.RunOptions{OutDir: dir, HTML: html, Lang: "zh", Version: "test"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `<html lang="zh-Hans">`) {
		t.Error("the page does not say it is in Chinese")
	}
	ctx, cancel := chromedp.NewContext(bctx)
	defer cancel()
	ctx, cancel2 := context.WithTimeout(ctx, 30*time.Second)
	defer cancel2()
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+html), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`))); err != nil {
		t.Fatal(err)
	}
	if got := eval[string](t, ctx, `document.getElementById("ftext").placeholder`); got != "过滤：文字，如 SYN、5001、retrans" {
		t.Errorf("filter placeholder %q", got)
	}
	if got := eval[string](t, ctx, `document.querySelector("#fhost option").textContent`); got != "所有主机" {
		t.Errorf("host filter %q", got)
	}
	if got := eval[string](t, ctx, `document.querySelector("#detail .about").textContent`); got != sc.AboutZH {
		t.Errorf("about shown: %q, want the scenario's about_zh", got)
	}
	// the graph's kinds and legends are in Chinese too
	if got := eval[string](t, ctx, `document.querySelector("#gkind option").textContent`); got != "时间–序号图（tcptrace）" {
		t.Errorf("graph kind %q", got)
	}
	legend := eval[string](t, ctx, `document.getElementById("legend").textContent`)
	for _, w := range []string{"数据 (", "重传 (", "窗口（ACK + rwnd） (", "SACK 块 ("} {
		if !strings.Contains(legend, w) {
			t.Errorf("graph legend %q lacks %q", legend, w)
		}
	}
	if got := eval[string](t, ctx, `document.getElementById("count").textContent`); !strings.Contains(got, "个数据包") {
		t.Errorf("packet count %q", got)
	}
}
