package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/apierr/apierr/daemon"
)

// globCheckEvery is how often `run` looks again at what its globs match,
// to say when one starts or stops matching files.
var globCheckEvery = 10 * time.Second

// checkGlobs reports the first glob that cannot parse, as a usage error:
// the daemon would otherwise match nothing with it, forever.
func checkGlobs(inputs []daemon.Input) error {
	for i, in := range inputs {
		for _, g := range in.Paths {
			if _, err := filepath.Glob(g); err != nil {
				return usageErrorf("inputs[%d]: glob %q: %v", i, g, err)
			}
		}
	}
	return nil
}

// globWatch says what the daemon's globs match: at start each file
// followed (INFO) and each glob that matches nothing (WARN); afterwards,
// each time a glob stops or starts matching files. The daemon's tailer
// does the following; this only tells the operator.
type globWatch struct {
	log *slog.Logger

	mu      sync.Mutex
	globs   []string
	matched map[string]bool // glob -> matched files at the last look
}

// set replaces the globs (at start and after a reload) and says what they
// match now.
func (w *globWatch) set(inputs []daemon.Input) {
	var globs []string
	for _, in := range inputs {
		globs = append(globs, in.Paths...)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.globs = globs
	old := w.matched
	w.matched = map[string]bool{}
	for _, g := range globs {
		files, _ := filepath.Glob(g) // checked by checkGlobs
		w.matched[g] = len(files) > 0
		if seen, ok := old[g]; ok && seen == (len(files) > 0) {
			continue // said already
		}
		if len(files) == 0 {
			w.log.Warn("glob matches no file yet; it is looked at again as files appear", "glob", g)
			continue
		}
		const show = 20
		for _, f := range files[:min(len(files), show)] {
			w.log.Info("following", "file", f, "glob", g)
		}
		if len(files) > show {
			w.log.Info(fmt.Sprintf("following %d more files", len(files)-show), "glob", g)
		}
	}
}

// look checks the globs again and says which changed.
func (w *globWatch) look() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, g := range w.globs {
		files, _ := filepath.Glob(g)
		now := len(files) > 0
		if now == w.matched[g] {
			continue
		}
		w.matched[g] = now
		if now {
			w.log.Info("glob matches files again", "glob", g, "files", len(files))
		} else {
			w.log.Warn("glob matches no file any more", "glob", g)
		}
	}
}

// run looks every globCheckEvery until ctx is done.
func (w *globWatch) run(ctx context.Context) {
	t := time.NewTicker(globCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.look()
		}
	}
}
