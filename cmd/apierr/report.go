package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/apierr/apierr/classify"
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

// ThresholdError is a --fail-if condition that holds: exit code 3, so a
// cron job or a CI step can alert on it.
type ThresholdError struct{ Conditions []string }

func (e *ThresholdError) Error() string {
	return "threshold crossed: " + strings.Join(e.Conditions, "; ")
}

// Run prints the report. The databases are opened read-only: a report can
// run while the daemon writes.
func (c *ReportCommand) Run(ctx context.Context, args []string) error {
	fset := c.m.newFlagSet("report", "report [--db PATH]... [--since DUR | --from T --to T] [--vendor V] [--category C] [--top N] [--format F] [--fail-if COND]...")
	var dbs, failIf stringsFlag
	fset.Var(&dbs, "db", "database `PATH`; repeat to merge several hosts' databases")
	configPath := c.m.configFlag(fset)
	since := fset.String("since", "24h", "report the last `DURATION` (such as 1h, 24h, 7d)")
	from := fset.String("from", "", "window start, RFC 3339 (with --to)")
	to := fset.String("to", "", "window end, RFC 3339 (with --from)")
	vendor := fset.String("vendor", "", "only this `VENDOR`")
	category := fset.String("category", "", "only failures of this `CATEGORY`")
	top := fset.Int("top", 20, "at most `N` failure groups per section; 0 means all")
	format := fset.String("format", "", "table, markdown, json or csv (default: table on a terminal, markdown otherwise)")
	fset.Var(&failIf, "fail-if", "exit 3 when `COND` holds, such as 'retryable>100' or 'error_rate>0.05' (metrics: requests, errors, retryable, malformed, unknown, new_groups, error_rate); repeatable")
	if err := parseFlags(fset, args); err != nil {
		return err
	}
	if fset.NArg() > 0 {
		return usageErrorf("report takes no arguments, got %q", fset.Args())
	}
	f, color, err := c.format(*format)
	if err != nil {
		return err
	}
	if *top < 0 {
		return usageErrorf("--top: want 0 or more")
	}
	if *category != "" && !classify.Category(*category).Valid() {
		return usageErrorf("--category: unknown category %q", *category)
	}
	conds, err := parseConditions(failIf)
	if err != nil {
		return err
	}
	window, err := c.window(*since, *from, *to)
	if err != nil {
		return err
	}
	cfg, err := c.m.loadConfig(*configPath)
	if err != nil {
		return err
	}
	if len(dbs) == 0 {
		dbs = append(dbs, c.m.dbPath("", cfg.DB))
	}
	cat, err := catalogFor(cfg)
	if err != nil {
		return err
	}
	var sources []report.Source
	for _, path := range dbs {
		db := storage.NewDB(path)
		db.ReadOnly = true
		if err := db.Open(); err != nil {
			if errors.Is(err, storage.ErrNotExist) {
				return fmt.Errorf("no database at %s: run 'apierr run' or 'apierr ingest' first, or name it with --db", path)
			}
			return err
		}
		s, err := report.ReadSource(ctx, db, window, *vendor)
		db.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		sources = append(sources, s)
	}
	r := report.Build(window, report.PreviousOf(window), sources, report.NewOptions(cat, window, *top, *category))
	if err := report.Render(c.m.Stdout, r, f, color); err != nil {
		return err
	}
	var crossed []string
	for _, cond := range conds {
		if v := cond.value(r); cond.holds(v) {
			crossed = append(crossed, fmt.Sprintf("%s (it is %s)", cond.text, strconv.FormatFloat(v, 'g', 6, 64)))
		}
	}
	if len(crossed) > 0 {
		return &ThresholdError{Conditions: crossed}
	}
	return nil
}

// format resolves --format; colour only for a table on a terminal with
// NO_COLOR unset.
func (c *ReportCommand) format(s string) (report.Format, bool, error) {
	tty := false
	if f, ok := c.m.Stdout.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		tty = true
	}
	if s == "" {
		if tty {
			s = string(report.Table)
		} else {
			s = string(report.Markdown)
		}
	}
	f, err := report.ParseFormat(s)
	if err != nil {
		return "", false, &UsageError{Err: err}
	}
	return f, tty && c.m.Getenv("NO_COLOR") == "" && f == report.Table, nil
}

// window resolves --since or --from/--to. A --since window ends at the end
// of the current minute, the buckets' resolution.
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

// condition is one --fail-if: METRIC OP NUMBER.
type condition struct {
	text, metric, op string
	limit            float64
}

var failIfMetrics = []string{"requests", "errors", "retryable", "malformed", "unknown", "new_groups", "error_rate"}

func parseConditions(list []string) ([]condition, error) {
	var out []condition
	for _, s := range list {
		c := condition{text: strings.TrimSpace(s)}
		i := strings.IndexAny(c.text, "<>=")
		if i <= 0 {
			return nil, usageErrorf("--fail-if %q: want METRIC OP NUMBER, such as retryable>100", s)
		}
		c.metric = strings.TrimSpace(c.text[:i])
		rest := c.text[i:]
		for _, op := range []string{">=", "<=", "==", ">", "<"} {
			if strings.HasPrefix(rest, op) {
				c.op, rest = op, rest[len(op):]
				break
			}
		}
		var err error
		if c.limit, err = strconv.ParseFloat(strings.TrimSpace(rest), 64); err != nil || c.op == "" {
			return nil, usageErrorf("--fail-if %q: want METRIC OP NUMBER, such as error_rate>0.05", s)
		}
		known := false
		for _, m := range failIfMetrics {
			known = known || m == c.metric
		}
		if !known {
			return nil, usageErrorf("--fail-if %q: unknown metric %q (want one of %s)", s, c.metric, strings.Join(failIfMetrics, ", "))
		}
		out = append(out, c)
	}
	return out, nil
}

func (c condition) value(r *report.Report) float64 {
	t := r.Totals
	switch c.metric {
	case "requests":
		return float64(t.Requests)
	case "errors":
		return float64(t.Errors)
	case "retryable":
		return float64(t.Retryable)
	case "malformed":
		return float64(t.Malformed)
	case "unknown":
		return float64(t.Unknown)
	case "new_groups":
		return float64(t.NewGroups)
	case "error_rate":
		if t.Requests == 0 {
			return 0
		}
		return float64(t.Errors) / float64(t.Requests)
	}
	return 0
}

func (c condition) holds(v float64) bool {
	switch c.op {
	case ">":
		return v > c.limit
	case ">=":
		return v >= c.limit
	case "<":
		return v < c.limit
	case "<=":
		return v <= c.limit
	}
	return v == c.limit
}
