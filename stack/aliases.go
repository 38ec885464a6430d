package stack

import "stacklab/stack/core"

// Shared types, defined in [core] so that protocol packages can use them
// without importing this package.
type (
	Clock     = core.Clock
	Timer     = core.Timer
	Event     = core.Event
	EventKind = core.EventKind
	Observer  = core.Observer
	Tuple     = core.Tuple
	TCPVars   = core.TCPVars
)

// Event kinds; see [core.EventKind].
const (
	EventCall       = core.EventCall
	EventState      = core.EventState
	EventTimer      = core.EventTimer
	EventRetransmit = core.EventRetransmit
	EventDrop       = core.EventDrop
	EventCongestion = core.EventCongestion
	EventNote       = core.EventNote
	EventSeries     = core.EventSeries
)
