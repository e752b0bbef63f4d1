package storage

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Endpoint counts and latency are written twice: into a minute row, kept
// until the rollup age like every minute bucket, and into the row of its
// hour, kept until retention. A report reads whole hours from the hour
// rows and only the window's ragged ends from minute rows, so a 30-day
// window reads about 720 rows per endpoint, not 40,000.

// EndpointStat is one (vendor, endpoint)'s totals over a window.
type EndpointStat struct {
	Vendor, Endpoint string
	Requests, Errors int64
	Latency          Histogram // of the requests whose line had a duration
}

func compareEpKeys(a, b epKey) int {
	if c := cmp.Compare(a.bucket, b.bucket); c != 0 {
		return c
	}
	if c := strings.Compare(a.vendor, b.vendor); c != 0 {
		return c
	}
	return strings.Compare(a.endpoint, b.endpoint)
}

func upsertEndpoints(ctx context.Context, tx *sql.Tx, db *DB, b *Batch, _ int64) error {
	if len(b.eps) == 0 {
		return nil
	}
	hours := make(map[epKey]*epAgg, len(b.eps))
	for k, e := range b.eps {
		k.bucket -= k.bucket % Hour
		h := hours[k]
		if h == nil {
			h = &epAgg{}
			hours[k] = h
		}
		h.requests += e.requests
		h.errors += e.errors
		h.hist.Merge(&e.hist)
	}
	var buf []byte
	for _, t := range []struct {
		u    *upsert
		rows map[epKey]*epAgg
	}{{upsertEndpointMins, b.eps}, {upsertEndpointHours, hours}} {
		w := db.rows(ctx, t.u)
		for _, k := range sortedKeys(t.rows, compareEpKeys) {
			e := t.rows[k]
			buf = e.hist.encode(buf)
			if err := w.add(k.bucket, k.vendor, k.endpoint, e.requests, e.errors, db.blob(buf)); err != nil {
				return err
			}
		}
		if err := w.flush(); err != nil {
			return err
		}
	}
	return nil
}

// Endpoints returns every (vendor, endpoint)'s requests, errors and merged
// latency histogram over [from, to), most errors first; vendor, if not
// empty, filters. A bucket is in the window as in the other queries: a
// minute by its start, an hour rolled up by its start.
func (db *DB) Endpoints(ctx context.Context, from, to time.Time, vendor string) ([]EndpointStat, error) {
	if db.beforeServices {
		return nil, nil
	}
	f, t := ms(from), ms(to)
	if f >= t {
		return nil, nil
	}
	stats := map[[2]string]*EndpointStat{}
	read := func(table string, lo, hi int64) error {
		// RawBytes: no copy of the names or the blob for each of the
		// thousands of hour rows of a long window.
		var v, e, hist sql.RawBytes
		var req, errs int64
		return db.each(ctx, func(rows *sql.Rows) error {
			if err := rows.Scan(&v, &e, &req, &errs, &hist); err != nil {
				return err
			}
			s := stats[[2]string{string(v), string(e)}]
			if s == nil {
				s = &EndpointStat{Vendor: string(v), Endpoint: string(e)}
				stats[[2]string{s.Vendor, s.Endpoint}] = s
			}
			s.Requests += req
			s.Errors += errs
			return s.Latency.decodeAdd(hist)
		}, `SELECT vendor, endpoint, requests, errors, hist FROM `+table+`
			WHERE bucket >= ?1 AND bucket < ?2 AND (?3 = '' OR vendor = ?3)`, lo, hi, vendor)
	}
	// Whole hours inside the window come from the hour rows.
	whole := [2]int64{ceilTo(f, Hour), t - t%Hour}
	if whole[0] < whole[1] {
		if err := read("endpoint_hours", whole[0], whole[1]); err != nil {
			return nil, fmt.Errorf("endpoints: %w", err)
		}
	} else if whole[0] > whole[1] {
		whole = [2]int64{t, t} // inside one hour: one ragged piece
	}
	// A ragged end reads the minutes of its hour until the hour is rolled
	// up; then the hour counts if it starts inside the window, as a rolled
	// up bucket does.
	var rolled int64
	if err := db.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(CAST(value AS INTEGER)), 0) FROM meta WHERE key = 'rolled_before'`).
		Scan(&rolled); err != nil {
		return nil, fmt.Errorf("endpoints: %w", translate(err))
	}
	for _, p := range [][2]int64{{f, whole[0]}, {max(whole[1], f), t}} {
		if p[0] >= p[1] {
			continue
		}
		hour := p[0] - p[0]%Hour
		var err error
		switch {
		case hour >= rolled:
			err = read("endpoint_minutes", p[0], p[1])
		case hour >= f:
			err = read("endpoint_hours", hour, hour+1)
		}
		if err != nil {
			return nil, fmt.Errorf("endpoints: %w", err)
		}
	}
	out := make([]EndpointStat, 0, len(stats))
	for _, s := range stats {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if a.Errors != b.Errors {
			return a.Errors > b.Errors
		}
		if a.Vendor != b.Vendor {
			return a.Vendor < b.Vendor
		}
		return a.Endpoint < b.Endpoint
	})
	return out, nil
}

// ceilTo rounds v up to a multiple of step.
func ceilTo(v, step int64) int64 {
	if r := v % step; r != 0 {
		return v + step - r
	}
	return v
}
