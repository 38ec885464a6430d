package pattern

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"stacklab/sim/scenario/diag"
)

// Pattern matches packets, tcpdump-like: "client > server [S.] ack 1",
// "[F*]" (FIN with any other flags),
// "[P.] len 5", "* > server:80 tcp", "client > server icmp echo". Empty
// fields match anything.
type Pattern struct {
	Text     string
	Src, Dst HostSel
	Proto    string
	Flags    string // "" any
	Seq      *uint32
	SeqEnd   *uint32 // seq A:B means seq A, len B-A
	Ack      *uint32
	Len      *int
	Win      *int
	ICMP     string
	SACK     string // "A:B,C:D": exactly these SACK blocks, in order; "none": no SACK option
}

// HostSel selects an address: a host name or literal address, a port, or
// any (empty).
type HostSel struct {
	Host string
	Addr netip.Addr
	Port int // -1 any
}

func (h HostSel) String() string {
	s := h.Host
	if h.Addr.IsValid() {
		s = h.Addr.String()
	}
	if s == "" {
		s = "*"
	}
	if h.Port >= 0 {
		s += ":" + strconv.Itoa(h.Port)
	}
	return s
}

var Words = []string{"tcp", "udp", "icmp", "icmp6", "arp", "fragment", "seq", "ack", "len", "win", "sack", "echo", "echo-reply", "unreachable", "time-exceeded", "too-big", "param-problem", "ns", "na", "rs", "ra", "redirect", "request", "reply"}

// Parse reads a packet pattern; hosts are the valid host names.
func Parse(s string, hosts []string) (*Pattern, error) {
	p := &Pattern{Text: strings.TrimSpace(s), Src: HostSel{Port: -1}, Dst: HostSel{Port: -1}}
	w := strings.Fields(s)
	if len(w) >= 3 && w[1] == ">" {
		var err error
		if p.Src, err = parseHostSel(w[0], hosts); err != nil {
			return nil, err
		}
		if p.Dst, err = parseHostSel(w[2], hosts); err != nil {
			return nil, err
		}
		w = w[3:]
	}
	num := func(i int, name string) (*uint32, *uint32, error) {
		if i+1 >= len(w) {
			return nil, nil, fmt.Errorf("%s needs a number after it", name)
		}
		v := w[i+1]
		if v == "*" {
			return nil, nil, nil
		}
		a, b, hasEnd := strings.Cut(v, ":")
		x, err := strconv.ParseUint(a, 10, 32)
		if err != nil || (hasEnd && name != "seq") {
			return nil, nil, fmt.Errorf("%s %q is not a number", name, v)
		}
		xv := uint32(x)
		if !hasEnd {
			return &xv, nil, nil
		}
		y, err := strconv.ParseUint(b, 10, 32)
		if err != nil || y < x {
			return nil, nil, fmt.Errorf("seq %q is not a range A:B with B ≥ A", v)
		}
		yv := uint32(y)
		return &xv, &yv, nil
	}
	for i := 0; i < len(w); i++ {
		t := w[i]
		switch {
		case strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]"):
			f := t[1 : len(t)-1]
			if f == "*" {
				continue
			}
			if spelled := spelledFlags(f); spelled != "" {
				return nil, fmt.Errorf("flags %s: write them as tcpdump prints them, one letter each: [%s]", t, spelled)
			}
			for i, c := range f {
				if c == '*' && i == len(f)-1 && i > 0 {
					continue
				}
				if !strings.ContainsRune("FSRPUEW.", c) {
					return nil, fmt.Errorf("flags %s: %q is not a TCP flag; use S F R P U E W and . for ACK, as tcpdump prints them", t, c)
				}
			}
			p.Flags = f
			if p.Proto == "" {
				p.Proto = "tcp"
			}
		case t == "tcp" || t == "udp" || t == "icmp" || t == "arp" || t == "icmp6":
			p.Proto = t
		case t == "too-big" || t == "param-problem" || t == "ns" || t == "na" || t == "rs" || t == "ra" || t == "redirect":
			// ICMPv6 only; ns/na are neighbour discovery (RFC 4861).
			p.Proto, p.ICMP = "icmp6", t
		case t == "fragment":
			p.Proto = "ip" // an IPv4 fragment after the first
		case t == "echo" || t == "echo-reply" || t == "unreachable" || t == "time-exceeded":
			p.ICMP = t
			if p.Proto != "icmp6" {
				p.Proto = "icmp"
			}
		case t == "request" || t == "reply":
			p.Proto, p.Flags = "arp", t
		case t == "seq" || t == "ack" || t == "len" || t == "win":
			a, b, err := num(i, t)
			if err != nil {
				return nil, err
			}
			i++
			switch t {
			case "seq":
				p.Seq, p.SeqEnd = a, b
			case "ack":
				p.Ack = a
			case "len":
				if a != nil {
					n := int(*a)
					p.Len = &n
				}
			case "win":
				if a != nil {
					n := int(*a)
					p.Win = &n
				}
			}
		case t == "sack":
			if i+1 >= len(w) || !validSACK(w[i+1]) {
				return nil, fmt.Errorf("sack needs its blocks after it, relative like seq: sack 4345:5793 or sack 4345:5793,7241:8689, or sack none")
			}
			i++
			p.SACK = w[i]
			if p.Proto == "" {
				p.Proto = "tcp"
			}
		case t == "*":
		default:
			if t == ">" {
				return nil, fmt.Errorf("write the direction first: SRC > DST [flags] …")
			}
			return nil, fmt.Errorf("%q is not part of a packet pattern%s", t, diag.DidYouMean(t, Words))
		}
	}
	return p, nil
}

