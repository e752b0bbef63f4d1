package report

import (
	"math"
	"sort"

	"github.com/apierr/apierr/storage"
)

// The sections by host, calling service and endpoint. Each is merged from
// the sources by name, so that a fleet's report equals the report of one
// database holding all its lines (hosts aside: a merged database has one).

// FailureGroup is the failures of one host or calling service (Options.By).
type FailureGroup struct {
	Key      string    `json:"key"` // the host or service
	Failures []Failure `json:"failures"`
}

// buildHosts sums each host's requests and errors: a host is a source (or
// several with the same name), most errors first.
func buildHosts(sources []Source) []HostRow {
	rows := map[string]*HostRow{}
	for _, s := range sources {
		if s.Host == "" {
			continue
		}
		h := rows[s.Host]
		if h == nil {
			h = &HostRow{Host: s.Host}
			rows[s.Host] = h
		}
		for _, v := range s.Vendors {
			h.Requests += v.Requests
			h.Errors += v.Errors
		}
	}
	out := make([]HostRow, 0, len(rows))
	for _, h := range rows {
		h.ErrorRate = errorRate(h.Errors, h.Requests)
		out = append(out, *h)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Errors != out[j].Errors {
			return out[i].Errors > out[j].Errors
		}
		return out[i].Host < out[j].Host
	})
	return out
}

// buildServices sums each calling service's requests and errors over the
// sources, most errors first; requests of no known service are left out.
func buildServices(sources []Source) []ServiceRow {
	rows := map[string]*ServiceRow{}
	for _, s := range sources {
		for _, c := range s.Services {
			if c.Service == "" {
				continue
			}
			r := rows[c.Service]
			if r == nil {
				r = &ServiceRow{Service: c.Service}
				rows[c.Service] = r
			}
			r.Requests += c.Requests
			r.Errors += c.Errors
		}
	}
	out := make([]ServiceRow, 0, len(rows))
	for _, r := range rows {
		r.ErrorRate = errorRate(r.Errors, r.Requests)
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Errors != out[j].Errors {
			return out[i].Errors > out[j].Errors
		}
		return out[i].Service < out[j].Service
	})
	return out
}

// buildEndpoints fills r.Endpoints from the sources' endpoint stats (worst
// first: most errors, then highest error rate, then slowest p95) and
// returns each vendor's latency over all its endpoints. Requests whose
// line named no path count in their vendor's latency only.
func buildEndpoints(r *Report, sources []Source) map[string]*Latency {
	type key struct{ vendor, endpoint string }
	stats := map[key]*storage.EndpointStat{}
	vendors := map[string]*storage.Histogram{}
	for _, s := range sources {
		for i := range s.EndpointStats {
			e := &s.EndpointStats[i]
			k := key{e.Vendor, e.Endpoint}
			m := stats[k]
			if m == nil {
				m = &storage.EndpointStat{Vendor: e.Vendor, Endpoint: e.Endpoint}
				stats[k] = m
			}
			m.Requests += e.Requests
			m.Errors += e.Errors
			m.Latency.Merge(&e.Latency)
			v := vendors[e.Vendor]
			if v == nil {
				v = new(storage.Histogram)
				vendors[e.Vendor] = v
			}
			v.Merge(&e.Latency)
		}
	}
	for k, m := range stats {
		if k.endpoint == "" {
			continue
		}
		r.Endpoints = append(r.Endpoints, EndpointRow{Vendor: m.Vendor, Endpoint: m.Endpoint, Requests: m.Requests,
			Errors: m.Errors, ErrorRate: errorRate(m.Errors, m.Requests), Latency: latencyOf(&m.Latency)})
	}
	sort.Slice(r.Endpoints, func(i, j int) bool {
		a, b := &r.Endpoints[i], &r.Endpoints[j]
		if a.Errors != b.Errors {
			return a.Errors > b.Errors
		}
		if a.ErrorRate != b.ErrorRate {
			return a.ErrorRate > b.ErrorRate
		}
		if pa, pb := p95(a.Latency), p95(b.Latency); pa != pb {
			return pa > pb
		}
		if a.Vendor != b.Vendor {
			return a.Vendor < b.Vendor
		}
		return a.Endpoint < b.Endpoint
	})
	out := map[string]*Latency{}
	for v, h := range vendors {
		if l := latencyOf(h); l != nil {
			out[v] = l
		}
	}
	return out
}

func p95(l *Latency) float64 {
	if l == nil {
		return -1
	}
	return l.P95
}

// latencyOf reads the percentiles of a histogram, in milliseconds rounded
// to a hundredth; nil if it holds no latency. Each is within a factor of
// √2 of the true value (the histogram's resolution).
func latencyOf(h *storage.Histogram) *Latency {
	if h.Count() == 0 {
		return nil
	}
	round := func(v float64) float64 { return math.Round(v*100) / 100 }
	return &Latency{P50: round(h.Quantile(0.50)), P95: round(h.Quantile(0.95)), P99: round(h.Quantile(0.99))}
}

func errorRate(errors, requests int64) float64 {
	if requests == 0 {
		return 0
	}
	return float64(errors) / float64(requests)
}

// hostCounts lists a failure's counts per host, most first.
func hostCounts(m map[string]int64) []HostCount {
	out := make([]HostCount, 0, len(m))
	for h, n := range m {
		out = append(out, HostCount{Host: h, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Host < out[j].Host
	})
	return out
}

// serviceCounts lists a failure's counts per service, most first.
func serviceCounts(m map[string]int64) []ServiceCount {
	out := make([]ServiceCount, 0, len(m))
	for s, n := range m {
		out = append(out, ServiceCount{Service: s, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Service < out[j].Service
	})
	return out
}

// laterTrace reports whether sample a's trace id is to be shown rather
// than b's: the latest, ties by the greater id (as storage keeps them).
func laterTrace(a, b storage.SampleCount) bool {
	if !a.TraceAt.Equal(b.TraceAt) {
		return a.TraceAt.After(b.TraceAt)
	}
	return a.TraceID > b.TraceID
}

// groupFailures splits the failures by host or service (opt.By). By host, each
// host's failures are the report of that host's sources alone: counts,
// changes and trends are the host's own. By service, each failure that
// occurs in a service is listed under it with its count there (its trend
// and previous count stay the failure's over all services; a report with
// a service filter has that service's own).
func groupFailures(window, previous Window, sources []Source, opt Options, all []Failure) []FailureGroup {
	var out []FailureGroup
	switch opt.By {
	case ByHost:
		byHost := map[string][]Source{}
		var names []string
		for _, s := range sources {
			if s.Host == "" {
				continue
			}
			if byHost[s.Host] == nil {
				names = append(names, s.Host)
			}
			byHost[s.Host] = append(byHost[s.Host], s)
		}
		sort.Strings(names)
		sub := opt
		sub.By = ""
		for _, h := range names {
			r := Build(window, previous, byHost[h], sub)
			out = append(out, FailureGroup{Key: h, Failures: r.Failures})
		}
	case ByService:
		bySvc := map[string][]Failure{}
		var names []string
		for _, f := range all {
			for _, s := range f.Services {
				if bySvc[s.Service] == nil {
					names = append(names, s.Service)
				}
				g := f
				g.Count, g.Services = s.Count, []ServiceCount{s}
				bySvc[s.Service] = append(bySvc[s.Service], g)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			fs := bySvc[name]
			sort.SliceStable(fs, func(i, j int) bool { return fs[i].Count > fs[j].Count })
			out = append(out, FailureGroup{Key: name, Failures: cut(fs, opt.Top)})
		}
	}
	return out
}
