package storage

import (
	"time"

	"github.com/apierr/apierr/classify"
)

// Tally aggregates classified requests with no shared state, so that
// several goroutines can each fill their own; the writer merges them into a
// Batch (Batch.Merge), which applies the cardinality caps.
type Tally struct {
	errs      map[errKey]*errAgg
	reqs      map[reqKey]*reqAgg
	malformed map[malKey]int64
	samples   map[sampleKey]*sampleAgg
	perCode   map[[2]string]int // distinct sample messages per (vendor, code)
	n         int
}

// samplesPerTally bounds the distinct messages a tally keeps per code.
const samplesPerTally = 5

// NewTally returns an empty tally.
func NewTally() *Tally {
	return &Tally{errs: map[errKey]*errAgg{}, reqs: map[reqKey]*reqAgg{}, malformed: map[malKey]int64{},
		samples: map[sampleKey]*sampleAgg{}, perCode: map[[2]string]int{}}
}

// Len is the number of requests and malformed lines in the tally.
func (t *Tally) Len() int { return t.n }

// Reset empties the tally for reuse.
func (t *Tally) Reset() {
	clear(t.errs)
	clear(t.reqs)
	clear(t.malformed)
	clear(t.samples)
	clear(t.perCode)
	t.n = 0
}

// Add counts one classified request at time tm. endpoint is the request's
// path template (classify.Endpoint); the message should be redacted.
func (t *Tally) Add(tm time.Time, ev *classify.Event, endpoint string) {
	t.n++
	at := ms(tm)
	bucket := at - at%Minute
	r := t.reqs[reqKey{bucket, ev.Vendor}]
	if r == nil {
		r = &reqAgg{}
		t.reqs[reqKey{bucket, ev.Vendor}] = r
	}
	r.requests++
	if !ev.Error {
		return
	}
	r.errors++
	if ev.Retry.Retryable() {
		r.retryable++
	}
	k := errKey{bucket, groupKey{ev.Vendor, ev.Code, ev.HTTPStatus, endpoint, ev.Category, ev.Retry}}
	e := t.errs[k]
	if e == nil {
		e = &errAgg{rng: ev.Range, known: ev.Known, first: at, last: at}
		t.errs[k] = e
	}
	e.count++
	e.first, e.last = min(e.first, at), max(e.last, at)
	if ev.Message == "" {
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
		s = &sampleAgg{}
		t.samples[sk] = s
	}
	s.count++
	s.last = max(s.last, at)
}

// AddMalformed counts one malformed line at time tm.
func (t *Tally) AddMalformed(tm time.Time, reason string) {
	t.n++
	at := ms(tm)
	t.malformed[malKey{at - at%Minute, reason}]++
}
