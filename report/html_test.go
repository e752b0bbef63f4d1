package report_test

import (
	"bytes"
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apierr/apierr/report"
	"github.com/apierr/apierr/storage"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// hostile is a vendor message that tries to inject markup, script, terminal
// escapes and bidi overrides into a page.
const hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>\x1b[31m\u202egnp.exe\"'&"

// pageReport is a fixed report with every section filled.
func pageReport() *report.Report {
	t0 := time.Date(2000, 1, 2, 3, 0, 0, 0, time.UTC)
	w := report.Window{From: t0, To: t0.Add(24 * time.Hour)}
	prev := report.Window{From: t0.Add(-24 * time.Hour), To: t0}
	trend := func(seed int64) []int64 {
		s := make([]int64, 24)
		for i := range s {
			s[i] = (seed*int64(i+3))%17 + seed%5
		}
		return s
	}
	src := report.Source{
		Vendors: []storage.VendorCount{
			{Vendor: "picqer", Requests: 12000, Errors: 420, Retryable: 300},
			{Vendor: "voucherify", Requests: 8000, Errors: 95, Retryable: 10},
			{Vendor: "api.evil.example", Requests: 10, Errors: 10},
		},
		Codes: []storage.CodeCount{
			{Vendor: "picqer", Code: "28", HTTPStatus: 429, Category: "rate_limit", Retry: "retry_after", Known: true, Count: 300, FirstSeen: t0.Add(time.Hour), LastSeen: t0.Add(20 * time.Hour)},
			{Vendor: "picqer", Code: "24", HTTPStatus: 400, Category: "not_found", Retry: "no", Known: true, Count: 120, FirstSeen: t0.Add(2 * time.Hour), LastSeen: t0.Add(22 * time.Hour)},
			{Vendor: "voucherify", Code: "voucher_expired", HTTPStatus: 400, Category: "business_rule", Retry: "no", Known: true, Count: 85, FirstSeen: t0, LastSeen: t0.Add(23 * time.Hour)},
			{Vendor: "voucherify", Code: "too_many_requests", HTTPStatus: 429, Category: "rate_limit", Retry: "retry_after", Known: true, Count: 10, FirstSeen: t0, LastSeen: t0.Add(23 * time.Hour)},
			{Vendor: "api.evil.example", Code: "x<b>y", HTTPStatus: 500, Category: "server", Retry: "retry", Known: false, Count: 10, FirstSeen: t0, LastSeen: t0},
		},
		PrevCodes: []storage.CodeCount{
			{Vendor: "picqer", Code: "24", HTTPStatus: 400, Category: "not_found", Retry: "no", Known: true, Count: 200},
		},
		Samples: []storage.SampleCount{
			{Vendor: "picqer", Code: "28", Message: "Rate limit exceeded", Count: 3},
			{Vendor: "api.evil.example", Code: "x<b>y", Message: hostile, Count: 1},
		},
		Malformed: []storage.ReasonCount{{Reason: "not JSON", Count: 7}},
		Trend:     map[string][]int64{"picqer": trend(7), "voucherify": trend(3), "api.evil.example": trend(1)},
	}
	r := report.Build(w, prev, []report.Source{src}, report.Options{Top: 20, TrendStep: time.Hour})
	// Sections that the databases fill: set by hand here, so that the page
	// is tested with all of them.
	for i := range r.Failures {
		f := &r.Failures[i]
		f.Trend = trend(f.Count)
		f.FirstEverSeen = f.FirstSeen.Add(-72 * time.Hour)
		f.TraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		f.Hosts = []report.HostCount{{Host: "log-1", Count: f.Count}}
		if f.Vendor == "picqer" {
			f.Doc = "https://picqer.com/en/api#error-codes"
		}
		if f.Vendor == "api.evil.example" {
			f.Doc = "javascript:alert(3)"
		}
	}
	r.Hosts = []report.HostRow{{Host: "log-1", Requests: 20010, Errors: 525, ErrorRate: 525.0 / 20010}}
	r.Endpoints = []report.EndpointRow{
		{Vendor: "picqer", Endpoint: "GET /api/v1/products", Requests: 9000, Errors: 300, ErrorRate: 300.0 / 9000, Latency: &report.Latency{P50: 120, P95: 480, P99: 1900}},
		{Vendor: "voucherify", Endpoint: "POST /v1/redemptions", Requests: 8000, Errors: 95, ErrorRate: 95.0 / 8000, Latency: &report.Latency{P50: 80, P95: 220, P99: 600}},
	}
	r.Vendors[0].Latency = &report.Latency{P50: 110, P95: 450, P99: 1800}
	r.Generated = w.To
	return r
}

func TestHTML_Golden(t *testing.T) {
	var b bytes.Buffer
	if err := report.Render(&b, pageReport(), report.HTML, false); err != nil {
		t.Fatal(err)
	}
	golden := "../testdata/report/page.html.golden"
	if *update {
		os.WriteFile(golden, b.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Fatalf("page differs from %s (run go test ./report -update and review the diff)", golden)
	}
}

// TestHTML_SelfContained: nothing on the page loads from elsewhere, and
// there is no script at all.
func TestHTML_SelfContained(t *testing.T) {
	var b bytes.Buffer
	report.Render(&b, pageReport(), report.HTML, false)
	page := b.String()
	if strings.Contains(strings.ToLower(page), "<script") {
		t.Fatal("page holds a script element")
	}
	// Resources: src=, <link href>, url(...), @import. Links (<a href>) are
	// navigation, not loads.
	for _, re := range []string{`(?i)<[^>]*\ssrc\s*=`, `(?i)url\(`, `(?i)@import`, `(?i)<link[^>]+href="(?:[^d]|d[^a])`} {
		if m := regexp.MustCompile(re).FindString(page); m != "" {
			t.Errorf("page loads a resource: %q", m)
		}
	}
	if n := strings.Count(page, "<polyline"); n < 4 {
		t.Errorf("page has %d polylines, want a chart line per vendor and sparklines", n)
	}
}

// TestHTML_Hostile: a vendor's message and code show as text: no markup,
// no raw escape sequence or bidi override, no javascript: link.
func TestHTML_Hostile(t *testing.T) {
	var b bytes.Buffer
	report.Render(&b, pageReport(), report.HTML, false)
	page := b.String()
	for _, bad := range []string{"<img", "<b>y", "\x1b", "\u202e", "javascript:"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q raw", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", `\x1b[31m`, `\u202egnp.exe`, "x&lt;b&gt;y"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks the escaped text %q", want)
		}
	}
}

// TestRender_Live: the demo's redraw fits one screen (24 lines and 80
// columns leave room for the prompt), keeps the headline and what changed,
// and shows unknown codes when there are any.
func TestRender_Live(t *testing.T) {
	var b bytes.Buffer
	if err := report.Render(&b, pageReport(), report.Live, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) > 30 {
		t.Errorf("%d lines, want a screen's worth:\n%s", len(lines), out)
	}
	for _, l := range lines {
		if n := len([]rune(l)); n > 80 {
			t.Errorf("line of %d columns: %q", n, l)
		}
	}
	for _, want := range []string{"20,010 requests", "changed: ", "UNKNOWN CODES", "x<b>y"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}
