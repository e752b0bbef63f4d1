package report

import (
	"sort"
	"time"

	"github.com/apierr/apierr/storage"
)

// Window is a time range [From, To).
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Source is what one database holds for a report: the window's and the
// previous window's rows.
type Source struct {
	Vendors     []storage.VendorCount
	Codes       []storage.CodeCount
	PrevVendors []storage.VendorCount
	PrevCodes   []storage.CodeCount
	Malformed   []storage.ReasonCount
}

// Report is a finished report. Its JSON form is the contract of
// `apierr report --format json` (DESIGN.md): fields may be added, never
// renamed or removed.
type Report struct {
	Window    Window        `json:"window"`
	Previous  Window        `json:"previous"`
	Totals    Totals        `json:"totals"`
	Vendors   []VendorRow   `json:"vendors"`
	Failures  []Failure     `json:"failures"`
	Malformed []ReasonCount `json:"malformed_reasons"`
}

// Totals sums the window.
type Totals struct {
	Requests  int64 `json:"requests"`
	Errors    int64 `json:"errors"`
	Retryable int64 `json:"retryable"`
	Malformed int64 `json:"malformed"`
}

// VendorRow is one vendor's line of the overview.
type VendorRow struct {
	Vendor    string  `json:"vendor"`
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
	Retryable int64   `json:"retryable"`
}

// Failure is one (vendor, code) group.
type Failure struct {
	Vendor        string    `json:"vendor"`
	Code          string    `json:"code"`
	HTTPStatus    int       `json:"http_status"`
	Range         string    `json:"range"`
	Category      string    `json:"category"`
	Retry         string    `json:"retry"`
	Known         bool      `json:"known"`
	Count         int64     `json:"count"`
	PreviousCount int64     `json:"previous_count"`
	Change        string    `json:"change"`
	FirstSeen     time.Time `json:"first_seen"`
	LastSeen      time.Time `json:"last_seen"`
	Message       string    `json:"message"`
	Endpoint      string    `json:"endpoint"`
}

// ReasonCount is the number of malformed lines with one reason.
type ReasonCount struct {
	Reason string `json:"reason"`
	Count  int64  `json:"count"`
}

// Build merges the sources (one per database: a fleet) into a report with
// at most top failures (0: all).
func Build(window, previous Window, sources []Source, top int) *Report {
	r := &Report{Window: window, Previous: previous, Vendors: []VendorRow{}, Failures: []Failure{}, Malformed: []ReasonCount{}}

	vendors := map[string]*VendorRow{}
	for _, s := range sources {
		for _, v := range s.Vendors {
			row := vendors[v.Vendor]
			if row == nil {
				row = &VendorRow{Vendor: v.Vendor}
				vendors[v.Vendor] = row
			}
			row.Requests += v.Requests
			row.Errors += v.Errors
			row.Retryable += v.Retryable
		}
	}
	for _, row := range vendors {
		if row.Requests > 0 {
			row.ErrorRate = float64(row.Errors) / float64(row.Requests)
		}
		r.Totals.Requests += row.Requests
		r.Totals.Errors += row.Errors
		r.Totals.Retryable += row.Retryable
		r.Vendors = append(r.Vendors, *row)
	}
	sort.Slice(r.Vendors, func(i, j int) bool {
		a, b := r.Vendors[i], r.Vendors[j]
		if a.Errors != b.Errors {
			return a.Errors > b.Errors
		}
		return a.Vendor < b.Vendor
	})

	type key struct{ vendor, code string }
	groups := map[key]*Failure{}
	lead := map[key]int64{} // count of the source whose details a group shows
	prev := map[key]int64{}
	for _, s := range sources {
		for _, c := range s.Codes {
			k := key{c.Vendor, c.Code}
			g := groups[k]
			if g == nil {
				g = &Failure{Vendor: c.Vendor, Code: c.Code, FirstSeen: c.FirstSeen, LastSeen: c.LastSeen}
				groups[k] = g
			}
			g.Count += c.Count
			if c.FirstSeen.Before(g.FirstSeen) {
				g.FirstSeen = c.FirstSeen
			}
			if c.LastSeen.After(g.LastSeen) {
				g.LastSeen = c.LastSeen
			}
			if c.Count > lead[k] {
				lead[k] = c.Count
				g.HTTPStatus, g.Range, g.Category, g.Retry, g.Known = c.HTTPStatus, c.Range, c.Category, c.Retry, c.Known
				g.Endpoint, g.Message = c.Endpoint, c.Message
			}
		}
		for _, c := range s.PrevCodes {
			prev[key{c.Vendor, c.Code}] += c.Count
		}
		for _, m := range s.Malformed {
			r.Totals.Malformed += m.Count
			r.Malformed = mergeReason(r.Malformed, m)
		}
	}
	for k, g := range groups {
		g.PreviousCount = prev[k]
		g.Change = change(g.Count, g.PreviousCount)
		r.Failures = append(r.Failures, *g)
	}
	sort.Slice(r.Failures, func(i, j int) bool {
		a, b := r.Failures[i], r.Failures[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.Vendor != b.Vendor {
			return a.Vendor < b.Vendor
		}
		return a.Code < b.Code
	})
	if top > 0 && len(r.Failures) > top {
		r.Failures = r.Failures[:top]
	}
	sort.Slice(r.Malformed, func(i, j int) bool {
		if r.Malformed[i].Count != r.Malformed[j].Count {
			return r.Malformed[i].Count > r.Malformed[j].Count
		}
		return r.Malformed[i].Reason < r.Malformed[j].Reason
	})
	return r
}

func mergeReason(list []ReasonCount, m storage.ReasonCount) []ReasonCount {
	for i := range list {
		if list[i].Reason == m.Reason {
			list[i].Count += m.Count
			return list
		}
	}
	return append(list, ReasonCount{m.Reason, m.Count})
}

// change compares a count with the previous window's: new, up, down or
// flat (within 10%).
func change(now, before int64) string {
	switch {
	case before == 0 && now > 0:
		return "new"
	case float64(now) > float64(before)*1.1:
		return "up"
	case float64(now) < float64(before)*0.9:
		return "down"
	}
	return "flat"
}
