package storage_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/storage"
)

type floodLine struct {
	at time.Time
	ev classify.Event
}

// flood is the hostile corpus: a thousand unknown vendors first, then
// 20,000 random unknown codes from a catalog vendor with its documented
// code 24 among them.
func flood() []floodLine {
	rng := rand.New(rand.NewPCG(10, 15))
	var lines []floodLine
	add := func(ev classify.Event) {
		lines = append(lines, floodLine{at: t0.Add(time.Duration(len(lines)) * time.Millisecond), ev: ev})
	}
	for i := range 1000 {
		add(classify.Event{Vendor: fmt.Sprintf("h%04d.example", i), HTTPStatus: 200})
	}
	for i := range 20_000 {
		if i%47 == 0 {
			add(classify.Event{Error: true, Vendor: "picqer", Code: "24", HTTPStatus: 429, Category: classify.RateLimit,
				Retry: classify.RetryAfter, Known: true, Message: "rate limited"})
		}
		add(classify.Event{Error: true, Vendor: "picqer", Code: fmt.Sprintf("x%08x", rng.Uint32()), HTTPStatus: 400,
			Category: classify.Unknown, Retry: classify.RetryNo, Message: fmt.Sprintf("m%d", rng.IntN(50))})
	}
	return lines
}

type capsResult struct {
	codes    []storage.CodeCount
	samples  []storage.SampleCount
	lifetime storage.Summary
}

// commitFlood writes the lines in tallies of the given sizes (cycled),
// committing after every commitEvery tallies, to a new database.
func commitFlood(tb testing.TB, lines []floodLine, sizes []int, commitEvery int) capsResult {
	tb.Helper()
	db := storage.NewDB(filepath.Join(tb.TempDir(), "apierr.db"))
	db.Now = func() time.Time { return t0 }
	db.Limits = storage.Limits{Vendors: 20, CodesPerVendor: 100, EndpointsPerVendor: 10, SamplesPerCode: 3}
	db.KnownVendors = map[string]bool{"picqer": true}
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	b := db.NewBatch()
	tallies := 0
	for i, s := 0, 0; i < len(lines); s++ {
		n := min(sizes[s%len(sizes)], len(lines)-i)
		t := storage.NewTally()
		for _, l := range lines[i : i+n] {
			t.Add(l.at, &l.ev, "GET /orders")
		}
		i += n
		b.Merge(t)
		if tallies++; tallies%commitEvery == 0 || i == len(lines) {
			if err := db.Commit(ctx, b); err != nil {
				tb.Fatal(err)
			}
		}
	}
	var r capsResult
	var err error
	if r.codes, err = db.Codes(ctx, all[0], all[1], ""); err != nil {
		tb.Fatal(err)
	}
	sort.Slice(r.codes, func(i, j int) bool {
		return r.codes[i].Vendor+" "+r.codes[i].Code < r.codes[j].Vendor+" "+r.codes[j].Code
	})
	if r.samples, err = db.Samples(ctx, ""); err != nil {
		tb.Fatal(err)
	}
	sort.Slice(r.samples, func(i, j int) bool {
		a, b := r.samples[i], r.samples[j]
		return a.Vendor+" "+a.Code+" "+a.Message < b.Vendor+" "+b.Code+" "+b.Message
	})
	if r.lifetime, err = db.Lifetime(ctx); err != nil {
		tb.Fatal(err)
	}
	return r
}

// TestDB_CapsKeepKnown floods a catalog vendor with random unknown codes:
// its documented code is never folded into other, nor the vendor, and the
// outcome is the same however the lines are split into tallies and batches.
func TestDB_CapsKeepKnown(t *testing.T) {
	lines := flood()
	var known int64
	for _, l := range lines {
		if l.ev.Known {
			known++
		}
	}
	var first capsResult
	for i, tc := range []struct {
		name        string
		sizes       []int
		commitEvery int
	}{
		{"OneBatch", []int{len(lines)}, 1},
		{"Tallies1000", []int{1000}, 1},
		{"UnevenTallies", []int{1, 7, 333, 4096, 50, 2}, 3},
		{"ManyTallies", []int{97}, 25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := commitFlood(t, lines, tc.sizes, tc.commitEvery)
			var code24 *storage.CodeCount
			perVendor := map[string]int{}
			for i, c := range r.codes {
				perVendor[c.Vendor]++
				if c.Vendor == "picqer" && c.Code == "24" {
					code24 = &r.codes[i]
				}
			}
			if code24 == nil || code24.Count != known || !code24.Known {
				t.Fatalf("picqer 24 = %+v, want %d known errors", code24, known)
			}
			if n := perVendor["picqer"]; n != 100+1+1 { // the cap, code 24, other
				t.Errorf("picqer has %d codes, want 100 unknown, 24 and other", n)
			}
			if r.lifetime.Requests["picqer"] != int64(len(lines)-1000) {
				t.Errorf("picqer requests=%d, want %d: a catalog vendor is never folded", r.lifetime.Requests["picqer"], len(lines)-1000)
			}
			if i == 0 {
				first = r
				return
			}
			if !reflect.DeepEqual(r.codes, first.codes) {
				t.Errorf("codes differ from the first split's")
			}
			// Which messages are kept is the same; how often each was seen
			// is counted in the tallies that kept it, so it may differ.
			if !reflect.DeepEqual(messages(r.samples), messages(first.samples)) {
				t.Errorf("sample messages differ from the first split's")
			}
			if !maps.Equal(r.lifetime.Requests, first.lifetime.Requests) || !maps.Equal(r.lifetime.Errors, first.lifetime.Errors) {
				t.Errorf("lifetime totals differ from the first split's")
			}
		})
	}
}

func messages(samples []storage.SampleCount) []storage.SampleCount {
	out := slices.Clone(samples)
	for i := range out {
		out[i].Count = 0
	}
	return out
}
