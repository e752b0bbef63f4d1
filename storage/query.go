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
	w, err := db.WindowRequests(ctx, from, to, 0, f)
	return w.Vendors, err
}

// Services returns per-service request and error totals for buckets in
// [from, to) that pass f, most errors first. Requests of no known service
// are the row with Service "".
func (db *DB) Services(ctx context.Context, from, to time.Time, f Filter) ([]ServiceCount, error) {
	w, err := db.WindowRequests(ctx, from, to, 0, f)
	return w.Services, err
}

// Errors scans the window [from, to) once and returns one row per variant
// of each (vendor, code) and the error counts per (vendor, code, endpoint).
// vendor, if not empty, filters.
func (db *DB) Errors(ctx context.Context, from, to time.Time, vendor string) ([]CodeCount, []EndpointCount, error) {
	w, err := db.WindowErrors(ctx, from, to, 0, Filter{Vendor: vendor})
	return w.Codes, w.Endpoints, err
}

// Codes returns one row per variant of each (vendor, code) in [from, to).
func (db *DB) Codes(ctx context.Context, from, to time.Time, vendor string) ([]CodeCount, error) {
	codes, _, err := db.Errors(ctx, from, to, vendor)
	return codes, err
}

// CodesIn returns one row per variant of each (vendor, code) in [from, to)
// that passes f.
func (db *DB) CodesIn(ctx context.Context, from, to time.Time, f Filter) ([]CodeCount, error) {
	w, err := db.WindowErrors(ctx, from, to, 0, f)
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
	w, err := db.WindowRequests(ctx, from, to, step, f)
	return w.Trend, err
}

// Totals returns the summary of everything the database's buckets hold,
// which retention prunes; counters resume from Lifetime instead.
func (db *DB) Totals(ctx context.Context) (Summary, error) {
	s := newSummary()
	var name string
	var n int64
	err := db.each(ctx, func(rows *sql.Rows) error {
		var l ServiceLabels
		err := rows.Scan(&l.Vendor, &l.Service, &n)
		s.Requests[l.Vendor] += n
		s.ServiceRequests[l] = n
		return err
	}, `SELECT vendor, `+db.col("service")+` AS s, SUM(requests) FROM request_counts GROUP BY vendor, s`)
	if err != nil {
		return s, err
	}
	err = db.each(ctx, func(rows *sql.Rows) error {
		var l ServiceErrorLabels
		err := rows.Scan(&l.Vendor, &l.Code, &l.Category, &l.Retry, &l.Service, &n)
		s.Errors[l.ErrorLabels] += n
		s.ServiceErrors[l] = n
		return err
	}, `SELECT g.vendor, g.code, g.category, g.retry, `+db.col("g.service")+` AS s, SUM(c.count) FROM error_counts c JOIN error_groups g ON g.id = c.group_id
		GROUP BY g.vendor, g.code, g.category, g.retry, s`)
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
	// Totals kept per service since 0004; before, all under ''.
	service := "service"
	if db.beforeLifetimeServices {
		service = "''"
	}
	s := newSummary()
	err := db.each(ctx, func(rows *sql.Rows) error {
		var metric, reason, service string
		var l ErrorLabels
		var n int64
		if err := rows.Scan(&metric, &l.Vendor, &l.Code, &l.Category, &l.Retry, &reason, &service, &n); err != nil {
			return err
		}
		switch metric {
		case "requests":
			s.Requests[l.Vendor] += n
			s.ServiceRequests[ServiceLabels{l.Vendor, service}] = n
		case "errors":
			s.Errors[l] += n
			s.ServiceErrors[ServiceErrorLabels{l, service}] = n
		case "malformed":
			s.Malformed[reason] = n
		case "skipped":
			s.Skipped[reason] = n
		}
		return nil
	}, `SELECT metric, vendor, code, category, retry, reason, `+service+`, count FROM lifetime_counts`)
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
