package fleet

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

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

// Fleet is what a read found: the report's rows, as report.Build takes
// them from databases, and what Build cannot take from a report.Source
// (latency, where the numbers come from); Apply puts those into a built
// report.
type Fleet struct {
	// Sources are one per host (its Host set: apierr_build_info's host
	// label, else the scrape's instance), with the host's vendors, codes,
	// previous window's codes, malformed and skipped lines, and services
	// when the counters carry a service label; then, last, one without a
	// host with the trend, which the engine sums per (vendor, code) over
	// the hosts. So a report built from them has the hosts, each
	// failure's hosts and the failures per host (Options.By) of a report
	// over the hosts' databases. A host's own trend is not read.
	Sources []report.Source
	// Latency is each vendor's p50/p95/p99 from the duration histogram.
	Latency map[string]*report.Latency
	// Restarted and Stopped name the hosts whose daemon restarted, or
	// stopped reporting, inside the window (their segments were summed).
	Restarted, Stopped []string
	// Services says whether a counter carried a service label: without
	// one, the sources have no services.
	Services bool
	URL      string
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
	// The engines keep milliseconds: the window's edges are taken there.
	win = report.Window{From: win.From.Truncate(time.Millisecond), To: win.To.Truncate(time.Millisecond)}
	previous = report.Window{From: previous.From.Truncate(time.Millisecond), To: previous.To.Truncate(time.Millisecond)}
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
	// The window, the previous window and the trend are read at once;
	// the trend once the window has told which instances are read one
	// by one.
	var cur, prev *window
	var trend map[[2]string][]int64
	var curErr, prevErr, trendErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		cur, curErr = p.delta(ctx, win.From, win.To, func(w *window) {
			if step > 0 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					trend, trendErr = p.trend(ctx, win, step, w, keep)
				}()
			}
		})
	}()
	go func() {
		defer wg.Done()
		if previous.From.Before(previous.To) {
			prev, prevErr = p.delta(ctx, previous.From, previous.To, nil)
		}
	}()
	wg.Wait()
	if err := firstErr(curErr, prevErr, trendErr); err != nil {
		return nil, err
	}

	fl := &Fleet{URL: p.URL, Latency: map[string]*report.Latency{}}
	hosts := map[string]*hostRows{}
	host := func(w *window, m model.Metric) *hostRows {
		name := w.hosts[instanceOf(m)]
		if name == "" {
			name = string(m["instance"])
		}
		h := hosts[name]
		if h == nil {
			h = newHostRows(name)
			hosts[name] = h
		}
		return h
	}
	buckets := map[string]map[float64]float64{} // vendor -> le -> count
	for _, pt := range cur.deltas {
		if pt.m[model.MetricNameLabel] == bucketMetric {
			le, err := strconv.ParseFloat(string(pt.m["le"]), 64)
			if err != nil || !keep(pt.m) {
				continue
			}
			vb := buckets[string(pt.m["vendor"])]
			if vb == nil {
				vb = map[float64]float64{}
				buckets[string(pt.m["vendor"])] = vb
			}
			vb[le] += math.Round(pt.v)
			continue
		}
		if pt.m["instance"] == "" {
			continue
		}
		h := host(cur, pt.m)
		if pt.m["service"] != "" {
			fl.Services = true
		}
		h.add(pt, keep)
	}
	if prev != nil {
		for _, pt := range prev.deltas {
			if pt.m[model.MetricNameLabel] == errorsMetric && pt.m["instance"] != "" && keep(pt.m) {
				host(prev, pt.m).addPrevious(pt)
			}
		}
	}
	for _, h := range hosts {
		fl.Sources = append(fl.Sources, h.source(describe))
	}
	sort.Slice(fl.Sources, func(i, j int) bool { return fl.Sources[i].Host < fl.Sources[j].Host })
	if step > 0 {
		all := report.Source{GroupTrend: trend, Trend: map[string][]int64{}}
		for k, s := range trend {
			all.Trend[k[0]] = report.AddSeries(all.Trend[k[0]], s)
		}
		fl.Sources = append(fl.Sources, all)
	}
	for v, b := range buckets {
		if l := latency(b); l != nil {
			fl.Latency[v] = l
		}
	}
	for _, in := range cur.restarted {
		fl.Restarted = appendOnce(fl.Restarted, nameOf(cur, in))
	}
	for _, in := range cur.stopped {
		fl.Stopped = appendOnce(fl.Stopped, nameOf(cur, in))
	}
	return fl, nil
}

// hostRows sums one host's counter increases into a report.Source's rows.
type hostRows struct {
	name      string
	vendors   map[string]*storage.VendorCount
	codes     map[variant]int64
	prev      map[variant]int64
	services  map[string]*storage.ServiceCount
	perCode   map[[3]string]int64 // (vendor, code, service)
	malformed map[string]int64
	skipped   map[string]int64
}

// variant is a code's row: its labels but the host's.
type variant struct{ vendor, code, category, retry string }

func variantOf(m model.Metric) variant {
	return variant{string(m["vendor"]), string(m["code"]), string(m["category"]), string(m["retry"])}
}

func newHostRows(name string) *hostRows {
	return &hostRows{name: name, vendors: map[string]*storage.VendorCount{}, codes: map[variant]int64{}, prev: map[variant]int64{},
		services: map[string]*storage.ServiceCount{}, perCode: map[[3]string]int64{}, malformed: map[string]int64{}, skipped: map[string]int64{}}
}

