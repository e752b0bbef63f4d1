package storage

import (
	"context"
	"database/sql"
	"time"
)

// VendorCount is one vendor's totals over a window.
type VendorCount struct {
	Vendor    string
	Requests  int64
	Errors    int64
	Retryable int64
}

// CodeCount is the totals over a window of one variant of an error group:
// a (vendor, code) with one HTTP status, category and verdict.
type CodeCount struct {
	Vendor     string
	Code       string
	HTTPStatus int
	Range      string
	Category   string
	Retry      string
	Known      bool
	Count      int64
	FirstSeen  time.Time
	LastSeen   time.Time
}

// EndpointCount is how often a (vendor, code) failed at one endpoint.
type EndpointCount struct {
	Vendor, Code, Endpoint string
	Count                  int64
}

// SampleCount is a stored sample message of a (vendor, code).
type SampleCount struct {
	Vendor, Code, Message string
	Count                 int64
}

// ReasonCount is the number of malformed (or skipped) lines with one reason.
type ReasonCount struct {
	Reason string
	Count  int64
}

// Vendors returns per-vendor request, error and retryable totals for
// buckets in [from, to), most errors first.
func (db *DB) Vendors(ctx context.Context, from, to time.Time) ([]VendorCount, error) {
	var out []VendorCount
	err := db.each(ctx, func(rows *sql.Rows) error {
		var v VendorCount
		err := rows.Scan(&v.Vendor, &v.Requests, &v.Errors, &v.Retryable)
		out = append(out, v)
		return err
	}, `SELECT vendor, SUM(requests), SUM(errors), SUM(retryable) FROM request_counts
		WHERE bucket >= ? AND bucket < ? GROUP BY vendor ORDER BY SUM(errors) DESC, vendor`, ms(from), ms(to))
	return out, err
}

