package tcp

import (
	"testing"
	"time"
)

// TestTimeoutsInTicks: under the linux profile the RTO is a whole number
// of jiffies, rounded up (Linux's __tcp_set_rto and usecs_to_jiffies),
// at Config.HZ; HZ < 0 and the rfc profile keep it to the nanosecond.
// So is every timer's wait: the delayed ACK's, the RTO's, keepalive's.
func TestTimeoutsInTicks(t *testing.T) {
	for _, tc := range []struct {
		profile    string
		hz         int
		want, nine time.Duration // the RTO; a 9 ms timer
	}{
		{ProfileLinux, 0, 212 * time.Millisecond, 12 * time.Millisecond}, // DefaultHZ, 250: 4 ms ticks
		{ProfileLinux, 1000, 211 * time.Millisecond, 9 * time.Millisecond},
		{ProfileLinux, 100, 220 * time.Millisecond, 10 * time.Millisecond},
		{ProfileLinux, -1, 210300 * time.Microsecond, 9 * time.Millisecond},
		{ProfileRFC, 250, time.Second, 9 * time.Millisecond}, // RFC 6298's 1 s floor, not in ticks
	} {
		j := newInj(t, Config{Profile: tc.profile, HZ: tc.hz})
		c, _ := j.handshake(options{HasMSS: true, MSS: 1000})
		c.srtt, c.rttvar = 10300*time.Microsecond, 0
		if got := c.computeRTO(); got != tc.want {
			t.Errorf("%s HZ %d: RTO %v, want %v", tc.profile, tc.hz, got, tc.want)
		}
		j.w.clk.advance(1300 * time.Microsecond)
		c.rtx.arm(9 * time.Millisecond)
		if got := c.rtx.deadline - c.since(); got != tc.nine {
			t.Errorf("%s HZ %d: a 9 ms timer expires after %v, want %v", tc.profile, tc.hz, got, tc.nine)
		}
	}
}
