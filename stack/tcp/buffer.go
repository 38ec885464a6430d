package tcp

// ring is a byte ring buffer. Bytes [head, head+n) (mod len(buf)) are
// held. Its storage comes from the Proto's pool and goes back when the
// ring empties, so an idle connection holds no buffer.
type ring struct {
	buf  []byte
	head int
	n    int
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
// caller guarantees off+len(b) <= size.
func (r *ring) writeAt(p *Proto, size, off int, b []byte) {
	if r.buf == nil {
		r.buf = p.getBuf(size)
		r.head = 0
	}
	c := len(r.buf)
	pos := (r.head + off) % c
	k := copy(r.buf[pos:], b)
	if k < len(b) {
		copy(r.buf, b[k:])
	}
}

// grow moves the held bytes, and anything stored past them (out-of-order
// data), into storage of size bytes when the ring is smaller. An empty
// ring takes the new size at its next write.
func (r *ring) grow(p *Proto, size int) {
	if r.buf == nil || len(r.buf) >= size {
		return
	}
	nb := p.getBuf(size)
	k := copy(nb, r.buf[r.head:])
	copy(nb[k:], r.buf[:r.head])
	clear(nb[len(r.buf):])
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
		p.putBuf(r.buf)
	}
	r.buf, r.head, r.n = nil, 0, 0
}

const maxPooled = 64 // buffers kept per size

// bufPool holds free buffers of one size. A Proto keeps a few, one per
// buffer size in use (usually one or two), in a slice searched linearly:
// cheaper than a map on this path.
type bufPool struct {
	size int
	free [][]byte
}

func (p *Proto) poolFor(size int) *bufPool {
	for i := range p.pool {
		if p.pool[i].size == size {
			return &p.pool[i]
		}
	}
	p.pool = append(p.pool, bufPool{size: size})
	return &p.pool[len(p.pool)-1]
}

// getBuf returns a buffer of exactly size bytes, from the pool if any.
func (p *Proto) getBuf(size int) []byte {
	bp := p.poolFor(size)
	if n := len(bp.free); n > 0 {
		b := bp.free[n-1]
		bp.free[n-1] = nil
		bp.free = bp.free[:n-1]
		return b
	}
	return make([]byte, size)
}

// putBuf returns a buffer to the pool.
func (p *Proto) putBuf(b []byte) {
	bp := p.poolFor(len(b))
	if len(bp.free) < maxPooled {
		bp.free = append(bp.free, b)
	}
}
