package spec

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	ytoken "github.com/goccy/go-yaml/token"

	"stacklab/sim/scenario/diag"
	"stacklab/sim/scenario/expect"
	"stacklab/sim/scenario/lang"
	"stacklab/sim/scenario/pattern"
	"stacklab/stack/tcp"
)

// DefaultDuration is how long a scenario runs when it names no duration.
const DefaultDuration = 60 * time.Second

// Load parses a scenario file. name is the file name used in error
// messages. All problems found are returned together as an [ErrorList],
// each `file:line:col: field: message`. The file is first checked
// against the default [Limits] (size, nesting, text).
func Load(name string, src []byte) (*Scenario, error) {
	return LoadLimited(name, src, Limits{})
}

func load(name string, src []byte) (sc *Scenario, err error) {
	defer func() {
		if r := recover(); r != nil { // the YAML library must not take the program down
			sc, err = nil, ErrorList{{Pos: Pos{File: name}, Msg: fmt.Sprintf("cannot read the file: %v", r)}}
		}
	}()
	f, err := parser.ParseBytes(src, 0)
	if err != nil {
		return nil, ErrorList{yamlError(name, err)}
	}
	l := &loader{file: name, lines: strings.Split(string(src), "\n")}
	if len(f.Docs) != 1 || f.Docs[0].Body == nil {
		return nil, ErrorList{{Pos: Pos{File: name, Line: 1, Col: 1}, Msg: "expected one YAML document with name, hosts, links, programs and expect"}}
	}
	sc = l.scenario(f.Docs[0].Body)
	if len(l.errs) > 0 {
		l.errs.Sort()
		return nil, l.errs
	}
	return sc, nil
}

// yamlError turns a YAML syntax error into an [Error] with a position.
func yamlError(file string, err error) *Error {
	var te interface {
		GetToken() *ytoken.Token
		GetMessage() string
	}
	if errors.As(err, &te) && te.GetToken() != nil {
		p := te.GetToken().Position
		return &Error{Pos: Pos{File: file, Line: p.Line, Col: p.Column}, Msg: "YAML: " + te.GetMessage()}
	}
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i > 0 {
		msg = msg[:i]
	}
	return &Error{Pos: Pos{File: file}, Msg: "YAML: " + msg}
}

type loader struct {
	file  string
	lines []string
	errs  ErrorList
	hosts []string
	taps  []string // capture points on switch ports, SWITCH:PEER
	// capNodes holds where each name of a switch's capture: was written.
	capNodes map[string][]ast.Node
}

func (l *loader) pos(n ast.Node) Pos {
	if m, ok := n.(*ast.MappingNode); ok && !m.IsFlowStyle && len(m.Values) > 0 {
		n = m.Values[0] // a block mapping's token is its first ':'
	}
	if mv, ok := n.(*ast.MappingValueNode); ok {
		n = mv.Key
	}
	if n == nil || n.GetToken() == nil {
		return Pos{File: l.file}
	}
	p := n.GetToken().Position
	return Pos{File: l.file, Line: p.Line, Col: p.Column}
}

func (l *loader) errf(n ast.Node, path, format string, args ...any) {
	l.errs = append(l.errs, &Error{Pos: l.pos(n), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// unwrap strips tags and anchors; aliases are refused.
func (l *loader) unwrap(n ast.Node, path string) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		case *ast.AliasNode:
			l.errf(n, path, "aliases (*name) are not supported; write the value out")
			return nil
		case *ast.NullNode:
			return nil
		default:
			return n
		}
	}
}

func kindName(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case nil:
		return "nothing"
	}
	return "a scalar"
}

// mapping returns the entries of a mapping node.
func (l *loader) mapping(n ast.Node, path string) ([]*ast.MappingValueNode, bool) {
	switch v := l.unwrap(n, path).(type) {
	case *ast.MappingNode:
		return v.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}, true
	case nil:
		return nil, true
	}
	l.errf(n, path, "expected a mapping (key: value), found %s", kindName(n))
	return nil, false
}

func (l *loader) list(n ast.Node, path string) ([]ast.Node, bool) {
	switch v := l.unwrap(n, path).(type) {
	case *ast.SequenceNode:
		return v.Values, true
	case nil:
		return nil, true
	}
	l.errf(n, path, "expected a list (- item), found %s", kindName(n))
	return nil, false
}

func keyString(mv *ast.MappingValueNode) string {
	if mv.Key == nil {
		return ""
	}
	if s, ok := mv.Key.(*ast.StringNode); ok {
		return s.Value
	}
	return mv.Key.String()
}

