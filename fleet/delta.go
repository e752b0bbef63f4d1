package fleet

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
)

// The counters a report is made of, as the daemon exposes them.
const (
	requestsMetric  = "apierr_requests_total"
	errorsMetric    = "apierr_errors_total"
	malformedMetric = "apierr_malformed_lines_total"
	skippedMetric   = "apierr_skipped_lines_total"
	bucketMetric    = "apierr_request_duration_seconds_bucket"
	buildInfoMetric = "apierr_build_info"
	startTimeMetric = "process_start_time_seconds"
)

// counterMetrics are the counters read; the buckets last (counters sums them).
var counterMetrics = []string{requestsMetric, errorsMetric, malformedMetric, skippedMetric, bucketMetric}

// point is one series (name and labels) and a value.
type point struct {
	m model.Metric
	v float64
}

// values are series by their name and labels.
type values map[model.Fingerprint]*point

func (vs values) add(m model.Metric, v float64) {
	k := m.Fingerprint()
	if p := vs[k]; p != nil {
		p.v += v
		return
	}
	vs[k] = &point{m: m, v: v}
}

// instance is one scrape target: (job, instance).
type instance struct{ job, instance string }

func instanceOf(m model.Metric) instance {
	return instance{string(m["job"]), string(m["instance"])}
}

// window is what one delta read found: each counter series' increase,
// the host each instance names, and the instances read exactly.
type window struct {
	deltas    values
	hosts     map[instance]string
	restarted []instance
	stopped   []instance
	// not excludes the instances read exactly from a selector (a
	// matcher, or none).
	not []string
}

// resolution is the subqueries' step for a window: a 250th of it, in
// whole seconds between 1s and 5m, so that a subquery costs about 250
// points per series whatever the window.
func (p *Prometheus) resolution(w time.Duration) time.Duration {
	if p.Resolution > 0 {
		return p.Resolution
	}
	return min(max(time.Second, (w/250).Truncate(time.Second)), 5*time.Minute)
}

// sel is a selector of metric name with the reader's matchers and more.
func (p *Prometheus) sel(name string, more ...string) string {
	var ms []string
	if p.Match != "" {
		ms = append(ms, p.Match)
	}
	ms = append(ms, more...)
	if len(ms) == 0 {
		return name
	}
	return name + "{" + strings.Join(ms, ",") + "}"
}

// dur formats a duration for PromQL: whole seconds, else milliseconds.
func dur(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(int64((d+time.Millisecond-1)/time.Millisecond), 10) + "ms"
}

// memo keeps a Read's instant queries: the window's start is the
// previous window's end, and both ask for the counters there.
type memo struct {
	mu sync.Mutex
	m  map[string]*memoEntry
}

type memoEntry struct {
	once sync.Once
	vec  model.Vector
	err  error
}

type memoKey struct{}

// withMemo returns ctx with a memo for instantAt.
func withMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, memoKey{}, &memo{m: map[string]*memoEntry{}})
}

// instantAt runs an instant query at t and returns its vector, once per
// Read for each query and time.
func (p *Prometheus) instantAt(ctx context.Context, q string, t time.Time) (model.Vector, error) {
	mm, _ := ctx.Value(memoKey{}).(*memo)
	if mm == nil {
		return p.instantQuery(ctx, q, t)
	}
	k := strconv.FormatInt(t.UnixNano(), 10) + " " + q
	mm.mu.Lock()
	e := mm.m[k]
	if e == nil {
		e = &memoEntry{}
		mm.m[k] = e
	}
	mm.mu.Unlock()
	e.once.Do(func() { e.vec, e.err = p.instantQuery(ctx, q, t) })
	return e.vec, e.err
}

func (p *Prometheus) instantQuery(ctx context.Context, q string, t time.Time) (model.Vector, error) {
	defer p.trace(q, time.Now())
	a, err := p.query(ctx, "query", url.Values{"query": {q}, "time": {formatTime(t)}})
	if err != nil {
		return nil, p.describe(ctx, q, err)
	}
	switch a.resultType {
	case "vector":
		return a.vector(), nil
	case "scalar", "string", "":
		return nil, nil
	}
	return nil, fmt.Errorf("prometheus %s: query %s: got a %s, want an instant vector", p.URL, q, a.resultType)
}

