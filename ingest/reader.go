package ingest

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// FingerprintSize is how many of a file's first bytes its first head
// digest covers (see fingerprint.go).
const FingerprintSize = 256

// Chunk is a run of complete lines read from one input, in file order.
// Pos is the position just past the chunk: once the chunk's lines are
// counted, Pos may be committed with them.
type Chunk struct {
	Pos     Position
	Input   int    // index of the input that matched the file (see Tailer.Inputs)
	Data    []byte // complete lines, each ending in '\n'; may be empty
	TooLong int    // lines over the limit skipped after Data's lines
	Reset   bool   // the file was truncated: reading restarted at offset 0

	// Framing is how the file's runtime wraps its lines (see Detect): Data
	// holds the raw lines, to be unwrapped by a Framer of the chunk's own.
	// A chunk of a framed file ends at a Boundary, so its Framer ends with
	// no message pending, except in the cases Continues and Drop mark.
	Framing Framing
	// Continues marks, per stream (stdout, stderr), a message that an
	// earlier chunk cut and counted: a message over the limit that the
	// reader could not carry (see Framing.MaxMessageBytes). Its remaining
	// parts are dropped (Framer.Continue).
	Continues [2]bool
	// Drop says that the file ends inside the messages still pending at
	// the chunk's end: a file rotated away while a message was being
	// written, whose last part went to the new file, where it is counted.
	// They are dropped, not flushed.
	Drop bool
	// Service is the calling service for the chunk's lines that name none:
	// the input's configured one, else the one the file's path names
	// (ServiceFromPath), else "".
	Service string

	pool  *blockPool // where Data's block goes back on Release
	block *[]byte
}

// Release gives the chunk's memory back for reuse; Data must not be used
// after. Calling it is optional (the memory is collected otherwise) and
// safe more than once on copies of the same chunk only if Data is nil.
func (c *Chunk) Release() {
	if c.pool != nil && c.block != nil {
		c.pool.put(c.block)
		c.Data, c.pool, c.block = nil, nil, nil
	}
}

// freeBlocks is how many read blocks a tailer keeps for reuse: enough for
// the chunks in flight between the reader, the workers and the writer.
const freeBlocks = 8

// blockPool keeps read blocks for reuse. Unlike a sync.Pool, which every
// garbage collection empties, it keeps up to freeBlocks across
// collections: at full speed a reader would otherwise allocate (and the
// collector sweep) a fresh block after each one.
type blockPool struct {
	once sync.Once
	free chan *[]byte
}

func (p *blockPool) ch() chan *[]byte {
	p.once.Do(func() { p.free = make(chan *[]byte, freeBlocks) })
	return p.free
}

// get returns a kept block, or nil.
func (p *blockPool) get() *[]byte {
	select {
	case b := <-p.ch():
		return b
	default:
		return nil
	}
}

// put keeps b for reuse, unless freeBlocks are kept already.
func (p *blockPool) put(b *[]byte) {
	select {
	case p.ch() <- b:
	default:
	}
}

// ChunkSize is the size of the blocks files are read in, and so the most
// a chunk holds, but for a line longer than a block, which is read on
// in a buffer of its own. Every chunk in flight between the reader, the
// workers and the writer holds one: a megabyte a block had them take a
// quarter of the heap, and on traffic of many groups the collector ran
// again after every half megabyte allocated.
const ChunkSize = 512 << 10

// fileReader reads one file in blocks of ChunkSize, from a line boundary.
// It never consumes a partial last line, and skips lines over the limit
// without holding them in memory: its memory is a block, or a line up to
// the limit and a block, whatever the file holds.
type fileReader struct {
	blocks   *blockPool // of []byte with capacity block+readRoom
	f        *os.File   // the file; nil for a decompressed stream
	src      io.ReaderAt
	pos      Position
	fp       fingerprint
	tail     []byte // the bytes just before pos.Offset, up to tailSize
	maxLine  int
	block    int
	carry    []byte   // bytes read after the last newline
	skipping bool     // inside a line over the limit
	skipped  int64    // bytes of that line seen so far
	ahead    []byte   // while skipping: the last tailSize bytes up to the line's end so far
	pollOnly bool     // this read follows a poll, not a change notification
	memo     statMemo // the file as of the last check of its content

	framing  Framing
	detected bool    // framing is known (from the file's first line)
	lim      int     // the longest run of bytes carried: a line, or a framed message
	open     [2]bool // per stream: pos lies inside a message cut and counted (see Chunk.Continues)
	service  string  // Chunk.Service

	// onTruncate, if set, is given the position a truncation discards
	// and the bytes just before its offset.
	onTruncate func(old Position, tail []byte)
}

