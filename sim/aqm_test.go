package sim

import (
	"encoding/binary"
	"testing"
	"time"

	"stacklab/stack"
	"stacklab/stack/wire"
)

// ipFrame is an Ethernet frame with an IPv4 header (checksum set) whose
// ECN field is ecn, n bytes in all.
func ipFrame(id uint64, n int, ecn uint8) stack.Packet {
	b := make([]byte, n)
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := wire.IPv4(b[14:])
	ip.Encode(&wire.IPv4Fields{TOS: ecn, TotalLen: uint16(n - 14), ID: uint16(id), TTL: 64, Protocol: wire.ProtoUDP})
	ip.SetChecksum()
	return stack.Packet{ID: id, Data: b}
}

// TestAQM offers a queue twice what its link carries, for a second,
// under CoDel and RED: with ECN, ECN-capable packets are marked CE
// (checksum still valid) and none dropped by the AQM; Not-ECT packets
// are dropped instead. (The offered load does not slow down, so the
// queue still fills and tail-drops; the ecn-codel scenario shows a TCP
// sender answering the marks.)
func TestAQM(t *testing.T) {
	for _, tt := range []struct {
		name   string
		aqm    AQM
		ecn    uint8
		marked bool
	}{
		{"codel ecn", AQM{Kind: "codel", ECN: true}, 2, true},
		{"codel not-ect", AQM{Kind: "codel", ECN: true}, 0, false},
		{"codel no ecn", AQM{Kind: "codel"}, 2, false},
		{"red ecn", AQM{Kind: "red", ECN: true}, 1, true},
		{"red not-ect", AQM{Kind: "red", ECN: true}, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, p, s := newTestPipe(1, Impairments{Rate: 10e6, AQM: tt.aqm})
			// 1000-byte frames every 400 µs: 20 Mbit/s into 10.
			for i := range 2500 {
				c.AfterFunc(time.Duration(i)*400*time.Microsecond, func() { p.Send(ipFrame(uint64(i+1), 1000, tt.ecn)) })
			}
			c.Run()
			ctr := p.Counters()
			checkInvariant(t, ctr)
			ce := 0
			var maxDelay time.Duration
			for _, a := range s.got {
				ip := wire.IPv4(a.data[14:])
				if !ip.IsChecksumValid() {
					t.Fatalf("frame %d: bad IP checksum", a.id)
				}
				if ip.TOS()&3 == 3 {
					ce++
				}
				sent := time.Duration(a.id-1) * 400 * time.Microsecond
				maxDelay = max(maxDelay, a.at-sent)
			}
			if tt.marked {
				if ctr.MarkedCE == 0 || uint64(ce) != ctr.MarkedCE || ctr.DropAQM != 0 {
					t.Fatalf("marked %d (%d seen CE), AQM drops %d: want marks and no drops", ctr.MarkedCE, ce, ctr.DropAQM)
				}
			} else if ctr.MarkedCE != 0 || ctr.DropAQM == 0 {
				t.Fatalf("marked %d, AQM drops %d: want drops and no marks", ctr.MarkedCE, ctr.DropAQM)
			}
			t.Logf("marked %d, AQM drops %d, tail drops %d, largest delay %v", ctr.MarkedCE, ctr.DropAQM, ctr.DropQueue, maxDelay)
		})
	}
}

// TestAQMValidate: a bad AQM is refused with a message naming it.
func TestAQMValidate(t *testing.T) {
	for _, a := range []AQM{{Kind: "pie"}, {Kind: "red", MinTh: 10, MaxTh: 5}, {Kind: "red", MaxP: 2}} {
		if err := (Impairments{AQM: a}).Validate(); err == nil {
			t.Errorf("%+v accepted", a)
		}
	}
}
