package fleet

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/apierr/apierr/report"
	"github.com/apierr/apierr/storage"
)

// Entry is what a catalog knows of a (vendor, code): what metrics cannot
// carry.
type Entry struct {
	Message    string
	HTTPStatus int
	Range      string
}

// Filter narrows a read.
type Filter struct {
	Vendor string // only this vendor (case-insensitive); malformed and skipped lines are not per vendor
}

// Fleet is what a read found: the rows of the whole fleet, merged, for
// report.Build, and what Build cannot take from a report.Source (hosts,
// latency, skipped lines, where the numbers come from); Apply puts those
// into a built report.
type Fleet struct {
	Source report.Source
	// Hosts is one row per host (apierr_build_info's host label, else the
	// scrape's instance), most errors first.
	Hosts []report.HostRow
	// FailureHosts is, per (vendor, code), the hosts it occurred on, most first.
	FailureHosts map[[2]string][]report.HostCount
	// Latency is each vendor's p50/p95/p99 from the duration histogram.
	Latency map[string]*report.Latency
	Skipped []report.ReasonCount
	// Restarted and Stopped name the hosts whose daemon restarted, or
	// stopped reporting, inside the window (their segments were summed).
	Restarted, Stopped []string
	URL                string

	// PerHost is each host's own rows (vendors, codes, malformed lines),
	// for a report.Build that takes one source per host and names it;
	// what is not per host (previous window, trends, messages) is in
	// Source only.
	PerHost []HostSource
}

// HostSource is one host's rows.
type HostSource struct {
	Host   string
	Source report.Source
}

// points lists a window's values.
func points(vs values) []*point {
	out := make([]*point, 0, len(vs))
	for _, p := range vs {
		out = append(out, p)
	}
	return out
}

