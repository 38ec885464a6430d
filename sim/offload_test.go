package sim

import (
	"testing"
	"time"

	"stacklab/stack"
)

// TestPipeChecksumOK checks receive checksum offload across a pipe: a
// frame the sending stack vouches for (Packet.ChecksumOK) arrives with
// the mark unless the pipe corrupted it or a middlebox saw it, and a
// frame sent without the mark never gains it.
func TestPipeChecksumOK(t *testing.T) {
	cases := []struct {
		name    string
		sent    bool
		corrupt bool
		inspect bool
		want    bool
	}{
		{"vouched", true, false, false, true},
		{"not vouched", false, false, false, false},
		{"corrupted", true, true, false, false},
		{"middlebox", true, false, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := NewClock(time.Unix(0, 0))
			var got []stack.Packet
			imp := Impairments{}
			if c.corrupt {
				imp.Corrupt = 1
			}
			p := NewPipeConfig(PipeConfig{Clock: clock, Impairments: imp, HeaderLen: 14,
				Deliver: func(pkt stack.Packet) { got = append(got, pkt) }})
			if c.inspect {
				p.SetInspect(func(stack.Packet) (bool, string) { return true, "" })
			}
			p.Send(stack.Packet{ID: 1, Data: make([]byte, 64), ChecksumOK: c.sent})
			clock.Run()
			if len(got) != 1 {
				t.Fatalf("%d frames delivered, want 1", len(got))
			}
			if got[0].ChecksumOK != c.want {
				t.Errorf("ChecksumOK = %v, want %v", got[0].ChecksumOK, c.want)
			}
		})
	}
}
