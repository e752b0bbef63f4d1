package daemon

import (
	"log/slog"
	"path/filepath"

	"github.com/apierr/apierr/ingest"
)

// assigner tells which input a file belongs to, for the tailer's chunks.
//
// One tailer reads the globs of every input, and knows files by identity,
// so a file matched by several globs or inputs is read once. It belongs to
// the first input (in the config's order) whose globs match its name when
// it is first seen, and is decoded with that input's mapping for as long
// as it is read (also after a rotation renames it). The daemon's own files
// belong to none: their chunks are dropped, never counted.
type assigner struct {
	inputs [][]string // each input's globs, cleaned as filepath.Glob cleans its results
	own    Own
	log    *slog.Logger
	known  map[ingest.FileKey]int // input index, or -1 for an own file
}

func newAssigner(inputs []Input, own Own, log *slog.Logger) *assigner {
	a := &assigner{own: own, log: log, known: map[ingest.FileKey]int{}}
	for _, in := range inputs {
		var globs []string
		for _, g := range in.Paths {
			globs = append(globs, filepath.Clean(g))
		}
		a.inputs = append(a.inputs, globs)
	}
	return a
}

// inputOf returns the index of c's input, or -1 when c is from one of the
// daemon's own files. A file replaced or truncated in place (Reset) is
// looked at again: its inode may now be another file's.
func (a *assigner) inputOf(c ingest.Chunk) int {
	if i, ok := a.known[c.Pos.Key]; ok && !c.Reset {
		return i
	}
	i := -1
	if a.own.Has(c.Pos.Path, c.Pos.Key) {
		a.log.Warn("not an input: apierr's own file matches a glob; it is not read", "file", c.Pos.Path)
	} else {
		i = firstInput(a.inputs, c.Pos.Path)
	}
	a.known[c.Pos.Key] = i
	return i
}

// firstInput returns the index of the first input with a glob matching
// path; 0 when none does by name (the tailer found it through one).
func firstInput(inputs [][]string, path string) int {
	abs := absPath(path)
	for i, globs := range inputs {
		for _, g := range globs {
			if ok, _ := filepath.Match(g, path); ok {
				return i
			}
			if ok, _ := filepath.Match(absPath(g), abs); ok {
				return i
			}
		}
	}
	return 0
}
