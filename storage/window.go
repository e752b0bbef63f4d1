package storage

import (
	"context"
	"database/sql"
	"sort"
	"strings"
	"time"
)

// A report reads each table of a window once: the request counts for the
// vendors, services and vendors' trends; the error counts for the failure
// groups, their endpoints, services and trends. It reads step by step of
// the trend, SQLite summing each step, so that a 30-day window returns a
// few rows per vendor or group, not one per bucket; and each step's sort
// is small (one GROUP BY over the window and a step index costs SQLite
// four times as much).

// WindowRequests is what one scan of a window's request counts gives.
type WindowRequests struct {
	Vendors  []VendorCount      // most errors first
	Services []ServiceCount     // most errors first; "" is no known service
	Trend    map[string][]int64 // each vendor's errors per step, oldest first; nil without a step
}

// WindowErrors is what one scan of a window's error counts gives.
type WindowErrors struct {
	Codes     []CodeCount        // one row per variant of each (vendor, code)
	Endpoints []EndpointCount    // errors per (vendor, code, endpoint)
	Services  []CodeServiceCount // errors per (vendor, code, service)
	// Trend is each (vendor, code)'s errors per step, oldest first; nil
	// without a step.
	Trend map[[2]string][]int64
}

// maxQuerySteps bounds the queries of a window: a trend of more steps is
// not read (a report's has about 24).
const maxQuerySteps = 1000

// steps splits [from, to) into the trend's steps, oldest first: one for
// the whole window when step is 0 or makes too many (trend is false).
func steps(from, to time.Time, step time.Duration) (ranges [][2]int64, trend bool) {
	f, t := ms(from), ms(to)
	if step <= 0 || t <= f {
		return [][2]int64{{f, t}}, false
	}
	n := int((to.Sub(from) + step - 1) / step)
	if n <= 0 || n > maxQuerySteps {
		return [][2]int64{{f, t}}, false
	}
	w := step.Milliseconds()
	ranges = make([][2]int64, n)
	for i := range ranges {
		ranges[i] = [2]int64{f + int64(i)*w, min(f+int64(i+1)*w, t)}
	}
	return ranges, true
}

// eachStep runs query once per range, with the range's bounds as ?1 and
// ?2 and args after them, calling scan for every row with the range's
// index. In query, TABLE is replaced by tables[0], or by tables[1] for
// the whole hours of a range when tables has two (see hourPieces).
func (db *DB) eachStep(ctx context.Context, ranges [][2]int64, tables []string, scan func(i int, rows *sql.Rows) error, query string, args ...any) error {
	stmts := make([]*sql.Stmt, len(tables))
	for i, t := range tables {
		stmt, err := db.db.PrepareContext(ctx, strings.ReplaceAll(query, "TABLE", t))
		if err != nil {
			return translate(err)
		}
		defer stmt.Close()
		stmts[i] = stmt
	}
	for i, r := range ranges {
		for _, p := range hourPieces(r, len(tables) > 1) {
			rows, err := stmts[p.table].QueryContext(ctx, append([]any{p.lo, p.hi}, args...)...)
			if err != nil {
				return translate(err)
			}
			for rows.Next() {
				if err := scan(i, rows); err != nil {
					rows.Close()
					return err
				}
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return translate(err)
			}
		}
	}
	return nil
}

type piece struct {
	table  int // 0: the buckets; 1: the hour rows
	lo, hi int64
}

// hourPieces splits a range into its whole hours, read from hour rows
// written along with the buckets, and its ragged ends, read from the
// buckets: minutes, or an hour bucket rolled up (in the range if its start
// is). Both hold the same lines, so the sum is the same as the buckets'.
func hourPieces(r [2]int64, hours bool) []piece {
	h0, h1 := ceilTo(r[0], Hour), r[1]-r[1]%Hour
	if !hours || h0 >= h1 {
		return []piece{{0, r[0], r[1]}}
	}
	ps := make([]piece, 0, 3)
	if r[0] < h0 {
		ps = append(ps, piece{0, r[0], h0})
	}
	ps = append(ps, piece{1, h0, h1})
	if h1 < r[1] {
		ps = append(ps, piece{0, h1, r[1]})
	}
	return ps
}

