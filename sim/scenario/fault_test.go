package scenario

import (
	"strings"
	"testing"
)

// TestFaultsCountIndependently checks that each fault counts every frame
// its pattern matches, so that "drop 5th" and "drop 7th" of the same
// pattern drop the fifth and the seventh frame, not the fifth and the
// eighth (the fifth never reaching the second fault).
func TestFaultsCountIndependently(t *testing.T) {
	src := twoHosts + `programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8); c = accept(l)
    recv(c, all) == 16KiB
    close(c)
  client: |
    s = socket(tcp); connect(s, server:80)
    send(s, 16KiB); shutdown(s, wr)
    recv(s, all) == ""
    close(s)
faults:
  - drop 5th client > server [*] len 1448
  - drop 7th client > server [*] len 1448
expect:
  # the 5th and 7th full segments are the ones resent
  - count client > server [*] seq 5793:7241 == 2
  - count client > server [*] seq 8689:10137 == 2
  - count client > server [*] seq 10137:11585 == 1
`
	res, _ := runSrc(t, src)
	reportFailures(t, res)
}

// reorderSrc sends 64 KiB in one flight of full segments and reorders the
// third segment behind `after` later ones. The hosts follow the rfc
// profile, which acknowledges every second segment from the start, so
// that the duplicate ACKs counted are the reordering's alone.
func reorderSrc(after string) string {
	return strings.Replace(twoHosts, "/24}", "/24, tcp: {profile: rfc}}", 2) + `programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8); c = accept(l)
    recv(c, all) == 64KiB
    close(c)
  client: |
    s = socket(tcp); connect(s, server:80)
    send(s, 64KiB); shutdown(s, wr)
    recv(s, all) == ""
    close(s)
faults:
  - reorder 3rd client > server [.] len 1448 after ` + after + `
`
}

// TestReorder checks that "reorder Nth … after M" delivers the Nth
// matching frame right after the M-th one that follows it, and what that
// does to the sender: fewer than three duplicate ACKs leave it alone,
// three start a (spurious) fast retransmit (RFC 5681 §3.2, RFC 6675).
func TestReorder(t *testing.T) {
	tests := []struct {
		after  string
		expect string
	}{
		{"1", `
  - on server: server > client [.] ack 2897 sack 4345:5793
  - on server: server > client [.] ack 5793 sack none
  - on server: count server > client [.] ack 2897 == 1
  - count client > server [.] seq 2897:4345 == 1
  - client tcp.FastRetrans == 0
`},
		{"2", `
  - on server: server > client [.] ack 2897 sack 4345:5793
  - on server: server > client [.] ack 2897 sack 4345:7241
  - on server: server > client [.] ack 7241 sack none
  - count client > server [.] seq 2897:4345 == 1
  - client tcp.FastRetrans == 0
  - client tcp.RetransSegs == 0
`},
		{"3", `
  - on server: server > client [.] ack 2897 sack 4345:8689
  - on server: server > client [.] ack 8689 sack none
  - count client > server [.] seq 2897:4345 == 2
  - client tcp.FastRetrans == 1
  - client tcp.RetransSegs == 1
`},
	}
	for _, tt := range tests {
		t.Run("after "+tt.after, func(t *testing.T) {
			res, trace := runSrc(t, reorderSrc(tt.after)+"expect:"+tt.expect)
			reportFailures(t, res)
			if want := "after " + tt.after + ": released, " + tt.after + " more passed"; !strings.Contains(trace, want) {
				t.Errorf("trace does not say %q", want)
			}
		})
	}
}

// TestReorderWithoutCapture runs a reordering with nothing captured, so
// that the hosts leave their TCP checksums to the link: the held frame,
// delivered later without the sender's word for it, must carry its
// checksum, or the server drops it and the client retransmits.
func TestReorderWithoutCapture(t *testing.T) {
	sc, err := Load("t.yaml", []byte(reorderSrc("2")+`expect:
  - on server: server > client [.] ack 7241 sack none
  - client tcp.RetransSegs == 0
  - server tcp.InCsumErrors == 0
`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := sc.Run(RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reportFailures(t, res)
}

// TestReorderReleasedWhenFlowStops checks that a held frame is delivered
// after MaxReorderHold when fewer than M frames follow it (here the only
// one that follows is the sender's retransmission after its RTO).
func TestReorderReleasedWhenFlowStops(t *testing.T) {
	src := twoHosts + `programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8); c = accept(l)
    recv(c, 5) == "hello"
    close(c)
  client: |
    s = socket(tcp); connect(s, server:80)
    send(s, "hello")
    sleep 2s
    close(s)
faults:
  - reorder 1st client > server [P.] after 5
expect:
  # the retransmission after the RTO, then the held original
  - on server: count client > server [P.] seq 1:6 == 2
  - client tcp.RetransSegs == 1
`
	res, trace := runSrc(t, src)
	reportFailures(t, res)
	if !strings.Contains(trace, "released, no more frames within 1s") {
		t.Errorf("trace does not say why the frame was released:\n%s", trace)
	}
}
