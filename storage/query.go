package storage

import (
	"context"
	"time"
)

// VendorCount is one vendor's totals over a window.
type VendorCount struct {
	Vendor    string
	Requests  int64
	Errors    int64
	Retryable int64
}

// CodeCount is one error group's totals over a window.
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
	Endpoint   string // the endpoint with the most errors in the group
	Message    string // the most frequent sample message
}

// ReasonCount is the number of malformed lines with one reason.
type ReasonCount struct {
	Reason string
	Count  int64
}

// Vendors returns per-vendor request, error and retryable totals for
// buckets in [from, to), most errors first.
func (db *DB) Vendors(ctx context.Context, from, to time.Time) ([]VendorCount, error) {
	rows, err := db.db.QueryContext(ctx, `
		SELECT vendor, SUM(requests), SUM(errors), SUM(retryable) FROM request_counts
		WHERE bucket >= ? AND bucket < ? GROUP BY vendor ORDER BY SUM(errors) DESC, vendor`, ms(from), ms(to))
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []VendorCount
	for rows.Next() {
		var v VendorCount
		if err := rows.Scan(&v.Vendor, &v.Requests, &v.Errors, &v.Retryable); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Codes returns one row per (vendor, code) for buckets in [from, to), most
// frequent first. The status, category and verdict are those of the
// group's most frequent variant. vendor, if not empty, filters.
func (db *DB) Codes(ctx context.Context, from, to time.Time, vendor string) ([]CodeCount, error) {
	rows, err := db.db.QueryContext(ctx, `
		WITH v AS (
			SELECT vendor, code, http_status, category, retry, range_name, known, endpoint,
			       SUM(count) AS n, MIN(first_seen) AS first, MAX(last_seen) AS last
			FROM error_counts
			WHERE bucket >= ?1 AND bucket < ?2 AND (?3 = '' OR vendor = ?3)
			GROUP BY vendor, code, http_status, category, retry, endpoint
		), g AS (
			SELECT vendor, code, SUM(n) AS total, MIN(first) AS first, MAX(last) AS last FROM v GROUP BY vendor, code
		), top AS (
			SELECT vendor, code, http_status, category, retry, range_name, known,
			       ROW_NUMBER() OVER (PARTITION BY vendor, code ORDER BY SUM(n) DESC, http_status) AS rk
			FROM v GROUP BY vendor, code, http_status, category, retry
		), ep AS (
			SELECT vendor, code, endpoint, ROW_NUMBER() OVER (PARTITION BY vendor, code ORDER BY SUM(n) DESC, endpoint) AS rk
			FROM v GROUP BY vendor, code, endpoint
		)
		SELECT g.vendor, g.code, top.http_status, top.range_name, top.category, top.retry, top.known, g.total, g.first, g.last,
		       ep.endpoint,
		       COALESCE((SELECT message FROM samples s WHERE s.vendor = g.vendor AND s.code = g.code ORDER BY count DESC, message LIMIT 1), '')
		FROM g
		JOIN top ON top.vendor = g.vendor AND top.code = g.code AND top.rk = 1
		JOIN ep ON ep.vendor = g.vendor AND ep.code = g.code AND ep.rk = 1
		ORDER BY g.total DESC, g.vendor, g.code`, ms(from), ms(to), vendor)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []CodeCount
	for rows.Next() {
		var c CodeCount
		var first, last int64
		if err := rows.Scan(&c.Vendor, &c.Code, &c.HTTPStatus, &c.Range, &c.Category, &c.Retry, &c.Known, &c.Count,
			&first, &last, &c.Endpoint, &c.Message); err != nil {
			return nil, err
		}
		c.FirstSeen, c.LastSeen = fromMS(first), fromMS(last)
		out = append(out, c)
	}
	return out, rows.Err()
}

// Malformed returns malformed-line counts by reason for buckets in [from, to).
func (db *DB) Malformed(ctx context.Context, from, to time.Time) ([]ReasonCount, error) {
	rows, err := db.db.QueryContext(ctx, `
		SELECT reason, SUM(count) FROM malformed_counts WHERE bucket >= ? AND bucket < ?
		GROUP BY reason ORDER BY SUM(count) DESC, reason`, ms(from), ms(to))
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []ReasonCount
	for rows.Next() {
		var r ReasonCount
		if err := rows.Scan(&r.Reason, &r.Count); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
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
