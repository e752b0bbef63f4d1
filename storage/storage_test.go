package storage_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/ingest"
	"github.com/apierr/apierr/storage"
)

var t0 = time.Date(2000, 1, 2, 3, 4, 5, 0, time.UTC)

// MustOpenDB opens a database file in a temporary directory, closed at the
// end of the test.
func MustOpenDB(tb testing.TB) *storage.DB {
	tb.Helper()
	db := storage.NewDB(filepath.Join(tb.TempDir(), "apierr.db"))
	db.Now = func() time.Time { return t0 }
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func ev(vendor, code string, retry classify.Retry) *classify.Event {
	return &classify.Event{Error: true, Vendor: vendor, Code: code, HTTPStatus: 400, Category: classify.Validation, Retry: retry, Known: true, Message: "m " + code}
}

var all = [2]time.Time{t0.Add(-24 * time.Hour), t0.Add(24 * time.Hour)}

func TestDB_Commit(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	b := db.NewBatch()
	b.Add(t0, ev("piggy", "1008", classify.RetryNo), "POST /a")
	b.Add(t0.Add(time.Second), ev("piggy", "1008", classify.RetryNo), "POST /b")
	b.Add(t0.Add(2*time.Minute), ev("piggy", "1008", classify.RetryNo), "POST /a")
	b.Add(t0, ev("picqer", "28", classify.RetryAfter), "GET /x")
	b.Add(t0, &classify.Event{Vendor: "piggy", HTTPStatus: 200}, "")
	b.AddMalformed(t0, ingest.ReasonNotJSON)
	pos := ingest.Position{Key: ingest.FileKey{Dev: 1, Ino: 2}, Path: "/var/log/a.jsonl", Offset: 1234, Fingerprint: []byte("{\"ts\"")}
	b.SetPosition(pos)
	if err := db.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 0 {
		t.Fatalf("Len=%d after Commit, want 0", b.Len())
	}
	// A second batch adds to the same rows.
	b.Add(t0, ev("piggy", "1008", classify.RetryNo), "POST /a")
	pos.Offset = 2000
	b.SetPosition(pos)
	if err := db.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}

	vendors, err := db.Vendors(ctx, all[0], all[1])
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][3]int64{"piggy": {5, 4, 0}, "picqer": {1, 1, 1}}
	if len(vendors) != len(want) {
		t.Fatalf("Vendors=%+v", vendors)
	}
	for _, v := range vendors {
		if w := want[v.Vendor]; [3]int64{v.Requests, v.Errors, v.Retryable} != w {
			t.Errorf("%s: requests/errors/retryable=%d/%d/%d, want %v", v.Vendor, v.Requests, v.Errors, v.Retryable, w)
		}
	}
	codes, err := db.Codes(ctx, all[0], all[1], "piggy")
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 1 || codes[0].Code != "1008" || codes[0].Count != 4 ||
		!codes[0].FirstSeen.Equal(t0) || !codes[0].LastSeen.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("Codes=%+v", codes)
	}
	_, eps, err := db.Errors(ctx, all[0], all[1], "piggy")
	sort.Slice(eps, func(i, j int) bool { return eps[i].Endpoint < eps[j].Endpoint })
	if err != nil || len(eps) != 2 || eps[0].Endpoint != "POST /a" || eps[0].Count != 3 {
		t.Fatalf("Endpoints=%+v, %v", eps, err)
	}
	samples, err := db.Samples(ctx, "piggy")
	if err != nil || len(samples) != 1 || samples[0].Message != "m 1008" || samples[0].Count != 4 {
		t.Fatalf("Samples=%+v, %v", samples, err)
	}
	mal, err := db.Malformed(ctx, all[0], all[1])
	if err != nil || len(mal) != 1 || mal[0].Count != 1 || mal[0].Reason != ingest.ReasonNotJSON {
		t.Fatalf("Malformed=%+v, %v", mal, err)
	}
	ps, err := db.Positions(ctx)
	if err != nil || len(ps) != 1 || ps[0].Offset != 2000 || ps[0].Key != pos.Key || string(ps[0].Fingerprint) != `{"ts"` {
		t.Fatalf("Positions=%+v, %v", ps, err)
	}
}

// TestDB_PositionTruncations: a position's last and earlier truncations
// come back as they were committed.
func TestDB_PositionTruncations(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	pos := ingest.Position{Key: ingest.FileKey{Dev: 1, Ino: 3}, Path: "/var/log/app.log", Offset: 10, Fingerprint: []byte("fp-now"),
		PrevOffset: 900, PrevFingerprint: []byte("fp-900"),
		Earlier: []ingest.Truncation{{Offset: 700, Fingerprint: []byte("fp-700")}, {Offset: 5000, Fingerprint: bytes.Repeat([]byte("x"), 300)}}}
	b := db.NewBatch()
	b.SetPosition(pos)
	if err := db.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	ps, err := db.Positions(ctx)
	if err != nil || len(ps) != 1 {
		t.Fatalf("Positions=%+v, %v", ps, err)
	}
	if !reflect.DeepEqual(ps[0], pos) {
		t.Errorf("Positions=%+v\nwant %+v", ps[0], pos)
	}
}

