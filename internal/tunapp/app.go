package tunapp

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"

	"stacklab/internal/lossmeter"
	"stacklab/sim"
	"stacklab/stack"
	"stacklab/stack/tun"
)

// Options configure an [App]. The zero value of each field has the
// default noted beside it.
type Options struct {
	// Addr is the stack's address and subnet on the device; default
	// 10.99.0.2/24.
	Addr netip.Prefix
	// PeerAddr is the kernel side's address on the device; default
	// 10.99.0.1/24.
	PeerAddr netip.Prefix
	// Addr6 and PeerAddr6 are the stack's and the kernel's IPv6
	// addresses on the device; both or neither (IPv4 only).
	Addr6, PeerAddr6 netip.Prefix
	// Dev is the device name; default "stacklab%d" (the kernel fills in
	// the number).
	Dev string
	// TAP makes an Ethernet (TAP) device instead of a raw-IP TUN device.
	TAP bool
	// MTU of the device and the stack's interface; default 1500.
	MTU int
	// Netns creates the device inside this network namespace.
	Netns string
	// TCP holds the stack's TCP settings.
	TCP stack.TCPOptions
	// Seed seeds the stack's and the impairments' randomness; 0 means one
	// drawn at startup.
	Seed uint64
	// Impair is applied to both directions between device and stack.
	Impair sim.Impairments

	// OutDir receives the pcapng capture; empty means no capture.
	OutDir string
	// Trace, if not nil, receives the layered trace.
	Trace io.Writer
	// Format of the trace: "text" (default) or "json".
	Format string
	// Version goes into the capture files' comment.
	Version string
	// Log receives one-line status messages (device ready, listening…);
	// nil discards them.
	Log io.Writer
}

// SetupError is an error in the options or the environment (no root, no
// /dev/net/tun, a bad flag value) as opposed to a failure at run time;
// the command exits 2 for it.
type SetupError struct{ Err error }

func (e *SetupError) Error() string { return e.Err.Error() }

func (e *SetupError) Unwrap() error { return e.Err }

// WriteCounters writes the stack's non-zero counters to w, one a line,
// as `stacklab run` prints them after a run. With impairments it adds
// what the pipes saw of the TCP traffic on their wire, each sender
// counted the same way (package lossmeter): data segments,
// retransmitted segments and spurious ones (every byte already
// delivered in an earlier copy), as wire.out.* for stack → kernel and
// wire.in.* for kernel → stack.
func (a *App) WriteCounters(w io.Writer) {
	fmt.Fprintf(w, "counters (non-zero):\n")
	for _, c := range a.Stack.Counters() {
		if c.Value != 0 {
			fmt.Fprintf(w, "  %-28s %d\n", c.Name, c.Value)
		}
	}
	for _, m := range []struct {
		dir string
		m   *lossmeter.Meter
	}{{"out", a.outMeter}, {"in", a.inMeter}} {
		if m.m == nil {
			continue
		}
		st := m.m.Stats()
		for _, c := range []struct {
			name string
			v    uint64
		}{{"DataSegs", st.DataSegments}, {"RetransSegs", st.Retransmits}, {"SpuriousRetrans", st.Spurious}, {"Unmatched", st.Unmatched}} {
			if c.v != 0 {
				fmt.Fprintf(w, "  %-28s %d\n", "wire."+m.dir+"."+c.name, c.v)
			}
		}
	}
}

func setupErr(format string, args ...any) error {
	return &SetupError{Err: fmt.Errorf(format, args...)}
}

// Default addresses.
var (
	DefaultAddr     = netip.MustParsePrefix("10.99.0.2/24")
	DefaultPeerAddr = netip.MustParsePrefix("10.99.0.1/24")
)

