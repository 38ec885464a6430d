package lang

import (
	"strings"
	"testing"
)

func FuzzParseProgram(f *testing.F) {
	f.Add("s = socket(tcp); connect(s, b:80)\nsend(s, 1MiB)\nrecv(s, all) == \"x\"")
	f.Add("every 1s for 10s { repeat 2 { sleep 1ms } }")
	f.Add("x = (")
	f.Add("repeat forever { c = accept(l); spawn { close(c) } }")
	f.Add(loopSrc)
	f.Add("if s == 1 { } else if x != 2 { } else { }\nwhile recv(s, 1) -> OK { n = n + 1 }")
	f.Fuzz(func(t *testing.T, src string) {
		ParseProgram(src, "p", []string{"a", "b"})
	})
}

func TestParseSpawnRepeat(t *testing.T) {
	p, err := ParseProgram("l = socket(tcp)\nrepeat forever {\n  c = accept(l)\n  spawn { recv(c, 1); close(c) }\n}\n", "p", nil)
	if err != nil {
		t.Fatal(err)
	}
	loop := p.Body[1]
	if loop.Kind != StRepeat || loop.Count != -1 || len(loop.Body) != 2 || loop.Body[1].Kind != StSpawn || len(loop.Body[1].Body) != 2 {
		t.Fatalf("parsed %+v", loop)
	}
	for src, want := range map[string]string{
		"spawn recv(c, 1)":       "{",
		"repeat -2 { sleep 1s }": "repeat needs a count",
		"repeat 2000000 { }":     "repeat needs a count",
		"spawn {":                "}",
	} {
		if _, err := ParseProgram(src, "p", nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error with %q", src, err, want)
		}
	}
}