// fields walks a mapping, refusing unknown and repeated keys.
func (l *loader) fields(n ast.Node, path string, valid []string, fn func(key string, v ast.Node, mv *ast.MappingValueNode)) {
	entries, _ := l.mapping(n, path)
	seen := map[string]bool{}
	for _, mv := range entries {
		k := keyString(mv)
		if !slices.Contains(valid, k) {
			l.errf(mv, path, "unknown key %q%s", k, diag.DidYouMean(k, valid))
			continue
		}
		if seen[k] {
			l.errf(mv, join(path, k), "repeated key; keep one")
			continue
		}
		seen[k] = true
		fn(k, mv.Value, mv)
	}
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// scalar returns a scalar's text.
func (l *loader) scalar(n ast.Node, path string) (string, bool) {
	switch v := l.unwrap(n, path).(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return v.GetToken().Value, true
	case nil:
		l.errf(n, path, "expected a value, found nothing")
		return "", false
	}
	l.errf(n, path, "expected a single value, found %s", kindName(n))
	return "", false
}

func (l *loader) str(n ast.Node, path string) string {
	s, _ := l.scalar(n, path)
	return s
}

func (l *loader) boolean(n ast.Node, path string) bool {
	s, ok := l.scalar(n, path)
	if !ok {
		return false
	}
	switch strings.ToLower(s) {
	case "true", "yes", "on":
		return true
	case "false", "no", "off":
		return false
	}
	l.errf(n, path, "%q is not true or false", s)
	return false
}

func (l *loader) integer(n ast.Node, path string, lo, hi int64) int64 {
	s, ok := l.scalar(n, path)
	if !ok {
		return 0
	}
	v, err := strconv.ParseInt(s, 0, 64)
	if err != nil || v < lo || v > hi {
		l.errf(n, path, "%q is not a whole number from %d to %d", s, lo, hi)
		return 0
	}
	return v
}

func (l *loader) duration(n ast.Node, path string) time.Duration {
	s, ok := l.scalar(n, path)
	if !ok {
		return 0
	}
	d, err := lang.ParseDuration(s)
	if err != nil {
		l.errf(n, path, "%v", err)
	}
	if d < 0 {
		l.errf(n, path, "%s is negative; use zero or more", s)
	}
	return d
}

func (l *loader) size(n ast.Node, path string) int {
	s, ok := l.scalar(n, path)
	if !ok {
		return 0
	}
	v, err := lang.ParseSize(s)
	if err != nil || v > math.MaxInt32 {
		l.errf(n, path, "%v", err)
	}
	return int(v)
}

func (l *loader) prob(n ast.Node, path string) float64 {
	s, ok := l.scalar(n, path)
	if !ok {
		return 0
	}
	v, err := lang.ParseProb(s)
	if err != nil {
		l.errf(n, path, "%v", err)
	}
	return v
}

var topKeys = []string{"name", "about", "about_zh", "seed", "duration", "hosts", "routers", "switches", "hubs", "links", "programs", "events", "faults", "expect", "outputs"}

func (l *loader) scenario(root ast.Node) *Scenario {
	sc := &Scenario{File: l.file, Duration: DefaultDuration, hostByName: map[string]*Host{}}
	var nodes = map[string]ast.Node{}
	var keys = map[string]*ast.MappingValueNode{}
	before := len(l.errs)
	l.fields(root, "", topKeys, func(k string, v ast.Node, mv *ast.MappingValueNode) {
		nodes[k], keys[k] = v, mv
	})
	if len(nodes) == 0 && len(l.errs) > before {
		// Not a scenario at all (a list, a scalar, another YAML file): the
		// one error says so; "needs a host" and the like would be noise.
		return sc
	}
	if n, ok := nodes["name"]; ok {
		sc.Name = l.str(n, "name")
	}
	if sc.Name == "" {
		// Unnamed: the file's base name, so that messages and capture
		// comments still say which scenario ran.
		sc.Name = strings.TrimSuffix(strings.TrimSuffix(filepath.Base(l.file), ".yaml"), ".yml")
	}
	if n, ok := nodes["about"]; ok {
		sc.About = strings.TrimSpace(l.str(n, "about"))
	}
	if n, ok := nodes["about_zh"]; ok {
		sc.AboutZH = strings.TrimSpace(l.str(n, "about_zh"))
	}
	if n, ok := nodes["seed"]; ok {
		s, ok := l.scalar(n, "seed")
		if ok {
			v, err := strconv.ParseUint(s, 0, 64)
			if err != nil {
				l.errf(n, "seed", "%q is not a whole number from 0 to 2^64-1", s)
			}
			sc.Seed = v
		}
	}
	if n, ok := nodes["duration"]; ok {
		sc.Duration = l.duration(n, "duration")
		if sc.Duration == 0 {
			l.errf(n, "duration", "a scenario needs a duration above zero")
		}
	}
	addrs := map[netip.Addr]string{}
	if n, ok := nodes["hosts"]; ok {
		l.hostsNode(sc, n, "hosts", false, addrs)
	}
	if n, ok := nodes["routers"]; ok {
		l.hostsNode(sc, n, "routers", true, addrs)
	}
	if len(sc.Hosts) == 0 {
		where := ast.Node(root)
		if mv, ok := keys["hosts"]; ok {
			where = mv
		}
		l.errf(where, "hosts", "a scenario needs at least one host, e.g. client: {addr: 10.0.0.1/24}")
		return sc
	}
	l.hosts = sc.HostNames()
	for _, k := range []string{"switches", "hubs"} {
		if n, ok := nodes[k]; ok {
			l.switchesNode(sc, n, k)
		}
	}
	if n, ok := nodes["links"]; ok {
		l.linksNode(sc, n)
	}
	l.switchCaptures(sc)
	if len(l.errs) == 0 {
		for _, h := range sc.Hosts {
			if !h.Router && sc.LinksOf(h.Name) == nil {
				l.errs = append(l.errs, &Error{Pos: h.Pos, Path: "hosts." + h.Name, Msg: fmt.Sprintf("host %s is on no link; add one: links: [{ends: [%s, %s]}]", h.Name, h.Name, otherHost(sc, h.Name))})
			}
		}
		for _, sw := range sc.Switches {
			if sc.LinksOf(sw.Name) == nil {
				l.errs = append(l.errs, &Error{Pos: sw.Pos, Path: "switches." + sw.Name, Msg: fmt.Sprintf("%s has no port; join hosts to it: links: [{ends: [%s, %s]}]", sw.Name, sc.Hosts[0].Name, sw.Name)})
			}
		}
	}
	if n, ok := nodes["programs"]; ok {
		entries, _ := l.mapping(n, "programs")
		for _, mv := range entries {
			name := keyString(mv)
			path := "programs." + name
			h := sc.hostByName[name]
			if h == nil {
				l.errf(mv, "programs", "unknown host %q%s", name, diag.DidYouMean(name, l.hosts))
				continue
			}
			if h.Program != nil {
				l.errf(mv, path, "repeated key; keep one")
				continue
			}
			h.Program = l.program(mv.Value, path)
			if h.Program != nil {
				h.Program.Host = name
			}
		}
	}
	if n, ok := nodes["events"]; ok {
		l.eventsNode(sc, n)
	}
	if n, ok := nodes["faults"]; ok {
		items, _ := l.list(n, "faults")
		for i, it := range items {
			path := fmt.Sprintf("faults[%d]", i)
			s, ok := l.scalar(it, path)
			if !ok {
				continue
			}
			f, err := parseFault(s, l.hosts)
			if err != nil {
				l.errf(it, path, "%v", err)
				continue
			}
			f.Pos = l.pos(it)
			if f.Link != "" {
				var names []string
				found := false
				for _, lk := range sc.Links {
					names = append(names, lk.Name())
					if lk.Name() == f.Link || lk.Ends[1]+"-"+lk.Ends[0] == f.Link {
						f.Link, found = lk.Name(), true
					}
				}
				if !found {
					l.errf(it, path, "unknown link %q%s", f.Link, diag.DidYouMean(f.Link, names))
					continue
				}
			} else if lk := sc.linkBetween(f.Pattern.Src.Host, f.Pattern.Dst.Host); lk != nil {
				f.Link = lk.Name()
			} else {
				l.errf(it, path, "no link joins %s and %s; name the link the fault acts on: … on LINK", f.Pattern.Src.Host, f.Pattern.Dst.Host)
				continue
			}
			if f.Action == FaultReorder {
				if lk := sc.linkNamed(f.Link); lk != nil && (lk.Switch || lk.Trunk || sc.gatedLink(lk)) {
					l.errf(it, path, "reorder faults act on links between two plain hosts; %s ends at a switch or at a NAT's or firewall's outside interface: drop, delay or duplicate there, or reorder on another link", f.Link)
					continue
				}
			}
			sc.Faults = append(sc.Faults, f)
		}
	}
	if n, ok := nodes["expect"]; ok {
		items, _ := l.list(n, "expect")
		for i, it := range items {
			path := fmt.Sprintf("expect[%d]", i)
			key, val := "", ""
			switch v := l.unwrap(it, path).(type) {
			case *ast.MappingNode, *ast.MappingValueNode:
				entries, _ := l.mapping(v, path)
				if len(entries) != 1 {
					l.errf(it, path, "write one expectation per item: \"at 2s: client fd 3 state == ESTABLISHED\"")
					continue
				}
				key = keyString(entries[0])
				var ok bool
				if val, ok = l.scalar(entries[0].Value, path); !ok {
					continue
				}
			default:
				var ok bool
				if val, ok = l.scalar(it, path); !ok {
					continue
				}
			}
			e, err := expect.Parse(key, val, l.hosts, l.taps...)
			if err != nil {
				l.errf(it, path, "%v", err)
				continue
			}
			e.Pos = l.pos(it)
			if e.Var != "" {
				if h := sc.Host(e.Host); h.Program == nil || !assigns(h.Program.Body, e.Var) {
					var vars []string
					if h.Program != nil {
						vars = assigned(h.Program.Body, nil)
					}
					l.errf(it, path, "%s's program has no socket variable %q%s", e.Host, e.Var, diag.DidYouMean(e.Var, vars))
					continue
				}
			}
			sc.Expect = append(sc.Expect, e)
		}
	}
	if n, ok := nodes["outputs"]; ok {
		l.fields(n, "outputs", []string{"combined", "ladder"}, func(k string, v ast.Node, _ *ast.MappingValueNode) {
			switch k {
			case "combined":
				sc.Outputs.Combined = l.boolean(v, "outputs.combined")
			case "ladder":
				sc.Outputs.Ladder = l.boolean(v, "outputs.ladder")
			}
		})
	}
	return sc
}

var hostKeys = []string{"addr", "addrs", "mac", "mtu", "ttl", "tcp", "gateway", "routes", "apps", "app", "slaac", "local_port_range"}

var routerKeys = []string{"addrs", "mtu", "ttl", "tcp", "gateway", "routes", "apps", "app", "nat", "firewall", "ra", "ra_valid", "ra_preferred"}

// switchesNode reads the switches (or hubs) section:
// switches: {sw: {max_macs: 64, aging: 300s}}, hubs: {seg: {}}.
func (l *loader) switchesNode(sc *Scenario, n ast.Node, section string) {
	entries, _ := l.mapping(n, section)
	for _, mv := range entries {
		name := keyString(mv)
		path := section + "." + name
		if !lang.IsIdent(strings.ReplaceAll(name, "-", "_")) {
			l.errf(mv, path, "%q is not a switch name; use letters, digits, - and _", name)
			continue
		}
		if sc.hostByName[name] != nil || sc.switchNamed(name) != nil {
			l.errf(mv, path, "%s is already the name of a host or switch; give each its own", name)
			continue
		}
		sw := &Switch{Name: name, Pos: l.pos(mv), Hub: section == "hubs"}
		if _, null := l.unwrap(mv.Value, path).(*ast.NullNode); !null {
			valid := []string{"max_macs", "aging", "capture"}
			if sw.Hub {
				valid = []string{"capture"}
			}
			l.fields(mv.Value, path, valid, func(k string, v ast.Node, _ *ast.MappingValueNode) {
				switch k {
				case "max_macs":
					sw.MaxMACs = int(l.integer(v, join(path, k), 1, 1<<20))
				case "aging":
					sw.Aging = l.duration(v, join(path, k))
					if sw.Aging == 0 {
						l.errf(v, join(path, k), "aging must be above zero, e.g. 300s")
					}
				case "capture":
					items, ok := l.list(v, join(path, k))
					if !ok {
						return
					}
					if l.capNodes == nil {
						l.capNodes = map[string][]ast.Node{}
					}
					for _, it := range items {
						sw.Capture = append(sw.Capture, l.str(it, join(path, k)))
						l.capNodes[sw.Name] = append(l.capNodes[sw.Name], it)
					}
				}
			})
		}
		sc.Switches = append(sc.Switches, sw)
	}
}

// switchCaptures checks each switch's capture: list, now that its links
// are known: every name is a host or switch at the other end of one of
// its ports. It records the capture points for expectations.
func (l *loader) switchCaptures(sc *Scenario) {
	for _, sw := range sc.Switches {
		var peers []string
		for _, lk := range sc.LinksOf(sw.Name) {
			peers = append(peers, lk.Ends[0], lk.Ends[1])
		}
		peers = slices.DeleteFunc(peers, func(s string) bool { return s == sw.Name })
		for i, c := range sw.Capture {
			path := fmt.Sprintf("switches.%s.capture[%d]", sw.Name, i)
			switch n := slices.Index(peers, c); {
			case n < 0:
				l.errf(l.capNodes[sw.Name][i], path, "%s has no port toward %q; capture names the host or switch at a port's other end%s", sw.Name, c, diag.DidYouMean(c, peers))
			case slices.Index(peers[n+1:], c) >= 0:
				l.errf(l.capNodes[sw.Name][i], path, "%s has two ports toward %s; a port capture needs the one", sw.Name, c)
			case slices.Contains(sw.Capture[:i], c):
				l.errf(l.capNodes[sw.Name][i], path, "%s is named twice", c)
			default:
				l.taps = append(l.taps, sw.Name+":"+c)
			}
		}
	}
}

// switchPath says how switches a and b are joined by links between
// switches ("lan1—core—lan2"), or "" when they are not.
func (s *Scenario) switchPath(a, b string) string {
	prev := map[string]string{a: ""}
	queue := []string{a}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, lk := range s.Links {
			if !lk.Trunk {
				continue
			}
			next := ""
			switch cur {
			case lk.Ends[0]:
				next = lk.Ends[1]
			case lk.Ends[1]:
				next = lk.Ends[0]
			}
			if _, seen := prev[next]; next == "" || seen {
				continue
			}
			prev[next] = cur
			if next == b {
				path := []string{b}
				for x := cur; x != ""; x = prev[x] {
					path = append([]string{x}, path...)
				}
				return strings.Join(path, "—")
			}
			queue = append(queue, next)
		}
	}
	return ""
}

