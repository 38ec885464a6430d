package tcp

import (
	"container/heap"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"stacklab/stack/core"
	"stacklab/stack/tcp/seqnum"
	wirefmt "stacklab/stack/wire"
)

// ---- virtual clock ----

type vclock struct {
	now time.Time
	q   vheap
	seq uint64
}

type vtimer struct {
	clk *vclock
	at  time.Time
	seq uint64
	f   func()
	idx int // heap index, -1 when not scheduled
}

type vheap []*vtimer

func (h vheap) Len() int { return len(h) }
func (h vheap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h vheap) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].idx = i; h[j].idx = j }
func (h *vheap) Push(x any)   { t := x.(*vtimer); t.idx = len(*h); *h = append(*h, t) }
func (h *vheap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.idx = -1
	return t
}
func newClock() *vclock          { return &vclock{now: time.Unix(1_700_000_000, 0)} }
func (c *vclock) Now() time.Time { return c.now }

func (c *vclock) AfterFunc(d time.Duration, f func()) core.Timer {
	t := &vtimer{clk: c, f: f, idx: -1}
	t.Reset(d)
	return t
}

func (t *vtimer) Stop() bool {
	if t.idx < 0 {
		return false
	}
	heap.Remove(&t.clk.q, t.idx)
	return true
}

func (t *vtimer) Reset(d time.Duration) bool {
	was := t.Stop()
	t.at = t.clk.now.Add(max(d, 0))
	t.clk.seq++
	t.seq = t.clk.seq
	heap.Push(&t.clk.q, t)
	return was
}

// step runs the next event; it reports false when none is due by limit.
func (c *vclock) step(limit time.Time) bool {
	if len(c.q) == 0 || c.q[0].at.After(limit) {
		return false
	}
	t := heap.Pop(&c.q).(*vtimer)
	c.now = t.at
	t.f()
	return true
}

// advance runs all events up to now+d.
func (c *vclock) advance(d time.Duration) {
	limit := c.now.Add(d)
	for c.step(limit) {
	}
	c.now = limit
}

// ---- fake network ----

type verdict struct {
	drop, dup, corrupt bool
	delay              time.Duration
}

type pkt struct {
	w        *fnet
	buf      []byte
	n        int
	src, dst netip.Addr
	timer    core.Timer
	fire     func()
}

func (p *pkt) deliver() {
	h := p.w.hosts[p.dst]
	p.w.delivered++
	if h != nil {
		h.p.Input(p.src, p.dst, p.buf[:p.n], 0)
	}
	p.w.free = append(p.w.free, p)
}

// fnet joins hosts with a fixed delay and a programmable filter.
type fnet struct {
	clk       *vclock
	hosts     map[netip.Addr]*host
	delay     time.Duration
	filter    func(h *host, seg []byte, why string) verdict
	free      []*pkt
	log       []logged
	keepLog   bool
	delivered int
}

type logged struct {
	from string
	seg  []byte
	why  string
	at   time.Duration
}

type host struct {
	name    string
	w       *fnet
	addr    netip.Addr
	mtu     int
	rnd     *rand.Rand
	p       *Proto
	tracing bool
	events  []core.Event
	out     []logged // for injection tests (no wire delivery)
	capture bool
	full    bool // TxFull answers this: the interface's queue is full (tsq.go)
}

// TxFull makes host a TxQueueNet whose queue is full while h.full.
func (h *host) TxFull(netip.Addr) bool { return h.full }

func (h *host) Now() time.Time { return h.w.clk.Now() }
func (h *host) AfterFunc(d time.Duration, f func()) core.Timer {
	return h.w.clk.AfterFunc(d, f)
}
func (h *host) Rand() *rand.Rand { return h.rnd }
func (h *host) Route(remote netip.Addr) (netip.Addr, int, error) {
	if !remote.Is4() {
		return netip.Addr{}, 0, syscall.ENETUNREACH
	}
	return h.addr, h.mtu, nil
}
func (h *host) IsLocal(a netip.Addr) bool { return a == h.addr }
func (h *host) Tracing() bool             { return h.tracing }
func (h *host) Series() bool              { return h.tracing }
func (h *host) Observe(ev *core.Event) {
	e := *ev
	if e.Vars != nil {
		v := *e.Vars // the Proto reuses its Vars
		e.Vars = &v
	}
	h.events = append(h.events, e)
}

