package tun

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/songgao/water"
	"golang.org/x/sys/unix"

	"stacklab/stack"
)

// DefaultMTU is the MTU of a device whose [Config] leaves it zero.
const DefaultMTU = 1500

// maxFrame bounds one read from the device: the largest IPv4 packet plus an
// Ethernet header and a VLAN tag, so that nothing the kernel sends is cut.
const maxFrame = 65535 + 18

// Config describes a device to create with [Open]. The zero value is a TUN
// device with a kernel-chosen name, MTU 1500, no address, in the current
// network namespace.
type Config struct {
	// Name is the interface name. It may contain one %d, which the kernel
	// replaces with the lowest free number ("stacklab%d" → "stacklab0").
	// Empty means "tun%d" or "tap%d".
	Name string
	// TAP makes an Ethernet (TAP) device; the default is a raw-IP (TUN)
	// device without packet information (IFF_NO_PI).
	TAP bool
	// MTU is the device MTU; 0 means [DefaultMTU].
	MTU int
	// Addr is the kernel side's address and subnet on the device, e.g.
	// 10.99.0.1/24. The kernel routes the subnet through the device. A zero
	// prefix leaves the device without an address.
	Addr netip.Prefix
	// Addr6 is the kernel side's IPv6 address and prefix on the device,
	// e.g. fd99::1/64, added without duplicate address detection
	// (nodad); zero leaves the device without one.
	Addr6 netip.Prefix
	// Routes are further prefixes the kernel routes through the device.
	Routes []netip.Prefix
	// Netns names a network namespace (see [InNetns]) to create the device
	// in; empty means the current one.
	Netns string
	// PacketID returns the id of each packet read from the device; share
	// it with [stack.Options.PacketID] so that ids are unique in a run. Nil
	// means a counter of the device's own.
	PacketID func() uint64
}

// Stats counts a device's traffic. RX is kernel → stack (read from the
// device), TX is stack → kernel (written to it).
type Stats struct {
	RxPackets, RxBytes uint64
	TxPackets, TxBytes uint64
	// RxDropped counts packets read but not delivered: on a TUN device,
	// anything that is not IPv4 or IPv6.
	RxDropped uint64
	// RxErrors and TxErrors count failed reads and writes.
	RxErrors, TxErrors uint64
	// TxDropped counts packets sent after Close.
	TxDropped uint64
}

// Device is an open TUN or TAP device. It implements [stack.Link]: Send
// queues one packet (TUN) or frame (TAP) for the kernel, and a writer
// goroutine writes the queue in order, so that the stack does not hold
// its lock across the write system call while the reader goroutine waits
// for it to deliver the next packet (the kernel's own transmit path, too,
// queues a packet and returns). Its methods are safe for concurrent use.
type Device struct {
	cfg  Config
	name string
	f    *os.File

	nextID   atomic.Uint64
	packetID func() uint64

	rxPackets, rxBytes atomic.Uint64
	txPackets, txBytes atomic.Uint64
	rxDropped          atomic.Uint64
	rxErrors, txErrors atomic.Uint64
	txDropped          atomic.Uint64

	// The transmit queue: Send copies each packet into a buffer from
	// txBufs and queues it on txq (at most txQueueLen; a full queue makes
	// Send wait for the writer, as the write itself did); the writer
	// goroutine writes them in order. txMu makes Close wait for a Send
	// under way, so that no packet is queued after the writer stopped.
	txq    chan *[]byte
	txMu   sync.RWMutex
	txStop chan struct{} // closed by Close
	txDone chan struct{} // closed when the writer has written what was queued
	txSync bool          // one CPU (GOMAXPROCS 1): Send writes, no writer

	// mu guards started, closed, done and readErr.
	mu      sync.Mutex
	started bool
	closed  atomic.Bool
	done    chan struct{}
	readErr error
}

