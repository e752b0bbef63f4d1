package storage

import (
	"bytes"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"syscall"
)

// ApplicationID is the SQLite application_id of an apierr database: the
// ASCII bytes of "aERR" (0x61455252), in the database header at offset 68.
// `file` and `sqlite3` name it; Open refuses a database with another one.
const ApplicationID = 0x61455252

// ErrNotApierr is the error of Open for a file that is an SQLite database
// but not apierr's; the file is left untouched.
var ErrNotApierr = errors.New("not an apierr database")

// sqliteMagic opens every SQLite database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// checkOurs tells whether the file at path may be opened as an apierr
// database, before any write: a missing or empty file is new; an SQLite
// file must carry ApplicationID, or carry none (0) and either no tables or
// apierr's migrations table (a database from before the id was set). It
// reads the header itself and the schema through an immutable read-only
// handle, so a foreign file stays byte-identical: no journal mode switched,
// no table added, no -wal or -shm created.
func checkOurs(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return translateOS(err) // a *PathError: it names the operation and the path
	}
	defer f.Close()
	var hdr [100]byte
	n, err := io.ReadFull(f, hdr[:])
	switch {
	case n == 0:
		return nil // new: SQLite has not written it yet
	case err != nil || !bytes.Equal(hdr[:16], sqliteMagic):
		return fmt.Errorf("open %s: %w", path, ErrCorrupt)
	}
	id := binary.BigEndian.Uint32(hdr[68:72])
	if id == ApplicationID {
		return nil
	}
	if id != 0 {
		return fmt.Errorf("%s is %w (its SQLite application_id is %#08x, apierr's %#08x); it was left untouched",
			path, ErrNotApierr, id, ApplicationID)
	}
	tables, apierr, err := schemaOf(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, translate(err))
	}
	if tables > 0 && !apierr {
		return fmt.Errorf("%s is %w (an SQLite database with %d tables of another program, no apierr tables); it was left untouched",
			path, ErrNotApierr, tables)
	}
	return nil
}

// schemaOf counts the tables of the database at path and says whether one
// is apierr's migrations table. immutable=1 makes SQLite take no lock and
// create no file; it ignores a -wal, which only matters for a database
// killed before its first checkpoint, whose main file then has no tables.
//
// immutable is wrong only while a writer checkpoints into the file (an
// apierr database, since apierr's carry their id once checkpointed); a read
// that fails is retried as an ordinary read-only one, which never writes
// the main file either.
func schemaOf(path string) (tables int, apierr bool, err error) {
	for _, mode := range []string{"?mode=ro&immutable=1", "?mode=ro"} {
		if tables, apierr, err = readSchema("file:" + (&url.URL{Path: path}).EscapedPath() + mode); err == nil {
			break
		}
	}
	return tables, apierr, err
}

func readSchema(dsn string) (tables int, apierr bool, err error) {
	h, err := sql.Open(driverName, dsn)
	if err != nil {
		return 0, false, err
	}
	defer h.Close()
	var ours int
	err = h.QueryRow(`SELECT COUNT(*), IFNULL(SUM(name = 'migrations'), 0)
		FROM sqlite_master WHERE type = 'table'`).Scan(&tables, &ours)
	return tables, ours > 0, err
}

// fileID is a file's device and inode.
type fileID struct{ dev, ino uint64 }

func statID(path string) (fileID, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, nil
	}
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, nil
}

// ErrGone is the error of Check when the database's path no longer leads
// to the open file.
var ErrGone = errors.New("the database file is gone")

// Check reports whether the file at the database's path is still the one
// Open opened: not deleted, its directory not deleted, not replaced by
// another file. Commits to a file that no path leads to are lost at the
// next start, so the daemon's health check asks this.
func (db *DB) Check() error {
	if db.db == nil {
		return fmt.Errorf("database %s is not open", db.Path)
	}
	id, err := statID(db.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %s was deleted (or its directory was); commits go to a file no path leads to", ErrGone, db.Path)
	case err != nil:
		return fmt.Errorf("%w: %s: %v", ErrGone, db.Path, err)
	case id != db.opened:
		return fmt.Errorf("%w: %s was replaced by another file (device %d inode %d, opened device %d inode %d)",
			ErrGone, db.Path, id.dev, id.ino, db.opened.dev, db.opened.ino)
	}
	return nil
}