// switchNamed returns the switch (or hub) called name, or nil.
func (s *Scenario) switchNamed(name string) *Switch {
	for _, sw := range s.Switches {
		if sw.Name == name {
			return sw
		}
	}
	return nil
}

// boxNode reads a router's nat: or firewall: once its addresses are
// known: {outside: ADDR, public: ADDR, ports: A-B, tcp_idle: D, udp_idle: D}.
func (l *loader) boxNode(h *Host, kind string, n ast.Node, p string) {
	b := &BoxSpec{Pos: l.pos(n), Kind: kind, Outside: -1}
	keys := []string{"outside", "tcp_idle", "udp_idle"}
	if kind == "nat" {
		keys = append(keys, "public", "ports", "unmatched")
	}
	var outNode ast.Node
	l.fields(n, p, keys, func(k string, v ast.Node, _ *ast.MappingValueNode) {
		kp := join(p, k)
		switch k {
		case "outside":
			outNode = v
			s := l.str(v, kp)
			a, err := netip.ParseAddr(s)
			if err != nil {
				l.errf(v, kp, "outside is the address of the router's outside interface, e.g. 203.0.113.1")
				return
			}
			for i, pr := range h.Ifaces {
				if pr.Addr() == a {
					b.Outside = i
				}
			}
			if b.Outside < 0 {
				l.errf(v, kp, "%s is not one of %s's addresses (%s)", a, h.Name, joinPrefixes(h.Ifaces))
			}
		default:
			l.boxParam(&b.BoxParams, k, v, kp, "the outside interface's address")
		}
	})
	if outNode == nil {
		ex := "203.0.113.1"
		if len(h.Ifaces) > 0 {
			ex = h.Ifaces[len(h.Ifaces)-1].Addr().String()
		}
		l.errf(n, p, "a %s needs its outside interface: outside: %s", kind, ex)
		return
	}
	if b.Outside >= 0 && !b.Public.IsValid() {
		b.Public = h.Ifaces[b.Outside].Addr()
	}
	h.Box = b
}

