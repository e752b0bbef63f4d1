package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/report"
	"github.com/apierr/apierr/storage"
)

// BenchmarkReport30Days times a 30-day report (queries, merge, render) over
// a database laid out as the daemon keeps it: 4 vendors with 1,000 codes
// each; minute buckets for the last 48 hours (20 codes per vendor a
// minute), hour buckets before that (250 codes per vendor an hour).
func BenchmarkReport30Days(b *testing.B) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	path, built := filepath.Join(b.TempDir(), "apierr.db"), false
	if p := os.Getenv("APIERR_BENCH_DB"); p != "" {
		path = p // keep the database for a look with sqlite3, and reuse it
		_, err := os.Stat(p)
		built = err == nil
	}
	db := storage.NewDB(path)
	db.Limits.CodesPerVendor = 2000
	if err := db.Open(); err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	rng := rand.New(rand.NewSource(1))
	vendors := []string{"piggy", "textalk", "picqer", "voucherify"}
	batch := db.NewBatch()
	rows := 0
	add := func(t time.Time, codes int) {
		for _, v := range vendors {
			for range codes {
				c := rng.Intn(1000)
				ev := &classify.Event{Error: true, Vendor: v, Code: fmt.Sprint(c), HTTPStatus: 400, Category: classify.Validation,
					Retry: classify.RetryNo, Known: c < 900, Message: "message " + fmt.Sprint(c%50)}
				batch.Add(t, ev, fmt.Sprintf("POST /api/v1/things/{id}/%d", c%20))
				rows++
			}
		}
		if batch.Len() > 100_000 {
			if err := db.Commit(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
	}
	for h := 30 * 24; h > 48 && !built; h-- {
		add(now.Add(-time.Duration(h)*time.Hour), 250)
	}
	for m := 48 * 60; m > 0 && !built; m-- {
		add(now.Add(-time.Duration(m)*time.Minute), 20)
	}
	if err := db.Commit(ctx, batch); err != nil {
		b.Fatal(err)
	}
	db.Now = func() time.Time { return now }
	if err := db.Maintain(ctx, 48*time.Hour, 30*24*time.Hour+time.Hour); err != nil { // as the daemon does
		b.Fatal(err)
	}
	cat, _ := classify.Load(classify.Builtin())
	w := report.Window{From: now.Add(-30 * 24 * time.Hour), To: now}
	b.ReportMetric(float64(rows), "rows")
	b.ResetTimer()
	for b.Loop() {
		src, err := report.ReadSource(ctx, db, report.Query{Window: w, Previous: report.PreviousOf(w), Step: report.TrendStep(w)})
		if err != nil {
			b.Fatal(err)
		}
		r := report.Build(w, report.PreviousOf(w), []report.Source{src}, report.NewOptions(cat, w, 20, ""))
		var out bytes.Buffer
		if err := report.Render(&out, r, report.Table, false); err != nil {
			b.Fatal(err)
		}
		if r.Totals.Errors == 0 {
			b.Fatal("empty report")
		}
	}
}
