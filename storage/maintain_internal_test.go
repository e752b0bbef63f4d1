package storage

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/apierr/apierr/classify"
)

// TestMaintain_ForeignKeys: maintenance deletes the groups retention left
// without counts with foreign keys off, and gives the writer's connection
// back with them on.
func TestMaintain_ForeignKeys(t *testing.T) {
	at := time.Date(2000, 1, 2, 3, 4, 5, 0, time.UTC)
	now := at
	db := NewDB(filepath.Join(t.TempDir(), "apierr.db"))
	db.Now = func() time.Time { return now }
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	b := db.NewBatch()
	for i, code := range []string{"1008", "1009", "1010"} {
		ev := &classify.Event{Error: true, Vendor: "piggy", Code: code, HTTPStatus: 400, Category: classify.Validation, Retry: classify.RetryNo, Known: true}
		b.Add(at.Add(-time.Duration(i)*24*time.Hour), ev, "POST /a") // 1010 the oldest
	}
	if err := db.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	now = at.Add(time.Hour)
	if err := db.Maintain(ctx, time.Hour, 36*time.Hour); err != nil {
		t.Fatal(err)
	}
	var groups, fk int
	if err := db.db.QueryRow(`SELECT COUNT(*) FROM error_groups`).Scan(&groups); err != nil {
		t.Fatal(err)
	}
	if groups != 2 {
		t.Fatalf("%d groups after retention, want 2 (1010's counts are gone)", groups)
	}
	if err := db.db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys=%d (%v) after Maintain, want 1", fk, err)
	}
	if _, err := db.db.Exec(`INSERT INTO error_counts VALUES (0, 999999, 1, 0, 0)`); err == nil {
		t.Fatal("a count of no group was written: foreign keys are off")
	}
}
