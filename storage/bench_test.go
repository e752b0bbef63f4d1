package storage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/ingest"
	"github.com/apierr/apierr/storage"
)

// BenchmarkDB_Commit commits batches as the daemon does on catch-up: 100,000
// requests a batch, 20% errors over 4 vendors and 200 codes, a few minutes.
// Only the commit is timed, not the adding.
func BenchmarkDB_Commit(b *testing.B) {
	db := MustOpenDB(b)
	ctx := context.Background()
	vendors := []string{"piggy", "textalk", "picqer", "voucherify"}
	var events []classify.Event
	for i := range 1000 {
		ev := classify.Event{Vendor: vendors[i%4], HTTPStatus: 200}
		if i%5 == 0 {
			ev = classify.Event{Error: true, Vendor: vendors[i%4], Code: fmt.Sprint(i % 50), HTTPStatus: 400,
				Category: classify.Validation, Retry: classify.RetryNo, Known: true, Message: "message"}
		}
		events = append(events, ev)
	}
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	n := 0
	for b.Loop() {
		b.StopTimer() // only the commit is timed
		batch := db.NewBatch()
		for i := range 100_000 {
			ev := &events[i%len(events)]
			batch.Add(start.Add(time.Duration(n)*10*time.Millisecond), ev, "POST /api/v1/orders/{id}")
			n++
		}
		batch.SetPosition(ingest.Position{Key: ingest.FileKey{Dev: 1, Ino: 1}, Offset: int64(n)})
		b.StartTimer()
		if err := db.Commit(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100_000)/b.Elapsed().Seconds(), "requests/s")
}

// BenchmarkDB_CommitDiverse commits batches of diverse traffic: 100,000
// requests a batch over 30 minutes, 20% errors in about 2,000 (vendor,
// code, endpoint) groups, latencies, 40 endpoints a vendor; each batch
// adds to the rows of the one before (the minutes overlap by half). Only
// the commit is timed.
func BenchmarkDB_CommitDiverse(b *testing.B) {
	db := MustOpenDB(b)
	ctx := context.Background()
	vendors := []string{"piggy", "textalk", "picqer", "voucherify", "stripe", "github", "slack", "twilio"}
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	var events []classify.Event
	var calls []storage.Call
	for i := range 5000 {
		v := vendors[i%len(vendors)]
		ev := classify.Event{Vendor: v, HTTPStatus: 200}
		if i%5 == 0 {
			ev = classify.Event{Error: true, Vendor: v, Code: fmt.Sprint(i * 7 % 250), HTTPStatus: 400,
				Category: classify.Validation, Retry: classify.RetryNo, Known: true, Message: "message"}
		}
		events = append(events, ev)
		calls = append(calls, storage.Call{Endpoint: fmt.Sprintf("POST /v1/r%d/{id}", i*13%40), Latency: time.Duration(i%500) * time.Millisecond})
	}
	n := 0
	for b.Loop() {
		b.StopTimer() // only the commit is timed
		batch := db.NewBatch()
		base := start.Add(time.Duration(n/100_000) * 15 * time.Minute)
		for i := range 100_000 {
			batch.AddCall(base.Add(time.Duration(i)*18*time.Millisecond), &events[(n+i)%len(events)], calls[(n+i)%len(calls)])
		}
		n += 100_000
		batch.SetPosition(ingest.Position{Key: ingest.FileKey{Dev: 1, Ino: 1}, Offset: int64(n)})
		b.StartTimer()
		if err := db.Commit(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100_000)/b.Elapsed().Seconds(), "requests/s")
}

// BenchmarkDB_MaintainPrune times the maintenance that retention makes
// delete groups: 2,000 groups with an hour row each for 200 hours, of
// which 1,000 stop after the first 100 hours and are deleted with their
// counts; 300,000 count rows in all. Only Maintain is timed.
func BenchmarkDB_MaintainPrune(b *testing.B) {
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		b.StopTimer()
		db := storage.NewDB(b.TempDir() + "/apierr.db")
		db.Limits.CodesPerVendor = 4000
		if err := db.Open(); err != nil {
			b.Fatal(err)
		}
		for h := range 200 {
			batch := db.NewBatch()
			for g := range 2000 {
				if g%2 == 1 && h >= 100 {
					continue
				}
				ev := &classify.Event{Error: true, Vendor: "piggy", Code: fmt.Sprint(g), HTTPStatus: 400,
					Category: classify.Validation, Retry: classify.RetryNo}
				batch.Add(start.Add(time.Duration(h)*time.Hour), ev, "POST /a")
			}
			if err := db.Commit(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
		db.Now = func() time.Time { return start.Add(200 * time.Hour) }
		b.StartTimer()
		if err := db.Maintain(ctx, time.Hour, 99*time.Hour); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
}
