package scenario

import (
	"strings"
	"testing"
)

const lanYAML = `name: lan
hosts:
  a: {addr: 10.0.0.1/24}
  b: {addrs: [10.0.0.2/24, 10.0.1.2/24]}
  c: {addr: 10.0.1.3/24, gateway: 10.0.1.1}
routers:
  r: {addrs: [10.0.0.254/24, 10.0.1.1/24], nat: {outside: 10.0.1.1, tcp_idle: 30s}}
switches:
  sw: {max_macs: 8}
hubs:
  h: {}
links:
  - {ends: [a, sw]}
  - {ends: [sw, b], forward: {delay: 2ms}}
  - {ends: [r, sw]}
  - {ends: [b, h]}
  - {ends: [c, h]}
`

func TestLoadSwitches(t *testing.T) {
	sc, err := Load("lan.yaml", []byte(lanYAML))
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Switches) != 2 || sc.Switches[0].MaxMACs != 8 || sc.Switches[0].Hub || !sc.Switches[1].Hub {
		t.Fatalf("switches %+v", sc.Switches)
	}
	// ends: [sw, b] is turned round: the host first, forward now b → sw,
	// so the delay that went sw → b is the reverse one.
	lk := sc.Links[1]
	if lk.Ends != [2]string{"b", "sw"} || !lk.Switch || lk.Reverse.Delay == 0 || lk.Forward.Delay != 0 {
		t.Errorf("link %+v", lk)
	}
	// b's second interface goes to the hub.
	if sc.Links[3].Ifaces[0] != 1 {
		t.Errorf("b joins the hub on interface %d, want 1", sc.Links[3].Ifaces[0])
	}
	if b := sc.Host("r").Box; b == nil || b.Kind != "nat" || b.Outside != 1 || b.Public.String() != "10.0.1.1" {
		t.Errorf("nat %+v", b)
	}
}

func TestSwitchErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"switch loop", `hosts: {a: {addr: 10.0.0.1/24}}
switches: {s1: {}, s2: {}, s3: {}}
links: [{ends: [s1, s2]}, {ends: [a, s1]}, {ends: [s2, s3]}, {ends: [s3, s1]}]`, "3:69: links[3].ends: s3 and s1 are already joined (s3—s2—s1); a loop of switches floods broadcasts forever"},
		{"nat between switches", `hosts: {a: {addr: 10.0.0.1/24}}
switches: {s1: {}, s2: {}}
links: [{ends: [s1, s2], nat: {inside: s1}}, {ends: [a, s1]}]`, "a NAT or firewall sits on a link with a host at one end; s1-s2 joins two switches"},
		{"capture unknown port", `hosts: {a: {addr: 10.0.0.1/24}, b: {addr: 10.0.0.2/24}}
switches: {sw: {capture: [a, c]}}
links: [{ends: [a, sw]}, {ends: [b, sw]}]`, `2:30: switches.sw.capture[1]: sw has no port toward "c"`},
		{"capture on, unknown port", `hosts: {a: {addr: 10.0.0.1/24}, b: {addr: 10.0.0.2/24}}
switches: {sw: {capture: [a]}}
links: [{ends: [a, sw]}, {ends: [b, sw]}]
expect: ["on sw:b: a > b"]`, `unknown host "sw"`},
		{"nat unmatched", `hosts: {a: {addr: 10.0.0.1/24}}
routers: {r: {addrs: [10.0.0.2/24], nat: {outside: 10.0.0.2, unmatched: rst}}}
links: [{ends: [a, r]}]`, "unmatched is local (the default"},
		{"reorder between switches", `hosts: {a: {addr: 10.0.0.1/24}, b: {addr: 10.0.0.2/24}}
switches: {s1: {}, s2: {}}
links: [{ends: [a, s1]}, {ends: [b, s2]}, {ends: [s1, s2]}]
faults: ["reorder 1st a > b [S] after 1 on s1-s2"]`, "reorder faults act on links between two plain hosts"},
		{"unknown end", `hosts: {a: {addr: 10.0.0.1/24}}
switches: {sw: {}}
links: [{ends: [a, sx]}]`, `3:20: links[0].ends: unknown host "sx"; did you mean "sw"?`},
		{"no free interface", `hosts: {a: {addr: 10.0.0.1/24}, b: {addr: 10.0.0.2/24}}
switches: {sw: {}}
links: [{ends: [a, b]}, {ends: [a, sw]}]`, "every interface of a (10.0.0.1/24) is on a link already"},
		{"switch without ports", `hosts: {a: {addr: 10.0.0.1/24}, b: {addr: 10.0.0.2/24}}
switches: {sw: {}}
links: [{ends: [a, b]}]`, "2:12: switches.sw: sw has no port"},
		{"name clash", `hosts: {a: {addr: 10.0.0.1/24}}
switches: {a: {}}`, "already the name of a host"},
		{"bad key", `hosts: {a: {addr: 10.0.0.1/24}}
switches: {sw: {max_mac: 3}}
links: [{ends: [a, sw]}]`, `did you mean "max_macs"?`},
		{"hub keys", `hosts: {a: {addr: 10.0.0.1/24}}
hubs: {h: {aging: 3s}}
links: [{ends: [a, h]}]`, `hubs.h`},
		{"nat outside", `hosts: {a: {addr: 10.0.0.1/24}}
routers: {r: {addrs: [10.0.0.2/24], nat: {outside: 10.9.9.9}}}
links: [{ends: [a, r]}]`, "10.9.9.9 is not one of r's addresses"},
		{"nat without outside", `hosts: {a: {addr: 10.0.0.1/24}}
routers: {r: {addrs: [10.0.0.2/24], nat: {tcp_idle: 3s}}}
links: [{ends: [a, r]}]`, "a nat needs its outside interface: outside: 10.0.0.2"},
		{"addr and addrs", `hosts: {a: {addr: 10.0.0.1/24, addrs: [10.0.0.3/24]}, b: {addr: 10.0.0.2/24}}
links: [{ends: [a, b]}]`, "use one of addr (one interface) and addrs"},
		{"reorder at switch", `hosts: {a: {addr: 10.0.0.1/24}, b: {addr: 10.0.0.2/24}}
switches: {sw: {}}
links: [{ends: [a, sw]}, {ends: [b, sw]}]
faults: ["reorder 1st a > b [S] after 1 on a-sw"]`, "reorder faults act on links between two plain hosts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("t.yaml", []byte(tt.src))
			if err == nil {
				t.Fatal("loaded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error:\n%v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

// TestLoadSwitchTree: links between switches load as trunks, a captured
// port is a vantage point expectations may name.
func TestLoadSwitchTree(t *testing.T) {
	sc, err := Load("t.yaml", []byte(`hosts: {a: {addr: 10.0.0.1/24}, b: {addr: 10.0.0.2/24}}
switches: {s1: {capture: [s2]}, s2: {}}
links: [{ends: [a, s1]}, {ends: [b, s2]}, {ends: [s1, s2], delay: 1ms}]
expect: ["on s1:s2: a > b"]`))
	if err != nil {
		t.Fatal(err)
	}
	if lk := sc.Links[2]; !lk.Trunk || lk.Switch || lk.Ends != [2]string{"s1", "s2"} {
		t.Errorf("link %+v", lk)
	}
	if e := sc.Expect[0]; e.Vantage != "s1:s2" {
		t.Errorf("vantage %q", e.Vantage)
	}
}
