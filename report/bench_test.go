package report_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/report"
	"github.com/apierr/apierr/storage"
)

// BenchmarkReport30Days20Hosts times a 30-day report (queries, merge,
// render as HTML) over 20 hosts' databases laid out as the daemon keeps
// them: minute buckets for the last 48 hours, hour buckets before. Each
// host calls 4 vendors at 5 endpoints each from 3 services, with latency
// on every request, every minute; errors from 50 codes per vendor, a few a
// minute, with messages and trace ids. The hosts' databases are copies of
// one (a report reads each whole, so their cost is the same), each with
// its own host name. It reports the HTML page's size.
func BenchmarkReport30Days20Hosts(b *testing.B) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	dir, built := b.TempDir(), false
	if d := os.Getenv("APIERR_BENCH_DIR"); d != "" {
		dir = d // keep the databases for a look with sqlite3, and reuse them
		_, err := os.Stat(filepath.Join(d, "host-19.db"))
		built = err == nil
	}
	first := filepath.Join(dir, "host-00.db")
	lines := benchHost(now)
	if !built {
		db := writeDB(b, first, "host-00", lines, now, 48*time.Hour)
		db.Close()
	}
	paths := []string{first}
	for i := 1; i < 20; i++ {
		p := filepath.Join(dir, fmt.Sprintf("host-%02d.db", i))
		paths = append(paths, p)
		if built {
			continue
		}
		copyFile(b, first, p)
		h := storage.NewDB(p)
		if err := h.Open(); err != nil {
			b.Fatal(err)
		}
		if err := h.SetHost(fmt.Sprintf("host-%02d", i)); err != nil {
			b.Fatal(err)
		}
		h.Close()
	}
	var dbs []*storage.DB
	for _, p := range paths {
		h := storage.NewDB(p)
		h.ReadOnly = true
		if err := h.Open(); err != nil {
			b.Fatal(err)
		}
		defer h.Close()
		dbs = append(dbs, h)
	}
	w := report.Window{From: now.Add(-30 * 24 * time.Hour), To: now}
	q := report.Query{Window: w, Previous: report.Window{From: w.From.Add(-30 * 24 * time.Hour), To: w.From}, Step: 30 * time.Hour}
	opt := report.Options{Top: 20, TrendStep: q.Step,
		Advice: func(_, _, _, retry string) string { return "retry: " + retry }}
	ctx := context.Background()
	var size int
	b.ReportMetric(float64(len(lines)), "requests/host")
	b.ResetTimer()
	for b.Loop() {
		var sources []report.Source
		for _, db := range dbs {
			s, err := report.ReadSource(ctx, db, q)
			if err != nil {
				b.Fatal(err)
			}
			sources = append(sources, s)
		}
		r := report.Build(w, q.Previous, sources, opt)
		var out bytes.Buffer
		if err := report.Render(&out, r, report.HTML, false); err != nil {
			b.Fatal(err)
		}
		if len(r.Hosts) != 20 || len(r.Endpoints) != 20 || r.Vendors[0].Latency == nil {
			b.Fatalf("report has %d hosts, %d endpoints", len(r.Hosts), len(r.Endpoints))
		}
		size = out.Len()
	}
	b.ReportMetric(float64(size)/1024, "page-KiB")
}

// benchHost is one host's 30 days of traffic: a request per endpoint and
// minute for the last 48 hours, and per endpoint and hour before (the
// hour buckets hold the same rows whatever the rate).
func benchHost(now time.Time) []line {
	rng := rand.New(rand.NewSource(3))
	vendors := []string{"piggy", "picqer", "voucherify", "textalk"}
	services := []string{"checkout", "billing", "shop/web"}
	var out []line
	add := func(at time.Time, errs int) {
		for _, v := range vendors {
			for e := range 5 {
				out = append(out, line{at: at, ev: classify.Event{Vendor: v, HTTPStatus: 200}, call: storage.Call{
					Endpoint: fmt.Sprintf("POST /api/%s/things/{id}/%d", v, e),
					Latency:  time.Duration(1+rng.ExpFloat64()*float64(150*time.Millisecond)) * time.Duration(1+e),
					Service:  services[rng.Intn(len(services))]}})
			}
			for range errs {
				c := rng.Intn(50)
				out = append(out, line{at: at, ev: classify.Event{Error: true, Vendor: v, Code: fmt.Sprint(c), HTTPStatus: 400,
					Category: classify.Validation, Retry: classify.RetryNo, Known: c < 45, Message: fmt.Sprintf("message %d", c%5)},
					call: storage.Call{Endpoint: fmt.Sprintf("POST /api/%s/things/{id}/%d", v, c%5),
						Latency: time.Duration(1+rng.Intn(900)) * time.Millisecond, TraceID: []byte(fmt.Sprintf("%032x", rng.Int63())),
						Service: services[c%3]}})
			}
		}
	}
	for h := 30 * 24; h > 48; h-- {
		add(now.Add(-time.Duration(h)*time.Hour), 20)
	}
	for m := 48 * 60; m > 0; m-- {
		add(now.Add(-time.Duration(m)*time.Minute), 2)
	}
	return out
}

func copyFile(tb testing.TB, from, to string) {
	tb.Helper()
	in, err := os.Open(from)
	if err != nil {
		tb.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		tb.Fatal(err)
	}
	if err := out.Close(); err != nil {
		tb.Fatal(err)
	}
}
