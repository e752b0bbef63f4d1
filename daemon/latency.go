package daemon

import (
	"sort"
	"sync"
	"time"

	"github.com/apierr/apierr/storage"
	"github.com/prometheus/client_golang/prometheus"
)

// LatencyBuckets are the upper bounds, in seconds, of
// apierr_request_duration_seconds: from a cached answer (5 ms) to a
// client's longest timeout (60 s), about 2.5× apart, so that
// histogram_quantile's linear interpolation stays within a bucket's width.
var LatencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Latencies are the call durations of a part of the log, per vendor, as
// bucket counts: a pipeline worker fills one per result, the writer merges
// them. Calls whose log gives no duration are not observed. The zero
// value is ready; it is not safe for concurrent use.
type Latencies map[string]*latencyHist

// latencyHist is one vendor's histogram: counts[i] calls took at most
// LatencyBuckets[i] (and more than the bound before it); the last count is
// the calls over 60 s.
type latencyHist struct {
	counts [14]uint64
	sum    float64 // seconds
}

// Observe counts one call to vendor that took d; d <= 0 (no duration in
// the log) is not counted.
func (l *Latencies) Observe(vendor string, d time.Duration) {
	if d <= 0 {
		return
	}
	if *l == nil {
		*l = Latencies{}
	}
	h := (*l)[vendor]
	if h == nil {
		h = new(latencyHist)
		(*l)[vendor] = h
	}
	s := d.Seconds()
	h.counts[sort.SearchFloat64s(LatencyBuckets, s)]++
	h.sum += s
}

// Reset empties l, keeping its memory for the next chunk.
func (l Latencies) Reset() {
	for v, h := range l {
		*h = latencyHist{}
		delete(l, v)
	}
}

// sameLabel keeps a vendor label as it is (see Latencies.merge).
func sameLabel(v string) string { return v }

// merge adds o's counts to l under the vendor label(s) gives them.
func (l *Latencies) merge(o Latencies, label func(string) string) {
	for v, h := range o {
		v = label(v)
		if *l == nil {
			*l = Latencies{}
		}
		t := (*l)[v]
		if t == nil {
			t = new(latencyHist)
			(*l)[v] = t
		}
		for i, n := range h.counts {
			t.counts[i] += n
		}
		t.sum += h.sum
	}
}

// latencyCollector exposes apierr_request_duration_seconds{vendor}.
// Durations join the histogram when the batch of their lines is committed,
// under the vendor label the database gave that commit's requests (a
// vendor over the cap is "other"), so the histogram's vendors are the
// requests counter's and stay bounded.
type latencyCollector struct {
	desc *prometheus.Desc

	mu        sync.Mutex
	committed Latencies
}

func newLatencyCollector() *latencyCollector {
	return &latencyCollector{desc: prometheus.NewDesc("apierr_request_duration_seconds",
		"Duration of the calls to each vendor, as the logs give it (committed; calls without a duration are not counted).",
		[]string{"vendor"}, nil)}
}

// commit adds a committed batch's durations; requests are the batch's
// committed requests by (capped) vendor.
func (c *latencyCollector) commit(lat Latencies, requests map[string]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.committed.merge(lat, func(v string) string {
		if _, ok := requests[v]; ok {
			return v
		}
		return storage.Other
	})
}

// Describe implements prometheus.Collector.
func (c *latencyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *latencyCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for v, h := range c.committed {
		buckets := make(map[float64]uint64, len(LatencyBuckets))
		var cum uint64
		for i, le := range LatencyBuckets {
			cum += h.counts[i]
			buckets[le] = cum
		}
		ch <- prometheus.MustNewConstHistogram(c.desc, cum+h.counts[len(LatencyBuckets)], h.sum, buckets, v)
	}
}
