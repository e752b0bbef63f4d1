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

// SampleCount is a stored sample message of a (vendor, code), with the
// trace id of the latest line that had one ("" if none did) and its time.
type SampleCount struct {
	Vendor, Code, Message string
	Count                 int64
	TraceID               string
	TraceAt               time.Time
}

// ReasonCount is the number of malformed (or skipped) lines with one reason.
type ReasonCount struct {
	Reason string
	Count  int64
}

// Filter narrows a query; an empty field matches everything.
type Filter struct {
	Vendor  string
	Service string // the calling service (a database from before services has only "")
}

// ServiceCount is one calling service's totals over a window.
type ServiceCount struct {
	Service          string
	Requests, Errors int64
}

// CodeServiceCount is how often a (vendor, code) failed in one service.
type CodeServiceCount struct {
	Vendor, Code, Service string
	Count                 int64
}

// WindowErrors is what one scan of a window's errors gives.
type WindowErrors struct {
	Codes     []CodeCount        // one row per variant of each (vendor, code)
	Endpoints []EndpointCount    // errors per (vendor, code, endpoint)
	Services  []CodeServiceCount // errors per (vendor, code, service)
}

// col is a column of the services schema (0003), or the empty string on a database a
// writer has not migrated to it.
func (db *DB) col(name string) string {
	if db.beforeServices {
		return "''"
	}
	return name
}

// Vendors returns per-vendor request, error and retryable totals for
// buckets in [from, to), most errors first.
func (db *DB) Vendors(ctx context.Context, from, to time.Time) ([]VendorCount, error) {
	return db.VendorTotals(ctx, from, to, Filter{})
}

// VendorTotals returns per-vendor request, error and retryable totals for
// buckets in [from, to) that pass f, most errors first.
func (db *DB) VendorTotals(ctx context.Context, from, to time.Time, f Filter) ([]VendorCount, error) {
	var out []VendorCount
	err := db.each(ctx, func(rows *sql.Rows) error {
		var v VendorCount
		err := rows.Scan(&v.Vendor, &v.Requests, &v.Errors, &v.Retryable)
		out = append(out, v)
		return err
	}, `SELECT vendor, SUM(requests), SUM(errors), SUM(retryable) FROM request_counts
		WHERE bucket >= ?1 AND bucket < ?2 AND (?3 = '' OR vendor = ?3) AND (?4 = '' OR `+db.col("service")+` = ?4)
		GROUP BY vendor ORDER BY SUM(errors) DESC, vendor`, ms(from), ms(to), f.Vendor, f.Service)
	return out, err
}

// Services returns per-service request and error totals for buckets in
// [from, to) that pass f, most errors first. Requests of no known service
// are the row with Service "".
func (db *DB) Services(ctx context.Context, from, to time.Time, f Filter) ([]ServiceCount, error) {
	var out []ServiceCount
	err := db.each(ctx, func(rows *sql.Rows) error {
		var s ServiceCount
		err := rows.Scan(&s.Service, &s.Requests, &s.Errors)
		out = append(out, s)
		return err
	}, `SELECT `+db.col("service")+` AS s, SUM(requests), SUM(errors) FROM request_counts
		WHERE bucket >= ?1 AND bucket < ?2 AND (?3 = '' OR vendor = ?3) AND (?4 = '' OR s = ?4)
		GROUP BY s ORDER BY SUM(errors) DESC, s`, ms(from), ms(to), f.Vendor, f.Service)
	return out, err
}

// Errors scans the window [from, to) once and returns one row per variant
// of each (vendor, code) and the error counts per (vendor, code, endpoint).
// vendor, if not empty, filters.
func (db *DB) Errors(ctx context.Context, from, to time.Time, vendor string) ([]CodeCount, []EndpointCount, error) {
	w, err := db.WindowErrors(ctx, from, to, Filter{Vendor: vendor})
	return w.Codes, w.Endpoints, err
}

