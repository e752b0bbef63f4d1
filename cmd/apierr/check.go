package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
)

// CheckCommand validates the config, the vendor files and the globs, and
// shows what the decoder makes of sample log files: the first command a
// new user runs on their own logs, so its output teaches.
type CheckCommand struct{ m *Main }

// checkLines is how many lines of each log file check reads.
const checkLines = 10_000

// problems collects what check found, as errors (exit 2) and warnings.
type problems struct {
	w              io.Writer
	errors, warned int
}

func (p *problems) ok(format string, args ...any) {
	fmt.Fprintf(p.w, "  ok       %s\n", fmt.Sprintf(format, args...))
}

func (p *problems) warn(format string, args ...any) {
	p.warned++
	fmt.Fprintf(p.w, "  warning  %s\n", fmt.Sprintf(format, args...))
}

func (p *problems) fail(format string, args ...any) {
	p.errors++
	fmt.Fprintf(p.w, "  error    %s\n", fmt.Sprintf(format, args...))
}

// Run checks and prints; it returns a usage error (exit 2) when the
// config, a vendor file, a glob or a named log file is wrong.
func (c *CheckCommand) Run(ctx context.Context, args []string) error {
	fset := c.m.newFlagSet("check", "check [--config FILE] [LOGFILE...]")
	configPath := c.m.configFlag(fset)
	vendorsDir := c.m.vendorsFlag(fset)
	if err := parseFlags(fset, args); err != nil {
		return err
	}
	out := c.m.Stdout
	p := &problems{w: out}

	// The config: its keys and values, then each input's globs.
	cfg := DefaultConfig()
	if *configPath == "" {
		fmt.Fprintf(out, "Config: none given (--config FILE or $APIERR_CONFIG); the defaults apply\n")
	} else {
		fmt.Fprintf(out, "Config: %s\n", *configPath)
		var err error
		if cfg, err = readConfig(*configPath); err != nil {
			p.fail("%v", err)
			cfg = DefaultConfig()
		} else {
			p.ok("keys and values (%s)", plural(len(cfg.Inputs), "input"))
		}
	}
	c.checkGlobs(cfg, p)
	if err := cfg.Validate(); err != nil && p.errors == 0 {
		p.fail("%v", err)
	}

	// The vendor files.
	if *vendorsDir != "" {
		cfg.VendorsDir = *vendorsDir
	}
	cat, err := catalogFor(cfg)
	if err != nil {
		p.fail("vendor files: %v", err)
		cat, _ = loadCatalog("")
	} else {
		builtin, _ := loadCatalog("")
		extra := ""
		if cfg.VendorsDir != "" {
			if _, err := os.Stat(cfg.VendorsDir); err == nil {
				extra = " and " + cfg.VendorsDir
			}
		}
		p.ok("vendors: %d (%d built in%s)", len(cat.Vendors()), len(builtin.Vendors()), extra)
	}

	// The sample logs.
	advised := 0
	for _, name := range fset.Args() {
		if ctx.Err() != nil {
			break
		}
		fmt.Fprintln(out)
		a, err := analyzeFile(ctx, cfg, cat, name)
		if err != nil {
			fmt.Fprintf(out, "Log file: %s\n", name)
			p.fail("%v", err)
			continue
		}
		a.print(out)
		if a.advice != "" {
			advised++
		}
	}

	fmt.Fprintln(out)
	switch {
	case p.errors > 0:
		return usageErrorf("check: %s, %s", plural(p.errors, "error"), plural(p.warned, "warning"))
	case p.warned > 0:
		fmt.Fprintf(out, "No errors, %s.", plural(p.warned, "warning"))
	default:
		fmt.Fprint(out, "No problems found.")
	}
	if advised > 0 {
		fmt.Fprintf(out, " Settings to add for %s: see above.", plural(advised, "log file"))
	}
	fmt.Fprintln(out)
	return nil
}

// checkGlobs reports each input glob: the files it matches, a warning when
// none, an error when it cannot parse.
func (c *CheckCommand) checkGlobs(cfg Config, p *problems) {
	for i, in := range cfg.Inputs {
		if len(in.Paths) == 0 {
			p.fail("inputs[%d].paths: give at least one path or glob", i)
		}
		for _, g := range in.Paths {
			matches, err := filepath.Glob(g)
			switch {
			case errors.Is(err, filepath.ErrBadPattern):
				p.fail("inputs[%d].paths: %q is not a valid glob (see https://pkg.go.dev/path/filepath#Match)", i, g)
			case err != nil:
				p.fail("inputs[%d].paths: %q: %v", i, g, err)
			case len(matches) == 0:
				p.warn("inputs[%d].paths: %q matches no file (yet)", i, g)
			default:
				p.ok("inputs[%d].paths: %q matches %s", i, g, plural(len(matches), "file"))
			}
		}
	}
}