func TestDB_Caps(t *testing.T) {
	db := MustOpenDB(t)
	db.Limits = storage.Limits{Vendors: 2, CodesPerVendor: 3, EndpointsPerVendor: 2, SamplesPerCode: 2}
	ctx := context.Background()
	b := db.NewBatch()
	for i := range 50 {
		e := ev("v"+string(rune('a'+i%5)), "c"+string(rune('a'+i%10)), classify.RetryNo)
		e.Message = "message " + string(rune('a'+i))
		b.Add(t0, e, "GET /e"+string(rune('a'+i%7)))
	}
	if err := db.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	// Reopen: the caps hold across restarts.
	db.Close()
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	b = db.NewBatch()
	b.Add(t0, ev("vz", "new", classify.RetryNo), "GET /new")
	if err := db.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	vendors, _ := db.Vendors(ctx, all[0], all[1])
	var total int64
	for _, v := range vendors {
		total += v.Requests
	}
	if len(vendors) != 3 || total != 51 { // va, vb and other
		t.Fatalf("Vendors=%+v, want 2 vendors and other, 51 requests", vendors)
	}
	codes, _ := db.Codes(ctx, all[0], all[1], "")
	per := map[string]int{}
	for _, c := range codes {
		per[c.Vendor]++
	}
	for v, n := range per {
		if n > 3+1 { // the cap, and other
			t.Errorf("%s has %d codes, cap 3 and other", v, n)
		}
	}
}

func TestDB_Maintain(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	now := t0.Add(3 * time.Hour) // no minute below lies ahead of the clock
	db.Now = func() time.Time { return now }
	b := db.NewBatch()
	for i := range 180 { // three hours of minutes
		b.Add(t0.Add(time.Duration(i)*time.Minute), ev("piggy", "1008", classify.RetryNo), "POST /a")
	}
	if err := db.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(5 * time.Hour)
	if err := db.Maintain(ctx, time.Hour, 30*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	codes, _ := db.Codes(ctx, all[0], all[1], "")
	if len(codes) != 1 || codes[0].Count != 180 {
		t.Fatalf("after rollup Codes=%+v, want 180 errors kept", codes)
	}
	vendors, _ := db.Vendors(ctx, all[0], all[1])
	if vendors[0].Requests != 180 {
		t.Fatalf("after rollup Requests=%d, want 180", vendors[0].Requests)
	}
	now = t0.Add(40 * 24 * time.Hour)
	if err := db.Maintain(ctx, time.Hour, 30*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if codes, _ := db.Codes(ctx, all[0], all[1], ""); len(codes) != 0 {
		t.Fatalf("after retention Codes=%+v, want none", codes)
	}
}

// TestDB_ReadWhileWriting reads through a read-only handle while the
// writer commits.
func TestDB_ReadWhileWriting(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	ro := storage.NewDB(db.Path)
	ro.ReadOnly = true
	if err := ro.Open(); err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	done := make(chan error)
	go func() {
		for i := range 200 {
			b := db.NewBatch()
			b.Add(t0, ev("piggy", "1008", classify.RetryNo), "POST /a")
			b.SetPosition(ingest.Position{Key: ingest.FileKey{Dev: 1, Ino: 1}, Offset: int64(i)})
			if err := db.Commit(ctx, b); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	var last int64
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			v, _ := ro.Vendors(ctx, all[0], all[1])
			if v[0].Requests != 200 {
				t.Fatalf("Requests=%d, want 200", v[0].Requests)
			}
			return
		default:
		}
		v, err := ro.Vendors(ctx, all[0], all[1])
		if err != nil {
			t.Fatalf("read while writing: %v", err)
		}
		if len(v) == 1 {
			if v[0].Requests < last {
				t.Fatalf("count went back from %d to %d", last, v[0].Requests)
			}
			last = v[0].Requests
		}
	}
}

func TestDB_OpenErrors(t *testing.T) {
	dir := t.TempDir()
	t.Run("ErrNotExist", func(t *testing.T) {
		db := storage.NewDB(filepath.Join(dir, "missing.db"))
		db.ReadOnly = true
		if err := db.Open(); !errors.Is(err, storage.ErrNotExist) {
			t.Fatalf("err=%v, want ErrNotExist", err)
		}
	})
	t.Run("ErrCorrupt", func(t *testing.T) {
		path := filepath.Join(dir, "garbage.db")
		os.WriteFile(path, []byte("this is not an SQLite database, but it is long enough to look like one"), 0o600)
		db := storage.NewDB(path)
		if err := db.Open(); !errors.Is(err, storage.ErrCorrupt) {
			t.Fatalf("err=%v, want ErrCorrupt", err)
		}
	})
	t.Run("FileMode", func(t *testing.T) {
		path := filepath.Join(dir, "private.db")
		db := storage.NewDB(path)
		if err := db.Open(); err != nil {
			t.Fatal(err)
		}
		db.Close()
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v, %v; want 0600", fi.Mode().Perm(), err)
		}
	})
}
