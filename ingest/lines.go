package ingest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// DefaultMaxLine is the longest line read whole (`limits.line_bytes`).
const DefaultMaxLine = 1 << 20

// LineReader splits a stream into lines of bounded length. A line longer
// than the limit is skipped up to its newline and reported as too long, so
// one huge line never stalls the stream or grows memory.
type LineReader struct {
	r       *bufio.Reader
	max     int
	buf     []byte
	partial bool // the last line returned had no newline (end of stream)
}

// NewLineReader returns a LineReader over r for lines of at most max bytes
// (without the newline); max <= 0 means DefaultMaxLine.
func NewLineReader(r io.Reader, max int) *LineReader {
	if max <= 0 {
		max = DefaultMaxLine
	}
	return &LineReader{r: bufio.NewReaderSize(r, 256<<10), max: max}
}

// ErrLineTooLong is returned, with the line's length so far, for a line
// over the limit; the reader has already skipped past it.
var ErrLineTooLong = errors.New(ReasonTooLong)

// Next returns the next line without its newline (or "\r\n"), valid until
// the next call. It returns ErrLineTooLong for a line over the limit and
// io.EOF at the end. A last line without a newline is returned as is;
// Partial reports it.
func (lr *LineReader) Next() ([]byte, error) {
	lr.buf = lr.buf[:0]
	tooLong := false
	for {
		chunk, err := lr.r.ReadSlice('\n')
		if !tooLong {
			if len(lr.buf)+len(chunk) > lr.max+2 { // +2: room for "\r\n"
				tooLong = true
				lr.buf = lr.buf[:0]
			} else if len(lr.buf) == 0 && err == nil {
				// The whole line is in the bufio buffer: no copy.
				if line := trimEOL(chunk); len(line) <= lr.max {
					return line, nil
				}
				return nil, ErrLineTooLong
			} else {
				lr.buf = append(lr.buf, chunk...)
			}
		}
		switch {
		case err == nil:
			if tooLong {
				return nil, ErrLineTooLong
			}
			line := trimEOL(lr.buf)
			if len(line) > lr.max {
				return nil, ErrLineTooLong
			}
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if tooLong {
				return nil, ErrLineTooLong
			}
			if len(lr.buf) == 0 {
				return nil, io.EOF
			}
			lr.partial = true
			if len(lr.buf) > lr.max {
				return nil, ErrLineTooLong
			}
			return lr.buf, nil
		default:
			return nil, err
		}
	}
}

// SetMax changes the line limit for the lines still to come (a container
// log's raw lines may be longer than the lines they hold).
func (lr *LineReader) SetMax(max int) {
	if max <= 0 {
		max = DefaultMaxLine
	}
	lr.max = max
}

// Partial reports whether the last line returned ended the stream without
// a newline.
func (lr *LineReader) Partial() bool { return lr.partial }

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}
