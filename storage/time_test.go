package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/storage"
)

// TestTally_Time counts lines dated ahead of the clock at the clock's time
// and lines older than retention as skipped, never stored in a bucket.
func TestTally_Time(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	tally := storage.NewTally()
	tally.Now = func() time.Time { return t0 }
	tally.Retention = 24 * time.Hour
	ok := &classify.Event{Vendor: "piggy", HTTPStatus: 200}
	tally.Add(t0.Add(4*time.Minute), ok, "")                                            // within MaxAhead: its own minute
	tally.Add(t0.Add(200*24*time.Hour), ok, "")                                         // far ahead: now
	tally.Add(t0.Add(10*time.Minute), ev("piggy", "1008", classify.RetryNo), "POST /a") // ahead: now
	tally.Add(t0.Add(-23*time.Hour), ok, "")                                            // within retention: its own minute
	tally.Add(t0.Add(-25*time.Hour), ok, "")                                            // too old
	tally.Add(t0.Add(-400*24*time.Hour), ev("piggy", "1008", classify.RetryNo), "")     // too old
	tally.AddMalformed(t0.Add(time.Hour), "not JSON")                                   // ahead: now
	tally.AddSkipped(t0.Add(-30*24*time.Hour), "no request fields")                     // too old, but counted: now
	if tally.Len() != 8 {
		t.Fatalf("Len=%d, want 8", tally.Len())
	}
	b := db.NewBatch()
	b.Merge(tally)
	if err := db.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}

	count := func(from, to time.Time) (req, errs, mal, skip int64) {
		t.Helper()
		vs, err := db.Vendors(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			req += v.Requests
			errs += v.Errors
		}
		ms, _ := db.Malformed(ctx, from, to)
		for _, m := range ms {
			mal += m.Count
		}
		ss, _ := db.Skipped(ctx, from, to)
		for _, s := range ss {
			skip += s.Count
		}
		return
	}
	minute := t0.Truncate(time.Minute)
	if r, e, m, s := count(minute, minute.Add(time.Minute)); r != 2 || e != 1 || m != 1 || s != 3 {
		t.Errorf("the clock's minute: requests/errors/malformed/skipped=%d/%d/%d/%d, want 2/1/1/3", r, e, m, s)
	}
	if r, _, _, _ := count(minute.Add(4*time.Minute), minute.Add(5*time.Minute)); r != 1 {
		t.Errorf("4 minutes ahead: requests=%d, want 1 in its own minute", r)
	}
	if r, e, m, s := count(t0.Add(MaxAheadPlus), t0.Add(1000*24*time.Hour)); r+e+m+s != 0 {
		t.Errorf("future buckets hold %d/%d/%d/%d, want nothing", r, e, m, s)
	}
	if old := t0.Add(-23 * time.Hour).Truncate(time.Minute); true {
		if r, _, _, _ := count(old, old.Add(time.Minute)); r != 1 {
			t.Errorf("23 hours old: requests=%d, want 1 in its own minute", r)
		}
	}
	if r, _, _, _ := count(t0.Add(-1000*24*time.Hour), t0.Add(-24*time.Hour)); r != 0 {
		t.Errorf("buckets past retention hold %d requests, want none", r)
	}
	sk, _ := db.Skipped(ctx, all[0], all[1])
	want := map[string]int64{storage.ReasonTooOld: 2, "no request fields": 1}
	if len(sk) != len(want) {
		t.Fatalf("Skipped=%+v, want %v", sk, want)
	}
	for _, s := range sk {
		if want[s.Reason] != s.Count {
			t.Errorf("Skipped[%q]=%d, want %d", s.Reason, s.Count, want[s.Reason])
		}
	}
	if c := b.Committed(); c.Skipped[storage.ReasonTooOld] != 2 || c.Requests["piggy"] != 4 {
		t.Errorf("Committed=%+v, want 2 too old and 4 piggy requests", c)
	}
}

// MaxAheadPlus is just past what may lie ahead of the clock.
const MaxAheadPlus = storage.MaxAhead + time.Minute

// TestTally_NoClock keeps today's behaviour: with no clock a line is
// counted at its own time, however far ahead.
func TestTally_NoClock(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	tally := storage.NewTally()
	ahead := t0.Add(48 * time.Hour)
	tally.Add(ahead, &classify.Event{Vendor: "piggy", HTTPStatus: 200}, "")
	tally.Add(t0.Add(-10000*24*time.Hour), &classify.Event{Vendor: "piggy", HTTPStatus: 200}, "")
	b := db.NewBatch()
	b.Merge(tally)
	if err := db.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	vs, _ := db.Vendors(ctx, ahead.Truncate(time.Minute), ahead.Add(time.Minute))
	if len(vs) != 1 || vs[0].Requests != 1 {
		t.Fatalf("Vendors at %v = %+v, want the line there", ahead, vs)
	}
	vs, _ = db.Vendors(ctx, time.Unix(0, 0), t0)
	if len(vs) != 1 || vs[0].Requests != 1 {
		t.Fatalf("Vendors in the past = %+v, want the old line there", vs)
	}
}

// TestBatch_AddAhead: Batch.Add follows the database's clock.
func TestBatch_AddAhead(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	b := db.NewBatch()
	b.Add(t0.Add(time.Hour), &classify.Event{Vendor: "piggy", HTTPStatus: 200}, "")
	if err := db.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	vs, _ := db.Vendors(ctx, t0.Truncate(time.Minute), t0.Add(time.Minute))
	if len(vs) != 1 || vs[0].Requests != 1 {
		t.Fatalf("Vendors at the clock's minute = %+v, want the line dated an hour ahead", vs)
	}
}
