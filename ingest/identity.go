package ingest

import (
	"bytes"
	"context"
	"io"
	"os"
	"time"
)

// A new file (a device and inode never read) is read from its start,
// unless it is a copy of a file already read, in which case it continues
// where that file stood. A copy is recognized by content only, against
// files that are gone (no scan finds them) or were truncated in place:
//
//   - it must start with the original's first bytes (head digests), and
//   - its bytes just before the original's offset must match (tail
//     digest): the copy is then read from that offset, never below.
//
// A candidate copy shorter than the original's offset may still be being
// written (a slow copytruncate): it is not read until it reaches the
// offset, or stops growing for RotateWait. A finished copy shorter than the
// offset is one whose last bytes were read from the original before the
// truncation: it is taken as read to its end only when its last bytes are
// verified (against the original while it lived, or against the bytes the
// reader held before the truncation); otherwise it is a different file.
//
// A file whose bytes so far are those of a file that still exists and
// still holds what was read (copytruncate's copy before the truncation, a
// backup) is held unread while that file lives.

// pendingCopy is a new file held back while it may be a copy.
type pendingCopy struct {
	size     int64
	since    time.Time // when size last changed
	prefixOf FileKey   // a live file whose first prefixAt bytes it matched
	prefixAt int64
}

type copyVerdict int

const (
	notCopy copyVerdict = iota
	isCopy
	mayBeCopy
)

// identify decides where a new file starts: its offset, the bytes before
// it, and ok; !ok means it is held back for now. Caller holds t.mu.
func (t *Tailer) identify(f found, file *os.File) (int64, []byte, bool) {
	size := f.fi.Size()
	p := t.pending[f.key]
	if p == nil {
		p = &pendingCopy{size: size, since: time.Now()}
		t.pending[f.key] = p
	} else if p.size != size {
		p.size, p.since = size, time.Now()
	}
	stable := !t.Follow || time.Since(p.since) >= t.RotateWait
	c := &content{src: file, size: size}
	wait := false
	for i := len(t.ghosts) - 1; i >= 0; i-- { // newest first
		g := t.ghosts[i]
		off, tail, v := continues(c, g.pos, g.tail, p, stable)
		switch v {
		case isCopy:
			t.ghosts = append(t.ghosts[:i], t.ghosts[i+1:]...)
			t.Logger.Info("copy of a truncated file: reading from where it stood", "file", f.path, "offset", off)
			return off, tail, true
		case mayBeCopy:
			wait = true
		}
	}
	for k, st := range t.files {
		if k == f.key || st.pos.Offset == 0 || st.copied {
			continue
		}
		if st.running || st.seen {
			if t.Follow && livePrefix(c, st, p) {
				wait = true
			}
			continue
		}
		off, tail, v := continues(c, st.pos, st.tail, p, stable)
		switch v {
		case isCopy:
			st.copied = true
			t.Logger.Info("copy of a file gone: reading from where it stood", "file", f.path, "original", st.pos.Path, "offset", off)
			return off, tail, true
		case mayBeCopy:
			wait = true
		}
	}
	if wait && t.Follow {
		return 0, nil, false
	}
	return 0, nil, true
}

// continues tells whether c is a copy of the file that stood at pos, with
// tail the bytes before pos.Offset when known.
func continues(c *content, pos Position, tail []byte, p *pendingCopy, stable bool) (int64, []byte, copyVerdict) {
	fp := parseFingerprint(pos.Fingerprint)
	v, err := fp.headsMatchOf(c)
	if err != nil || v == differs {
		return 0, nil, notCopy
	}
	if c.size >= pos.Offset {
		ok, b, err := fp.tailMatches(c.src, pos.Offset)
		if err != nil || !ok {
			return 0, nil, notCopy
		}
		return pos.Offset, b, isCopy
	}
	if !stable {
		return 0, nil, mayBeCopy
	}
	// Finished, and shorter than the original's offset.
	last := func() []byte {
		b := make([]byte, min(c.size, tailSize))
		readFull(c.src, b, c.size-int64(len(b)))
		return b
	}
	if pos.Key != (FileKey{}) && p.prefixOf == pos.Key && p.prefixAt == c.size && c.size > 0 {
		return c.size, last(), isCopy
	}
	if start := pos.Offset - int64(len(tail)); len(tail) > 0 && c.size > start {
		b := make([]byte, c.size-start)
		if _, err := readFull(c.src, b, start); err == nil && bytes.Equal(b, tail[:len(b)]) {
			return c.size, last(), isCopy
		}
	}
	return 0, nil, notCopy
}

