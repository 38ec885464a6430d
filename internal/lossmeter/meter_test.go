package lossmeter

import (
	"encoding/binary"
	"testing"

	"stacklab/stack"
)

// seg builds an IPv4/TCP frame (with hdr bytes of link header) from
// 10.0.0.1:1000 to 10.0.0.2:80 with n bytes of payload at seq.
func seg(hdr int, seq uint32, n int, flags byte) []byte {
	b := make([]byte, hdr+20+20+n)
	ip := b[hdr:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:4], uint16(40+n))
	ip[6] = 0x40 // DF
	ip[8] = 64
	ip[9] = 6
	copy(ip[12:16], []byte{10, 0, 0, 1})
	copy(ip[16:20], []byte{10, 0, 0, 2})
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp[0:2], 1000)
	binary.BigEndian.PutUint16(tcp[2:4], 80)
	binary.BigEndian.PutUint32(tcp[4:8], seq)
	tcp[12] = 5 << 4
	tcp[13] = flags
	return b
}

// wire is a test pipe: frames given to send wait until the test
// delivers or loses them, by their order of sending.
type wire struct {
	m       *Meter
	send    func(stack.Packet)
	waiting []stack.Packet
	got     []stack.Packet
}

func newWire(hdr int) *wire {
	w := &wire{m: New(hdr)}
	w.send = w.m.Entry(func(p stack.Packet) {
		p.Data = append([]byte(nil), p.Data...)
		w.waiting = append(w.waiting, p)
	})
	return w
}

// deliver hands the i-th frame sent to the receiver (again if it was
// already delivered: a duplicate).
func (w *wire) deliver(i int) {
	w.m.Exit(func(p stack.Packet) { w.got = append(w.got, p) })(w.waiting[i])
}

const ack = 0x10

