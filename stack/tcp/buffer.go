package tcp

import (
	"math/bits"
	"sync"
)

// ring is a byte ring buffer. Bytes [head, head+n) (mod len(buf)) are
// held. Its storage comes from the buffer pools (getBuf) and goes back
// when the ring empties, so an idle connection holds no buffer.
type ring struct {
	buf  []byte
	head int
	n    int
	last int // len(buf) when it was last released: the size to take again
}

func (r *ring) free(size int) int { return size - r.n }

// write appends up to len(b) bytes, limited by size, and returns how many.
func (r *ring) write(p *Proto, size int, b []byte) int {
	m := min(len(b), size-r.n)
	if m <= 0 {
		return 0
	}
	r.writeAt(p, size, r.n, b[:m])
	r.n += m
	return m
}

// writeAt copies b at offset off past head without changing n. The
// caller guarantees off+len(b) <= size. The storage is as large as what
// is held needs (ringSize), not size: it grows, in doubling steps, as
// the bytes held reach it.
func (r *ring) writeAt(p *Proto, size, off int, b []byte) {
	if need := off + len(b); r.buf == nil {
		// As large as when it was last released: a ring that empties
		// and fills again does not grow through the same steps again.
		r.buf = p.getBuf(max(ringSize(need, size), min(r.last, size)))
		r.head = 0
	} else if need > len(r.buf) {
		r.grow(p, ringSize(need, size))
	}
	c := len(r.buf)
	pos := (r.head + off) % c
	k := copy(r.buf[pos:], b)
	if k < len(b) {
		copy(r.buf, b[k:])
	}
}

// ringSize is the storage a ring holding need bytes (from head) gets
// within the limit size: the least power of two at least need, and at
// least minRingSize, but no more than the power of two that holds size
// (the pools' classes are powers of two: the memory is the same, and a
// limit that autotuning raises a little on every ACK does not move the
// ring each time). A connection whose reader keeps up holds little, and
// its receive ring stays small however far autotuning raises the
// buffer's limit, as Linux's receive queue holds only the skbs queued;
// memory for the whole window is taken when the window fills (a slow
// reader, out-of-order data in a recovery).
func ringSize(need, size int) int {
	pow2 := func(n int) int { return 1 << bits.Len(uint(max(n, 1)-1)) }
	return min(pow2(size), max(minRingSize, pow2(need)))
}

// minRingSize is a ring's first storage: 64 KiB, the window a
// connection starts with (tcp_rmem[1] is 128 KiB, half of it window).
const minRingSize = 64 << 10

// grow moves the held bytes, and anything stored past them (out-of-order
// data), into storage of size bytes when the ring is smaller. Bytes
// past what was stored are never read before they are written, so the
// new storage is not cleared.
func (r *ring) grow(p *Proto, size int) {
	if r.buf == nil || len(r.buf) >= size {
		return
	}
	nb := p.getBuf(size)
	k := copy(nb, r.buf[r.head:])
	copy(nb[k:], r.buf[:r.head])
	p.putBuf(r.buf)
	r.buf, r.head = nb, 0
}

// peek returns the bytes at [off, off+m) as up to two slices.
func (r *ring) peek(off, m int) (a, b []byte) {
	if m <= 0 || r.buf == nil {
		return nil, nil
	}
	c := len(r.buf)
	pos := (r.head + off) % c
	if pos+m <= c {
		return r.buf[pos : pos+m], nil
	}
	return r.buf[pos:], r.buf[:m-(c-pos)]
}

// read copies up to len(b) bytes out and consumes them.
func (r *ring) read(b []byte) int {
	m := min(len(b), r.n)
	x, y := r.peek(0, m)
	k := copy(b, x)
	copy(b[k:], y)
	r.consume(m)
	return m
}

// consume drops m bytes from the front. The caller releases the storage
// with release when it is no longer needed.
func (r *ring) consume(m int) {
	if m <= 0 {
		return
	}
	r.n -= m
	r.head = (r.head + m) % len(r.buf)
}

// release returns the storage to the pool. Out-of-order data held past
// n is lost, so the receive side calls it only with no such data.
func (r *ring) release(p *Proto) {
	if r.buf != nil {
		r.last = len(r.buf)
		p.putBuf(r.buf)
	}
	r.buf, r.head, r.n = nil, 0, 0
}

