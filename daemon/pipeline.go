package daemon

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/ingest"
	"github.com/apierr/apierr/storage"
)

// MaxBatch commits early when a batch holds this many lines (catch-up).
const MaxBatch = 250_000

// behindBatch is the batch committed in the background (commitBehind): a
// quarter of MaxBatch, as two batches are in memory at once, one filling
// while the other commits, and the less they hold the less the collector
// runs under the memory limit.
const behindBatch = MaxBatch / 4

// Chunk is a chunk of lines tagged with the input (and so the decoder) it
// came from: an index into the pipeline's mappings.
type Chunk struct {
	Input int
	ingest.Chunk
}

// Stats are a pipeline's totals since it was made.
type Stats struct {
	Lines, Bytes, Requests, Errors, Malformed, Skipped int64
}

// Pipeline turns chunks of log lines into counts: decode, classify and
// tally in parallel workers, then merge the tallies in chunk order into the
// batch, with the input positions, and commit. One goroutine (the caller
// of Ingest, or the Server's loop) owns the batch and the database.
// `apierr ingest` and the daemon run the same Pipeline.
type Pipeline struct {
	// Retention: requests dated before it are counted as skipped, not
	// stored (retention would delete them at once); 0 keeps every date.
	Retention time.Duration

	db      *storage.DB
	conf    atomic.Pointer[pipelineConf] // swapped by a reload; workers pick it up
	workers int
	batch   *storage.Batch // what merge fills
	now     func() time.Time
	log     *slog.Logger
	tallies chan *storage.Tally // emptied tallies for reuse (see tally)
	metrics *metrics            // nil: none (apierr ingest)

	// lat is the call durations of the batch's lines, which join
	// /metrics when the batch is committed.
	lat Latencies
	// spare and spareLat are the other batch of commitBehind: being
	// committed while pending is not nil, else empty.
	spare    *storage.Batch
	spareLat Latencies
	pending  *backgroundCommit

	// Totals since start, read by progress and metrics from other goroutines.
	lines, bytes, requests, errors, malformed, skipped atomic.Int64
}

// pipelineConf is what a reload may change.
type pipelineConf struct {
	cat      *classify.Catalog
	mappings []ingest.Mapping
	maxLine  int
}

// NewPipeline returns a pipeline that commits to db, classifies with cat
// and decodes input i's lines with mappings[i].
func NewPipeline(db *storage.DB, cat *classify.Catalog, mappings []ingest.Mapping, maxLine int, log *slog.Logger) *Pipeline {
	if log == nil {
		log = slog.Default()
	}
	p := &Pipeline{db: db, workers: runtime.GOMAXPROCS(0), batch: db.NewBatch(), now: time.Now, log: log}
	p.set(cat, mappings, maxLine)
	p.tallies = make(chan *storage.Tally, freeTallies)
	return p
}

// set replaces the catalog, mappings and line limit; chunks processed
// from now on use them.
func (p *Pipeline) set(cat *classify.Catalog, mappings []ingest.Mapping, maxLine int) {
	if maxLine <= 0 {
		maxLine = ingest.DefaultMaxLine
	}
	if len(mappings) == 0 {
		mappings = []ingest.Mapping{ingest.AutoMapping()}
	}
	p.conf.Store(&pipelineConf{cat: cat, mappings: mappings, maxLine: maxLine})
}

// freeTallies is how many emptied tallies a pipeline keeps for reuse.
// Unlike a sync.Pool, which every garbage collection empties, the list
// keeps them, with their maps grown to a chunk's diversity: a tally made
// afresh grows them again, and that was a fifth of a diverse ingest's
// allocations.
const freeTallies = 4

// tally returns an empty tally, reused when one is free.
func (p *Pipeline) tally() *storage.Tally {
	select {
	case t := <-p.tallies:
		return t
	default:
		t := storage.NewTally()
		t.Now, t.Retention = p.now, p.Retention
		return t
	}
}

// MaxLine is the longest line counted; longer ones are malformed.
func (p *Pipeline) MaxLine() int { return p.conf.Load().maxLine }

// Stats returns the totals so far; safe from any goroutine.
func (p *Pipeline) Stats() Stats {
	return Stats{p.lines.Load(), p.bytes.Load(), p.requests.Load(), p.errors.Load(), p.malformed.Load(), p.skipped.Load()}
}

// result is what a worker made of one chunk.
type result struct {
	tally                                              *storage.Tally
	pos                                                ingest.Position
	lines, bytes, requests, errors, malformed, skipped int64
	latency                                            Latencies // per vendor, for /metrics
}

