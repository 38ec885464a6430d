package perf

import (
	"testing"
	"time"

	"stacklab/capture"
)

func BenchmarkZZText(b *testing.B) {
	for _, f := range []capture.Format{capture.Text, capture.JSON} {
		b.Run(f.String(), func(b *testing.B) {
			rec, _ := newRecorderOpts(b, true, capture.Options{Trace: discardTrace(b), Format: f})
			n := newSimNet(b, simConfig{tap: rec, obs: rec})
			lfd := n.listen(b, 5001, 8)
			cfd, sfd := n.connect(b, lfd, 5001)
			wbuf, rbuf := make([]byte, chunk), make([]byte, 256<<10)
			n.transfer(b, cfd, sfd, 4*chunk, time.Time{}, wbuf, rbuf)
			b.SetBytes(chunk)
			b.ResetTimer()
			n.transfer(b, cfd, sfd, int64(b.N)*chunk, time.Time{}, wbuf, rbuf)
		})
	}
}