// readRoom is the least a read asks for after the carried partial line.
const readRoom = 64 << 10

func newFileReader(f *os.File, pos Position, maxLine int, blocks *blockPool) *fileReader {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	r := &fileReader{f: f, pos: pos, maxLine: maxLine, lim: maxLine, block: ChunkSize, blocks: blocks}
	if f != nil {
		r.src = f
	}
	r.fp = parseFingerprint(pos.Fingerprint)
	return r
}

// setFraming fixes the file's framing, and with it how much the reader
// must be able to carry: a whole message, so that chunks can end at a
// Boundary. Blocks keep their size: a carry too big for one (a message
// of many parts still being written) is read into a buffer of its own.
func (r *fileReader) setFraming(f Framing) {
	r.framing, r.detected = f, true
	r.lim = r.maxLine
	if f != FramingNone {
		r.lim = f.MaxMessageBytes(r.maxLine)
	}
}

// detectBytes is how far into a file its first line is looked for; a file
// whose first line is longer is not framed.
const detectBytes = 256 << 10

// detect reads the framing from the first line of src (the file, or a
// fresh decompressed stream of it), and reports false while that line is
// not complete yet.
func (r *fileReader) detect(src io.ReaderAt) bool {
	b := make([]byte, 16<<10)
	for {
		n, err := src.ReadAt(b, 0)
		if i := bytes.IndexByte(b[:n], '\n'); i >= 0 {
			r.setFraming(Detect(trimCR(b[:i])))
			return true
		}
		if err != nil && !errors.Is(err, io.EOF) || n < len(b) {
			return false
		}
		if len(b) >= detectBytes {
			r.setFraming(FramingNone)
			return true
		}
		b = make([]byte, detectBytes)
	}
}

// newBlock returns a buffer of len block+readRoom, reused when possible.
// The pool holds pointers, so that putting one back allocates nothing.
func (r *fileReader) newBlock() *[]byte {
	if r.blocks != nil {
		if p := r.blocks.get(); p != nil && cap(*p) >= r.block+readRoom {
			*p = (*p)[:r.block+readRoom]
			return p
		}
	}
	b := make([]byte, r.block+readRoom)
	return &b
}

func (r *fileReader) recycle(p *[]byte) {
	if r.blocks != nil && cap(*p) >= r.block+readRoom {
		r.blocks.put(p)
	}
}

// errTruncated reports that the file no longer holds what was read: it
// shrank below the position, or its bytes before the position changed.
var errTruncated = errors.New("file truncated")

// resume checks that the file still holds what pos says was read (its
// size, its first bytes and the bytes just before the offset) and loads
// the bytes before the offset. Nothing read yet always resumes.
func (r *fileReader) resume() error {
	fi, err := r.f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if size < r.pos.Offset {
		return errTruncated
	}
	if r.pos.Offset == 0 {
		r.fp = fingerprint{}
		return r.fp.grow(r.src, size)
	}
	v, err := r.fp.headsMatch(r.src, size)
	if err != nil {
		return err
	}
	if v != prefix {
		return errTruncated
	}
	if r.fp.hasTail {
		ok, tail, err := r.fp.tailMatches(r.src, r.pos.Offset)
		if err != nil {
			return err
		}
		if !ok {
			return errTruncated
		}
		r.tail = tail
	} else if err := r.loadTail(); err != nil { // a position saved before tail digests
		return err
	}
	return r.fp.grow(r.src, size)
}

