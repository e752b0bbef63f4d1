package main

import (
	"flag"
	"fmt"
	"io/fs"
	"os"

	"github.com/apierr/apierr/classify"
)

// vendorsFlag registers --vendors-dir, the operator's vendor definitions
// (default $APIERR_VENDORS_DIR).
func (m *Main) vendorsFlag(fs *flag.FlagSet) *string {
	return fs.String("vendors-dir", m.Getenv("APIERR_VENDORS_DIR"), "`DIR` of vendor definition files that add or replace built-in vendors")
}

// loadCatalog loads the built-in vendors and those of dir (if not empty).
// A bad vendor file is a config error.
func loadCatalog(dir string) (*classify.Catalog, error) {
	sets := []fs.FS{classify.Builtin()}
	if dir != "" {
		st, err := os.Stat(dir)
		if err != nil {
			return nil, &UsageError{Err: fmt.Errorf("vendors dir: %w", err)}
		}
		if !st.IsDir() {
			return nil, usageErrorf("vendors dir %s: not a directory", dir)
		}
		sets = append(sets, os.DirFS(dir))
	}
	cat, err := classify.Load(sets...)
	if err != nil {
		if dir != "" {
			return nil, usageErrorf("load vendors from %s: %v", dir, err)
		}
		return nil, fmt.Errorf("load built-in vendors: %w", err)
	}
	return cat, nil
}

// setVendorsDir applies a --vendors-dir flag to the config: a directory
// named on the command line must exist, on every command (the default one
// of the config may be absent).
func setVendorsDir(cfg *Config, dir string) error {
	if dir == "" {
		return nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return usageErrorf("--vendors-dir: %v", err)
	}
	if !st.IsDir() {
		return usageErrorf("--vendors-dir %s: not a directory", dir)
	}
	cfg.VendorsDir = dir
	return nil
}
