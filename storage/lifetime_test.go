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
	pruneAndReopen(t, db)
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

// TestDB_LifetimeServices: the lifetime totals are kept per calling
// service, sum to the vendor totals, survive pruning and a restart, and
// the service cap holds over the lifetime (what /metrics' service label
// resumes from), so pruning frees no room for a new service.
func TestDB_LifetimeServices(t *testing.T) {
	db := MustOpenDB(t)
	db.Limits.Services = 2
	ctx := context.Background()
	now := t0
	db.Now = func() time.Time { return now }
	wantReq := map[storage.ServiceLabels]int64{}
	wantErr := map[storage.ServiceErrorLabels]int64{}
	l1008 := storage.ErrorLabels{Vendor: "piggy", Code: "1008", Category: "validation", Retry: "no"}
	b := db.NewBatch()
	// The cap admits shop/api and billing/ledger; "" takes no room.
	for _, svc := range [][2]string{{"shop/api", "shop/api"}, {"", ""}, {"billing/ledger", "billing/ledger"},
		{"shop/api", "shop/api"}, {"third", storage.Other}} {
		svc, folded := svc[0], svc[1]
		b.AddCall(now, &classify.Event{Vendor: "picqer", HTTPStatus: 200}, storage.Call{Service: svc})
		b.AddCall(now, ev("piggy", "1008", classify.RetryNo), storage.Call{Endpoint: "POST /a", Service: svc})
		wantReq[storage.ServiceLabels{Vendor: "picqer", Service: folded}]++
		wantReq[storage.ServiceLabels{Vendor: "piggy", Service: folded}]++
		wantErr[storage.ServiceErrorLabels{ErrorLabels: l1008, Service: folded}]++
	}
	if err := db.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	c := b.Committed()
	if !maps.Equal(c.ServiceRequests, wantReq) || !maps.Equal(c.ServiceErrors, wantErr) {
		t.Fatalf("Committed by service=%v %v\nwant %v %v", c.ServiceRequests, c.ServiceErrors, wantReq, wantErr)
	}
	now = now.Add(90 * 24 * time.Hour)
	pruneAndReopen(t, db)
	got, err := db.Lifetime(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got.ServiceRequests, wantReq) || !maps.Equal(got.ServiceErrors, wantErr) {
		t.Fatalf("Lifetime by service=%v %v\nwant %v %v", got.ServiceRequests, got.ServiceErrors, wantReq, wantErr)
	}
	sum := map[string]int64{}
	for l, n := range got.ServiceRequests {
		sum[l.Vendor] += n
	}
	if !maps.Equal(sum, got.Requests) || got.Requests["piggy"] != 5 || got.Errors[l1008] != 5 {
		t.Fatalf("Requests=%v Errors=%v, want the sums over services %v", got.Requests, got.Errors, sum)
	}
	// Every bucket is pruned; a new service still folds into other.
	b = db.NewBatch()
	b.AddCall(now, &classify.Event{Vendor: "picqer", HTTPStatus: 200}, storage.Call{Service: "new"})
	if err := db.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	if c := b.Committed(); c.ServiceRequests[storage.ServiceLabels{Vendor: "picqer", Service: storage.Other}] != 1 {
		t.Fatalf("Committed=%v, want the new service folded into other", c.ServiceRequests)
	}
}

// pruneAndReopen runs maintenance with a 30-day retention, then closes and
// reopens db, as a restart does.
func pruneAndReopen(tb testing.TB, db *storage.DB) {
	tb.Helper()
	if err := db.Maintain(context.Background(), time.Hour, 30*24*time.Hour); err != nil {
		tb.Fatal(err)
	}
	db.Close()
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
}
