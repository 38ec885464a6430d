package scenario

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestLadderBounded runs a transfer of some 700 segments with its ladder
// bounded to 60 rows: the ladder draws the handshake and the teardown,
// 60 rows in all, and a band that counts the rest; with the bound
// raised past the run's rows, it draws every one and no band.
func TestLadderBounded(t *testing.T) {
	src := twoHosts + `programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 1); c = accept(l)
    recv(c, all) == 1000000
    close(c)
  client: |
    s = socket(tcp); connect(s, server:80)
    send(s, 1000000)
    close(s)
`
	sc, err := Load("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	rows := func(ladder string) int {
		n := 0
		for _, line := range strings.Split(ladder, "\n") {
			if strings.Contains(line, "->|") || strings.Contains(line, "|<") || strings.Contains(line, " * ") {
				n++
			}
		}
		return n
	}
	run := func(keep int) string {
		dir := t.TempDir()
		res, err := sc.Run(RunOptions{OutDir: dir, Ladder: true, LadderRows: keep})
		if err != nil {
			t.Fatal(err)
		}
		reportFailures(t, res)
		b, err := os.ReadFile(filepath.Join(dir, "ladder.txt"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"ladder.svg", "ladder.mmd"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Error(err)
			}
		}
		return string(b)
	}
	whole := run(100_000)
	if strings.Contains(whole, "not drawn") {
		t.Fatalf("a ladder bounded beyond the run's rows left some out:\n%.2000s", whole)
	}
	total := rows(whole)
	if total < 1000 {
		t.Fatalf("the run has only %d rows; the test bounds nothing", total)
	}
	cut := run(60)
	if got := rows(cut); got != 60 {
		t.Errorf("%d rows drawn, want 60", got)
	}
	m := regexp.MustCompile(`(\d+) packets and (\d+) notes? not drawn`).FindStringSubmatch(cut)
	if m == nil {
		t.Fatalf("no band counting the rows left out:\n%s", cut)
	}
	msgs, _ := strconv.Atoi(m[1])
	notes, _ := strconv.Atoi(m[2])
	if msgs+notes+60 != total {
		t.Errorf("%d packets and %d notes left out, %d drawn: want %d rows in all", msgs, notes, 60, total)
	}
	for _, want := range []string{"[S] seq 0", "[S.] seq 0 ack 1", "connect(3, 10.0.0.2:80) → blocks", "[F.]", "→ TIME_WAIT"} {
		if !strings.Contains(cut, want) {
			t.Errorf("the bounded ladder lacks %q", want)
		}
	}
	// The run's own default.
	if def := run(0); rows(def) != total {
		t.Errorf("default bound: %d rows drawn of %d", rows(def), total)
	}
}
