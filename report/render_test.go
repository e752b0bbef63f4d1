package report_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apierr/apierr/report"
)

func renderFormat(tb testing.TB, r *report.Report, f report.Format) string {
	tb.Helper()
	var b bytes.Buffer
	if err := report.Render(&b, r, f, false); err != nil {
		tb.Fatal(err)
	}
	return b.String()
}

// TestRender_CSVChangeRatio: a new group has no previous count, so no
// ratio: the cell is empty, not 0.00.
func TestRender_CSVChangeRatio(t *testing.T) {
	rows, err := csv.NewReader(strings.NewReader(renderFormat(t, pageReport(), report.CSV))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, row := range rows[1:] {
		change, ratio := row[col["change"]], row[col["change_ratio"]]
		switch {
		case change == "new" && ratio != "":
			t.Errorf("%s %s: change_ratio=%q for a new group, want empty", row[0], row[1], ratio)
		case change != "new" && ratio == "":
			t.Errorf("%s %s: change_ratio empty for a %s group", row[0], row[1], change)
		}
	}
}

// TestRender_FirstSeenEver: the table's first seen is the first time ever,
// with the date when it is not the report's day.
func TestRender_FirstSeenEver(t *testing.T) {
	r := pageReport()
	for i := range r.Failures {
		if r.Failures[i].Code == "28" {
			r.Failures[i].FirstEverSeen = time.Date(1999, 12, 30, 8, 15, 0, 0, time.UTC)
		}
	}
	for _, f := range []report.Format{report.Table, report.Markdown} {
		out := renderFormat(t, r, f)
		for _, want := range []string{"1999-12-30 08:15", "2000-01-02 23:00"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: no %q:\n%s", f, want, out)
			}
		}
	}
	// voucherify was last seen on the report's own day: the time alone.
	if out := renderFormat(t, r, report.Table); !strings.Contains(out, "last 02:00") {
		t.Errorf("table: no \"last 02:00\":\n%s", out)
	}
}

// TestRender_Width: the table format fits 80 columns.
func TestRender_Width(t *testing.T) {
	for i, line := range strings.Split(renderFormat(t, pageReport(), report.Table), "\n") {
		if n := utf8.RuneCountInString(line); n > 80 {
			t.Errorf("line %d is %d columns: %q", i+1, n, line)
		}
	}
}

// TestRender_MarkdownSparkline: a sparkline is a code span whose empty
// steps are no-break spaces, so a renderer keeps its width.
func TestRender_MarkdownSparkline(t *testing.T) {
	r := pageReport()
	r.Vendors[0].Trend = []int64{0, 1, 0, 8}
	out := renderFormat(t, r, report.Markdown)
	want := "| `\u00a0▁\u00a0█` |"
	if !strings.Contains(out, want) {
		t.Fatalf("no %q in:\n%s", want, out)
	}
}

// TestRender_Lines: the journal format is a headline and one line per
// failure group.
func TestRender_Lines(t *testing.T) {
	r := pageReport()
	lines := strings.Split(strings.TrimSuffix(renderFormat(t, r, report.Lines), "\n"), "\n")
	if len(lines) != 1+len(r.Failures) {
		t.Fatalf("%d lines for %d groups:\n%s", len(lines), len(r.Failures), strings.Join(lines, "\n"))
	}
	if !strings.HasPrefix(lines[0], "summary from=2000-01-02T03:00:00Z to=2000-01-03T03:00:00Z requests=") {
		t.Errorf("headline %q", lines[0])
	}
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "failure vendor=") || strings.ContainsAny(l, "\x1b\u202e") {
			t.Errorf("line %q", l)
		}
	}
}
