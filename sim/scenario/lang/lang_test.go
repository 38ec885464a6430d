package lang

import "testing"

func FuzzParseProgram(f *testing.F) {
	f.Add("s = socket(tcp); connect(s, b:80)\nsend(s, 1MiB)\nrecv(s, all) == \"x\"")
	f.Add("every 1s for 10s { repeat 2 { sleep 1ms } }")
	f.Add("x = (")
	f.Fuzz(func(t *testing.T, src string) {
		ParseProgram(src, "p", []string{"a", "b"})
	})
}
