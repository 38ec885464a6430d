package stack_test

import (
	"net/netip"
	"testing"

	"stacklab/stack"
)

// TestUDPBroadcastNoSocket: a broadcast no socket takes is counted as
// udp.IgnoredMulti, not NoPorts, and draws no ICMP port unreachable, as
// Linux's __udp4_lib_mcast_deliver. (Which sockets a broadcast reaches is
// checked against the kernel: udp/broadcast-delivery in the differential
// test.)
func TestUDPBroadcastNoSocket(t *testing.T) {
	s := stack.New(stack.Options{Name: "h"})
	defer s.Destroy()
	u, err := s.Socket(stack.SockDgram)
	must(t, err)
	must(t, s.SetSockopt(u, stack.SoBroadcast, 1))
	_, err = s.SendTo(u, []byte("x"), netip.MustParseAddrPort("127.255.255.255:9"))
	must(t, err)
	for name, want := range map[string]uint64{"udp.IgnoredMulti": 1, "udp.NoPorts": 0, "icmp.OutDestUnreachs": 0} {
		if got, _ := s.Counter(name); got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
}
