package main

import (
	"encoding/json"
	"github.com/apierr/apierr/storage"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// reportDB ingests the report test logs into a fresh database.
func reportDB(tb testing.TB, files ...string) string {
	tb.Helper()
	db := filepath.Join(tb.TempDir(), "apierr.db")
	for _, f := range files {
		if code, _, errs := run(tb, "", "ingest", "-q", "--db", db, f); code != 0 {
			tb.Fatalf("ingest %s: %s", f, errs)
		}
	}
	// A fixed host name: the machine's would make the goldens differ by host.
	w := storage.NewDB(db)
	if err := w.Open(); err != nil {
		tb.Fatal(err)
	}
	defer w.Close()
	if err := w.SetHost("log-1"); err != nil {
		tb.Fatal(err)
	}
	return db
}

var reportWindow = []string{"--from", "2026-11-20T00:00:00Z", "--to", "2026-11-21T00:00:00Z"}

// TestReport_Golden renders every format over a fixed database: the
// previous-window comparison and every section included.
func TestReport_Golden(t *testing.T) {
	db := reportDB(t, "../../testdata/report/previous.jsonl", "../../testdata/report/current.jsonl")
	for _, f := range []string{"table", "markdown", "json", "csv"} {
		t.Run(f, func(t *testing.T) {
			code, out, errs := run(t, "", append([]string{"report", "--db", db, "--format", f, "--top", "12"}, reportWindow...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			golden := "../../testdata/report/report." + f + ".golden"
			if *update {
				os.WriteFile(golden, []byte(out), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/apierr -run Golden -update)", err)
			}
			if out != string(want) {
				t.Errorf("report differs from %s:\n%s", golden, out)
			}
		})
	}
}

// TestReport_NoRawControl: a vendor message full of terminal escapes and
// bidi controls reaches no output raw.
func TestReport_NoRawControl(t *testing.T) {
	db := reportDB(t, "../../testdata/report/current.jsonl")
	for _, f := range []string{"table", "markdown"} {
		code, out, errs := run(t, "", append([]string{"report", "--db", db, "--format", f, "--top", "0"}, reportWindow...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		if !strings.Contains(out, `\x1b]0;owned`) {
			t.Fatalf("%s: the hostile message is not shown escaped:\n%s", f, out)
		}
		for _, bad := range []string{"\x1b", "\x07", "\u202e", "\u0085"} {
			if strings.Contains(out, bad) {
				t.Fatalf("%s output holds %q raw", f, bad)
			}
		}
		if strings.Contains(out, "jane.doe@example.com") {
			t.Fatalf("%s output holds an e-mail address", f)
		}
	}
}

// TestReport_Fleet: a report over two databases equals the report over one
// database holding both hosts' lines.
func TestReport_Fleet(t *testing.T) {
	a := reportDB(t, "../../testdata/report/previous.jsonl")
	b := reportDB(t, "../../testdata/report/current.jsonl")
	both := reportDB(t, "../../testdata/report/previous.jsonl", "../../testdata/report/current.jsonl")
	for _, f := range []string{"json", "markdown"} {
		args := []string{"report", "--format", f, "--top", "0", "--from", "2026-11-19T00:00:00Z", "--to", "2026-11-21T00:00:00Z"}
		_, fleet, _ := run(t, "", append(args, "--db", a, "--db", b)...)
		_, one, _ := run(t, "", append(args, "--db", both)...)
		if fleet != one || !strings.Contains(one, "piggy") {
			t.Fatalf("%s: fleet report differs from the single database's:\n%s\n---\n%s", f, fleet, one)
		}
	}
}

func TestReport_Errors(t *testing.T) {
	db := reportDB(t, "../../testdata/report/current.jsonl")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"NoDatabase", []string{"--db", "/nonexistent/apierr.db"}, 1, "no database at /nonexistent/apierr.db"},
		{"BadSince", []string{"--db", db, "--since", "soon"}, 2, "--since"},
		{"FromWithoutTo", []string{"--db", db, "--from", "2026-11-20T00:00:00Z"}, 2, "--from and --to together"},
		{"BadCategory", []string{"--db", db, "--category", "weird"}, 2, `unknown category "weird"`},
		{"BadFailIf", []string{"--db", db, "--fail-if", "errors>>3"}, 2, "--fail-if"},
		{"UnknownMetric", []string{"--db", db, "--fail-if", "sadness>3"}, 2, `unknown metric "sadness"`},
		{"FailIfHolds", append([]string{"--db", db, "--format", "csv", "--fail-if", "retryable>5", "--fail-if", "error_rate>0.99"}, reportWindow...), 3, "retryable>5 (it is"},
		{"FailIfNotHolds", append([]string{"--db", db, "--format", "csv", "--fail-if", "errors>100000", "--fail-if", "unknown<1"}, reportWindow...), 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := run(t, "", append([]string{"report"}, tc.args...)...)
			if code != tc.code || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
				t.Fatalf("exit %d, stderr %q; want %d and one line with %q", code, errs, tc.code, tc.want)
			}
		})
	}
}

// TestReport_CategoryAndVendor filters.
func TestReport_CategoryAndVendor(t *testing.T) {
	db := reportDB(t, "../../testdata/report/current.jsonl")
	_, out, _ := run(t, "", append([]string{"report", "--db", db, "--format", "json", "--category", "rate_limit", "--vendor", "picqer"}, reportWindow...)...)
	var r struct {
		Vendors  []struct{ Vendor string }
		Failures []struct{ Vendor, Category string }
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Failures) == 0 || len(r.Vendors) != 1 || r.Vendors[0].Vendor != "picqer" {
		t.Fatalf("got %+v", r)
	}
	for _, f := range r.Failures {
		if f.Vendor != "picqer" || f.Category != "rate_limit" {
			t.Fatalf("failure %+v outside the filters", f)
		}
	}
}

// TestDemo runs the demo briefly: the live and final reports appear, and
// every line written was read.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for seconds")
	}
	code, out, errs := run(t, "", "demo", "--duration", "2s", "--every", "500ms", "--rate", "1000")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if strings.Count(out, "# apierr · ") < 3 || !strings.Contains(out, "Final report: 2000 lines read") {
		t.Fatalf("want live reports and a final one over 2000 lines:\n%s", out)
	}
	for _, v := range []string{"| piggy |", "| textalk |", "| picqer |", "| voucherify |", "rate_limit"} {
		if !strings.Contains(out, v) {
			t.Errorf("the demo report lacks %q", v)
		}
	}
}

