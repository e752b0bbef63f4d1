package report

import (
	"context"
	"github.com/apierr/apierr/classify"
	"time"

	"github.com/apierr/apierr/storage"
)

// This file builds reports the one way that `apierr report`, the daemon's
// periodic summaries and the live page share: the window before, the trend
// step, the advice, and the rows read from a database. ReadSource is the
// package's only reader, and it reads through storage's queries.

// PreviousOf returns the window of the same length just before w: the one
// a report compares with.
func PreviousOf(w Window) Window {
	return Window{From: w.From.Add(-w.To.Sub(w.From)), To: w.From}
}

// TrendStep splits a window into about 24 steps of whole minutes.
func TrendStep(w Window) time.Duration {
	return max(time.Minute, (w.To.Sub(w.From) / 24).Truncate(time.Minute))
}

// NewOptions returns the options every report is built with: at most top
// groups per section, only category (if not empty), and advice from the
// catalog's reasons.
func NewOptions(cat *classify.Catalog, w Window, top int, category string) Options {
	return Options{
		Top:       top,
		Category:  category,
		TrendStep: TrendStep(w),
		Advice: func(vendor, code, category, retry string) string {
			why := cat.Why(vendor, code, classify.Category(category), classify.Retry(retry))
			switch classify.Retry(retry) {
			case classify.RetryBackoff:
				return "back off and retry: " + why
			case classify.RetryAfter:
				return "wait, then retry: " + why
			}
			return "do not retry: " + why
		},
		Doc: cat.Doc,
	}
}

// Query says what a report reads from each database.
type Query struct {
	Window, Previous Window
	Step             time.Duration // the trend step (Options.TrendStep)
	Vendor           string        // only this vendor ("" for all)
	Service          string        // only this calling service ("" for all)
}

// ReadSource reads one database's rows for a report: the window's, the
// previous window's, and the all-time first sightings. It reads through
// storage's queries only, so that a report over several databases and one
// over a database merging them read the same rows.
//
// With a service filter the endpoints and latency are left out: they are
// kept per (vendor, endpoint), not per service, to bound their rows.
func ReadSource(ctx context.Context, db *storage.DB, q Query) (Source, error) {
	s := Source{Host: db.Host}
	f := storage.Filter{Vendor: q.Vendor, Service: q.Service}
	from, to := q.Window.From, q.Window.To
	reqs, err := db.WindowRequests(ctx, from, to, q.Step, f)
	if err != nil {
		return s, err
	}
	s.Vendors, s.Services, s.Trend = reqs.Vendors, reqs.Services, reqs.Trend
	errs, err := db.WindowErrors(ctx, from, to, q.Step, f)
	if err != nil {
		return s, err
	}
	s.Codes, s.Endpoints, s.CodeServices, s.GroupTrend = errs.Codes, errs.Endpoints, errs.Services, errs.Trend
	if s.PrevCodes, err = db.CodesIn(ctx, q.Previous.From, q.Previous.To, f); err != nil {
		return s, err
	}
	if s.Samples, err = db.Samples(ctx, q.Vendor); err != nil {
		return s, err
	}
	if s.Malformed, err = db.Malformed(ctx, from, to); err != nil {
		return s, err
	}
	if s.Skipped, err = db.Skipped(ctx, from, to); err != nil {
		return s, err
	}
	if q.Service == "" {
		if s.EndpointStats, err = db.Endpoints(ctx, from, to, q.Vendor); err != nil {
			return s, err
		}
	}
	if s.FirstSeen, err = db.FirstSeenEver(ctx, f); err != nil {
		return s, err
	}
	return s, nil
}

// Read builds the report of window from one database: what `apierr
// report` prints for one --db and what the daemon's summaries write.
func Read(ctx context.Context, db *storage.DB, cat *classify.Catalog, window Window, top int) (*Report, error) {
	src, err := ReadSource(ctx, db, Query{Window: window, Previous: PreviousOf(window), Step: TrendStep(window)})
	if err != nil {
		return nil, err
	}
	return Build(window, PreviousOf(window), []Source{src}, NewOptions(cat, window, top, "")), nil
}
