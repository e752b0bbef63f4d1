package storage

import (
	"context"
	"database/sql"
)

// caps tracks the distinct vendors, codes and endpoints the database
// holds, so a hostile log cannot grow it without bound: a value over its
// cap is stored as Other. It is owned by the writer.
type caps struct {
	vendors   map[string]bool
	codes     map[string]map[string]bool // vendor → codes
	endpoints map[string]map[string]bool // vendor → endpoints
	samples   map[[2]string]int          // (vendor, code) → messages stored
}

func (db *DB) loadCaps(ctx context.Context) (*caps, error) {
	c := &caps{vendors: map[string]bool{}, codes: map[string]map[string]bool{},
		endpoints: map[string]map[string]bool{}, samples: map[[2]string]int{}}
	load := func(query string, add func(a, b string)) error {
		var a, b string
		return db.each(ctx, func(rows *sql.Rows) error {
			err := rows.Scan(&a, &b)
			add(a, b)
			return err
		}, query)
	}
	steps := []struct {
		query string
		add   func(a, b string)
	}{
		{`SELECT DISTINCT vendor, '' FROM request_counts`, func(v, _ string) { c.vendors[v] = true }},
		{`SELECT DISTINCT vendor, code FROM error_groups`, func(v, code string) { set(c.codes, v)[code] = true }},
		{`SELECT DISTINCT vendor, endpoint FROM error_groups`, func(v, e string) { set(c.endpoints, v)[e] = true }},
		{`SELECT vendor, code FROM samples`, func(v, code string) { c.samples[[2]string{v, code}]++ }},
	}
	for _, s := range steps {
		if err := load(s.query, s.add); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// loadGroups reads the ids of the error groups (writer only).
func (db *DB) loadGroups(ctx context.Context) (map[groupKey]int64, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT id, vendor, code, http_status, endpoint, category, retry FROM error_groups`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	groups := map[groupKey]int64{}
	for rows.Next() {
		var id int64
		var g groupKey
		if err := rows.Scan(&id, &g.vendor, &g.code, &g.status, &g.endpoint, &g.category, &g.retry); err != nil {
			return nil, err
		}
		groups[g] = id
	}
	return groups, rows.Err()
}

func set(m map[string]map[string]bool, k string) map[string]bool {
	s := m[k]
	if s == nil {
		s = map[string]bool{}
		m[k] = s
	}
	return s
}

// admit returns v if s holds it or has room for it (recording it), else Other.
func admit(s map[string]bool, v string, limit int) string {
	if s[v] {
		return v
	}
	if limit > 0 && len(s) >= limit {
		return Other
	}
	s[v] = true
	return v
}

func (c *caps) vendor(v string, limit int) string { return admit(c.vendors, v, limit) }

func (c *caps) code(vendor, code string, limit int) string {
	return admit(set(c.codes, vendor), code, limit)
}

func (c *caps) endpoint(vendor, e string, limit int) string {
	return admit(set(c.endpoints, vendor), e, limit)
}

// sampleRoom reports whether (vendor, code) may keep one more distinct
// message, and counts it if so.
func (c *caps) sampleRoom(vendor, code string, limit int) bool {
	k := [2]string{vendor, code}
	if c.samples[k] >= limit {
		return false
	}
	c.samples[k]++
	return true
}