// Read reads the fleet's rows for window, and the failures of previous
// (for change), with a trend of errors per step. Describe, if set, gives
// what the catalog knows of a code; without it codes are not known.
func (p *Prometheus) Read(ctx context.Context, win, previous report.Window, step time.Duration, f Filter,
	describe func(vendor, code string) (Entry, bool)) (*Fleet, error) {
	if p.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.Timeout)
		defer cancel()
	}
	if !win.From.Before(win.To) {
		return nil, fmt.Errorf("prometheus: empty window %s to %s", win.From.Format(time.RFC3339), win.To.Format(time.RFC3339))
	}
	keep := func(m model.Metric) bool {
		return f.Vendor == "" || strings.EqualFold(string(m["vendor"]), f.Vendor)
	}
	ctx = withMemo(ctx)
	if _, err := p.client(); err != nil { // built once, before the goroutines share it
		return nil, err
	}
	// The window and the previous window are read at once, the trend
	// after the window (it sums what the window read at once).
	var cur, prev *window
	var trend map[[2]string][]int64
	var curErr, prevErr, trendErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if cur, curErr = p.delta(ctx, win.From, win.To); curErr == nil && step > 0 {
			trend, trendErr = p.trend(ctx, win, step, cur, keep)
		}
	}()
	go func() {
		defer wg.Done()
		if previous.From.Before(previous.To) {
			prev, prevErr = p.delta(ctx, previous.From, previous.To)
		}
	}()
	wg.Wait()
	if err := firstErr(curErr, prevErr, trendErr); err != nil {
		return nil, err
	}
	hostOf := func(w *window, m model.Metric) string {
		if h := w.hosts[instanceOf(m)]; h != "" {
			return h
		}
		return string(m["instance"])
	}
	codeCounts := func(points []*point) []storage.CodeCount {
		type variant struct{ vendor, code, category, retry string }
		byVariant := map[variant]int64{}
		for _, pt := range points {
			if pt.m[model.MetricNameLabel] != errorsMetric || !keep(pt.m) {
				continue
			}
			byVariant[variant{string(pt.m["vendor"]), string(pt.m["code"]), string(pt.m["category"]), string(pt.m["retry"])}] += count(pt.v)
		}
		out := make([]storage.CodeCount, 0, len(byVariant))
		for v, n := range byVariant {
			if n == 0 {
				continue
			}
			c := storage.CodeCount{Vendor: v.vendor, Code: v.code, Category: v.category, Retry: v.retry, Count: n}
			if describe != nil {
				if e, ok := describe(v.vendor, v.code); ok {
					c.Known, c.HTTPStatus, c.Range = true, e.HTTPStatus, e.Range
				}
			}
			if c.HTTPStatus == 0 && strings.HasPrefix(c.Code, "http_") {
				c.HTTPStatus, _ = strconv.Atoi(strings.TrimPrefix(c.Code, "http_"))
			}
			out = append(out, c)
		}
		sort.Slice(out, func(i, j int) bool {
			a, b := out[i], out[j]
			if a.Count != b.Count {
				return a.Count > b.Count
			}
			return a.Vendor+"\x00"+a.Code+"\x00"+a.Category+a.Retry < b.Vendor+"\x00"+b.Code+"\x00"+b.Category+b.Retry
		})
		return out
	}

	fl := &Fleet{URL: p.URL, FailureHosts: map[[2]string][]report.HostCount{}, Latency: map[string]*report.Latency{}, Skipped: []report.ReasonCount{}}
	fl.Source.Codes = codeCounts(points(cur.deltas))
	if prev != nil {
		fl.Source.PrevCodes = codeCounts(points(prev.deltas))
	}
	// Each host's own rows, for a Build that takes a source per host.
	perHost := map[string][]*point{}
	for _, pt := range cur.deltas {
		if pt.m["instance"] == "" {
			continue // summed over the fleet by the engine
		}
		h := hostOf(cur, pt.m)
		perHost[h] = append(perHost[h], pt)
	}
	for h, pts := range perHost {
		hs := HostSource{Host: h}
		hs.Source.Codes = codeCounts(pts)
		vs := map[string]*storage.VendorCount{}
		mal := map[string]int64{}
		for _, pt := range pts {
			n := count(pt.v)
			switch name := pt.m[model.MetricNameLabel]; {
			case name == malformedMetric:
				mal[string(pt.m["reason"])] += n
			case (name == requestsMetric || name == errorsMetric) && keep(pt.m) && n > 0:
				v := vs[string(pt.m["vendor"])]
				if v == nil {
					v = &storage.VendorCount{Vendor: string(pt.m["vendor"])}
					vs[v.Vendor] = v
				}
				switch r := pt.m["retry"]; {
				case name == requestsMetric:
					v.Requests += n
				case r != "no" && r != "":
					v.Errors += n
					v.Retryable += n
				default:
					v.Errors += n
				}
			}
		}
		for _, v := range vs {
			hs.Source.Vendors = append(hs.Source.Vendors, *v)
		}
		sort.Slice(hs.Source.Vendors, func(i, j int) bool { return hs.Source.Vendors[i].Vendor < hs.Source.Vendors[j].Vendor })
		hs.Source.Malformed = reasons[storage.ReasonCount](mal, func(r string, n int64) storage.ReasonCount { return storage.ReasonCount{Reason: r, Count: n} })
		fl.PerHost = append(fl.PerHost, hs)
	}
	sort.Slice(fl.PerHost, func(i, j int) bool { return fl.PerHost[i].Host < fl.PerHost[j].Host })
	vendors := map[string]*storage.VendorCount{}
	vendor := func(name string) *storage.VendorCount {
		v := vendors[name]
		if v == nil {
			v = &storage.VendorCount{Vendor: name}
			vendors[name] = v
		}
		return v
	}
	hosts := map[string]*report.HostRow{}
	host := func(name string) *report.HostRow {
		h := hosts[name]
		if h == nil {
			h = &report.HostRow{Host: name}
			hosts[name] = h
		}
		return h
	}
	failureHosts := map[[2]string]map[string]int64{}
	malformed, skipped := map[string]int64{}, map[string]int64{}
	buckets := map[string]map[float64]float64{} // vendor -> le -> count
	for _, pt := range cur.deltas {
		n := count(pt.v)
		switch pt.m[model.MetricNameLabel] {
		case requestsMetric:
			if keep(pt.m) && n > 0 {
				vendor(string(pt.m["vendor"])).Requests += n
				host(hostOf(cur, pt.m)).Requests += n
			}
		case errorsMetric:
			if !keep(pt.m) || n == 0 {
				continue
			}
			v := vendor(string(pt.m["vendor"]))
			v.Errors += n
			if r := pt.m["retry"]; r != "no" && r != "" {
				v.Retryable += n
			}
			h := hostOf(cur, pt.m)
			host(h).Errors += n
			k := [2]string{string(pt.m["vendor"]), string(pt.m["code"])}
			if failureHosts[k] == nil {
				failureHosts[k] = map[string]int64{}
			}
			failureHosts[k][h] += n
		case malformedMetric:
			malformed[string(pt.m["reason"])] += n
		case skippedMetric:
			skipped[string(pt.m["reason"])] += n
		case bucketMetric:
			if !keep(pt.m) {
				continue
			}
			le, err := strconv.ParseFloat(string(pt.m["le"]), 64)
			if err != nil {
				continue
			}
			vb := buckets[string(pt.m["vendor"])]
			if vb == nil {
				vb = map[float64]float64{}
				buckets[string(pt.m["vendor"])] = vb
			}
			vb[le] += math.Round(pt.v)
		}
	}
	for _, v := range vendors {
		fl.Source.Vendors = append(fl.Source.Vendors, *v)
	}
	sort.Slice(fl.Source.Vendors, func(i, j int) bool {
		a, b := fl.Source.Vendors[i], fl.Source.Vendors[j]
		if a.Errors != b.Errors {
			return a.Errors > b.Errors
		}
		return a.Vendor < b.Vendor
	})
	for _, h := range hosts {
		if h.Requests > 0 {
			h.ErrorRate = float64(h.Errors) / float64(h.Requests)
		}
		fl.Hosts = append(fl.Hosts, *h)
	}
	sort.Slice(fl.Hosts, func(i, j int) bool {
		a, b := fl.Hosts[i], fl.Hosts[j]
		if a.Errors != b.Errors {
			return a.Errors > b.Errors
		}
		return a.Host < b.Host
	})
	for k, m := range failureHosts {
		var hc []report.HostCount
		for h, n := range m {
			hc = append(hc, report.HostCount{Host: h, Count: n})
		}
		sort.Slice(hc, func(i, j int) bool {
			if hc[i].Count != hc[j].Count {
				return hc[i].Count > hc[j].Count
			}
			return hc[i].Host < hc[j].Host
		})
		fl.FailureHosts[k] = hc
	}
	fl.Source.Malformed = reasons[storage.ReasonCount](malformed, func(r string, n int64) storage.ReasonCount { return storage.ReasonCount{Reason: r, Count: n} })
	fl.Skipped = reasons[report.ReasonCount](skipped, func(r string, n int64) report.ReasonCount { return report.ReasonCount{Reason: r, Count: n} })
	for v, b := range buckets {
		if l := latency(b); l != nil {
			fl.Latency[v] = l
		}
	}
	// What metrics cannot carry: the catalog's message for known codes.
	if describe != nil {
		for _, c := range fl.Source.Codes {
			if e, ok := describe(c.Vendor, c.Code); ok && e.Message != "" {
				fl.Source.Samples = append(fl.Source.Samples, storage.SampleCount{Vendor: c.Vendor, Code: c.Code, Message: e.Message, Count: c.Count})
			}
		}
	}
	for _, in := range cur.restarted {
		fl.Restarted = appendOnce(fl.Restarted, nameOf(cur, in))
	}
	for _, in := range cur.stopped {
		fl.Stopped = appendOnce(fl.Stopped, nameOf(cur, in))
	}
	if step > 0 {
		fl.Source.GroupTrend = trend
		fl.Source.Trend = map[string][]int64{}
		for k, s := range fl.Source.GroupTrend {
			fl.Source.Trend[k[0]] = addSeries(fl.Source.Trend[k[0]], s)
		}
	}
	return fl, nil
}

