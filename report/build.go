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
// previous window's rows, and each vendor's errors per trend step.
type Source struct {
	Vendors   []storage.VendorCount
	Codes     []storage.CodeCount
	PrevCodes []storage.CodeCount
	Endpoints []storage.EndpointCount
	Samples   []storage.SampleCount
	Malformed []storage.ReasonCount
	Skipped   []storage.ReasonCount // lines that are not requests, by reason
	Trend     map[string][]int64
	// GroupTrend is each (vendor, code) group's errors per trend step;
	// FirstSeen when each group was first seen in all stored data.
	GroupTrend map[[2]string][]int64
	FirstSeen  map[[2]string]time.Time

	// Host names the database's host (storage.DB.Host); "" leaves the
	// source out of the hosts section.
	Host string
	// Services are the requests and errors per calling service;
	// CodeServices the errors of each (vendor, code) per service.
	Services     []storage.ServiceCount
	CodeServices []storage.CodeServiceCount
	// EndpointStats are each (vendor, endpoint)'s requests, errors and
	// latency histogram: the endpoints section and vendors' latency.
	EndpointStats []storage.EndpointStat
}

// Options shape a report.
type Options struct {
	Top      int    // at most this many failure groups (0: all)
	Category string // only failures of this category
	// Advice, if set, says what to do about a failure group; it gets the
	// group's vendor, code, category and verdict.
	Advice func(vendor, code, category, retry string) string
	// TrendStep is the width of one trend value (errors per vendor over
	// the window, for the sparklines).
	TrendStep time.Duration
	// Doc, if set, gives the vendor's documentation page for a code.
	Doc func(vendor, code string, status int) string
	// By groups the failures (Report.Groups): ByHost or ByService; ""
	// and ByEndpoint (whose view is Report.Endpoints) make no groups.
	By string
}

// The values of Options.By.
const (
	ByHost     = "host"
	ByEndpoint = "endpoint"
	ByService  = "service"
)

// Report is a finished report. Its JSON form is the contract of
// `apierr report --format json` (see the README): fields may be added, never
// renamed or removed.
type Report struct {
	Window    Window        `json:"window"`
	Previous  Window        `json:"previous"`
	Totals    Totals        `json:"totals"`
	Vendors   []VendorRow   `json:"vendors"`
	Failures  []Failure     `json:"failures"`
	Malformed []ReasonCount `json:"malformed_reasons"`
	TrendStep int64         `json:"trend_step_seconds"`

	// Second round (see fields.go).
	Hosts     []HostRow     `json:"hosts"`
	Endpoints []EndpointRow `json:"endpoints"`
	Services  []ServiceRow  `json:"services"`
	Skipped   []ReasonCount `json:"skipped"`
	Source    *SourceInfo   `json:"source,omitempty"`
	Missing   []Missing     `json:"missing"`
	// By is Options.By; Groups the failures grouped by host or service.
	By     string         `json:"by,omitempty"`
	Groups []FailureGroup `json:"groups,omitempty"`
	// PreviousTotals sums the previous window's failures, for the headline.
	PreviousTotals PreviousTotals `json:"previous_totals"`
	// Generated is when the report was made; Refresh, on a live page, how
	// often the browser reloads it (0: a static page).
	Generated time.Time     `json:"-"`
	Refresh   time.Duration `json:"-"`

	// The sections of the text formats: taken from all groups, not only
	// the first Top, each cut at Top.
	retryable, unknown []Failure
	all                []Failure // every group, before the cut (the charts)
	top                int
}

// Totals sums the window.
type Totals struct {
	Requests  int64 `json:"requests"`
	Errors    int64 `json:"errors"`
	Retryable int64 `json:"retryable"`
	Malformed int64 `json:"malformed"`
	Unknown   int64 `json:"unknown"`    // errors whose code no catalog knows
	NewGroups int64 `json:"new_groups"` // failure groups absent from the previous window
	Skipped   int64 `json:"skipped"`    // lines that are not requests (by reason, never malformed)
}

