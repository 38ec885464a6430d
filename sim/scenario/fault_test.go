package scenario

import "testing"

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
  - drop 5th client > server [.] len 1448
  - drop 7th client > server [.] len 1448
expect:
  # the 5th and 7th full segments are the ones resent
  - count client > server [.] seq 5793:7241 == 2
  - count client > server [.] seq 8689:10137 == 2
  - count client > server [.] seq 10137:11585 == 1
`
	res, _ := runSrc(t, src)
	for _, f := range res.Failures {
		t.Errorf("%s", f)
	}
}
