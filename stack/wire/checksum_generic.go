//go:build !amd64 || purego

package wire

// vecSum is false where no vector sum is written: [Checksum] sums every
// byte in Go.
const vecSum = false

func sum16AVX2([]byte) uint64 { panic("wire: no vector checksum on this platform") }
