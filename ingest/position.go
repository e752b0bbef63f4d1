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
// Earlier keeps the truncations before that one, newest first: a file
// truncated again before the copy of its earlier truncation was read (the
// reader stopped meanwhile) has that copy continue from where it stood
// then too, not read again from its start.
type Position struct {
	Key         FileKey
	Path        string
	Offset      int64
	Fingerprint []byte

	PrevOffset      int64
	PrevFingerprint []byte
	Earlier         []Truncation
}

// Truncation is where a file stood when it was truncated.
type Truncation struct {
	Offset      int64
	Fingerprint []byte
}

// maxEarlier bounds Position.Earlier.
const maxEarlier = 8

// truncated records that the file stood at offset, with fingerprint fp,
// when it was truncated: the last truncation becomes an earlier one.
func (p *Position) truncated(offset int64, fp []byte) {
	if offset <= 0 {
		return
	}
	if p.PrevOffset > 0 && len(p.PrevFingerprint) > 0 {
		earlier := make([]Truncation, 0, maxEarlier) // never shared with other copies of p
		earlier = append(earlier, Truncation{p.PrevOffset, p.PrevFingerprint})
		p.Earlier = append(earlier, p.Earlier[:min(len(p.Earlier), maxEarlier-1)]...)
	}
	p.PrevOffset, p.PrevFingerprint = offset, fp
}
