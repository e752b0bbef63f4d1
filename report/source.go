package report

import (
	"context"
	"time"

	"github.com/apierr/apierr/classify"
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
	}
}

// ReadSource reads one database's rows for window and the one before it,
// only vendor's when vendor is not empty.
func ReadSource(ctx context.Context, db *storage.DB, window Window, vendor string) (Source, error) {
	var s Source
	prev := PreviousOf(window)
	var err error
	if s.Vendors, err = db.Vendors(ctx, window.From, window.To); err != nil {
		return s, err
	}
	if s.Codes, s.Endpoints, err = db.Errors(ctx, window.From, window.To, vendor); err != nil {
		return s, err
	}
	if s.PrevCodes, err = db.Codes(ctx, prev.From, prev.To, vendor); err != nil {
		return s, err
	}
	if s.Samples, err = db.Samples(ctx, vendor); err != nil {
		return s, err
	}
	if s.Malformed, err = db.Malformed(ctx, window.From, window.To); err != nil {
		return s, err
	}
	if s.Trend, err = db.ErrorSeries(ctx, window.From, window.To, TrendStep(window)); err != nil {
		return s, err
	}
	if s.GroupTrend, err = db.GroupSeries(ctx, window.From, window.To, TrendStep(window)); err != nil {
		return s, err
	}
	if s.FirstSeen, err = db.FirstSeen(ctx); err != nil {
		return s, err
	}
	if vendor != "" {
		kept := s.Vendors[:0]
		for _, v := range s.Vendors {
			if v.Vendor == vendor {
				kept = append(kept, v)
			}
		}
		s.Vendors = kept
	}
	return s, nil
}

// Read builds the report of window from one database: what `apierr
// report` prints for one --db and what the daemon's summaries write.
func Read(ctx context.Context, db *storage.DB, cat *classify.Catalog, window Window, top int) (*Report, error) {
	src, err := ReadSource(ctx, db, window, "")
	if err != nil {
		return nil, err
	}
	return Build(window, PreviousOf(window), []Source{src}, NewOptions(cat, window, top, "")), nil
}
