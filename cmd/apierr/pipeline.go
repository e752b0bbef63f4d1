package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
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

// pipeline turns chunks of log lines into counts: decode, classify,
// aggregate, and commit with the input positions. One goroutine owns it.
type pipeline struct {
	db       *storage.DB
	decoders []*ingest.Decoder
	cl       *classify.Classifier
	batch    *storage.Batch
	maxLine  int
	now      func() time.Time
	log      *slog.Logger

	// Totals since start, read by progress and metrics from other goroutines.
	lines, bytes, requests, errors, malformed atomic.Int64
}

func newPipeline(db *storage.DB, cat *classify.Catalog, mappings []ingest.Mapping, maxLine int, log *slog.Logger) *pipeline {
	p := &pipeline{db: db, cl: classify.NewClassifier(cat), batch: db.NewBatch(), maxLine: maxLine, now: time.Now, log: log}
	for _, m := range mappings {
		p.decoders = append(p.decoders, ingest.NewDecoder(m))
	}
	return p
}

// add counts a chunk's lines and records its position.
func (p *pipeline) add(in input) {
	c := in.chunk
	now := p.now()
	dec := p.decoders[in.idx]
	data := c.Data
	p.bytes.Add(int64(len(data)))
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			i = len(data)
		}
		p.line(dec, data[:i], now)
		data = data[min(i+1, len(data)):]
	}
	for range c.TooLong {
		p.lines.Add(1)
		p.malformed.Add(1)
		p.batch.AddMalformed(now, ingest.ReasonTooLong)
	}
	if c.Pos.Key != (ingest.FileKey{}) {
		p.batch.SetPosition(c.Pos)
	}
}

// line counts one line.
func (p *pipeline) line(dec *ingest.Decoder, line []byte, now time.Time) {
	p.lines.Add(1)
	if len(line) > p.maxLine {
		p.malformed.Add(1)
		p.batch.AddMalformed(now, ingest.ReasonTooLong)
		return
	}
	rec, err := dec.Decode(line)
	if err != nil {
		p.malformed.Add(1)
		p.batch.AddMalformed(now, ingest.Reason(err))
		return
	}
	ev := p.cl.Classify(rec)
	t := rec.Time
	if t.IsZero() {
		t = now // no usable timestamp: counted at ingest time
	}
	p.requests.Add(1)
	endpoint := ""
	if ev.Error {
		p.errors.Add(1)
		endpoint = classify.Endpoint(rec.Method, rec.Path)
		ev.Message = classify.Redact(ev.Message)
	}
	p.batch.Add(t, &ev, endpoint)
}

// commit writes the batch. On failure the batch is kept whole and the
// commit is retried with backoff until it succeeds or ctx is done: input
// positions never get ahead of the counts.
func (p *pipeline) commit(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		err := p.db.Commit(context.WithoutCancel(ctx), p.batch)
		if err == nil {
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

// setCatalog swaps the vendor catalog (SIGHUP).
func (p *pipeline) setCatalog(cat *classify.Catalog) { p.cl = classify.NewClassifier(cat) }
