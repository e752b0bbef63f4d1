package storage

import (
	"context"
	"database/sql"
	"fmt"
)

// SetHost records the name of the database's host, shown in fleet reports
// (the config's host, by default the machine's hostname). Writer only.
func (db *DB) SetHost(name string) error {
	if _, err := db.db.ExecContext(context.Background(), `
		INSERT INTO meta (key, value) VALUES ('host', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, name); err != nil {
		return fmt.Errorf("set host: %w", translate(err))
	}
	db.Host = name
	return nil
}

// loadHost reads the host name into db.Host.
func (db *DB) loadHost() error {
	db.Host = ""
	if db.beforeServices {
		return nil
	}
	return db.each(context.Background(), func(rows *sql.Rows) error {
		return rows.Scan(&db.Host)
	}, `SELECT value FROM meta WHERE key = 'host'`)
}
