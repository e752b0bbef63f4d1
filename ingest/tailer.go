package ingest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nxadm/tail"
	"github.com/nxadm/tail/watch"
)

// PollInterval is how often a followed file is checked for growth: the
// floor of the delay between a line's write and its reading.
const PollInterval = 50 * time.Millisecond

func init() { watch.POLL_DURATION = PollInterval }

// Tailer reads log files and sends their complete lines, in chunks, to C.
//
// Files are known by identity (device and inode, plus their first bytes),
// not by name. A file renamed by rotation is read to its end through its
// open descriptor and never read twice; a file truncated in place is read
// again from the start; files that appear later under a glob are picked
// up; and reading resumes from the positions it is given.
//
// Catching up is done with large block reads; following a live file is
// done with nxadm/tail (from the caught-up offset, complete lines only).
type Tailer struct {
	Globs      []string      // file globs, re-evaluated every Scan
	Files      []string      // literal paths
	Follow     bool          // false: read each file to its end once, then stop
	MaxLine    int           // longest line in bytes; longer lines are skipped and counted
	Scan       time.Duration // how often globs are re-evaluated
	Idle       time.Duration // a followed file unchanged this long is closed (reopened when it grows)
	RotateWait time.Duration // a rotated-away file is read until unchanged this long
	Logger     *slog.Logger

	// C receives the chunks. Run creates nothing else that sends on it and
	// closes it when it returns.
	C chan Chunk

	mu      sync.Mutex
	files   map[FileKey]*fileState
	ghosts  []Position // positions of files truncated in place, for their rotated copies
	young   map[FileKey]bool
	matched atomic.Int64 // files the last scan found
	wg      sync.WaitGroup
	blocks  sync.Pool // read blocks, back from Chunk.Release
}

type fileState struct {
	pos     Position
	running bool
	idle    bool // closed for idleness at pos.Offset
}

// NewTailer returns a Tailer that resumes from positions.
func NewTailer(positions []Position) *Tailer {
	t := &Tailer{
		MaxLine:    DefaultMaxLine,
		Scan:       time.Second,
		Idle:       5 * time.Minute,
		RotateWait: 5 * time.Second,
		Logger:     slog.Default(),
		C:          make(chan Chunk, 2),
		files:      map[FileKey]*fileState{},
		young:      map[FileKey]bool{},
	}
	for _, p := range positions {
		t.files[p.Key] = &fileState{pos: p}
		if fpLen(p.PrevFingerprint) >= minFingerprint {
			t.ghosts = append(t.ghosts, Position{Offset: p.PrevOffset, Fingerprint: p.PrevFingerprint})
		}
	}
	return t
}

// Run reads until ctx is done (or, without Follow, until every file is
// read to its end), then closes C. Chunks already read are delivered
// before C closes, unless ctx is done.
func (t *Tailer) Run(ctx context.Context) error {
	defer close(t.C)
	t.scan(ctx)
	if !t.Follow {
		t.wg.Wait()
		return nil
	}
	tick := time.NewTicker(t.Scan)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			t.wg.Wait()
			return nil
		case <-tick.C:
			t.scan(ctx)
		}
	}
}

// Matched returns the number of files the last scan of the globs found.
func (t *Tailer) Matched() int { return int(t.matched.Load()) }

// Watching returns the number of files being read now.
func (t *Tailer) Watching() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, st := range t.files {
		if st.running {
			n++
		}
	}
	return n
}

type found struct {
	path string
	fi   os.FileInfo
	key  FileKey
}

// scan expands the globs and starts a reader for every file that needs one.
// Known files are looked at first, so that truncations are seen before new
// files are matched against truncated ones.
func (t *Tailer) scan(ctx context.Context) {
	paths := append([]string(nil), t.Files...)
	for _, g := range t.Globs {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Logger.Warn("bad glob", "glob", g, "err", err)
			continue
		}
		paths = append(paths, m...)
	}
	seen := map[FileKey]bool{}
	var list []found
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			if len(t.Files) > 0 {
				t.Logger.Warn("cannot read input", "file", p, "err", err)
			}
			continue
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		k := keyOf(fi)
		if seen[k] {
			continue
		}
		seen[k] = true
		list = append(list, found{p, fi, k})
	}
	t.matched.Store(int64(len(list)))
	t.mu.Lock()
	sort.SliceStable(list, func(i, j int) bool {
		return t.files[list[i].key] != nil && t.files[list[j].key] == nil
	})
	t.mu.Unlock()
	for _, f := range list {
		if ctx.Err() != nil {
			return
		}
		t.consider(ctx, f)
	}
}

