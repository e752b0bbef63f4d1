package report_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/report"
	"github.com/apierr/apierr/storage"
)

// line is one request of the fleet test's traffic.
type line struct {
	host string
	at   time.Time
	ev   classify.Event
	call storage.Call
}

// fleetLines makes n requests over three hosts and three days: several
// vendors, codes, endpoints, services, latencies and trace ids.
func fleetLines(n int, end time.Time) []line {
	rng := rand.New(rand.NewSource(7))
	hosts := []string{"log-1", "log-2", "log-3"}
	vendors := []string{"piggy", "picqer", "voucherify"}
	services := []string{"checkout", "billing", "shop/web", ""}
	var out []line
	for i := range n {
		v := vendors[rng.Intn(len(vendors))]
		l := line{
			host: hosts[rng.Intn(len(hosts))],
			at:   end.Add(-time.Duration(rng.Int63n(int64(72 * time.Hour)))),
			ev:   classify.Event{Vendor: v, HTTPStatus: 200},
			call: storage.Call{
				Endpoint: fmt.Sprintf("GET /api/%s/%d", v, rng.Intn(4)),
				Latency:  time.Duration(1+rng.ExpFloat64()*float64(80*time.Millisecond)) * time.Duration(1+rng.Intn(3)),
				Service:  services[rng.Intn(len(services))],
			},
		}
		if rng.Intn(4) == 0 {
			code := rng.Intn(6)
			l.ev = classify.Event{Error: true, Vendor: v, Code: fmt.Sprint(code), HTTPStatus: 400 + code%3*29,
				Category: classify.Validation, Retry: classify.RetryNo, Known: code < 5, Message: fmt.Sprintf("message %d", rng.Intn(3))}
			if code%2 == 0 {
				l.ev.Retry = classify.RetryBackoff
			}
			if rng.Intn(3) > 0 {
				l.call.TraceID = []byte(fmt.Sprintf("trace-%d", i))
			}
		}
		out = append(out, l)
	}
	return out
}

