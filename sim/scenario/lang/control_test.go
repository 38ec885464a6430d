package lang

import (
	"strings"
	"testing"
)

const loopSrc = `l = socket(tcp); bind(l, :7); listen(l, 16); nonblock(l)
ep = epoll_create()
epoll_ctl(ep, add, l, in+et)
served = 0
while served != 3 {
  fd = epoll_wait(ep, 1s)
  if fd == l {
    c = accept(l)
  } else if recv(fd, any) -> ECONNRESET {
    close(fd)
  } else {
    n = recv(fd, any)
    served = served + 1
  }
}`

func TestParseControl(t *testing.T) {
	p, err := ParseProgram(loopSrc, "p", nil)
	if err != nil {
		t.Fatal(err)
	}
	set := p.Body[6]
	if set.Kind != StSet || set.Var != "served" || len(set.Args) != 1 || set.Args[0].Text != "0" {
		t.Fatalf("served = 0 parsed as %+v", set)
	}
	w := p.Body[7]
	if w.Kind != StWhile || w.Cond.Call != nil || !w.Cond.Not || w.Cond.A.Text != "served" || w.Cond.B.Text != "3" || len(w.Body) != 2 {
		t.Fatalf("while parsed as %+v %+v", w, w.Cond)
	}
	ifs := w.Body[1]
	if ifs.Kind != StIf || ifs.Cond.Not || len(ifs.Body) != 1 || len(ifs.Else) != 1 {
		t.Fatalf("if parsed as %+v", ifs)
	}
	elif := ifs.Else[0]
	if elif.Kind != StIf || elif.Cond.Call == nil || elif.Cond.Call.Call != "recv" || !elif.Cond.Call.Test || elif.Cond.Errno != "ECONNRESET" || elif.Cond.Call.Expect != nil || len(elif.Else) != 2 {
		t.Fatalf("else if parsed as %+v %+v", elif, elif.Cond)
	}
	inc := elif.Else[1]
	if inc.Kind != StSet || inc.Call != "+" || inc.Args[1].Text != "1" {
		t.Fatalf("served + 1 parsed as %+v", inc)
	}
	if ew := w.Body[0]; ew.Call != "epoll_wait" || ew.Var != "fd" || len(ew.Args) != 2 {
		t.Fatalf("epoll_wait parsed as %+v", ew)
	}
}

func TestParseControlErrors(t *testing.T) {
	for src, want := range map[string]string{
		"if x == 1 { }":                            `1:4: p: unknown variable "x"`,
		"s = socket(tcp)\nif recv(s, 1) { }":       "2:15: p: if tests the call's result",
		"s = socket(tcp)\nwhile s < 3 { }":         "unexpected character '<'",
		"s = socket(tcp)\nif s == 3 { }\nelse { }": "3:1: p: else without an if",
		"if { }": "1:4: p: if needs a condition",
		"s = socket(tcp)\nif echo_server(:7) -> OK { }": "if tests a socket call's result",
		"n = m + 1": `1:5: p: "m" is neither a whole number nor a variable`,
		"s = socket(tcp)\nwhile s == s { close(s) ":       "block not closed",
		"ep = epoll_create()\nepoll_ctl(ep, add, ep)":     "epoll_ctl: add needs the events",
		"ep = epoll_create()\nepoll_ctl(ep, put, ep, in)": `"put" is not one of add, mod, del`,
		"epoll_create()":                                 "epoll_create() needs a name",
		"s = socket(tcp)\nx = close(s)":                  "close returns nothing to keep",
		"ep = epoll_create()\nfd = epoll_wait(ep, soon)": "epoll_wait",
		"s = socket(tcp)\nif s == 3 { } else":            "{",
	} {
		_, err := ParseProgram(src, "p", nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error with %q", src, err, want)
		}
	}
}

func TestParsePollSet(t *testing.T) {
	p, err := ParseProgram("a = socket(tcp)\nb = socket(tcp)\nr = poll(a+b, in, 1s)", "p", nil)
	if err != nil || p.Body[2].Var != "r" || p.Body[2].Args[0].Text != "a+b" {
		t.Fatalf("%v %+v", err, p)
	}
	for src, want := range map[string]string{
		"a = socket(tcp)\npoll(a+c, in)": `2:6: p: poll: unknown socket "c" in "a+c"`,
		"a = socket(tcp)\npoll(a+, in)":  `unknown socket "" in "a+"`,
	} {
		if _, err := ParseProgram(src, "p", nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", src, err, want)
		}
	}
}
