// Package storage keeps apierr's aggregates in SQLite. It is the only
// package that speaks SQL.
package storage
