//go:build !purego

package ingest

import "golang.org/x/sys/cpu"

// vectorUnescape is set where unescapeBlocks can run.
var vectorUnescape = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VBMI &&
	cpu.X86.HasAVX512VBMI2 && cpu.X86.HasPOPCNT && cpu.X86.HasBMI1

// unescapeBlocks unescapes src into dst 64 bytes at a time while at least
// 64 bytes are left, stopping before a block that holds a \u or a
// malformed escape, and returns how far it read and wrote. It starts and
// stops where no escape is open. dst must have room for len(src) bytes:
// it stores whole blocks, so it may write past what it reports written.
//
//go:noescape
func unescapeBlocks(dst, src []byte) (consumed, written int)