// Open creates and configures a device. On error nothing is left behind:
// a device already created is closed, which removes it. Open fails with
// [ErrNeedRoot] without CAP_NET_ADMIN, [ErrNoTUN] without /dev/net/tun,
// [ErrNoNetns] for an unknown namespace and [ErrNoIP] without ip(8).
func Open(cfg Config) (*Device, error) {
	if cfg.MTU == 0 {
		cfg.MTU = DefaultMTU
	}
	if cfg.MTU < 68 || cfg.MTU > 65535 {
		return nil, fmt.Errorf("mtu %d out of range (68–65535)", cfg.MTU)
	}
	if len(cfg.Name) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("device name %q too long (at most %d bytes)", cfg.Name, unix.IFNAMSIZ-1)
	}
	if cfg.Addr.IsValid() && !cfg.Addr.Addr().Is4() {
		return nil, fmt.Errorf("address %s: only IPv4 is supported", cfg.Addr)
	}
	if cfg.Addr6.IsValid() && (!cfg.Addr6.Addr().Is6() || cfg.Addr6.Addr().Is4In6()) {
		return nil, fmt.Errorf("address %s is not an IPv6 address", cfg.Addr6)
	}
	if err := Check(cfg.Netns); err != nil {
		return nil, err
	}

	var ifce *water.Interface
	err := InNetns(cfg.Netns, func() error {
		wc := water.Config{DeviceType: water.TUN}
		if cfg.TAP {
			wc.DeviceType = water.TAP
		}
		wc.Name = cfg.Name
		var err error
		ifce, err = water.New(wc)
		if err != nil {
			return err
		}
		// No IPv6 on the device unless asked for (Addr6): router
		// solicitations and MLD reports would only be dropped. Ignored
		// where the kernel has no IPv6.
		if !cfg.Addr6.IsValid() {
			_ = os.WriteFile(filepath.Join("/proc/sys/net/ipv6/conf", ifce.Name(), "disable_ipv6"), []byte("1"), 0)
		}
		return nil
	})
	if err != nil {
		if ifce != nil {
			// Created, but the thread could not leave the namespace:
			// do not leak the device.
			ifce.Close()
		}
		return nil, openError(cfg, err)
	}
	f, ok := ifce.ReadWriteCloser.(*os.File)
	if !ok {
		ifce.Close()
		return nil, errors.New("tun: water returned an unexpected device type")
	}
	d := newDevice(cfg, ifce.Name(), f)
	if err := d.configure(); err != nil {
		d.f.Close()
		return nil, err
	}
	d.startWriter()
	return d, nil
}

func newDevice(cfg Config, name string, f *os.File) *Device {
	return &Device{cfg: cfg, name: name, f: f, packetID: cfg.PacketID,
		txq: make(chan *[]byte, txQueueLen), txStop: make(chan struct{}), txDone: make(chan struct{})}
}

// startWriter starts the writer goroutine, unless nothing would run
// beside the stack (GOMAXPROCS 1): then a hand-off per packet would only
// add to the write, and Send writes.
func (d *Device) startWriter() {
	if runtime.GOMAXPROCS(0) == 1 {
		d.txSync = true
		close(d.txDone)
		return
	}
	go d.writer()
}

// Check reports whether a device could be created here: CAP_NET_ADMIN,
// /dev/net/tun, the ip command and, if netns is not empty, the namespace.
// It returns nil or one of the package's errors.
func Check(netns string) error {
	if !hasNetAdmin() {
		return ErrNeedRoot
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return ErrNoTUN
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return ErrNoIP
	}
	if netns != "" {
		if strings.ContainsRune(netns, '/') {
			return fmt.Errorf("netns %q: %w", netns, ErrNoNetns)
		}
		if _, err := os.Stat(filepath.Join(NetnsDir, netns)); err != nil {
			return fmt.Errorf("netns %q: %w", netns, ErrNoNetns)
		}
	}
	return nil
}

// hasNetAdmin reports whether CAP_NET_ADMIN is in the effective set.
func hasNetAdmin() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return os.Geteuid() == 0
	}
	return data[0].Effective&(1<<unix.CAP_NET_ADMIN) != 0
}