// readConfig reads a config file without the glob checks of Validate, so
// that check can name every bad glob, not only the first.
func readConfig(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return DefaultConfig(), err
	}
	defer f.Close()
	c, err := ParseConfig(f)
	if err != nil && !strings.Contains(err.Error(), "bad glob") {
		return c, err
	}
	return c, nil // checkGlobs names every bad glob
}

func plural(n int, what string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// print writes what check learned about one file.
func (a *analysis) print(w io.Writer) {
	fmt.Fprintf(w, "Log file: %s\n", a.name)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	read := plural(a.lines, "line")
	if a.truncated {
		read += " (the first ones)"
	}
	settings := "format: auto (no config input matches it)"
	if a.input >= 0 {
		settings = fmt.Sprintf("the settings of inputs[%d]", a.input)
	}
	fmt.Fprintf(tw, "  read\t%s, with %s\n", read, settings)
	if a.framing != "none" {
		fmt.Fprintf(tw, "  container\t%s log lines, unwrapped\n", a.framing)
	}
	fmt.Fprintf(tw, "  shape\t%s\n", a.shapeText())
	fmt.Fprintf(tw, "  lines\t%s, %s, %s\n", plural(a.records, "request"), plural(a.skipped, "skipped line"), plural(a.malformed, "malformed line"))
	if a.records > 0 {
		fmt.Fprintf(tw, "  errors\t%d of the requests\n", a.errors)
	}
	tw.Flush()

	if a.records > 0 {
		fmt.Fprintf(w, "\n  Fields found, share of the %s:\n", plural(a.records, "request"))
		for f := range numCheckFields {
			note := ""
			switch {
			case f == chService && a.found[f] < a.records && a.serviceFrom != "":
				note = "  (else " + a.serviceFrom + ")"
			case f == chTime && a.found[f] < a.records && a.framing != "none":
				note = "  (else the container runtime's time)"
			case f == chStatus:
				note = "  (or, for a call with no response, its error)"
			case f == chError:
				note = "  (only calls that got no response have one)"
			case f == chHeaders:
				note = "  (only those that bear on a retry: Retry-After, rate limits)"
			}
			fmt.Fprintf(tw, "    %s\t%5.1f%%%s\n", checkFieldNames[f], pct(a.found[f], a.records), note)
		}
		tw.Flush()
	}

	if len(a.vendors) > 0 {
		fmt.Fprintf(w, "\n  Vendors seen:  %s\n", topCounts(a.vendors, 8))
	}
	if len(a.malformedBy) > 0 {
		fmt.Fprintf(w, "\n  Malformed lines (counted by reason, shown in the report):\n")
		for _, r := range sortedSamples(a.malformedBy) {
			fmt.Fprintf(tw, "    %s\t%s\tfirst on line %d\n", r.reason, plural(r.count, "line"), r.first)
		}
		tw.Flush()
	}
	if len(a.skippedBy) > 0 {
		fmt.Fprintf(w, "\n  Skipped lines (not requests; counted, never malformed):\n")
		for _, r := range sortedSamples(a.skippedBy) {
			fmt.Fprintf(tw, "    %s\t%5.1f%% of lines\tfirst on line %d\n", r.reason, pct(r.count, a.lines), r.first)
		}
		tw.Flush()
	}

	if a.lines == 0 {
		fmt.Fprintf(w, "\n  The file is empty: nothing to check yet.\n")
		return
	}
	snippet := a.snippet()
	if snippet == "" {
		if a.records > 0 {
			fmt.Fprintf(w, "\n  Nothing to map: apierr reads this file as it is.\n")
		} else {
			fmt.Fprintf(w, "\n  No request found, and no field that looks like one: is this a request log?\n")
		}
		return
	}
	fmt.Fprintf(w, "\n  %s\n\n%s", a.advice, snippet)
}

func pct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

// topCounts writes "picqer 12, voucherify 3", most first, at most n.
func topCounts(m map[string]int, n int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var parts []string
	for i, k := range keys {
		if i == n {
			parts = append(parts, fmt.Sprintf("and %d more", len(keys)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// sample counts lines of one reason and remembers the first.
type sample struct {
	reason string
	count  int
	first  int
}

func sortedSamples(m map[string]*sample) []*sample {
	var s []*sample
	for _, v := range m {
		s = append(s, v)
	}
	sort.Slice(s, func(i, j int) bool {
		if s[i].count != s[j].count {
			return s[i].count > s[j].count
		}
		return s[i].reason < s[j].reason
	})
	return s
}