// add counts one series' increase. Malformed and skipped lines are not
// per vendor: keep does not apply to them.
func (h *hostRows) add(pt *point, keep func(model.Metric) bool) {
	n := count(pt.v)
	name := pt.m[model.MetricNameLabel]
	switch {
	case name == malformedMetric:
		h.malformed[string(pt.m["reason"])] += n
		return
	case name == skippedMetric:
		h.skipped[string(pt.m["reason"])] += n
		return
	case name != requestsMetric && name != errorsMetric || !keep(pt.m):
		return
	}
	v := h.vendors[string(pt.m["vendor"])]
	if v == nil {
		v = &storage.VendorCount{Vendor: string(pt.m["vendor"])}
		h.vendors[v.Vendor] = v
	}
	var svc *storage.ServiceCount
	if s := string(pt.m["service"]); s != "" {
		if svc = h.services[s]; svc == nil {
			svc = &storage.ServiceCount{Service: s}
			h.services[s] = svc
		}
	}
	if name == requestsMetric {
		v.Requests += n
		if svc != nil {
			svc.Requests += n
		}
		return
	}
	v.Errors += n
	if r := pt.m["retry"]; r != "no" && r != "" {
		v.Retryable += n
	}
	h.codes[variantOf(pt.m)] += n
	if svc != nil {
		svc.Errors += n
		h.perCode[[3]string{v.Vendor, string(pt.m["code"]), svc.Service}] += n
	}
}

// addPrevious counts one error series' increase in the previous window.
func (h *hostRows) addPrevious(pt *point) { h.prev[variantOf(pt.m)] += count(pt.v) }

// source returns the host's rows, with what the catalog knows of its
// codes: their status, range and message.
func (h *hostRows) source(describe func(vendor, code string) (Entry, bool)) report.Source {
	s := report.Source{Host: h.name}
	for _, v := range h.vendors {
		s.Vendors = append(s.Vendors, *v)
	}
	sort.Slice(s.Vendors, func(i, j int) bool { return s.Vendors[i].Vendor < s.Vendors[j].Vendor })
	s.Codes = codeCounts(h.codes, describe)
	s.PrevCodes = codeCounts(h.prev, describe)
	if describe != nil {
		for _, c := range s.Codes {
			if e, ok := describe(c.Vendor, c.Code); ok && e.Message != "" {
				s.Samples = append(s.Samples, storage.SampleCount{Vendor: c.Vendor, Code: c.Code, Message: e.Message, Count: c.Count})
			}
		}
	}
	for _, svc := range h.services {
		s.Services = append(s.Services, *svc)
	}
	sort.Slice(s.Services, func(i, j int) bool { return s.Services[i].Service < s.Services[j].Service })
	for k, n := range h.perCode {
		if n > 0 {
			s.CodeServices = append(s.CodeServices, storage.CodeServiceCount{Vendor: k[0], Code: k[1], Service: k[2], Count: n})
		}
	}
	sort.Slice(s.CodeServices, func(i, j int) bool {
		a, b := s.CodeServices[i], s.CodeServices[j]
		return a.Vendor+"\x00"+a.Code+"\x00"+a.Service < b.Vendor+"\x00"+b.Code+"\x00"+b.Service
	})
	s.Malformed = reasons(h.malformed)
	s.Skipped = reasons(h.skipped)
	return s
}

// codeCounts lists the codes that occurred, most first, with what the
// catalog knows of them.
func codeCounts(byVariant map[variant]int64, describe func(vendor, code string) (Entry, bool)) []storage.CodeCount {
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

// reasons lists the reasons that occurred, most first.
func reasons(m map[string]int64) []storage.ReasonCount {
	out := make([]storage.ReasonCount, 0, len(m))
	for r, n := range m {
		if n > 0 {
			out = append(out, storage.ReasonCount{Reason: r, Count: n})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Reason < out[j].Reason
	})
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
	rangeQuery := func(q string) (model.Matrix, error) {
		t0 := time.Now()
		a, err := p.query(ctx, "query_range", url.Values{"query": {q}, "start": {formatTime(win.From)},
			"end": {formatTime(win.From.Add(time.Duration(n) * step))}, "step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}})
		p.trace(q+" (range)", t0)
		if err != nil {
			return nil, p.describe(ctx, q, err)
		}
		if a.resultType != "matrix" {
			return nil, fmt.Errorf("prometheus %s: query %s: got a %s, want a range vector", p.URL, q, a.resultType)
		}
		return a.matrix(), nil
	}
	m, err := rangeQuery(fmt.Sprintf("sum by (vendor, code) (%s)", p.sel(errorsMetric, w.not...)))
	if err != nil {
		return nil, err
	}
	matrices := []model.Matrix{m}
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

// Apply puts into a report built from f.Sources what a report.Source
// cannot carry: vendors' latency and where the numbers come from.
func (f *Fleet) Apply(r *report.Report) {
	for i := range r.Vendors {
		if l := f.Latency[r.Vendors[i].Vendor]; l != nil {
			r.Vendors[i].Latency = l
		}
	}
	r.Source = &report.SourceInfo{Kind: "prometheus", URLs: []string{f.URL}}
}
