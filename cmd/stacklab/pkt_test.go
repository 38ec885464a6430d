package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPktCommand: stacklab pkt over testdata/pkt prints one line per
// script and the summary, the same bytes twice; exit codes as run's.
func TestPktCommand(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "pkt")
	code1, out1, _ := stacklab(t, "pkt", dir)
	code2, out2, _ := stacklab(t, "pkt", dir)
	if out1 != out2 || code1 != code2 {
		t.Fatalf("two runs differ")
	}
	m := regexp.MustCompile(`(?m)^(\d+) passed, (\d+) failed, (\d+) skipped$`).FindStringSubmatch(out1)
	if m == nil {
		t.Fatalf("no summary line:\n%s", out1)
	}
	if (m[2] == "0") != (code1 == 0) || code1 > 1 {
		t.Errorf("exit %d with summary %q", code1, m[0])
	}

	// One passing script: exit 0, one line.
	code, out, _ := stacklab(t, "pkt", filepath.Join(dir, "handshake", "passive-open.pkt"))
	if code != 0 || out != "PASS "+filepath.Join(dir, "handshake", "passive-open.pkt")+"\n" {
		t.Errorf("exit %d: %q", code, out)
	}

	tmp := t.TempDir()
	bad := filepath.Join(tmp, "bad.pkt")
	os.WriteFile(bad, []byte("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 > S 0:0(0) <mss\n"), 0o644)
	code, out, _ = stacklab(t, "pkt", bad)
	if code != 2 || !strings.Contains(out, "ERROR "+bad+":3:1: expected MSS") {
		t.Errorf("a script that does not parse: exit %d, %q", code, out)
	}
	fail := filepath.Join(tmp, "fail.pkt")
	os.WriteFile(fail, []byte("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 close(3) = -1 EBADF\n"), 0o644)
	code, out, _ = stacklab(t, "pkt", fail)
	if code != 1 || !strings.Contains(out, "FAIL "+fail+":2:1: close returned 0, expected -1 EBADF") {
		t.Errorf("a failing script: exit %d, %q", code, out)
	}
	code, _, _ = stacklab(t, "pkt", filepath.Join(tmp, "missing.pkt"))
	if code != 2 {
		t.Errorf("a missing file: exit %d", code)
	}

	// --json: one object per script, then the summary.
	code, out, _ = stacklab(t, "pkt", "--json", fail)
	sc := bufio.NewScanner(strings.NewReader(out))
	var objs []map[string]any
	for sc.Scan() {
		var o map[string]any
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		objs = append(objs, o)
	}
	if code != 1 || len(objs) != 2 || objs[0]["status"] != "FAIL" || objs[0]["line"] != float64(2) || objs[1]["summary"] == nil {
		t.Errorf("--json: exit %d, %v", code, objs)
	}
}
