package report

import (
	"context"
	"time"

	"github.com/apierr/apierr/storage"
)

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
