//go:build amd64 && !purego

package wire

import "golang.org/x/sys/cpu"

// vecSum is set on CPUs with AVX2, where [Checksum] sums the bulk of a
// long buffer with sum16AVX2.
var vecSum = cpu.X86.HasAVX2

// sum16AVX2 returns the plain sum (no end-around carry) of b's
// little-endian 16-bit words, 32 bytes a load: each word is added into a
// 32-bit lane of its own, so no carry is lost while a lane holds fewer
// than 65,537 words. len(b) must be a positive multiple of 64 and at
// most vecMaxLen, which bounds each of the four lanes a word can reach
// to 16,384 words, and the sum of the four to 2^32 - 2^18.
//
//go:noescape
func sum16AVX2(b []byte) uint64
