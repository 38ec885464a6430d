package tunapp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"stacklab/sim"
	"stacklab/stack/tun"
)

// Flags are the command-line flags of `stacklab tun`, as typed; [Flags.Parse]
// turns them into [Options] and a [Mode].
type Flags struct {
	Addr, PeerAddr   string
	Addr6, PeerAddr6 string
	Dev              string
	TAP              bool
	MTU              int
	Netns            string
	Seed             uint64

	CC       string
	NoDelay  bool
	NoSACK   bool
	NoTS     bool
	NoWScale bool
	NoDelAck bool
	SndBuf   string
	RcvBuf   string
	Delay    string
	Jitter   string
	Loss     string
	Reorder  string
	Dup      string
	Corrupt  string
	Rate     string
	OutDir   string
	Format   string
	Trace    bool
	Serve    string
	Port     uint16
	Get      string
	Hash     bool
	Connect  string
	Quiet    bool

	// Version is not a flag: the command sets it for the capture files.
	Version string
}

// Register defines the flags on fs.
func (f *Flags) Register(fs *pflag.FlagSet) {
	fs.StringVar(&f.Addr, "addr", DefaultAddr.String(), "the stack's address and prefix on the device")
	fs.StringVar(&f.PeerAddr, "peer-addr", DefaultPeerAddr.String(), "the kernel side's address and prefix on the device")
	fs.StringVar(&f.Addr6, "addr6", "", "the stack's IPv6 address and prefix on the device, e.g. fd99::2/64 (with --peer-addr6; default: IPv4 only)")
	fs.StringVar(&f.PeerAddr6, "peer-addr6", "", "the kernel side's IPv6 address and prefix on the device, e.g. fd99::1/64")
	fs.StringVar(&f.Dev, "dev", "stacklab%d", "device name (%d: the kernel picks the number)")
	fs.BoolVar(&f.TAP, "tap", false, "use a TAP (Ethernet, with ARP) device instead of TUN (raw IP)")
	fs.IntVar(&f.MTU, "mtu", tun.DefaultMTU, "device and interface MTU")
	fs.StringVar(&f.Netns, "netns", "", "create the device inside this network namespace (ip netns add NAME)")
	fs.Uint64Var(&f.Seed, "seed", 0, "seed for the stack's and the impairments' randomness (0: random)")

	fs.StringVar(&f.CC, "cc", "", "congestion control: newreno or cubic (default newreno)")
	fs.BoolVar(&f.NoDelay, "nodelay", false, "disable Nagle's algorithm (TCP_NODELAY)")
	fs.BoolVar(&f.NoSACK, "no-sack", false, "do not offer or use SACK")
	fs.BoolVar(&f.NoTS, "no-timestamps", false, "do not offer TCP timestamps")
	fs.BoolVar(&f.NoWScale, "no-wscale", false, "do not offer window scaling")
	fs.BoolVar(&f.NoDelAck, "no-delayed-ack", false, "acknowledge every segment at once")
	fs.StringVar(&f.SndBuf, "sndbuf", "", "TCP send buffer size, e.g. 256KiB")
	fs.StringVar(&f.RcvBuf, "rcvbuf", "", "TCP receive buffer size, e.g. 256KiB")

	fs.StringVar(&f.Delay, "delay", "", "one-way delay added in each direction, e.g. 5ms")
	fs.StringVar(&f.Jitter, "jitter", "", "delay variation (±), e.g. 1ms")
	fs.StringVar(&f.Loss, "loss", "", "random loss in each direction, e.g. 2% or 0.02")
	fs.StringVar(&f.Reorder, "reorder", "", "probability a packet is held back and overtaken, e.g. 5%")
	fs.StringVar(&f.Dup, "dup", "", "duplication probability, e.g. 1%")
	fs.StringVar(&f.Corrupt, "corrupt", "", "probability a byte of a packet is flipped, e.g. 0.1%")
	fs.StringVar(&f.Rate, "rate", "", "rate limit in each direction, e.g. 10Mbit")

	fs.StringVarP(&f.OutDir, "out", "o", "", "write the pcapng capture into this directory")
	fs.StringVar(&f.Format, "format", "text", "trace format: text or json")
	fs.BoolVar(&f.Trace, "trace", false, "print the layered trace (to stdout; to stderr with --get and --connect, whose data goes to stdout)")

	fs.StringVar(&f.Serve, "serve", "", "serve: echo, discard, http or udp-echo (default echo)")
	fs.Uint16Var(&f.Port, "port", 0, "port to serve on (default: echo 7, discard 9, http 80, udp-echo 7)")
	fs.StringVar(&f.Get, "get", "", "fetch this URL through the stack and print the body")
	fs.BoolVar(&f.Hash, "sha256", false, "with --get: print the body's SHA-256 and size instead of the body")
	fs.StringVar(&f.Connect, "connect", "", "connect to HOST:PORT through the stack and pipe stdin/stdout (like nc)")
	fs.BoolVarP(&f.Quiet, "quiet", "q", false, "no status lines on stderr")
}