// loadTail reads the bytes just before the offset from the file.
func (r *fileReader) loadTail() error {
	n := min(r.pos.Offset, tailSize)
	b := make([]byte, n)
	if _, err := readFull(r.src, b, r.pos.Offset-n); err != nil {
		return err
	}
	r.tail = b
	r.fp.setTail(b)
	return nil
}

// check compares the followed file with what was read: a file shorter than
// the offset, or whose bytes before it changed, was truncated (and perhaps
// written again). Each read starts with it.
func (r *fileReader) check() (size int64, err error) {
	fi, err := r.f.Stat()
	if err != nil {
		return 0, err
	}
	size = fi.Size()
	if size < r.pos.Offset {
		return size, errTruncated
	}
	if r.pos.Offset == 0 {
		return size, nil
	}
	// A poll of a file whose size and modification time are those of the
	// last check does not read it again (timestamps are coarse, so a
	// change signalled by inotify always does).
	st := statMemo{size, fi.ModTime(), r.pos.Offset}
	if r.pollOnly && st == r.memo {
		return size, nil
	}
	r.memo = st
	b := make([]byte, len(r.tail))
	if _, err := readFull(r.src, b, r.pos.Offset-int64(len(b))); err != nil {
		return size, errTruncated
	}
	if !bytes.Equal(b, r.tail) {
		return size, errTruncated
	}
	if v, err := r.fp.headsMatch(r.src, min(size, FingerprintSize)); err != nil || v == differs {
		return size, errTruncated
	}
	return size, nil
}

type statMemo struct {
	size int64
	mod  time.Time
	off  int64
}

// reset starts the file over after a truncation.
func (r *fileReader) reset() {
	if r.onTruncate != nil {
		r.onTruncate(r.pos, r.tail)
	}
	r.pos.truncated(r.pos.Offset, r.pos.Fingerprint)
	r.pos.Offset, r.tail = 0, nil
	r.fp = fingerprint{}
	if fi, err := r.f.Stat(); err == nil {
		r.fp.grow(r.src, fi.Size())
	}
	r.fp.setTail(nil)
	r.pos.Fingerprint = r.fp.encode()
	r.carry, r.skipping, r.skipped = nil, false, 0
	r.detected, r.open = false, [2]bool{} // the new content says its framing anew
}

// consumed keeps the last tailSize bytes that the offset moved past.
func (r *fileReader) consumed(b []byte) { r.tail = keepLast(r.tail, b) }

// skipping starts skipping a line over the limit, of which b is the start.
func (r *fileReader) startSkip(b []byte) {
	r.ahead = keepLast(append(r.ahead[:0], r.tail...), b)
	r.skipping, r.skipped, r.carry = true, int64(len(b)), nil
}

// keepLast appends b to tail and keeps the last tailSize bytes.
func keepLast(tail, b []byte) []byte {
	if len(b) >= tailSize {
		return append(tail[:0], b[len(b)-tailSize:]...)
	}
	if over := len(tail) + len(b) - tailSize; over > 0 {
		tail = append(tail[:0], tail[over:]...)
	}
	return append(tail, b...)
}

// advance moves the offset to end and refreshes the fingerprint.
func (r *fileReader) advance(end int64) {
	r.pos.Offset = end
	r.fp.setTail(r.tail)
	if r.f != nil && r.fp.headLen(len(r.fp.heads)) <= maxHead {
		r.fp.grow(r.src, end)
	}
	r.pos.Fingerprint = r.fp.encode()
}

