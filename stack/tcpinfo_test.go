package stack_test

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"stacklab/stack"
	"stacklab/stack/wire"
)

// dropData drops, once each, a's data segments whose payload starts
// with one of the marks.
func dropData(p *pair, marks ...byte) {
	dropped := map[byte]bool{}
	p.filter = func(from *stack.NIC, data []byte) bool {
		eth := wire.Ethernet(data)
		if from != p.anic || eth.Type() != wire.EtherTypeIPv4 {
			return true
		}
		ip := wire.IPv4(eth.Payload())
		if ip.Protocol() != wire.ProtoTCP {
			return true
		}
		pl := wire.TCP(ip.Payload()).Payload()
		for _, m := range marks {
			if len(pl) > 0 && pl[0] == m && !dropped[m] {
				dropped[m] = true
				return false
			}
		}
		return true
	}
}

// segments returns n segments of 1000 bytes, the i-th filled with 'a'+i.
func segments(n int) []byte {
	b := make([]byte, 0, n*1000)
	for i := range n {
		for range 1000 {
			b = append(b, byte('a'+i))
		}
	}
	return b
}

// One segment lost of ten: fast recovery shows in tcp_info as Linux
// reports it (TCP_CA_Recovery, packets SACKed, lost and retransmitted),
// and when all is acknowledged the counts return to zero and delivered
// counts every packet and the SYN.
func TestLinuxTCPInfoFastRecovery(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	c, s, _ := connected(t, p)
	must(t, p.a.SetSockopt(c, stack.TCPNoDelay, 1))
	in, err := p.a.LinuxTCPInfo(c)
	must(t, err)
	if in.SndCwnd != 10 || in.CAState != 0 || in.Delivered != 1 || in.State != 1 {
		t.Fatalf("after the handshake: %+v", in)
	}
	dropData(p, 'c')
	data := segments(10)
	// 1000-byte writes: ten segments whatever the MSS.
	for i := 0; i < 10; i++ {
		if _, err := p.a.Send(c, data[i*1000:(i+1)*1000]); err != nil {
			t.Fatal(err)
		}
	}
	if in, _ = p.a.LinuxTCPInfo(c); in.Unacked != 10 || in.NotsentBytes != 0 {
		t.Fatalf("ten segments sent: unacked %d notsent %d, want 10, 0", in.Unacked, in.NotsentBytes)
	}
	var sawRecovery bool
	for i := 0; i < 2000; i++ {
		p.clock.RunFor(100 * time.Microsecond)
		in, _ = p.a.LinuxTCPInfo(c)
		if in.CAState == 3 {
			sawRecovery = true
			if in.Sacked < 1 || in.Lost+in.Retrans < 1 {
				t.Fatalf("in recovery: sacked %d lost %d retrans %d", in.Sacked, in.Lost, in.Retrans)
			}
			if in.Retrans > 0 && in.Lost < 1 {
				t.Fatalf("the retransmitted segment is no longer counted lost: %+v", in)
			}
		}
	}
	if !sawRecovery {
		t.Fatal("never in TCP_CA_Recovery")
	}
	buf := make([]byte, 20000)
	got := 0
	for got < len(data) {
		n, err := p.b.Recv(s, buf)
		if err != nil {
			t.Fatalf("after %d bytes: %v", got, err)
		}
		got += n
	}
	p.clock.RunFor(time.Second)
	in, _ = p.a.LinuxTCPInfo(c)
	if in.CAState != 0 || in.Unacked != 0 || in.Sacked != 0 || in.Lost != 0 || in.Retrans != 0 {
		t.Fatalf("all acknowledged: %+v", in)
	}
	if in.TotalRetrans != 1 || in.Delivered != 11 {
		t.Fatalf("total_retrans %d delivered %d; want 1, 11 (ten packets and the SYN)", in.TotalRetrans, in.Delivered)
	}
	if in.SndSsthresh == 0x7fffffff || in.RTT == 0 || in.RTTVar == 0 {
		t.Fatalf("after a loss: ssthresh %d rtt %d rttvar %d", in.SndSsthresh, in.RTT, in.RTTVar)
	}
	if v, ok := in.Field("tcpi_delivered"); !ok || v != 11 {
		t.Fatalf("Field(tcpi_delivered) = %d, %v", v, ok)
	}
	if _, ok := in.Field("tcpi_no_such"); ok {
		t.Fatal("Field knows tcpi_no_such")
	}
}

// A blackhole: the RTO puts the connection in TCP_CA_Loss with every
// packet lost and the backoff counted; once the path heals, TCP_CA_Open.
func TestLinuxTCPInfoLoss(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	c, s, _ := connected(t, p)
	must(t, p.a.SetSockopt(c, stack.TCPNoDelay, 1))
	p.clock.RunFor(time.Second)
	black := true
	p.filter = func(from *stack.NIC, data []byte) bool { return !black || from != p.anic }
	data := segments(4)
	for i := 0; i < 4; i++ {
		p.a.Send(c, data[i*1000:(i+1)*1000])
	}
	p.clock.RunFor(1500 * time.Millisecond)
	in, _ := p.a.LinuxTCPInfo(c)
	if in.CAState != 4 || in.Lost != in.Unacked || in.Unacked != 4 || in.Backoff < 1 || in.Retransmits < 1 {
		t.Fatalf("after an RTO: %+v; want ca_state 4, lost = unacked = 4, backoff and retransmits ≥ 1", in)
	}
	black = false
	p.clock.RunFor(10 * time.Second)
	buf := make([]byte, 8192)
	got := 0
	for got < len(data) {
		n, err := p.b.Recv(s, buf)
		if err != nil {
			t.Fatalf("after %d bytes: %v", got, err)
		}
		got += n
	}
	p.clock.RunFor(time.Second)
	in, _ = p.a.LinuxTCPInfo(c)
	if in.CAState != 0 || in.Lost != 0 || in.Unacked != 0 || in.Retransmits != 0 {
		t.Fatalf("healed: %+v", in)
	}
}

func TestLinuxTCPInfoSocketKinds(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	u, _ := p.a.Socket(stack.SockDgram)
	if _, err := p.a.LinuxTCPInfo(u); !errors.Is(err, syscall.EOPNOTSUPP) {
		t.Fatalf("UDP: %v, want EOPNOTSUPP", err)
	}
	l, _ := p.b.Socket(stack.SockStream)
	must(t, p.b.Bind(l, netip.AddrPortFrom(netip.Addr{}, 80)))
	must(t, p.b.Listen(l, 5))
	c, _ := p.a.Socket(stack.SockStream)
	p.a.SetNonblock(c, true)
	p.a.Connect(c, netip.AddrPortFrom(p.bAddr, 80))
	p.clock.RunFor(time.Second)
	in, err := p.b.LinuxTCPInfo(l)
	must(t, err)
	if in.State != 10 || in.Unacked != 1 || in.Sacked != 5 {
		t.Fatalf("listener: %+v; want state 10, unacked 1 (ready), sacked 5 (backlog)", in)
	}
	if len(stack.LinuxTCPInfoFields()) < 20 {
		t.Fatalf("fields: %v", stack.LinuxTCPInfoFields())
	}
}
