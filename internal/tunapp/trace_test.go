package tunapp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stacklab/capture"
	"stacklab/capture/tsharktest"
)

// TestTraceAndCapture checks the live trace in both formats and the
// capture file of one echo exchange with the kernel.
func TestTraceAndCapture(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var tr bytes.Buffer
			out := t.TempDir()
			e := newEnv(t, Options{Trace: &tr, Format: format, OutDir: out})
			e.serve(t, "echo")
			var c net.Conn
			e.kernel(t, func() (err error) {
				c, err = net.DialTimeout("tcp4", stackIP+":7", 10*time.Second)
				return err
			})
			c.SetDeadline(time.Now().Add(10 * time.Second))
			c.Write([]byte("hello"))
			c.(*net.TCPConn).CloseWrite()
			got, err := io.ReadAll(c)
			c.Close()
			if err != nil || string(got) != "hello" {
				t.Fatalf("echo: %q, %v", got, err)
			}
			time.Sleep(50 * time.Millisecond) // the last ACK
			if err := e.App.Close(); err != nil {
				t.Fatal(err)
			}

			switch format {
			case "text":
				for _, want := range []string{"kernel → stacklab", "[SYN]", "[SYN, ACK]", "ESTABLISHED", "len 5"} {
					if !strings.Contains(tr.String(), want) {
						t.Errorf("text trace lacks %q:\n%s", want, tr.String())
					}
				}
			case "json":
				var flags []string
				for _, line := range strings.Split(strings.TrimSpace(tr.String()), "\n") {
					var obj struct {
						Type   string `json:"type"`
						Layers struct {
							TCP *struct {
								Flags string `json:"flags"`
							} `json:"tcp"`
						} `json:"layers"`
					}
					if err := json.Unmarshal([]byte(line), &obj); err != nil {
						t.Fatalf("bad JSON line %q: %v", line, err)
					}
					if obj.Type == "packet" && obj.Layers.TCP != nil {
						flags = append(flags, obj.Layers.TCP.Flags)
					}
				}
				if len(flags) < 3 || flags[0] != "S" || flags[1] != "S." || flags[2] != "." {
					t.Fatalf("JSON trace TCP flags %v, want a handshake S, S., . first", flags)
				}
			}

			path := filepath.Join(out, "stacklab-tun0.pcapng")
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("capture: %v", err)
			}
			sums, err := capture.ReadFile(path)
			if err != nil || len(sums) < 8 {
				t.Fatalf("capture holds %d packets (%v), want the whole exchange", len(sums), err)
			}
			// Each frame once: every copy of a packet shares its id.
			ids := map[uint64]int{}
			for i, s := range sums {
				if j, dup := ids[s.ID]; dup {
					t.Errorf("frames %d and %d are one packet (id %d) captured twice", j+1, i+1, s.ID)
				}
				ids[s.ID] = i
			}
			if tsharktest.Path() != "" {
				pkts := tsharktest.Lint(t, path)
				if ok, got := tsharktest.Handshake(pkts); !ok {
					t.Errorf("tshark sees no handshake first: %s", got)
				}
				for _, p := range pkts {
					switch {
					case p.Interface != "stacklab:tun0":
						t.Errorf("packet %d: interface %q", p.Number, p.Interface)
					case p.Retransmission && p.Src == kernelIP:
						// The kernel's timers run on the wall clock: with
						// both CPUs loaded (the race detector's tests of
						// other packages in make test) an answer can come
						// after its loss probe or RTO. Its retransmission
						// is a packet of its own, not the capture's.
						t.Logf("packet %d: the kernel retransmitted (its timer, under load)", p.Number)
					case p.Retransmission:
						t.Errorf("packet %d: stacklab retransmitted in a lossless exchange", p.Number)
					}
				}
			}
		})
	}
}

// TestSmallMTU runs a download and an upload over a device with MTU 1280:
// both sides' MSS follows it, and the capture holds no larger packet.
func TestSmallMTU(t *testing.T) {
	out := t.TempDir()
	e := newEnv(t, Options{MTU: 1280, OutDir: out})
	e.serve(t, "http")
	const n = 1 << 20
	body := e.exec(t, 60*time.Second, nil, "curl", "-sS", "--fail", "--max-time", "50",
		fmt.Sprintf("http://%s/download?bytes=%d", stackIP, n))
	if len(body) != n || sum(body) != ContentSHA256(n) {
		t.Fatalf("download: %d bytes, sha256 %s", len(body), sum(body))
	}
	e.App.Close()
	sums, err := capture.ReadFile(filepath.Join(out, "stacklab-tun0.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	biggest := 0
	for _, s := range sums {
		if s.Proto == "tcp" {
			biggest = max(biggest, s.Len)
			if s.Flags == "S" || s.Flags == "S." {
				if !strings.Contains(s.Options, "mss 1240") {
					t.Errorf("%s %s options %q, want mss 1240", s.Src, s.Flags, s.Options)
				}
			}
		}
	}
	// 1280 − 20 (IPv4) − 20 (TCP) − 12 (timestamps)
	if biggest != 1228 {
		t.Fatalf("largest TCP payload %d, want 1228", biggest)
	}
}
