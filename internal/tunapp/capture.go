package tunapp

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"stacklab/capture"
	"stacklab/sim"
	"stacklab/stack"
	"stacklab/stack/core"
	"stacklab/stack/tun"
)

// flushEvery is how often a live capture and trace are written out.
const flushEvery = 200 * time.Millisecond

// recorder writes the capture and the trace of a live run: a
// capture.Recorder flushed every [flushEvery] by its own goroutine, so
// that the trace follows the traffic and the files are readable while
// stacklab runs.
type recorder struct {
	rec  *capture.Recorder
	stop chan struct{}
	wg   sync.WaitGroup
}

// newRecorder returns nil when neither a capture nor a trace is wanted.
func newRecorder(opts Options, seed uint64) (*recorder, error) {
	if opts.OutDir == "" && opts.Trace == nil {
		return nil, nil
	}
	format, err := capture.ParseFormat(opts.Format)
	if err != nil {
		return nil, err
	}
	rec, err := capture.New(capture.Options{
		Dir:      opts.OutDir,
		Trace:    opts.Trace,
		Format:   format,
		Scenario: "tun",
		Seed:     seed,
		Version:  opts.Version,
		Names: map[netip.Addr]string{
			opts.Addr.Addr():     "stacklab",
			opts.PeerAddr.Addr(): "kernel",
		},
	})
	if err != nil {
		return nil, err
	}
	r := &recorder{rec: rec, stop: make(chan struct{})}
	r.wg.Add(1)
	go r.flusher()
	return r, nil
}

// flusher is the recorder's goroutine.
func (r *recorder) flusher() {
	defer r.wg.Done()
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.rec.Flush()
		case <-r.stop:
			return
		}
	}
}

func (r *recorder) observer() core.Observer { return r.rec }

func (r *recorder) tap() stack.Tap { return r.rec }

// describe names the device, namespace, addresses and impairments in the
// capture's interface description.
func (r *recorder) describe(nic *stack.NIC, dev *tun.Device, opts Options) {
	kind := "TUN"
	if opts.TAP {
		kind = "TAP"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s device %s", kind, dev.Name())
	if opts.Netns != "" {
		fmt.Fprintf(&b, " in netns %s", opts.Netns)
	}
	fmt.Fprintf(&b, ", stack %s, kernel %s, mtu %d", opts.Addr, opts.PeerAddr, opts.MTU)
	if imp := describeImpairments(opts.Impair); imp != "" {
		b.WriteString(", both directions: " + imp)
	}
	r.rec.Describe(nic.Stack().Name()+":"+nic.Name(), b.String())
}

func describeImpairments(imp sim.Impairments) string {
	var parts []string
	if imp.Delay > 0 {
		parts = append(parts, "delay "+imp.Delay.String())
	}
	if imp.Jitter > 0 {
		parts = append(parts, "jitter "+imp.Jitter.String())
	}
	if imp.Rate > 0 {
		parts = append(parts, fmt.Sprintf("rate %d bit/s", imp.Rate))
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"loss", imp.Loss}, {"reorder", imp.Reorder}, {"dup", imp.Duplicate}, {"corrupt", imp.Corrupt}} {
		if p.v > 0 {
			parts = append(parts, fmt.Sprintf("%s %g%%", p.name, p.v*100))
		}
	}
	return strings.Join(parts, ", ")
}

// Close stops the flusher and closes the capture.
func (r *recorder) Close() error {
	close(r.stop)
	r.wg.Wait()
	return r.rec.Close()
}
