package ingest

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"io"
	"os"
)

// kind is what a file's first bytes say it is.
type kind int

const (
	plain   kind = iota // text: read as lines
	gzipped             // read decompressed, only as a rotated copy
	bzipped             // read decompressed, only as a rotated copy
	notLog              // compressed in a format not read here, or a database: never read
)

// magics are the first bytes of files that are never log lines.
var magics = []struct {
	b    []byte
	kind kind
	name string
}{
	{[]byte{0x1f, 0x8b}, gzipped, "gzip"},
	{[]byte("BZh"), bzipped, "bzip2"},
	{[]byte{0xfd, '7', 'z', 'X', 'Z', 0}, notLog, "xz"},
	{[]byte{0x28, 0xb5, 0x2f, 0xfd}, notLog, "zstd"},
	{[]byte("SQLite format 3\x00"), notLog, "SQLite database"},
	{[]byte{0x37, 0x7f, 0x06, 0x82}, notLog, "SQLite WAL"},
	{[]byte{0x37, 0x7f, 0x06, 0x83}, notLog, "SQLite WAL"},
}

// kindOf reads f's first bytes.
func kindOf(f *os.File) (kind, string, error) {
	b := make([]byte, 16)
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return plain, "", err
	}
	for _, m := range magics {
		if bytes.HasPrefix(b[:n], m.b) {
			return m.kind, m.name, nil
		}
	}
	return plain, "", nil
}

// decompressed opens the decompressed stream of f from its start.
func decompressed(f *os.File, k kind) (*streamAt, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(f, 0, 1<<62), 64<<10)
	var r io.Reader
	switch k {
	case gzipped:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		r = zr // concatenated members are read as one stream, as gunzip does
	case bzipped:
		r = bzip2.NewReader(br)
	default:
		return nil, errors.New("not a readable compressed file")
	}
	return &streamAt{r: r}, nil
}

// errIncomplete reports a compressed stream that ends before its end
// marker: still being written, or damaged.
var errIncomplete = errors.New("compressed stream incomplete")

// streamAt serves reads at increasing offsets from a stream, skipping the
// bytes in between: enough for the block reader, which reads forward.
type streamAt struct {
	r   io.Reader
	off int64
	eof bool
}

func (s *streamAt) ReadAt(p []byte, off int64) (int, error) {
	if off < s.off {
		return 0, errors.New("compressed stream: read backwards")
	}
	if off > s.off {
		n, err := io.CopyN(io.Discard, s.r, off-s.off)
		s.off += n
		if err != nil {
			return 0, s.fail(err)
		}
	}
	n := 0
	for n < len(p) {
		m, err := s.r.Read(p[n:])
		n += m
		s.off += int64(m)
		if err != nil {
			return n, s.fail(err)
		}
	}
	return n, nil
}

func (s *streamAt) fail(err error) error {
	if errors.Is(err, io.EOF) {
		s.eof = true
		return io.EOF
	}
	return errIncomplete
}
