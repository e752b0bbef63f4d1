package storage

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/ingest"
)

// Batch is what one transaction writes: counts merged from tallies with
// the cardinality caps applied, and the input positions they came from.
type Batch struct {
	caps      *caps
	limits    Limits
	own       *Tally // what Add and AddMalformed count, merged at Commit
	errs      map[errKey]*errAgg
	reqs      map[reqKey]*reqAgg
	eps       map[epKey]*epAgg
	malformed map[malKey]int64
	skipped   map[malKey]int64
	samples   map[sampleKey]*sampleAgg
	positions map[ingest.FileKey]ingest.Position
	known     map[ErrorLabels]bool // error labels whose code the catalog knows
	n         int
	reqSlab   slab[reqAgg] // the values of reqs, eps and errs
	epSlab    slab[epAgg]
	errSlab   slab[errAgg]
	summary   Summary // of the counts merged since the last commit
	committed Summary // of the last successful commit
}

// Summary is what a batch adds, with capped labels: what metrics count once
// the batch is committed.
type Summary struct {
	Requests  map[string]int64      // by vendor
	Errors    map[ErrorLabels]int64 // by vendor, code, category, verdict
	Malformed map[string]int64      // by reason
	Skipped   map[string]int64      // by reason

	// The requests and errors again, split by the calling service (capped;
	// "" where none is known): they sum to Requests and Errors.
	ServiceRequests map[ServiceLabels]int64
	ServiceErrors   map[ServiceErrorLabels]int64
}

// ErrorLabels are the labels of an error counter.
type ErrorLabels struct {
	Vendor, Code, Category, Retry string
}

// ServiceLabels are the labels of a request counter split by service.
type ServiceLabels struct {
	Vendor, Service string
}

// ServiceErrorLabels are the labels of an error counter split by service.
type ServiceErrorLabels struct {
	ErrorLabels
	Service string
}

// Committed returns what the last successful Commit wrote, with the caps
// applied: what counters add. It is valid until the next Commit.
func (b *Batch) Committed() Summary { return b.committed }

func newSummary() Summary {
	return Summary{Requests: map[string]int64{}, Errors: map[ErrorLabels]int64{}, Malformed: map[string]int64{},
		Skipped: map[string]int64{}, ServiceRequests: map[ServiceLabels]int64{}, ServiceErrors: map[ServiceErrorLabels]int64{}}
}

type groupKey struct {
	vendor   string
	code     string
	status   int
	endpoint string
	category classify.Category
	retry    classify.Retry
	service  string
}

type errKey struct {
	bucket int64
	group  groupKey
}

type errAgg struct {
	rng         string
	known       bool
	count       int64
	first, last int64
	seq         int // the tally's line that first saw it
}

type reqKey struct {
	bucket  int64
	vendor  string
	service string
}

// epKey and epAgg: a (vendor, endpoint)'s requests, errors and latency.
type epKey struct {
	bucket           int64
	vendor, endpoint string
}

type epAgg struct {
	requests, errors int64
	hist             Histogram
}

type reqAgg struct {
	requests, errors, retryable int64
}

type malKey struct {
	bucket int64
	reason string
}

type sampleKey struct{ vendor, code, message string }

type sampleAgg struct {
	count int64
	last  int64
	known bool // the code is in the catalog
	seq   int  // the tally's line that first saw it
	// trace is the trace id of the latest line that had one, at traceAt.
	trace   string
	traceAt int64
}

// NewBatch returns an empty batch for db (which must be open for writing).
// What Add, AddMalformed and AddSkipped count is placed in time by db.Now
// (see Tally.Now), with no retention.
func (db *DB) NewBatch() *Batch {
	own := NewTally()
	own.Now = db.Now
	return &Batch{
		caps:      db.caps,
		limits:    db.Limits,
		own:       own,
		errs:      map[errKey]*errAgg{},
		reqs:      map[reqKey]*reqAgg{},
		eps:       map[epKey]*epAgg{},
		malformed: map[malKey]int64{},
		skipped:   map[malKey]int64{},
		samples:   map[sampleKey]*sampleAgg{},
		positions: map[ingest.FileKey]ingest.Position{},
		known:     map[ErrorLabels]bool{},
		summary:   newSummary(),
		committed: newSummary(),
	}
}

