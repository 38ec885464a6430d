package tun_test

import (
	"log"
	"net/netip"

	"stacklab/stack"
	"stacklab/stack/tun"
)

// A stack on a TUN device: the kernel is 10.99.0.1, the stack 10.99.0.2,
// and `curl http://10.99.0.2/` reaches a server listening on the stack.
func Example() {
	dev, err := tun.Open(tun.Config{Name: "stacklab%d", Addr: netip.MustParsePrefix("10.99.0.1/24")})
	if err != nil {
		log.Fatal(err) // e.g. tun.ErrNeedRoot
	}
	defer dev.Close()
	st := stack.New(stack.Options{Name: "stacklab", Clock: stack.RealClock{}})
	nic, err := st.AddNIC(stack.NICConfig{
		Name: "tun0",
		Type: dev.Type(),
		Addr: netip.MustParsePrefix("10.99.0.2/24"),
		MTU:  dev.MTU(),
	}, dev)
	if err != nil {
		log.Fatal(err)
	}
	if err := dev.Start(nic.Deliver); err != nil {
		log.Fatal(err)
	}
	// Serve on st.ListenTCP(netip.MustParseAddrPort("10.99.0.2:80"), 128)…
}
