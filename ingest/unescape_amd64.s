//go:build !purego

#include "textflag.h"

// unescapeTable maps the byte after a backslash (its low 7 bits) to the
// byte the escape stands for: " \ / b f n r t; 0 for \u and for bytes
// that make no escape.
DATA unescapeTable<>+0x00(SB)/8, $0
DATA unescapeTable<>+0x08(SB)/8, $0
DATA unescapeTable<>+0x10(SB)/8, $0
DATA unescapeTable<>+0x18(SB)/8, $0
DATA unescapeTable<>+0x20(SB)/8, $0x0000000000220000 // '"' at 0x22
DATA unescapeTable<>+0x28(SB)/8, $0x2f00000000000000 // '/' at 0x2f
DATA unescapeTable<>+0x30(SB)/8, $0
DATA unescapeTable<>+0x38(SB)/8, $0
DATA unescapeTable<>+0x40(SB)/8, $0
DATA unescapeTable<>+0x48(SB)/8, $0
DATA unescapeTable<>+0x50(SB)/8, $0
DATA unescapeTable<>+0x58(SB)/8, $0x0000005c00000000 // '\' at 0x5c
DATA unescapeTable<>+0x60(SB)/8, $0x000c000000080000 // b at 0x62, f at 0x66
DATA unescapeTable<>+0x68(SB)/8, $0x000a000000000000 // n at 0x6e
DATA unescapeTable<>+0x70(SB)/8, $0x00000009000d0000 // r at 0x72, t at 0x74
DATA unescapeTable<>+0x78(SB)/8, $0
GLOBL unescapeTable<>(SB), RODATA|NOPTR, $128

// ESCAPES sets R11 to the escaped bytes of the block in Z0 whose
// backslashes are in BX, and CX to the backslashes that open an escape:
// the even ones of each run counted from its start (simdjson's escape
// scanner). With p (R13) the carried bit and b = bs &^ p,
// e = ((b<<1 | odd) - b) ^ odd; the opening backslashes are e & bs, the
// escaped bytes e ^ (bs | p).
#define ESCAPES \
	ANDNQ BX, R13, AX \
	LEAQ  (AX)(AX*1), CX \
	ORQ   R8, CX \
	SUBQ  AX, CX \
	XORQ  R8, CX \
	MOVQ  BX, R11 \
	ORQ   R13, R11 \
	XORQ  CX, R11 \
	ANDQ  BX, CX

// UNDO checks that each escaped byte (R11) is one of " \ / b f n r t
// (ASCII), else jumps to done; then replaces the escaped bytes of Z0 and
// packs the bytes R14 keeps but the opening backslashes (CX) to its
// start, their number in AX; R13 becomes the next block's carried bit.
#define UNDO \
	VMOVDQA64     Z0, Z1 \
	VPERMI2B      Z29, Z28, Z1 \
	KMOVQ         R11, K4 \
	VPTESTNMB     Z1, Z1, K4, K2 \
	VPMOVB2M      Z0, K3 \
	KANDQ         K4, K3, K3 \
	KORTESTQ      K2, K3 \
	JNZ           done \
	VMOVDQU8      Z1, K4, Z0 \
	MOVQ          CX, R13 \
	SHRQ          $63, R13 \
	ANDNQ         R14, CX, CX \
	KMOVQ         CX, K5 \
	VPCOMPRESSB.Z Z0, K5, Z0 \
	POPCNTQ       CX, AX

// func unescapeBlocks(dst, src []byte) (consumed, written int)
//
// Unescapes src 64 bytes at a time (AVX-512 BW, VBMI, VBMI2), the last
// bytes as a shorter block, and stops before a block holding a \u or a
// malformed escape, or a backslash that ends src. An escape may straddle
// two blocks: whether the next block's first byte is escaped is carried
// (R13), so that every block is 64 bytes on and the next load need not
// wait for this block's escapes. Where it stops, no escape is open.
// R15 is left alone: a global's address clobbers it when linking
// dynamically.
TEXT ·unescapeBlocks(SB), NOSPLIT, $0-64
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), DX
	XORQ R9, R9                      // i: bytes of src read
	XORQ R10, R10                    // w: bytes of dst written
	XORQ R13, R13                    // 1: the block's first byte is escaped
	MOVL $0x5c, AX
	VPBROADCASTB AX, Z30             // '\' in every byte
	VMOVDQU64 unescapeTable<>+0(SB), Z28
	VMOVDQU64 unescapeTable<>+64(SB), Z29
	MOVQ $0xaaaaaaaaaaaaaaaa, R8     // the odd bits
	MOVQ $-1, R14                    // a whole block's bytes are all src's

loop:
	MOVQ DX, R12
	SUBQ R9, R12
	CMPQ R12, $64
	JLT  tail
	VMOVDQU8 (SI)(R9*1), Z0
	VPCMPEQB Z30, Z0, K1
	KMOVQ    K1, BX                  // backslashes
	MOVQ     BX, AX
	ORQ      R13, AX
	JZ       copy
	ESCAPES
	UNDO
	// A whole block is stored whole: w <= i, so dst has room for it.
	VMOVDQU8 Z0, (DI)(R10*1)
	ADDQ     $64, R9
	ADDQ     AX, R10
	JMP      loop

copy:
	VMOVDQU8 Z0, (DI)(R10*1)         // nothing to undo
	ADDQ     $64, R9
	ADDQ     $64, R10
	JMP      loop

tail:
	// The last bytes: loaded under a mask (the bytes past src's end are
	// not read, and come as zeros), stored under one.
	TESTQ R12, R12
	JZ    done
	MOVQ  R12, CX
	MOVQ  $1, R14
	SHLQ  CX, R14
	DECQ  R14
	KMOVQ R14, K6
	VMOVDQU8.Z (SI)(R9*1), K6, Z0
	VPCMPEQB Z30, Z0, K1
	KMOVQ    K1, BX
	ESCAPES
	LEAQ  -1(R12), AX
	BTQ   AX, CX
	JCS   done                       // a backslash ends src: left to the caller
	UNDO
	MOVQ  AX, CX
	MOVQ  $1, BX
	SHLQ  CX, BX
	DECQ  BX
	KMOVQ BX, K7
	VMOVDQU8 Z0, K7, (DI)(R10*1)
	ADDQ  R12, R9
	ADDQ  AX, R10

done:
	// An escape left open (its backslash dropped, the byte it escapes
	// not read) is given back: the caller reads it from its backslash.
	SUBQ R13, R9
	VZEROUPPER
	MOVQ R9, consumed+48(FP)
	MOVQ R10, written+56(FP)
	RET