// writeDB writes the lines into a new database as the daemon does: in
// batches, the minutes older than rollupAfter rolled up into hours.
func writeDB(tb testing.TB, path, host string, lines []line, now time.Time, rollupAfter time.Duration) *storage.DB {
	tb.Helper()
	db := storage.NewDB(path)
	db.Now = func() time.Time { return now }
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	if host != "" {
		if err := db.SetHost(host); err != nil {
			tb.Fatal(err)
		}
	}
	ctx := context.Background()
	batch := db.NewBatch()
	for i := range lines {
		batch.AddCall(lines[i].at, &lines[i].ev, lines[i].call)
		if batch.Len() >= 50_000 {
			if err := db.Commit(ctx, batch); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := db.Commit(ctx, batch); err != nil {
		tb.Fatal(err)
	}
	if err := db.Maintain(ctx, rollupAfter, 0); err != nil {
		tb.Fatal(err)
	}
	db.Close()
	db.ReadOnly = true
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// TestBuild_FleetEqualsMerged: a report over three hosts' databases equals
// the report over one database holding all their lines: failures, trends,
// latency percentiles, endpoints, services, trace ids; and its hosts
// section adds up to each database's totals.
func TestBuild_FleetEqualsMerged(t *testing.T) {
	end := time.Date(2000, 1, 4, 0, 0, 0, 0, time.UTC)
	lines := fleetLines(20000, end)
	dir := t.TempDir()
	byHost := map[string][]line{}
	for _, l := range lines {
		byHost[l.host] = append(byHost[l.host], l)
	}
	var fleet []*storage.DB
	for _, h := range []string{"log-1", "log-2", "log-3"} {
		fleet = append(fleet, writeDB(t, filepath.Join(dir, h+".db"), h, byHost[h], end, 24*time.Hour))
	}
	merged := writeDB(t, filepath.Join(dir, "merged.db"), "", lines, end, 24*time.Hour)

	ctx := context.Background()
	for _, tc := range []struct {
		name string
		q    report.Query
		by   string
	}{
		{"3Days", report.Query{Window: report.Window{From: end.Add(-48 * time.Hour), To: end}, Step: 2 * time.Hour}, ""},
		{"Ragged", report.Query{Window: report.Window{From: end.Add(-47*time.Hour - 13*time.Minute), To: end.Add(-2*time.Hour - 7*time.Minute)}, Step: time.Hour}, report.ByService},
		{"Service", report.Query{Window: report.Window{From: end.Add(-24 * time.Hour), To: end}, Step: time.Hour, Service: "checkout"}, ""},
		{"Vendor", report.Query{Window: report.Window{From: end.Add(-24 * time.Hour), To: end}, Step: time.Hour, Vendor: "picqer"}, report.ByService},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.q.Window
			tc.q.Previous = report.Window{From: w.From.Add(-w.To.Sub(w.From)), To: w.From}
			opt := report.Options{TrendStep: tc.q.Step, By: tc.by}
			var sources []report.Source
			for _, db := range fleet {
				s, err := report.ReadSource(ctx, db, tc.q)
				if err != nil {
					t.Fatal(err)
				}
				sources = append(sources, s)
			}
			one, err := report.ReadSource(ctx, merged, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			a := report.Build(w, tc.q.Previous, sources, opt)
			b := report.Build(w, tc.q.Previous, []report.Source{one}, opt)

			// Hosts: one row per database, adding up to its totals; every
			// failure's hosts add up to its count.
			if len(a.Hosts) != 3 || len(b.Hosts) != 0 {
				t.Fatalf("Hosts: fleet %+v, merged %+v", a.Hosts, b.Hosts)
			}
			for _, h := range a.Hosts {
				var req, errs int64
				for _, s := range sources {
					if s.Host == h.Host {
						for _, v := range s.Vendors {
							req, errs = req+v.Requests, errs+v.Errors
						}
					}
				}
				if h.Requests != req || h.Errors != errs || req == 0 {
					t.Fatalf("host %s: %+v, want %d requests %d errors", h.Host, h, req, errs)
				}
			}
			for i, f := range a.Failures {
				var n int64
				for _, h := range f.Hosts {
					n += h.Count
				}
				if n != f.Count {
					t.Fatalf("failure %s/%s: hosts %+v add up to %d, want %d", f.Vendor, f.Code, f.Hosts, n, f.Count)
				}
				a.Failures[i].Hosts = b.Failures[i].Hosts
			}
			a.Hosts = b.Hosts
			for i := range a.Groups {
				for j := range a.Groups[i].Failures {
					a.Groups[i].Failures[j].Hosts = b.Groups[i].Failures[j].Hosts
				}
			}

			ja, jb := render(t, a), render(t, b)
			if !bytes.Equal(ja, jb) {
				t.Fatalf("fleet report differs from the merged database's:\n%s\n---\n%s", ja, jb)
			}
			// The report is not empty where the test needs it to be full.
			if len(b.Failures) == 0 || len(b.Services) == 0 || b.Failures[0].TraceID == "" || len(b.Failures[0].Trend) == 0 {
				t.Fatalf("report lacks failures, services, trace ids or trends:\n%s", jb)
			}
			if tc.q.Service == "" && (len(b.Endpoints) == 0 || b.Vendors[0].Latency == nil || b.Endpoints[0].Latency == nil) {
				t.Fatalf("report lacks endpoints or latency:\n%s", jb)
			}
			if tc.by != "" && len(b.Groups) == 0 {
				t.Fatalf("no groups by %s:\n%s", tc.by, jb)
			}
		})
	}

	// By host: each host's failures are the report of its database alone.
	q := report.Query{Window: report.Window{From: end.Add(-24 * time.Hour), To: end}, Step: time.Hour}
	q.Previous = report.Window{From: q.Window.From.Add(-24 * time.Hour), To: q.Window.From}
	var sources []report.Source
	for _, db := range fleet {
		s, err := report.ReadSource(ctx, db, q)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, s)
	}
	r := report.Build(q.Window, q.Previous, sources, report.Options{TrendStep: q.Step, By: report.ByHost})
	if len(r.Groups) != 3 {
		t.Fatalf("Groups by host=%d, want 3", len(r.Groups))
	}
	for i, g := range r.Groups {
		alone := report.Build(q.Window, q.Previous, sources[i:i+1], report.Options{TrendStep: q.Step})
		if g.Key != sources[i].Host || !bytes.Equal(render(t, &report.Report{Failures: g.Failures}), render(t, &report.Report{Failures: alone.Failures})) {
			t.Fatalf("group %s differs from its database's own report", g.Key)
		}
	}
}

func render(tb testing.TB, r *report.Report) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := report.Render(&buf, r, report.JSON, false); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
