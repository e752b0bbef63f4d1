package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/report"
	"github.com/apierr/apierr/storage"
)

// CodesCommand lists the catalogs, built-in and operator-added, or drafts
// vendor files for the codes seen in the logs that no catalog knows.
type CodesCommand struct{ m *Main }

// Run prints the catalog entries of every vendor, or of --vendor; with
// --unknown, the drafts.
func (c *CodesCommand) Run(ctx context.Context, args []string) error {
	fs := c.m.newFlagSet("codes", "codes [--vendors-dir DIR] [--vendor VENDOR] [--format FORMAT]\n       apierr codes --unknown [--db PATH] [--since DURATION] [--out DIR] [--format yaml]")
	vendorsDir := c.m.vendorsFlag(fs)
	vendor := fs.String("vendor", "", "list only this `VENDOR`'s codes")
	format := fs.String("format", "table", "output `FORMAT`: table, markdown, json or csv; yaml with --unknown")
	unknown := fs.Bool("unknown", false, "draft vendor files (YAML) for the codes in the database that no catalog knows")
	db := fs.String("db", "", "database `PATH` to read with --unknown (default $APIERR_DB, else the state directory's)")
	since := fs.String("since", "", "with --unknown, only codes seen in the last `DURATION` (such as 24h, 7d); default all")
	out := fs.String("out", "", "with --unknown, write each draft to `DIR`/<id>.yaml instead of standard output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("codes takes no arguments, got %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *unknown {
		if set["format"] && *format != "yaml" {
			return usageErrorf("--unknown writes vendor files: only --format yaml is valid, got %q", *format)
		}
		if set["vendor"] {
			return usageErrorf("--unknown drafts every vendor: --vendor does not apply")
		}
	} else {
		for _, name := range []string{"db", "since", "out"} {
			if set[name] {
				return usageErrorf("--%s applies only with --unknown", name)
			}
		}
		if *format == "yaml" {
			return usageErrorf("--format yaml is for --unknown (vendor file drafts); the listing is table, markdown, json or csv")
		}
	}
	cat, err := loadCatalog(*vendorsDir)
	if err != nil {
		return err
	}
	if *unknown {
		return c.drafts(ctx, cat, c.m.dbPath(*db, ""), *since, *out)
	}
	f, err := report.ParseFormat(*format)
	if err != nil {
		return &UsageError{Err: err}
	}
	if *vendor != "" && cat.Vendor(*vendor) == nil {
		return usageErrorf("unknown vendor %q; the vendors are: %s", *vendor, strings.Join(cat.Vendors(), ", "))
	}
	return report.Codes(c.m.Stdout, cat.Entries(*vendor), f)
}

// drafts reads the codes of the database that the catalog does not know
// and writes one draft vendor file per vendor: to standard output (YAML
// documents separated by ---, each to be saved as its own <id>.yaml, since
// a vendor file holds one vendor), or into dir.
func (c *CodesCommand) drafts(ctx context.Context, cat *classify.Catalog, path, since, dir string) error {
	from, to := time.Unix(0, 0), time.Now().Add(24*time.Hour)
	if since != "" {
		d, err := parseDuration(since)
		if err != nil || d <= 0 {
			return usageErrorf("--since: want a duration such as 1h, 24h or 7d")
		}
		from = time.Now().Add(-d)
	}
	if dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return usageErrorf("--out %s: not a directory", dir)
		}
	}
	db, err := openForReading(path)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.Codes(ctx, from, to, "")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	samples, err := db.Samples(ctx, "")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	byVendor := unknownCodes(cat, rows, samples)
	if len(byVendor) == 0 {
		fmt.Fprintln(c.m.Stderr, "apierr: every code in the database is in a catalog: nothing to draft")
		return nil
	}
	vendors := make([]string, 0, len(byVendor))
	for v := range byVendor {
		vendors = append(vendors, v)
	}
	sort.Strings(vendors)
	n := 0
	for _, v := range vendors {
		id, data, err := cat.Draft(v, byVendor[v])
		if err != nil {
			// A host that cannot be a match host (an IP literal with odd
			// characters, say): say so and draft the others.
			fmt.Fprintf(c.m.Stderr, "apierr: %s: no draft: %v\n", v, err)
			continue
		}
		if dir != "" {
			name := filepath.Join(dir, id+".yaml")
			if _, err := os.Stat(name); err == nil {
				return fmt.Errorf("%s exists: review and move it into vendors_dir first, or choose another --out", name)
			}
			if err := os.WriteFile(name, data, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(c.m.Stderr, "apierr: wrote %s (%d codes of %s)\n", name, len(byVendor[v]), v)
			continue
		}
		if n > 0 {
			fmt.Fprintln(c.m.Stdout, "---")
		}
		fmt.Fprintf(c.m.Stdout, "# Save as %s.yaml in vendors_dir, after review (entries marked guessed: true).\n", id)
		c.m.Stdout.Write(data)
		n++
	}
	return nil
}

// unknownCodes gathers, per vendor, the codes of rows that the catalog does
// not know (as it is now: a code learnt since it was stored is left out),
// with their total count, most frequent HTTP status and most frequent
// sample message. Requests that named no host cannot be drafted.
func unknownCodes(cat *classify.Catalog, rows []storage.CodeCount, samples []storage.SampleCount) map[string][]classify.UnknownCode {
	type key struct{ vendor, code string }
	type acc struct {
		u        classify.UnknownCode
		byStatus map[int]int64
	}
	accs := map[key]*acc{}
	var order []key
	for _, r := range rows {
		if r.Vendor == classify.UnknownHost || r.Vendor == classify.GenericID || cat.Knows(r.Vendor, r.Code) {
			continue
		}
		id := cat.VendorID(r.Vendor) // a host a vendor file now claims counts under its id
		k := key{id, r.Code}
		a := accs[k]
		if a == nil {
			a = &acc{u: classify.UnknownCode{Vendor: id, Code: r.Code}, byStatus: map[int]int64{}}
			accs[k] = a
			order = append(order, k)
		}
		a.u.Count += r.Count
		a.byStatus[r.HTTPStatus] += r.Count
		if n := a.byStatus[r.HTTPStatus]; n > a.byStatus[a.u.Status] || n == a.byStatus[a.u.Status] && r.HTTPStatus < a.u.Status {
			a.u.Status = r.HTTPStatus
		}
	}
	best := map[key]int64{}
	for _, s := range samples {
		k := key{cat.VendorID(s.Vendor), s.Code}
		if a := accs[k]; a != nil && (a.u.Message == "" || s.Count > best[k]) {
			a.u.Message, best[k] = s.Message, s.Count
		}
	}
	out := map[string][]classify.UnknownCode{}
	for _, k := range order {
		out[k.vendor] = append(out[k.vendor], accs[k].u)
	}
	return out
}