// WindowRequests scans the request counts of [from, to) that pass f once;
// with a step, it also gives each vendor's errors per step.
func (db *DB) WindowRequests(ctx context.Context, from, to time.Time, step time.Duration, f Filter) (WindowRequests, error) {
	var out WindowRequests
	ranges, trend := steps(from, to, step)
	n := len(ranges)
	vendors := map[string]*VendorCount{}
	services := map[string]*ServiceCount{}
	if trend {
		out.Trend = map[string][]int64{}
	}
	var vendor, service string
	var req, errs, retryable int64
	tables := []string{"request_counts", "request_hours"}
	if db.beforeServices {
		tables = tables[:1]
	}
	err := db.eachStep(ctx, ranges, tables, func(i int, rows *sql.Rows) error {
		if err := rows.Scan(&vendor, &service, &req, &errs, &retryable); err != nil {
			return err
		}
		v := vendors[vendor]
		if v == nil {
			v = &VendorCount{Vendor: vendor}
			vendors[vendor] = v
		}
		v.Requests, v.Errors, v.Retryable = v.Requests+req, v.Errors+errs, v.Retryable+retryable
		s := services[service]
		if s == nil {
			s = &ServiceCount{Service: service}
			services[service] = s
		}
		s.Requests, s.Errors = s.Requests+req, s.Errors+errs
		if trend {
			t := out.Trend[vendor]
			if t == nil {
				t = make([]int64, n)
				out.Trend[vendor] = t
			}
			t[i] += errs
		}
		return nil
	}, `SELECT vendor, `+db.col("service")+` AS s, SUM(requests), SUM(errors), SUM(retryable)
		FROM TABLE
		WHERE bucket >= ?1 AND bucket < ?2 AND (?3 = '' OR vendor = ?3) AND (?4 = '' OR s = ?4)
		GROUP BY vendor, s`, f.Vendor, f.Service)
	if err != nil {
		return out, err
	}
	out.Vendors = make([]VendorCount, 0, len(vendors))
	for _, v := range vendors {
		out.Vendors = append(out.Vendors, *v)
	}
	sort.Slice(out.Vendors, func(i, j int) bool {
		a, b := &out.Vendors[i], &out.Vendors[j]
		if a.Errors != b.Errors {
			return a.Errors > b.Errors
		}
		return a.Vendor < b.Vendor
	})
	out.Services = make([]ServiceCount, 0, len(services))
	for _, s := range services {
		out.Services = append(out.Services, *s)
	}
	sort.Slice(out.Services, func(i, j int) bool {
		a, b := &out.Services[i], &out.Services[j]
		if a.Errors != b.Errors {
			return a.Errors > b.Errors
		}
		return a.Service < b.Service
	})
	return out, nil
}

// errorGroup is a row of error_groups.
type errorGroup struct {
	vendor, code, category, retry, endpoint, service, rng string
	status                                                int
	known                                                 bool
}

// WindowErrors scans the error counts of [from, to) that pass f once: one
// row per variant of each (vendor, code), the counts per (vendor, code)
// and endpoint and service, and with a step each (vendor, code)'s trend.
func (db *DB) WindowErrors(ctx context.Context, from, to time.Time, step time.Duration, f Filter) (WindowErrors, error) {
	var out WindowErrors
	groups := map[int64]*errorGroup{}
	var id int64
	err := db.each(ctx, func(rows *sql.Rows) error {
		g := new(errorGroup)
		if err := rows.Scan(&id, &g.vendor, &g.code, &g.status, &g.category, &g.retry, &g.endpoint, &g.service, &g.rng, &g.known); err != nil {
			return err
		}
		groups[id] = g
		return nil
	}, `SELECT id, vendor, code, http_status, category, retry, endpoint, `+db.col("service")+` AS s, range_name, known
		FROM error_groups WHERE (?1 = '' OR vendor = ?1) AND (?2 = '' OR s = ?2)`, f.Vendor, f.Service)
	if err != nil || len(groups) == 0 {
		return out, err
	}

	type variant struct {
		vendor, code    string
		status          int
		category, retry string
	}
	type by struct{ vendor, code, value string }
	variants := map[variant]*CodeCount{}
	endpoints := map[by]int64{}
	services := map[by]int64{}
	ranges, trend := steps(from, to, step)
	n := len(ranges)
	if trend {
		out.Trend = map[[2]string][]int64{}
	}
	// Two rows a group at most: its hour rows, summed in the order of
	// their index by group (error_counts_hours), and its minute rows,
	// read in time order and sorted. The sums below add them.
	var count, first, last int64
	err = db.eachStep(ctx, ranges, []string{"error_counts"}, func(i int, rows *sql.Rows) error {
		if err := rows.Scan(&id, &count, &first, &last); err != nil {
			return err
		}
		g := groups[id]
		if g == nil {
			return nil // filtered out
		}
		endpoints[by{g.vendor, g.code, g.endpoint}] += count
		services[by{g.vendor, g.code, g.service}] += count
		if trend {
			k := [2]string{g.vendor, g.code}
			t := out.Trend[k]
			if t == nil {
				t = make([]int64, n)
				out.Trend[k] = t
			}
			t[i] += count
		}
		k := variant{g.vendor, g.code, g.status, g.category, g.retry}
		if v := variants[k]; v != nil {
			v.Count += count
			v.FirstSeen, v.LastSeen = minTime(v.FirstSeen, fromMS(first)), maxTime(v.LastSeen, fromMS(last))
			v.Known = v.Known || g.known
			v.Range = max(v.Range, g.rng)
			return nil
		}
		variants[k] = &CodeCount{Vendor: g.vendor, Code: g.code, HTTPStatus: g.status, Range: g.rng, Category: g.category,
			Retry: g.retry, Known: g.known, Count: count, FirstSeen: fromMS(first), LastSeen: fromMS(last)}
		return nil
	}, `SELECT group_id, SUM(count), MIN(first_seen), MAX(last_seen)
		FROM TABLE WHERE bucket >= ?1 AND bucket < ?2 AND bucket % 3600000 = 0 GROUP BY group_id
		UNION ALL
		SELECT group_id, SUM(count), MIN(first_seen), MAX(last_seen)
		FROM TABLE WHERE bucket >= ?1 AND bucket < ?2 AND bucket % 3600000 != 0 GROUP BY group_id`)
	if err != nil {
		return out, err
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
