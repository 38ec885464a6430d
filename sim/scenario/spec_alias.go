package scenario

import "stacklab/sim/scenario/spec"

// The scenario file as loaded: its types and the loader live in package
// spec (the schema, YAML loading and its limits); the runner and the
// program interpreter are this package. These names keep the API in one
// place for users of the runner.
type (
	AQM          = spec.AQM
	BoxParams    = spec.BoxParams
	BoxSpec      = spec.BoxSpec
	Burst        = spec.Burst
	Fault        = spec.Fault
	FaultAction  = spec.FaultAction
	FirewallSpec = spec.FirewallSpec
	Flood        = spec.Flood
	Host         = spec.Host
	Impair       = spec.Impair
	Limits       = spec.Limits
	Link         = spec.Link
	NATSpec      = spec.NATSpec
	Outputs      = spec.Outputs
	RouteSpec    = spec.RouteSpec
	Switch       = spec.Switch
	TimedEvent   = spec.TimedEvent
)

// Scenario is a loaded scenario file, ready to [Scenario.Run]: the
// loader's [spec.Scenario] with the runner's methods.
type Scenario struct{ *spec.Scenario }

// Fault actions, Limits' defaults and the duration of a scenario that
// names none.
const (
	FaultDrop      = spec.FaultDrop
	FaultDelay     = spec.FaultDelay
	FaultDuplicate = spec.FaultDuplicate
	FaultCorrupt   = spec.FaultCorrupt
	FaultReorder   = spec.FaultReorder

	DefaultMaxBytes = spec.DefaultMaxBytes
	DefaultMaxDepth = spec.DefaultMaxDepth
	DefaultDuration = spec.DefaultDuration
)

// Load parses a scenario file (see [spec.Load]).
func Load(name string, src []byte) (*Scenario, error) { return wrap(spec.Load(name, src)) }

// LoadLimited is Load with lim checked first (see [spec.LoadLimited]).
func LoadLimited(name string, src []byte, lim Limits) (*Scenario, error) {
	return wrap(spec.LoadLimited(name, src, lim))
}

// CheckInput applies lim to a scenario file (see [spec.CheckInput]).
func CheckInput(name string, src []byte, lim Limits) error { return spec.CheckInput(name, src, lim) }

func wrap(sc *spec.Scenario, err error) (*Scenario, error) {
	if sc == nil {
		return nil, err
	}
	return &Scenario{sc}, err
}