// Len is the number of requests, malformed and skipped lines in the batch.
func (b *Batch) Len() int { return b.n + b.own.n }

// Add counts one classified request at time t (see Tally.Add).
func (b *Batch) Add(t time.Time, ev *classify.Event, endpoint string) { b.own.Add(t, ev, endpoint) }

// AddCall counts one classified request at time t (see Tally.AddCall).
func (b *Batch) AddCall(t time.Time, ev *classify.Event, c Call) { b.own.AddCall(t, ev, c) }

// AddMalformed counts one malformed line at time t.
func (b *Batch) AddMalformed(t time.Time, reason string) { b.own.AddMalformed(t, reason) }

// AddSkipped counts one skipped line at time t (see Tally.AddSkipped).
func (b *Batch) AddSkipped(t time.Time, reason string) { b.own.AddSkipped(t, reason) }

// Merge adds a tally's counts to the batch, folding vendors, codes and
// endpoints over their caps into Other. The tally is left as it was.
//
// What a cap admits depends only on the order in which values were first
// seen, never on map order or on how lines were split into tallies and
// batches: merged in input order, the same input gives the same counts.
func (b *Batch) Merge(t *Tally) {
	b.n += t.n
	// Most tallies bring no value the caps have not admitted: then no
	// label folds, and the keys are the batch's as they stand.
	fold := b.admit(t)
	for k, c := range t.calls {
		rk := reqKey{k.bucket, k.vendor, k.service}
		ek := epKey{k.bucket, k.vendor, k.endpoint}
		if fold {
			rk.vendor = b.caps.vendor(k.vendor, b.limits.Vendors)
			rk.service = b.caps.service(k.service, b.limits.Services)
			ek.vendor, ek.endpoint = rk.vendor, b.caps.endpoint(rk.vendor, k.endpoint, b.limits.EndpointsPerVendor)
		}
		r := b.reqs[rk]
		if r == nil {
			r = b.reqSlab.new()
			b.reqs[rk] = r
		}
		r.requests += c.requests
		r.errors += c.errors
		r.retryable += c.retryable
		e := b.eps[ek]
		if e == nil {
			e = b.epSlab.new()
			b.eps[ek] = e
		}
		e.requests += c.requests
		e.errors += c.errors
		e.hist.Merge(&c.hist)
	}
	for k, e := range t.errs {
		known := e.known
		if fold {
			g := &k.group
			vendor := b.caps.vendor(g.vendor, b.limits.Vendors)
			known = known && vendor == g.vendor
			code := b.caps.code(vendor, g.code, known, b.limits.CodesPerVendor)
			known = known && code == g.code
			g.vendor, g.code, g.endpoint = vendor, code, b.caps.endpoint(vendor, g.endpoint, b.limits.EndpointsPerVendor)
			g.service = b.caps.service(g.service, b.limits.Services)
		}
		m := b.errs[k]
		if m == nil {
			m = b.errSlab.new()
			*m = errAgg{rng: e.rng, first: e.first, last: e.last}
			b.errs[k] = m
		}
		m.known = m.known || known
		m.count += e.count
		m.first, m.last = min(m.first, e.first), max(m.last, e.last)
	}
	for k, n := range t.malformed {
		b.malformed[k] += n
	}
	for k, n := range t.skipped {
		b.skipped[k] += n
	}
	b.mergeSamples(t)
}

// summarize sets the batch's summary from its counts: what the lifetime
// totals and the counters add at its commit. Done once a commit over the
// batch's rows, not once a merge over each tally's.
func (b *Batch) summarize() {
	s := &b.summary
	for _, m := range []map[string]int64{s.Requests, s.Malformed, s.Skipped} {
		clear(m)
	}
	clear(s.Errors)
	clear(s.ServiceRequests)
	clear(s.ServiceErrors)
	clear(b.known)
	for k, r := range b.reqs {
		s.Requests[k.vendor] += r.requests
		s.ServiceRequests[ServiceLabels{k.vendor, k.service}] += r.requests
	}
	for k, e := range b.errs {
		g := &k.group
		l := ErrorLabels{g.vendor, g.code, string(g.category), string(g.retry)}
		s.Errors[l] += e.count
		s.ServiceErrors[ServiceErrorLabels{l, g.service}] += e.count
		if e.known {
			b.known[l] = true
		}
	}
	for k, n := range b.malformed {
		s.Malformed[k.reason] += n
	}
	for k, n := range b.skipped {
		s.Skipped[k.reason] += n
	}
}