// App is a stack attached to a device. Its fields are for reading.
type App struct {
	Stack  *stack.Stack
	NIC    *stack.NIC
	Device *tun.Device

	opts  Options
	log   io.Writer
	logMu sync.Mutex
	rec   *recorder
	in    *pipe // kernel → stack, nil without impairments
	out   *pipe // stack → kernel, nil without impairments
	// inMeter and outMeter count the TCP retransmissions on each pipe's
	// wire, the same way for both senders (nil without impairments).
	inMeter, outMeter *lossmeter.Meter
	closed            atomic.Bool
}

// Setup checks the environment, opens the device, builds the stack and
// attaches it. Environment and option errors are [*SetupError]s. On error
// nothing is left behind.
func Setup(opts Options) (_ *App, err error) {
	if !opts.Addr.IsValid() {
		opts.Addr = DefaultAddr
	}
	if !opts.PeerAddr.IsValid() {
		opts.PeerAddr = DefaultPeerAddr
	}
	if opts.Dev == "" {
		opts.Dev = "stacklab%d"
	}
	if opts.MTU == 0 {
		opts.MTU = tun.DefaultMTU
	}
	if opts.Format == "" {
		opts.Format = "text"
	}
	switch {
	case !opts.Addr.Addr().Is4() || !opts.PeerAddr.Addr().Is4():
		return nil, setupErr("--addr %s, --peer-addr %s: only IPv4 is supported", opts.Addr, opts.PeerAddr)
	case opts.Addr6.IsValid() != opts.PeerAddr6.IsValid():
		return nil, setupErr("--addr6 %s, --peer-addr6 %s: give both IPv6 addresses, or neither", opts.Addr6, opts.PeerAddr6)
	case opts.Addr6.IsValid() && (!opts.Addr6.Addr().Is6() || opts.Addr6.Addr().Is4In6() || !opts.PeerAddr6.Addr().Is6() || opts.Addr6.Addr() == opts.PeerAddr6.Addr()):
		return nil, setupErr("--addr6 %s, --peer-addr6 %s: want two different IPv6 addresses with a prefix length, e.g. fd99::2/64 and fd99::1/64", opts.Addr6, opts.PeerAddr6)
	case opts.Addr.Addr() == opts.PeerAddr.Addr():
		return nil, setupErr("--addr and --peer-addr are both %s; give the stack and the kernel different addresses", opts.Addr.Addr())
	case opts.Format != "text" && opts.Format != "json":
		return nil, setupErr("--format %q: use text or json", opts.Format)
	}
	if err := opts.Impair.Validate(); err != nil {
		return nil, &SetupError{Err: err}
	}
	if err := tun.Check(opts.Netns); err != nil {
		return nil, &SetupError{Err: err}
	}

	a := &App{opts: opts, log: opts.Log}
	if a.log == nil {
		a.log = io.Discard
	}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()

	seed := opts.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	root := rand.New(rand.NewPCG(seed, 0x5eed))
	var ids atomic.Uint64
	packetID := func() uint64 { return ids.Add(1) }

	a.Device, err = tun.Open(tun.Config{
		Name:     opts.Dev,
		TAP:      opts.TAP,
		MTU:      opts.MTU,
		Addr:     opts.PeerAddr,
		Addr6:    opts.PeerAddr6,
		Netns:    opts.Netns,
		PacketID: packetID,
	})
	if err != nil {
		// Every device that cannot be opened is a setup error (exit 2):
		// no root, no /dev/net/tun, a bad or busy name, a missing
		// namespace, an MTU the device refuses.
		return nil, &SetupError{Err: fmt.Errorf("--dev %s: %w", opts.Dev, err)}
	}

	a.rec, err = newRecorder(opts, seed)
	if err != nil {
		return nil, &SetupError{Err: err}
	}
	sopts := stack.Options{
		Name:     "stacklab",
		Clock:    stack.RealClock{},
		Rand:     rand.New(rand.NewPCG(root.Uint64(), root.Uint64())),
		PacketID: packetID,
		TCP:      opts.TCP,
	}
	if a.rec != nil {
		sopts.Observer, sopts.Tap = a.rec.observer(), a.rec.tap()
	}
	a.Stack = stack.New(sopts)

	var link stack.Link = a.Device
	impaired := opts.Impair != (sim.Impairments{})
	if impaired {
		a.outMeter = lossmeter.New(sim.HeaderLen(a.Device.Type()))
		a.out = newPipe(rand.New(rand.NewPCG(root.Uint64(), root.Uint64())), opts.Impair, a.Device.Type(), "stacklab", "kernel", sopts.Observer, a.outMeter.Exit(a.Device.Send))
		link = a.outMeter.Link(a.out)
	}
	nicName := "tun0"
	if opts.TAP {
		nicName = "tap0"
	}
	cfg := stack.NICConfig{
		Name: nicName,
		Type: a.Device.Type(),
		Addr: opts.Addr,
		MTU:  opts.MTU,
	}
	if opts.Addr6.IsValid() {
		cfg.Addrs6 = []netip.Prefix{opts.Addr6}
	}
	a.NIC, err = a.Stack.AddNIC(cfg, link)
	if err != nil {
		return nil, &SetupError{Err: fmt.Errorf("--addr %s: %w", opts.Addr, err)}
	}
	if a.rec != nil {
		a.rec.describe(a.NIC, a.Device, opts)
	}
	if !opts.Addr.Contains(opts.PeerAddr.Addr()) {
		// The kernel is not on the stack's subnet: reach it (and the rest
		// of the world behind it) through the interface.
		a.Stack.AddRoute(stack.Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), NIC: a.NIC})
	} else {
		a.Stack.AddRoute(stack.Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: opts.PeerAddr.Addr(), NIC: a.NIC})
	}
	if opts.Addr6.IsValid() {
		// IPv6 beyond the device goes to the kernel too (on TUN the next
		// hop is the device; on TAP, the kernel's address).
		r := stack.Route{Dst: netip.MustParsePrefix("::/0"), NIC: a.NIC}
		if opts.TAP && opts.Addr6.Contains(opts.PeerAddr6.Addr()) {
			r.Gateway = opts.PeerAddr6.Addr()
		}
		a.Stack.AddRoute(r)
	}
	deliver := a.NIC.Deliver
	if impaired {
		a.inMeter = lossmeter.New(sim.HeaderLen(a.Device.Type()))
		a.in = newPipe(rand.New(rand.NewPCG(root.Uint64(), root.Uint64())), opts.Impair, a.Device.Type(), "kernel", "stacklab", sopts.Observer, a.inMeter.Exit(a.NIC.Deliver))
		deliver = a.inMeter.Entry(a.in.Send)
	}
	if err := a.Device.Start(deliver); err != nil {
		return nil, err
	}
	where := ""
	if opts.Netns != "" {
		where = " in netns " + opts.Netns
	}
	kind := "TUN"
	if opts.TAP {
		kind = "TAP"
	}
	a.logf("stacklab tun: %s device %s%s up, kernel %s, stack %s, mtu %d, seed %d", kind, a.Device.Name(), where, opts.PeerAddr, opts.Addr, opts.MTU, seed)
	return a, nil
}

func (a *App) logf(format string, args ...any) {
	a.logMu.Lock()
	defer a.logMu.Unlock()
	fmt.Fprintf(a.log, format+"\n", args...)
}

// Close removes the device, stops the impairment pipes and flushes the
// capture. It is idempotent.
func (a *App) Close() error {
	if a.closed.Swap(true) {
		return nil
	}
	var errs []error
	if a.Device != nil {
		errs = append(errs, a.Device.Close())
	}
	if a.in != nil {
		a.in.Close()
	}
	if a.out != nil {
		a.out.Close()
	}
	if a.rec != nil {
		errs = append(errs, a.rec.Close())
	}
	return errors.Join(errs...)
}