// worker decodes and classifies; each has its own decoders and classifier,
// rebuilt when a reload swaps the pipeline's configuration.
type worker struct {
	p        *Pipeline
	conf     *pipelineConf
	decoders []*ingest.Decoder
	cl       *classify.Classifier
	framers  [3]*ingest.Framer // by ingest.Framing; each chunk starts one afresh

	endpoint  []byte   // scratch for classify.AppendEndpoint
	endpoints interner // the endpoints and services counted
	redacted  interner // error messages, redacted, by message as logged
}

// interner hands out one string per distinct value, so that an endpoint
// or service repeated line after line is allocated once, not once a line.
// It starts afresh when it holds maxInterned (a log whose paths defeat
// the templates): memory stays bounded, and only speed suffers.
type interner map[string]string

const maxInterned = 1 << 14

// redact returns classify.Redact(msg), remembered: a code's messages
// repeat, and the regular expressions cost more than a lookup.
func (in *interner) redact(msg string) string {
	if s, ok := (*in)[msg]; ok {
		return s
	}
	return in.keep(msg, classify.Redact(msg))
}

func (in *interner) get(b []byte) string {
	if s, ok := (*in)[string(b)]; ok {
		return s
	}
	s := string(b)
	return in.keep(s, s)
}

// keep remembers v under k, starting afresh at the bound, and returns v.
func (in *interner) keep(k, v string) string {
	if *in == nil || len(*in) >= maxInterned {
		*in = make(interner)
	}
	(*in)[k] = v
	return v
}

func (w *worker) refresh() {
	c := w.p.conf.Load()
	if c == w.conf {
		return
	}
	w.conf, w.cl, w.decoders = c, classify.NewClassifier(c.cat), w.decoders[:0]
	w.framers = [3]*ingest.Framer{}
	for _, m := range c.mappings {
		w.decoders = append(w.decoders, ingest.NewDecoder(m))
	}
}

// process counts a chunk's lines into a new result, or into r, which
// then spans the chunks before it (see single).
func (w *worker) process(r *result, in Chunk) *result {
	w.refresh()
	c := in.Chunk
	if r == nil {
		r = &result{tally: w.p.tally()}
	}
	r.pos = c.Pos
	r.bytes += int64(len(c.Data))
	now := w.p.now()
	r.tally.At(now)
	dec := w.decoders[min(max(in.Input, 0), len(w.decoders)-1)]
	var service []byte // the calling service of lines that name none
	if c.Service != "" {
		service = []byte(c.Service)
	}
	fr := w.framer(c.Framing)
	for s, cont := range c.Continues {
		if cont && fr != nil {
			fr.Continue(ingest.Stream(s) + ingest.StreamStdout)
		}
	}
	data := c.Data
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			i = len(data)
		}
		raw := data[:i]
		data = data[min(i+1, len(data)):]
		if fr == nil {
			w.line(r, dec, raw, now, time.Time{}, service)
			continue
		}
		// A container line: its frame's runtime time is the fallback.
		if f, ok := fr.Unwrap(raw); ok {
			w.frame(r, dec, f, now, service)
		}
	}
	if fr != nil {
		// Chunks end at a Boundary: a message is pending here only when
		// the reader had to cut inside it, or the file ended in it.
		for !c.Drop {
			f, ok := fr.Flush()
			if !ok {
				break
			}
			w.frame(r, dec, f, now, service)
		}
		fr.Reset()
	}
	for range c.TooLong {
		r.lines++
		r.malformed++
		r.tally.AddMalformed(now, ingest.ReasonTooLong)
	}
	c.Release()
	return r
}

// framer returns the worker's Framer for framing f, empty; nil for plain
// lines.
func (w *worker) framer(f ingest.Framing) *ingest.Framer {
	if f == ingest.FramingNone || int(f) >= len(w.framers) {
		return nil
	}
	if w.framers[f] == nil {
		w.framers[f] = ingest.NewFramer(f, w.conf.maxLine)
	}
	w.framers[f].Reset()
	return w.framers[f]
}

// frame counts one line out of its container frame.
func (w *worker) frame(r *result, dec *ingest.Decoder, f ingest.Frame, now time.Time, service []byte) {
	if f.Err != nil {
		r.lines++
		r.malformed++
		r.tally.AddMalformed(now, ingest.Reason(f.Err))
		return
	}
	rt, _ := f.Time()
	w.line(r, dec, f.Line, now, rt, service)
}

