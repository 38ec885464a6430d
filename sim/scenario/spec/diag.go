package spec

import (
	"stacklab/sim/scenario/diag"
)

// The loader's positions and errors; see package diag.
type (
	Pos       = diag.Pos
	Error     = diag.Error
	ErrorList = diag.ErrorList
)
