package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
)

// A commit writes thousands of rows when traffic is diverse. Each table's
// rows go through one multi-row upsert with up to rowsPerExec[0] rows an
// execution: a statement step and a cgo call serve many rows, not one.
// The statements are the SQLite driver's own, prepared on the writer's
// one connection and reused by every commit, and executed with a reused
// argument list: through database/sql, each execution allocated its
// arguments anew, a third of what a diverse ingest allocated.

// upsert is an INSERT … VALUES … ON CONFLICT statement of cols columns.
type upsert struct {
	head     string // up to and including VALUES
	conflict string // the ON CONFLICT clause
	cols     int
}

// rowsPerExec are the row counts statements are prepared for: the rows of
// a table go out in the largest that fit, so a table of any size takes
// few executions.
var rowsPerExec = [...]int{64, 16, 4, 1}

// text returns the statement for n rows.
func (u *upsert) text(n int) string {
	var b strings.Builder
	b.WriteString(u.head)
	row := "(" + strings.Repeat("?, ", u.cols-1) + "?)"
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteByte(' ')
	b.WriteString(u.conflict)
	return b.String()
}

// writeCache is the writer's prepared statements and reusable buffers.
type writeCache struct {
	conn    *sql.Conn // the connection of the commit that runs, else nil
	dc      any       // the driver connection the statements belong to
	stmts   map[*upsert]*[len(rowsPerExec)]driver.Stmt
	args    []any
	named   []driver.NamedValue
	blobs   []byte
	errRows []errRow // upsertErrors' rows, kept for the next commit
}

// begin starts a commit's transaction on the writer's connection, which
// the row writers then use directly.
func (db *DB) begin(ctx context.Context) (*sql.Tx, error) {
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	db.writes.conn = conn
	return tx, nil
}

// end gives the commit's connection back to the pool, after its
// transaction ended.
func (db *DB) end() {
	if db.writes.conn != nil {
		db.writes.conn.Close()
		db.writes.conn = nil
	}
}

// closeStmts finalizes the prepared statements, before the database is
// closed.
func (db *DB) closeStmts() {
	w := &db.writes
	for _, set := range w.stmts {
		for _, s := range set {
			if s != nil {
				s.Close()
			}
		}
	}
	w.stmts, w.dc = nil, nil
}

// stmt returns the statement of u for rowsPerExec[i] rows on dc, the
// commit's driver connection, preparing it the first time.
func (db *DB) stmt(ctx context.Context, dc any, u *upsert, i int) (driver.Stmt, error) {
	w := &db.writes
	if w.dc != dc { // a new connection: the statements were another's
		db.closeStmts()
		w.dc = dc
	}
	if w.stmts == nil {
		w.stmts = map[*upsert]*[len(rowsPerExec)]driver.Stmt{}
	}
	set := w.stmts[u]
	if set == nil {
		set = new([len(rowsPerExec)]driver.Stmt)
		w.stmts[u] = set
	}
	if set[i] == nil {
		prep, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return nil, fmt.Errorf("the SQLite driver cannot prepare statements with a context")
		}
		s, err := prep.PrepareContext(ctx, u.text(rowsPerExec[i]))
		if err != nil {
			return nil, err
		}
		set[i] = s
	}
	return set[i], nil
}

// rowWriter writes one table's rows in a commit: add each row's values,
// then flush.
type rowWriter struct {
	ctx  context.Context
	db   *DB
	u    *upsert
	args []any
}

func (db *DB) rows(ctx context.Context, u *upsert) *rowWriter {
	return &rowWriter{ctx: ctx, db: db, u: u, args: db.writes.args[:0]}
}

// add appends one row's values; a full statement's worth is executed.
func (r *rowWriter) add(vals ...any) error {
	r.args = append(r.args, vals...)
	if len(r.args) >= rowsPerExec[0]*r.u.cols {
		return r.exec()
	}
	return nil
}

// flush executes the rows added and not yet executed.
func (r *rowWriter) flush() error {
	for len(r.args) > 0 {
		if err := r.exec(); err != nil {
			return err
		}
	}
	r.db.writes.args = r.args[:0] // keep the grown buffer
	return nil
}

// exec executes the largest prepared statement that the pending rows fill,
// in the commit's transaction.
func (r *rowWriter) exec() error {
	rows := len(r.args) / r.u.cols
	i := 0
	for rowsPerExec[i] > rows {
		i++
	}
	n := rowsPerExec[i] * r.u.cols
	w := &r.db.writes
	err := w.conn.Raw(func(dc any) error {
		s, err := r.db.stmt(r.ctx, dc, r.u, i)
		if err != nil {
			return err
		}
		named := w.named[:0]
		for j, a := range r.args[:n] {
			v, err := driverValue(a)
			if err != nil {
				return err
			}
			named = append(named, driver.NamedValue{Ordinal: j + 1, Value: v})
		}
		w.named = named
		ex, ok := s.(driver.StmtExecContext)
		if !ok {
			return fmt.Errorf("the SQLite driver cannot execute statements with a context")
		}
		_, err = ex.ExecContext(r.ctx, named)
		clear(named)
		return err
	})
	if err != nil {
		return err
	}
	rest := copy(r.args, r.args[n:])
	clear(r.args[rest:])
	r.args = r.args[:rest]
	return nil
}

