package wire

import (
	"bytes"
	"testing"
)

func TestParseTCPOptions(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want TCPOptions
		err  error
	}{
		{"empty", nil, TCPOptions{}, nil},
		{"linux syn", []byte{2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7},
			TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true, HasTS: true, TSVal: 1, WScale: 7, HasWScale: true}, nil},
		{"nop nop ts", []byte{1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6},
			TCPOptions{HasTS: true, TSVal: 5, TSEcr: 6}, nil},
		{"sack 2 blocks", []byte{1, 1, 5, 18, 0, 0, 0, 10, 0, 0, 0, 20, 0, 0, 0, 30, 0, 0, 0, 40},
			TCPOptions{NSACK: 2, SACK: [4]SACKBlock{{10, 20}, {30, 40}}}, nil},
		{"eol stops", []byte{0, 2, 4, 5, 0xb4}, TCPOptions{}, nil},
		{"mss then eol padding", []byte{2, 4, 2, 0x18, 0, 0, 0, 0}, TCPOptions{MSS: 536, HasMSS: true}, nil},
		{"unknown kind skipped", []byte{30, 4, 0xaa, 0xbb, 2, 4, 0, 100}, TCPOptions{MSS: 100, HasMSS: true}, nil},
		{"mss wrong length skipped", []byte{2, 5, 1, 2, 3, 1, 1, 1}, TCPOptions{}, nil},
		{"wscale wrong length skipped", []byte{3, 4, 7, 0}, TCPOptions{}, nil},
		{"sack not multiple of 8 skipped", []byte{5, 7, 0, 0, 0, 1, 0}, TCPOptions{}, nil},
		{"sack 5 blocks skipped", append([]byte{5, 42}, make([]byte, 40)...), TCPOptions{}, nil},
		{"missing length", []byte{1, 2}, TCPOptions{}, ErrBadOption},
		{"length 0", []byte{8, 0, 0, 0}, TCPOptions{}, ErrBadOption},
		{"length 1", []byte{30, 1, 0, 0}, TCPOptions{}, ErrBadOption},
		{"past end keeps earlier", []byte{2, 4, 5, 0xb4, 8, 10, 0}, TCPOptions{MSS: 1460, HasMSS: true}, ErrBadOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := TCPOptions{HasTS: true, NSACK: 3} // must be reset
			err := ParseTCPOptions(tt.in, &o)
			if err != tt.err {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if o != tt.want {
				t.Fatalf("got  %+v\nwant %+v", o, tt.want)
			}
		})
	}
}

func TestEncodeTCPOptions(t *testing.T) {
	sack3 := [4]SACKBlock{{1, 2}, {3, 4}, {5, 6}, {7, 8}}
	tests := []struct {
		name string
		o    TCPOptions
		syn  bool
		want []byte
	}{
		{"none", TCPOptions{}, false, []byte{}},
		{"syn linux", TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true, HasTS: true, TSVal: 1, WScale: 7, HasWScale: true}, true,
			[]byte{2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7}},
		{"syn no ts", TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true, WScale: 7, HasWScale: true}, true,
			// Linux 6.18 with tcp_timestamps=0 sends
			// <mss,nop,nop,sackOK,nop,wscale>
			[]byte{2, 4, 5, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7}},
		{"syn ts no sack", TCPOptions{MSS: 1460, HasMSS: true, HasTS: true, TSVal: 1, TSEcr: 2}, true,
			[]byte{2, 4, 5, 0xb4, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}},
		{"syn mss only", TCPOptions{MSS: 536, HasMSS: true}, true, []byte{2, 4, 2, 0x18}},
		{"data ts", TCPOptions{HasMSS: true, MSS: 1, HasTS: true, TSVal: 9, TSEcr: 8}, false,
			[]byte{1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8}},
		{"data ts + 4 sack keeps 3", TCPOptions{HasTS: true, TSVal: 9, TSEcr: 8, NSACK: 4, SACK: sack3}, false,
			[]byte{1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8, 1, 1, 5, 26,
				0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6}},
		{"data 4 sack no ts", TCPOptions{NSACK: 4, SACK: sack3}, false,
			[]byte{1, 1, 5, 34, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 8}},
		{"data 1 sack", TCPOptions{NSACK: 1, SACK: sack3}, false, []byte{1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2}},
		{"bad NSACK clamped", TCPOptions{NSACK: 99, SACK: sack3}, false,
			[]byte{1, 1, 5, 34, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := make([]byte, TCPMaxOptionsLen)
			n := EncodeTCPOptions(b, &tt.o, tt.syn)
			if n != TCPOptionsLen(&tt.o, tt.syn) || n%4 != 0 || n > TCPMaxOptionsLen {
				t.Fatalf("wrote %d, TCPOptionsLen %d", n, TCPOptionsLen(&tt.o, tt.syn))
			}
			if !bytes.Equal(b[:n], tt.want) {
				t.Fatalf("got  %v\nwant %v", b[:n], tt.want)
			}
			// And back.
			var o TCPOptions
			if err := ParseTCPOptions(b[:n], &o); err != nil {
				t.Fatal(err)
			}
			if o.HasTS != tt.o.HasTS || o.TSVal != tt.o.TSVal || o.HasWScale != (tt.syn && tt.o.HasWScale) ||
				o.HasMSS != (tt.syn && tt.o.HasMSS) || o.SACKPermitted != (tt.syn && tt.o.SACKPermitted) {
				t.Fatalf("parsed back %+v", o)
			}
		})
	}
}