// Errors scans the window [from, to) once and returns one row per variant
// of each (vendor, code) and the error counts per (vendor, code, endpoint).
// vendor, if not empty, filters.
func (db *DB) Errors(ctx context.Context, from, to time.Time, vendor string) ([]CodeCount, []EndpointCount, error) {
	rows, err := db.db.QueryContext(ctx, `
		WITH c AS (
			SELECT group_id, SUM(count) AS n, MIN(first_seen) AS first, MAX(last_seen) AS last
			FROM error_counts WHERE bucket >= ?1 AND bucket < ?2 GROUP BY group_id
		)
		SELECT g.vendor, g.code, g.http_status, g.category, g.retry, g.endpoint, g.range_name, g.known, c.n, c.first, c.last
		FROM c JOIN error_groups g ON g.id = c.group_id
		WHERE ?3 = '' OR g.vendor = ?3`, ms(from), ms(to), vendor)
	if err != nil {
		return nil, nil, translate(err)
	}
	defer rows.Close()
	type variant struct {
		vendor, code    string
		status          int
		category, retry string
	}
	type group struct{ vendor, code, endpoint string }
	variants := map[variant]*CodeCount{}
	endpoints := map[group]int64{}
	for rows.Next() {
		c := new(CodeCount)
		var endpoint string
		var first, last int64
		if err := rows.Scan(&c.Vendor, &c.Code, &c.HTTPStatus, &c.Category, &c.Retry, &endpoint, &c.Range, &c.Known, &c.Count, &first, &last); err != nil {
			return nil, nil, err
		}
		endpoints[group{c.Vendor, c.Code, endpoint}] += c.Count
		k := variant{c.Vendor, c.Code, c.HTTPStatus, c.Category, c.Retry}
		if v := variants[k]; v != nil {
			v.Count += c.Count
			v.FirstSeen, v.LastSeen = minTime(v.FirstSeen, fromMS(first)), maxTime(v.LastSeen, fromMS(last))
			continue
		}
		c.FirstSeen, c.LastSeen = fromMS(first), fromMS(last)
		variants[k] = c
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	out := make([]CodeCount, 0, len(variants))
	for _, v := range variants {
		out = append(out, *v)
	}
	eps := make([]EndpointCount, 0, len(endpoints))
	for g, n := range endpoints {
		eps = append(eps, EndpointCount{Vendor: g.vendor, Code: g.code, Endpoint: g.endpoint, Count: n})
	}
	return out, eps, nil
}

// Codes returns one row per variant of each (vendor, code) in [from, to).
func (db *DB) Codes(ctx context.Context, from, to time.Time, vendor string) ([]CodeCount, error) {
	codes, _, err := db.Errors(ctx, from, to, vendor)
	return codes, err
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Samples returns the stored sample messages (a few per code).
func (db *DB) Samples(ctx context.Context, vendor string) ([]SampleCount, error) {
	var out []SampleCount
	err := db.each(ctx, func(rows *sql.Rows) error {
		var s SampleCount
		err := rows.Scan(&s.Vendor, &s.Code, &s.Message, &s.Count)
		out = append(out, s)
		return err
	}, `SELECT vendor, code, message, count FROM samples WHERE ?1 = '' OR vendor = ?1`, vendor)
	return out, err
}

// Malformed returns malformed-line counts by reason for buckets in [from, to).
func (db *DB) Malformed(ctx context.Context, from, to time.Time) ([]ReasonCount, error) {
	var out []ReasonCount
	err := db.each(ctx, func(rows *sql.Rows) error {
		var r ReasonCount
		err := rows.Scan(&r.Reason, &r.Count)
		out = append(out, r)
		return err
	}, `SELECT reason, SUM(count) FROM malformed_counts WHERE bucket >= ? AND bucket < ?
		GROUP BY reason ORDER BY SUM(count) DESC, reason`, ms(from), ms(to))
	return out, err
}

// Skipped returns skipped-line counts by reason for buckets in [from, to):
// lines that are not requests, and requests older than retention
// (ReasonTooOld, counted when they were read).
func (db *DB) Skipped(ctx context.Context, from, to time.Time) ([]ReasonCount, error) {
	if db.firstRelease {
		return nil, nil
	}
	var out []ReasonCount
	err := db.each(ctx, func(rows *sql.Rows) error {
		var r ReasonCount
		err := rows.Scan(&r.Reason, &r.Count)
		out = append(out, r)
		return err
	}, `SELECT reason, SUM(count) FROM skipped_counts WHERE bucket >= ? AND bucket < ?
		GROUP BY reason ORDER BY SUM(count) DESC, reason`, ms(from), ms(to))
	return out, err
}

// ErrorSeries returns each vendor's errors per step over [from, to): the
// series has one value per step, oldest first.
func (db *DB) ErrorSeries(ctx context.Context, from, to time.Time, step time.Duration) (map[string][]int64, error) {
	n := int((to.Sub(from) + step - 1) / step)
	if n <= 0 || n > 10000 {
		return nil, nil
	}
	rows, err := db.db.QueryContext(ctx, `
		SELECT vendor, (bucket - ?1) / ?3 AS i, SUM(errors) FROM request_counts
		WHERE bucket >= ?1 AND bucket < ?2 GROUP BY vendor, i`, ms(from), ms(to), step.Milliseconds())
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := map[string][]int64{}
	for rows.Next() {
		var vendor string
		var i, errors int64
		if err := rows.Scan(&vendor, &i, &errors); err != nil {
			return nil, err
		}
		s := out[vendor]
		if s == nil {
			s = make([]int64, n)
			out[vendor] = s
		}
		if i >= 0 && int(i) < n {
			s[i] += errors
		}
	}
	return out, rows.Err()
}

// Totals returns the summary of everything the database's buckets hold,
// which retention prunes; counters resume from Lifetime instead.
func (db *DB) Totals(ctx context.Context) (Summary, error) {
	s := newSummary()
	var name string
	var n int64
	err := db.each(ctx, func(rows *sql.Rows) error {
		err := rows.Scan(&name, &n)
		s.Requests[name] = n
		return err
	}, `SELECT vendor, SUM(requests) FROM request_counts GROUP BY vendor`)
	if err != nil {
		return s, err
	}
	err = db.each(ctx, func(rows *sql.Rows) error {
		var l ErrorLabels
		err := rows.Scan(&l.Vendor, &l.Code, &l.Category, &l.Retry, &n)
		s.Errors[l] = n
		return err
	}, `SELECT g.vendor, g.code, g.category, g.retry, SUM(c.count) FROM error_counts c JOIN error_groups g ON g.id = c.group_id
		GROUP BY g.vendor, g.code, g.category, g.retry`)
	if err != nil {
		return s, err
	}
	err = db.each(ctx, func(rows *sql.Rows) error {
		err := rows.Scan(&name, &n)
		s.Malformed[name] = n
		return err
	}, `SELECT reason, SUM(count) FROM malformed_counts GROUP BY reason`)
	if err != nil || db.firstRelease {
		return s, err
	}
	err = db.each(ctx, func(rows *sql.Rows) error {
		err := rows.Scan(&name, &n)
		s.Skipped[name] = n
		return err
	}, `SELECT reason, SUM(count) FROM skipped_counts GROUP BY reason`)
	return s, err
}

// Lifetime returns the totals of every line the database ever counted,
// with capped labels: kept apart from the buckets and never pruned, so the
// daemon's counters resume from them and never go down across a restart,
// whatever retention removed meanwhile.
//
// A database of the first release, read before any writer migrated it,
// has no lifetime totals: its buckets are what it counted.
func (db *DB) Lifetime(ctx context.Context) (Summary, error) {
	if db.firstRelease {
		return db.Totals(ctx)
	}
	s := newSummary()
	err := db.each(ctx, func(rows *sql.Rows) error {
		var metric, reason string
		var l ErrorLabels
		var n int64
		if err := rows.Scan(&metric, &l.Vendor, &l.Code, &l.Category, &l.Retry, &reason, &n); err != nil {
			return err
		}
		switch metric {
		case "requests":
			s.Requests[l.Vendor] = n
		case "errors":
			s.Errors[l] = n
		case "malformed":
			s.Malformed[reason] = n
		case "skipped":
			s.Skipped[reason] = n
		}
		return nil
	}, `SELECT metric, vendor, code, category, retry, reason, count FROM lifetime_counts`)
	return s, err
}

// each runs a query and calls scan for every row; errors are translated
// and the rows always closed.
func (db *DB) each(ctx context.Context, scan func(*sql.Rows) error, query string, args ...any) error {
	rows, err := db.db.QueryContext(ctx, query, args...)
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return translate(rows.Err())
}