// spelledFlags turns flags written as words ("SYN", "SYN,ACK", "ACK")
// into tcpdump's letters ("S.") for an error message, or returns "".
func spelledFlags(f string) string {
	words := strings.FieldsFunc(strings.ToUpper(f), func(r rune) bool { return r == ',' || r == '|' || r == '+' || r == '/' })
	letters := map[string]string{"SYN": "S", "FIN": "F", "RST": "R", "PSH": "P", "PUSH": "P", "URG": "U", "ECE": "E", "CWR": "W", "ACK": "."}
	out, ack := "", false
	for _, w := range words {
		l, ok := letters[w]
		if !ok {
			return ""
		}
		if l == "." {
			ack = true
			continue
		}
		out += l
	}
	if ack {
		out += "."
	}
	return out
}

// validSACK reports whether s is "none" or blocks "A:B[,C:D…]" with B > A.
func validSACK(s string) bool {
	if s == "none" {
		return true
	}
	for _, blk := range strings.Split(s, ",") {
		a, b, ok := strings.Cut(blk, ":")
		x, err1 := strconv.ParseUint(a, 10, 32)
		y, err2 := strconv.ParseUint(b, 10, 32)
		if !ok || err1 != nil || err2 != nil || y <= x {
			return false
		}
	}
	return true
}

func parseHostSel(s string, hosts []string) (HostSel, error) {
	h := HostSel{Port: -1}
	name, port, hasPort := strings.Cut(s, ":")
	if hasPort && port != "*" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return h, fmt.Errorf("%q has a bad port %q", s, port)
		}
		h.Port = int(n)
	}
	switch {
	case name == "*" || name == "":
	case slices.Contains(hosts, name):
		h.Host = name
	default:
		a, err := netip.ParseAddr(name)
		if err != nil {
			return h, fmt.Errorf("unknown host %q%s", name, diag.DidYouMean(name, hosts))
		}
		h.Addr = a
	}
	return h, nil
}

// FieldDiff is one field of a pattern compared with a packet.
type FieldDiff struct {
	Field, Want, Got string
}

// Match compares p with a packet; addr resolves host names. It returns
// the fields that differ (none: a match).
func (p *Pattern) Match(s *Summary, owns func(host string, a netip.Addr) bool, diffs []FieldDiff) []FieldDiff {
	diffs = diffs[:0]
	sel := func(field string, h HostSel, ap netip.AddrPort) {
		bad := h.Host != "" && !owns(h.Host, ap.Addr()) || h.Addr.IsValid() && h.Addr != ap.Addr()
		if bad || h.Port >= 0 && int(ap.Port()) != h.Port {
			diffs = append(diffs, FieldDiff{field, h.String(), ap.String()})
		}
	}
	sel("src", p.Src, s.Src)
	sel("dst", p.Dst, s.Dst)
	if p.Proto != "" && p.Proto != s.Proto {
		diffs = append(diffs, FieldDiff{"proto", p.Proto, s.Proto})
		return diffs
	}
	if p.Flags != "" && !flagsMatch(p.Flags, s.Flags) {
		diffs = append(diffs, FieldDiff{"flags", "[" + p.Flags + "]", "[" + s.Flags + "]"})
	}
	if p.ICMP != "" && p.ICMP != s.ICMP {
		diffs = append(diffs, FieldDiff{"icmp", p.ICMP, s.ICMP})
	}
	if p.Seq != nil && *p.Seq != s.Seq {
		diffs = append(diffs, FieldDiff{"seq", fmt.Sprint(*p.Seq), fmt.Sprint(s.Seq)})
	}
	if p.SeqEnd != nil && int(*p.SeqEnd-*p.Seq) != s.Len {
		diffs = append(diffs, FieldDiff{"len", fmt.Sprint(*p.SeqEnd - *p.Seq), fmt.Sprint(s.Len)})
	}
	if p.Ack != nil && (*p.Ack != s.Ack || !strings.Contains(s.Flags, ".")) {
		diffs = append(diffs, FieldDiff{"ack", fmt.Sprint(*p.Ack), fmt.Sprint(s.Ack)})
	}
	if p.Len != nil && *p.Len != s.Len {
		diffs = append(diffs, FieldDiff{"len", fmt.Sprint(*p.Len), fmt.Sprint(s.Len)})
	}
	if p.Win != nil && *p.Win != s.Win {
		diffs = append(diffs, FieldDiff{"win", fmt.Sprint(*p.Win), fmt.Sprint(s.Win)})
	}
	if p.SACK != "" {
		if got := s.sackString(); got != p.SACK {
			diffs = append(diffs, FieldDiff{"sack", p.SACK, got})
		}
	}
	return diffs
}

// flagsMatch compares a pattern's flags with a packet's: exactly, or,
// with a trailing "*" ("F*"), the packet has at least those flags.
func flagsMatch(want, got string) bool {
	if w, ok := strings.CutSuffix(want, "*"); ok {
		for _, c := range w {
			if !strings.ContainsRune(got, c) {
				return false
			}
		}
		return true
	}
	return want == got
}

// IsWord reports whether s is one of a pattern's keywords.
func IsWord(s string) bool { return slices.Contains(Words, s) }