func TestSpurious(t *testing.T) {
	const mss = 1000
	const isn = 0xffff_f000 // the sequence space wraps within the transfer
	for _, tc := range []struct {
		name string
		run  func(w *wire)
		want Stats
	}{{
		name: "no loss",
		run: func(w *wire) {
			for i := range 3 {
				w.send(stack.Packet{ID: 7, Data: seg(14, isn+uint32(i*mss), mss, ack)})
				w.deliver(i)
			}
		},
		want: Stats{DataSegments: 3},
	}, {
		name: "original lost, retransmission needed",
		run: func(w *wire) {
			w.send(stack.Packet{Data: seg(14, isn, mss, ack)}) // lost
			w.send(stack.Packet{Data: seg(14, isn+mss, mss, ack)})
			w.deliver(1)
			w.send(stack.Packet{Data: seg(14, isn, mss, ack)})
			w.deliver(2)
		},
		want: Stats{DataSegments: 3, Retransmits: 1},
	}, {
		name: "original delivered before the retransmission was sent",
		run: func(w *wire) {
			w.send(stack.Packet{Data: seg(14, isn, mss, ack)})
			w.deliver(0)
			w.send(stack.Packet{Data: seg(14, isn, mss, ack)}) // lost too: still spurious
		},
		want: Stats{DataSegments: 2, Retransmits: 1, Spurious: 1},
	}, {
		name: "original held back, delivered after the retransmission",
		run: func(w *wire) {
			w.send(stack.Packet{Data: seg(14, isn, mss, ack)})
			w.send(stack.Packet{Data: seg(14, isn, mss, ack)})
			w.deliver(1)
			w.deliver(0)
		},
		want: Stats{DataSegments: 2, Retransmits: 1, Spurious: 1},
	}, {
		name: "link duplicate is no retransmission",
		run: func(w *wire) {
			w.send(stack.Packet{Data: seg(14, isn, mss, ack)})
			w.deliver(0)
			w.deliver(0)
		},
		want: Stats{DataSegments: 1},
	}, {
		name: "duplicate of a needed retransmission",
		run: func(w *wire) {
			w.send(stack.Packet{Data: seg(14, isn, mss, ack)}) // lost
			w.send(stack.Packet{Data: seg(14, isn, mss, ack)})
			w.deliver(1)
			w.deliver(1)
		},
		want: Stats{DataSegments: 2, Retransmits: 1},
	}, {
		name: "retransmission across two originals, one lost",
		run: func(w *wire) {
			w.send(stack.Packet{Data: seg(14, isn, mss, ack)})
			w.send(stack.Packet{Data: seg(14, isn+mss, mss, ack)}) // lost
			w.deliver(0)
			w.send(stack.Packet{Data: seg(14, isn+mss/2, mss, ack)})
			w.deliver(2)
			w.send(stack.Packet{Data: seg(14, isn+mss/2, mss/2, ack)}) // its bytes came in #0
		},
		want: Stats{DataSegments: 4, Retransmits: 2, Spurious: 1},
	}, {
		name: "retransmission with new data beyond",
		run: func(w *wire) {
			w.send(stack.Packet{Data: seg(14, isn, mss, ack)})
			w.deliver(0)
			w.send(stack.Packet{Data: seg(14, isn, 2*mss, ack)})
		},
		want: Stats{DataSegments: 2, Retransmits: 1},
	}, {
		name: "SYN and pure ACKs are not data",
		run: func(w *wire) {
			w.send(stack.Packet{Data: seg(14, isn-1, 0, 0x02)})
			w.send(stack.Packet{Data: seg(14, isn, 0, ack)})
			w.send(stack.Packet{Data: seg(14, isn, 0, ack)})
			w.deliver(0)
		},
		want: Stats{},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWire(14)
			tc.run(w)
			if got := w.m.Stats(); got != tc.want {
				t.Errorf("stats %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestExitRestoresID checks the frames come out with the IDs they went
// in with, and that a frame the meter never saw is counted, not
// misread.
func TestExitRestoresID(t *testing.T) {
	w := newWire(0)
	w.send(stack.Packet{ID: 42, Data: seg(0, 1, 10, ack)})
	w.send(stack.Packet{ID: 43, Data: []byte{0x45}}) // not TCP: passes anyway
	w.deliver(0)
	w.deliver(1)
	if w.got[0].ID != 42 || w.got[1].ID != 43 {
		t.Errorf("IDs after the pipe %d, %d; want 42, 43", w.got[0].ID, w.got[1].ID)
	}
	w.m.Exit(func(stack.Packet) {})(stack.Packet{ID: 99999, Data: seg(0, 1, 10, ack)})
	if st := w.m.Stats(); st.Unmatched != 1 || st.DataSegments != 1 {
		t.Errorf("stats %+v, want 1 data segment and 1 unmatched", st)
	}
}

// TestManyHoles fills holes out of order and checks the delivered map
// stays exact: after every segment has arrived once, every later copy
// of any range is spurious.
func TestManyHoles(t *testing.T) {
	w := newWire(0)
	const n, mss = 200, 100
	for i := range n {
		w.send(stack.Packet{Data: seg(0, uint32(i*mss), mss, ack)})
	}
	for i := 0; i < n; i += 3 { // every third arrives
		w.deliver(i)
	}
	for i := n - 1; i >= 0; i-- { // the rest resent backwards and delivered
		if i%3 != 0 {
			w.send(stack.Packet{Data: seg(0, uint32(i*mss), mss, ack)})
			w.deliver(len(w.waiting) - 1)
		}
	}
	before := w.m.Stats()
	if before.Spurious != 0 {
		t.Fatalf("spurious %d before any needless copy", before.Spurious)
	}
	w.send(stack.Packet{Data: seg(0, 50, n*mss-100, ack)})
	st := w.m.Stats()
	if st.Retransmits != before.Retransmits+1 || st.Spurious != 1 {
		t.Errorf("stats %+v after one needless copy of nearly all of it", st)
	}
}
