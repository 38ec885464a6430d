package scenario

import (
	"bytes"
	"testing"
)

func TestRunExample(t *testing.T) {
	src := `name: hello
hosts:
  client: {addr: 10.0.0.1/24}
  server: {addr: 10.0.0.2/24}
links:
  - ends: [client, server]
    delay: 10ms
    rate: 100Mbit
programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 8)
    c = accept(l)
    recv(c, 5) == "hello"
    send(c, "world"); close(c)
  client: |
    sleep 1ms
    s = socket(tcp); connect(s, server:80)
    send(s, "hello"); recv(s, 5) == "world"; close(s)
expect:
  - client > server  [S]
  - server > client  [S.] ack 1
  - client > server  [.]
  - no [R]
`
	sc, err := Load("hello.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var trace bytes.Buffer
	res, err := sc.Run(RunOptions{Trace: &trace})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("trace:\n%s", trace.String())
	for _, f := range res.Failures {
		t.Error(f)
	}
}