// line counts one line. runtime is the container runtime's time of the
// line (zero for a plain file), used when the line has none; service is
// the calling service when the line names none.
func (w *worker) line(r *result, dec *ingest.Decoder, line []byte, now, runtime time.Time, fallback []byte) {
	r.lines++
	if len(line) > w.conf.maxLine {
		r.malformed++
		r.tally.AddMalformed(now, ingest.ReasonTooLong)
		return
	}
	// One line is one call, except where a line carries several (OTLP).
	dec.DecodeAll(line, func(rec *ingest.Record, err error) {
		switch {
		case ingest.Skipped(err):
			r.skipped++
			r.tally.AddSkipped(now, ingest.Reason(err))
			return
		case err != nil:
			r.malformed++
			r.tally.AddMalformed(now, ingest.Reason(err))
			return
		}
		if len(rec.Service) == 0 {
			rec.Service = fallback
		}
		w.endpoint = classify.AppendEndpoint(w.endpoint[:0], rec.Method, rec.Path)
		ev := w.cl.Classify(rec)
		t := rec.Time
		if t.IsZero() {
			t = runtime // the container runtime's time, when framed
		}
		if t.IsZero() {
			t = now // no usable timestamp: counted at ingest time
		}
		r.requests++
		if ev.Error {
			r.errors++
			ev.Message = w.redacted.redact(ev.Message)
		}
		// Service is the line's, else the input's `service:`, else the
		// container's from the file's path (set by the worker), or empty.
		r.tally.AddCall(t, &ev, storage.Call{
			Endpoint: w.endpoints.get(w.endpoint),
			Latency:  rec.Latency,
			TraceID:  rec.TraceID,
			Service:  w.endpoints.get(rec.Service),
		})
		r.latency.Observe(ev.Vendor, rec.Latency)
	})
}

