package ingest

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
)

// A fingerprint identifies a file's content without holding it (log lines
// carry tokens and personal data): SHA-256 digests, cut to 16 bytes, of
//   - the region just before the read offset (up to tailSize bytes), and
//   - the file's first bytes at growing lengths: min(size, FingerprintSize),
//     then 512, 1 KiB, ... up to maxHead bytes, as far as the file reached.
//
// The first bytes are shared by many distinct files (loggers with sorted
// keys, constant headers), so they only ever rule a copy out; a copy is
// trusted when the region before the offset matches too. The growing
// lengths tell a new file from a copy being written long before either
// reaches the offset.
//
// Encoded (Position.Fingerprint), version 2:
//
//	[0]       2
//	[1:3]     tail length, uint16
//	[3:19]    tail digest
//	[19:21]   length of the first head, uint16
//	[21:37]   first head digest
//	[37:...]  one 16-byte digest per further head length
//
// An 18-byte value is the previous layout (first head only, no tail).
const (
	fpDigest = 16
	fpV2     = 2
	maxHead  = 1 << 20
)

// tailSize is how many bytes before the offset a fingerprint covers.
const tailSize = 4096

type digest [fpDigest]byte

func sum(b []byte) digest {
	s := sha256.Sum256(b)
	return digest(s[:fpDigest])
}

type fingerprint struct {
	hasTail bool
	tailLen int
	tail    digest
	l0      int      // bytes heads[0] covers; heads[i] covers headLen(i)
	heads   []digest // empty: nothing known
}

// headLen is how many first bytes the i-th head digest covers.
func (fp *fingerprint) headLen(i int) int {
	if i == 0 {
		return fp.l0
	}
	return FingerprintSize << i
}

func parseFingerprint(b []byte) fingerprint {
	var fp fingerprint
	switch {
	case len(b) == 2+fpDigest: // previous layout
		fp.l0 = int(binary.BigEndian.Uint16(b))
		fp.heads = []digest{digest(b[2:])}
	case len(b) >= 37 && b[0] == fpV2 && (len(b)-37)%fpDigest == 0:
		fp.hasTail = true
		fp.tailLen = int(binary.BigEndian.Uint16(b[1:]))
		fp.tail = digest(b[3:19])
		fp.l0 = int(binary.BigEndian.Uint16(b[19:]))
		for i := 21; i < len(b); i += fpDigest {
			fp.heads = append(fp.heads, digest(b[i:i+fpDigest]))
		}
	}
	if fp.l0 > FingerprintSize {
		return fingerprint{}
	}
	return fp
}

func (fp *fingerprint) encode() []byte {
	if len(fp.heads) == 0 {
		return nil
	}
	b := make([]byte, 21, 21+fpDigest*len(fp.heads))
	b[0] = fpV2
	binary.BigEndian.PutUint16(b[1:], uint16(fp.tailLen))
	copy(b[3:19], fp.tail[:])
	binary.BigEndian.PutUint16(b[19:], uint16(fp.l0))
	for _, h := range fp.heads {
		b = append(b, h[:]...)
	}
	return b
}

// setTail records the digest of the bytes just before the offset.
func (fp *fingerprint) setTail(region []byte) {
	fp.hasTail, fp.tailLen, fp.tail = true, len(region), sum(region)
}

// grow adds head digests for the lengths the file now reaches (size).
func (fp *fingerprint) grow(src io.ReaderAt, size int64) error {
	if len(fp.heads) == 0 || (fp.l0 < FingerprintSize && size > int64(fp.l0)) {
		n := int(min(size, FingerprintSize))
		b := make([]byte, n)
		if _, err := readFull(src, b, 0); err != nil {
			return err
		}
		fp.l0, fp.heads = n, []digest{sum(b)}
	}
	if fp.l0 < FingerprintSize {
		return nil
	}
	for {
		n := fp.headLen(len(fp.heads))
		if n > maxHead || int64(n) > size {
			return nil
		}
		b := make([]byte, n)
		if _, err := readFull(src, b, 0); err != nil {
			return err
		}
		fp.heads = append(fp.heads, sum(b))
	}
}

// sameStart reports whether o was taken of a file that starts as fp's
// did, as far as fp's longest head reaches (o's file reaching as far).
func (fp *fingerprint) sameStart(o fingerprint) bool {
	i := len(fp.heads) - 1
	if i < 0 || i >= len(o.heads) || fp.headLen(i) != o.headLen(i) {
		return false
	}
	return fp.heads[i] == o.heads[i]
}

// readFull reads len(b) bytes at off; a short file is an error.
func readFull(src io.ReaderAt, b []byte, off int64) (int, error) {
	n, err := src.ReadAt(b, off)
	if n == len(b) {
		return n, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// verdict is what the content of a file says about a fingerprint.
type verdict int

const (
	differs verdict = iota // some byte covered by a digest differs
	unknown                // nothing covered can be compared yet
	prefix                 // every head digest the file reaches matches
)

// headsMatch compares the heads of fp with the first bytes of a file of
// size bytes: the longest head the file reaches decides, since it covers
// the others.
func (fp *fingerprint) headsMatch(src io.ReaderAt, size int64) (verdict, error) {
	return fp.headsMatchOf(&content{src: src, size: size})
}

func (fp *fingerprint) headsMatchOf(c *content) (verdict, error) {
	if len(fp.heads) == 0 {
		return unknown, nil
	}
	i := len(fp.heads) - 1
	for i >= 0 && int64(fp.headLen(i)) > c.size {
		i--
	}
	if i < 0 {
		return unknown, nil
	}
	d, err := c.head(fp.headLen(i))
	if err != nil {
		return differs, err
	}
	if d != fp.heads[i] {
		return differs, nil
	}
	return prefix, nil
}

// content is a file being compared with many fingerprints: the digests of
// its first bytes are computed once per length.
type content struct {
	src   io.ReaderAt
	size  int64
	heads map[int]digest
}

func (c *content) head(n int) (digest, error) {
	if d, ok := c.heads[n]; ok {
		return d, nil
	}
	b := make([]byte, n)
	if _, err := readFull(c.src, b, 0); err != nil {
		return digest{}, err
	}
	if c.heads == nil {
		c.heads = map[int]digest{}
	}
	c.heads[n] = sum(b)
	return c.heads[n], nil
}

// tailMatches reports whether src's bytes just before off match fp's tail.
// It returns them too, for the reader to carry on with.
func (fp *fingerprint) tailMatches(src io.ReaderAt, off int64) (bool, []byte, error) {
	if !fp.hasTail || int64(fp.tailLen) > off {
		return false, nil, nil
	}
	b := make([]byte, fp.tailLen)
	if _, err := readFull(src, b, off-int64(fp.tailLen)); err != nil {
		return false, nil, err
	}
	return sum(b) == fp.tail, b, nil
}