// livePrefix reports whether c may be a copy of the live file st: its
// first bytes match, and either its last bytes are those of st's file at
// the same offsets, or st's file no longer holds what was read from it (a
// truncation its reader has not seen yet). It records a verified prefix in
// p. Caller holds t.mu.
func livePrefix(c *content, st *fileState, p *pendingCopy) bool {
	fp := parseFingerprint(st.pos.Fingerprint)
	if v, err := fp.headsMatchOf(c); err != nil || v == differs {
		return false
	}
	of, err := os.Open(st.pos.Path)
	if err != nil {
		return true // cannot tell yet
	}
	defer of.Close()
	ofi, err := of.Stat()
	if err != nil || keyOf(ofi) != st.pos.Key {
		return true
	}
	if ofi.Size() < st.pos.Offset {
		return true // truncated: wait until its reader retires it
	}
	if ok, _, err := fp.tailMatches(of, st.pos.Offset); err != nil || (fp.hasTail && !ok) {
		return true // truncated and written again: the same
	}
	m := min(c.size, ofi.Size())
	w := min(m, tailSize)
	a, b := make([]byte, w), make([]byte, w)
	if _, err := readFull(c.src, a, m-w); err != nil {
		return false
	}
	if _, err := readFull(of, b, m-w); err != nil {
		return true
	}
	if !bytes.Equal(a, b) {
		return false
	}
	if m == c.size {
		p.prefixOf, p.prefixAt = st.pos.Key, c.size
	}
	return true
}

// considerCompressed handles a compressed file: never read as lines; a
// gzip or bzip2 file that continues a file read before (the original gone:
// rotated, compressed and deleted) is read decompressed from where the
// original stopped. It takes over file.
func (t *Tailer) considerCompressed(ctx context.Context, f found, file *os.File, k kind, name string) {
	size := f.fi.Size()
	decide := func(msg string) {
		t.mu.Lock()
		t.decided[f.key] = size
		t.mu.Unlock()
		if msg != "" {
			t.Logger.Info(msg, "file", f.path, "format", name)
		}
	}
	if k == notLog {
		file.Close()
		decide("not a log file: not read")
		return
	}
	t.mu.Lock()
	st := t.files[f.key]
	t.mu.Unlock()
	var start Position
	var tail []byte
	if st != nil {
		start = st.pos
	} else {
		t.mu.Lock()
		p := t.pending[f.key]
		t.mu.Unlock()
		if p != nil && p.size == size && time.Since(p.since) < t.RotateWait {
			file.Close() // held: looked at again after RotateWait
			return
		}
		off, b, ok, held := t.compressedCopy(f, file, k)
		if held {
			file.Close()
			t.mu.Lock()
			t.pending[f.key] = &pendingCopy{size: size, since: time.Now()}
			t.mu.Unlock()
			return
		}
		if !ok {
			file.Close()
			decide("compressed file that continues no file read before: not read")
			return
		}
		start, tail = Position{Key: f.key, Path: f.path, Offset: off}, b
	}

	s, err := decompressed(file, k)
	if err != nil {
		file.Close()
		decide("cannot read compressed file")
		return
	}
	r := newFileReader(nil, start, t.MaxLine, &t.blocks)
	r.service = t.serviceOf(f.input, f.path)
	if st != nil {
		r.service = t.serviceOf(st.input, f.path)
	}
	if fs, err := decompressed(file, k); err != nil || !r.detect(fs) {
		r.setFraming(FramingNone) // no whole first line: nothing framed to read
	}
	r.src = s
	if st == nil {
		// Verified by compressedCopy: start there, with its first bytes.
		h := make([]byte, min(start.Offset, FingerprintSize))
		if _, err := readFull(s, h, 0); err != nil {
			file.Close()
			return
		}
		r.fp = fingerprint{l0: len(h), heads: []digest{sum(h)}}
		r.tail = tail
		r.fp.setTail(tail)
		r.pos.Fingerprint = r.fp.encode()
	} else if ok, b := verifyStream(s, r.fp, start.Offset); ok {
		r.tail = b
	} else {
		file.Close()
		decide("compressed file changed since it was read: not read")
		return
	}

	t.mu.Lock()
	if st == nil {
		st = &fileState{pos: r.pos, input: f.input}
		t.files[f.key] = st
	}
	st.running = true
	t.mu.Unlock()
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		defer file.Close()
		emit := func(c Chunk) bool {
			c.Input = st.input
			return t.send(ctx, c)
		}
		ok := emit(Chunk{Pos: r.pos})
		if ok {
			_, err = r.readToEOF(emit)
			if err == nil && ctx.Err() == nil {
				r.finish(emit) // a rotated copy: it will not grow
			}
		}
		t.mu.Lock()
		st.pos, st.running = r.pos, false
		if ok && (err == nil || err == errIncomplete) && ctx.Err() == nil {
			t.decided[f.key] = size // read to its end: nothing more while its size holds
		}
		t.mu.Unlock()
	}()
}

