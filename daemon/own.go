package daemon

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/apierr/apierr/ingest"
)

// Own is the daemon's own files: the database, its -wal, -shm and
// -journal, its lock file and the summary directory. They are never
// inputs, even when a glob matches them (`/var/lib/apierr/*`): reading
// them would count the daemon's own writes as log lines, forever.
type Own struct {
	files []string // absolute paths
	dir   string   // absolute summary directory, or ""
}

// OwnFiles returns the own files of the database at dbPath and of the
// summary directory summaryDir (empty: none).
func OwnFiles(dbPath, summaryDir string) Own {
	var o Own
	if dbPath != "" {
		db := absPath(dbPath)
		// <db>.lock is the one-writer lock file.
		o.files = []string{db, db + "-wal", db + "-shm", db + "-journal", db + ".lock"}
	}
	if summaryDir != "" {
		o.dir = absPath(summaryDir)
	}
	return o
}

// Has reports whether path, the file known as key (zero: unknown), is
// one of the own files: by name, or as the same file under another name
// (a symbolic link to the state directory, a hard link).
func (o Own) Has(path string, key ingest.FileKey) bool {
	p := absPath(path)
	for _, f := range o.files {
		if p == f {
			return true
		}
	}
	if o.dir != "" && (p == o.dir || strings.HasPrefix(p, o.dir+string(filepath.Separator))) {
		return true
	}
	if key == (ingest.FileKey{}) {
		return false
	}
	for _, f := range o.files {
		if fi, err := os.Stat(f); err == nil && fileKey(fi) == key {
			return true
		}
	}
	if o.dir != "" {
		dfi, err1 := os.Stat(o.dir)
		pfi, err2 := os.Stat(filepath.Dir(path))
		if err1 == nil && err2 == nil && os.SameFile(dfi, pfi) {
			return true
		}
	}
	return false
}

// exclude is the tailer's Exclude hook: it keeps the own files out, and
// says so once for each.
func (o Own) exclude(log *slog.Logger) func(path string) bool {
	var mu sync.Mutex
	said := map[string]bool{}
	return func(path string) bool {
		var key ingest.FileKey
		if fi, err := os.Stat(path); err == nil {
			key = fileKey(fi)
		}
		if !o.Has(path, key) {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		if !said[path] {
			said[path] = true
			log.Warn("not an input: apierr's own file matches a glob; it is not read", "file", path)
		}
		return true
	}
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}

// fileKey is a file's identity, as the tailer knows it.
func fileKey(fi os.FileInfo) ingest.FileKey {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return ingest.FileKey{Dev: uint64(st.Dev), Ino: st.Ino}
	}
	return ingest.FileKey{}
}
