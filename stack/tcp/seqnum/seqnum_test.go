package seqnum

import "testing"

func TestCompareAcrossWrap(t *testing.T) {
	tests := []struct {
		v, w Value
		less bool
	}{
		{1, 2, true},
		{2, 1, false},
		{0xffffffff, 0, true},
		{0, 0xffffffff, false},
		{0xfffffff0, 0x10, true},
		{0x7fffffff, 0x80000000, true},
		{5, 5, false},
	}
	for _, tt := range tests {
		if got := tt.v.LessThan(tt.w); got != tt.less {
			t.Errorf("%#x.LessThan(%#x) = %v, want %v", tt.v, tt.w, got, tt.less)
		}
		if got := tt.v.LessThanEq(tt.w); got != (tt.less || tt.v == tt.w) {
			t.Errorf("%#x.LessThanEq(%#x) = %v", tt.v, tt.w, got)
		}
	}
}

func TestInWindowAcrossWrap(t *testing.T) {
	first := Value(0xfffffff0)
	for _, tt := range []struct {
		v  Value
		in bool
	}{{0xfffffff0, true}, {0xffffffff, true}, {0, true}, {0xf, true}, {0x10, false}, {0xffffffef, false}} {
		if got := tt.v.InWindow(first, 0x20); got != tt.in {
			t.Errorf("%#x.InWindow(%#x, 0x20) = %v, want %v", tt.v, first, got, tt.in)
		}
	}
	if got := Max(0xfffffff0, 3); got != 3 {
		t.Errorf("Max = %#x", got)
	}
	if got := Value(0xfffffffe).Add(4); got != 2 {
		t.Errorf("Add = %#x", got)
	}
	if got := Value(0xfffffffe).Size(2); got != 4 {
		t.Errorf("Size = %d", got)
	}
}
