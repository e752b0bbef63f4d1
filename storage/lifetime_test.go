package storage_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/storage"
)

// TestDB_Lifetime commits, prunes every bucket with retention, reopens:
// the lifetime totals still equal what was written, so counters that
// resume from them never go down.
func TestDB_Lifetime(t *testing.T) {
	db := MustOpenDB(t)
	db.Limits.Vendors = 2 // the third vendor is folded: lifetime keys are capped
	ctx := context.Background()
	now := t0
	db.Now = func() time.Time { return now }
	want := storage.Summary{Requests: map[string]int64{}, Errors: map[storage.ErrorLabels]int64{},
		Malformed: map[string]int64{}, Skipped: map[string]int64{}}
	commit := func() {
		t.Helper()
		b := db.NewBatch()
		for i := range 30 {
			b.Add(now, &classify.Event{Vendor: "picqer", HTTPStatus: 200}, "")
			if i%3 == 0 {
				b.Add(now, ev("piggy", "1008", classify.RetryNo), "POST /a")
				want.Errors[storage.ErrorLabels{Vendor: "piggy", Code: "1008", Category: "validation", Retry: "no"}]++
			}
			b.Add(now, &classify.Event{Vendor: "third.example", HTTPStatus: 200}, "")
		}
		b.AddMalformed(now, "not JSON")
		b.AddSkipped(now, "no request fields")
		want.Requests["picqer"] += 30
		want.Requests["piggy"] += 10
		want.Requests[storage.Other] += 30
		want.Malformed["not JSON"]++
		want.Skipped["no request fields"]++
		if err := db.Commit(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	commit()
	now = now.Add(24 * time.Hour)
	commit()

	// Retention prunes everything; a restart follows.
	now = now.Add(90 * 24 * time.Hour)
	if err := db.Maintain(ctx, time.Hour, 30*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	totals, err := db.Totals(ctx)
	if err != nil || len(totals.Requests)+len(totals.Errors)+len(totals.Malformed)+len(totals.Skipped) != 0 {
		t.Fatalf("Totals after pruning=%+v, %v; want nothing left in the buckets", totals, err)
	}
	got, err := db.Lifetime(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got.Requests, want.Requests) || !maps.Equal(got.Errors, want.Errors) ||
		!maps.Equal(got.Malformed, want.Malformed) || !maps.Equal(got.Skipped, want.Skipped) {
		t.Fatalf("Lifetime=%+v\nwant      %+v", got, want)
	}

	// The vendor cap holds over the lifetime: pruning freed no room for
	// a new vendor, whose counts would be a new series.
	b := db.NewBatch()
	b.Add(now, &classify.Event{Vendor: "fourth.example", HTTPStatus: 200}, "")
	if err := db.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	if c := b.Committed(); c.Requests[storage.Other] != 1 {
		t.Fatalf("Committed=%+v, want the new vendor folded into other", c)
	}
}
