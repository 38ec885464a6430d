package scenarios

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"stacklab/capture/tsharktest"
	"stacklab/sim/scenario"
)

var update = flag.Bool("update", false, "rewrite the golden traces in testdata/")

// run runs a built-in scenario, returning its trace and output directory.
func run(t *testing.T, name string) (*scenario.Result, []byte, string) {
	t.Helper()
	sc, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var tr bytes.Buffer
	res, err := sc.Run(scenario.RunOptions{OutDir: dir, Trace: &tr, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return res, tr.Bytes(), dir
}

// TestBuiltins runs every built-in scenario with its expectations, checks
// its trace against testdata/NAME.golden, and lints its captures with
// tshark when it is installed.
func TestBuiltins(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res, tr, _ := run(t, name)
			for _, f := range res.Failures {
				t.Errorf("%s", f)
			}
			tr = goldenText(tr)
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, tr, 0o644); err != nil {
					t.Fatal(err)
				}
			} else if want, err := os.ReadFile(golden); err != nil {
				t.Errorf("%v (run go test ./scenarios -update to create it)", err)
			} else if !bytes.Equal(tr, want) {
				t.Errorf("trace differs from %s (run go test ./scenarios -update and review the diff):\n%s", golden, firstDiff(want, tr))
			}
			if len(res.Files) == 0 {
				t.Fatalf("no capture files written")
			}
			for _, f := range res.Files {
				if !strings.HasSuffix(f, ".pcapng") {
					t.Errorf("capture %s is not a pcapng file", f)
				}
			}
			t.Run("tshark", func(t *testing.T) {
				for _, f := range res.Files {
					pkts := tsharktest.Lint(t, f)
					checkRetransmissions(t, f, pkts)
					if name == "handshake" || name == "lossy-transfer" {
						if ok, got := tsharktest.Handshake(pkts); !ok {
							t.Errorf("%s: tshark does not see SYN, SYN-ACK, ACK first: %s", f, got)
						}
					}
				}
			})
		})
	}
}

// checkRetransmissions compares, packet by packet, the segments tshark's
// TCP analysis calls retransmissions with those the stack says it
// retransmitted (the capture comment), for the packets a host sent.
func checkRetransmissions(t *testing.T, file string, pkts []tsharktest.Packet) {
	t.Helper()
	for _, p := range pkts {
		if p.Direction != "2" || p.TCPFlags == 0 {
			continue
		}
		note := strings.Join(p.Comments, " ")
		stack := strings.Contains(note, "retransmit") || strings.Contains(note, "rto")
		shark := p.Retransmission || p.FastRetrans || p.SpuriousRetrans
		if stack != shark {
			t.Errorf("%s: packet %d (%s, %q): stack retransmission %v, tshark %v", filepath.Base(file), p.Number, p.TCPFlagsStr, note, stack, shark)
		}
	}
}

// maxGolden is the size above which a golden trace keeps one line per
// packet and event, leaving out the per-layer lines, so that its diff
// stays reviewable.
const maxGolden = 256 << 10

func goldenText(tr []byte) []byte {
	if len(tr) <= maxGolden {
		return tr
	}
	var b bytes.Buffer
	b.WriteString("# per-layer lines left out of this golden file; run the scenario for the full trace\n")
	for _, line := range bytes.SplitAfter(tr, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte("   ")) {
			b.Write(line)
		}
	}
	return b.Bytes()
}

// firstDiff shows the first line where two traces differ.
func firstDiff(want, got []byte) string {
	wl := strings.Split(string(want), "\n")
	gl := strings.Split(string(got), "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + itoa(i+1) + ":\n  want: " + w + "\n  got:  " + g
		}
	}
	return "(same lines)"
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(b[n:])
		}
	}
}

// TestDeterminism runs every scenario twice with the same seed and
// compares the trace and every capture byte for byte.
func TestDeterminism(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			res1, tr1, dir1 := run(t, name)
			res2, tr2, dir2 := run(t, name)
			if !bytes.Equal(tr1, tr2) {
				t.Errorf("traces differ:\n%s", firstDiff(tr1, tr2))
			}
			if len(res1.Files) != len(res2.Files) {
				t.Fatalf("%d capture files, then %d", len(res1.Files), len(res2.Files))
			}
			for i := range res1.Files {
				b1, err1 := os.ReadFile(res1.Files[i])
				b2, err2 := os.ReadFile(res2.Files[i])
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				if strings.TrimPrefix(res1.Files[i], dir1) != strings.TrimPrefix(res2.Files[i], dir2) || !bytes.Equal(b1, b2) {
					t.Errorf("capture %s differs between two runs", filepath.Base(res1.Files[i]))
				}
			}
		})
	}
}

// TestSeedChangesRun checks that the seed reaches the run: another seed
// gives another trace (ISNs and ports differ).
func TestSeedChangesRun(t *testing.T) {
	sc, err := Load("handshake")
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	seed := uint64(99)
	if _, err := sc.Run(scenario.RunOptions{Trace: &a}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Run(scenario.RunOptions{Trace: &b, Seed: &seed}); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("seed 99 gave the same trace as the scenario's seed")
	}
}

func TestSourceUnknown(t *testing.T) {
	_, err := Source("handshak")
	if err == nil || !strings.Contains(err.Error(), `did you mean "handshake"?`) {
		t.Errorf("err = %v", err)
	}
}

func TestList(t *testing.T) {
	infos, err := List()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"handshake", "lossy-transfer", "ping", "refused", "udp-echo"}
	if len(infos) < len(want) {
		t.Fatalf("List = %v", infos)
	}
	for _, w := range want {
		found := false
		for _, in := range infos {
			if in.Name == w && in.About != "" {
				found = true
			}
		}
		if !found {
			t.Errorf("built-in %q missing or without about", w)
		}
	}
}

// TestCourse: every name the course lists is a built-in, and every lesson
// has its about in Chinese too.
func TestCourse(t *testing.T) {
	names := Names()
	for gi, g := range Course {
		for _, n := range g.Names {
			if !slices.Contains(names, n) {
				t.Errorf("course group %q names %q, which is no built-in", g.Title, n)
				continue
			}
			if gi == 0 {
				sc, err := Load(n)
				if err != nil || sc.AboutZH == "" {
					t.Errorf("lesson %s has no about_zh (%v)", n, err)
				}
			}
		}
	}
}
