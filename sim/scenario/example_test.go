package scenario_test

import (
	"fmt"

	"stacklab/sim/scenario"
)

// Load a scenario, run it in virtual time and look at the outcome.
func Example() {
	src := []byte(`name: refused
hosts:
  client: {addr: 10.0.0.1/24}
  server: {addr: 10.0.0.2/24}
links:
  - ends: [client, server]
    delay: 5ms
programs:
  client: |
    s = socket(tcp)
    connect(s, server:81) -> ECONNREFUSED
expect:
  - client > server [S]
  - server > client [R.] ack 1
`)
	sc, err := scenario.Load("refused.yaml", src)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := sc.Run(scenario.RunOptions{}) // no trace, no files
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("passed:", res.Passed())
	for _, c := range res.Conns {
		fmt.Println(c.Proto, c.Flags)
	}
	// Output:
	// passed: true
	// tcp SYN RST
}

// Errors name the file, line, column and field, and suggest a fix.
func ExampleLoad_error() {
	_, err := scenario.Load("typo.yaml", []byte("hosts:\n  client: {addr: 10.0.0.1/24, mtu: 1500, tpc: {}}\n"))
	fmt.Println(err)
	// Output:
	// typo.yaml:2:42: hosts.client: unknown key "tpc"; did you mean "tcp"?
}
