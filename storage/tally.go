package storage

import (
	"time"

	"github.com/apierr/apierr/classify"
)

// Tally aggregates classified requests with no shared state, so that
// several goroutines can each fill their own; the writer merges them into a
// Batch (Batch.Merge), which applies the cardinality caps.
//
// Now and Retention place each line in time. The zero values keep every
// line at its own time, however far ahead or behind.
type Tally struct {
	// Now is the clock. A line dated more than MaxAhead after Now is
	// counted at Now: no bucket lies in the future, where no report shows
	// it and no rollup or retention reaches it.
	Now func() time.Time
	// Retention, if positive, is how long buckets are kept: a request
	// whose bucket is already past it is not stored but counted as skipped
	// (ReasonTooOld) at Now. Needs Now.
	Retention time.Duration

	errs       map[errKey]*errAgg
	calls      map[callKey]*callAgg
	malformed  map[malKey]int64
	skipped    map[malKey]int64
	samples    map[sampleKey]*sampleAgg
	perCode    map[[2]string]int // distinct sample messages per (vendor, code)
	n          int
	callSlab   slab[callAgg] // the values of calls and errs
	errSlab    slab[errAgg]
	sampleSlab slab[sampleAgg]

	// at, when not zero, stands for Now until Reset (see At).
	at time.Time

	// The last request's aggregate: consecutive lines often share their
	// minute, vendor, service and endpoint, and a comparison is cheaper
	// than a map lookup.
	lastCall callKey
	call     *callAgg
}

// callKey and callAgg count a tally's requests per (minute, vendor,
// service, endpoint): one map update a request, split into the request
// and endpoint rows when merged into a batch.
type callKey struct {
	bucket                    int64
	vendor, service, endpoint string
}

type callAgg struct {
	requests, errors, retryable int64
	hist                        Histogram
	seq                         int // the tally's line that first saw it
}

// MaxAhead is how far ahead of the clock a line's time may be before it is
// counted at the clock's time instead: room for clocks a little apart.
const MaxAhead = 5 * time.Minute

// ReasonTooOld is the skipped reason of a request dated before retention.
const ReasonTooOld = "older than retention"

// samplesPerTally bounds the distinct messages a tally keeps per code.
const samplesPerTally = 5

// NewTally returns an empty tally with no clock (see Tally.Now).
func NewTally() *Tally {
	return &Tally{errs: map[errKey]*errAgg{}, calls: map[callKey]*callAgg{}, malformed: map[malKey]int64{},
		skipped: map[malKey]int64{}, samples: map[sampleKey]*sampleAgg{}, perCode: map[[2]string]int{}}
}

// Len is the number of requests, malformed and skipped lines in the tally.
func (t *Tally) Len() int { return t.n }

// Reset empties the tally for reuse; Now and Retention stay.
func (t *Tally) Reset() {
	clear(t.errs)
	clear(t.calls)
	clear(t.malformed)
	clear(t.skipped)
	clear(t.samples)
	clear(t.perCode)
	t.callSlab.reset()
	t.errSlab.reset()
	t.sampleSlab.reset()
	t.n = 0
	t.call = nil
	t.at = time.Time{}
}

// At makes now the clock's time for the lines counted until Reset: a
// worker reads the clock once a chunk, not once a line.
func (t *Tally) At(now time.Time) { t.at = now }

// when returns the stored time of a line dated tm, and false if the line
// is too old to store.
func (t *Tally) when(tm time.Time) (int64, bool) {
	now := t.at
	if now.IsZero() {
		if t.Now == nil {
			return ms(tm), true
		}
		now = t.Now()
	}
	if tm.After(now.Add(MaxAhead)) {
		return ms(now), true
	}
	at := ms(tm)
	if t.Retention > 0 && at-at%Minute < ms(now.Add(-t.Retention)) {
		return ms(now), false
	}
	return at, true
}

// Call is what a request line says beyond its classification.
type Call struct {
	// Endpoint is the request's path template (classify.Endpoint); give it
	// for every request, not only errors, so that endpoints have error
	// rates and latency. "" if the line has no path.
	Endpoint string
	// Latency is the call's duration; 0 (or less) if the line has none.
	Latency time.Duration
	// TraceID is the line's request or trace id. It is kept verbatim when
	// it looks like an id (1 to 128 printable ASCII characters, no space),
	// else dropped. Only read for errors; not retained after the call.
	TraceID []byte
	// Service is the calling service ("" if unknown), capped by
	// Limits.Services when merged into a batch.
	Service string
}

// MaxTraceID is the longest trace id kept.
const MaxTraceID = 128