// rawAt runs an instant query of a range selector at t: the raw samples.
func (p *Prometheus) rawAt(ctx context.Context, q string, t time.Time) (model.Matrix, error) {
	defer p.trace(q, time.Now())
	a, err := p.query(ctx, "query", url.Values{"query": {q}, "time": {formatTime(t)}})
	if err != nil {
		return nil, p.describe(ctx, q, err)
	}
	if a.resultType != "matrix" {
		return nil, fmt.Errorf("prometheus %s: query %s: got a %s, want a range vector", p.URL, q, a.resultType)
	}
	return a.matrix(), nil
}

// delta reads every counter's exact increase over [from, to].
//
// A counter's value at a time is its last sample at or before it. The
// increase is the value at to minus the value at from, 0 for a series
// born inside the window. The daemons' counters resume from their
// database's lifetime totals, so a restart is continuity, not a reset.
// Instances whose process restarted inside the window, that stopped
// reporting before to, or that were not scraped at from (unless new: a
// process started inside the window, never scraped before), are read
// exactly one by one (see exact); the rest, nearly all of a fleet on
// most windows, take instant queries for the whole fleet whatever its
// size, with the latency histogram summed by the engine.
func (p *Prometheus) delta(ctx context.Context, from, to time.Time, ready func(*window)) (*window, error) {
	w := to.Sub(from)
	r := p.resolution(w)
	look := 60 * r // how far before from a last value still counts as the start
	span := dur(w + look)
	res := &window{deltas: values{}, hosts: map[instance]string{}}

	// Four questions at once: the hosts (every instance with a sample
	// over the window and the lookback, named by apierr_build_info's host
	// label: an instance however short-lived is there; not the series
	// API, which VictoriaMetrics answers for whole days), the instances
	// up at from and at to, and the
	// restarts (the process start time changed within the span: max -
	// min, not changes(), as MetricsQL's changes() also counts the step
	// from before the range; the value at to itself is compared too, for
	// a process younger than the last step).
	var infos model.Vector
	var liveFrom, liveTo map[instance]bool
	var changed model.Vector
	var errs [4]error
	liveAt := func(t time.Time) (map[instance]bool, error) {
		vec, err := p.instantAt(ctx, p.sel(buildInfoMetric), t)
		live := map[instance]bool{}
		for _, s := range vec {
			live[instanceOf(s.Metric)] = true
		}
		return live, err
	}
	st := fmt.Sprintf("%s[%s:%s]", p.sel(startTimeMetric), span, dur(r))
	parallel(
		func() {
			infos, errs[0] = p.instantAt(ctx, fmt.Sprintf("last_over_time(%s[%s])", p.sel(buildInfoMetric), span), to)
		},
		func() { liveFrom, errs[1] = liveAt(from) },
		func() { liveTo, errs[2] = liveAt(to) },
		func() {
			changed, errs[3] = p.instantAt(ctx, fmt.Sprintf("max_over_time(%[1]s) - min_over_time(%[1]s) > 0 or %[2]s - min_over_time(%[1]s) != 0",
				st, p.sel(startTimeMetric)), to)
		},
	)
	if err := firstErr(errs[:]...); err != nil {
		return nil, err
	}
	for _, s := range infos {
		res.hosts[instanceOf(s.Metric)] = string(s.Metric["host"])
	}
	special := map[instance]bool{}
	for _, s := range changed {
		if in := instanceOf(s.Metric); hasKey(res.hosts, in) {
			special[in] = true
		}
	}
	// An instance not scraped at from is read exactly unless it is new:
	// never scraped before from, by a process that started inside the
	// window, so that its counters count from 0 as the fleet's read
	// takes them.
	var before map[instance]bool
	started := map[instance]float64{}
	for in := range res.hosts {
		if liveFrom[in] || !liveTo[in] {
			continue
		}
		if before == nil {
			// (An instant query, not the series API: VictoriaMetrics'
			// answers whole days, which would take every instance seen
			// earlier that day for one scraped before from.)
			seen, err := p.instantAt(ctx, fmt.Sprintf("last_over_time(%s[%s])", p.sel(buildInfoMetric), dur(look)), from)
			if err != nil {
				return nil, err
			}
			before = map[instance]bool{}
			for _, s := range seen {
				before[instanceOf(s.Metric)] = true
			}
			vec, err := p.instantAt(ctx, p.sel(startTimeMetric), to)
			if err != nil {
				return nil, err
			}
			for _, s := range vec {
				started[instanceOf(s.Metric)] = float64(s.Value)
			}
		}
		if st, ok := started[in]; before[in] || !ok || st < float64(from.UnixNano())/1e9 {
			special[in] = true
		}
	}
	for in := range res.hosts {
		if !liveTo[in] {
			special[in] = true
		}
	}

	// The fleet but the special instances: the counters at to and at
	// from, the histogram's buckets summed per (vendor, le) by the
	// engine (they are needed per vendor only).
	var not []string
	if len(special) > 0 {
		addrs := map[string]bool{}
		for in := range special {
			addrs[in.instance] = true
		}
		var names []string
		for in := range res.hosts {
			if addrs[in.instance] { // the matcher is on the address: every job's instance there is special
				special[in] = true
			}
		}
		for a := range addrs {
			names = append(names, regexp.QuoteMeta(a))
		}
		sort.Strings(names)
		not = append(not, "instance!~"+strconv.Quote(strings.Join(names, "|")))
	}
	res.not = not
	if ready != nil {
		ready(res)
	}

	// The fleet's counters at both ends and the special instances, one
	// by one, a few at a time, all at once.
	var ins []instance
	for in := range special {
		ins = append(ins, in)
	}
	sortInstances(ins)
	reads := make([]exactRead, len(ins))
	var end, start values
	var endErr, startErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); end, endErr = p.counters(ctx, to, not) }()
	go func() { defer wg.Done(); start, startErr = p.counters(ctx, from, not) }()
	sem := make(chan struct{}, 4)
	for i, in := range ins {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			reads[i] = p.exact(ctx, in, from, to, span)
		}()
	}
	wg.Wait()
	if err := firstErr(endErr, startErr); err != nil {
		return nil, err
	}
	for k, e := range end {
		d := e.v
		if b := start[k]; b != nil && b.v <= d {
			d -= b.v
		} // else born in the window, or reset without a start time to show it: counts from 0
		res.deltas.add(e.m, d)
	}
	for i, x := range reads {
		if x.err != nil {
			return nil, x.err
		}
		for _, pt := range x.deltas {
			res.deltas.add(pt.m, pt.v)
		}
		if x.restarted {
			res.restarted = append(res.restarted, ins[i])
		}
		if x.segments > 0 && !liveTo[ins[i]] {
			res.stopped = append(res.stopped, ins[i])
		}
	}
	return res, nil
}