// stage processes the chunks of in with the pipeline's workers and returns
// their results in the order of the chunks. The returned channel closes
// after in closes and every chunk is processed.
func (p *Pipeline) stage(in <-chan Chunk) <-chan *result {
	if p.workers <= 1 {
		out := make(chan *result, 1)
		go p.single(in, out)
		return out
	}
	type job struct {
		in  Chunk
		out chan *result
	}
	// A result holds a tally, which on diverse traffic holds as many
	// groups as the chunk has lines: few wait, as commits run in the
	// background and merging keeps up with the workers.
	jobs := make(chan job)
	order := make(chan chan *result, 4)
	out := make(chan *result, 1)
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
			w := &worker{p: p}
			for j := range jobs {
				j.out <- w.process(nil, j.in)
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

// spanLines bounds the lines of a result that spans chunks (see single):
// a tally of a few thousand lines holds each (minute, group) about once,
// and a larger one saves little more.
const spanLines = 1 << 14

// spanWait is how long single waits for the next chunk before it hands
// over what it has counted: a reader catching up has one ready well
// within it.
const spanWait = 2 * time.Millisecond

// spanAge bounds how long a result spans chunks: a followed file written
// line by line, less than spanWait apart, never leaves single waiting,
// and its lines must still reach the batch well within a flush interval.
const spanAge = 25 * time.Millisecond

// single is stage with one worker (GOMAXPROCS=1). Its chunks come in
// order, so one result may span consecutive chunks of a file, with the
// last one's position: merged in order, that is what merging them one by
// one gives. Per-chunk tallies exist so that workers can count in
// parallel; one worker has nothing to gain from them, and merging each
// repeated the groups of a minute in every chunk of it (345,000 tally
// entries merged on the diverse mix, against 161,000 spanning). A result
// is handed over at spanLines, at a change of file, spanAge after its
// first chunk, and when no chunk comes within spanWait.
func (p *Pipeline) single(in <-chan Chunk, out chan<- *result) {
	defer close(out)
	w := &worker{p: p}
	wait := time.NewTimer(spanWait)
	defer wait.Stop()
	var r *result     // counted, not yet handed over
	var rAt time.Time // when r's first chunk came
	for {
		var c Chunk
		ok := true
		if r == nil {
			c, ok = <-in
		} else {
			wait.Reset(spanWait)
			select {
			case c, ok = <-in:
			case <-wait.C:
				out <- r
				r = nil
				continue
			}
		}
		if !ok {
			if r != nil {
				out <- r
			}
			return
		}
		if r != nil && (c.Pos.Key != r.pos.Key || r.tally.Len() >= spanLines || time.Since(rAt) >= spanAge) {
			out <- r
			r = nil
		}
		if r == nil {
			rAt = time.Now()
		}
		r = w.process(r, c)
	}
}

// merge adds a result to the batch, then its position: the position is
// committed with the counts of the lines before it.
func (p *Pipeline) merge(r *result) {
	p.batch.Merge(r.tally)
	r.tally.Reset()
	select {
	case p.tallies <- r.tally:
	default:
	}
	if r.pos.Key != (ingest.FileKey{}) {
		p.batch.SetPosition(r.pos)
	}
	p.lines.Add(r.lines)
	p.bytes.Add(r.bytes)
	if p.metrics != nil {
		p.metrics.lines.Add(float64(r.lines))
		p.metrics.bytes.Add(float64(r.bytes))
		p.lat.merge(r.latency, sameLabel)
	}
	p.requests.Add(r.requests)
	p.errors.Add(r.errors)
	p.malformed.Add(r.malformed)
	p.skipped.Add(r.skipped)
}

// Ingest counts every chunk of chunks and commits in batches, the last
// when chunks closes. The caller owns the database while it runs.
//
// A full batch is committed in the background while the next one fills
// (commitBehind): decoding does not stall on the database.
func (p *Pipeline) Ingest(ctx context.Context, chunks <-chan Chunk) error {
	for r := range p.stage(chunks) {
		p.merge(r)
		if p.batch.Len() >= behindBatch {
			if err := p.commitBehind(ctx); err != nil {
				return err
			}
		}
	}
	return p.commit(ctx)
}

// commitBehind starts committing the batch in the background and gives
// merge the other batch to fill meanwhile. It first waits for the
// commit it started before: one commit at a time, in the order of the
// input, each with its positions, so positions never get ahead of the
// counts of the lines before them. While a commit runs, nothing but merge
// may touch the database or the settings: the daemon's loop waits for it
// (wait) before maintenance, which reloads the caps and group ids, and
// before a reload.
func (p *Pipeline) commitBehind(ctx context.Context) error {
	if err := p.wait(); err != nil {
		return err
	}
	if p.spare == nil {
		p.spare = p.db.NewBatch()
	}
	b, lat, lines := p.batch, p.lat, p.lines.Load()
	p.batch, p.spare = p.spare, b
	p.lat, p.spareLat = p.spareLat, lat
	c := &backgroundCommit{done: make(chan struct{})}
	p.pending = c
	go func() {
		defer close(c.done)
		c.err = p.commitBatch(ctx, b, lat, lines)
	}()
	return nil
}

// backgroundCommit is a commit that commitBehind started.
type backgroundCommit struct {
	done chan struct{} // closed when it ends
	err  error
}

// committing reports whether a background commit still runs.
func (p *Pipeline) committing() bool {
	if p.pending == nil {
		return false
	}
	select {
	case <-p.pending.done:
		return false
	default:
		return true
	}
}

// wait waits for the background commit, if one runs, and returns its error.
func (p *Pipeline) wait() error {
	if p.pending == nil {
		return nil
	}
	<-p.pending.done
	err := p.pending.err
	p.pending = nil
	return err
}

// commit writes the batch, after the background commit if one runs.
func (p *Pipeline) commit(ctx context.Context) error {
	if err := p.wait(); err != nil {
		return err
	}
	return p.commitBatch(ctx, p.batch, p.lat, p.lines.Load())
}

// commitBatch writes b, which holds the lines up to the lines-th, whose
// call durations are lat (emptied once they join /metrics). On
// failure the batch is kept whole and the commit is retried with backoff
// until it succeeds or ctx is done: input positions never get ahead of
// the counts.
func (p *Pipeline) commitBatch(ctx context.Context, b *storage.Batch, lat Latencies, lines int64) error {
	backoff := 100 * time.Millisecond
	for {
		n := b.Len()
		start := time.Now()
		err := p.db.Commit(context.WithoutCancel(ctx), b)
		if p.metrics != nil {
			p.metrics.committed(time.Since(start), err)
		}
		if err == nil {
			if p.metrics != nil {
				p.metrics.add(b.Committed(), lat)
			}
			lat.Reset()
			if n > 0 {
				p.log.Debug("committed", "lines", lines, "batch", n)
			}
			return nil
		}
		p.log.Error("commit failed, retrying", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (the last %d lines are not committed; they are read again at the next start)", err, b.Len())
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}
