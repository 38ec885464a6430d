package tcp

import (
	"testing"
	"time"
)

// TestBufferDefaults: tcp_rmem[1] and tcp_wmem[1] (Config.RmemDefault,
// WmemDefault) size a new connection's buffers; SO_RCVBUF reads an
// autotuned receive buffer as memory, twice its payload, as Linux's
// (131072 by default; testdata/pkt/buffers checks both on the kernel).
func TestBufferDefaults(t *testing.T) {
	for _, tc := range []struct {
		cfg            Config
		rcvMem, sndBuf int
		rcvPayload     int
	}{
		{Config{}, 131072, 46080, 65536}, // the send buffer expanded at once (tcp_sndbuf_expand; this kernel's MAX_TCP_HEADER)
		{Config{RmemDefault: 540000, WmemDefault: 262144}, 540000, 262144, 270000},
	} {
		w, cl, sv := pair(tc.cfg)
		c, s, _ := dial(t, w, cl, sv, nil)
		for _, x := range []*Conn{c, s} {
			if x.RecvBufferMemory() != tc.rcvMem || x.RecvBufferSize() != tc.rcvPayload || x.SendBufferSize() != tc.sndBuf {
				t.Errorf("%+v: SO_RCVBUF %d (payload %d), send buffer %d; want %d (%d), %d",
					tc.cfg, x.RecvBufferMemory(), x.RecvBufferSize(), x.SendBufferSize(), tc.rcvMem, tc.rcvPayload, tc.sndBuf)
			}
		}
	}
}

// TestNoIdleRestart: after an idle period longer than the RTO the
// congestion window restarts from the initial window (RFC 5681 §4.1,
// Linux's tcp_slow_start_after_idle=1) unless Config.NoIdleRestart
// (tcp_slow_start_after_idle=0, as upstream packetdrill's defaults.sh).
func TestNoIdleRestart(t *testing.T) {
	for _, keep := range []bool{false, true} {
		w, cl, sv := pair(Config{NoIdleRestart: keep})
		c, s, _ := dial(t, w, cl, sv, nil)
		buf := make([]byte, 64<<10)
		for range 8 {
			c.Write(buf)
			w.clk.advance(50 * time.Millisecond)
			for {
				if n, _ := s.Read(buf); n == 0 {
					break
				}
			}
		}
		grown := c.cc.Cwnd()
		if grown <= 10*c.sendMSS() {
			t.Fatalf("cwnd %d did not grow past the initial window", grown)
		}
		w.clk.advance(5 * time.Second)
		c.Write(buf[:100])
		got := c.cc.Cwnd()
		if keep && got != grown || !keep && got > 10*c.sendMSS() {
			t.Errorf("NoIdleRestart %v: cwnd %d after idle (was %d, initial window %d)", keep, got, grown, 10*c.sendMSS())
		}
	}
}
