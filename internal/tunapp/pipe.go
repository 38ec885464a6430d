package tunapp

import (
	"math/rand/v2"

	"stacklab/sim"
	"stacklab/stack"
	"stacklab/stack/core"
)

// pipe is one direction of impairments between the device and the stack.
type pipe = sim.Pipe

// newPipe returns a real-time impairment pipe delivering to deliver.
func newPipe(r *rand.Rand, imp sim.Impairments, lt stack.LinkType, from, to string, obs core.Observer, deliver func(stack.Packet)) *pipe {
	return sim.NewPipeConfig(sim.PipeConfig{
		Clock:       stack.RealClock{},
		Rand:        r,
		Impairments: imp,
		Deliver:     deliver,
		HeaderLen:   sim.HeaderLen(lt),
		Name:        from + "—" + to,
		From:        from,
		To:          to,
		Observer:    obs,
	})
}
