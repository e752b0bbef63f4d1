//go:build !cgo

package storage

// apierr stores its counts with mattn/go-sqlite3, which is C compiled by
// cgo: a build with CGO_ENABLED=0 cannot work. This file turns the
// compiler's puzzling errors into one that says what to do.
var _ = apierr_needs_cgo__build_with_CGO_ENABLED_1_and_gcc_installed