// firstSight is a value a tally saw that the caps have not yet admitted.
type firstSight struct {
	seq                             int
	kind                            sightKind
	vendor, code, endpoint, service string
	known                           bool
}

type sightKind int

// The kinds of first sight, in the order one line's values are admitted.
const (
	sightCall  sightKind = iota // vendor, service and endpoint
	sightError                  // vendor, code and endpoint
)

// admit offers the caps the tally's new values in the order the tally first
// saw them: the first come are admitted, and first means first in the input.
// It reports whether the tally had any: only then may a label fold.
func (b *Batch) admit(t *Tally) bool {
	var news []firstSight
	for k, c := range t.calls {
		if !b.caps.hasVendor(k.vendor) || !b.caps.hasService(k.service) || !b.caps.endpoints[k.vendor][k.endpoint] {
			news = append(news, firstSight{seq: c.seq, kind: sightCall, vendor: k.vendor, service: k.service, endpoint: k.endpoint})
		}
	}
	for k, e := range t.errs {
		g := k.group
		if !b.caps.hasCode(g.vendor, g.code, e.known) || !b.caps.endpoints[g.vendor][g.endpoint] {
			news = append(news, firstSight{seq: e.seq, kind: sightError, vendor: g.vendor, code: g.code, endpoint: g.endpoint, known: e.known})
		}
	}
	if len(news) == 0 {
		return false
	}
	sort.Slice(news, func(i, j int) bool {
		if news[i].seq != news[j].seq {
			return news[i].seq < news[j].seq
		}
		return news[i].kind < news[j].kind
	})
	for _, f := range news {
		v := b.caps.vendor(f.vendor, b.limits.Vendors)
		switch f.kind {
		case sightCall:
			b.caps.service(f.service, b.limits.Services)
			b.caps.endpoint(v, f.endpoint, b.limits.EndpointsPerVendor)
		case sightError:
			b.caps.code(v, f.code, f.known && v == f.vendor, b.limits.CodesPerVendor)
			b.caps.endpoint(v, f.endpoint, b.limits.EndpointsPerVendor)
		}
	}
	return true
}

// mergeSamples adds the tally's sample messages of codes that were not
// folded; new messages take the room left in input order.
func (b *Batch) mergeSamples(t *Tally) {
	var fresh []sampleKey
	for k, s := range t.samples {
		if !b.caps.hasCode(k.vendor, k.code, s.known) {
			continue // folded into other: its messages are not its group's
		}
		if m := b.samples[k]; m != nil {
			m.count += s.count
			m.last = max(m.last, s.last)
			if s.trace != "" {
				m.setTrace(s.trace, s.traceAt)
			}
			continue
		}
		fresh = append(fresh, k)
	}
	sort.Slice(fresh, func(i, j int) bool { return t.samples[fresh[i]].seq < t.samples[fresh[j]].seq })
	for _, k := range fresh {
		if !b.caps.sampleRoom(k.vendor, k.code, k.message, b.limits.SamplesPerCode) {
			continue
		}
		s := t.samples[k]
		b.samples[k] = &sampleAgg{count: s.count, last: s.last, trace: s.trace, traceAt: s.traceAt}
	}
}

// SetPosition records how far an input has been read: the position is
// committed with the counts of the lines before it.
func (b *Batch) SetPosition(p ingest.Position) { b.positions[p.Key] = p }

// Positions returns the number of input positions in the batch.
func (b *Batch) Positions() int { return len(b.positions) }

