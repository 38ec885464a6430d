package seqnum

// Value is a TCP sequence number.
type Value uint32

// Size is a length in sequence space.
type Size uint32

// LessThan reports whether v comes before w (v < w mod 2³²).
func (v Value) LessThan(w Value) bool { return int32(v-w) < 0 }

// LessThanEq reports whether v == w or v comes before w.
func (v Value) LessThanEq(w Value) bool { return int32(v-w) <= 0 }

// InRange reports whether a <= v < b.
func (v Value) InRange(a, b Value) bool { return v-a < b-a }

// InWindow reports whether first <= v < first+size.
func (v Value) InWindow(first Value, size Size) bool { return v.InRange(first, first.Add(size)) }

// Add returns v+s.
func (v Value) Add(s Size) Value { return v + Value(s) }

// Size returns the distance from v to w (w-v).
func (v Value) Size(w Value) Size { return Size(w - v) }

// UpdateForward advances v by s in place.
func (v *Value) UpdateForward(s Size) { *v += Value(s) }

// Max returns the later of v and w.
func Max(v, w Value) Value {
	if v.LessThan(w) {
		return w
	}
	return v
}

// Min returns the earlier of v and w.
func Min(v, w Value) Value {
	if v.LessThan(w) {
		return v
	}
	return w
}
