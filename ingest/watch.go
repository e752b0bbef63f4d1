package ingest

import (
	"errors"
	"path/filepath"
	"sync"

	"github.com/fsnotify/fsnotify"
)

// watcher wakes readers when their files change, with one inotify watch
// per directory (not per file, and no descriptor per file). A directory
// that cannot be watched is polled instead, by its readers.
type watcher struct {
	fs    *fsnotify.Watcher
	match func(path string) bool // whether a path is an input's: a change wakes the scan

	mu   sync.Mutex
	dirs map[string]bool // watched (true) or failed (false)
	subs map[string]chan struct{}
	scan chan struct{} // a matched path appeared or changed
}

func newWatcher(match func(string) bool) (*watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	return &watcher{fs: fw, match: match, dirs: map[string]bool{}, subs: map[string]chan struct{}{}, scan: make(chan struct{}, 1)}, nil
}

// watchDir watches path's directory; false means its files must be polled.
func (w *watcher) watchDir(path string) bool {
	if w == nil {
		return false
	}
	dir := filepath.Dir(path)
	w.mu.Lock()
	defer w.mu.Unlock()
	ok, tried := w.dirs[dir]
	if !tried {
		ok = w.fs.Add(dir) == nil
		w.dirs[dir] = ok
	}
	return ok
}

// subscribe makes changes to path wake ch, and reports whether they will:
// false means the caller must poll.
func (w *watcher) subscribe(path string, ch chan struct{}) bool {
	if !w.watchDir(path) {
		return false
	}
	w.mu.Lock()
	w.subs[filepath.Clean(path)] = ch
	w.mu.Unlock()
	return true
}

func (w *watcher) unsubscribe(path string, ch chan struct{}) {
	if w == nil {
		return
	}
	w.mu.Lock()
	if w.subs[filepath.Clean(path)] == ch {
		delete(w.subs, filepath.Clean(path))
	}
	w.mu.Unlock()
}

// run delivers events until the watcher is closed.
func (w *watcher) run() {
	for {
		select {
		case ev, ok := <-w.fs.Events:
			if !ok {
				return
			}
			w.mu.Lock()
			ch := w.subs[filepath.Clean(ev.Name)]
			w.mu.Unlock()
			if ch != nil {
				wake(ch)
			}
			if ev.Op&(fsnotify.Create|fsnotify.Write|fsnotify.Rename|fsnotify.Remove) != 0 && (ch == nil || ev.Op != fsnotify.Write) && w.match(ev.Name) {
				wake(w.scan)
			}
		case err, ok := <-w.fs.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// Events were lost: wake everyone.
				w.mu.Lock()
				for _, ch := range w.subs {
					wake(ch)
				}
				w.mu.Unlock()
				wake(w.scan)
			}
		}
	}
}

func (w *watcher) close() {
	if w != nil {
		w.fs.Close()
	}
}

// wake signals ch without blocking: one pending signal is enough.
func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