// VendorRow is one vendor's line of the overview.
type VendorRow struct {
	Vendor    string   `json:"vendor"`
	Requests  int64    `json:"requests"`
	Errors    int64    `json:"errors"`
	ErrorRate float64  `json:"error_rate"`
	Retryable int64    `json:"retryable"`
	Trend     []int64  `json:"errors_trend"` // errors per trend step, oldest first
	Latency   *Latency `json:"latency_ms,omitempty"`
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
	ChangeRatio   float64   `json:"change_ratio"` // count / previous_count; 0 when new
	Advice        string    `json:"advice"`

	// Second round (see fields.go for the types).
	FirstEverSeen time.Time      `json:"first_ever_seen"` // first seen in all stored data, not only the window
	Trend         []int64        `json:"trend"`           // count per trend step of the window, oldest first
	TraceID       string         `json:"trace_id"`        // a sample request or trace id from the log
	Doc           string         `json:"doc"`             // the vendor's page for the code
	Hosts         []HostCount    `json:"hosts"`           // the hosts it occurs on, most first
	Services      []ServiceCount `json:"services"`        // the calling services it occurs in, most first
}

// ReasonCount is the number of malformed lines with one reason.
type ReasonCount struct {
	Reason string `json:"reason"`
	Count  int64  `json:"count"`
}