// readToEOF sends every complete line up to the end of the file to emit,
// in chunks. It returns the number of bytes consumed.
func (r *fileReader) readToEOF(emit func(Chunk) bool) (int64, error) {
	var total int64
	avail := int64(-1) // bytes known to be there to read; -1: unknown
	if r.f != nil {
		size, err := r.check()
		if errors.Is(err, errTruncated) {
			r.reset()
			if !emit(Chunk{Pos: r.pos, Reset: true}) {
				return 0, nil
			}
		} else if err != nil {
			return 0, err
		} else if size == r.pos.Offset+int64(len(r.carry))+r.skipped {
			return 0, nil // nothing new: no block needed
		} else {
			avail = size - r.pos.Offset - int64(len(r.carry)) - r.skipped
		}
		if !r.detected && !r.detect(r.src) {
			return 0, nil // the first line is not complete: no line to read
		}
	}
	for {
		if len(r.carry) > r.lim {
			// The partial line is already over the limit: skip the rest.
			r.startSkip(r.carry)
		}
		// The carry fits the buffer, with room to read on. A small
		// read (a few new lines) takes a buffer of its size, so that many
		// files starting at once do not take a block each.
		var bp *[]byte
		pool := r.blocks
		if avail >= 0 && int64(len(r.carry))+avail < int64(r.block)/4 {
			b := make([]byte, len(r.carry)+int(avail)+readRoom/16)
			bp, pool = &b, nil
		} else if len(r.carry) > r.block/2 {
			// Open messages of a framed file, carried: read on past them.
			b := make([]byte, len(r.carry)+r.block)
			bp, pool = &b, nil
		} else {
			bp = r.newBlock()
		}
		avail = -1 // after the first read, read blocks
		buf := *bp
		n0 := copy(buf, r.carry)
		readAt := r.pos.Offset + int64(len(r.carry)) + r.skipped
		n, err := r.src.ReadAt(buf[n0:], readAt)
		if err != nil && !errors.Is(err, io.EOF) {
			r.recycle(bp)
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
				r.ahead = keepLast(r.ahead, data)
				r.skipped += int64(len(data))
				r.carry = nil
				r.recycle(bp)
				continue
			}
			r.tail = keepLast(append(r.tail[:0], r.ahead...), data[:i+1])
			end := r.pos.Offset + r.skipped + int64(i) + 1
			total += end - r.pos.Offset
			r.skipping, r.skipped = false, 0
			r.advance(end)
			r.carry = nil // read on from the new offset
			r.recycle(bp)
			if !emit(Chunk{Pos: r.pos, TooLong: 1}) {
				return total, nil
			}
			continue
		}

		last := bytes.LastIndexByte(data, '\n')
		if last < 0 {
			if len(data) > r.lim {
				// One line fills the block with no end in sight.
				r.startSkip(data)
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
		// A framed file is cut where no message is open (see Boundary),
		// the open ones carried; one too long to carry is cut inside.
		cut, forced := last+1, false
		if r.framing != FramingNone {
			cut = r.framing.Boundary(data)
			if len(data)-cut > r.lim {
				cut, forced = last+1, true
			}
		}
		if cut == 0 {
			r.carry = append(r.carry[:0], data...) // at most r.lim
			r.recycle(bp)
			if errors.Is(err, io.EOF) || n < len(buf)-n0 {
				return total, nil // wait for the open messages' last parts
			}
			continue
		}
		c := Chunk{Data: data[:cut], Framing: r.framing, Continues: r.open, Service: r.service, pool: pool, block: bp}
		r.open = [2]bool{}
		if forced {
			r.open = r.framing.Open(c.Continues, data[:cut])
		}
		r.consumed(data[:cut])
		total += int64(cut)
		r.advance(r.pos.Offset + int64(cut))
		r.carry = append(r.carry[:0], data[cut:]...)
		c.Pos = r.pos
		if !emit(c) {
			return total, nil
		}
	}
}

// finish sends the whole lines still carried at the end of a file that will
// not grow (rotated away and drained, or a compressed copy): the messages
// left open there are dropped (Chunk.Drop), since their runtime wrote their
// last parts to the new file, where those are counted.
func (r *fileReader) finish(emit func(Chunk) bool) {
	last := bytes.LastIndexByte(r.carry, '\n')
	if r.framing == FramingNone || r.skipping || last < 0 {
		return
	}
	data := append([]byte(nil), r.carry[:last+1]...)
	c := Chunk{Data: data, Framing: r.framing, Continues: r.open, Drop: true, Service: r.service}
	r.consumed(data)
	r.advance(r.pos.Offset + int64(len(data)))
	r.carry = append(r.carry[:0], r.carry[last+1:]...)
	r.open = [2]bool{}
	c.Pos = r.pos
	emit(c)
}
