// Package storage keeps apierr's aggregates in SQLite: error, request and
// malformed-line counts per time bucket (by vendor and calling service),
// requests and latency histograms per endpoint, sample messages and trace
// ids, the host's name, and the read positions of input files.
//
// It is the only package that speaks SQL and the only one that imports
// mattn/go-sqlite3. A DB has one writer (the daemon or `apierr ingest`,
// held to one by Exclusive's lock);
// readers (`apierr report`) open it read-only while it writes, through WAL.
package storage

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-sqlite3"
)

//go:embed migration/*.sql
var migrations embed.FS

// Errors the caller can act on.
var (
	ErrNotExist = errors.New("database does not exist")
	// ErrNoData is a database file that no writer has set up yet (the
	// daemon is creating it): there is nothing to report.
	ErrNoData   = errors.New("holds no apierr data yet")
	ErrLocked   = errors.New("database is locked by another process")
	ErrCorrupt  = errors.New("database file is corrupt or not a database")
	ErrReadOnly = errors.New("database is read-only")
	ErrFull     = errors.New("disk is full")
)

// Limits caps cardinality: what a hostile or broken log can add.
type Limits struct {
	Vendors            int // distinct vendors
	CodesPerVendor     int // distinct codes per vendor
	EndpointsPerVendor int // distinct endpoints per vendor
	SamplesPerCode     int // sample messages kept per (vendor, code)
	Services           int // distinct calling services
}

// DefaultLimits are the defaults of the config's limits.
var DefaultLimits = Limits{Vendors: 1000, CodesPerVendor: 1000, EndpointsPerVendor: 1000, SamplesPerCode: 5, Services: 200}

// Other is the label that values over a cap are folded into.
const Other = "other"

// DB is an apierr database.
type DB struct {
	Path     string
	ReadOnly bool             // open with mode=ro (immutable=1 in a read-only directory): reports
	Limits   Limits           // cardinality caps (writer only)
	Now      func() time.Time // the clock, for tests

	// Exclusive makes a writer's Open take the one-writer lock (LockPath):
	// a second writer's Open then fails with a *LockedError. The daemon
	// and `apierr ingest` set it; readers never take the lock.
	Exclusive bool

	// KnownVendors are the catalog's vendors: never folded into Other by
	// the vendor cap, which bounds only the vendors no catalog names. Set
	// before Open (the caps are loaded then); writer only.
	KnownVendors map[string]bool

	// Host is the name of the database's host in fleet reports, as the
	// writer last set it (SetHost); read at Open, "" if never set.
	Host string

	db       *sql.DB
	caps     *caps
	groups   map[groupKey]groupRef // error groups (writer only)
	writes   writeCache            // prepared upserts and buffers (writer only)
	lockFile *os.File              // holds the one-writer lock
	opened   fileID                // the file Open opened (Check)
	// firstRelease: a reader of a database no writer has migrated since
	// the first release, which has no skipped or lifetime tables.
	firstRelease bool
	// beforeServices: a reader of a database no writer has migrated to
	// services, endpoints and hosts (0003): those read as empty.
	beforeServices bool
	// beforeLifetimeServices: a reader of a database no writer has
	// migrated to lifetime totals per service (0004): they read as ''.
	beforeLifetimeServices bool
	// beforeGroupFirst: a reader of a database no writer has migrated to
	// first lines kept with the groups (0006): FirstSeenEver reads the
	// counts.
	beforeGroupFirst bool
}

// NewDB returns a DB for the file at path with default settings; adjust
// the fields, then Open.
func NewDB(path string) *DB {
	return &DB{Path: path, Limits: DefaultLimits, Now: time.Now}
}

