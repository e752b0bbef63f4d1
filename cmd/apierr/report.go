package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/apierr/apierr/report"
	"github.com/apierr/apierr/storage"
	"github.com/mattn/go-isatty"
)

// ReportCommand reports what is failing over a window.
type ReportCommand struct {
	m   *Main
	Now func() time.Time
}

// stringsFlag collects a repeated flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

// Run prints the report. The databases are opened read-only: a report can
// run while the daemon writes.
func (c *ReportCommand) Run(ctx context.Context, args []string) error {
	fset := c.m.newFlagSet("report", "report [--db PATH]... [--since DUR | --from T --to T] [--vendor V] [--top N] [--format F]")
	var dbs stringsFlag
	fset.Var(&dbs, "db", "database `PATH`; repeat to merge several hosts' databases")
	configPath := fset.String("config", c.m.Getenv("APIERR_CONFIG"), "config `FILE` (for its db)")
	since := fset.String("since", "24h", "report the last `DURATION` (such as 1h, 24h, 7d)")
	from := fset.String("from", "", "window start, RFC 3339 (with --to)")
	to := fset.String("to", "", "window end, RFC 3339 (with --from)")
	vendor := fset.String("vendor", "", "only this `VENDOR`")
	top := fset.Int("top", 20, "at most `N` failure groups; 0 means all")
	format := fset.String("format", "", "table, markdown, json or csv (default: table on a terminal, markdown otherwise)")
	if err := parseFlags(fset, args); err != nil {
		return err
	}
	if fset.NArg() > 0 {
		return usageErrorf("report takes no arguments, got %q", fset.Args())
	}
	f, err := c.format(*format)
	if err != nil {
		return err
	}
	if *top < 0 {
		return usageErrorf("--top: want 0 or more")
	}
	window, err := c.window(*since, *from, *to)
	if err != nil {
		return err
	}
	previous := report.Window{From: window.From.Add(-window.To.Sub(window.From)), To: window.From}
	if len(dbs) == 0 {
		cfg, err := c.m.loadConfig(*configPath)
		if err != nil {
			return err
		}
		dbs = append(dbs, c.m.dbPath("", cfg.DB))
	}

	var sources []report.Source
	for _, path := range dbs {
		s, err := readSource(ctx, path, window, previous, *vendor)
		if err != nil {
			return err
		}
		sources = append(sources, s)
	}
	return report.Render(c.m.Stdout, report.Build(window, previous, sources, *top), f)
}

// readSource reads one database's rows for the window and the one before.
func readSource(ctx context.Context, path string, window, previous report.Window, vendor string) (report.Source, error) {
	var s report.Source
	db := storage.NewDB(path)
	db.ReadOnly = true
	if err := db.Open(); err != nil {
		return s, err
	}
	defer db.Close()
	var err error
	if s.Vendors, err = db.Vendors(ctx, window.From, window.To); err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	if s.Codes, err = db.Codes(ctx, window.From, window.To, vendor); err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	if s.PrevCodes, err = db.Codes(ctx, previous.From, previous.To, vendor); err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	if s.Malformed, err = db.Malformed(ctx, window.From, window.To); err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	if vendor != "" {
		kept := s.Vendors[:0]
		for _, v := range s.Vendors {
			if v.Vendor == vendor {
				kept = append(kept, v)
			}
		}
		s.Vendors = kept
	}
	return s, nil
}

func (c *ReportCommand) format(s string) (report.Format, error) {
	if s == "" {
		if f, ok := c.m.Stdout.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			return report.Table, nil
		}
		return report.Markdown, nil
	}
	f, err := report.ParseFormat(s)
	if err != nil {
		return "", &UsageError{Err: err}
	}
	return f, nil
}

// window resolves --since or --from/--to. Windows end on a minute
// boundary, the buckets' resolution.
func (c *ReportCommand) window(since, from, to string) (report.Window, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	if from != "" || to != "" {
		if from == "" || to == "" {
			return report.Window{}, usageErrorf("give --from and --to together")
		}
		f, err := time.Parse(time.RFC3339, from)
		if err != nil {
			return report.Window{}, usageErrorf("--from: %v", err)
		}
		t, err := time.Parse(time.RFC3339, to)
		if err != nil {
			return report.Window{}, usageErrorf("--to: %v", err)
		}
		if !t.After(f) {
			return report.Window{}, usageErrorf("--to must be after --from")
		}
		return report.Window{From: f.UTC(), To: t.UTC()}, nil
	}
	d, err := parseDuration(since)
	if err != nil || d <= 0 {
		return report.Window{}, usageErrorf("--since: want a duration such as 1h, 24h or 7d")
	}
	end := now().UTC().Truncate(time.Minute).Add(time.Minute)
	return report.Window{From: end.Add(-d), To: end}, nil
}
