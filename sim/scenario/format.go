package scenario

import _ "embed"

// FormatReference is FORMAT.md, the reference of the scenario file
// format, for `stacklab help format` to print.
//
//go:embed FORMAT.md
var FormatReference string