// hostsNode reads the hosts (or the routers) section.
func (l *loader) hostsNode(sc *Scenario, n ast.Node, section string, router bool, addrs map[netip.Addr]string) {
	entries, _ := l.mapping(n, section)
	valid := hostKeys
	if router {
		valid = routerKeys
	}
	for _, mv := range entries {
		name := keyString(mv)
		path := section + "." + name
		if !lang.IsIdent(strings.ReplaceAll(name, "-", "_")) {
			l.errf(mv, path, "%q is not a host name; use letters, digits, - and _", name)
			continue
		}
		if sc.hostByName[name] != nil {
			l.errf(mv, path, "repeated host name; keep one")
			continue
		}
		h := &Host{Name: name, Pos: l.pos(mv), Router: router}
		var appsNode, gwNode, routesNode, boxNode ast.Node
		boxKind := ""
		prefix1 := func(v ast.Node, p string, first bool) {
			switch l.unwrap(v, p).(type) {
			case *ast.MappingNode, *ast.MappingValueNode:
				// {addr: [10.0.0.1/24, 2001:db8::1/64]}: inside braces
				// YAML reads an IPv6 address's colons as a key.
				l.errf(v, p, "inside { } YAML splits an IPv6 address at its colons; quote it (\"2001:db8::1/64\") or write the host's keys one per line")
				return
			}
			s := l.str(v, p)
			pr, err := netip.ParsePrefix(s)
			if err != nil || pr.Addr().Is4In6() || pr.Addr().Zone() != "" {
				l.errf(v, p, "%q is not an IPv4 address with a prefix length, e.g. 10.0.0.1/24 (nor an IPv6 one, e.g. 2001:db8::1/64, which follows the IPv4 one)", s)
				return
			}
			if other, dup := addrs[pr.Addr()]; dup {
				l.errf(v, p, "address %s is already %s's", pr.Addr(), other)
			}
			addrs[pr.Addr()] = name
			if pr.Addr().Is6() {
				a := pr.Addr()
				switch {
				case first || len(h.Ifaces) == 0:
					l.errf(v, p, "an interface needs its IPv4 address first, then IPv6 ones: [10.0.0.1/24, %s]", s)
				case a.IsMulticast() || a.IsLoopback() || a.IsUnspecified() || a.IsLinkLocalUnicast():
					l.errf(v, p, "%s is not a global unicast IPv6 address (the link-local one comes from the MAC); use e.g. 2001:db8::1/64", s)
				default:
					i := len(h.Ifaces) - 1
					h.Ifaces6[i] = append(h.Ifaces6[i], pr)
					if !h.Addr6.IsValid() {
						h.Addr6 = pr
					}
				}
				return
			}
			if !first {
				l.errf(v, p, "one interface has one IPv4 address; %s is a second (routers: one addrs entry per interface)", s)
				return
			}
			h.Ifaces = append(h.Ifaces, pr)
			h.Ifaces6 = append(h.Ifaces6, nil)
			h.IfMTU = append(h.IfMTU, 0)
		}
		// prefix reads one interface's addresses: 10.0.0.1/24, or a list
		// [10.0.0.1/24, 2001:db8::1/64] (IPv4 first).
		prefix := func(v ast.Node, p string) {
			if _, isList := l.unwrap(v, p).(*ast.SequenceNode); !isList {
				prefix1(v, p, true)
				return
			}
			items, _ := l.list(v, p)
			for i, it := range items {
				prefix1(it, fmt.Sprintf("%s[%d]", p, i), i == 0)
			}
		}
		l.fields(mv.Value, path, valid, func(k string, v ast.Node, _ *ast.MappingValueNode) {
			p := join(path, k)
			switch k {
			case "addr":
				if hasKey(l.unwrap(mv.Value, path), "addrs") {
					l.errf(v, p, "use one of addr (one interface) and addrs (one per interface)")
					return
				}
				prefix(v, p)
			case "addrs":
				items, _ := l.list(v, p)
				for i, it := range items {
					ip := fmt.Sprintf("%s[%d]", p, i)
					switch l.unwrap(it, ip).(type) {
					case *ast.SequenceNode:
						prefix(it, ip)
					case *ast.MappingNode, *ast.MappingValueNode:
						// {addr: 10.0.2.254/24, mtu: 576}
						mtu, n := 0, len(h.Ifaces)
						l.fields(it, ip, []string{"addr", "mtu"}, func(k string, v ast.Node, _ *ast.MappingValueNode) {
							if k == "addr" {
								prefix(v, join(ip, k))
							} else {
								mtu = int(l.integer(v, join(ip, k), 68, 65535))
							}
						})
						if len(h.Ifaces) == n {
							l.errf(it, ip, "an interface needs an addr: {addr: 10.0.2.254/24, mtu: 576}")
							continue
						}
						h.IfMTU[len(h.IfMTU)-1] = mtu
					default:
						prefix(it, ip)
					}
				}
			case "mac":
				s := l.str(v, p)
				m, err := net.ParseMAC(s)
				if err != nil || len(m) != 6 {
					l.errf(v, p, "%q is not a MAC address like 02:00:00:00:00:01", s)
					return
				}
				h.MAC = m
			case "mtu":
				h.MTU = int(l.integer(v, p, 68, 65535))
			case "ttl":
				h.TTL = uint8(l.integer(v, p, 1, 255))
			case "local_port_range":
				if x, y, ok := l.portRange(v, p, "local_port_range", "as Linux's ip_local_port_range (32768-60999 by default), e.g. 40000-40009"); ok {
					h.PortRange = [2]uint16{x, y}
				}
			case "slaac":
				h.SLAAC = l.boolean(v, p)
			case "ra":
				h.RA = l.boolean(v, p)
			case "ra_valid", "ra_preferred":
				d := l.duration(v, p)
				if d > 0 && (d < time.Second || d%time.Second != 0) {
					l.errf(v, p, "%s: a prefix lifetime is whole seconds, 1s or more (e.g. 30s)", d)
				}
				if k == "ra_valid" {
					h.RAValid = d
				} else {
					h.RAPreferred = d
				}
			case "tcp":
				l.tcpNode(h, v, p)
			case "nat", "firewall":
				if boxNode != nil {
					l.errf(v, p, "a router is a NAT or a firewall, not both")
				}
				boxNode, boxKind = v, k
			case "gateway":
				gwNode = v
			case "routes":
				routesNode = v
			case "apps", "app":
				if appsNode != nil {
					l.errf(v, p, "use one of app and apps")
				}
				appsNode = v
			}
		})
		if len(h.Ifaces) == 0 {
			key := "addr"
			if router {
				key = "addrs"
			}
			if !hasKey(l.unwrap(mv.Value, path), key) {
				if router {
					l.errf(mv, path, "a router needs addrs, one per interface: addrs: [10.0.1.254/24, 10.0.2.254/24]")
				} else {
					l.errf(mv, path, "a host needs an addr, e.g. addr: 10.0.0.1/24")
				}
			}
		} else {
			h.Addr = h.Ifaces[0]
		}
		if boxNode != nil {
			l.boxNode(h, boxKind, boxNode, join(path, boxKind))
		}
		if gwNode != nil {
			// gateway: 10.0.0.254, or [10.0.0.254, 2001:db8::fe] for both families
			gws := []ast.Node{gwNode}
			_, isList := l.unwrap(gwNode, join(path, "gateway")).(*ast.SequenceNode)
			if isList {
				gws, _ = l.list(gwNode, join(path, "gateway"))
			}
			for i, g := range gws {
				p := join(path, "gateway")
				if isList {
					p = fmt.Sprintf("%s[%d]", p, i)
				}
				if a := l.nextHop(h, g, p); a.Is6() {
					h.Gateway6 = a
				} else {
					h.Gateway = a
				}
			}
		}
		if routesNode != nil {
			items, _ := l.list(routesNode, join(path, "routes"))
			for i, it := range items {
				p := fmt.Sprintf("%s.routes[%d]", path, i)
				var rs RouteSpec
				l.fields(it, p, []string{"dst", "via"}, func(k string, v ast.Node, _ *ast.MappingValueNode) {
					if k == "via" {
						rs.Via = l.nextHop(h, v, join(p, k))
						return
					}
					s := l.str(v, join(p, k))
					pr, err := netip.ParsePrefix(s)
					if err != nil || pr.Addr().Is4In6() {
						l.errf(v, join(p, k), "%q is not a prefix, e.g. 10.0.3.0/24 or 2001:db8:3::/64", s)
						return
					}
					rs.Dst = pr.Masked()
				})
				if !rs.Dst.IsValid() || !rs.Via.IsValid() {
					l.errf(it, p, "a route needs dst and via: {dst: 10.0.3.0/24, via: 10.0.2.254}")
					continue
				}
				if rs.Dst.Addr().Is4() != rs.Via.Is4() {
					l.errf(it, p, "route to %s via %s: the gateway must be of the destination's family", rs.Dst, rs.Via)
					continue
				}
				h.Routes = append(h.Routes, rs)
			}
		}
		sc.Hosts = append(sc.Hosts, h)
		sc.hostByName[name] = h
		if appsNode != nil {
			defer l.appsNode(h, appsNode, join(path, "apps"), sc)
		}
	}
}

// nextHop reads a gateway address, which must be on one of h's subnets.
func (l *loader) nextHop(h *Host, v ast.Node, p string) netip.Addr {
	s := l.str(v, p)
	a, err := netip.ParseAddr(s)
	if err != nil || a.Is4In6() || a.Zone() != "" {
		l.errf(v, p, "%q is not an address, e.g. 10.0.1.254 or 2001:db8:1::fe", s)
		return netip.Addr{}
	}
	for _, pr := range h.Ifaces {
		if pr.Contains(a) {
			return a
		}
	}
	for _, ps := range h.Ifaces6 {
		for _, pr := range ps {
			if pr.Contains(a) {
				return a
			}
		}
	}
	if len(h.Ifaces) > 0 {
		l.errf(v, p, "%s is on none of %s's subnets; a gateway must be directly reachable", a, h.Name)
	}
	return a
}

// appsNode reads a host's built-in apps once every host name is known.
func (l *loader) appsNode(h *Host, n ast.Node, path string, sc *Scenario) {
	hosts := sc.HostNames()
	var items []ast.Node
	if _, isList := l.unwrap(n, path).(*ast.SequenceNode); isList {
		items, _ = l.list(n, path)
	} else {
		items = []ast.Node{n}
	}
	for i, it := range items {
		p := fmt.Sprintf("%s[%d]", path, i)
		s, ok := l.scalar(it, p)
		if !ok {
			continue
		}
		prog, err := lang.ParseAt(s, p, hosts, l.scalarPos(it, s))
		if err != nil {
			l.errs = append(l.errs, err.(ErrorList)...)
			continue
		}
		for _, st := range prog.Body {
			if spec, ok := lang.Calls[st.Call]; st.Kind != lang.StCall || !ok || !spec.App {
				l.errs = append(l.errs, &Error{Pos: st.Pos, Path: p, Msg: fmt.Sprintf("%q is not a built-in app; apps: echo_server, blocking_server, thread_server, epoll_server, discard_server, udp_echo, bulk_send, bulk_recv, ping, http_server, http_client, heartbeat_server, heartbeat_client", st.Text)})
				continue
			}
			h.Apps = append(h.Apps, st)
		}
	}
}

var tcpKeys = []string{"profile", "ecn", "syn_ack_retries", "congestion", "recovery", "dsack", "frto", "hystart", "send_buffer", "recv_buffer", "delayed_ack", "delayed_ack_time", "nagle", "sack", "timestamps", "wscale", "keepalive", "msl", "rto_min", "rto_max", "rto_initial", "retries", "syn_retries", "syn_backlog", "syncookies", "max_tw_buckets", "max_orphans", "tw_reuse", "notsent_lowat", "hz", "syn_linear_timeouts", "tso_defer"}

var congestionNames = []string{"newreno", "cubic"}