// Build merges the sources (one per database: a fleet) into a report.
func Build(window, previous Window, sources []Source, opt Options) *Report {
	r := &Report{Window: window, Previous: previous, Vendors: []VendorRow{}, Failures: []Failure{}, Malformed: []ReasonCount{},
		TrendStep: int64(opt.TrendStep / time.Second), top: opt.Top,
		Hosts: []HostRow{}, Endpoints: []EndpointRow{}, Services: []ServiceRow{}, Skipped: []ReasonCount{}, Missing: []Missing{}}

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
		for vendor, series := range s.Trend {
			if row := vendors[vendor]; row != nil {
				row.Trend = AddSeries(row.Trend, series)
			}
		}
	}
	latency := buildEndpoints(r, sources)
	for _, row := range vendors {
		row.Latency = latency[row.Vendor]
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

	// Groups are merged across sources by (vendor, code); a group shows its
	// most frequent variant, endpoint and message, ties broken by value,
	// so that a fleet report equals one over a merged database.
	type key struct{ vendor, code string }
	type variant struct {
		status          int
		category, retry string
	}
	groups := map[key]*Failure{}
	variants := map[key]map[variant]int64{}
	endpoints := map[key]map[string]int64{}
	messages := map[key]map[string]int64{}
	prev := map[key]int64{}
	hosts := map[key]map[string]int64{}
	services := map[key]map[string]int64{}
	traces := map[key]storage.SampleCount{}
	trends := map[key][]int64{}
	firstEver := map[key]time.Time{}
	add := func(m map[key]map[string]int64, k key, s string, n int64) {
		if m[k] == nil {
			m[k] = map[string]int64{}
		}
		m[k][s] += n
	}
	for _, s := range sources {
		for _, c := range s.Codes {
			k := key{c.Vendor, c.Code}
			g := groups[k]
			if g == nil {
				g = &Failure{Vendor: c.Vendor, Code: c.Code, FirstSeen: c.FirstSeen, LastSeen: c.LastSeen, Range: c.Range, Known: c.Known}
				groups[k] = g
				variants[k] = map[variant]int64{}
			}
			g.Count += c.Count
			if c.FirstSeen.Before(g.FirstSeen) {
				g.FirstSeen = c.FirstSeen
			}
			if c.LastSeen.After(g.LastSeen) {
				g.LastSeen = c.LastSeen
			}
			g.Range, g.Known = max(g.Range, c.Range), g.Known || c.Known
			variants[k][variant{c.HTTPStatus, c.Category, c.Retry}] += c.Count
			if s.Host != "" {
				add(hosts, k, s.Host, c.Count)
			}
		}
		for _, c := range s.CodeServices {
			if c.Service != "" {
				add(services, key{c.Vendor, c.Code}, c.Service, c.Count)
			}
		}
		for _, e := range s.Endpoints {
			add(endpoints, key{e.Vendor, e.Code}, e.Endpoint, e.Count)
		}
		for _, m := range s.Samples {
			k := key{m.Vendor, m.Code}
			if m.Message != "" {
				add(messages, k, m.Message, m.Count)
			}
			if t, ok := traces[k]; m.TraceID != "" && (!ok || laterTrace(m, t)) {
				traces[k] = m
			}
		}
		for k, series := range s.GroupTrend {
			trends[key{k[0], k[1]}] = AddSeries(trends[key{k[0], k[1]}], series)
		}
		for k, t := range s.FirstSeen {
			kk := key{k[0], k[1]}
			if f, ok := firstEver[kk]; !ok || t.Before(f) {
				firstEver[kk] = t
			}
		}
		for _, c := range s.PrevCodes {
			prev[key{c.Vendor, c.Code}] += c.Count
			if opt.Category == "" || c.Category == opt.Category {
				r.PreviousTotals.Errors += c.Count
				if c.Retry != "no" && c.Retry != "" {
					r.PreviousTotals.Retryable += c.Count
				}
				if !c.Known {
					r.PreviousTotals.Unknown += c.Count
				}
			}
		}
		for _, m := range s.Malformed {
			r.Totals.Malformed += m.Count
			r.Malformed = mergeReason(r.Malformed, m)
		}
		for _, m := range s.Skipped {
			r.Totals.Skipped += m.Count
			r.Skipped = mergeReason(r.Skipped, m)
		}
	}
	for k, g := range groups {
		var best variant
		var bestN int64 = -1
		for v, n := range variants[k] {
			if n > bestN || n == bestN && (v.status < best.status || v.status == best.status && v.category+v.retry < best.category+best.retry) {
				best, bestN = v, n
			}
		}
		g.HTTPStatus, g.Category, g.Retry = best.status, best.category, best.retry
		g.Endpoint, g.Message = mostFrequent(endpoints[k]), mostFrequent(messages[k])
	}
	for k, g := range groups {
		if opt.Category != "" && g.Category != opt.Category {
			continue
		}
		g.PreviousCount = prev[k]
		g.Change = change(g.Count, g.PreviousCount)
		if g.PreviousCount > 0 {
			g.ChangeRatio = float64(g.Count) / float64(g.PreviousCount)
		}
		if opt.Advice != nil {
			g.Advice = opt.Advice(g.Vendor, g.Code, g.Category, g.Retry)
		}
		g.Hosts = hostCounts(hosts[k])
		g.Services = serviceCounts(services[k])
		g.TraceID = traces[k].TraceID
		g.Trend = trends[k]
		g.FirstEverSeen = g.FirstSeen
		if t, ok := firstEver[k]; ok && t.Before(g.FirstEverSeen) {
			g.FirstEverSeen = t
		}
		if opt.Doc != nil {
			g.Doc = opt.Doc(g.Vendor, g.Code, g.HTTPStatus)
		}
		if g.Trend == nil {
			g.Trend = []int64{}
		}
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
	for _, f := range r.Failures {
		if f.Retry != "no" && f.Retry != "" {
			r.retryable = append(r.retryable, f)
		}
		if !f.Known {
			r.unknown = append(r.unknown, f)
			r.Totals.Unknown += f.Count
		}
		if f.Change == "new" {
			r.Totals.NewGroups++
		}
	}
	r.all = r.Failures
	r.Hosts, r.Services = buildHosts(sources), buildServices(sources)
	r.By, r.Groups = opt.By, groupFailures(window, previous, sources, opt, r.all)
	r.retryable, r.unknown = cut(r.retryable, opt.Top), cut(r.unknown, opt.Top)
	r.Failures = cut(r.Failures, opt.Top)
	for _, reasons := range [][]ReasonCount{r.Malformed, r.Skipped} {
		sort.Slice(reasons, func(i, j int) bool {
			if reasons[i].Count != reasons[j].Count {
				return reasons[i].Count > reasons[j].Count
			}
			return reasons[i].Reason < reasons[j].Reason
		})
	}
	return r
}

// mostFrequent returns the key with the highest count, the least key on ties.
func mostFrequent(m map[string]int64) string {
	best, bestN := "", int64(-1)
	for s, n := range m {
		if n > bestN || n == bestN && s < best {
			best, bestN = s, n
		}
	}
	return best
}

func cut[T any](f []T, top int) []T {
	if top > 0 && len(f) > top {
		return f[:top]
	}
	return f
}

// AddSeries adds trend series b to a, bucket by bucket, growing a to b's
// length, and returns a.
func AddSeries(a, b []int64) []int64 {
	if len(a) < len(b) {
		a = append(a, make([]int64, len(b)-len(a))...)
	}
	for i, v := range b {
		a[i] += v
	}
	return a
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
