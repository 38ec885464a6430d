package scenario

import (
	"stacklab/sim/scenario/diag"
)

// The loader's positions and errors; see package diag.
type (
	Pos       = diag.Pos
	Error     = diag.Error
	ErrorList = diag.ErrorList
)

// fieldDiff is one field of a failed call or check: wanted and got.
type fieldDiff struct {
	Field, Want, Got string
}
