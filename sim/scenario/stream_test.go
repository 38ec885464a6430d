package scenario

import (
	"strings"
	"testing"
)

// TestRunnerKeepsNoFramesOnceMatched checks that the runner's memory does
// not grow with the run once its packet expectations have matched: a
// bulk transfer whose only packet expectation (the SYN) matches at the
// start ends holding no frame summaries, while the connection summary
// still counts every packet. With a none/count expectation, which counts
// over the whole run, every frame is kept; and an ordered expectation
// that never matches still fails with its nearest packet.
func TestRunnerKeepsNoFramesOnceMatched(t *testing.T) {
	const base = `hosts:
  client: {addr: 10.0.0.1/24}
  server: {addr: 10.0.0.2/24}
links:
  - ends: [client, server]
    delay: 1ms
    rate: 1Gbit
programs:
  server: |
    l = socket(tcp); bind(l, :5001); listen(l, 1); c = accept(l)
    recv(c, all) == 2MiB
    close(c)
  client: |
    s = socket(tcp); connect(s, server:5001)
    send(s, 2MiB)
    close(s)
expect:
`
	var got *runner
	runDone = func(r *runner) { got = r }
	defer func() { runDone = nil }()
	run := func(expect string) *Result {
		t.Helper()
		sc, err := Load("stream.yaml", []byte(base+expect))
		if err != nil {
			t.Fatal(err)
		}
		res, err := sc.Run(RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	res := run("  - client > server [S]\n  - server > client [S.]\n")
	if !res.Passed() {
		t.Fatalf("failures: %v", res.Failures)
	}
	if got.nframes < 2000 || len(got.pkts) != 0 {
		t.Errorf("ordered expectations matched: %d frames seen, %d summaries kept; want > 2000 seen, none kept", got.nframes, len(got.pkts))
	}
	if n := res.Conns[0].PacketsAB + res.Conns[0].PacketsBA; n < 1000 {
		t.Errorf("connection summary counts %d packets, want every one (> 1000)", n)
	}
	// Once matched, a frame is decoded where it is sent, not again where
	// it arrives; the SYN-ACK's arrival still gives the handshake RTT.
	if got.ndecoded > got.nframes/2+16 {
		t.Errorf("%d of %d frames decoded, want about half (each once, where it was sent)", got.ndecoded, got.nframes)
	}
	if res.Conns[0].HandshakeRTT <= 0 {
		t.Errorf("handshake RTT %v, want the SYN to SYN-ACK time", res.Conns[0].HandshakeRTT)
	}

	res = run("  - client > server [S]\n  - no server > client [R]\n")
	if !res.Passed() {
		t.Fatalf("failures: %v", res.Failures)
	}
	if len(got.pkts) != got.nframes {
		t.Errorf("with a none expectation: %d of %d summaries kept, want all", len(got.pkts), got.nframes)
	}

	res = run("  - client > server [S]\n  - client > server [R]\n")
	if res.Passed() || !strings.Contains(res.Failures[0].Msg, "nearest") {
		t.Errorf("an unmatched expectation: failures %v, want one naming the nearest packet", res.Failures)
	}
}