func (l *loader) tcpNode(h *Host, n ast.Node, path string) {
	t := &h.TCP
	l.fields(n, path, tcpKeys, func(k string, v ast.Node, _ *ast.MappingValueNode) {
		p := join(path, k)
		switch k {
		case "profile":
			s := l.str(v, p)
			if !slices.Contains(tcp.ProfileNames, s) {
				l.errf(v, p, "unknown profile %q: use linux or rfc%s", s, diag.DidYouMean(s, tcp.ProfileNames))
			}
			t.Profile = s
		case "ecn":
			s := l.str(v, p)
			if !slices.Contains(tcp.ECNNames, s) {
				l.errf(v, p, "unknown ecn setting %q: use passive, on or off%s", s, diag.DidYouMean(s, tcp.ECNNames))
			}
			t.ECN = s
		case "syn_ack_retries":
			t.SynAckRetries = int(l.integer(v, p, 1, 100))
		case "congestion":
			s := l.str(v, p)
			if !slices.Contains(congestionNames, s) {
				l.errf(v, p, "unknown congestion control %q%s", s, diag.DidYouMean(s, congestionNames))
			}
			t.Congestion = s
		case "recovery":
			s := l.str(v, p)
			if !slices.Contains(tcp.RecoveryNames, s) {
				l.errf(v, p, "unknown loss recovery %q%s", s, diag.DidYouMean(s, tcp.RecoveryNames))
			}
			t.Recovery = s
		case "dsack":
			t.NoDSACK = !l.boolean(v, p)
		case "frto":
			t.NoFRTO = !l.boolean(v, p)
		case "tso_defer":
			t.NoTSODefer = !l.boolean(v, p)
		case "hystart":
			s := l.str(v, p)
			if !slices.Contains(tcp.HyStartNames, s) {
				l.errf(v, p, "unknown hystart setting %q: use classic (Linux's HyStart), hystart++ (RFC 9406) or off%s", s, diag.DidYouMean(s, tcp.HyStartNames))
			}
			t.HyStart = s
		case "send_buffer":
			t.SendBuffer = l.size(v, p)
		case "recv_buffer":
			t.RecvBuffer = l.size(v, p)
		case "delayed_ack":
			t.NoDelayedAck = !l.boolean(v, p)
		case "delayed_ack_time":
			t.DelayedAckTime = l.duration(v, p)
		case "nagle":
			t.NoDelay = !l.boolean(v, p)
		case "sack":
			t.NoSACK = !l.boolean(v, p)
		case "timestamps":
			t.NoTimestamps = !l.boolean(v, p)
		case "wscale":
			t.NoWindowScale = !l.boolean(v, p)
		case "keepalive":
			l.fields(v, p, []string{"idle", "interval", "count"}, func(k string, v ast.Node, _ *ast.MappingValueNode) {
				switch k {
				case "idle":
					t.KeepIdle = l.duration(v, join(p, k))
				case "interval":
					t.KeepInterval = l.duration(v, join(p, k))
				case "count":
					t.KeepCount = int(l.integer(v, join(p, k), 1, 1000))
				}
			})
		case "msl":
			t.MSL = l.duration(v, p)
		case "rto_min":
			t.RTOMin = l.duration(v, p)
		case "rto_max":
			t.RTOMax = l.duration(v, p)
		case "rto_initial":
			t.RTOInitial = l.duration(v, p)
		case "retries":
			t.Retries = int(l.integer(v, p, 1, 100))
		case "syn_retries":
			t.SynRetries = int(l.integer(v, p, 1, 100))
		case "syn_linear_timeouts":
			// Linux's tcp_syn_linear_timeouts (4 under the linux
			// profile); 0 backs a SYN off from its first timeout.
			if t.SynLinearTimeouts = int(l.integer(v, p, 0, 127)); t.SynLinearTimeouts == 0 {
				t.SynLinearTimeouts = -1
			}
		case "syn_backlog":
			t.SynBacklog = int(l.integer(v, p, 1, 65535))
		case "syncookies":
			t.NoSynCookies = !l.boolean(v, p)
		case "max_tw_buckets":
			// Linux's tcp_max_tw_buckets: 0 allows no TIME_WAIT at all.
			if t.MaxTimeWait = int(l.integer(v, p, 0, 1<<24)); t.MaxTimeWait == 0 {
				t.MaxTimeWait = -1
			}
		case "tw_reuse":
			// Linux's tcp_tw_reuse: 0 never, 1 always, 2 (the default)
			// to or from a loopback address only.
			t.TimeWaitReuse = [...]tcp.TimeWaitReuse{tcp.TimeWaitReuseOff, tcp.TimeWaitReuseOn, tcp.TimeWaitReuseLoopback}[l.integer(v, p, 0, 2)]
		case "max_orphans":
			// Linux's tcp_max_orphans: 0 lets no close linger.
			if t.MaxOrphans = int(l.integer(v, p, 0, 1<<24)); t.MaxOrphans == 0 {
				t.MaxOrphans = -1
			}
		case "hz":
			// CONFIG_HZ: the linux profile's TCP timeouts in whole
			// jiffies; 0 keeps them to the nanosecond.
			if t.HZ = int(l.integer(v, p, 0, 10000)); t.HZ == 0 {
				t.HZ = -1
			}
		case "notsent_lowat":
			// Linux's tcp_notsent_lowat: TCP_NOTSENT_LOWAT for every
			// socket that sets none; 0, the default, is no limit.
			t.NotSentLowat = uint32(l.integer(v, p, 0, 1<<31-1))
		}
	})
}

var impairKeys = []string{"delay", "jitter", "rate", "queue", "aqm", "loss", "burst_loss", "duplicate", "reorder", "reorder_delay", "corrupt", "mtu"}

var linkKeys = append([]string{"ends", "forward", "reverse", "firewall", "nat"}, impairKeys...)

// impairField sets one impairment field on every target.
func (l *loader) impairField(k string, v ast.Node, p string, targets ...*Impair) {
	for i, t := range targets {
		if i > 0 {
			*t = SetLike(*targets[0], *t, k)
			continue
		}
		switch k {
		case "delay":
			t.Delay = l.duration(v, p)
		case "jitter":
			t.Jitter = l.duration(v, p)
		case "rate":
			s := l.str(v, p)
			r, err := lang.ParseRate(s)
			if err != nil {
				l.errf(v, p, "%v", err)
			}
			t.Rate = r
		case "queue":
			s := l.str(v, p)
			if n, err := strconv.Atoi(s); err == nil && n >= 0 {
				t.QueuePackets = n
			} else if b, err := lang.ParseSize(s); err == nil {
				t.QueueBytes = int(b)
			} else {
				l.errf(v, p, "%q is not a queue limit; write a number of packets (100) or a size (64KiB)", s)
			}
		case "loss":
			t.Loss = l.prob(v, p)
		case "burst_loss":
			l.fields(v, p, []string{"p", "r", "loss_good", "loss_bad"}, func(k string, v ast.Node, _ *ast.MappingValueNode) {
				q := l.prob(v, join(p, k))
				switch k {
				case "p":
					t.Burst.P = q
				case "r":
					t.Burst.R = q
				case "loss_good":
					t.Burst.LossGood = q
				case "loss_bad":
					t.Burst.LossBad = q
				}
			})
			if t.Burst.P > 0 && t.Burst.LossBad == 0 {
				t.Burst.LossBad = 1
			}
		case "duplicate":
			t.Duplicate = l.prob(v, p)
		case "reorder":
			t.Reorder = l.prob(v, p)
		case "reorder_delay":
			t.ReorderDelay = l.duration(v, p)
		case "corrupt":
			t.Corrupt = l.prob(v, p)
		case "mtu":
			t.MTU = int(l.integer(v, p, 68, 65535))
		case "aqm":
			l.aqm(v, p, &t.AQM)
		}
	}
}

var aqmKeys = []string{"kind", "ecn", "target", "interval", "min", "max", "max_p"}