// WindowErrors scans the errors of the window [from, to) that pass f once:
// one row per variant of each (vendor, code), and the counts per
// (vendor, code) and endpoint and service.
func (db *DB) WindowErrors(ctx context.Context, from, to time.Time, f Filter) (WindowErrors, error) {
	var out WindowErrors
	rows, err := db.db.QueryContext(ctx, `
		WITH c AS (
			SELECT group_id, SUM(count) AS n, MIN(first_seen) AS first, MAX(last_seen) AS last
			FROM error_counts WHERE bucket >= ?1 AND bucket < ?2 GROUP BY group_id
		)
		SELECT g.vendor, g.code, g.http_status, g.category, g.retry, g.endpoint, `+db.col("g.service")+` AS s,
			g.range_name, g.known, c.n, c.first, c.last
		FROM c JOIN error_groups g ON g.id = c.group_id
		WHERE (?3 = '' OR g.vendor = ?3) AND (?4 = '' OR s = ?4)`, ms(from), ms(to), f.Vendor, f.Service)
	if err != nil {
		return out, translate(err)
	}
	defer rows.Close()
	type variant struct {
		vendor, code    string
		status          int
		category, retry string
	}
	type group struct{ vendor, code, value string }
	variants := map[variant]*CodeCount{}
	endpoints := map[group]int64{}
	services := map[group]int64{}
	for rows.Next() {
		c := new(CodeCount)
		var endpoint, service string
		var first, last int64
		if err := rows.Scan(&c.Vendor, &c.Code, &c.HTTPStatus, &c.Category, &c.Retry, &endpoint, &service, &c.Range, &c.Known, &c.Count, &first, &last); err != nil {
			return out, err
		}
		endpoints[group{c.Vendor, c.Code, endpoint}] += c.Count
		services[group{c.Vendor, c.Code, service}] += c.Count
		k := variant{c.Vendor, c.Code, c.HTTPStatus, c.Category, c.Retry}
		if v := variants[k]; v != nil {
			v.Count += c.Count
			v.FirstSeen, v.LastSeen = minTime(v.FirstSeen, fromMS(first)), maxTime(v.LastSeen, fromMS(last))
			v.Known = v.Known || c.Known
			v.Range = max(v.Range, c.Range)
			continue
		}
		c.FirstSeen, c.LastSeen = fromMS(first), fromMS(last)
		variants[k] = c
	}
	if err := rows.Err(); err != nil {
		return out, translate(err)
	}
	out.Codes = make([]CodeCount, 0, len(variants))
	for _, v := range variants {
		out.Codes = append(out.Codes, *v)
	}
	out.Endpoints = make([]EndpointCount, 0, len(endpoints))
	for g, n := range endpoints {
		out.Endpoints = append(out.Endpoints, EndpointCount{Vendor: g.vendor, Code: g.code, Endpoint: g.value, Count: n})
	}
	out.Services = make([]CodeServiceCount, 0, len(services))
	for g, n := range services {
		out.Services = append(out.Services, CodeServiceCount{Vendor: g.vendor, Code: g.code, Service: g.value, Count: n})
	}
	return out, nil
}

// Codes returns one row per variant of each (vendor, code) in [from, to).
func (db *DB) Codes(ctx context.Context, from, to time.Time, vendor string) ([]CodeCount, error) {
	codes, _, err := db.Errors(ctx, from, to, vendor)
	return codes, err
}

// CodesIn returns one row per variant of each (vendor, code) in [from, to)
// that passes f.
func (db *DB) CodesIn(ctx context.Context, from, to time.Time, f Filter) ([]CodeCount, error) {
	w, err := db.WindowErrors(ctx, from, to, f)
	return w.Codes, err
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
		var at int64
		err := rows.Scan(&s.Vendor, &s.Code, &s.Message, &s.Count, &s.TraceID, &at)
		if s.TraceID != "" {
			s.TraceAt = fromMS(at)
		}
		out = append(out, s)
		return err
	}, `SELECT vendor, code, message, count, `+db.col("trace_id")+`, `+db.col("trace_at")+` + 0
		FROM samples WHERE ?1 = '' OR vendor = ?1`, vendor)
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
	return db.VendorSeries(ctx, from, to, step, Filter{})
}

// VendorSeries is ErrorSeries of the requests that pass f.
func (db *DB) VendorSeries(ctx context.Context, from, to time.Time, step time.Duration, f Filter) (map[string][]int64, error) {
	n := int((to.Sub(from) + step - 1) / step)
	if n <= 0 || n > 10000 {
		return nil, nil
	}
	out := map[string][]int64{}
	err := db.each(ctx, func(rows *sql.Rows) error {
		var vendor string
		var i, errors int64
		if err := rows.Scan(&vendor, &i, &errors); err != nil {
			return err
		}
		s := out[vendor]
		if s == nil {
			s = make([]int64, n)
			out[vendor] = s
		}
		if i >= 0 && int(i) < n {
			s[i] += errors
		}
		return nil
	}, `SELECT vendor, (bucket - ?1) / ?3 AS i, SUM(errors) FROM request_counts
		WHERE bucket >= ?1 AND bucket < ?2 AND (?4 = '' OR vendor = ?4) AND (?5 = '' OR `+db.col("service")+` = ?5)
		GROUP BY vendor, i`, ms(from), ms(to), step.Milliseconds(), f.Vendor, f.Service)
	return out, err
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