// Open opens (and, for a writer, creates and migrates) the database.
func (db *DB) Open() error {
	if err := db.open(); err != nil {
		return err
	}
	// What later migrations added: a reader of a database no writer has
	// migrated since reads those parts as they were.
	for _, f := range []struct {
		lacks         *bool
		table, column string
	}{
		{&db.beforeServices, "meta", ""},                           // 0003: services, endpoints and hosts
		{&db.beforeLifetimeServices, "lifetime_counts", "service"}, // 0004
		{&db.beforeGroupFirst, "error_groups", "first_seen"},       // 0006
	} {
		var n int
		if err := db.db.QueryRow(`SELECT COUNT(*) FROM pragma_table_info(?1) WHERE ?2 = '' OR name = ?2`, f.table, f.column).Scan(&n); err != nil {
			db.Close()
			return fmt.Errorf("open %s: %w", db.Path, translate(err))
		}
		*f.lacks = n == 0
	}
	if err := db.loadHost(); err != nil {
		db.Close()
		return fmt.Errorf("open %s: %w", db.Path, translate(err))
	}
	return nil
}

func (db *DB) open() (err error) {
	if db.Path == "" {
		return fmt.Errorf("no database path")
	}
	if db.ReadOnly {
		if _, err := os.Stat(db.Path); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: %w", db.Path, ErrNotExist)
		}
	} else if err := os.MkdirAll(filepath.Dir(db.Path), 0o750); err != nil {
		return fmt.Errorf("create database directory: %w", err)
	}
	// Another program's database is refused before anything writes to it.
	if err := checkOurs(db.Path); err != nil {
		return err
	}
	if db.Exclusive && !db.ReadOnly {
		if err := db.lock(); err != nil {
			return err
		}
		defer func() {
			if err != nil {
				db.unlock()
			}
		}()
	}

	q := url.Values{}
	q.Set("_busy_timeout", "5000")
	q.Set("_foreign_keys", "on")
	if db.ReadOnly {
		q.Set("mode", "ro")
		if readOnlyDir(db.Path) {
			q.Set("immutable", "1")
		}
	} else {
		q.Set("_journal_mode", "WAL")
		q.Set("_txlock", "immediate")
		q.Set("_synchronous", "NORMAL")
	}
	if db.ReadOnly {
		q.Set("_cache_size", "-32768") // reports: 32 MiB of page cache
	} else {
		q.Set("_cache_size", "-8192") // the writer touches few pages: 8 MiB
	}
	dsn := "file:" + (&url.URL{Path: db.Path}).EscapedPath() + "?" + q.Encode()
	if db.db, err = sql.Open(driverName, dsn); err != nil {
		return fmt.Errorf("open %s: %w", db.Path, err)
	}
	defer func() {
		if err != nil {
			db.db.Close()
			db.db = nil
		}
	}()

	if db.ReadOnly {
		if err := db.db.Ping(); err != nil {
			return fmt.Errorf("open %s: %w", db.Path, translate(err))
		}
		var mode string
		if err := db.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
			return fmt.Errorf("open %s: %w", db.Path, translate(err))
		}
		if db.opened, err = statID(db.Path); err != nil {
			return fmt.Errorf("open %s: %w", db.Path, err)
		}
		var n, tables int
		if err := db.db.QueryRow(`SELECT COUNT(*) FILTER (WHERE name = 'lifetime_counts'), COUNT(*) FILTER (WHERE name = 'error_counts')
			FROM sqlite_master`).Scan(&n, &tables); err != nil {
			return fmt.Errorf("open %s: %w", db.Path, translate(err))
		}
		if tables == 0 {
			return fmt.Errorf("%s %w", db.Path, ErrNoData)
		}
		db.firstRelease = n == 0
		return nil
	}

	// One writer: every statement goes through the same connection.
	db.db.SetMaxOpenConns(1)
	if err := createPrivate(db.Path); err != nil {
		return err
	}
	if db.opened, err = statID(db.Path); err != nil {
		return fmt.Errorf("open %s: %w", db.Path, err)
	}
	var mode string
	if err := db.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		return fmt.Errorf("open %s: %w", db.Path, translate(err))
	}
	if mode != "wal" {
		return fmt.Errorf("open %s: journal mode is %q, want wal", db.Path, mode)
	}
	if err := db.migrate(); err != nil {
		return fmt.Errorf("migrate %s: %w", db.Path, translate(err))
	}
	if db.caps, err = db.loadCaps(context.Background()); err != nil {
		return fmt.Errorf("open %s: %w", db.Path, translate(err))
	}
	if db.groups, err = db.loadGroups(context.Background()); err != nil {
		return fmt.Errorf("open %s: %w", db.Path, translate(err))
	}
	return nil
}

