package storage_test

import (
	"context"
	"database/sql"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/storage"
)

// TestHistogram: percentiles read from the histogram lie within its
// resolution (a factor of √2) of the exact ones, and merging adds.
func TestHistogram(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var all, a, b storage.Histogram
	var exact []float64
	for i := range 20000 {
		// log-normal around 120 ms, a tail to minutes, some under 1 ms
		d := time.Duration(math.Exp(rng.NormFloat64()*1.5+math.Log(120)) * float64(time.Millisecond))
		exact = append(exact, float64(d)/float64(time.Millisecond))
		all.Add(d)
		if i%3 == 0 {
			a.Add(d)
		} else {
			b.Add(d)
		}
	}
	sort.Float64s(exact)
	a.Merge(&b)
	if a != all {
		t.Fatalf("merged histogram differs from the one of all values")
	}
	for _, q := range []float64{0.5, 0.95, 0.99} {
		got, want := all.Quantile(q), exact[int(math.Ceil(q*float64(len(exact))))-1]
		if got < want/math.Sqrt2 || got > want*math.Sqrt2 {
			t.Errorf("Quantile(%v)=%.2f ms, want within √2 of %.2f", q, got, want)
		}
	}
	var empty storage.Histogram
	if empty.Quantile(0.5) != 0 {
		t.Fatal("empty histogram has a percentile")
	}
	var one storage.Histogram
	one.Add(time.Hour) // beyond the last bound: the open bin's lower bound
	if got := one.Quantile(0.99); got < 10*60*1000 || got > 15*60*1000 {
		t.Fatalf("Quantile of 1 h=%v ms, want the open bin's bound (about 12 min)", got)
	}
}

