package sack

import (
	"reflect"
	"testing"

	"stacklab/stack/tcp/seqnum"
)

// RFC 2018 §5, case 3: eight 500-byte segments from 5000, the 2nd, 4th,
// 6th and 8th lost; then the 4th and the 2nd arrive late.
func TestRecorderRFC2018Example(t *testing.T) {
	for _, base := range []seqnum.Value{0, 0xffffe000, 0x7ffff000} {
		v := func(n uint32) seqnum.Value { return base + seqnum.Value(n) }
		var r Recorder
		rcvNxt := v(5000)
		steps := []struct {
			seg  uint32 // start of the received 500-byte segment
			ack  uint32
			want [][2]uint32
		}{
			{5000, 5500, nil},
			{6000, 5500, [][2]uint32{{6000, 6500}}},
			{7000, 5500, [][2]uint32{{7000, 7500}, {6000, 6500}}},
			{8000, 5500, [][2]uint32{{8000, 8500}, {7000, 7500}, {6000, 6500}}},
			{6500, 5500, [][2]uint32{{6000, 7500}, {8000, 8500}}},
			{5500, 7500, [][2]uint32{{8000, 8500}}},
		}
		for _, st := range steps {
			s, e := v(st.seg), v(st.seg+500)
			if s == rcvNxt {
				// In order: RCV.NXT moves over it and any queued data.
				rcvNxt = e
				for _, b := range r.AppendBlocks(nil, RecorderBlocks) {
					if b.Start == rcvNxt {
						rcvNxt = b.End
					}
				}
				r.Advance(rcvNxt)
			} else {
				r.Received(s, e, rcvNxt)
			}
			if rcvNxt != v(st.ack) {
				t.Fatalf("base %#x seg %d: RCV.NXT %d, want %d", base, st.seg, rcvNxt-base, st.ack)
			}
			var arr [MaxOptionBlocks]Block
			got := r.AppendBlocks(arr[:0], 3)
			var want []Block
			for _, w := range st.want {
				want = append(want, Block{v(w[0]), v(w[1])})
			}
			if len(got) == 0 && len(want) == 0 {
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("base %#x after seg %d: blocks %v, want %v", base, st.seg, rel(got, base), rel(want, base))
			}
		}
	}
}

func rel(bs []Block, base seqnum.Value) [][2]uint32 {
	out := make([][2]uint32, len(bs))
	for i, b := range bs {
		out[i] = [2]uint32{uint32(b.Start - base), uint32(b.End - base)}
	}
	return out
}

func TestRecorderCapacityAndLimits(t *testing.T) {
	var r Recorder
	for i := 0; i < RecorderBlocks+3; i++ {
		s := seqnum.Value(1000 + 200*i)
		r.Received(s, s+100, 0)
	}
	if r.Len() != RecorderBlocks {
		t.Fatalf("Len %d, want %d", r.Len(), RecorderBlocks)
	}
	got := r.AppendBlocks(nil, 4)
	last := seqnum.Value(1000 + 200*(RecorderBlocks+2))
	want := []Block{{last, last + 100}, {last - 200, last - 100}, {last - 400, last - 300}, {last - 600, last - 500}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("blocks %v, want %v", got, want)
	}
	// Data below RCV.NXT is clipped; empty ranges are ignored.
	r.Reset()
	r.Received(50, 150, 100)
	r.Received(10, 90, 100)
	r.Received(300, 300, 100)
	if got := r.AppendBlocks(nil, 4); !reflect.DeepEqual(got, []Block{{100, 150}}) {
		t.Errorf("clipped blocks %v", got)
	}
	// Advance trims a block it reaches into and drops covered ones.
	r.Received(200, 300, 100)
	r.Advance(220)
	if got := r.AppendBlocks(nil, 4); !reflect.DeepEqual(got, []Block{{220, 300}}) {
		t.Errorf("after Advance: %v", got)
	}
	// Adjacent ranges merge.
	r.Received(300, 400, 220)
	if got := r.AppendBlocks(nil, 4); !reflect.DeepEqual(got, []Block{{220, 400}}) {
		t.Errorf("adjacent merge: %v", got)
	}
	if n := testing.AllocsPerRun(100, func() {
		var arr [4]Block
		r.Received(500, 600, 220)
		r.Advance(220)
		_ = r.AppendBlocks(arr[:0], 3)
	}); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
