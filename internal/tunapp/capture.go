package tunapp

import (
	"errors"

	"stacklab/stack"
	"stacklab/stack/core"
	"stacklab/stack/tun"
)

// recorder writes the capture and the trace. (Placeholder until
// capture.Recorder lands.)
type recorder struct{}

func newRecorder(opts Options, seed uint64) (*recorder, error) {
	if opts.OutDir == "" && opts.Trace == nil {
		return nil, nil
	}
	return nil, errors.New("capture and trace are not available yet in tun mode")
}

func (r *recorder) observer() core.Observer { return nil }

func (r *recorder) tap() stack.Tap { return nil }

func (r *recorder) describe(nic *stack.NIC, dev *tun.Device, opts Options) {}

func (r *recorder) Close() error { return nil }