// firstErr returns the first non-nil error: one line, not a joined list.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func nameOf(w *window, in instance) string {
	if h := w.hosts[in]; h != "" {
		return h
	}
	return in.instance
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func reasons[T any](m map[string]int64, mk func(string, int64) T) []T {
	names := make([]string, 0, len(m))
	for r, n := range m {
		if n > 0 {
			names = append(names, r)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		if m[names[i]] != m[names[j]] {
			return m[names[i]] > m[names[j]]
		}
		return names[i] < names[j]
	})
	out := make([]T, 0, len(names))
	for _, r := range names {
		out = append(out, mk(r, m[r]))
	}
	return out
}

// trend reads each (vendor, code) group's errors per step, with two
// range queries of the error counters at the step boundaries. The
// instances read at once in w (nearly all) are summed per group by the
// engine, so what comes back grows with groups, not hosts: their series
// neither reset nor vanish inside the window, so the sums' steps are the
// steps' increases. The few instances w read one by one come back per
// series, their steps computed here: each series' increase since the
// boundary before, or its value when it was born or reset in the step.
// Unlike the counts, a step is not corrected for the scrapes a daemon
// missed around a restart or after its last one.
func (p *Prometheus) trend(ctx context.Context, win report.Window, step time.Duration, w *window, keep func(model.Metric) bool) (map[[2]string][]int64, error) {
	n := int((win.To.Sub(win.From) + step - 1) / step)
	if n <= 0 || n > 10000 {
		return nil, nil
	}
	a, err := p.client()
	if err != nil {
		return nil, err
	}
	r := v1.Range{Start: win.From, End: win.From.Add(time.Duration(n) * step), Step: step}
	rangeQuery := func(q string) (model.Matrix, error) {
		t0 := time.Now()
		v, _, _, err := a.QueryRange(ctx, q, r)
		p.trace(q+" (range)", t0)
		if err != nil {
			return nil, p.describe(ctx, q, err)
		}
		m, ok := v.(model.Matrix)
		if !ok {
			return nil, fmt.Errorf("prometheus %s: query %s: got a %s, want a range vector", p.URL, q, v.Type())
		}
		return m, nil
	}
	var matrices []model.Matrix
	m, err := rangeQuery(fmt.Sprintf("sum by (vendor, code) (%s)", p.sel(errorsMetric, w.not...)))
	if err != nil {
		return nil, err
	}
	matrices = append(matrices, m)
	if len(w.not) > 0 {
		only := strings.Replace(w.not[0], "instance!~", "instance=~", 1)
		if m, err = rangeQuery(p.sel(errorsMetric, only)); err != nil {
			return nil, err
		}
		matrices = append(matrices, m)
	}
	out := map[[2]string][]int64{}
	for _, m := range matrices {
		for _, s := range m {
			if !keep(s.Metric) {
				continue
			}
			k := [2]string{string(s.Metric["vendor"]), string(s.Metric["code"])}
			series := out[k]
			if series == nil {
				series = make([]int64, n)
				out[k] = series
			}
			// Values at boundaries 0..n; a missing boundary is a series not
			// born yet (or gone): the next value counts from 0.
			last, lastI := 0.0, -1
			for _, v := range s.Values {
				i := int(math.Round(float64(v.Timestamp.Time().Sub(win.From)) / float64(step)))
				val := float64(v.Value)
				if math.IsNaN(val) || i < 0 || i > n {
					continue
				}
				if i > 0 {
					d := val
					if lastI == i-1 && last <= val {
						d = val - last
					}
					series[i-1] += count(d)
				}
				last, lastI = val, i
			}
		}
	}
	return out, nil
}