func openError(cfg Config, err error) error {
	switch {
	case errors.Is(err, ErrNoNetns), errors.Is(err, ErrNeedRoot):
		return err
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return ErrNeedRoot
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, unix.ENODEV), errors.Is(err, unix.ENXIO):
		return ErrNoTUN
	case errors.Is(err, unix.EBUSY):
		return fmt.Errorf("device %s is in use by another process; choose another name", cfg.Name)
	case errors.Is(err, unix.EINVAL):
		return fmt.Errorf("device %s exists and is not a %s device; choose another name", cfg.Name, kindName(cfg.TAP))
	}
	return fmt.Errorf("create %s device: %w", kindName(cfg.TAP), err)
}

func kindName(tap bool) string {
	if tap {
		return "TAP"
	}
	return "TUN"
}

// configure sets MTU, address, routes and up with ip(8).
func (d *Device) configure() error {
	mtu := strconv.Itoa(d.cfg.MTU)
	if err := d.ip("link", "set", "dev", d.name, "mtu", mtu); err != nil {
		return err
	}
	if d.cfg.Addr.IsValid() {
		if err := d.ip("addr", "add", d.cfg.Addr.String(), "dev", d.name); err != nil {
			return err
		}
	}
	if d.cfg.Addr6.IsValid() {
		if err := d.ip("-6", "addr", "add", d.cfg.Addr6.String(), "dev", d.name, "nodad"); err != nil {
			return err
		}
	}
	if err := d.ip("link", "set", "dev", d.name, "up"); err != nil {
		return err
	}
	for _, r := range d.cfg.Routes {
		if err := d.ip("route", "replace", r.Masked().String(), "dev", d.name); err != nil {
			return err
		}
	}
	return nil
}

func (d *Device) ip(args ...string) error {
	if d.cfg.Netns != "" {
		args = append([]string{"-n", d.cfg.Netns}, args...)
	}
	cmd := exec.Command("ip", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("ip %s: %s", strings.Join(args, " "), msg)
	}
	return nil
}

// Name returns the interface name the kernel gave the device.
func (d *Device) Name() string { return d.name }

// Netns returns the network namespace the device is in ("" for the current).
func (d *Device) Netns() string { return d.cfg.Netns }

// MTU returns the device MTU.
func (d *Device) MTU() int { return d.cfg.MTU }

// Addr returns the kernel side's address on the device (zero if none).
func (d *Device) Addr() netip.Prefix { return d.cfg.Addr }

// Type returns the link type to give the stack's NIC: [stack.LinkRawIP]
// for TUN, [stack.LinkEthernet] for TAP.
func (d *Device) Type() stack.LinkType {
	if d.cfg.TAP {
		return stack.LinkEthernet
	}
	return stack.LinkRawIP
}

// File returns the device's file, for benchmarks and tools that move
// packets themselves. Reads on it race with the reader started by Start.
func (d *Device) File() *os.File { return d.f }

// txQueueLen bounds the transmit queue: packets Send has queued and the
// writer has not yet written (Linux's default txqueuelen for a device is
// 1000; a TUN write returns at once, so the queue is short-lived).
const txQueueLen = 256

// txBufs holds the transmit queue's buffers.
var txBufs = sync.Pool{New: func() any { return new([]byte) }}

// Send queues pkt for the kernel and returns; the writer goroutine writes
// it. It copies pkt.Data, waits only while txQueueLen packets are queued
// (for one write), and counts failures in [Stats] instead of returning
// them, as a wire would: a packet sent after Close is dropped.
func (d *Device) Send(pkt stack.Packet) {
	d.txMu.RLock()
	defer d.txMu.RUnlock()
	if d.closed.Load() {
		d.txDropped.Add(1)
		return
	}
	// Counted when queued, so that Stats after Send, or whoever receives
	// the packet, sees it; a write that fails takes it back.
	d.txPackets.Add(1)
	d.txBytes.Add(uint64(len(pkt.Data)))
	if d.txSync {
		d.writeBytes(pkt.Data) // written before Send returns: no copy
		return
	}
	bp := txBufs.Get().(*[]byte)
	*bp = append((*bp)[:0], pkt.Data...)
	d.txq <- bp
}

