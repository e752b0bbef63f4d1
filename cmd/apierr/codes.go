package main

import (
	"context"

	"github.com/apierr/apierr/report"
)

// CodesCommand lists the catalogs, built-in and operator-added.
type CodesCommand struct{ m *Main }

// Run prints the catalog entries of every vendor, or of --vendor.
func (c *CodesCommand) Run(ctx context.Context, args []string) error {
	fs := c.m.newFlagSet("codes", "codes [--vendor V] [--format table|markdown|json|csv]")
	vendorsDir := c.m.vendorsFlag(fs)
	vendor := fs.String("vendor", "", "list only this `VENDOR`'s codes")
	format := fs.String("format", "table", "output `FORMAT`: table, markdown, json or csv")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("codes takes no arguments, got %q", fs.Args())
	}
	f, err := report.ParseFormat(*format)
	if err != nil {
		return &UsageError{Err: err}
	}
	cat, err := loadCatalog(*vendorsDir)
	if err != nil {
		return err
	}
	if *vendor != "" && cat.Vendor(*vendor) == nil {
		return usageErrorf("unknown vendor %q (known: %v)", *vendor, cat.Vendors())
	}
	return report.Codes(c.m.Stdout, cat.Entries(*vendor), f)
}