func addSeries(a, b []int64) []int64 {
	if len(a) < len(b) {
		a = append(a, make([]int64, len(b)-len(a))...)
	}
	for i, v := range b {
		a[i] += v
	}
	return a
}

// latency computes p50, p95 and p99 in milliseconds from cumulative
// histogram buckets (upper bound in seconds -> count), interpolating
// within a bucket as PromQL's histogram_quantile does.
func latency(b map[float64]float64) *report.Latency {
	les := make([]float64, 0, len(b))
	for le := range b {
		les = append(les, le)
	}
	sort.Float64s(les)
	if len(les) == 0 || !math.IsInf(les[len(les)-1], 1) || b[les[len(les)-1]] <= 0 {
		return nil
	}
	total := b[les[len(les)-1]]
	q := func(q float64) float64 {
		rank := q * total
		lower, below := 0.0, 0.0
		for _, le := range les {
			c := b[le]
			if c >= rank {
				if math.IsInf(le, 1) {
					return lower * 1000
				}
				if c == below {
					return le * 1000
				}
				return (lower + (le-lower)*(rank-below)/(c-below)) * 1000
			}
			lower, below = le, c
		}
		return lower * 1000
	}
	return &report.Latency{P50: q(0.5), P95: q(0.95), P99: q(0.99)}
}

// Apply puts into a report built from f.Source what a report.Source cannot
// carry: hosts, each failure's hosts, vendors' latency, skipped lines and
// where the numbers come from.
func (f *Fleet) Apply(r *report.Report) {
	r.Hosts = append([]report.HostRow{}, f.Hosts...)
	for i := range r.Failures {
		if hc := f.FailureHosts[[2]string{r.Failures[i].Vendor, r.Failures[i].Code}]; hc != nil {
			r.Failures[i].Hosts = hc
		}
	}
	for i := range r.Vendors {
		if l := f.Latency[r.Vendors[i].Vendor]; l != nil {
			r.Vendors[i].Latency = l
		}
	}
	r.Skipped = append([]report.ReasonCount{}, f.Skipped...)
	r.Totals.Skipped = 0
	for _, s := range f.Skipped {
		r.Totals.Skipped += s.Count
	}
	r.Source = &report.SourceInfo{Kind: "prometheus", URLs: []string{f.URL}}
}