// Parse checks the flags and returns the options and mode they describe.
// Errors are [*SetupError]s naming the flag.
func (f *Flags) Parse() (Options, Mode, error) {
	var o Options
	var err error
	bad := func(flag string, err error) (Options, Mode, error) {
		return Options{}, Mode{}, &SetupError{Err: fmt.Errorf("--%s: %v", flag, err)}
	}
	if o.Addr, err = parsePrefix(f.Addr); err != nil {
		return bad("addr", err)
	}
	if o.PeerAddr, err = parsePrefix(f.PeerAddr); err != nil {
		return bad("peer-addr", err)
	}
	for _, x := range []struct {
		flag, s string
		p       *netip.Prefix
	}{{"addr6", f.Addr6, &o.Addr6}, {"peer-addr6", f.PeerAddr6, &o.PeerAddr6}} {
		if x.s == "" {
			continue
		}
		p, err := netip.ParsePrefix(x.s)
		if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() {
			return bad(x.flag, fmt.Errorf("%q: want an IPv6 address with a prefix length, e.g. fd99::2/64", x.s))
		}
		*x.p = p
	}
	o.Dev, o.TAP, o.MTU, o.Netns, o.Seed = f.Dev, f.TAP, f.MTU, f.Netns, f.Seed
	if f.MTU < 68 || f.MTU > 65535 {
		return bad("mtu", fmt.Errorf("%d out of range (68–65535)", f.MTU))
	}
	switch cc := strings.ToLower(f.CC); cc {
	case "", "newreno", "reno", "cubic":
		if cc == "reno" {
			cc = "newreno"
		}
		o.TCP.Congestion = cc
	default:
		return bad("cc", fmt.Errorf("%q: use newreno or cubic", f.CC))
	}
	o.TCP.NoDelay, o.TCP.NoSACK, o.TCP.NoTimestamps, o.TCP.NoWindowScale, o.TCP.NoDelayedAck = f.NoDelay, f.NoSACK, f.NoTS, f.NoWScale, f.NoDelAck
	if f.SndBuf != "" {
		if o.TCP.SendBuffer, err = sim.ParseSize(f.SndBuf); err != nil {
			return bad("sndbuf", err)
		}
	}
	if f.RcvBuf != "" {
		if o.TCP.RecvBuffer, err = sim.ParseSize(f.RcvBuf); err != nil {
			return bad("rcvbuf", err)
		}
	}

	imp := &o.Impair
	for _, d := range []struct {
		flag, val string
		dst       any
	}{
		{"delay", f.Delay, &imp.Delay},
		{"jitter", f.Jitter, &imp.Jitter},
		{"loss", f.Loss, &imp.Loss},
		{"reorder", f.Reorder, &imp.Reorder},
		{"dup", f.Dup, &imp.Duplicate},
		{"corrupt", f.Corrupt, &imp.Corrupt},
		{"rate", f.Rate, &imp.Rate},
	} {
		if d.val == "" {
			continue
		}
		switch dst := d.dst.(type) {
		case *float64:
			*dst, err = sim.ParseProbability(d.val)
		case *uint64:
			*dst, err = sim.ParseRate(d.val)
		default:
			*dst.(*time.Duration), err = sim.ParseDuration(d.val)
		}
		if err != nil {
			return bad(d.flag, err)
		}
	}
	if err := o.Impair.Validate(); err != nil {
		return Options{}, Mode{}, &SetupError{Err: err}
	}

	o.OutDir, o.Format = f.OutDir, f.Format
	if o.Format != "text" && o.Format != "json" {
		return bad("format", fmt.Errorf("%q: use text or json", f.Format))
	}
	m := Mode{Serve: f.Serve, Port: f.Port, Get: f.Get, Hash: f.Hash, Connect: f.Connect}
	if f.Hash && f.Get == "" {
		return bad("sha256", errors.New("only goes with --get"))
	}
	if f.Port != 0 && (f.Get != "" || f.Connect != "") {
		return bad("port", errors.New("only goes with --serve"))
	}
	return o, m, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q: want an IPv4 address with a prefix length, e.g. 10.99.0.2/24", s)
		}
		return netip.PrefixFrom(a, 24), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("%q: want an IPv4 address with a prefix length, e.g. 10.99.0.2/24", s)
	}
	return p, nil
}

// Main runs `stacklab tun` with parsed flags until ctx ends (a server) or
// the mode finishes, and returns the exit code: 0, 1 for a failure at run
// time, 2 for bad flags or a missing privilege or device. Errors go to
// stderr as one line starting "stacklab tun: ".
func Main(ctx context.Context, f *Flags, stdin io.Reader, stdout, stderr io.Writer) int {
	opts, mode, err := f.Parse()
	if err == nil {
		opts.Version = f.Version
		if !f.Quiet {
			opts.Log = stderr
		}
		if f.Trace {
			opts.Trace = stdout
			if mode.Connect != "" || mode.Get != "" {
				// Standard output carries the data.
				opts.Trace = stderr
			}
		}
		err = Run(ctx, opts, mode, stdin, stdout)
	}
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "stacklab tun: %v\n", err)
	var se *SetupError
	if errors.As(err, &se) {
		return 2
	}
	return 1
}
