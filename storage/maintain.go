package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"
)

// Maintain rolls minute buckets older than rollupAfter into hour buckets
// and deletes buckets older than retention, in one transaction. It keeps
// 30 days small: at most 24 rows a day per group once rolled up. Latency
// histograms roll up too: their hour rows are written with the minutes. The
// lifetime totals (Lifetime) are never pruned.
func (db *DB) Maintain(ctx context.Context, rollupAfter, retention time.Duration) error {
	if err := db.rollupAndPrune(ctx, rollupAfter, retention); err != nil {
		return err
	}
	// Fresh statistics let the planner pick the covering index for long
	// windows; sampling keeps ANALYZE cheap on large tables.
	if _, err := db.db.ExecContext(ctx, `PRAGMA analysis_limit = 1000; ANALYZE`); err != nil {
		return fmt.Errorf("analyze: %w", translate(err))
	}
	// Pruning may have removed whole vendors, codes or endpoints.
	c, err := db.loadCaps(ctx)
	if err != nil {
		return fmt.Errorf("maintain: %w", translate(err))
	}
	*db.caps = *c
	if db.groups, err = db.loadGroups(ctx); err != nil {
		return fmt.Errorf("maintain: %w", translate(err))
	}
	return nil
}

// rollupAndPrune is Maintain's transaction. It runs on a connection of
// its own with foreign keys off: deleting an error group makes SQLite look
// for the group's counts, and only hour rows are indexed by group, so
// each group deleted would read every count (19.5 s for 1,000 groups over
// 600,000 counts). prune deletes only groups that have no counts left.
func (db *DB) rollupAndPrune(ctx context.Context, rollupAfter, retention time.Duration) error {
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("maintain: %w", translate(err))
	}
	defer conn.Close()
	// Outside the transaction: inside one the pragma does nothing.
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return fmt.Errorf("maintain: %w", translate(err))
	}
	defer func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`); err != nil {
			// A connection left without foreign keys is not put back.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("maintain: %w", translate(err))
	}
	defer tx.Rollback()
	now := ms(db.Now())
	if err := rollup(ctx, tx, now-rollupAfter.Milliseconds()); err != nil {
		return fmt.Errorf("roll up: %w", translate(err))
	}
	if retention > 0 {
		if err := prune(ctx, tx, now-retention.Milliseconds()); err != nil {
			return fmt.Errorf("prune: %w", translate(err))
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("maintain: %w", translate(err))
	}
	return nil
}

// rollup merges every minute bucket before cutoff into the bucket of its
// hour. An hour's first minute bucket is the hour bucket itself. The
// cutoff is kept (meta rolled_before): the hours before it have no minute
// rows of endpoints.
func rollup(ctx context.Context, tx *sql.Tx, cutoff int64) error {
	cutoff -= cutoff % Hour
	if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('rolled_before', ?1)
		ON CONFLICT (key) DO UPDATE SET value = MAX(CAST(value AS INTEGER), ?1)`, cutoff); err != nil {
		return err
	}
	stmts := []string{
		`INSERT INTO error_counts (bucket, group_id, count, first_seen, last_seen)
		 SELECT bucket - bucket % 3600000 AS hour, group_id, SUM(count), MIN(first_seen), MAX(last_seen)
		 FROM error_counts WHERE bucket < ?1 AND bucket % 3600000 != 0
		 GROUP BY hour, group_id
		 ON CONFLICT (bucket, group_id) DO UPDATE SET
			count = count + excluded.count,
			first_seen = MIN(first_seen, excluded.first_seen),
			last_seen = MAX(last_seen, excluded.last_seen)`,
		`DELETE FROM error_counts WHERE bucket < ?1 AND bucket % 3600000 != 0`,
		`INSERT INTO request_counts (bucket, vendor, service, requests, errors, retryable)
		 SELECT bucket - bucket % 3600000 AS hour, vendor, service, SUM(requests), SUM(errors), SUM(retryable)
		 FROM request_counts WHERE bucket < ?1 AND bucket % 3600000 != 0 GROUP BY hour, vendor, service
		 ON CONFLICT (bucket, vendor, service) DO UPDATE SET
			requests = requests + excluded.requests, errors = errors + excluded.errors, retryable = retryable + excluded.retryable`,
		`DELETE FROM request_counts WHERE bucket < ?1 AND bucket % 3600000 != 0`,
		`INSERT INTO malformed_counts (bucket, reason, count)
		 SELECT bucket - bucket % 3600000 AS hour, reason, SUM(count)
		 FROM malformed_counts WHERE bucket < ?1 AND bucket % 3600000 != 0 GROUP BY hour, reason
		 ON CONFLICT (bucket, reason) DO UPDATE SET count = count + excluded.count`,
		`DELETE FROM malformed_counts WHERE bucket < ?1 AND bucket % 3600000 != 0`,
		`INSERT INTO skipped_counts (bucket, reason, count)
		 SELECT bucket - bucket % 3600000 AS hour, reason, SUM(count)
		 FROM skipped_counts WHERE bucket < ?1 AND bucket % 3600000 != 0 GROUP BY hour, reason
		 ON CONFLICT (bucket, reason) DO UPDATE SET count = count + excluded.count`,
		`DELETE FROM skipped_counts WHERE bucket < ?1 AND bucket % 3600000 != 0`,
		// Endpoint hours were written along with their minutes.
		`DELETE FROM endpoint_minutes WHERE bucket < ?1`,
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s, cutoff); err != nil {
			return err
		}
	}
	return nil
}

func prune(ctx context.Context, tx *sql.Tx, cutoff int64) error {
	res, err := tx.ExecContext(ctx, `DELETE FROM error_counts WHERE bucket < ?1`, cutoff)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n > 0 {
		// Groups left with no counts go. This reads every count (no
		// index has them all by group), so only when counts went.
		if _, err := tx.ExecContext(ctx, `DELETE FROM error_groups WHERE id NOT IN (SELECT DISTINCT group_id FROM error_counts)`); err != nil {
			return err
		}
	}
	for _, s := range []string{
		`DELETE FROM request_counts WHERE bucket < ?1`,
		`DELETE FROM request_hours WHERE bucket < ?1`,
		`DELETE FROM malformed_counts WHERE bucket < ?1`,
		`DELETE FROM skipped_counts WHERE bucket < ?1`,
		`DELETE FROM endpoint_minutes WHERE bucket < ?1`,
		`DELETE FROM endpoint_hours WHERE bucket < ?1`,
		`DELETE FROM samples WHERE last_seen < ?1`,
		`DELETE FROM checkpoints WHERE updated_at < ?1`,
	} {
		if _, err := tx.ExecContext(ctx, s, cutoff); err != nil {
			return err
		}
	}
	return nil
}