// aqm reads a link queue's AQM: "codel", "red", or a mapping
// {kind: codel, ecn: false, target: 5ms, interval: 100ms} or
// {kind: red, min: 5, max: 15, max_p: 10%}. ECN marking is on unless
// ecn: false.
func (l *loader) aqm(n ast.Node, p string, a *AQM) {
	kind := func(v ast.Node, p string) {
		s := l.str(v, p)
		if s != "codel" && s != "red" {
			l.errf(v, p, "unknown aqm %q: use codel or red%s", s, diag.DidYouMean(s, []string{"codel", "red"}))
		}
		a.Kind = s
	}
	a.ECN = true
	if _, ok := n.(*ast.MappingNode); !ok {
		kind(n, p)
		return
	}
	l.fields(n, p, aqmKeys, func(k string, v ast.Node, _ *ast.MappingValueNode) {
		q := join(p, k)
		switch k {
		case "kind":
			kind(v, q)
		case "ecn":
			a.ECN = l.boolean(v, q)
		case "target":
			a.Target = l.duration(v, q)
		case "interval":
			a.Interval = l.duration(v, q)
		case "min":
			a.MinTh = int(l.integer(v, q, 1, 100000))
		case "max":
			a.MaxTh = int(l.integer(v, q, 2, 100000))
		case "max_p":
			a.MaxP = l.prob(v, q)
		}
	})
	if a.Kind == "" {
		l.errf(n, p, "aqm needs a kind: codel or red")
	}
	if a.MinTh > 0 && a.MaxTh > 0 && a.MinTh >= a.MaxTh {
		l.errf(n, p, "aqm min %d must be below max %d", a.MinTh, a.MaxTh)
	}
}

// impairNode reads a mapping of impairment fields at path p into t.
func (l *loader) impairNode(n ast.Node, p string, t *Impair) {
	l.fields(n, p, impairKeys, func(k string, v ast.Node, _ *ast.MappingValueNode) {
		l.impairField(k, v, join(p, k), t)
	})
}

// SetLike copies field k (an impairment key of the scenario file) from
// src into dst.
func SetLike(src, dst Impair, k string) Impair {
	switch k {
	case "delay":
		dst.Delay = src.Delay
	case "jitter":
		dst.Jitter = src.Jitter
	case "rate":
		dst.Rate = src.Rate
	case "queue":
		dst.QueueBytes, dst.QueuePackets = src.QueueBytes, src.QueuePackets
	case "loss":
		dst.Loss = src.Loss
	case "burst_loss":
		dst.Burst = src.Burst
	case "duplicate":
		dst.Duplicate = src.Duplicate
	case "reorder":
		dst.Reorder = src.Reorder
	case "reorder_delay":
		dst.ReorderDelay = src.ReorderDelay
	case "corrupt":
		dst.Corrupt = src.Corrupt
	case "mtu":
		dst.MTU = src.MTU
	case "aqm":
		dst.AQM = src.AQM
	}
	return dst
}

func (l *loader) linksNode(sc *Scenario, n ast.Node) {
	items, _ := l.list(n, "links")
	for i, it := range items {
		path := fmt.Sprintf("links[%d]", i)
		lk := &Link{Pos: l.pos(it)}
		var dirs []struct {
			k string
			v ast.Node
		}
		hasEnds, swapped := false, false
		var fwNode, natNode ast.Node
		l.fields(it, path, linkKeys, func(k string, v ast.Node, _ *ast.MappingValueNode) {
			p := join(path, k)
			switch k {
			case "firewall":
				fwNode = v
			case "nat":
				natNode = v
			case "ends":
				hasEnds = true
				ends, _ := l.list(v, p)
				if len(ends) != 2 {
					l.errf(v, p, "a link has two ends: ends: [client, server]")
					return
				}
				for j, e := range ends {
					name := l.str(e, p)
					if !isHost(name, l.hosts) && sc.switchNamed(name) == nil {
						known := l.hosts
						for _, sw := range sc.Switches {
							known = append(known[:len(known):len(known)], sw.Name)
						}
						l.errf(e, p, "unknown host %q%s", name, diag.DidYouMean(name, known))
					}
					lk.Ends[j] = name
				}
				switch a, b := sc.switchNamed(lk.Ends[0]), sc.switchNamed(lk.Ends[1]); {
				case a != nil && b != nil && a != b:
					lk.Trunk = true
					if via := sc.switchPath(a.Name, b.Name); via != "" {
						l.errf(v, p, "%s and %s are already joined (%s); a loop of switches floods broadcasts forever (there is no spanning tree): leave this link out", a.Name, b.Name, via)
					}
				case a != nil && b != nil:
				case a != nil:
					swapped = true
					lk.Ends[0], lk.Ends[1] = lk.Ends[1], lk.Ends[0]
					lk.Switch = true
				case b != nil:
					lk.Switch = true
				}
				if lk.Ends[0] == lk.Ends[1] {
					l.errf(v, p, "a link joins two different hosts")
				}
			case "forward", "reverse":
				dirs = append(dirs, struct {
					k string
					v ast.Node
				}{k, v})
			default:
				l.impairField(k, v, p, &lk.Forward, &lk.Reverse)
			}
		})
		for _, d := range dirs {
			t := &lk.Forward
			if (d.k == "reverse") != swapped {
				t = &lk.Reverse
			}
			p := join(path, d.k)
			l.impairNode(d.v, p, t)
		}
		if !hasEnds {
			l.errf(it, path, "a link needs its ends: ends: [client, server]")
			continue
		}
		if lk.Trunk && (fwNode != nil || natNode != nil) {
			l.errf(it, path, "a NAT or firewall sits on a link with a host at one end; %s joins two switches", lk.Name())
			fwNode, natNode = nil, nil
		}
		if fwNode != nil {
			fw := &FirewallSpec{Inside: lk.Ends[0]}
			p := join(path, "firewall")
			l.fields(fwNode, p, []string{"inside", "tcp_idle", "udp_idle"}, func(k string, v ast.Node, _ *ast.MappingValueNode) {
				switch k {
				case "inside":
					fw.Inside = l.str(v, join(p, k))
					if fw.Inside != lk.Ends[0] && fw.Inside != lk.Ends[1] {
						l.errf(v, join(p, k), "inside is one of the link's ends, %s or %s%s", lk.Ends[0], lk.Ends[1], diag.DidYouMean(fw.Inside, lk.Ends[:]))
					}
				default:
					l.boxParam(&fw.BoxParams, k, v, join(p, k), "")
				}
			})
			lk.Firewall = fw
		}
		if natNode != nil {
			l.linkNAT(lk, natNode, join(path, "nat"), fwNode != nil)
		}
		if !l.linkIfaces(sc, lk, it, path) {
			continue
		}
		for _, other := range sc.Links {
			for i, e := range lk.Ends {
				for j, oe := range other.Ends {
					if i == 1 && lk.Switch || j == 1 && other.Switch || lk.Trunk || other.Trunk {
						continue // a switch has a port per link
					}
					if e == oe && lk.Ifaces[i] == other.Ifaces[j] {
						l.errf(it, path, "%s's interface %s is already on link %s; give the host another interface (addrs: [ADDR1, ADDR2]) for another link, or join both to a switch", e, sc.hostByName[e].Ifaces[lk.Ifaces[i]], other.Name())
					}
				}
			}
		}
		sc.Links = append(sc.Links, lk)
	}
}

// linkNAT reads a link's nat: {inside: HOST, public: ADDR, ports: A-B,
// tcp_idle: DUR, udp_idle: DUR}.
func (l *loader) linkNAT(lk *Link, n ast.Node, p string, hasFirewall bool) {
	nat := &NATSpec{Inside: lk.Ends[0]}
	if hasFirewall {
		l.errf(n, p, "a link holds one middlebox: put the firewall and the NAT on different links")
	}
	l.fields(n, p, []string{"inside", "public", "ports", "tcp_idle", "udp_idle", "unmatched"}, func(k string, v ast.Node, _ *ast.MappingValueNode) {
		kp := join(p, k)
		switch k {
		case "inside":
			nat.Inside = l.str(v, kp)
			if nat.Inside != lk.Ends[0] && nat.Inside != lk.Ends[1] {
				l.errf(v, kp, "inside is one of the link's ends, %s or %s%s", lk.Ends[0], lk.Ends[1], diag.DidYouMean(nat.Inside, lk.Ends[:]))
			}
		default:
			l.boxParam(&nat.BoxParams, k, v, kp, "the inside end's address on this link")
		}
	})
	lk.NAT = nat
}

