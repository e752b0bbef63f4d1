package daemon

import (
	"os"
	"sync"
	"time"

	"github.com/apierr/apierr/ingest"
)

// drains tracks the files the tailer has read, to tell when none is being
// drained: read to its end under a name that no longer names it (renamed
// or deleted by a rotation). A reload that changes the globs restarts the
// tailer, and a new tailer finds files by the globs only, so the restart
// waits until no such file has had lines for the tailer's RotateWait.
type drains struct {
	mu   sync.Mutex
	last map[ingest.FileKey]lastRead
}

type lastRead struct {
	path string
	at   time.Time
}

func newDrains() *drains { return &drains{last: map[ingest.FileKey]lastRead{}} }

// saw records that c was read at now.
func (d *drains) saw(c ingest.Chunk, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last[c.Pos.Key] = lastRead{c.Pos.Path, now}
}

// active returns the paths (as first read) of the files read within quiet
// of now whose path no longer names them.
func (d *drains) active(quiet time.Duration, now time.Time) []string {
	d.mu.Lock()
	recent := map[ingest.FileKey]lastRead{}
	for k, l := range d.last {
		if now.Sub(l.at) < quiet {
			recent[k] = l
		} else if now.Sub(l.at) > time.Hour {
			delete(d.last, k) // long gone: keeps the map small
		}
	}
	d.mu.Unlock()
	var out []string
	for k, l := range recent {
		if fi, err := os.Stat(l.path); err != nil || fileKey(fi) != k {
			out = append(out, l.path)
		}
	}
	return out
}
