package ipv4

import "time"

// RateLimiter is a token bucket for the ICMP errors a host or router
// sends (RFC 1812 §4.3.2.8, RFC 1122 §3.2.2: a flood of bad packets must
// not become a flood of errors). It holds Burst tokens and gains one every
// 1/PerSecond; each error spends one. Like Linux's icmp_msgs_per_sec
// (1000) and icmp_msgs_burst (50), which are its defaults. It reads no
// clock: the caller passes the time. The zero value is not usable; call
// [NewRateLimiter].
type RateLimiter struct {
	per    time.Duration // time to earn one token
	burst  int
	tokens int
	last   time.Time // when tokens was last brought up to date
}

// NewRateLimiter returns a full bucket allowing perSecond errors a second
// on average and burst at once; zero or negative values take the defaults
// 1000 and 50.
func NewRateLimiter(perSecond, burst int) *RateLimiter {
	if perSecond <= 0 {
		perSecond = 1000
	}
	if burst <= 0 {
		burst = 50
	}
	return &RateLimiter{per: time.Second / time.Duration(perSecond), burst: burst, tokens: burst}
}

// Allow reports whether an error may be sent at now, and if so spends a
// token. Time going backwards earns nothing. It does not allocate.
func (r *RateLimiter) Allow(now time.Time) bool {
	if r.last.IsZero() {
		r.last = now
	}
	if el := now.Sub(r.last); el >= r.per {
		earned := el / r.per
		if earned >= time.Duration(r.burst-r.tokens) {
			r.tokens, r.last = r.burst, now
		} else {
			r.tokens += int(earned)
			r.last = r.last.Add(earned * r.per)
		}
	}
	if r.tokens == 0 {
		return false
	}
	r.tokens--
	return true
}