// boxParam reads one of a middlebox's settings, the same on a router and
// on a link: public: ADDR, ports: MIN-MAX, tcp_idle: DUR, udp_idle: DUR.
// publicDefault says what public defaults to where the box is.
func (l *loader) boxParam(b *BoxParams, k string, v ast.Node, kp, publicDefault string) {
	switch k {
	case "public":
		a, err := netip.ParseAddr(l.str(v, kp))
		if err != nil || !a.Is4() {
			l.errf(v, kp, "public is an IPv4 address, e.g. 203.0.113.1 (the default: %s)", publicDefault)
			return
		}
		b.Public = a
	case "ports":
		if x, y, ok := l.portRange(v, kp, "ports", "e.g. 30000-39999"); ok {
			b.PortMin, b.PortMax = x, y
		}
	case "unmatched":
		switch l.str(v, kp) {
		case "local":
		case "drop":
			b.Drop = true
		default:
			l.errf(v, kp, "unmatched is local (the default: packets from outside with no mapping reach the router's own stack, which answers TCP with a RST and UDP with port unreachable, as Linux with only a MASQUERADE rule) or drop (they are dropped, as by a firewall on the outside interface)")
		}
	case "tcp_idle":
		b.TCPIdle = l.duration(v, kp)
	case "udp_idle":
		b.UDPIdle = l.duration(v, kp)
	}
}

// portRange reads a port range MIN-MAX, 1 ≤ MIN ≤ MAX ≤ 65535, for the
// key named key; hint follows the rule in the error.
func (l *loader) portRange(v ast.Node, path, key, hint string) (lo, hi uint16, ok bool) {
	a, b, cut := strings.Cut(l.str(v, path), "-")
	x, err1 := strconv.ParseUint(a, 10, 16)
	y, err2 := strconv.ParseUint(b, 10, 16)
	if !cut || err1 != nil || err2 != nil || x == 0 || y < x {
		l.errf(v, path, "%s is a range MIN-MAX with 1 ≤ MIN ≤ MAX ≤ 65535, %s", key, hint)
		return 0, 0, false
	}
	return uint16(x), uint16(y), true
}

// linkIfaces picks the interface of each end that is on the link: the
// pair on one subnet.
func (l *loader) linkIfaces(sc *Scenario, lk *Link, it ast.Node, path string) bool {
	a, b := sc.hostByName[lk.Ends[0]], sc.hostByName[lk.Ends[1]]
	if lk.Trunk {
		return true
	}
	if lk.Switch {
		// The host's first interface on no other link yet.
		if a == nil || len(a.Ifaces) == 0 {
			return false
		}
		for i := range a.Ifaces {
			used := false
			for _, other := range sc.Links {
				for j, e := range other.Ends {
					if e == a.Name && other.Ifaces[j] == i && !(j == 1 && other.Switch) {
						used = true
					}
				}
			}
			if !used {
				lk.Ifaces = [2]int{i, 0}
				return true
			}
		}
		l.errf(it, path, "every interface of %s (%s) is on a link already; give it another address (addrs: [ADDR1, ADDR2]) for %s", a.Name, joinPrefixes(a.Ifaces), lk.Ends[1])
		return false
	}
	if a == nil || b == nil || len(a.Ifaces) == 0 || len(b.Ifaces) == 0 {
		return false
	}
	for i, pa := range a.Ifaces {
		for j, pb := range b.Ifaces {
			if pa.Masked() == pb.Masked() {
				lk.Ifaces = [2]int{i, j}
				return true
			}
		}
	}
	l.errf(it, path, "%s (%s) and %s (%s) share no subnet; give the ends addresses on one subnet, e.g. %s and %s",
		a.Name, joinPrefixes(a.Ifaces), b.Name, joinPrefixes(b.Ifaces), a.Ifaces[0], sameSubnet(a.Ifaces[0]))
	return false
}

func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// sameSubnet suggests another address on p's subnet.
func sameSubnet(p netip.Prefix) netip.Prefix {
	a := p.Addr().Next()
	if !p.Contains(a) {
		a = p.Masked().Addr().Next()
	}
	return netip.PrefixFrom(a, p.Bits())
}

// LinksOf returns the links with host at one end.
func (s *Scenario) LinksOf(host string) []*Link {
	var out []*Link
	for _, lk := range s.Links {
		if lk.Ends[0] == host || lk.Ends[1] == host {
			out = append(out, lk)
		}
	}
	return out
}

func otherHost(sc *Scenario, not string) string {
	for _, h := range sc.Hosts {
		if h.Name != not {
			return h.Name
		}
	}
	return "other"
}

// linkBetween returns the link joining hosts a and b, or nil.
func (s *Scenario) linkBetween(a, b string) *Link {
	for _, lk := range s.Links {
		if lk.Ends == [2]string{a, b} || lk.Ends == [2]string{b, a} {
			return lk
		}
	}
	return nil
}

var eventKeys = []string{"at", "link", "state", "set", "forward", "reverse", "crash", "restart", "inject", "flood", "count", "every", "spoof"}

func (l *loader) eventsNode(sc *Scenario, n ast.Node) {
	items, _ := l.list(n, "events")
	for i, it := range items {
		path := fmt.Sprintf("events[%d]", i)
		ev := &TimedEvent{Pos: l.pos(it)}
		hasAt := false
		l.fields(it, path, eventKeys, func(k string, v ast.Node, _ *ast.MappingValueNode) {
			p := join(path, k)
			switch k {
			case "at":
				hasAt = true
				ev.At = l.duration(v, p)
			case "link":
				s := l.str(v, p)
				var names []string
				for _, lk := range sc.Links {
					names = append(names, lk.Name())
					if lk.Name() == s || lk.Ends[1]+"-"+lk.Ends[0] == s {
						ev.Link = lk.Name()
					}
				}
				if ev.Link == "" {
					l.errf(v, p, "unknown link %q%s", s, diag.DidYouMean(s, names))
				}
			case "inject":
				s := l.str(v, p)
				pat, err := parseInject(s, l.hosts)
				if err != nil {
					l.errf(v, p, "%v", err)
					return
				}
				ev.Inject = pat
			case "flood":
				s := l.str(v, p)
				pat, err := parseFlood(s, l.hosts)
				if err != nil {
					l.errf(v, p, "%v", err)
					return
				}
				if ev.Flood == nil {
					ev.Flood = &Flood{}
				}
				ev.Flood.Pattern = pat
			case "count", "every", "spoof":
				if ev.Flood == nil {
					ev.Flood = &Flood{}
				}
				switch k {
				case "count":
					ev.Flood.Count = int(l.integer(v, p, 1, maxFloodCount))
				case "every":
					ev.Flood.Every = l.duration(v, p)
					if ev.Flood.Every <= 0 {
						l.errf(v, p, "every is the gap between two flood packets: more than 0, e.g. every: 1ms")
					}
				case "spoof":
					s := l.str(v, p)
					pf, err := netip.ParsePrefix(s)
					if err != nil || pf.Addr().Is4In6() || pf.Addr().Zone() != "" {
						l.errf(v, p, "spoof is the prefix the sources are drawn from, IPv4 or IPv6 (which floods over IPv6), e.g. spoof: 198.18.0.0/15 or spoof: 2001:2::/48, not %q", s)
						return
					}
					ev.Flood.Spoof = pf.Masked()
				}
			case "crash":
				s := l.str(v, p)
				if !isHost(s, l.hosts) {
					l.errf(v, p, "unknown host %q%s", s, diag.DidYouMean(s, l.hosts))
				}
				ev.Crash = s
			case "restart":
				s := l.str(v, p)
				if !isHost(s, l.hosts) {
					l.errf(v, p, "unknown host %q%s", s, diag.DidYouMean(s, l.hosts))
				}
				ev.Restart = s
			case "state":
				s := l.str(v, p)
				up := s == "up"
				if s != "up" && s != "down" {
					l.errf(v, p, "state is up or down, not %q", s)
				}
				ev.Up = &up
			case "set", "forward", "reverse":
				if ev.Set != nil {
					l.errf(v, p, "use one of set, forward, reverse per event")
					return
				}
				ev.Set = &Impair{}
				ev.Dir = map[string]int{"set": 0, "forward": 1, "reverse": 2}[k]
				l.fields(v, p, impairKeys, func(k string, v ast.Node, _ *ast.MappingValueNode) {
					l.impairField(k, v, join(p, k), ev.Set)
					ev.SetKeys = append(ev.SetKeys, k)
				})
			}
		})
		if !hasAt {
			l.errf(it, path, "an event needs a time: at: 5s")
		}
		switch {
		case ev.Flood != nil:
			f := ev.Flood
			if f.Pattern == nil || f.Count == 0 || ev.Up != nil || ev.Set != nil || ev.Link != "" || ev.Crash != "" || ev.Restart != "" || ev.Inject != nil {
				l.errf(it, path, "a flood event has at, flood, count and optionally every (default 1ms) and spoof (default 198.18.0.0/15; an IPv6 prefix such as 2001:2::/48 floods over IPv6): {at: 1s, flood: \"attacker > server:80 [S]\", count: 2000, every: 1ms}")
			}
			if f.Every == 0 {
				f.Every = time.Millisecond
			}
		case ev.Inject != nil:
			if ev.Up != nil || ev.Set != nil || ev.Link != "" || ev.Crash != "" || ev.Restart != "" {
				l.errf(it, path, "an inject event has only at and inject: {at: 2s, inject: \"client > server:80 [R] seq 100\"}")
			}
		case ev.Crash != "" || ev.Restart != "":
			if ev.Up != nil || ev.Set != nil || ev.Link != "" || ev.Crash != "" && ev.Restart != "" {
				l.errf(it, path, "a crash or restart event names only the host: {at: 5s, crash: server}, {at: 9s, restart: server}")
			}
		case ev.Link == "" && len(sc.Links) > 0 && !hasKey(l.unwrap(it, path), "link"):
			l.errf(it, path, "an event needs a link (link: %s) or a host to crash or restart (crash: HOST, restart: HOST)", sc.Links[0].Name())
		case ev.Up == nil && ev.Set == nil && ev.Link != "":
			l.errf(it, path, "an event needs a change: state: down|up, or set: {loss: 5%%}")
		}
		sc.Events = append(sc.Events, ev)
	}
}

