package stack

import (
	"bytes"
	"net/netip"
	"testing"
)

// TestDgramQueue checks the datagram queue's order, its byte limit, and
// that a warm queue and pool allocate nothing per datagram.
func TestDgramQueue(t *testing.T) {
	var pool dgramPool
	q := dgramQueue{limit: 10000}
	from := netip.MustParseAddr("10.0.0.1")
	small, big := bytes.Repeat([]byte{1}, 1472), bytes.Repeat([]byte{2}, 4000)
	for i, b := range [][]byte{small, big, small} {
		if !q.push(&pool, from, uint16(i), b) {
			t.Fatalf("push %d refused", i)
		}
	}
	if q.push(&pool, from, 9, big) {
		t.Error("push beyond the limit accepted")
	}
	for i, want := range [][]byte{small, big, small} {
		d, ok := q.pop()
		if !ok || !bytes.Equal(d.data, want) || d.from.Port() != uint16(i) {
			t.Fatalf("pop %d: %v, %d bytes from %v", i, ok, len(d.data), d.from)
		}
		pool.put(d.data)
	}
	if _, ok := q.pop(); ok || !q.empty() || q.bytes != 0 {
		t.Fatalf("queue not empty after popping everything: %d bytes", q.bytes)
	}
	// Warm: a burst of datagrams in and out allocates nothing.
	cycle := func() {
		for i := range 8 {
			q.push(&pool, from, uint16(i), small)
		}
		q.push(&pool, from, 8, big)
		for !q.empty() {
			d, _ := q.pop()
			pool.put(d.data)
		}
	}
	cycle()
	if n := testing.AllocsPerRun(100, cycle); n != 0 {
		t.Errorf("%v allocations per burst of 9 datagrams, want 0", n)
	}
	// A queue that never empties keeps its order while it reuses room.
	q.limit = 1 << 20
	var want []int
	for i := range 200 {
		for range 2 {
			q.push(&pool, from, uint16(i), small[:i+1])
			want = append(want, i+1)
		}
		d, _ := q.pop()
		if len(d.data) != want[0] {
			t.Fatalf("step %d: popped %d bytes, want %d", i, len(d.data), want[0])
		}
		want = want[1:]
		pool.put(d.data)
	}
}
