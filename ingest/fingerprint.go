package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"os"
)

// A fingerprint identifies a file's content by its first bytes (up to
// FingerprintSize): their count and a SHA-256 digest of them. It is saved
// with the read position, so it holds no log content: log lines carry
// tokens and personal data.
const fpDigest = 16

// fingerprintOf returns the fingerprint of f's first n bytes (fewer if the
// file is shorter).
func fingerprintOf(f *os.File, n int) ([]byte, error) {
	b := make([]byte, n)
	m, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	sum := sha256.Sum256(b[:m])
	fp := make([]byte, 2, 2+fpDigest)
	binary.BigEndian.PutUint16(fp, uint16(m))
	return append(fp, sum[:fpDigest]...), nil
}

// fpLen is how many of the file's first bytes a fingerprint covers; an
// unreadable fingerprint covers none.
func fpLen(fp []byte) int {
	if len(fp) != 2+fpDigest {
		return 0
	}
	return int(binary.BigEndian.Uint16(fp))
}

// matches reports whether f still starts with the bytes fp was made of.
func matches(fp []byte, f *os.File) (bool, error) {
	n := fpLen(fp)
	if n == 0 {
		return len(fp) == 0 || len(fp) == 2+fpDigest, nil
	}
	if n > FingerprintSize {
		return false, nil
	}
	cur, err := fingerprintOf(f, n)
	if err != nil {
		return false, err
	}
	return bytes.Equal(cur, fp), nil
}