// Ring storage comes from size classes of powers of two, shared by every
// Proto in the process: autotuning grows a connection's buffers in
// uneven steps (each a fresh allocation, zeroed, and garbage for the
// collector), and a sweep or a benchmark runs the same connections over
// and over in fresh stacks. A buffer of class k has a capacity of 2^k
// bytes and is handed out cut to the size asked for. Each Proto keeps
// the last two buffers it freed, so that a ring released when it
// empties and taken again at the next segment costs nothing; the rest
// go to the process-wide pools, which the garbage collector empties when
// they stay unused (sync.Pool), but for those of reserveClass and
// larger, which go to the process-wide reserve while it holds less than
// reserveBytes.
//
// The reserve is what the collector does not empty: a run of a scenario
// allocates enough besides (its programs, its trace) for two
// collections to pass between one connection's end and the next run's
// first send, and without the reserve every run allocated and zeroed
// its buffers anew, 7 MB per run of BenchmarkRunnerCost's 16 MiB
// transfer. It holds at most reserveBytes, for good: the buffers of a
// connection or two moving at a few Gbit/s.
const (
	minBufClass  = 12       // 4 KiB: smaller rings are rare (tiny SO_RCVBUF)
	maxBufClass  = 25       // 32 MiB, tcp_rmem[2]: larger buffers are allocated and dropped
	reserveBytes = 16 << 20 // held through garbage collections
	reserveClass = 20       // 1 MiB: a buffer this large goes to the reserve, not a Proto's spares; smaller ones, quick to allocate, never do
)

var bufClasses [maxBufClass + 1]sync.Pool // of *[]byte, cut to their capacity

// reserve is the process-wide reserve: per class, the buffers it holds,
// newest last.
var reserve struct {
	mu    sync.Mutex
	bytes int
	free  [maxBufClass + 1][][]byte
}

// reserveGet takes a buffer of class k from the reserve, or returns nil.
func reserveGet(k int) []byte {
	reserve.mu.Lock()
	defer reserve.mu.Unlock()
	f := reserve.free[k]
	if len(f) == 0 {
		return nil
	}
	b := f[len(f)-1]
	f[len(f)-1] = nil
	reserve.free[k] = f[:len(f)-1]
	reserve.bytes -= cap(b)
	return b
}

// reservePut keeps b, of class k, in the reserve if it has room.
func reservePut(k int, b []byte) bool {
	reserve.mu.Lock()
	defer reserve.mu.Unlock()
	if reserve.bytes+cap(b) > reserveBytes {
		return false
	}
	reserve.free[k] = append(reserve.free[k], b)
	reserve.bytes += cap(b)
	return true
}

// bufClass returns the class of a buffer of size bytes: the least k
// with 2^k >= size (at least minBufClass).
func bufClass(size int) int {
	return max(bits.Len(uint(size-1)), minBufClass)
}

// getBuf returns a buffer of exactly size bytes: one of the Proto's
// spares of the same class, or one from the process-wide reserve or
// pool of its class, or a new one. Its contents are not zeroed.
func (p *Proto) getBuf(size int) []byte {
	k := bufClass(size)
	for i, b := range p.spare {
		if cap(b) >= size && bufClass(cap(b)) == k {
			p.spare[i] = nil
			return b[:size]
		}
	}
	if k <= maxBufClass {
		if k >= reserveClass {
			if b := reserveGet(k); b != nil {
				return b[:size]
			}
		}
		if bp, _ := bufClasses[k].Get().(*[]byte); bp != nil {
			return (*bp)[:size]
		}
		return make([]byte, size, 1<<k)
	}
	return make([]byte, size)
}

// putBuf gives a buffer back: it becomes the Proto's newest spare, and
// the oldest spare goes to the process-wide reserve or pool; a buffer of
// reserveClass or larger goes there at once, so that a stack dropped
// with connections not yet gone (a scenario's run ends with its client
// in TIME_WAIT) does not take it to the collector.
func (p *Proto) putBuf(b []byte) {
	if bufClass(cap(b)) >= reserveClass {
		poolPut(b)
		return
	}
	old := p.spare[1]
	p.spare[1], p.spare[0] = p.spare[0], b[:cap(b)]
	if old != nil {
		poolPut(old)
	}
}

// flushSpares gives the Proto's spares to the process-wide pools, when a
// connection ends: the next connection, in this stack or another (a
// sweep's next run), takes them from there.
func (p *Proto) flushSpares() {
	for i, b := range p.spare {
		if b != nil {
			poolPut(b)
			p.spare[i] = nil
		}
	}
}

// poolPut gives b to the process-wide reserve if it is that large and
// the reserve has room, or else to its class's pool (a buffer of a size
// no class has, too large, is dropped).
func poolPut(b []byte) {
	if k := bufClass(cap(b)); k <= maxBufClass && cap(b) == 1<<k {
		b = b[:cap(b)]
		if k < reserveClass || !reservePut(k, b) {
			poolPutPool(k, b)
		}
	}
}

// poolPutPool gives b to class k's pool. It is a function of its own so
// that only this path allocates the *[]byte the pool holds.
func poolPutPool(k int, b []byte) {
	bufClasses[k].Put(&b)
}
