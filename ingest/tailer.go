package ingest

import (
	"context"
	"errors"
	"github.com/nxadm/tail/ratelimiter"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// PollInterval is how often a followed file is checked for growth where
// inotify is not available: the floor of the delay between a line's write
// and its reading there.
const PollInterval = 50 * time.Millisecond

// Tailer reads log files and sends their complete lines, in chunks, to C.
//
// A file that exists is known by device and inode, not by name. A file
// renamed by rotation is read to its end through its open descriptor and
// never read twice; a file truncated in place, or replaced under the same
// inode, is read again from the start; files that appear later under a
// glob are picked up; and reading resumes from the positions it is given.
// Content is only used to recognize a copy (copytruncate, a compressed
// rotation, a move across filesystems) of a file that is gone or was
// truncated, and a copy is read only past the bytes verified against the
// original's position (see identify).
//
// A container log (Docker json-file, CRI) is known by its first line (see
// Detect) and keeps its framing through renames. Its chunks end between
// whole messages (see Framing.Boundary), so that a committed position never
// lies inside a message whose parts are still coming; each chunk carries
// the framing, for the consumer to unwrap it with a Framer of its own, and
// the calling service that the input or the path names.
//
// Each followed file holds one descriptor; a file unchanged for Idle is
// closed, and opened again when it grows. Changes are seen through one
// inotify watch per directory, or by polling where that fails.
type Tailer struct {
	Globs  []string   // input 0: file globs, re-evaluated every Scan
	Files  []string   // input 0: literal paths
	Inputs [][]string // inputs 1, 2, ...: their globs
	Follow bool       // false: read each file to its end once, then stop
	// Services, if set, is each input's calling service (the config's
	// `service:`), given to its chunks (Chunk.Service); where it is empty
	// the file's path names it (ServiceFromPath).
	Services []string
	// Poll, if set, follows files by polling every PollInterval instead of
	// inotify (which is used where it works): for filesystems that send
	// no change notifications, such as NFS.
	Poll bool
	// MaxLine is the longest line in bytes; longer lines are skipped and
	// counted (Chunk.TooLong) without being held in memory.
	MaxLine    int
	Scan       time.Duration // how often globs are re-evaluated
	Idle       time.Duration // a followed file unchanged this long is closed (reopened when it grows)
	RotateWait time.Duration // a rotated-away file is read until unchanged this long
	Logger     *slog.Logger
	// Exclude, if set, keeps paths out whatever the globs say (the
	// daemon's own database, WAL, lock and summary files). It is given
	// the absolute path with symbolic links resolved.
	Exclude func(path string) bool

	// C receives the chunks. Run creates nothing else that sends on it and
	// closes it when it returns.
	C chan Chunk

	mu      sync.Mutex
	files   map[FileKey]*fileState
	ghosts  []ghost                  // files truncated in place or gone, for their copies
	pending map[FileKey]*pendingCopy // new files that may be copies, not read yet
	decided map[FileKey]int64        // files not read as lines (compressed, binary), by size
	problem error                    // the last scan's failure to open files, or nil
	// warnings bounds how often trouble that repeats every scan or read
	// (descriptor limit, unreadable files) is logged: a burst of a few,
	// then about one a minute.
	warnings *ratelimiter.LeakyBucket
	matched  atomic.Int64 // files the last scan found
	wg       sync.WaitGroup
	blocks   blockPool // read blocks, back from Chunk.Release
	watch    *watcher  // nil: polling
}

type fileState struct {
	pos     Position
	input   int
	running bool
	idle    bool   // closed for idleness at pos.Offset
	seen    bool   // found by the last scan
	copied  bool   // already continued by a copy
	tail    []byte // in memory only: the bytes before pos.Offset when reading stopped
	wake    chan struct{}
	// framing is the file's container framing, read from its first line
	// once (framed says it is known): it stays with the file through
	// renames, and is read again after a restart or truncation.
	framing Framing
	framed  bool
}

// ghost is where a file stood when it was truncated in place: its copy
// continues from there.
type ghost struct {
	pos  Position
	tail []byte // the bytes before pos.Offset, when known (in memory only)
}

// NewTailer returns a Tailer that resumes from positions.
func NewTailer(positions []Position) *Tailer {
	t := &Tailer{
		MaxLine:    DefaultMaxLine,
		Scan:       time.Second,
		Idle:       5 * time.Minute,
		RotateWait: 5 * time.Second,
		Logger:     slog.Default(),
		C:          make(chan Chunk, 1),
		files:      map[FileKey]*fileState{},
		pending:    map[FileKey]*pendingCopy{},
		decided:    map[FileKey]int64{},
		warnings:   ratelimiter.NewLeakyBucket(5, 12*time.Second),
	}
	fps := make([]fingerprint, len(positions)) // each parsed once, not once a truncation
	for i, p := range positions {
		fps[i] = parseFingerprint(p.Fingerprint)
	}
	for _, p := range positions {
		t.files[p.Key] = &fileState{pos: p}
		// Its truncations, the last then the earlier ones, become ghosts
		// oldest first: identify tries the newest first.
		trs := append([]Truncation{{p.PrevOffset, p.PrevFingerprint}}, p.Earlier...)
		for i := len(trs) - 1; i >= 0; i-- {
			tr := trs[i]
			if tr.Offset > 0 && len(tr.Fingerprint) > 0 && !continued(tr, p.Key, positions, fps) {
				t.ghosts = append(t.ghosts, ghost{pos: Position{Key: p.Key, Path: p.Path, Offset: tr.Offset, Fingerprint: tr.Fingerprint}})
			}
		}
	}
	return t
}

// Run reads until ctx is done (or, without Follow, until every file is
// read to its end), then closes C. Chunks already read are delivered
// before C closes, unless ctx is done.
func (t *Tailer) Run(ctx context.Context) error {
	defer close(t.C)
	var scanNow chan struct{}
	if t.Follow && !t.Poll {
		w, err := newWatcher(t.matches)
		if err != nil {
			t.Logger.Warn("inotify unavailable: polling files", "err", err)
		} else {
			t.watch, scanNow = w, w.scan
			go w.run()
			defer w.close()
		}
	}
	t.scan(ctx)
	if !t.Follow {
		t.wg.Wait()
		return nil
	}
	// With inotify, a scan follows every change under a glob; the periodic
	// scan is a safety net (lost events, filesystems that send none), run
	// less often to keep an idle daemon idle.
	every := t.Scan
	if t.watch != nil {
		every *= 3
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	// A change under a glob scans at once, but at most every PollInterval:
	// a file being written (a compression in progress) does not keep the
	// scan busy.
	soon := time.NewTimer(0)
	<-soon.C
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			t.wg.Wait()
			return nil
		case <-tick.C:
		case <-scanNow:
			if d := time.Since(last); d < PollInterval {
				soon.Reset(PollInterval - d)
				continue
			}
		case <-soon.C:
		}
		t.scan(ctx)
		last = time.Now()
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

// Problem returns why files matched by the last scan could not be opened
// (the descriptor limit, for one), or nil. Such files are not dropped:
// every scan tries them again.
func (t *Tailer) Problem() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.problem
}

// scan starts a reader for every file that needs one. Known files are
// looked at first, so that truncations are seen before new files are
// matched against truncated ones.
func (t *Tailer) scan(ctx context.Context) {
	list, err := t.list()
	if err != nil {
		t.setProblem(err, -1)
		return
	}
	t.matched.Store(int64(len(list)))
	if t.watch != nil {
		// New files are seen as they appear in the directories of the
		// files and of the globs.
		last := ""
		for _, f := range list {
			if d := filepath.Dir(f.path); d != last {
				t.watch.watchDir(f.path)
				last = d
			}
		}
		for i := 0; i <= len(t.Inputs); i++ {
			for _, g := range t.globsOf(i) {
				if dir := filepath.Dir(g); !hasMeta(dir) {
					t.watch.watchDir(g)
				}
			}
		}
	}
	t.mu.Lock()
	for _, st := range t.files {
		st.seen = false
	}
	for _, f := range list {
		if st := t.files[f.key]; st != nil {
			st.seen = true
		}
	}
	sort.SliceStable(list, func(i, j int) bool {
		return t.files[list[i].key] != nil && t.files[list[j].key] == nil
	})
	for k := range t.pending {
		if !containsKey(list, k) {
			delete(t.pending, k)
		}
	}
	t.mu.Unlock()
	var waiting int
	var openErr error
	for _, f := range list {
		if ctx.Err() != nil {
			return
		}
		if err := t.consider(ctx, f); err != nil {
			waiting++
			openErr = err
		}
	}
	t.setProblem(openErr, waiting)
}

// consider starts reading a found file unless it is being read already or
// has nothing new. It returns an error only when the file could not be
// opened for lack of descriptors: the caller reports it, and the next scan
// tries again.
func (t *Tailer) consider(ctx context.Context, f found) error {
	size := f.fi.Size()
	t.mu.Lock()
	st := t.files[f.key]
	switch {
	case st != nil && st.running:
		st.pos.Path = f.path
		if size != st.pos.Offset && st.wake != nil {
			wake(st.wake) // in case the change was not signalled
		}
		t.mu.Unlock()
		return nil
	case st != nil && st.idle && size == st.pos.Offset:
		t.mu.Unlock()
		return nil
	}
	if d, ok := t.decided[f.key]; ok && d == size {
		t.mu.Unlock()
		return nil
	}
	t.mu.Unlock()

	file, err := os.Open(f.path)
	if err != nil {
		if isFDLimit(err) {
			return err
		}
		t.Logger.Warn("cannot open input", "file", f.path, "err", err)
		return nil
	}
	if fi, err := file.Stat(); err != nil || keyOf(fi) != f.key {
		file.Close() // replaced between stat and open: the next scan sees it
		return nil
	}
	k, name, err := kindOf(file)
	if err != nil {
		file.Close()
		t.Logger.Warn("cannot read input", "file", f.path, "err", err)
		return nil
	}
	if k != plain {
		t.considerCompressed(ctx, f, file, k, name)
		return nil
	}

	r := newFileReader(file, Position{Key: f.key, Path: f.path}, t.MaxLine, &t.blocks)
	t.mu.Lock()
	defer t.mu.Unlock()
	input := f.input
	if st != nil {
		input = st.input
		if st.framed {
			r.setFraming(st.framing)
		}
	}
	r.service = t.serviceOf(input, f.path)
	reset, announce := false, false
	if st == nil {
		off, tail, ok := t.identify(f, file)
		if !ok {
			file.Close() // maybe a copy: not read until that is settled
			return nil
		}
		delete(t.pending, f.key)
		st = &fileState{pos: Position{Key: f.key, Path: f.path, Offset: off}, input: f.input}
		t.files[f.key] = st
		r.pos = st.pos
		r.fp.grow(file, size)
		r.tail = tail
		r.fp.setTail(tail)
		r.pos.Fingerprint = r.fp.encode()
		announce = true // a new file's position is committed even before it has lines
	} else {
		r.pos = st.pos
		r.pos.Path = f.path
		r.fp = parseFingerprint(st.pos.Fingerprint)
		if err := r.resume(); errors.Is(err, errTruncated) {
			// Truncated or replaced while nobody was reading it.
			t.retire(st.pos, st.tail)
			r.reset() // records st.pos as the last truncation
			reset = true
		} else if err != nil {
			file.Close()
			t.Logger.Warn("cannot read input", "file", f.path, "err", err)
			return nil
		}
	}
	st.pos, st.running, st.idle = r.pos, true, false
	st.wake = make(chan struct{}, 1)
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		defer file.Close()
		r.onTruncate = func(old Position, tail []byte) {
			t.mu.Lock()
			t.retire(old, tail)
			t.mu.Unlock()
		}
		idle := t.read(ctx, st, r, reset, announce)
		t.mu.Lock()
		st.pos, st.running, st.idle = r.pos, false, idle
		st.tail = append(st.tail[:0], r.tail...)
		st.framing, st.framed = r.framing, r.detected
		st.wake = nil
		t.mu.Unlock()
	}()
	return nil
}