// writer writes the queued packets, in order, until Close, and then what
// is still queued.
func (d *Device) writer() {
	defer close(d.txDone)
	for {
		select {
		case bp := <-d.txq:
			d.write(bp)
		case <-d.txStop:
			for {
				select {
				case bp := <-d.txq:
					d.write(bp)
				default:
					return
				}
			}
		}
	}
}

// write writes one queued packet and gives its buffer back.
func (d *Device) write(bp *[]byte) {
	d.writeBytes(*bp)
	if cap(*bp) <= 2*maxFrame {
		txBufs.Put(bp)
	}
}

// writeBytes writes one packet, taking back its count if the write fails.
func (d *Device) writeBytes(b []byte) {
	if _, err := d.f.Write(b); err != nil {
		d.txPackets.Add(^uint64(0))
		d.txBytes.Add(-uint64(len(b)))
		if d.closed.Load() {
			d.txDropped.Add(1)
		} else {
			d.txErrors.Add(1)
		}
	}
}

// Start starts the reader: a goroutine that reads each packet the kernel
// sends into one reused buffer and calls deliver with it, until [Device.Close].
// deliver must not retain pkt.Data after it returns (as [stack.NIC.Deliver]
// does not). Start may be called once.
func (d *Device) Start(deliver func(stack.Packet)) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed.Load() {
		return errors.New("tun: device closed")
	}
	if d.started {
		return errors.New("tun: reader already started")
	}
	d.started = true
	d.done = make(chan struct{})
	go d.read(deliver)
	return nil
}

// read is the reader goroutine.
func (d *Device) read(deliver func(stack.Packet)) {
	defer close(d.done)
	buf := make([]byte, maxFrame)
	consecutive := 0
	for {
		n, err := d.f.Read(buf)
		if err != nil {
			if d.closed.Load() || errors.Is(err, os.ErrClosed) {
				return
			}
			d.rxErrors.Add(1)
			// A device read fails only when the device is going away;
			// give up rather than spin.
			if consecutive++; consecutive >= 100 {
				d.mu.Lock()
				d.readErr = err
				d.mu.Unlock()
				return
			}
			continue
		}
		consecutive = 0
		d.rxPackets.Add(1)
		d.rxBytes.Add(uint64(n))
		if !d.cfg.TAP && (n < 20 || buf[0]>>4 != 4) && (n < 40 || buf[0]>>4 != 6) {
			d.rxDropped.Add(1)
			continue
		}
		deliver(stack.Packet{ID: d.newID(), Data: buf[:n]})
	}
}

func (d *Device) newID() uint64 {
	if d.packetID != nil {
		return d.packetID()
	}
	return d.nextID.Add(1)
}

// Err returns the error that stopped the reader early, or nil.
func (d *Device) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.readErr
}

// Stats returns the device's counters.
func (d *Device) Stats() Stats {
	return Stats{
		RxPackets: d.rxPackets.Load(), RxBytes: d.rxBytes.Load(),
		TxPackets: d.txPackets.Load(), TxBytes: d.txBytes.Load(),
		RxDropped: d.rxDropped.Load(),
		RxErrors:  d.rxErrors.Load(), TxErrors: d.txErrors.Load(),
		TxDropped: d.txDropped.Load(),
	}
}

// Close stops the reader, waits for it to return, and closes the device,
// which removes it from the kernel. Later Sends are counted as dropped.
// Close is idempotent.
func (d *Device) Close() error {
	d.mu.Lock()
	d.txMu.Lock()
	if d.closed.Swap(true) {
		d.txMu.Unlock()
		d.mu.Unlock()
		return nil
	}
	close(d.txStop)
	d.txMu.Unlock()
	done := d.done
	d.mu.Unlock()
	<-d.txDone // what was sent before Close is written
	err := d.f.Close()
	if done != nil {
		<-done
	}
	return err
}
