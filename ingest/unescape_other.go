//go:build !amd64 || purego

package ingest

const vectorUnescape = false

func unescapeBlocks(dst, src []byte) (consumed, written int) { return 0, 0 }
