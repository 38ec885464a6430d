package ladder

import (
	"bytes"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stacklab/capture/trace"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

// sums is a handshake, a request lost once and resent, a frame the
// server dropped, through a router r1.
func sums() []trace.Summary {
	tcp := func(v string, dir trace.Dir, id uint64, t float64, src, dst, flags string, seq, ack uint32, n int) trace.Summary {
		return trace.Summary{Time: ms(t), Vantage: v, Dir: dir, ID: id, Src: src, Dst: dst, Proto: "tcp",
			Flags: flags, Seq: seq, Ack: ack, HasAck: flags != "S", Len: n}
	}
	out, in := trace.DirOut, trace.DirIn
	s := []trace.Summary{
		tcp("client:eth0", out, 1, 1, "client", "server", "S", 0, 0, 0),
		tcp("r1:eth0", in, 1, 6, "client", "server", "S", 0, 0, 0),
		tcp("r1:eth1", out, 1, 6, "client", "server", "S", 0, 0, 0),
		tcp("server:eth0", in, 1, 11, "client", "server", "S", 0, 0, 0),
		tcp("server:eth0", out, 2, 11, "server", "client", "S.", 0, 1, 0),
		tcp("r1:eth1", in, 2, 16, "server", "client", "S.", 0, 1, 0),
		tcp("r1:eth0", out, 2, 16, "server", "client", "S.", 0, 1, 0),
		tcp("client:eth0", in, 2, 21, "server", "client", "S.", 0, 1, 0),
		tcp("client:eth0", out, 3, 21, "client", "server", "P.", 1, 1, 5),
		tcp("client:eth0", out, 4, 221, "client", "server", "P.", 1, 1, 5),
		tcp("r1:eth0", in, 4, 226, "client", "server", "P.", 1, 1, 5),
		tcp("r1:eth1", out, 4, 226, "client", "server", "P.", 1, 1, 5),
		tcp("server:eth0", in, 4, 231, "client", "server", "P.", 1, 1, 5),
		{Time: ms(300), Vantage: "server:eth0", Dir: in, ID: 9, Src: "10.9.9.9", Dst: "server", Proto: "udp", Len: 3,
			Drop: "udp.NoPorts: no socket on port 9"},
		{Time: ms(400), Vantage: "client:eth0", Dir: out, ID: 10, Src: "client", Dst: "broadcast", Proto: "arp",
			Info: "who-has 10.0.0.9 tell 10.0.0.1"},
	}
	s[9].Analysis = trace.Retransmission // the request sent again
	return s
}

// notes are the state changes and calls of the same run, one on a
// thread's lane.
func notes() []Note {
	return []Note{
		{Time: ms(1), Host: "client", Kind: "call", Text: "connect(3, 10.0.0.2:80) → blocks"},
		{Time: ms(1), Host: "client", Kind: "state", Text: "CLOSED → SYN_SENT"},
		{Time: ms(11), Host: "server/t1", Kind: "state", Text: "LISTEN → SYN_RECEIVED"},
		{Time: ms(21), Host: "client", Kind: "state", Text: "SYN_SENT → ESTABLISHED"},
		{Time: ms(21), Host: "nowhere", Kind: "state", Text: "CLOSED → LISTEN"},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(path, got, 0o644)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update if intended); got:\n%s", path, got)
	}
}

func TestBuild(t *testing.T) {
	l := Build(sums(), []string{"client"})
	if got := strings.Join(l.Hosts, " "); got != "client r1 server 10.9.9.9" {
		t.Errorf("hosts %q", got)
	}
	var hops []string
	for _, m := range l.Msgs {
		h := m.From + ">" + m.To + " " + m.Label
		if m.Lost {
			h += " lost"
		}
		if m.Drop != "" {
			h += " drop"
		}
		hops = append(hops, h)
	}
	want := []string{
		"client>r1 [S] seq 0",
		"r1>server [S] seq 0",
		"server>r1 [S.] seq 0 ack 1",
		"r1>client [S.] seq 0 ack 1",
		"client>r1 [P.] seq 1:6 ack 1 len 5 lost",
		"client>r1 [P.] seq 1:6 ack 1 len 5",
		"r1>server [P.] seq 1:6 ack 1 len 5",
		"10.9.9.9>server udp len 3 drop",
		"client>r1 arp who-has 10.0.0.9 tell 10.0.0.1 lost",
	}
	if strings.Join(hops, "\n") != strings.Join(want, "\n") {
		t.Errorf("hops:\n%s\nwant:\n%s", strings.Join(hops, "\n"), strings.Join(want, "\n"))
	}
}

func TestRender(t *testing.T) {
	l := Build(sums(), []string{"client", "r1", "server"})
	l.AddNotes(notes())
	if len(l.Notes) != 4 || l.Notes[2].Host != "server" {
		t.Errorf("notes on the lifelines: %+v (a thread's on its host, none for a host not drawn)", l.Notes)
	}
	text, mer, svg := render(t, l)
	golden(t, "ladder.txt", text.Bytes())
	golden(t, "ladder.mmd", mer.Bytes())
	golden(t, "ladder.svg", svg.Bytes())
	for _, want := range []string{"SYN_SENT → ESTABLISHED", "connect(3, 10.0.0.2#58;80) → blocks", "[TCP Retransmission] [P.] seq 1#58;6"} {
		if !strings.Contains(mer.String(), want) {
			t.Errorf("Mermaid lacks %q", want)
		}
	}
	for _, want := range []string{">SYN_SENT → ESTABLISHED<", ">client: connect(3, 10.0.0.2:80) → blocks<", ">[TCP Retransmission]<", ">server: LISTEN → SYN_RECEIVED<"} {
		if !strings.Contains(strings.ReplaceAll(svg.String(), ">client: SYN_SENT", ">SYN_SENT"), want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if g := l.Layout(); len(g.Overlaps()) > 0 {
		t.Errorf("overlaps: %v", g.Overlaps())
	}
	if !strings.Contains(mer.String(), "h_client-xh_r1") {
		t.Errorf("Mermaid lacks the lost hop:\n%s", mer.String())
	}
}

// render draws l in the three forms, and checks that the SVG is
// well-formed XML.
func render(t *testing.T, l *Ladder) (text, mer, svg *bytes.Buffer) {
	t.Helper()
	text, mer, svg = new(bytes.Buffer), new(bytes.Buffer), new(bytes.Buffer)
	for _, draw := range []struct {
		f func(io.Writer) error
		w *bytes.Buffer
	}{{l.Text, text}, {l.Mermaid, mer}, {l.SVG, svg}} {
		if err := draw.f(draw.w); err != nil {
			t.Fatal(err)
		}
	}
	d := xml.NewDecoder(bytes.NewReader(svg.Bytes()))
	for {
		if _, err := d.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("SVG is not well-formed: %v", err)
			}
			break
		}
	}
	return text, mer, svg
}

func TestEmpty(t *testing.T) {
	l := Build(nil, nil)
	var b bytes.Buffer
	if err := l.Text(&b); err != nil || b.String() != "(no packets)\n" {
		t.Errorf("Text of nothing = %q, %v", b.String(), err)
	}
	b.Reset()
	if err := l.SVG(&b); err != nil || !strings.HasPrefix(b.String(), "<svg") {
		t.Errorf("SVG of nothing = %q, %v", b.String(), err)
	}
}