func hasKey(n ast.Node, k string) bool {
	var entries []*ast.MappingValueNode
	switch v := n.(type) {
	case *ast.MappingNode:
		entries = v.Values
	case *ast.MappingValueNode:
		entries = []*ast.MappingValueNode{v}
	}
	for _, mv := range entries {
		if keyString(mv) == k {
			return true
		}
	}
	return false
}

// program parses a program scalar, mapping positions inside it to the file.
func (l *loader) program(n ast.Node, path string) *lang.Program {
	if lit, ok := l.unwrap(n, path).(*ast.LiteralNode); ok && strings.HasPrefix(lit.Start.Value, ">") {
		l.errf(n, path, "a folded block (>) joins the lines of a program; write it as a literal block (|)")
		return nil
	}
	s, ok := l.scalar(n, path)
	if !ok {
		return nil
	}
	prog, err := lang.ParseAt(s, path, l.hosts, l.scalarPos(n, s))
	if err != nil {
		l.errs = append(l.errs, err.(ErrorList)...)
		return nil
	}
	return prog
}

// assigned lists the variables a program assigns, loops included.
func assigned(body []*lang.Stmt, out []string) []string {
	for _, st := range body {
		if st.Var != "" {
			if !slices.Contains(out, st.Var) {
				out = append(out, st.Var)
			}
		}
		out = assigned(st.Body, out)
		out = assigned(st.Else, out)
		if st.Cond != nil && st.Cond.Call != nil {
			out = assigned([]*lang.Stmt{st.Cond.Call}, out)
		}
	}
	return out
}

func assigns(body []*lang.Stmt, v string) bool {
	return slices.Contains(assigned(body, nil), v)
}

// scalarPos maps offsets within a scalar's value to file positions. For
// a block scalar (| or >) the content starts on the line after the
// indicator, indented; for an inline scalar it starts at the token (after
// the quote, if quoted).
func (l *loader) scalarPos(n ast.Node, val string) lang.PosMapper {
	n = l.unwrap(n, "")
	base := l.pos(n)
	lineCol := lang.TextPos(l.file, val)
	if lit, ok := n.(*ast.LiteralNode); ok {
		startLine := lit.Start.Position.Line // the | line
		indent := 0
		for i := startLine; i < len(l.lines); i++ { // l.lines[i] is file line i+1
			t := strings.TrimLeft(l.lines[i], " ")
			if strings.TrimSpace(t) != "" {
				indent = len(l.lines[i]) - len(t)
				break
			}
		}
		return func(off int) Pos {
			p := lineCol(off)
			return Pos{File: l.file, Line: startLine + p.Line, Col: indent + p.Col}
		}
	}
	quoted := 0
	if tk := n.GetToken(); tk != nil && (tk.Type == ytoken.DoubleQuoteType || tk.Type == ytoken.SingleQuoteType) {
		quoted = 1
	}
	return func(off int) Pos {
		p := lineCol(off)
		if p.Line == 1 {
			return Pos{File: l.file, Line: base.Line, Col: base.Col + quoted + p.Col - 1}
		}
		return Pos{File: l.file, Line: base.Line + p.Line - 1, Col: p.Col}
	}
}

// parseFault reads "drop 2nd client > server [P.]", "delay 1st server >
// client [S.] by 3s", "duplicate 3rd client > server [.]", "corrupt 1st
// client > server [P.] at 60", "reorder 3rd client > server [.] after 2".
func parseFault(s string, hosts []string) (*Fault, error) {
	f := &Fault{Text: strings.TrimSpace(s), Offset: -1}
	w := strings.Fields(s)
	const usage = `write a fault as ACTION NTH SRC > DST [flags] …, e.g. "drop 2nd client > server [P.]", "delay 1st server > client [S.] by 3s", "corrupt 1st client > server [P.] at 60", "reorder 3rd client > server [.] after 2"`
	if len(w) < 5 {
		return nil, fmt.Errorf("%s", usage)
	}
	actions := []string{"drop", "delay", "duplicate", "corrupt", "reorder"}
	switch w[0] {
	case "drop":
		f.Action = FaultDrop
	case "delay":
		f.Action = FaultDelay
	case "duplicate":
		f.Action = FaultDuplicate
	case "corrupt":
		f.Action = FaultCorrupt
	case "reorder":
		f.Action = FaultReorder
	default:
		return nil, fmt.Errorf("unknown fault %q%s", w[0], diag.DidYouMean(w[0], actions))
	}
	nth := strings.TrimRight(w[1], "stndrh")
	n, err := strconv.Atoi(nth)
	if err != nil || n < 1 {
		return nil, fmt.Errorf("%q is not an ordinal like 1st, 2nd, 3rd; %s", w[1], usage)
	}
	f.N = n
	rest := w[2:]
	if len(rest) >= 2 && rest[len(rest)-2] == "on" {
		f.Link, rest = rest[len(rest)-1], rest[:len(rest)-2]
	}
	switch f.Action {
	case FaultDelay:
		if len(rest) < 2 || rest[len(rest)-2] != "by" {
			return nil, fmt.Errorf("delay needs a time at the end: delay 1st server > client [S.] by 3s")
		}
		d, err := lang.ParseDuration(rest[len(rest)-1])
		if err != nil {
			return nil, err
		}
		f.Delay, rest = d, rest[:len(rest)-2]
	case FaultCorrupt:
		if len(rest) >= 2 && rest[len(rest)-2] == "at" {
			o, err := strconv.Atoi(rest[len(rest)-1])
			if err != nil || o < 0 {
				return nil, fmt.Errorf("corrupt … at N: %q is not a byte offset", rest[len(rest)-1])
			}
			f.Offset, rest = o, rest[:len(rest)-2]
		}
	case FaultReorder:
		if len(rest) < 2 || rest[len(rest)-2] != "after" {
			return nil, fmt.Errorf("reorder needs how many later frames overtake it: reorder 3rd client > server [.] after 2")
		}
		m, err := strconv.Atoi(rest[len(rest)-1])
		if err != nil || m < 1 {
			return nil, fmt.Errorf("reorder … after M: %q is not a count of 1 or more frames", rest[len(rest)-1])
		}
		f.After, rest = m, rest[:len(rest)-2]
	}
	p, err := pattern.Parse(strings.Join(rest, " "), hosts)
	if err != nil {
		return nil, err
	}
	if p.Src.Host == "" || p.Dst.Host == "" {
		return nil, fmt.Errorf("a fault's pattern names both hosts: SRC > DST; %s", usage)
	}
	f.Pattern = p
	return f, nil
}

func isHost(s string, hosts []string) bool { return slices.Contains(hosts, s) }

// linkNamed returns the link called name, or nil.
func (s *Scenario) linkNamed(name string) *Link {
	for _, lk := range s.Links {
		if lk.Name() == name {
			return lk
		}
	}
	return nil
}

// gatedLink reports whether an end of lk is a NAT's or firewall's
// outside interface.
func (s *Scenario) gatedLink(lk *Link) bool {
	for i, e := range lk.Ends {
		if h := s.Host(e); h != nil && h.Box != nil && h.Box.Outside == lk.Ifaces[i] && !(i == 1 && lk.Switch) {
			return true
		}
	}
	return false
}
