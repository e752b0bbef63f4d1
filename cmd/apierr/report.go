package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/fleet"
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

// reportSynopsis is report's usage line (and the README's).
const reportSynopsis = "report [--db PATH... | --prometheus URL | --remote URL...] [--since DURATION | --from TIME --to TIME] [--vendor VENDOR]... [--category CATEGORY] [--service SERVICE] [--by host|endpoint|service] [--top N] [--format FORMAT] [--fail-if COND]..."

// ThresholdError is a --fail-if condition that holds: exit code 3, so a
// cron job or a CI step can alert on it.
type ThresholdError struct{ Conditions []string }

func (e *ThresholdError) Error() string {
	return "threshold crossed: " + strings.Join(e.Conditions, "; ")
}

// Run prints the report. The databases are opened read-only: a report can
// run while the daemon writes.
func (c *ReportCommand) Run(ctx context.Context, args []string) error {
	fset := c.m.newFlagSet("report", reportSynopsis)
	var dbs, failIf, vendors stringsFlag
	fset.Var(&dbs, "db", "database `PATH`; repeat to merge several hosts' databases")
	configPath := c.m.configFlag(fset)
	vendorsDir := c.m.vendorsFlag(fset)
	since := fset.String("since", "24h", "report the last `DURATION` (such as 1h, 24h, 7d)")
	from := fset.String("from", "", "window start `TIME` (with --to): RFC 3339, a date (2026-11-21) or relative to now (-6h)")
	to := fset.String("to", "", "window end `TIME` (with --from): RFC 3339, a date, relative to now (-1h) or now")
	fset.Var(&vendors, "vendor", "only this `VENDOR` (any case); repeat or separate with commas for several")
	category := fset.String("category", "", "only failures of this `CATEGORY`")
	by := fset.String("by", "", "also break the report down by `WHAT`: host, endpoint or service")
	service := fset.String("service", "", "only the requests of the calling `SERVICE`")
	top := fset.Int("top", 20, "at most `N` failure groups per section; 0 means all")
	format := fset.String("format", "", "table, markdown, json, csv or html (default: table on a terminal, markdown otherwise)")
	prom := addPromFlags(fset)
	remote := addRemoteFlags(fset)
	fset.Var(&failIf, "fail-if", "exit 3 when `COND` holds, such as 'retryable>100' or 'error_rate>0.05' (metrics: requests, errors, retryable, malformed, unknown, new_groups, error_rate, missing); repeatable")
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
	sinceSet := false
	fset.Visit(func(f *flag.Flag) { sinceSet = sinceSet || f.Name == "since" })
	if sinceSet && (*from != "" || *to != "") {
		return usageErrorf("give --since or --from/--to, not both")
	}
	window, err := c.window(*since, *from, *to)
	if err != nil {
		return err
	}
	cfg, err := c.m.loadConfig(*configPath)
	if err != nil {
		return err
	}
	if err := setVendorsDir(&cfg, *vendorsDir); err != nil {
		return err
	}
	// One vendor is filtered by the databases' queries (exact in every
	// section); several are filtered from the rows read.
	only := ""
	if names := strings.FieldsFunc(strings.Join(vendors, ","), func(r rune) bool { return r == ',' || r == ' ' }); len(names) == 1 {
		only = strings.ToLower(names[0]) // vendor ids and hosts are lower case
	}
	sources, missing, err := remote.read(ctx, c.m, window, only, len(dbs) > 0)
	if err != nil {
		return err
	}
	switch *by {
	case "", report.ByHost, report.ByEndpoint, report.ByService:
	default:
		return usageErrorf("--by: unknown %q (want host, endpoint or service)", *by)
	}
	if *service != "" && (prom.active() || remote.active()) {
		return usageErrorf("--service reads databases (--db): the metrics and the daemons' rows are not kept per service")
	}
	cat, err := catalogFor(cfg)
	if err != nil {
		return err
	}
	var fl *fleet.Fleet // --prometheus
	if prom.active() {
		if fl, err = prom.read(ctx, c.m, cat, window, only, len(dbs) > 0 || remote.active()); err != nil {
			return err
		}
		if *by == report.ByService && !fl.Services {
			return fmt.Errorf("--by service: the counters at %s carry no service label; --db and --remote read services", fl.URL)
		}
		sources = append(sources, fl.Sources...)
	} else if len(dbs) == 0 && !remote.active() {
		dbs = append(dbs, c.m.dbPath("", cfg.DB))
	}
	present := map[string]string{} // lower case -> vendor, in the data or the catalog
	for _, v := range cat.Vendors() {
		present[strings.ToLower(v)] = v
	}
	for _, s := range sources {
		for _, v := range s.Vendors {
			present[strings.ToLower(v.Vendor)] = v.Vendor
		}
	}
	for _, path := range dbs {
		db, err := openForReading(path)
		if err != nil {
			return err
		}
		s, err := report.ReadSource(ctx, db, report.Query{Window: window, Previous: report.PreviousOf(window), Step: report.TrendStep(window), Vendor: only, Service: *service})
		db.Close()
		if s.Host == "" {
			s.Host = filepath.Base(path) // a database from before hosts were recorded
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for _, v := range s.Vendors {
			present[strings.ToLower(v.Vendor)] = v.Vendor
		}
		for k := range s.FirstSeen {
			present[strings.ToLower(k[0])] = k[0]
		}
		sources = append(sources, s)
	}
	if len(vendors) > 0 {
		keep, err := selectVendors(vendors, present)
		if err != nil {
			return err
		}
		for i := range sources {
			sources[i] = onlyVendors(sources[i], keep)
		}
	}
	opts := report.NewOptions(cat, window, *top, *category)
	opts.By = *by
	r := report.Build(window, report.PreviousOf(window), sources, opts)
	remote.annotate(c.m.Stdout, c.m.Stderr, r, f, missing)
	if fl != nil {
		fl.Apply(r)
	}
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
// NO_COLOR unset and TERM not dumb.
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
	return f, wantColor(tty, f, c.m.Getenv), nil
}

// wantColor says whether a report in format f is coloured: a table, on a
// terminal, NO_COLOR unset (no-color.org) and TERM not dumb.
func wantColor(tty bool, f report.Format, getenv func(string) string) bool {
	return tty && f == report.Table && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
}

// window resolves --since or --from/--to. A --since window ends at the end
// of the current minute, the buckets' resolution.
func (c *ReportCommand) window(since, from, to string) (report.Window, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	var w report.Window
	if from != "" || to != "" {
		if from == "" || to == "" {
			return w, usageErrorf("give --from and --to together")
		}
		var err error
		if w.From, err = parseTime(from, now()); err != nil {
			return w, usageErrorf("--from: %v", err)
		}
		if w.To, err = parseTime(to, now()); err != nil {
			return w, usageErrorf("--to: %v", err)
		}
		if !w.To.After(w.From) {
			return w, usageErrorf("--to must be after --from")
		}
	} else {
		d, err := parseDuration(since)
		if err != nil || d <= 0 {
			return w, usageErrorf("--since: want a duration such as 1h, 24h or 7d")
		}
		w.To = now().UTC().Truncate(time.Minute).Add(time.Minute)
		w.From = w.To.Add(-d)
		if w.From.After(w.To) { // overflowed
			w.From = time.Time{}
		}
	}
	for _, t := range []time.Time{w.From, w.To} {
		if t.Year() < 1 || t.Year() > 9999 {
			return w, usageErrorf("the window %s to %s leaves the years 1 to 9999", w.From.Format(time.RFC3339), w.To.Format(time.RFC3339))
		}
	}
	return w, nil
}

// parseTime reads a --from or --to: RFC 3339, a date (midnight UTC), a
// duration relative to now (-6h, -7d, +1h) or "now".
func parseTime(s string, now time.Time) (time.Time, error) {
	if s == "now" {
		return now.UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if rel, ok := strings.CutPrefix(s, "-"); ok {
		if d, err := parseDuration(rel); err == nil {
			return now.UTC().Add(-d), nil
		}
	} else if rel, ok := strings.CutPrefix(s, "+"); ok {
		if d, err := parseDuration(rel); err == nil {
			return now.UTC().Add(d), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: want RFC 3339 (2026-11-21T06:00:00Z), a date (2026-11-21) or a time relative to now (-6h, -7d)", s)
}

// selectVendors resolves --vendor values (repeated or comma-separated, any
// case) against the vendors present; an unknown one is a usage error that
// lists them.
func selectVendors(given []string, present map[string]string) (map[string]bool, error) {
	keep := map[string]bool{}
	for _, list := range given {
		for _, v := range strings.Split(list, ",") {
			v = strings.TrimSpace(v)
			if v == "" {
				continue
			}
			name, ok := present[strings.ToLower(v)]
			if !ok {
				var names []string
				for _, n := range present {
					names = append(names, n)
				}
				sort.Strings(names)
				return nil, usageErrorf("--vendor: unknown vendor %q (present: %s)", v, names)
			}
			keep[name] = true
		}
	}
	if len(keep) == 0 {
		return nil, usageErrorf("--vendor: name a vendor")
	}
	return keep, nil
}

// onlyVendors keeps the rows of the vendors in keep. Malformed lines belong
// to no vendor and stay.
func onlyVendors(s report.Source, keep map[string]bool) report.Source {
	s.Vendors = filterRows(s.Vendors, func(v storage.VendorCount) string { return v.Vendor }, keep)
	s.Codes = filterRows(s.Codes, func(v storage.CodeCount) string { return v.Vendor }, keep)
	s.PrevCodes = filterRows(s.PrevCodes, func(v storage.CodeCount) string { return v.Vendor }, keep)
	s.Endpoints = filterRows(s.Endpoints, func(v storage.EndpointCount) string { return v.Vendor }, keep)
	s.Samples = filterRows(s.Samples, func(v storage.SampleCount) string { return v.Vendor }, keep)
	s.CodeServices = filterRows(s.CodeServices, func(v storage.CodeServiceCount) string { return v.Vendor }, keep)
	s.EndpointStats = filterRows(s.EndpointStats, func(v storage.EndpointStat) string { return v.Vendor }, keep)
	// The services' totals span every vendor: they cannot be narrowed to
	// several vendors after the fact (one vendor is filtered by the query).
	if len(keep) > 1 {
		s.Services = nil
	}
	for k := range s.Trend {
		if !keep[k] {
			delete(s.Trend, k)
		}
	}
	for k := range s.GroupTrend {
		if !keep[k[0]] {
			delete(s.GroupTrend, k)
		}
	}
	for k := range s.FirstSeen {
		if !keep[k[0]] {
			delete(s.FirstSeen, k)
		}
	}
	return s
}

func filterRows[T any](rows []T, vendor func(T) string, keep map[string]bool) []T {
	var out []T
	for _, r := range rows {
		if keep[vendor(r)] {
			out = append(out, r)
		}
	}
	return out
}

// condition is one --fail-if: METRIC OP NUMBER.
type condition struct {
	text, metric, op string
	limit            float64
}

var failIfMetrics = []string{"requests", "errors", "retryable", "malformed", "unknown", "new_groups", "error_rate", "missing"}

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
	case "missing":
		return float64(len(r.Missing))
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

// openForReading opens the database at path read-only, saying how to make
// one when there is none.
func openForReading(path string) (*storage.DB, error) {
	db := storage.NewDB(path)
	db.ReadOnly = true
	if err := db.Open(); err != nil {
		if errors.Is(err, storage.ErrNotExist) {
			return nil, fmt.Errorf("no database at %s: run 'apierr run' or 'apierr ingest' first, or name it with --db", path)
		}
		return nil, err
	}
	return db, nil
}
