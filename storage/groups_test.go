package storage_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/storage"
)

// firstSeen is FirstSeenEver of piggy 1008, the zero time if it has none.
func firstSeen(tb testing.TB, db *storage.DB) time.Time {
	tb.Helper()
	first, err := db.FirstSeenEver(context.Background(), storage.Filter{})
	if err != nil {
		tb.Fatal(err)
	}
	return first[[2]string{"piggy", "1008"}]
}

// TestDB_GroupFirstSeen: a group's first line ever is kept with it, moved
// earlier by lines that come late, across batches and reopenings, and
// kept while the group has counts.
func TestDB_GroupFirstSeen(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	now := t0.Add(4 * time.Hour)
	db.Now = func() time.Time { return now }
	commit := func(db *storage.DB, at ...time.Time) {
		t.Helper()
		b := db.NewBatch()
		for _, tm := range at {
			b.Add(tm, ev("piggy", "1008", classify.RetryNo), "POST /a")
		}
		if err := db.Commit(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	// One batch, several buckets: the group is created with one of them.
	commit(db, t0.Add(2*time.Hour), t0.Add(time.Hour+17*time.Minute), t0.Add(3*time.Hour))
	if got, want := firstSeen(t, db), t0.Add(time.Hour+17*time.Minute); !got.Equal(want) {
		t.Fatalf("first batch: FirstSeen=%v, want %v", got, want)
	}
	commit(db, t0.Add(3*time.Hour+time.Minute)) // later: no change
	commit(db, t0.Add(30*time.Minute))          // earlier, late
	if got, want := firstSeen(t, db), t0.Add(30*time.Minute); !got.Equal(want) {
		t.Fatalf("a late line: FirstSeen=%v, want %v", got, want)
	}

	// The writer that opens the database again knows the group's first
	// line: only an earlier one moves it.
	db.Close()
	db2 := storage.NewDB(db.Path)
	db2.Now = db.Now
	if err := db2.Open(); err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	commit(db2, t0.Add(time.Hour))
	if got, want := firstSeen(t, db2), t0.Add(30*time.Minute); !got.Equal(want) {
		t.Fatalf("reopened, a later line: FirstSeen=%v, want %v", got, want)
	}
	commit(db2, t0)
	if got := firstSeen(t, db2); !got.Equal(t0) {
		t.Fatalf("reopened, an earlier line: FirstSeen=%v, want %v", got, t0)
	}

	// Retention drops the first hours' counts: the first line ever stays
	// while the group has counts, and goes with the group.
	now = t0.Add(3*time.Hour + 30*time.Minute)
	if err := db2.Maintain(ctx, time.Hour, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := firstSeen(t, db2); !got.Equal(t0) {
		t.Fatalf("after retention: FirstSeen=%v, want %v", got, t0)
	}
	now = t0.Add(10 * time.Hour)
	if err := db2.Maintain(ctx, time.Hour, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := firstSeen(t, db2); !got.IsZero() {
		t.Fatalf("after every count went: FirstSeen=%v, want none", got)
	}
}

// TestDB_MigrateGroupFirstSeen: a database with the full index of error
// counts by group (before 0006) reads its first lines through a reader,
// and a writer migrates it to first lines kept with the groups and an
// index of hour rows only, with the same answers.
func TestDB_MigrateGroupFirstSeen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "apierr.db")
	h, err := sql.Open("sqlite3", path+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Exec(`CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob("migration/000[1-5]_*.sql")
	if len(names) != 5 {
		t.Fatalf("migrations before 0006: %v", names)
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := h.Exec(`INSERT INTO migrations VALUES (?, 0)`, name); err != nil {
			t.Fatal(err)
		}
	}
	// Group 1: a minute row at 03:17 and an hour row at 04:00; group 2:
	// an hour row only, rolled up, whose first line is at 05:41.
	hour := t0.Truncate(time.Hour)
	ms := func(d time.Duration) int64 { return hour.Add(d).UnixMilli() }
	for _, s := range []struct {
		q    string
		args []any
	}{
		{`INSERT INTO error_groups (id, vendor, code, http_status, endpoint, category, retry, range_name, known, service)
			VALUES (1, 'piggy', '1008', 400, 'POST /a', 'validation', 'no', '', 1, ''), (2, 'piggy', '1009', 400, 'POST /a', 'validation', 'no', '', 1, '')`, nil},
		{`INSERT INTO error_counts VALUES (?, 1, 2, ?, ?), (?, 1, 5, ?, ?), (?, 2, 4, ?, ?)`, []any{
			ms(17 * time.Minute), ms(17*time.Minute + 3*time.Second), ms(17*time.Minute + 9*time.Second),
			ms(time.Hour), ms(time.Hour + 2*time.Minute), ms(time.Hour + 50*time.Minute),
			ms(2 * time.Hour), ms(2*time.Hour + 41*time.Minute), ms(2*time.Hour + 59*time.Minute)}},
	} {
		if _, err := h.Exec(s.q, s.args...); err != nil {
			t.Fatal(err)
		}
	}
	h.Close()
	want := map[[2]string]time.Time{
		{"piggy", "1008"}: hour.Add(17*time.Minute + 3*time.Second),
		{"piggy", "1009"}: hour.Add(2*time.Hour + 41*time.Minute),
	}
	ctx := context.Background()
	for _, ro := range []bool{true, false} {
		db := storage.NewDB(path)
		db.ReadOnly = ro
		if err := db.Open(); err != nil {
			t.Fatal(err)
		}
		first, err := db.FirstSeenEver(ctx, storage.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		for k, w := range want {
			if !first[k].Equal(w) {
				t.Errorf("ReadOnly=%v: FirstSeen %v=%v, want %v", ro, k, first[k], w)
			}
		}
		w, err := db.WindowErrors(ctx, hour, hour.Add(3*time.Hour), time.Hour, storage.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if tr := w.Trend[[2]string{"piggy", "1008"}]; len(tr) != 3 || tr[0] != 2 || tr[1] != 5 || tr[2] != 0 {
			t.Errorf("ReadOnly=%v: trend of 1008 %v, want [2 5 0]", ro, tr)
		}
		db.Close()
	}
	h, err = sql.Open("sqlite3", path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var idx string
	if err := h.QueryRow(`SELECT group_concat(name) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'error_counts'`).Scan(&idx); err != nil {
		t.Fatal(err)
	}
	if idx != "error_counts_hours" {
		t.Fatalf("indexes of error_counts after migrating: %q, want error_counts_hours only", idx)
	}
}
