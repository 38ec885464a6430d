package tunapp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"stacklab/sim"
	"stacklab/stack"
)

func TestFlagsParse(t *testing.T) {
	var f Flags
	fs := pflag.NewFlagSet("tun", pflag.ContinueOnError)
	f.Register(fs)
	err := fs.Parse([]string{
		"--addr", "192.168.7.2/30", "--peer-addr", "192.168.7.1", "--tap", "--mtu", "9000", "--netns", "lab",
		"--cc", "CUBIC", "--nodelay", "--no-sack", "--no-timestamps", "--no-wscale", "--no-delayed-ack",
		"--sndbuf", "1MiB", "--rcvbuf", "64KiB",
		"--delay", "5ms", "--jitter", "1ms", "--loss", "2%", "--reorder", "0.05", "--dup", "1%", "--corrupt", "0.1%",
		"--rate", "10Mbit", "-o", "out", "--format", "json", "--serve", "discard", "--port", "9999", "--seed", "7",
	})
	if err != nil {
		t.Fatal(err)
	}
	o, m, err := f.Parse()
	if err != nil {
		t.Fatal(err)
	}
	want := Options{
		Addr:     netip.MustParsePrefix("192.168.7.2/30"),
		PeerAddr: netip.MustParsePrefix("192.168.7.1/24"),
		Dev:      "stacklab%d", TAP: true, MTU: 9000, Netns: "lab", Seed: 7,
		TCP: stack.TCPOptions{
			Congestion: "cubic", NoDelay: true, NoSACK: true, NoTimestamps: true, NoWindowScale: true,
			NoDelayedAck: true, SendBuffer: 1 << 20, RecvBuffer: 64 << 10,
		},
		Impair: sim.Impairments{
			Delay: 5 * time.Millisecond, Jitter: time.Millisecond, Loss: 0.02, Reorder: 0.05,
			Duplicate: 0.01, Corrupt: 0.001, Rate: 10_000_000,
		},
		OutDir: "out", Format: "json",
	}
	if o != want {
		t.Errorf("options\n got %+v\nwant %+v", o, want)
	}
	if m != (Mode{Serve: "discard", Port: 9999}) {
		t.Errorf("mode %+v", m)
	}
}