// consider starts reading a found file unless it is being read already.
func (t *Tailer) consider(ctx context.Context, f found) {
	t.mu.Lock()
	st := t.files[f.key]
	if st != nil && st.running {
		st.pos.Path = f.path
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()

	file, err := os.Open(f.path)
	if err != nil {
		t.Logger.Warn("cannot open input", "file", f.path, "err", err)
		return
	}
	if fi, err := file.Stat(); err != nil || keyOf(fi) != f.key {
		file.Close() // replaced between stat and open: the next scan sees it
		return
	}
	fp, err := fingerprintOf(file, FingerprintSize)
	if err != nil {
		file.Close()
		t.Logger.Warn("cannot read input", "file", f.path, "err", err)
		return
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	reset, announce := false, false
	switch {
	case st == nil && t.Follow && fpLen(fp) < minFingerprint && !t.young[f.key]:
		// A new file too short to fingerprint may be a copy being written
		// (copytruncate): look again at the next scan, when its first bytes
		// tell whether it repeats a file already read.
		t.young[f.key] = true
		file.Close()
		return
	case st == nil:
		delete(t.young, f.key)
		announce = true // a new file's position is committed even before it has lines
		st = &fileState{pos: Position{Key: f.key, Path: f.path, Fingerprint: fp}}
		if off, ok := t.copyOf(f.key, file, fp); ok {
			st.pos.Offset = min(off, f.fi.Size())
			t.Logger.Info("rotated copy of a file already read: resuming", "file", f.path, "offset", st.pos.Offset)
		}
		t.files[f.key] = st
	case !sameContent(st.pos.Fingerprint, file) || f.fi.Size() < st.pos.Offset:
		// Truncated or replaced while nobody was reading it.
		t.retire(st.pos)
		old := st.pos
		st.pos = Position{Key: f.key, Path: f.path, Fingerprint: fp}
		if old.Offset > 0 && fpLen(old.Fingerprint) >= minFingerprint {
			st.pos.PrevOffset, st.pos.PrevFingerprint = old.Offset, old.Fingerprint
		}
		st.idle, reset = false, true
	case st.idle && f.fi.Size() == st.pos.Offset:
		file.Close()
		return
	}
	st.pos.Path = f.path
	st.running, st.idle = true, false
	t.wg.Add(1)
	go func(pos Position) {
		defer t.wg.Done()
		defer file.Close()
		r := newFileReader(file, pos, t.MaxLine, &t.blocks)
		r.onTruncate = func(old Position) {
			t.mu.Lock()
			t.retire(old)
			t.mu.Unlock()
		}
		idle := t.read(ctx, st, r, reset, announce)
		t.mu.Lock()
		st.pos.Offset, st.pos.Fingerprint, st.running, st.idle = r.pos.Offset, r.pos.Fingerprint, false, idle
		st.pos.PrevOffset, st.pos.PrevFingerprint = r.pos.PrevOffset, r.pos.PrevFingerprint
		t.mu.Unlock()
	}(st.pos)
}

// copyOf finds the position a new file continues: a file truncated in place
// whose first bytes it repeats (copytruncate's copy), or a file being read
// whose first bytes it repeats (the copy, seen before the truncation).
// Caller holds t.mu.
func (t *Tailer) copyOf(key FileKey, file *os.File, fp []byte) (int64, bool) {
	n := fpLen(fp)
	if n < minFingerprint {
		return 0, false
	}
	for i, g := range t.ghosts {
		if gl := fpLen(g.Fingerprint); gl >= minFingerprint && gl <= n && sameContent(g.Fingerprint, file) {
			t.ghosts = append(t.ghosts[:i], t.ghosts[i+1:]...)
			return g.Offset, true
		}
	}
	for k, st := range t.files {
		if k != key && bytes.Equal(st.pos.Fingerprint, fp) {
			return st.pos.Offset, true
		}
	}
	return 0, false
}

// sameContent reports whether file starts with the bytes of fp.
func sameContent(fp []byte, file *os.File) bool {
	ok, err := matches(fp, file)
	return err == nil && ok
}

// retire remembers the position of a file truncated in place. Caller holds t.mu.
func (t *Tailer) retire(p Position) {
	if fpLen(p.Fingerprint) < minFingerprint || p.Offset == 0 {
		return
	}
	t.ghosts = append(t.ghosts, p)
	if len(t.ghosts) > 64 {
		t.ghosts = t.ghosts[1:]
	}
}

// send delivers a chunk unless ctx is done.
func (t *Tailer) send(ctx context.Context, c Chunk) bool {
	select {
	case t.C <- c:
		return true
	case <-ctx.Done():
		return false
	}
}

// read reads one file: to its end, then (with Follow) as it grows, until
// ctx is done, the file is rotated away and drained, or it idles. It
// reports whether it stopped for idleness.
func (t *Tailer) read(ctx context.Context, st *fileState, r *fileReader, reset, announce bool) (idle bool) {
	log := t.Logger.With("file", r.pos.Path)
	emit := func(c Chunk) bool {
		if !t.send(ctx, c) {
			return false
		}
		t.mu.Lock() // copyOf needs the live offset
		st.pos.Offset, st.pos.Fingerprint = c.Pos.Offset, c.Pos.Fingerprint
		st.pos.PrevOffset, st.pos.PrevFingerprint = c.Pos.PrevOffset, c.Pos.PrevFingerprint
		t.mu.Unlock()
		return true
	}
	if (reset || announce) && !emit(Chunk{Pos: r.pos, Reset: reset}) {
		return false
	}
	for {
		if _, err := r.readToEOF(emit); err != nil {
			log.Warn("read input", "err", err)
			return false
		}
		if !t.Follow || ctx.Err() != nil {
			return false
		}
		if !t.samePath(r) {
			t.drain(ctx, r, emit)
			return false
		}
		switch t.follow(ctx, r, emit, log) {
		case followGone:
			t.drain(ctx, r, emit)
			return false
		case followIdle:
			return true
		case followDone:
			return false
		}
		// followResync: back to block reads from the last good offset.
	}
}

// fingerprintCheckEvery is how stale the followed file's fingerprint check
// may be when a line arrives.
const fingerprintCheckEvery = 50 * time.Millisecond

type followEnd int

const (
	followDone   followEnd = iota // ctx done
	followGone                    // renamed or deleted
	followIdle                    // unchanged for Idle
	followResync                  // lost sync with the file: read blocks again
)

// samePath reports whether the reader's path still names its file.
func (t *Tailer) samePath(r *fileReader) bool {
	fi, err := os.Stat(r.pos.Path)
	return err == nil && keyOf(fi) == r.pos.Key
}

// follow hands the live file to nxadm/tail from the reader's offset. Every
// line it yields must start where the previous one ended; a line starting
// at 0 means the file was truncated and reopened.
func (t *Tailer) follow(ctx context.Context, r *fileReader, emit func(Chunk) bool, log *slog.Logger) followEnd {
	tl, err := tail.TailFile(r.pos.Path, tail.Config{
		Location:      &tail.SeekInfo{Offset: r.pos.Offset, Whence: io.SeekStart},
		Follow:        true,
		MustExist:     true,
		CompleteLines: true,
		// Polling, not inotify: the tail package's shared inotify tracker
		// counts watches per file name, and a file followed again soon
		// after (reload, idle reopen) can lose its watch and so its
		// wake-ups. Each poll is one stat every PollInterval.
		Poll:   true,
		Logger: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	})
	if err != nil {
		return followGone
	}
	defer tl.Stop()
	// The tail opened the file by name: make sure it is still ours.
	if !t.samePath(r) {
		return followGone
	}
	idle := time.NewTimer(t.Idle)
	defer idle.Stop()
	check := time.NewTicker(t.Scan)
	defer check.Stop()
	lastCheck := time.Now()
	for {
		select {
		case <-ctx.Done():
			return followDone
		case <-idle.C:
			return followIdle
		case <-check.C:
			if !t.samePath(r) {
				return followGone
			}
			// Truncated, possibly rewritten past the old size (the tail
			// only notices a shrinking file): the block reader starts over.
			if _, err := r.check(); err != nil {
				return followResync
			}
			lastCheck = time.Now()
		case l, ok := <-tl.Lines:
			if !ok {
				return followGone
			}
			if l.Err != nil {
				continue
			}
			// The first line after a pause may be the first of a rewritten
			// file: compare the first bytes before trusting its offset.
			if time.Since(lastCheck) > fingerprintCheckEvery {
				lastCheck = time.Now()
				if _, err := r.check(); err != nil {
					return followResync
				}
			}
			end := l.SeekInfo.Offset
			start := end - int64(len(l.Text)) - 1
			switch {
			case start == r.pos.Offset:
			case start == 0:
				r.reset()
				if !emit(Chunk{Pos: r.pos, Reset: true}) {
					return followDone
				}
			default:
				log.Debug("tail offset out of step, resyncing", "offset", r.pos.Offset, "line_start", start)
				return followResync
			}
			r.pos.Offset = end
			if fpLen(r.pos.Fingerprint) < FingerprintSize {
				r.check()
			}
			c := Chunk{Pos: r.pos}
			if len(l.Text) > r.maxLine {
				c.TooLong = 1
			} else {
				c.Data = append([]byte(l.Text), '\n')
			}
			if !emit(c) {
				return followDone
			}
			if !idle.Stop() {
				select {
				case <-idle.C:
				default:
				}
			}
			idle.Reset(t.Idle)
		}
	}
}

// drain reads a file that was renamed or deleted through its descriptor,
// until it stops growing for RotateWait: a writer that has not reopened
// its log yet still appends to it.
func (t *Tailer) drain(ctx context.Context, r *fileReader, emit func(Chunk) bool) {
	poll := max(t.RotateWait/10, 10*time.Millisecond)
	quiet := time.Duration(0)
	for quiet < t.RotateWait {
		n, err := r.readToEOF(emit)
		if err != nil || ctx.Err() != nil {
			return
		}
		if n > 0 {
			quiet = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(poll):
			quiet += poll
		}
	}
}

// keyOf returns a file's identity.
func keyOf(fi os.FileInfo) FileKey {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return FileKey{Dev: uint64(st.Dev), Ino: st.Ino}
	}
	return FileKey{}
}
