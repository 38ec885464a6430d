//go:build amd64 && !purego

#include "textflag.h"

// func sum16AVX2(b []byte) uint64
//
// Each 64-byte step loads two 32-byte vectors and splits every 32-bit
// lane into its two little-endian 16-bit words: the low word by a mask,
// the high one by a shift. Four accumulators of eight 32-bit lanes take
// them, so the adds of one step do not wait on each other. At the end
// the accumulators are added lane by lane (each lane holds at most
// 16,384 words of 65,535, so four of them stay below 2^32), widened to
// 64 bits and added across.
TEXT ·sum16AVX2(SB), NOSPLIT, $0-32
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), CX

	VPCMPEQD Y15, Y15, Y15
	VPSRLD   $16, Y15, Y15 // 0x0000ffff in every lane
	VPXOR    Y0, Y0, Y0
	VPXOR    Y1, Y1, Y1
	VPXOR    Y2, Y2, Y2
	VPXOR    Y3, Y3, Y3

loop:
	VMOVDQU 0(SI), Y4
	VMOVDQU 32(SI), Y5
	VPAND   Y15, Y4, Y6
	VPSRLD  $16, Y4, Y4
	VPAND   Y15, Y5, Y7
	VPSRLD  $16, Y5, Y5
	VPADDD  Y6, Y0, Y0
	VPADDD  Y4, Y1, Y1
	VPADDD  Y7, Y2, Y2
	VPADDD  Y5, Y3, Y3
	ADDQ    $64, SI
	SUBQ    $64, CX
	JNZ     loop

	VPADDD       Y1, Y0, Y0
	VPADDD       Y3, Y2, Y2
	VPADDD       Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPMOVZXDQ    X0, Y0   // lanes 0-3, widened
	VPMOVZXDQ    X1, Y1   // lanes 4-7, widened
	VPADDQ       Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDQ       X1, X0, X0
	VPSHUFD      $0x4e, X0, X1 // swap the two 64-bit halves
	VPADDQ       X1, X0, X0
	VMOVQ        X0, AX
	VZEROUPPER
	MOVQ         AX, ret+24(FP)
	RET
