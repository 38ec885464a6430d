package tcp

import "net/netip"

// TxQueueNet is implemented by a [Net] whose interfaces have a bounded
// transmit queue that can fill, as a device ring does in real time. The
// engine then holds new data back while the queue toward the peer is full
// instead of handing the link frames it would drop, and sends it when the
// stack calls [Proto.TxReady] (or the next ACK arrives). This is the part
// of Linux's TCP small queues and qdisc backpressure that matters here:
// there a local queue that refuses a segment leaves it unsent in the write
// queue (tcp_write_xmit stops at a failed tcp_transmit_skb), not lost, and
// the TSQ handler resumes the socket when the device frees room. Without
// it, parallel connections whose autotuned windows together exceed the
// queue lose segments at their own interface and spend their time in
// loss recovery.
type TxQueueNet interface {
	// TxFull reports whether the interface that reaches remote has no
	// room for another frame. When it returns true the stack must call
	// [Proto.TxReady] once the queue has room again.
	TxFull(remote netip.Addr) bool
}

// txFull reports whether c's new data must wait for room in the
// interface's queue, and if so queues c to be resumed by TxReady.
func (p *Proto) txFull(c *Conn) bool {
	if p.txq == nil || !p.txq.TxFull(c.tuple.Remote.Addr()) {
		return false
	}
	p.counters.TxQueueFull++
	if !c.txWait {
		c.txWait = true
		p.txWaiters = append(p.txWaiters, c) // each connection once: bounded by the table
	}
	return true
}

// TxReady sends what the connections stopped by a full transmit queue
// (see [TxQueueNet]) may send now, in the order they stopped. The stack
// calls it with its lock held when an interface's queue has room again.
func (p *Proto) TxReady() {
	if len(p.txWaiters) == 0 {
		return
	}
	w := p.txWaiters
	p.txWaiters = p.txSpare[:0]
	for i, c := range w {
		w[i] = nil
		c.txWait = false
		if !c.dead {
			c.output(whyTxReady)
		}
	}
	p.txSpare = w[:0]
}