// TestDB_Endpoints: vendors' requests are those of the lines whose bucket
// starts in the window, and endpoints' agree with them, for any window,
// before and after the minutes are rolled up (both read whole hours from
// hour rows written with the minutes); latency
// histograms survive commits, merges of batches and rollups exactly.
func TestDB_Endpoints(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	start := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewSource(2))
	var want storage.Histogram
	var times []time.Time
	batch := db.NewBatch()
	for i := range 3000 {
		at := start.Add(time.Duration(rng.Intn(6*60)) * time.Minute).Add(time.Duration(rng.Intn(60)) * time.Second)
		times = append(times, at)
		e := &classify.Event{Vendor: "piggy", HTTPStatus: 200}
		if i%4 == 0 {
			e = ev("piggy", "1008", classify.RetryNo)
		}
		lat := time.Duration(1+rng.Intn(2000)) * time.Millisecond
		want.Add(lat)
		batch.AddCall(at, e, storage.Call{Endpoint: []string{"GET /a", "POST /b/{id}", ""}[i%3], Latency: lat})
		if i%500 == 0 {
			if err := db.Commit(ctx, batch); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.Commit(ctx, batch); err != nil {
		t.Fatal(err)
	}
	windows := [][2]time.Time{
		{start, start.Add(6 * time.Hour)},
		{start.Add(37 * time.Minute), start.Add(4*time.Hour + 5*time.Minute)},
		{start.Add(90 * time.Minute), start.Add(150 * time.Minute)}, // no whole hour
		{start.Add(61 * time.Minute), start.Add(62 * time.Minute)},  // inside one hour
		{start.Add(2 * time.Hour), start.Add(3 * time.Hour)},
	}
	// A line counts in a window if its bucket starts inside: its minute,
	// or its hour once rolled up (before cutoff).
	var cutoff time.Time
	inWindow := func(w [2]time.Time) (n int64) {
		for _, at := range times {
			b := at.Truncate(time.Minute)
			if b.Before(cutoff) {
				b = at.Truncate(time.Hour)
			}
			if !b.Before(w[0]) && b.Before(w[1]) {
				n++
			}
		}
		return n
	}
	check := func(stage string) {
		t.Helper()
		for _, w := range windows {
			vendors, err := db.Vendors(ctx, w[0], w[1])
			if err != nil {
				t.Fatal(err)
			}
			eps, err := db.Endpoints(ctx, w[0], w[1], "")
			if err != nil {
				t.Fatal(err)
			}
			var req, errs, timed int64
			for _, e := range eps {
				req, errs, timed = req+e.Requests, errs+e.Errors, timed+e.Latency.Count()
			}
			var vreq, verrs int64
			for _, v := range vendors {
				vreq, verrs = vreq+v.Requests, verrs+v.Errors
			}
			if n := inWindow(w); vreq != n {
				t.Errorf("%s %v: vendors have %d requests, want %d", stage, w, vreq, n)
			}
			if req != vreq || errs != verrs || timed != req {
				t.Errorf("%s %v: endpoints %d requests %d errors (%d timed), vendors %d and %d", stage, w, req, errs, timed, vreq, verrs)
			}
		}
		eps, err := db.Endpoints(ctx, start, start.Add(6*time.Hour), "piggy")
		if err != nil {
			t.Fatal(err)
		}
		var got storage.Histogram
		for _, e := range eps {
			got.Merge(&e.Latency)
		}
		if got != want {
			t.Errorf("%s: merged latency differs from the latencies written", stage)
		}
	}
	check("minutes")
	db.Now = func() time.Time { return start.Add(5 * time.Hour) }
	if err := db.Maintain(ctx, 2*time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	cutoff = start.Add(3 * time.Hour)
	check("rolled up")
	cutoff = start.Add(28 * time.Hour)
	db.Now = func() time.Time { return start.Add(30 * time.Hour) }
	if err := db.Maintain(ctx, 2*time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	check("all rolled up")
}

// TestDB_Services: the calling service is counted, capped and filtered on.
func TestDB_Services(t *testing.T) {
	db := storage.NewDB(filepath.Join(t.TempDir(), "apierr.db"))
	db.Now = func() time.Time { return t0 }
	db.Limits.Services = 2
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	batch := db.NewBatch()
	for i, svc := range []string{"checkout", "", "billing", "search", "checkout", "search"} {
		e := &classify.Event{Vendor: "piggy", HTTPStatus: 200}
		if i%2 == 0 {
			e = ev("piggy", "1008", classify.RetryNo)
		}
		batch.AddCall(t0, e, storage.Call{Service: svc, Endpoint: "GET /a"})
	}
	if err := db.Commit(ctx, batch); err != nil {
		t.Fatal(err)
	}
	svcs, err := db.Services(ctx, all[0], all[1], storage.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]int64{}
	for _, s := range svcs {
		got[s.Service] = [2]int64{s.Requests, s.Errors}
	}
	want := map[string][2]int64{"checkout": {2, 2}, "": {1, 0}, "billing": {1, 1}, storage.Other: {2, 0}}
	if len(got) != len(want) {
		t.Fatalf("Services=%v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("Services=%v, want %v", got, want)
		}
	}
	w, err := db.WindowErrors(ctx, all[0], all[1], 0, storage.Filter{Service: "checkout"})
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Codes) != 1 || w.Codes[0].Count != 2 || len(w.Services) != 1 || w.Services[0].Service != "checkout" {
		t.Fatalf("WindowErrors(checkout)=%+v", w)
	}
	v, err := db.VendorTotals(ctx, all[0], all[1], storage.Filter{Service: "billing"})
	if err != nil || len(v) != 1 || v[0].Requests != 1 || v[0].Errors != 1 {
		t.Fatalf("VendorTotals(billing)=%+v, %v", v, err)
	}
	// The cap holds across a restart: a third named service is still other.
	db.Close()
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	batch = db.NewBatch()
	batch.AddCall(t0, &classify.Event{Vendor: "piggy", HTTPStatus: 200}, storage.Call{Service: "mail"})
	if err := db.Commit(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if s := batch.Committed(); s.Requests["piggy"] != 1 {
		t.Fatalf("Committed=%+v", s)
	}
	v, _ = db.VendorTotals(ctx, all[0], all[1], storage.Filter{Service: "mail"})
	if len(v) != 0 {
		t.Fatalf("a service over the cap was stored under its name: %+v", v)
	}
}

// TestDB_Host: the host name is kept in the database and read by readers.
func TestDB_Host(t *testing.T) {
	db := MustOpenDB(t)
	if db.Host != "" {
		t.Fatalf("Host=%q before SetHost", db.Host)
	}
	if err := db.SetHost("log-1.example"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	r := storage.NewDB(db.Path)
	r.ReadOnly = true
	if err := r.Open(); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Host != "log-1.example" {
		t.Fatalf("Host=%q, want log-1.example", r.Host)
	}
}

// TestTraceID: ids are kept verbatim when they look like ids, and a
// group's sample keeps the latest line's, however lines are batched.
func TestTraceID(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"4bf92f3577b34da6a3ce929d0e0e4736", "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		{"req_8Hk2:a/b=c", "req_8Hk2:a/b=c"},
		{"has space", ""},
		{"tab\there", ""},
		{"esc\x1b[31m", ""},
		{"bidi\u202e", ""},
		{strings.Repeat("a", 128), strings.Repeat("a", 128)},
		{strings.Repeat("a", 129), ""},
		{"", ""},
	} {
		if got := storage.TraceID([]byte(tc.in)); got != tc.want {
			t.Errorf("TraceID(%q)=%q, want %q", tc.in, got, tc.want)
		}
	}
	for _, split := range []int{1, 2, 5} {
		db := MustOpenDB(t)
		ctx := context.Background()
		batch := db.NewBatch()
		ids := []string{"b-2", "a-1", "bad id", "c-3", "z-0", ""}
		times := []time.Duration{2, 1, 9, 3, 3, 8}
		for i, id := range ids {
			batch.AddCall(t0.Add(times[i]*time.Minute), ev("piggy", "1008", classify.RetryNo), storage.Call{TraceID: []byte(id)})
			if (i+1)%split == 0 {
				if err := db.Commit(ctx, batch); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := db.Commit(ctx, batch); err != nil {
			t.Fatal(err)
		}
		samples, err := db.Samples(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(samples) != 1 || samples[0].TraceID != "z-0" || !samples[0].TraceAt.Equal(t0.Add(3*time.Minute).Truncate(time.Millisecond)) {
			t.Fatalf("split %d: Samples=%+v, want trace z-0 (the latest, ties by the greater id)", split, samples)
		}
	}
}

// TestDB_BeforeServices: a database from before hosts, services and
// endpoints reports through a reader (those read as empty), and a writer
// migrates it keeping its counts.
func TestDB_BeforeServices(t *testing.T) {
	path := filepath.Join(t.TempDir(), "apierr.db")
	h, err := sql.Open("sqlite3", path+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{`CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`}
	for _, name := range []string{"migration/0001_init.sql", "migration/0002_skipped_lifetime.sql"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		stmts = append(stmts, string(b), `INSERT INTO migrations VALUES ('`+name+`', 0)`)
	}
	stmts = append(stmts,
		`INSERT INTO request_counts VALUES (946782240000, 'piggy', 7, 3, 1)`,
		`INSERT INTO error_groups VALUES (1, 'piggy', '1008', 400, 'POST /a', 'validation', 'no', '', 1)`,
		`INSERT INTO error_counts VALUES (946782240000, 1, 3, 946782240000, 946782240000)`,
		`INSERT INTO samples VALUES ('piggy', '1008', 'Shop not found', 3, 946782240000)`,
		`INSERT INTO lifetime_counts VALUES ('requests', 'piggy', '', '', '', '', 0, 7)`)
	for _, s := range stmts {
		if _, err := h.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	h.Close()
	ctx := context.Background()
	for _, ro := range []bool{true, false} {
		db := storage.NewDB(path)
		db.ReadOnly = ro
		if err := db.Open(); err != nil {
			t.Fatalf("ReadOnly=%v: %v", ro, err)
		}
		v, err1 := db.VendorTotals(ctx, all[0], all[1], storage.Filter{})
		w, err2 := db.WindowErrors(ctx, all[0], all[1], 0, storage.Filter{})
		s, err3 := db.Samples(ctx, "")
		svc, err4 := db.Services(ctx, all[0], all[1], storage.Filter{})
		eps, err5 := db.Endpoints(ctx, all[0], all[1], "")
		first, err6 := db.FirstSeenEver(ctx, storage.Filter{})
		life, err7 := db.Lifetime(ctx)
		db.Close()
		for _, err := range []error{err1, err2, err3, err4, err5, err6, err7} {
			if err != nil {
				t.Fatalf("ReadOnly=%v: %v", ro, err)
			}
		}
		if len(v) != 1 || v[0].Requests != 7 || len(w.Codes) != 1 || w.Codes[0].Count != 3 || len(s) != 1 || s[0].TraceID != "" || len(first) != 1 {
			t.Fatalf("ReadOnly=%v: vendors %+v, errors %+v, samples %+v, first %v", ro, v, w, s, first)
		}
		if len(svc) != 1 || svc[0].Service != "" || svc[0].Requests != 7 || len(eps) != 0 {
			t.Fatalf("ReadOnly=%v: services %+v, endpoints %+v", ro, svc, eps)
		}
		// Lifetime totals from before services were kept stay under "".
		if life.Requests["piggy"] != 7 || len(life.ServiceRequests) != 1 || life.ServiceRequests[storage.ServiceLabels{Vendor: "piggy"}] != 7 {
			t.Fatalf("ReadOnly=%v: Lifetime=%+v", ro, life)
		}
	}
}