// TestRun_SummaryDir: the daemon writes its periodic summary as markdown
// files, private to its user.
func TestRun_SummaryDir(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real process")
	}
	dir := t.TempDir()
	logs, summaries := filepath.Join(dir, "logs"), filepath.Join(dir, "summaries")
	os.Mkdir(logs, 0o755)
	os.WriteFile(filepath.Join(logs, "a.log"), []byte(testTraffic(0)+"\n"), 0o644)
	config := filepath.Join(dir, "apierr.yaml")
	os.WriteFile(config, []byte("db: "+filepath.Join(dir, "a.db")+"\ninputs: [{paths: ["+filepath.Join(logs, "*.log")+"]}]\nsummary: {every: 300ms, to: "+summaries+"}\nmetrics_listen: \"\"\n"), 0o644)
	d := startDaemon(t, config)
	defer d.kill()
	var files []string
	waitFor(t, "a summary file", func() bool {
		files, _ = filepath.Glob(filepath.Join(summaries, "apierr-summary-*.md"))
		return len(files) > 0
	})
	d.stop(t)
	data, _ := os.ReadFile(files[0])
	fi, _ := os.Stat(files[0])
	if !strings.Contains(string(data), "# apierr · ") || fi.Mode().Perm() != 0o600 {
		t.Fatalf("summary %s (mode %v):\n%s", files[0], fi.Mode().Perm(), data)
	}
}

// TestReport_By: --by host, endpoint and service add their sections,
// --service narrows the report to one calling service, and an unknown
// --by is a usage error.
func TestReport_By(t *testing.T) {
	dir := t.TempDir()
	logPath, db := filepath.Join(dir, "g.jsonl"), filepath.Join(dir, "apierr.db")
	// Recent lines: skipped lines are counted at the time they are read.
	start := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	window := []string{"--since", "3h"}
	code, out, errs := run(t, "", "generate", "--lines", "3000", "--services", "3", "--other", "0.05", "--start", start, "--step", "1s")
	if code != 0 {
		t.Fatalf("generate: %s", errs)
	}
	os.WriteFile(logPath, []byte(out), 0o644)
	if code, _, errs := run(t, "", "ingest", "-q", "--db", db, logPath); code != 0 {
		t.Fatalf("ingest: %s", errs)
	}
	for by, section := range map[string]string{"host": "## Hosts", "endpoint": "## Endpoints", "service": "## Calling services"} {
		code, out, errs := run(t, "", append([]string{"report", "--db", db, "--by", by, "--format", "markdown"}, window...)...)
		if code != 0 || !strings.Contains(out, section) {
			t.Errorf("--by %s: exit %d, %s; no %q section", by, code, errs, section)
		}
	}
	var all, one struct {
		Totals  struct{ Requests, Skipped int64 }
		Skipped []struct {
			Reason string
			Count  int64
		}
		Services []struct {
			Service  string
			Requests int64
		}
	}
	_, out, _ = run(t, "", append([]string{"report", "--db", db, "--format", "json"}, window...)...)
	json.Unmarshal([]byte(out), &all)
	// The application's other lines are counted as skipped, by reason.
	if all.Totals.Skipped == 0 || len(all.Skipped) == 0 || all.Skipped[0].Reason != "not a request" || all.Skipped[0].Count != all.Totals.Skipped {
		t.Errorf("skipped: %d, %+v; want the other lines as \"not a request\"", all.Totals.Skipped, all.Skipped)
	}
	if len(all.Services) != 3 {
		t.Fatalf("%d services, want 3", len(all.Services))
	}
	s := all.Services[0]
	_, out, _ = run(t, "", append([]string{"report", "--db", db, "--format", "json", "--service", s.Service}, window...)...)
	json.Unmarshal([]byte(out), &one)
	if one.Totals.Requests != s.Requests || one.Totals.Requests >= all.Totals.Requests {
		t.Errorf("--service %s: %d requests, want %d (of %d)", s.Service, one.Totals.Requests, s.Requests, all.Totals.Requests)
	}
	if code, _, errs := run(t, "", "report", "--db", db, "--by", "color"); code != 2 || !strings.Contains(errs, "--by") {
		t.Errorf("--by color: exit %d, %q; want a usage error", code, errs)
	}
}
