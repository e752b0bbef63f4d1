package ingest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// matches reports whether path is one an input names (for the watcher).
func (t *Tailer) matches(path string) bool {
	for i := 0; i <= len(t.Inputs); i++ {
		for _, g := range t.globsOf(i) {
			if ok, _ := filepath.Match(g, path); ok {
				return true
			}
		}
	}
	for _, f := range t.Files {
		if filepath.Clean(f) == filepath.Clean(path) {
			return true
		}
	}
	return false
}

func (t *Tailer) globsOf(input int) []string {
	if input == 0 {
		return t.Globs
	}
	return t.Inputs[input-1]
}

type found struct {
	path  string
	fi    os.FileInfo
	key   FileKey
	input int
}

// list expands the inputs' globs, in input order: a file matched by
// several inputs belongs to the first.
func (t *Tailer) list() ([]found, error) {
	seen := map[FileKey]bool{}
	var list []found
	add := func(p string, input int, literal bool) {
		fi, err := os.Stat(p)
		if err != nil {
			if literal {
				t.Logger.Warn("cannot read input", "file", p, "err", err)
			}
			return
		}
		if !fi.Mode().IsRegular() {
			return
		}
		if t.Exclude != nil {
			abs, err := filepath.Abs(p)
			if real, rerr := filepath.EvalSymlinks(abs); rerr == nil {
				abs = real
			}
			if err == nil && t.Exclude(abs) {
				return
			}
		}
		k := keyOf(fi)
		if seen[k] {
			return
		}
		seen[k] = true
		list = append(list, found{p, fi, k, input})
	}
	for _, p := range t.Files {
		add(p, 0, true)
	}
	for i := 0; i <= len(t.Inputs); i++ {
		for _, g := range t.globsOf(i) {
			m, err := glob(g)
			if isFDLimit(err) {
				return nil, err
			}
			if err != nil {
				t.Logger.Warn("bad glob", "glob", g, "err", err)
				continue
			}
			for _, p := range m {
				add(p, i, false)
			}
		}
	}
	return list, nil
}

// glob is filepath.Glob, except that failing to read the directory for
// lack of descriptors is an error, not an empty match: the files are not
// gone.
func glob(pattern string) ([]string, error) {
	dir, pat := filepath.Split(pattern)
	if hasMeta(dir) || !hasMeta(pat) {
		return filepath.Glob(pattern)
	}
	if _, err := filepath.Match(pat, ""); err != nil {
		return nil, err
	}
	d := dir
	if d == "" {
		d = "."
	}
	entries, err := os.ReadDir(d)
	if isFDLimit(err) {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if ok, _ := filepath.Match(pat, e.Name()); ok {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}

func isFDLimit(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// setProblem records the scan's failure to open files (nil: none) and
// logs it, within the warning budget. waiting < 0: the scan could not
// list the directories.
func (t *Tailer) setProblem(err error, waiting int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err == nil {
		if t.problem != nil {
			t.Logger.Info("every input file is open again")
		}
		t.problem = nil
		return
	}
	if waiting < 0 {
		t.problem = fmt.Errorf("cannot list input directories, retried every scan: %w", err)
	} else {
		t.problem = fmt.Errorf("%d input files cannot be opened, retried every scan: %w", waiting, err)
	}
	if t.warnings.Pour(1) {
		t.Logger.Error("input files not read for now", "err", t.problem)
	}
}

func hasMeta(path string) bool { return strings.ContainsAny(path, `*?[\\`) }

func containsKey(list []found, k FileKey) bool {
	for _, f := range list {
		if f.key == k {
			return true
		}
	}
	return false
}
