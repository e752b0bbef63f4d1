package storage

import (
	"context"
	"database/sql"
	"time"
)

// GroupSeries returns each (vendor, code) group's errors per step over
// [from, to), one value per step, oldest first: the trend of one failure.
func (db *DB) GroupSeries(ctx context.Context, from, to time.Time, step time.Duration) (map[[2]string][]int64, error) {
	return db.FailureSeries(ctx, from, to, step, Filter{})
}

// FailureSeries is GroupSeries of the errors that pass f.
func (db *DB) FailureSeries(ctx context.Context, from, to time.Time, step time.Duration, f Filter) (map[[2]string][]int64, error) {
	w, err := db.WindowErrors(ctx, from, to, step, f)
	return w.Trend, err
}

// FirstSeen returns when each (vendor, code) group was first seen in all
// the data the database holds, not only a window's.
func (db *DB) FirstSeen(ctx context.Context) (map[[2]string]time.Time, error) {
	return db.FirstSeenEver(ctx, Filter{})
}

// FirstSeenEver is FirstSeen of the errors that pass f: the first line
// each group was created with, or moved earlier to (error_groups
// first_seen), kept while the group has buckets.
//
// A database no writer has migrated to that (0006) has a full index of
// its counts by group, and reads each group's first hour of buckets: a
// bucket is at most an hour long and no line in it is older than its
// start, so no later bucket holds an earlier line.
func (db *DB) FirstSeenEver(ctx context.Context, f Filter) (map[[2]string]time.Time, error) {
	out := map[[2]string]time.Time{}
	query := `SELECT vendor, code, MIN(first_seen) FROM error_groups
		WHERE first_seen > 0 AND (?1 = '' OR vendor = ?1) AND (?2 = '' OR ` + db.col("service") + ` = ?2)
		GROUP BY vendor, code`
	if db.beforeGroupFirst {
		query = `SELECT g.vendor, g.code, MIN(c.first_seen) FROM error_groups g JOIN error_counts c ON c.group_id = g.id
			AND c.bucket < (SELECT MIN(bucket) FROM error_counts WHERE group_id = g.id) + 3600000
		WHERE (?1 = '' OR g.vendor = ?1) AND (?2 = '' OR ` + db.col("g.service") + ` = ?2)
		GROUP BY g.vendor, g.code`
	}
	err := db.each(ctx, func(rows *sql.Rows) error {
		var k [2]string
		var first int64
		if err := rows.Scan(&k[0], &k[1], &first); err != nil {
			return err
		}
		out[k] = fromMS(first)
		return nil
	}, query, f.Vendor, f.Service)
	return out, err
}