// Commit writes the batch in one transaction: counts, samples and positions
// together, so a crash loses or repeats no line. The batch may be reused
// after a successful Commit; after a failed one it holds the same data and
// Commit may be retried.
func (db *DB) Commit(ctx context.Context, b *Batch) error {
	if b.own.n > 0 {
		b.Merge(b.own)
		b.own.Reset()
	}
	if b.n == 0 && len(b.positions) == 0 {
		clear(b.committed.Requests)
		clear(b.committed.Errors)
		clear(b.committed.Malformed)
		clear(b.committed.Skipped)
		return nil
	}
	b.summarize()
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("commit: %w", translate(err))
	}
	defer db.end()
	defer tx.Rollback()
	changed, err := upsertErrors(ctx, tx, db, b)
	if err != nil {
		return fmt.Errorf("commit: %w", translate(err))
	}
	db.writes.blobs = db.writes.blobs[:0]
	now := ms(db.Now())
	for _, step := range []func(context.Context, *sql.Tx, *DB, *Batch, int64) error{
		upsertRequests, upsertEndpoints, upsertMalformed, upsertSkipped, upsertLifetime, upsertSamples, upsertPositions,
	} {
		if err := step(ctx, tx, db, b, now); err != nil {
			return fmt.Errorf("commit: %w", translate(err))
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", translate(err))
	}
	maps.Copy(db.groups, changed) // only now are the new ids and firsts real
	b.committed, b.summary = b.summary, b.committed
	b.reset()
	return nil
}

// groupStmts are the statements that create error groups, prepared in a
// commit's transaction when it first meets a new group, and the one that
// moves a group's first line earlier.
type groupStmts struct{ insert, lookup, lower *sql.Stmt }

func (g *groupStmts) close() {
	for _, s := range []*sql.Stmt{g.insert, g.lookup, g.lower} {
		if s != nil {
			s.Close()
		}
	}
}

// groupRef is what the writer keeps of an error group: its id and its
// first line ever (error_groups.first_seen; 0 where not known).
type groupRef struct{ id, first int64 }

// newGroup creates an error group whose first line is e's, and returns it.
func (g *groupStmts) newGroup(ctx context.Context, tx *sql.Tx, k groupKey, e *errAgg) (groupRef, error) {
	var err error
	if g.insert == nil {
		if g.insert, err = tx.PrepareContext(ctx, `
			INSERT OR IGNORE INTO error_groups (vendor, code, http_status, endpoint, category, retry, range_name, known, service, first_seen)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`); err != nil {
			return groupRef{}, err
		}
	}
	if g.lookup == nil {
		if g.lookup, err = tx.PrepareContext(ctx, `
			SELECT id, first_seen FROM error_groups WHERE vendor = ? AND code = ? AND http_status = ? AND endpoint = ? AND category = ? AND retry = ? AND service = ?`); err != nil {
			return groupRef{}, err
		}
	}
	if _, err := g.insert.ExecContext(ctx, k.vendor, k.code, k.status, k.endpoint, string(k.category), string(k.retry), e.rng, e.known, k.service, e.first); err != nil {
		return groupRef{}, err
	}
	var r groupRef
	err = g.lookup.QueryRowContext(ctx, k.vendor, k.code, k.status, k.endpoint, string(k.category), string(k.retry), k.service).Scan(&r.id, &r.first)
	return r, err
}

// lowerFirst moves group id's first line to first if that is earlier.
func (g *groupStmts) lowerFirst(ctx context.Context, tx *sql.Tx, id, first int64) error {
	var err error
	if g.lower == nil {
		if g.lower, err = tx.PrepareContext(ctx, `
			UPDATE error_groups SET first_seen = ?2 WHERE id = ?1 AND (first_seen = 0 OR first_seen > ?2)`); err != nil {
			return err
		}
	}
	_, err = g.lower.ExecContext(ctx, id, first)
	return err
}

func (b *Batch) reset() {
	clear(b.summary.Requests)
	clear(b.summary.Errors)
	clear(b.summary.Malformed)
	clear(b.summary.Skipped)
	clear(b.summary.ServiceRequests)
	clear(b.summary.ServiceErrors)
	clear(b.errs)
	clear(b.reqs)
	clear(b.eps)
	clear(b.malformed)
	clear(b.skipped)
	clear(b.known)
	clear(b.samples)
	clear(b.positions)
	b.reqSlab.reset()
	b.epSlab.reset()
	b.errSlab.reset()
	b.n = 0
}

