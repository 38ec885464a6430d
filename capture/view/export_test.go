package view

// FirstTime is firstTime, for the external tests' oracle.
var FirstTime = firstTime

// BuildLimited builds a page of trace holding at most limit records.
func BuildLimited(in Input, trace []byte, limit int) (*Model, error) {
	b := NewBuilder(in)
	b.limit = limit
	b.Write(trace)
	return b.Model()
}
