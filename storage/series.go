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
	n := int((to.Sub(from) + step - 1) / step)
	if n <= 0 || n > 10000 {
		return nil, nil
	}
	out := map[[2]string][]int64{}
	err := db.each(ctx, func(rows *sql.Rows) error {
		var k [2]string
		var i, count int64
		if err := rows.Scan(&k[0], &k[1], &i, &count); err != nil {
			return err
		}
		s := out[k]
		if s == nil {
			s = make([]int64, n)
			out[k] = s
		}
		if i >= 0 && int(i) < n {
			s[i] += count
		}
		return nil
	}, `SELECT g.vendor, g.code, (c.bucket - ?1) / ?3 AS i, SUM(c.count)
		FROM error_counts c JOIN error_groups g ON g.id = c.group_id
		WHERE c.bucket >= ?1 AND c.bucket < ?2 AND (?4 = '' OR g.vendor = ?4) AND (?5 = '' OR `+db.col("g.service")+` = ?5)
		GROUP BY g.vendor, g.code, i`, ms(from), ms(to), step.Milliseconds(), f.Vendor, f.Service)
	return out, err
}

// FirstSeen returns when each (vendor, code) group was first seen in all
// the data the database holds, not only a window's.
func (db *DB) FirstSeen(ctx context.Context) (map[[2]string]time.Time, error) {
	return db.FirstSeenEver(ctx, Filter{})
}

// FirstSeenEver is FirstSeen of the errors that pass f.
func (db *DB) FirstSeenEver(ctx context.Context, f Filter) (map[[2]string]time.Time, error) {
	out := map[[2]string]time.Time{}
	err := db.each(ctx, func(rows *sql.Rows) error {
		var k [2]string
		var first int64
		if err := rows.Scan(&k[0], &k[1], &first); err != nil {
			return err
		}
		out[k] = fromMS(first)
		return nil
	}, `SELECT g.vendor, g.code, MIN(c.first_seen) FROM error_counts c JOIN error_groups g ON g.id = c.group_id
		WHERE (?1 = '' OR g.vendor = ?1) AND (?2 = '' OR `+db.col("g.service")+` = ?2)
		GROUP BY g.vendor, g.code`, f.Vendor, f.Service)
	return out, err
}
