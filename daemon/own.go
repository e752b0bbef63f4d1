package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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

// dbIdentity watches that the database's path still names the file the
// daemon has open. When the file or its directory is deleted (or replaced),
// commits go on to an unlinked file that nothing will ever read.
type dbIdentity struct {
	path string
	key  ingest.FileKey
}

// newDBIdentity records the identity of the open database at path.
func newDBIdentity(path string) (dbIdentity, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return dbIdentity{}, fmt.Errorf("database %s: %w", path, err)
	}
	return dbIdentity{path: path, key: fileKey(fi)}, nil
}

// problem says what is wrong, or "" when the path still names the open
// database.
func (d dbIdentity) problem() string {
	if d.path == "" {
		return ""
	}
	fi, err := os.Stat(d.path)
	switch {
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("database %s cannot be checked: %v", d.path, err)
	case err != nil:
		return fmt.Sprintf("database %s was deleted (or its directory was): counts are committed to a file nothing can read; restore the directory and restart apierr", d.path)
	case fileKey(fi) != d.key:
		return fmt.Sprintf("database %s was replaced by another file: counts are committed to the deleted one; restart apierr", d.path)
	}
	return ""
}