func (h *host) Output(local, remote netip.Addr, seg []byte, why string) {
	w := h.w
	if !wirefmt.TCP(seg).IsChecksumValid(local, remote) { // the full sum: checks the pair-sum path too
		panic("bad checksum on output")
	}
	if h.capture || w.keepLog {
		l := logged{from: h.name, seg: append([]byte(nil), seg...), why: why, at: w.clk.now.Sub(time.Unix(1_700_000_000, 0))}
		if h.capture {
			h.out = append(h.out, l)
		}
		if w.keepLog {
			w.log = append(w.log, l)
		}
	}
	if h.capture {
		return
	}
	v := verdict{}
	if w.filter != nil {
		v = w.filter(h, seg, why)
	}
	if v.drop {
		return
	}
	n := 1
	if v.dup {
		n = 2
	}
	for i := 0; i < n; i++ {
		p := w.get()
		p.n = copy(p.buf, seg)
		p.src, p.dst = local, remote
		if v.corrupt {
			p.buf[20+(i*7)%max(p.n-20, 1)] ^= 0x40
		}
		d := w.delay + v.delay
		if p.timer == nil {
			p.timer = w.clk.AfterFunc(d, p.fire)
		} else {
			p.timer.Reset(d)
		}
	}
}

func (w *fnet) get() *pkt {
	if n := len(w.free); n > 0 {
		p := w.free[n-1]
		w.free = w.free[:n-1]
		return p
	}
	p := &pkt{w: w, buf: make([]byte, 65536)}
	p.fire = p.deliver
	return p
}

func newWire() *fnet {
	return &fnet{clk: newClock(), hosts: map[netip.Addr]*host{}, delay: 5 * time.Millisecond}
}

func (w *fnet) addHost(name, addr string, seed uint64, cfg Config) *host {
	h := &host{name: name, w: w, addr: netip.MustParseAddr(addr), mtu: 1500, rnd: rand.New(rand.NewPCG(seed, seed+1))}
	h.p = New(h, cfg)
	w.hosts[h.addr] = h
	return h
}

