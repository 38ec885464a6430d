package cc_test

import (
	"fmt"
	"time"

	"stacklab/stack/tcp/cc"
)

// The engine's side of a connection's life: slow start, a fast
// retransmit, NewReno recovery with window inflation, and its end.
func ExampleNew() {
	const mss = 1000
	c, err := cc.New("newreno", mss)
	if err != nil {
		panic(err)
	}
	now := time.Unix(0, 0)
	fmt.Println(c.Name(), "IW", c.Cwnd()/mss, "segments")

	// One RTT of ACKs, one per segment: slow start doubles cwnd.
	for i := 0; i < 10; i++ {
		c.OnAck(cc.Ack{Now: now, Acked: mss, RTT: 20 * time.Millisecond})
	}
	fmt.Println("after one RTT:", c.Cwnd()/mss)

	// Three duplicate ACKs with 20 segments in flight.
	c.EnterRecovery(now, 20*mss)
	c.Inflate(3 * mss)
	fmt.Println("fast retransmit: cwnd", c.Cwnd()/mss, "ssthresh", c.Ssthresh()/mss)
	c.Deflate(4 * mss) // a partial ACK of four segments
	fmt.Println("partial ACK: cwnd", c.Cwnd()/mss)
	c.ExitRecovery(now, 12*mss) // the full ACK
	fmt.Println("recovered: cwnd", c.Cwnd()/mss, "slow start", c.InSlowStart())

	_, err = cc.New("vegas", mss)
	fmt.Println(err)
	// Output:
	// newreno IW 10 segments
	// after one RTT: 20
	// fast retransmit: cwnd 13 ssthresh 10
	// partial ACK: cwnd 10
	// recovered: cwnd 10 slow start false
	// cc: unknown congestion control "vegas": use one of newreno, cubic
}

// CUBIC after a loss: K is how long the window takes to regain W_max.
func ExampleCubic() {
	const mss = 1460
	c := cc.NewCubic(cc.Config{MSS: mss, InitialSegments: 100})
	now := time.Unix(0, 0)
	c.EnterRecovery(now, 100*mss)
	c.ExitRecovery(now, 100*mss)
	c.OnAck(cc.Ack{Now: now, Acked: mss, RTT: 50 * time.Millisecond})
	fmt.Printf("W_max %d, cwnd %d segments, K %.2f s\n", c.WMax()/mss, c.Cwnd()/mss, c.K())
	// Output:
	// W_max 100, cwnd 70 segments, K 4.22 s
}