// compressedCopy finds the file a compressed file continues: one gone
// (or truncated) whose position its decompressed bytes reach and match.
// held reports a match with a file still there: not read while it lives.
func (t *Tailer) compressedCopy(f found, file *os.File, k kind) (off int64, tail []byte, ok, held bool) {
	s, err := decompressed(file, k)
	if err != nil {
		return 0, nil, false, false
	}
	first := make([]byte, FingerprintSize)
	n, err := s.ReadAt(first, 0)
	if err != nil && err != io.EOF {
		return 0, nil, false, err == errIncomplete
	}
	first = first[:n]
	type cand struct {
		pos  Position
		live bool
		st   *fileState
		g    int
	}
	var cands []cand
	t.mu.Lock()
	for i, g := range t.ghosts {
		cands = append(cands, cand{pos: g.pos, g: i})
	}
	for _, st := range t.files {
		if st.pos.Offset > 0 && !st.copied && st.pos.Key != f.key {
			cands = append(cands, cand{pos: st.pos, live: st.running || st.seen, st: st, g: -1})
		}
	}
	t.mu.Unlock()
	for _, c := range cands {
		fp := parseFingerprint(c.pos.Fingerprint)
		if len(fp.heads) == 0 || fp.l0 > len(first) || sum(first[:fp.l0]) != fp.heads[0] {
			continue
		}
		s, err := decompressed(file, k)
		if err != nil {
			return 0, nil, false, false
		}
		match, b := verifyStream(s, fp, c.pos.Offset)
		if !match {
			continue
		}
		if c.live {
			return 0, nil, false, true
		}
		t.mu.Lock()
		if c.st != nil {
			c.st.copied = true
		} else if c.g < len(t.ghosts) && t.ghosts[c.g].pos.Offset == c.pos.Offset {
			t.ghosts = append(t.ghosts[:c.g], t.ghosts[c.g+1:]...)
		}
		t.mu.Unlock()
		t.Logger.Info("compressed copy of a file not read to its end: reading from where it stood", "file", f.path, "original", c.pos.Path, "offset", c.pos.Offset)
		return c.pos.Offset, b, true, false
	}
	return 0, nil, false, false
}

// verifyStream reads a decompressed stream up to off and checks its first
// bytes (every head length) and the bytes before off against fp, leaving
// the stream at off. A stream that differs early stops early.
func verifyStream(s *streamAt, fp fingerprint, off int64) (bool, []byte) {
	if len(fp.heads) == 0 || !fp.hasTail || int64(fp.l0) > off {
		return false, nil
	}
	var h []byte
	for i := range fp.heads {
		n := fp.headLen(i)
		if int64(n) > off {
			break
		}
		h = append(h, make([]byte, n-len(h))...)
		if _, err := readFull(s, h[s.off:], s.off); err != nil || sum(h) != fp.heads[i] {
			return false, nil
		}
	}
	start := off - int64(fp.tailLen)
	if start >= int64(len(h)) {
		ok, b, err := fp.tailMatches(s, off)
		return err == nil && ok, b
	}
	// The region before off overlaps the first bytes, already read.
	all := append(h, make([]byte, off-int64(len(h)))...)
	if _, err := readFull(s, all[len(h):], int64(len(h))); err != nil {
		return false, nil
	}
	b := all[start:]
	return sum(b) == fp.tail, append([]byte(nil), b...)
}