// TraceID returns b as a trace id if it looks like one, else "".
func TraceID(b []byte) string {
	if len(b) == 0 || len(b) > MaxTraceID {
		return ""
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f {
			return ""
		}
	}
	return string(b)
}

// Add counts one classified request at time tm. endpoint is the request's
// path template (classify.Endpoint); the message should be redacted. It is
// AddCall with only the endpoint.
func (t *Tally) Add(tm time.Time, ev *classify.Event, endpoint string) {
	t.AddCall(tm, ev, Call{Endpoint: endpoint})
}

// AddCall counts one classified request at time tm with what the line
// says of the call (see Call); the message should be redacted.
func (t *Tally) AddCall(tm time.Time, ev *classify.Event, c Call) {
	at, ok := t.when(tm)
	if !ok {
		t.n++
		t.skipped[malKey{at - at%Minute, ReasonTooOld}]++
		return
	}
	t.n++
	seq := t.n // the order of first sight, which Merge admits in
	bucket := at - at%Minute
	k := callKey{bucket, ev.Vendor, c.Service, c.Endpoint}
	r := t.call
	if r == nil || k != t.lastCall {
		if r = t.calls[k]; r == nil {
			r = t.callSlab.new()
			r.seq = seq
			t.calls[k] = r
		}
		t.call, t.lastCall = r, k
	}
	r.requests++
	if c.Latency > 0 {
		r.hist.Add(c.Latency)
	}
	if !ev.Error {
		return
	}
	r.errors++
	if ev.Retry.Retryable() {
		r.retryable++
	}
	t.addError(at, bucket, seq, ev, c)
}

func (t *Tally) addError(at, bucket int64, seq int, ev *classify.Event, c Call) {
	k := errKey{bucket, groupKey{ev.Vendor, ev.Code, ev.HTTPStatus, c.Endpoint, ev.Category, ev.Retry, c.Service}}
	e := t.errs[k]
	if e == nil {
		e = t.errSlab.new()
		*e = errAgg{rng: ev.Range, known: ev.Known, first: at, last: at, seq: seq}
		t.errs[k] = e
	}
	e.count++
	e.first, e.last = min(e.first, at), max(e.last, at)
	trace := ""
	if len(c.TraceID) > 0 {
		trace = TraceID(c.TraceID)
	}
	if ev.Message == "" && trace == "" {
		return
	}
	sk := sampleKey{ev.Vendor, ev.Code, ev.Message}
	s := t.samples[sk]
	if s == nil {
		pc := [2]string{ev.Vendor, ev.Code}
		if t.perCode[pc] >= samplesPerTally {
			return
		}
		t.perCode[pc]++
		s = t.sampleSlab.new()
		s.known, s.seq = ev.Known, seq
		t.samples[sk] = s
	}
	s.count++
	s.last = max(s.last, at)
	if trace != "" {
		s.setTrace(trace, at)
	}
}

// setTrace keeps the trace id of the latest line, ties by the greater id,
// so that the kept id does not depend on how lines were split.
func (s *sampleAgg) setTrace(trace string, at int64) {
	if at > s.traceAt || at == s.traceAt && trace > s.trace {
		s.trace, s.traceAt = trace, at
	}
}

// AddMalformed counts one malformed line at time tm (at Now if tm lies
// ahead or before retention: the line is counted, only not where it says).
func (t *Tally) AddMalformed(tm time.Time, reason string) {
	t.n++
	at := t.clamp(tm)
	t.malformed[malKey{at - at%Minute, reason}]++
}

// AddSkipped counts one line that is not a request (or not one to store)
// at time tm, by reason; times are placed as for AddMalformed.
func (t *Tally) AddSkipped(tm time.Time, reason string) {
	t.n++
	at := t.clamp(tm)
	t.skipped[malKey{at - at%Minute, reason}]++
}

func (t *Tally) clamp(tm time.Time) int64 {
	at, _ := t.when(tm)
	return at
}

// slab hands out zeroed values from blocks it keeps across resets, so that
// a tally or batch reused for chunk after chunk allocates its aggregates
// once, not once a chunk: with diverse traffic a chunk has hundreds.
type slab[T any] struct {
	blocks [][]T
	n      int
}

const slabBlock = 256

// new returns a zeroed value, valid until reset.
func (s *slab[T]) new() *T {
	b, i := s.n/slabBlock, s.n%slabBlock
	if b == len(s.blocks) {
		s.blocks = append(s.blocks, make([]T, slabBlock))
	}
	s.n++
	p := &s.blocks[b][i]
	var zero T
	*p = zero
	return p
}

// reset takes every value back; none may be used after.
func (s *slab[T]) reset() { s.n = 0 }