// serviceOf returns the calling service of input's file at path: the
// input's own, else the one its path names.
func (t *Tailer) serviceOf(input int, path string) string {
	if input >= 0 && input < len(t.Services) && t.Services[input] != "" {
		return t.Services[input]
	}
	return ServiceFromPath(path)
}

// continued reports whether a file other than the truncated one (key) was
// read from where the truncation left it, or further: a copy that starts
// as the file did and whose position lies at or past the truncation's.
// Its copy is known by its own position, and the truncation is done with.
// fps are the positions' fingerprints, parsed.
func continued(tr Truncation, key FileKey, positions []Position, fps []fingerprint) bool {
	fp := parseFingerprint(tr.Fingerprint)
	for i, q := range positions {
		if q.Key != key && q.Offset >= tr.Offset && fp.sameStart(fps[i]) {
			return true
		}
	}
	return false
}

// retire remembers where a file stood before it was truncated in place.
// Caller holds t.mu.
func (t *Tailer) retire(p Position, tail []byte) {
	if p.Offset == 0 {
		return
	}
	t.ghosts = append(t.ghosts, ghost{pos: p, tail: append([]byte(nil), tail...)})
	if len(t.ghosts) > 64 {
		t.ghosts = t.ghosts[1:]
	}
}

// keyOf returns a file's identity.
func keyOf(fi os.FileInfo) FileKey {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return FileKey{Dev: uint64(st.Dev), Ino: st.Ino}
	}
	return FileKey{}
}