// driverValue converts a row's value as database/sql would.
func driverValue(a any) (driver.Value, error) {
	switch a.(type) {
	case int64, string, []byte, bool, nil:
		return a, nil
	}
	return driver.DefaultParameterConverter.ConvertValue(a)
}

// blob returns a copy of b that stays valid until the commit ends.
func (db *DB) blob(b []byte) []byte {
	if len(b) == 0 {
		return []byte{}
	}
	w := &db.writes
	if cap(w.blobs)-len(w.blobs) < len(b) {
		w.blobs = make([]byte, 0, max(64<<10, 2*len(b)))
	}
	start := len(w.blobs)
	w.blobs = append(w.blobs, b...)
	return w.blobs[start:len(w.blobs):len(w.blobs)]
}

// The upserts of a commit.
var (
	upsertErrorCounts = &upsert{
		head: `INSERT INTO error_counts (bucket, group_id, count, first_seen, last_seen) VALUES`,
		conflict: `ON CONFLICT (bucket, group_id) DO UPDATE SET
			count = count + excluded.count,
			first_seen = MIN(first_seen, excluded.first_seen),
			last_seen = MAX(last_seen, excluded.last_seen)`,
		cols: 5,
	}
	upsertRequestCounts = requestUpsert("request_counts")
	upsertRequestHours  = requestUpsert("request_hours")
	upsertEndpointMins  = endpointUpsert("endpoint_minutes")
	upsertEndpointHours = endpointUpsert("endpoint_hours")
	upsertMalformedRows = reasonUpsert("malformed_counts")
	upsertSkippedRows   = reasonUpsert("skipped_counts")
	upsertLifetimeRows  = &upsert{
		head: `INSERT INTO lifetime_counts (metric, vendor, code, category, retry, reason, service, known, count) VALUES`,
		conflict: `ON CONFLICT (metric, vendor, code, category, retry, reason, service) DO UPDATE SET
			count = count + excluded.count, known = MAX(known, excluded.known)`,
		cols: 9,
	}
	upsertSampleRows = &upsert{
		head: `INSERT INTO samples (vendor, code, message, count, last_seen, trace_id, trace_at) VALUES`,
		conflict: `ON CONFLICT (vendor, code, message) DO UPDATE SET
			count = count + excluded.count, last_seen = MAX(last_seen, excluded.last_seen),
			trace_id = CASE WHEN excluded.trace_at > trace_at OR excluded.trace_at = trace_at AND excluded.trace_id > trace_id
				THEN excluded.trace_id ELSE trace_id END,
			trace_at = MAX(trace_at, excluded.trace_at)`,
		cols: 7,
	}
	upsertCheckpoints = &upsert{
		head: `INSERT INTO checkpoints (dev, ino, path, offset, fingerprint, prev_offset, prev_fingerprint, earlier, updated_at) VALUES`,
		conflict: `ON CONFLICT (dev, ino) DO UPDATE SET
			path = excluded.path, offset = excluded.offset, fingerprint = excluded.fingerprint,
			prev_offset = excluded.prev_offset, prev_fingerprint = excluded.prev_fingerprint,
			earlier = excluded.earlier, updated_at = excluded.updated_at`,
		cols: 9,
	}
)

func requestUpsert(table string) *upsert {
	return &upsert{
		head: `INSERT INTO ` + table + ` (bucket, vendor, service, requests, errors, retryable) VALUES`,
		conflict: `ON CONFLICT (bucket, vendor, service) DO UPDATE SET
			requests = requests + excluded.requests,
			errors = errors + excluded.errors,
			retryable = retryable + excluded.retryable`,
		cols: 6,
	}
}

func endpointUpsert(table string) *upsert {
	return &upsert{
		head: `INSERT INTO ` + table + ` (bucket, vendor, endpoint, requests, errors, hist) VALUES`,
		conflict: `ON CONFLICT (bucket, vendor, endpoint) DO UPDATE SET
			requests = requests + excluded.requests,
			errors = errors + excluded.errors,
			hist = CASE WHEN length(excluded.hist) = 0 THEN hist WHEN length(hist) = 0 THEN excluded.hist
				ELSE apierr_hist_add(hist, excluded.hist) END`,
		cols: 6,
	}
}

func reasonUpsert(table string) *upsert {
	return &upsert{
		head:     `INSERT INTO ` + table + ` (bucket, reason, count) VALUES`,
		conflict: `ON CONFLICT (bucket, reason) DO UPDATE SET count = count + excluded.count`,
		cols:     3,
	}
}