// upsertErrors writes the batch's error counts, creating the groups not
// seen before and moving earlier the first line of those the batch has
// earlier lines of (lines out of order, or a file read late); it returns
// the groups it created or changed, which the database's cache of groups
// takes once the transaction commits.
func upsertErrors(ctx context.Context, tx *sql.Tx, db *DB, b *Batch) (changed map[groupKey]groupRef, err error) {
	if len(b.errs) == 0 {
		return nil, nil
	}
	var stmts groupStmts
	defer stmts.close()
	rows := db.writes.errRows[:0]
	for k, e := range b.errs {
		g, ok := changed[k.group]
		if !ok {
			g, ok = db.groups[k.group]
		}
		dirty := !ok // a group the cache does not hold yet
		if !ok {
			if g, err = stmts.newGroup(ctx, tx, k.group, e); err != nil {
				return nil, err
			}
		}
		// Lines earlier than the group's first (or a group created by an
		// earlier bucket of this batch, or there before with later lines).
		if e.first < g.first || g.first == 0 {
			if err := stmts.lowerFirst(ctx, tx, g.id, e.first); err != nil {
				return nil, err
			}
			g.first, dirty = e.first, true
		}
		if dirty {
			if changed == nil {
				changed = map[groupKey]groupRef{}
			}
			changed[k.group] = g
		}
		rows = append(rows, errRow{k.bucket, g.id, e})
	}
	db.writes.errRows = rows[:0]
	// In key order: neighbouring rows share the B-tree's pages.
	slices.SortFunc(rows, func(a, b errRow) int {
		if c := cmp.Compare(a.bucket, b.bucket); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	w := db.rows(ctx, upsertErrorCounts)
	for _, r := range rows {
		if err := w.add(r.bucket, r.id, r.e.count, r.e.first, r.e.last); err != nil {
			return nil, err
		}
	}
	return changed, w.flush()
}

// errRow is an error_counts row being written.
type errRow struct {
	bucket, id int64
	e          *errAgg
}

// sortedKeys returns m's keys in the order of less.
func sortedKeys[K comparable, V any](m map[K]V, compare func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compare)
	return keys
}

func compareReqKeys(a, b reqKey) int {
	if c := cmp.Compare(a.bucket, b.bucket); c != 0 {
		return c
	}
	if c := strings.Compare(a.vendor, b.vendor); c != 0 {
		return c
	}
	return strings.Compare(a.service, b.service)
}

func upsertRequests(ctx context.Context, tx *sql.Tx, db *DB, b *Batch, _ int64) error {
	if len(b.reqs) == 0 {
		return nil
	}
	hours := make(map[reqKey]*reqAgg, len(b.reqs))
	for k, r := range b.reqs {
		k.bucket -= k.bucket % Hour
		h := hours[k]
		if h == nil {
			h = &reqAgg{}
			hours[k] = h
		}
		h.requests += r.requests
		h.errors += r.errors
		h.retryable += r.retryable
	}
	for _, t := range []struct {
		u    *upsert
		rows map[reqKey]*reqAgg
	}{{upsertRequestCounts, b.reqs}, {upsertRequestHours, hours}} {
		w := db.rows(ctx, t.u)
		for _, k := range sortedKeys(t.rows, compareReqKeys) {
			r := t.rows[k]
			if err := w.add(k.bucket, k.vendor, k.service, r.requests, r.errors, r.retryable); err != nil {
				return err
			}
		}
		if err := w.flush(); err != nil {
			return err
		}
	}
	return nil
}

func upsertMalformed(ctx context.Context, tx *sql.Tx, db *DB, b *Batch, _ int64) error {
	return upsertReasons(ctx, tx, db, upsertMalformedRows, b.malformed)
}

func upsertSkipped(ctx context.Context, tx *sql.Tx, db *DB, b *Batch, _ int64) error {
	return upsertReasons(ctx, tx, db, upsertSkippedRows, b.skipped)
}

func upsertReasons(ctx context.Context, tx *sql.Tx, db *DB, u *upsert, counts map[malKey]int64) error {
	w := db.rows(ctx, u)
	for k, n := range counts {
		if err := w.add(k.bucket, k.reason, n); err != nil {
			return err
		}
	}
	return w.flush()
}

// upsertLifetime adds the batch's summary to the lifetime totals, in the
// same transaction as the buckets: the two never disagree about a line.
// Requests and errors are kept per service; a vendor's total is the sum.
func upsertLifetime(ctx context.Context, tx *sql.Tx, db *DB, b *Batch, _ int64) error {
	w := db.rows(ctx, upsertLifetimeRows)
	add := func(metric, vendor, code, category, retry, reason, service string, known bool, n int64) error {
		if n == 0 {
			return nil
		}
		return w.add(metric, vendor, code, category, retry, reason, service, known, n)
	}
	s := &b.summary
	for l, n := range s.ServiceRequests {
		if err := add("requests", l.Vendor, "", "", "", "", l.Service, false, n); err != nil {
			return err
		}
	}
	for l, n := range s.ServiceErrors {
		if err := add("errors", l.Vendor, l.Code, l.Category, l.Retry, "", l.Service, b.known[l.ErrorLabels], n); err != nil {
			return err
		}
	}
	for r, n := range s.Malformed {
		if err := add("malformed", "", "", "", "", r, "", false, n); err != nil {
			return err
		}
	}
	for r, n := range s.Skipped {
		if err := add("skipped", "", "", "", "", r, "", false, n); err != nil {
			return err
		}
	}
	return w.flush()
}

func upsertSamples(ctx context.Context, tx *sql.Tx, db *DB, b *Batch, _ int64) error {
	w := db.rows(ctx, upsertSampleRows)
	for k, s := range b.samples {
		if err := w.add(k.vendor, k.code, k.message, s.count, s.last, s.trace, s.traceAt); err != nil {
			return err
		}
	}
	return w.flush()
}

func upsertPositions(ctx context.Context, tx *sql.Tx, db *DB, b *Batch, now int64) error {
	w := db.rows(ctx, upsertCheckpoints)
	for _, p := range b.positions {
		if err := w.add(int64(p.Key.Dev), int64(p.Key.Ino), p.Path, p.Offset, nonNil(p.Fingerprint), p.PrevOffset,
			nonNil(p.PrevFingerprint), encodeTruncations(p.Earlier), now); err != nil {
			return err
		}
	}
	return w.flush()
}

// encodeTruncations packs a position's earlier truncations: for each, its
// offset (8 bytes) and its fingerprint's length (2 bytes), then the
// fingerprint.
func encodeTruncations(ts []ingest.Truncation) []byte {
	b := []byte{}
	for _, t := range ts {
		if len(t.Fingerprint) > math.MaxUint16 {
			continue
		}
		b = binary.BigEndian.AppendUint64(b, uint64(t.Offset))
		b = binary.BigEndian.AppendUint16(b, uint16(len(t.Fingerprint)))
		b = append(b, t.Fingerprint...)
	}
	return b
}

// decodeTruncations unpacks encodeTruncations; what does not parse is
// dropped (a copy of such a truncation is then read from its start).
func decodeTruncations(b []byte) []ingest.Truncation {
	var ts []ingest.Truncation
	for len(b) >= 10 {
		off, n := int64(binary.BigEndian.Uint64(b)), int(binary.BigEndian.Uint16(b[8:]))
		if len(b) < 10+n {
			break
		}
		ts = append(ts, ingest.Truncation{Offset: off, Fingerprint: bytes.Clone(b[10 : 10+n])})
		b = b[10+n:]
	}
	return ts
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Positions returns every saved input position.
func (db *DB) Positions(ctx context.Context) ([]ingest.Position, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT dev, ino, path, offset, fingerprint, prev_offset, prev_fingerprint, earlier FROM checkpoints ORDER BY path`)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []ingest.Position
	for rows.Next() {
		var p ingest.Position
		var dev, ino int64
		var earlier []byte
		if err := rows.Scan(&dev, &ino, &p.Path, &p.Offset, &p.Fingerprint, &p.PrevOffset, &p.PrevFingerprint, &earlier); err != nil {
			return nil, err
		}
		p.Earlier = decodeTruncations(earlier)
		p.Key = ingest.FileKey{Dev: uint64(dev), Ino: uint64(ino)}
		out = append(out, p)
	}
	return out, rows.Err()
}
