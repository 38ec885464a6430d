package stack

// LinkType says what a link carries.
type LinkType uint8

const (
	// LinkEthernet carries Ethernet II frames; the NIC runs ARP.
	LinkEthernet LinkType = iota + 1
	// LinkRawIP carries bare IPv4 packets, as a TUN device does.
	LinkRawIP
)

func (t LinkType) String() string {
	switch t {
	case LinkEthernet:
		return "ethernet"
	case LinkRawIP:
		return "raw-ip"
	}
	return "unknown"
}

// Packet is one frame on a link, with the identity it keeps along its
// whole path: every copy of the same packet (the sender's NIC, a router's
// ports, the receiver's NIC) carries the same ID, which the capture writes
// as the pcapng packet id.
type Packet struct {
	// ID is unique within a simulation (or a stack, in real time).
	ID uint64
	// Data is the frame, starting at the link header (Ethernet) or the IP
	// header (raw IP). It is valid only for the duration of the call that
	// carries it: a link that queues the frame copies it first.
	Data []byte
	// ChecksumOK says that the sending stack computed the frame's TCP or
	// UDP checksum and that nothing has changed the frame since, so the
	// receiving stack need not verify it again: Linux's
	// CHECKSUM_UNNECESSARY, as veth and loopback mark the frames of a
	// local peer (and gVisor's in-memory endpoints with receive
	// offload). A NIC sets it on the TCP and UDP segments its stack
	// builds; a link that delivers a frame it may have changed (a
	// corrupted byte, a middlebox) or that it did not get from a stack
	// leaves it false. The IPv4 header checksum is always verified, as
	// Linux's ip_rcv does; captures show the checksums as sent.
	ChecksumOK bool
	// ChecksumPartial says that the frame's TCP checksum field holds no
	// checksum: the sending stack left it to the link (transmit checksum
	// offload, Linux's CHECKSUM_PARTIAL, as veth does between two local
	// stacks), which it does only on a [PartialChecksumLink] and only
	// when its Tap does not look at the bytes. It implies ChecksumOK: the
	// receiving stack trusts the segment without a checksum. Whatever
	// must show, change or check the bytes finishes the checksum first
	// ([wire.FinishTCPChecksum]) and clears the flag: a Tap, a
	// middlebox, a link that corrupts a byte, a router forwarding it, a
	// link that is not a PartialChecksumLink (the sending NIC finishes
	// it before handing it over). A segment cut into fragments is
	// finished by the sending stack before it is cut.
	ChecksumPartial bool
}

// PartialChecksumLink is a [Link] that carries frames with
// [Packet.ChecksumPartial] set from one stack to another, finishing the
// checksum itself wherever it shows or changes the bytes: the
// simulator's links. Links that do not implement it (a TUN device, a
// packetdrill script's wire, a middlebox's gate) get every frame with
// its checksum computed.
type PartialChecksumLink interface {
	Link
	// CarriesPartialChecksums reports whether the link takes frames
	// with Packet.ChecksumPartial set.
	CarriesPartialChecksums() bool
}

// ChecksumTap is a [Tap] that may not need the stacks to compute the
// checksums of the frames it sees: a capture that writes nothing, or one
// that computes them itself beside the stacks. One that says so gets
// frames with [Packet.ChecksumPartial] set and finishes them wherever it
// shows them ([wire.FinishTCPChecksum]), in its copy or in pkt.Data,
// changing nothing else. A Tap that does not implement it gets every
// frame with its checksums computed.
type ChecksumTap interface {
	Tap
	// WantsChecksums reports whether the Tap needs the frames' TCP
	// checksums computed. A stack asks each time an interface is
	// added; a Tap whose answer turns to true later must still finish
	// the partial frames it gets.
	WantsChecksums() bool
}

// Link moves frames from a [NIC] to the world: a simulated wire, a router
// port, a TUN device. Inbound frames reach the NIC through [NIC.Deliver].
type Link interface {
	// Send transmits pkt. It must not retain pkt.Data after returning and
	// must not deliver anything back into the sending stack synchronously.
	Send(pkt Packet)
}

// QueueLink is a [Link] with a bounded transmit queue that says when it
// is full, as a device ring does (package linktest's pipe). The stack
// then holds new TCP data back while the queue is full rather than
// sending frames the link would drop (Linux's TCP small queues and qdisc
// backpressure; see tcp.TxQueueNet), and resumes those connections when
// the link calls the function given to SetTxReady. Links without a queue
// of their own (the simulator's, whose queues model the network) need
// not implement it.
type QueueLink interface {
	Link
	// TxFull reports whether the queue has no room for another frame.
	// After it has returned true, the link calls the function set with
	// SetTxReady once the queue has room again.
	TxFull() bool
	// SetTxReady sets the function the link calls, on any goroutine and
	// never from within Send or TxFull, when a queue reported full has
	// room again.
	SetTxReady(f func())
}

// LinkFunc adapts a function to the [Link] interface.
type LinkFunc func(pkt Packet)

// Send calls f(pkt).
func (f LinkFunc) Send(pkt Packet) { f(pkt) }

// Dir is the direction of a frame as seen at a NIC.
type Dir uint8

const (
	// DirIn is a frame received by the NIC.
	DirIn Dir = iota + 1
	// DirOut is a frame sent by the NIC.
	DirOut
)

func (d Dir) String() string {
	if d == DirIn {
		return "in"
	}
	return "out"
}

// Tap sees every frame a NIC sends or receives: the capture's hook. An
// outbound frame is reported just before [Link.Send] with a note saying
// which socket call, state change or timer caused it; an inbound frame is
// reported before the stack processes it (its note is empty; a later
// [EventDrop] with the same packet ID says when it was dropped). Tap runs
// with the stack's lock held and must not retain pkt.Data.
//
// With no Tap installed the cost is one nil check per frame.
type Tap interface {
	Frame(nic *NIC, dir Dir, pkt Packet, note string)
}
