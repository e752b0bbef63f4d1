package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/ingest"
	"github.com/apierr/apierr/storage"
)

// input tags a chunk with the input (and so the decoder) it came from.
type input struct {
	idx   int
	chunk ingest.Chunk
}

// pipeline turns chunks of log lines into counts: decode, classify and
// tally in parallel workers, then merge the tallies in chunk order into the
// batch, with the input positions, and commit. One goroutine owns the
// batch and the database.
type pipeline struct {
	db       *storage.DB
	cat      *classify.Catalog
	mappings []ingest.Mapping
	maxLine  int
	workers  int
	batch    *storage.Batch
	now      func() time.Time
	log      *slog.Logger
	tallies  sync.Pool
	metrics  *metrics // nil: none (apierr ingest)

	// Totals since start, read by progress and metrics from other goroutines.
	lines, bytes, requests, errors, malformed atomic.Int64
}

func newPipeline(db *storage.DB, cat *classify.Catalog, mappings []ingest.Mapping, maxLine int, log *slog.Logger) *pipeline {
	p := &pipeline{db: db, cat: cat, mappings: mappings, maxLine: maxLine, workers: runtime.GOMAXPROCS(0),
		batch: db.NewBatch(), now: time.Now, log: log}
	p.tallies.New = func() any { return storage.NewTally() }
	return p
}

// result is what a worker made of one chunk.
type result struct {
	tally                                     *storage.Tally
	pos                                       ingest.Position
	lines, bytes, requests, errors, malformed int64
}

// worker decodes and classifies; each has its own decoders and classifier.
type worker struct {
	p        *pipeline
	decoders []*ingest.Decoder
	cl       *classify.Classifier
}

func (p *pipeline) newWorker() *worker {
	w := &worker{p: p, cl: classify.NewClassifier(p.cat)}
	for _, m := range p.mappings {
		w.decoders = append(w.decoders, ingest.NewDecoder(m))
	}
	return w
}

// process counts a chunk's lines into a tally.
func (w *worker) process(in input) *result {
	c := in.chunk
	r := &result{tally: w.p.tallies.Get().(*storage.Tally), pos: c.Pos, bytes: int64(len(c.Data))}
	now := w.p.now()
	dec := w.decoders[in.idx]
	data := c.Data
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			i = len(data)
		}
		w.line(r, dec, data[:i], now)
		data = data[min(i+1, len(data)):]
	}
	for range c.TooLong {
		r.lines++
		r.malformed++
		r.tally.AddMalformed(now, ingest.ReasonTooLong)
	}
	c.Release()
	return r
}

// line counts one line.
func (w *worker) line(r *result, dec *ingest.Decoder, line []byte, now time.Time) {
	r.lines++
	if len(line) > w.p.maxLine {
		r.malformed++
		r.tally.AddMalformed(now, ingest.ReasonTooLong)
		return
	}
	rec, err := dec.Decode(line)
	if err != nil {
		r.malformed++
		r.tally.AddMalformed(now, ingest.Reason(err))
		return
	}
	ev := w.cl.Classify(rec)
	t := rec.Time
	if t.IsZero() {
		t = now // no usable timestamp: counted at ingest time
	}
	r.requests++
	endpoint := ""
	if ev.Error {
		r.errors++
		endpoint = classify.Endpoint(rec.Method, rec.Path)
		ev.Message = classify.Redact(ev.Message)
	}
	r.tally.Add(t, &ev, endpoint)
}

// stage processes the chunks of in with the pipeline's workers and returns
// their results in the order of the chunks. The returned channel closes
// after in closes and every chunk is processed.
func (p *pipeline) stage(in <-chan input) <-chan *result {
	type job struct {
		in  input
		out chan *result
	}
	// Results are small (a tally each; the chunk's block is released), so
	// many may wait while the writer commits, and the workers keep going.
	jobs := make(chan job, p.workers)
	order := make(chan chan *result, 16)
	out := make(chan *result, 4)
	go func() { // dispatcher: owns jobs and order
		defer close(jobs)
		defer close(order)
		for c := range in {
			j := job{c, make(chan *result, 1)}
			order <- j.out
			jobs <- j
		}
	}()
	for range p.workers {
		go func() {
			w := p.newWorker()
			for j := range jobs {
				j.out <- w.process(j.in)
			}
		}()
	}
	go func() { // orderer: owns out
		defer close(out)
		for ch := range order {
			out <- <-ch
		}
	}()
	return out
}

// merge adds a result to the batch, then its position: the position is
// committed with the counts of the lines before it.
func (p *pipeline) merge(r *result) {
	p.batch.Merge(r.tally)
	r.tally.Reset()
	p.tallies.Put(r.tally)
	if r.pos.Key != (ingest.FileKey{}) {
		p.batch.SetPosition(r.pos)
	}
	p.lines.Add(r.lines)
	p.bytes.Add(r.bytes)
	if p.metrics != nil {
		p.metrics.lines.Add(float64(r.lines))
		p.metrics.bytes.Add(float64(r.bytes))
	}
	p.requests.Add(r.requests)
	p.errors.Add(r.errors)
	p.malformed.Add(r.malformed)
}

// commit writes the batch. On failure the batch is kept whole and the
// commit is retried with backoff until it succeeds or ctx is done: input
// positions never get ahead of the counts.
func (p *pipeline) commit(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		n := p.batch.Len()
		start := time.Now()
		err := p.db.Commit(context.WithoutCancel(ctx), p.batch)
		if p.metrics != nil {
			p.metrics.committed(time.Since(start), err)
		}
		if err == nil {
			if p.metrics != nil {
				p.metrics.add(p.batch.Committed())
			}
			if n > 0 {
				p.log.Debug("committed", "lines", p.lines.Load(), "batch", n)
			}
			return nil
		}
		p.log.Error("commit failed, retrying", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (the last %d lines are not committed; they are read again at the next start)", err, p.batch.Len())
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}
