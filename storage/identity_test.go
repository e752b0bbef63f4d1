package storage_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apierr/apierr/storage"
)

// foreignDB writes another program's SQLite database and returns its bytes.
func foreignDB(tb testing.TB, path string, pragmas ...string) []byte {
	tb.Helper()
	h, err := sql.Open("sqlite3", path)
	if err != nil {
		tb.Fatal(err)
	}
	stmts := append(pragmas,
		`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)`,
		`INSERT INTO notes (body) VALUES ('first'), ('second')`)
	for _, s := range stmts {
		if _, err := h.Exec(s); err != nil {
			tb.Fatal(err)
		}
	}
	if err := h.Close(); err != nil {
		tb.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// TestDB_OpenForeign refuses other programs' databases, writers and
// readers alike, and leaves each byte-identical, with no file beside it.
func TestDB_OpenForeign(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pragmas []string
	}{
		{"NoApplicationID", nil},
		{"OtherApplicationID", []string{`PRAGMA application_id = 1196444487`}}, // GeoPackage's "GPKG"
		{"WAL", []string{`PRAGMA journal_mode = WAL`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "other.db")
			want := foreignDB(t, path, tc.pragmas...)
			for _, ro := range []bool{false, true} {
				db := storage.NewDB(path)
				db.ReadOnly, db.Exclusive = ro, !ro
				err := db.Open()
				if !errors.Is(err, storage.ErrNotApierr) || !strings.Contains(err.Error(), path+" is not an apierr database") {
					db.Close()
					t.Fatalf("ReadOnly=%v: err=%v, want ErrNotApierr naming the file", ro, err)
				}
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
				t.Fatal("the foreign database changed")
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Fatalf("directory holds %d files, want only the foreign database", len(entries))
			}
		})
	}
}

func applicationID(tb testing.TB, path string) uint32 {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil || len(data) < 100 {
		tb.Fatalf("read header: %v", err)
	}
	return binary.BigEndian.Uint32(data[68:72])
}

// TestDB_ApplicationID marks new databases and adopts those of the first
// release, which had no application_id but apierr's migrations table.
func TestDB_ApplicationID(t *testing.T) {
	t.Run("New", func(t *testing.T) {
		db := MustOpenDB(t)
		db.Close()
		if id := applicationID(t, db.Path); id != storage.ApplicationID {
			t.Fatalf("application_id=%#x, want %#x", id, storage.ApplicationID)
		}
	})
	t.Run("FirstRelease", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "apierr.db")
		init, err := os.ReadFile("migration/0001_init.sql")
		if err != nil {
			t.Fatal(err)
		}
		h, err := sql.Open("sqlite3", path+"?_journal_mode=WAL")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{
			`CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`,
			string(init),
			`INSERT INTO migrations VALUES ('migration/0001_init.sql', 0)`,
			`INSERT INTO request_counts VALUES (946782240000, 'piggy', 7, 3, 1)`,
			`INSERT INTO error_groups VALUES (1, 'piggy', '1008', 400, 'POST /a', 'validation', 'no', '', 1)`,
			`INSERT INTO error_counts VALUES (946782240000, 1, 3, 946782240000, 946782240000)`,
			`INSERT INTO malformed_counts VALUES (946782240000, 'not JSON', 2)`,
		} {
			if _, err := h.Exec(s); err != nil {
				t.Fatal(err)
			}
		}
		h.Close()
		if id := applicationID(t, path); id != 0 {
			t.Fatalf("first release's application_id=%#x, want 0", id)
		}
		// A reader first (reports need no writer), then a writer, which
		// migrates it and starts its lifetime totals from its buckets.
		for _, ro := range []bool{true, false} {
			db := storage.NewDB(path)
			db.ReadOnly = ro
			if err := db.Open(); err != nil {
				t.Fatalf("ReadOnly=%v: open a first-release database: %v", ro, err)
			}
			life, err := db.Lifetime(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			skipped, err := db.Skipped(context.Background(), all[0], all[1])
			db.Close()
			if err != nil || len(skipped) != 0 {
				t.Fatalf("ReadOnly=%v: Skipped=%v, %v; want none", ro, skipped, err)
			}
			l := storage.ErrorLabels{Vendor: "piggy", Code: "1008", Category: "validation", Retry: "no"}
			if life.Requests["piggy"] != 7 || life.Errors[l] != 3 || life.Malformed["not JSON"] != 2 {
				t.Fatalf("ReadOnly=%v: Lifetime=%+v, want the first release's buckets", ro, life)
			}
			if ro && applicationID(t, path) != 0 {
				t.Fatal("a reader set the application_id")
			}
		}
		if id := applicationID(t, path); id != storage.ApplicationID {
			t.Fatalf("application_id=%#x after open, want %#x", id, storage.ApplicationID)
		}
	})
}

// TestDB_Check notices the database file deleted, replaced, or its
// directory deleted, under the open handle.
func TestDB_Check(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		do         func(path string) error
	}{
		{"Deleted", "deleted", os.Remove},
		{"DirectoryDeleted", "deleted", func(path string) error { return os.RemoveAll(filepath.Dir(path)) }},
		{"Replaced", "replaced", func(path string) error {
			if err := os.Rename(path, path+".old"); err != nil {
				return err
			}
			return os.WriteFile(path, nil, 0o600)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "data", "apierr.db")
			db := storage.NewDB(path)
			if err := db.Open(); err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Check(); err != nil {
				t.Fatalf("Check on a fresh database: %v", err)
			}
			if err := tc.do(path); err != nil {
				t.Fatal(err)
			}
			err := db.Check()
			if !errors.Is(err, storage.ErrGone) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check=%v, want ErrGone saying %q", err, tc.want)
			}
		})
	}
}
