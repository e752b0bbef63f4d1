package storage

import (
	"context"
	"database/sql"
	"hash/maphash"
	"slices"
)

// caps tracks the distinct vendors, codes and endpoints the database
// holds, so a hostile log cannot grow it without bound: a value over its
// cap is stored as Other. It is owned by the writer.
//
// Caps bound what no catalog knows; the catalogs bound the rest. A catalog
// vendor (DB.KnownVendors) and, under a vendor that is not folded, a code
// its catalog knows (classify.Event.Known) pass and take no room. Vendors
// and unknown codes are counted over the database's lifetime (the
// lifetime_counts table, never pruned), so the labels of its lifetime
// totals and of the metrics that resume from them stay bounded too.
type caps struct {
	knownVendor func(string) bool
	vendors     map[string]bool            // unknown vendors admitted
	codes       map[string]map[string]bool // vendor → unknown codes admitted
	endpoints   map[string]map[string]bool // vendor → endpoints
	services    map[string]bool            // calling services admitted
	samples     map[[2]string][]uint64     // (vendor, code) → hashes of the messages stored
	seed        maphash.Seed
}

func (db *DB) loadCaps(ctx context.Context) (*caps, error) {
	c := &caps{knownVendor: func(v string) bool { return db.KnownVendors[v] },
		vendors: map[string]bool{}, codes: map[string]map[string]bool{},
		endpoints: map[string]map[string]bool{}, services: map[string]bool{}, samples: map[[2]string][]uint64{}, seed: maphash.MakeSeed()}
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
		{`SELECT DISTINCT vendor, '' FROM lifetime_counts WHERE metric = 'requests'`, func(v, _ string) {
			if v != Other && !c.knownVendor(v) {
				c.vendors[v] = true
			}
		}},
		{`SELECT vendor, code FROM lifetime_counts WHERE metric = 'errors' GROUP BY vendor, code HAVING MAX(known) = 0`,
			func(v, code string) {
				if code != Other {
					set(c.codes, v)[code] = true
				}
			}},
		{`SELECT DISTINCT vendor, endpoint FROM error_groups`, func(v, e string) { set(c.endpoints, v)[e] = true }},
		{`SELECT DISTINCT vendor, endpoint FROM endpoint_hours`, func(v, e string) { set(c.endpoints, v)[e] = true }},
		// Services over the database's lifetime too: the service labels
		// of /metrics (metrics_service_label) resume from its totals.
		{`SELECT service, '' FROM request_counts UNION SELECT service, '' FROM lifetime_counts WHERE metric = 'requests'`,
			func(s, _ string) {
				if s != "" && s != Other {
					c.services[s] = true
				}
			}},
	}
	for _, s := range steps {
		if err := load(s.query, s.add); err != nil {
			return nil, err
		}
	}
	var k [2]string
	var msg string
	err := db.each(ctx, func(rows *sql.Rows) error {
		err := rows.Scan(&k[0], &k[1], &msg)
		c.samples[k] = append(c.samples[k], maphash.String(c.seed, msg))
		return err
	}, `SELECT vendor, code, message FROM samples`)
	return c, err
}

// loadGroups reads the ids and first lines of the error groups (writer
// only).
func (db *DB) loadGroups(ctx context.Context) (map[groupKey]groupRef, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT id, first_seen, vendor, code, http_status, endpoint, category, retry, service FROM error_groups`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	groups := map[groupKey]groupRef{}
	for rows.Next() {
		var r groupRef
		var g groupKey
		if err := rows.Scan(&r.id, &r.first, &g.vendor, &g.code, &g.status, &g.endpoint, &g.category, &g.retry, &g.service); err != nil {
			return nil, err
		}
		groups[g] = r
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

// vendor returns v, or Other if v is unknown and over the cap.
func (c *caps) vendor(v string, limit int) string {
	if c.knownVendor(v) {
		return v
	}
	return admit(c.vendors, v, limit)
}

// code returns code, or Other if it is unknown and over vendor's cap. A
// known code passes unless its vendor was folded (vendor is the capped one).
func (c *caps) code(vendor, code string, known bool, limit int) string {
	if known && vendor != Other {
		return code
	}
	return admit(set(c.codes, vendor), code, limit)
}

// hasVendor reports whether vendor passes the cap as it stands.
func (c *caps) hasVendor(vendor string) bool { return c.knownVendor(vendor) || c.vendors[vendor] }

// hasCode reports whether vendor and its code pass the caps as they stand.
func (c *caps) hasCode(vendor, code string, known bool) bool {
	return c.hasVendor(vendor) && (known && vendor != Other || c.codes[vendor][code])
}

// service returns s, or Other if it is over the cap; "" (no service
// known) always passes and takes no room.
func (c *caps) service(s string, limit int) string {
	if s == "" {
		return s
	}
	return admit(c.services, s, limit)
}

// hasService reports whether s passes the cap as it stands.
func (c *caps) hasService(s string) bool { return s == "" || c.services[s] }

func (c *caps) endpoint(vendor, e string, limit int) string {
	return admit(set(c.endpoints, vendor), e, limit)
}

// sampleRoom reports whether (vendor, code) keeps message: it is stored
// already, or there is room for one more (then it is recorded).
func (c *caps) sampleRoom(vendor, code, message string, limit int) bool {
	k := [2]string{vendor, code}
	h := maphash.String(c.seed, message)
	if slices.Contains(c.samples[k], h) {
		return true
	}
	if len(c.samples[k]) >= limit {
		return false
	}
	c.samples[k] = append(c.samples[k], h)
	return true
}