// pair returns a wire with a client (10.0.0.1) and a server (10.0.0.2).
func pair(cfg Config) (*fnet, *host, *host) {
	w := newWire()
	return w, w.addHost("client", "10.0.0.1", 1, cfg), w.addHost("server", "10.0.0.2", 2, cfg)
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// dial connects client to server:80 through a listener and returns both
// ends once established.
func dial(t testing.TB, w *fnet, cl, sv *host, o *SockOpts) (*Conn, *Conn, *Listener) {
	t.Helper()
	l, err := sv.p.Listen(ap("0.0.0.0:80"), 16, o)
	if err != nil {
		t.Fatal(err)
	}
	c, s := connectTo(t, w, cl, sv, l, o)
	return c, s, l
}

// connectTo connects client to the listener l on server:80 and returns
// both ends once established.
func connectTo(t testing.TB, w *fnet, cl, sv *host, l *Listener, o *SockOpts) (*Conn, *Conn) {
	t.Helper()
	c, err := cl.p.Connect(netip.AddrPort{}, netip.AddrPortFrom(sv.addr, 80), o)
	if err != nil {
		t.Fatal(err)
	}
	w.clk.advance(100 * time.Millisecond)
	s, err := l.Accept()
	if err != nil {
		t.Fatalf("accept: %v (client state %v)", err, c.State())
	}
	if c.State() != Established || s.State() != Established {
		t.Fatalf("states %v %v", c.State(), s.State())
	}
	return c, s
}

// ---- segment view for assertions ----

type segView struct {
	seg
	raw []byte
	why string
}

type seg = segment

func parseOut(t testing.TB, l logged) segView {
	t.Helper()
	var s segment
	if !parseSegment(l.seg, &s) {
		t.Fatalf("bad segment from %s", l.from)
	}
	return segView{seg: s, raw: l.seg, why: l.why}
}

func flagString(f uint8) string {
	var b strings.Builder
	for _, x := range []struct {
		f uint8
		c byte
	}{{flagSYN, 'S'}, {flagFIN, 'F'}, {flagRST, 'R'}, {flagPSH, 'P'}} {
		if f&x.f != 0 {
			b.WriteByte(x.c)
		}
	}
	if f&flagACK != 0 {
		b.WriteByte('.')
	}
	return b.String()
}

func (s segView) String() string {
	return fmt.Sprintf("[%s] seq %d ack %d win %d len %d (%s)", flagString(s.flags), s.seq, s.ack, s.wnd, len(s.payload), s.why)
}

// ---- injection: build segments by hand ----

type segSpec struct {
	src, dst    netip.AddrPort
	seq, ack    uint32
	flags       uint8
	wnd         uint16
	opts        options
	payload     []byte
	badChecksum bool
	rawOptions  []byte
	urg         uint16 // the urgent pointer; URG is set when it is not 0
}

func build(s segSpec) []byte {
	var ob [maxOptionLen]byte
	ol := encodeOptions(ob[:], &s.opts, s.flags&flagSYN != 0)
	if s.rawOptions != nil {
		ol = copy(ob[:], s.rawOptions)
	}
	b := make([]byte, headerLen+ol+len(s.payload))
	binary.BigEndian.PutUint16(b[0:], s.src.Port())
	binary.BigEndian.PutUint16(b[2:], s.dst.Port())
	binary.BigEndian.PutUint32(b[4:], s.seq)
	binary.BigEndian.PutUint32(b[8:], s.ack)
	b[12] = byte((headerLen+ol)/4) << 4
	b[13] = s.flags
	binary.BigEndian.PutUint16(b[14:], s.wnd)
	if s.urg != 0 {
		b[13] |= flagURG
		binary.BigEndian.PutUint16(b[18:], s.urg)
	}
	copy(b[headerLen:], ob[:ol])
	copy(b[headerLen+ol:], s.payload)
	ck := ^wirefmt.Fold(wirefmt.Checksum(b, wirefmt.PseudoHeaderSum(s.src.Addr(), s.dst.Addr(), wirefmt.ProtoTCP, uint16(len(b)))))
	if s.badChecksum {
		ck++
	}
	binary.BigEndian.PutUint16(b[16:], ck)
	return b
}

// inj is a packet-injection harness: one Proto whose output is recorded.
type inj struct {
	t    *testing.T
	w    *fnet
	h    *host
	peer netip.AddrPort
	me   netip.AddrPort
}

func newInj(t *testing.T, cfg Config) *inj {
	w := newWire()
	h := w.addHost("dut", "10.0.0.2", 7, cfg)
	h.capture = true
	h.tracing = true
	return &inj{t: t, w: w, h: h, peer: ap("10.0.0.1:40000"), me: ap("10.0.0.2:80")}
}

func (j *inj) send(s segSpec) {
	if !s.src.IsValid() {
		s.src = j.peer
	}
	if !s.dst.IsValid() {
		s.dst = j.me
	}
	j.h.p.Input(s.src.Addr(), s.dst.Addr(), build(s), 0)
}

// next returns the next segment the DUT sent, failing if there is none.
func (j *inj) next() segView {
	j.t.Helper()
	if len(j.h.out) == 0 {
		j.t.Fatalf("expected a segment, none sent")
	}
	l := j.h.out[0]
	j.h.out = j.h.out[1:]
	return parseOut(j.t, l)
}

func (j *inj) none() {
	j.t.Helper()
	if len(j.h.out) != 0 {
		j.t.Fatalf("expected no segment, got %v", parseOut(j.t, j.h.out[0]))
	}
}

// expect checks a segment's flags, seq and ack.
func (j *inj) expect(flags uint8, seq, ack uint32) segView {
	j.t.Helper()
	s := j.next()
	if s.flags != flags || uint32(s.seq) != seq || uint32(s.ack) != ack {
		j.t.Fatalf("got %v, want [%s] seq %d ack %d", s, flagString(flags), seq, ack)
	}
	return s
}

var _ = seqnum.Value(0)

func netip0() netip.AddrPort { return netip.AddrPort{} }

func checksumFix(src, dst netip.Addr, b []byte) uint16 {
	return ^wirefmt.Fold(wirefmt.Checksum(b, wirefmt.PseudoHeaderSum(src, dst, wirefmt.ProtoTCP, uint16(len(b)))))
}