// readOnlyDir reports whether a reader must open the database at path
// with immutable=1: its directory is not writable (a read-only mount, such
// as the report unit's ReadOnlyPaths) and no -wal file is left, so the
// writer has stopped cleanly and the main file holds every commit. mode=ro
// alone fails there: SQLite must create the -shm file to read a WAL
// database. immutable takes no lock and creates no file; it would be wrong
// only while a writer changes the file, and a writer cannot run in a
// directory where it cannot create its -wal.
func readOnlyDir(path string) bool {
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		return false
	}
	return syscall.Access(filepath.Dir(path), 2 /* W_OK */) != nil
}

// createPrivate creates the database file 0600 before SQLite does, so
// counts, endpoints and samples are not world-readable.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return translateOS(err) // a *PathError: it names the operation and the path
	}
	return f.Close()
}

// driverName is go-sqlite3 with the connection settings the DSN cannot
// carry: report queries sort in memory, not in temporary files; and the
// function that merges latency histograms in upserts.
const driverName = "apierr_sqlite3"

func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{
		ConnectHook: func(c *sqlite3.SQLiteConn) error {
			if _, err := c.Exec("PRAGMA temp_store = MEMORY", nil); err != nil {
				return err
			}
			return c.RegisterFunc("apierr_hist_add", histAdd, true)
		},
	})
}

// Close closes the database; it is safe to call more than once.
func (db *DB) Close() error {
	if db.db == nil {
		return nil
	}
	db.closeStmts()
	err := db.db.Close()
	db.db = nil
	db.unlock()
	return err
}

// migrate applies the embedded migrations not yet applied, in name order,
// one transaction each.
func (db *DB) migrate() error {
	if _, err := db.db.Exec(`CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, "migration/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := db.migrateFile(name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	// Mark the file as apierr's (new, or from before the id was set).
	var id int64
	if err := db.db.QueryRow(`PRAGMA application_id`).Scan(&id); err != nil {
		return err
	}
	if id != ApplicationID {
		if _, err := db.db.Exec(fmt.Sprintf(`PRAGMA application_id = %d`, ApplicationID)); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) migrateFile(name string) error {
	tx, err := db.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	} else if n > 0 {
		return nil
	}
	sqlText, err := fs.ReadFile(migrations, name)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(string(sqlText)); err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT INTO migrations (name, applied_at) VALUES (?, ?)`, name, db.Now().UnixMilli()); err != nil {
		return err
	}
	return tx.Commit()
}

// translate turns driver errors into the package's errors; the only place
// that looks at sqlite3 error codes.
func translate(err error) error {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code {
	case sqlite3.ErrBusy, sqlite3.ErrLocked:
		return fmt.Errorf("%w (%v)", ErrLocked, err)
	case sqlite3.ErrCorrupt, sqlite3.ErrNotADB:
		return fmt.Errorf("%w (%v)", ErrCorrupt, err)
	case sqlite3.ErrReadonly, sqlite3.ErrCantOpen, sqlite3.ErrPerm, sqlite3.ErrAuth:
		if se.Code == sqlite3.ErrCantOpen {
			return fmt.Errorf("cannot open the database file: %w", err)
		}
		return fmt.Errorf("%w (%v)", ErrReadOnly, err)
	case sqlite3.ErrFull:
		return fmt.Errorf("%w (%v)", ErrFull, err)
	}
	return err
}

func translateOS(err error) error {
	if errors.Is(err, fs.ErrPermission) || strings.Contains(err.Error(), "read-only file system") {
		return fmt.Errorf("%w: %v", ErrReadOnly, err)
	}
	return err
}

// ms converts a time to the stored form: UTC unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// Minute and Hour are the bucket sizes.
const (
	Minute = int64(time.Minute / time.Millisecond)
	Hour   = int64(time.Hour / time.Millisecond)
)
