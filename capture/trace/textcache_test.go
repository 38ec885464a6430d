package trace

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

func TestAppendUint(t *testing.T) {
	cases := []uint64{0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 9999, 10000, 65535, 1 << 32, math.MaxUint32, math.MaxUint64}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		cases = append(cases, r.Uint64()>>r.UintN(64))
	}
	for _, v := range cases {
		if got, want := string(appendUint([]byte("x"), v)), "x"+strconv.FormatUint(v, 10); got != want {
			t.Errorf("appendUint(%d) = %q, want %q", v, got, want)
		}
	}
}

func TestLineCache(t *testing.T) {
	var c lineCache
	keys := make([]lineKey, memoSize+1)
	for i := range keys {
		keys[i][0] = byte(i + 1)
		c.put(&keys[i], []byte{byte('a' + i)})
	}
	// The first key was replaced by the last.
	if _, ok := c.get(&keys[0]); ok {
		t.Error("the oldest entry is still cached")
	}
	for i := 1; i < len(keys); i++ {
		if text, ok := c.get(&keys[i]); !ok || string(text) != string(rune('a'+i)) {
			t.Errorf("key %d: %q, %v", i, text, ok)
		}
	}
	c.reset()
	if _, ok := c.get(&keys[1]); ok {
		t.Error("reset kept an entry")
	}
}

func TestCachedTime(t *testing.T) {
	var c textCache
	for _, d := range []time.Duration{0, 0, time.Millisecond, time.Millisecond, 0, -time.Second, 12 * time.Hour} {
		if got, want := string(c.time.append(nil, d, appendTime)), string(appendTime(nil, d)); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}

func TestNumMemo(t *testing.T) {
	var m numMemo
	for _, v := range []uint64{1514, 66, 1514, 66, 7, 1514, 0, 0, 4294967295, 66} {
		if got, want := string(m.append([]byte("x"), v)), "x"+strconv.FormatUint(v, 10); got != want {
			t.Errorf("append(%d) = %q, want %q", v, got, want)
		}
	}
}