// parallel runs fs at once and waits for them.
func parallel(fs ...func()) {
	var wg sync.WaitGroup
	for _, f := range fs {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	wg.Wait()
}

// counters reads at t the counters per series, and the latency buckets
// summed per (vendor, le), of the instances matchers select.
func (p *Prometheus) counters(ctx context.Context, t time.Time, matchers []string) (values, error) {
	out := values{}
	perSeries := p.sel("", append(matchers, `__name__=~"`+strings.Join(counterMetrics[:4], "|")+`"`)...)
	vec, err := p.instantAt(ctx, perSeries, t)
	if err != nil {
		return nil, err
	}
	for _, s := range vec {
		out[s.Metric.Fingerprint()] = &point{m: s.Metric, v: float64(s.Value)}
	}
	vec, err = p.instantAt(ctx, fmt.Sprintf("sum by (vendor, le) (%s)", p.sel(bucketMetric, matchers...)), t)
	if err != nil {
		return nil, err
	}
	for _, s := range vec {
		m := s.Metric.Clone()
		m[model.MetricNameLabel] = bucketMetric
		out[m.Fingerprint()] = &point{m: m, v: float64(s.Value)}
	}
	return out, nil
}

// exactRead is what exact found for one instance.
type exactRead struct {
	deltas    values
	segments  int  // processes with scrapes inside the window
	restarted bool // a process started inside the window after another
	err       error
}

func hasKey(m map[instance]string, in instance) bool { _, ok := m[in]; return ok }

func sortInstances(ins []instance) {
	sort.Slice(ins, func(i, j int) bool {
		if ins[i].job != ins[j].job {
			return ins[i].job < ins[j].job
		}
		return ins[i].instance < ins[j].instance
	})
}

// exact reads one instance's increases over [from, to], segment by
// segment. Its process start time, read raw over the span (one series),
// splits its scrapes into processes; each segment counts up to its last
// scrape before to, read at that scrape's own timestamp, from:
//   - the last values before it, in the same process (the values at or
//     before from, or the previous segment's end);
//   - for a new process, the previous process's last values, for each
//     series whose first value did not drop below them: the daemon's
//     counters resume from its database's lifetime totals, and what the
//     old process committed after its last scrape shows in the new one's
//     first; a series that dropped was reset, and counts from 0;
//   - for an instance first scraped inside the window by a process that
//     started before the window, its first values: they carry history
//     from before the window, and what the process counted between from
//     and its first scrape cannot be told from it, so only what follows
//     the first scrape counts;
//   - otherwise 0: a process that started inside the window and was not
//     scraped before counts from its start.
func (p *Prometheus) exact(ctx context.Context, in instance, from, to time.Time, span string) (x exactRead) {
	x.deltas = values{}
	id := []string{"job=" + strconv.Quote(in.job), "instance=" + strconv.Quote(in.instance)}
	m, err := p.rawAt(ctx, fmt.Sprintf("%s[%s]", p.sel(startTimeMetric, id...), span), to)
	if err != nil {
		x.err = err
		return x
	}
	useValue := len(m) > 0
	if !useValue {
		// No start time exposed: each build_info series (one per
		// version) is taken as one process.
		if m, err = p.rawAt(ctx, fmt.Sprintf("%s[%s]", p.sel(buildInfoMetric, id...), span), to); err != nil {
			x.err = err
			return x
		}
	}
	type scrape struct {
		t    model.Time
		proc float64
	}
	var scrapes []scrape
	for i, s := range m {
		for _, v := range s.Values {
			if math.IsNaN(float64(v.Value)) {
				continue // a staleness marker: VictoriaMetrics returns them raw
			}
			proc := float64(i)
			if useValue {
				proc = float64(v.Value)
			}
			scrapes = append(scrapes, scrape{v.Timestamp, proc})
		}
	}
	sort.Slice(scrapes, func(i, j int) bool { return scrapes[i].t < scrapes[j].t })

	fromT, toT := model.TimeFromUnixNano(from.UnixNano()), model.TimeFromUnixNano(to.UnixNano())
	var before *scrape // the last scrape at or before from
	var segs [][2]scrape
	for i := range scrapes {
		s := scrapes[i]
		switch {
		case s.t <= fromT:
			before = &scrapes[i]
		case s.t > toT:
		case len(segs) == 0 || segs[len(segs)-1][1].proc != s.proc:
			segs = append(segs, [2]scrape{s, s})
		default:
			segs[len(segs)-1][1] = s
		}
	}
	sel := p.sel("", append(id, `__name__=~"`+strings.Join(counterMetrics, "|")+`"`)...)
	at := func(t model.Time) (map[model.Fingerprint]*point, error) {
		vec, err := p.instantAt(ctx, sel, t.Time())
		out := map[model.Fingerprint]*point{}
		for _, s := range vec {
			out[s.Metric.Fingerprint()] = &point{m: s.Metric, v: float64(s.Value)}
		}
		return out, err
	}
	var last map[model.Fingerprint]*point // the values the next segment continues from
	lastProc := math.NaN()
	if before != nil {
		if last, err = at(before.t); err != nil {
			x.err = err
			return x
		}
		lastProc = before.proc
	}
	for _, seg := range segs {
		base := map[model.Fingerprint]float64{}
		switch {
		case last != nil && seg[0].proc == lastProc:
			for k, pt := range last {
				base[k] = pt.v
			}
		case last != nil: // a new process: continuity where no counter dropped
			first, err := at(seg[0].t)
			if err != nil {
				x.err = err
				return x
			}
			for k, pt := range first {
				if l := last[k]; l != nil && l.v <= pt.v {
					base[k] = l.v
				}
			}
		case useValue && seg[0].proc < float64(from.UnixNano())/1e9: // history before the window
			first, err := at(seg[0].t)
			if err != nil {
				x.err = err
				return x
			}
			for k, pt := range first {
				base[k] = pt.v
			}
		}
		end, err := at(seg[1].t)
		if err != nil {
			x.err = err
			return x
		}
		for k, pt := range end {
			d := pt.v
			if b, ok := base[k]; ok && b <= d {
				d -= b
			}
			x.deltas.add(pt.m, d)
		}
		last, lastProc = end, seg[1].proc
	}
	x.segments = len(segs)
	x.restarted = len(segs) > 1 || len(segs) == 1 && before != nil && before.proc != segs[0][0].proc
	return x
}

// count rounds a counter's increase to a whole count.
func count(v float64) int64 {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return int64(math.Round(v))
}
