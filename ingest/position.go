package ingest

// FileKey identifies a file by device and inode, whatever its name.
type FileKey struct {
	Dev, Ino uint64
}

// Position is how far an input file has been read: the offset just past
// the last line whose counts are committed.
//
// A file that exists is known by Key. Fingerprint tells whether the file
// at Key is still the one that was read (an inode can be reused, a file
// can be truncated and rewritten), and recognizes a copy of it
// (copytruncate, a compressed rotation, a move across filesystems): it
// holds digests of the file's first bytes and of the bytes just before
// Offset, never the bytes themselves, which may hold tokens (see
// fingerprint.go for its layout). A copy is trusted as a continuation only
// when its bytes up to Offset match both.
//
// For a compressed file, Offset counts decompressed bytes.
//
// PrevOffset and PrevFingerprint keep, across restarts, where the file
// stood before its last truncation: its rotated copy continues from there.
type Position struct {
	Key         FileKey
	Path        string
	Offset      int64
	Fingerprint []byte

	PrevOffset      int64
	PrevFingerprint []byte
}
