package ingest

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
)

// FingerprintSize is how many of a file's first bytes identify its content.
const FingerprintSize = 256

// minFingerprint is the shortest fingerprint trusted to match a rotated
// copy to its original: shorter prefixes are too likely to be shared.
const minFingerprint = 64

// Chunk is a run of complete lines read from one input, in file order.
// Pos is the position just past the chunk: once the chunk's lines are
// counted, Pos may be committed with them.
type Chunk struct {
	Pos     Position
	Data    []byte // complete lines, each ending in '\n'; may be empty
	TooLong int    // lines over the limit skipped after Data's lines
	Reset   bool   // the file was truncated: reading restarted at offset 0

	pool  *sync.Pool // where Data's block goes back on Release
	block *[]byte
}

// Release gives the chunk's memory back for reuse; Data must not be used
// after. Calling it is optional (the memory is collected otherwise) and
// safe more than once on copies of the same chunk only if Data is nil.
func (c *Chunk) Release() {
	if c.pool != nil && c.block != nil {
		c.pool.Put(c.block)
		c.Data, c.pool, c.block = nil, nil, nil
	}
}

// fileReader reads one file by descriptor, in large blocks, from a line
// boundary. It never consumes a partial last line, and skips lines over
// the limit without holding them in memory.
type fileReader struct {
	blocks   *sync.Pool // of []byte with capacity block+readRoom
	f        *os.File
	pos      Position
	maxLine  int
	block    int
	carry    []byte // bytes read after the last newline
	skipping bool   // inside a line over the limit
	skipped  int64  // bytes of that line seen so far

	// onTruncate, if set, is given the position a truncation discards.
	onTruncate func(old Position)
}

// readRoom is the least a read asks for after the carried partial line.
const readRoom = 64 << 10

func newFileReader(f *os.File, pos Position, maxLine int, blocks *sync.Pool) *fileReader {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	return &fileReader{f: f, pos: pos, maxLine: maxLine, block: max(1<<20, maxLine+1), blocks: blocks}
}

// newBlock returns a buffer of len block+readRoom, reused when possible.
// The pool holds pointers, so that putting one back allocates nothing.
func (r *fileReader) newBlock() *[]byte {
	if r.blocks != nil {
		if p, ok := r.blocks.Get().(*[]byte); ok && cap(*p) >= r.block+readRoom {
			*p = (*p)[:r.block+readRoom]
			return p
		}
	}
	b := make([]byte, r.block+readRoom)
	return &b
}

// errTruncated reports that the file shrank below the position or its
// first bytes changed: it must be read again from the start.
var errTruncated = errors.New("file truncated")

// check compares the file with the position: size and fingerprint.
func (r *fileReader) check() (size int64, err error) {
	fi, err := r.f.Stat()
	if err != nil {
		return 0, err
	}
	size = fi.Size()
	if size < r.pos.Offset {
		return size, errTruncated
	}
	ok, err := matches(r.pos.Fingerprint, r.f)
	if err != nil {
		return size, err
	}
	if !ok {
		return size, errTruncated
	}
	if n := fpLen(r.pos.Fingerprint); n < FingerprintSize && size > int64(n) {
		if r.pos.Fingerprint, err = fingerprintOf(r.f, FingerprintSize); err != nil {
			return size, err
		}
	}
	return size, nil
}

// reset starts the file over after a truncation.
func (r *fileReader) reset() {
	if r.onTruncate != nil {
		r.onTruncate(r.pos)
	}
	if r.pos.Offset > 0 && fpLen(r.pos.Fingerprint) >= minFingerprint {
		r.pos.PrevOffset, r.pos.PrevFingerprint = r.pos.Offset, r.pos.Fingerprint
	}
	fp, _ := fingerprintOf(r.f, FingerprintSize)
	r.pos.Offset, r.pos.Fingerprint = 0, fp
	r.carry, r.skipping, r.skipped = nil, false, 0
}

func (r *fileReader) recycle(p *[]byte) {
	if r.blocks != nil {
		r.blocks.Put(p)
	}
}

// readToEOF sends every complete line up to the end of the file to emit,
// in chunks. It returns the number of bytes consumed.
func (r *fileReader) readToEOF(emit func(Chunk) bool) (int64, error) {
	var total int64
	if _, err := r.check(); errors.Is(err, errTruncated) {
		r.reset()
		if !emit(Chunk{Pos: r.pos, Reset: true}) {
			return 0, nil
		}
	} else if err != nil {
		return 0, err
	}
	for {
		if len(r.carry) > r.maxLine {
			// The partial line is already over the limit: skip the rest.
			r.skipping, r.skipped, r.carry = true, int64(len(r.carry)), nil
		}
		bp := r.newBlock() // the carry is at most maxLine < block: room remains
		buf := *bp
		n0 := copy(buf, r.carry)
		readAt := r.pos.Offset + int64(len(r.carry)) + r.skipped
		n, err := r.f.ReadAt(buf[n0:], readAt)
		if err != nil && !errors.Is(err, io.EOF) {
			return total, err
		}
		if n == 0 {
			r.recycle(bp)
			return total, nil
		}
		data := buf[:n0+n]

		if r.skipping {
			// Inside a line over the limit: look for its end only.
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				r.skipped += int64(len(data))
				r.carry = nil
				r.recycle(bp)
				continue
			}
			end := r.pos.Offset + r.skipped + int64(i) + 1
			total += end - r.pos.Offset
			r.pos.Offset, r.skipping, r.skipped = end, false, 0
			r.carry = nil // read on from the new offset
			r.recycle(bp)
			if !emit(Chunk{Pos: r.pos, TooLong: 1}) {
				return total, nil
			}
			continue
		}

		last := bytes.LastIndexByte(data, '\n')
		if last < 0 {
			if len(data) > r.maxLine {
				// One line fills the block with no end in sight.
				r.skipping, r.skipped, r.carry = true, int64(len(data)), nil
				r.recycle(bp)
				continue
			}
			r.carry = append(r.carry[:0], data...)
			r.recycle(bp)
			if errors.Is(err, io.EOF) || n < len(buf)-n0 {
				return total, nil // a partial last line: wait for its newline
			}
			continue
		}
		r.pos.Offset += int64(last + 1)
		total += int64(last + 1)
		r.carry = append(r.carry[:0], data[last+1:]...)
		if !emit(Chunk{Pos: r.pos, Data: data[:last+1], pool: r.blocks, block: bp}) {
			return total, nil
		}
		if fpLen(r.pos.Fingerprint) < FingerprintSize {
			r.check()
		}
	}
}
