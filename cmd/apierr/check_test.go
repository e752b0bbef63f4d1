package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestCheckCommand_Shapes: on each shape apierr knows, check names the
// shape, finds every field the shape has on every line, and asks for no
// mapping.
func TestCheckCommand_Shapes(t *testing.T) {
	always := []string{"time", "method", "url or host", "status"}
	for _, tc := range []struct {
		shape string
		full  []string // fields on every line of the golden besides always
	}{
		{"envoy", []string{"duration", "trace id"}},
		{"har", []string{"duration"}},
		{"kong", []string{"duration", "trace id"}},
		{"otel", []string{"trace id", "service"}},
		{"otlp", []string{"trace id", "service"}},
		{"slog", []string{"duration"}},
		{"structlog", []string{"duration"}},
		{"telescope", nil},
		{"traefik", nil},
	} {
		t.Run(tc.shape, func(t *testing.T) {
			code, out, errs := run(t, "", "check", "../../testdata/classify/shapes/"+tc.shape+".jsonl")
			if code != 0 {
				t.Fatalf("exit %d: %s%s", code, out, errs)
			}
			if !regexp.MustCompile(`(?m)^  shape +` + tc.shape + ` \d+ \(requests by shape\)$`).MatchString(out) {
				t.Fatalf("shape %s not named:\n%s", tc.shape, out)
			}
			for _, f := range append(always, tc.full...) {
				if !regexp.MustCompile(`(?m)^    ` + regexp.QuoteMeta(f) + ` +100\.0%`).MatchString(out) {
					t.Errorf("field %s not at 100%%:\n%s", f, out)
				}
			}
			if !strings.Contains(out, "Nothing to map") || strings.Contains(out, "malformed line:") {
				t.Errorf("asks for a mapping on a shape it knows:\n%s", out)
			}
		})
	}
}

// TestCheckCommand_Snippet: on a shape apierr does not know, the snippet
// that check prints, pasted into a config, makes ingest classify the file
// right.
func TestCheckCommand_Snippet(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "calls.jsonl")
	now := time.Now().UTC().Add(-time.Minute)
	var lines []string
	for i := range 6 {
		ts := now.Add(time.Duration(i) * time.Second).Format(time.RFC3339)
		switch i % 3 {
		case 0:
			lines = append(lines, fmt.Sprintf(`{"when":%q,"verb":"POST","target":"https://acme.picqer.com/api/v1/orders","code":400,"took_ms":87,"reply":"{\"error\":true,\"error_code\":24,\"error_message\":\"Product you are trying to order, does not exists\"}"}`, ts))
		case 1:
			lines = append(lines, fmt.Sprintf(`{"when":%q,"verb":"POST","target":"https://api.voucherify.io/v1/vouchers/SUMMER/redemption","code":429,"took_ms":12,"reply":"{\"code\":429,\"key\":\"too_many_requests\",\"message\":\"Hourly API limit reached\"}"}`, ts))
		default:
			lines = append(lines, fmt.Sprintf(`{"when":%q,"verb":"GET","target":"https://acme.picqer.com/api/v1/products","code":200,"took_ms":40,"reply":"[]"}`, ts))
		}
	}
	if err := os.WriteFile(logPath, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// Before: no line is a request.
	code, out, errs := run(t, "", "check", logPath)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
	if !strings.Contains(out, "  lines  0 requests,") {
		t.Fatalf("want no request before the mapping:\n%s", out)
	}
	snippet := snippetOf(t, out)
	for _, want := range []string{"time: when", "method: verb", "url: target", "status: code", "body: reply", `latency: "took_ms:ms"`} {
		if !strings.Contains(snippet, want) {
			t.Errorf("snippet lacks %q:\n%s", want, snippet)
		}
	}

	// After: the snippet as the config.
	cfgPath := filepath.Join(dir, "apierr.yaml")
	dbPath := filepath.Join(dir, "apierr.db")
	if err := os.WriteFile(cfgPath, []byte("db: "+dbPath+"\n"+snippet), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = run(t, "", "check", "--config", cfgPath, logPath)
	if code != 0 || !strings.Contains(out, "6 requests, 0 skipped lines, 0 malformed lines") || !strings.Contains(out, "Nothing to map") {
		t.Fatalf("exit %d, with the snippet:\n%s%s", code, out, errs)
	}
	if code, _, errs := run(t, "", "ingest", "-q", "--config", cfgPath); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errs)
	}
	code, out, errs = run(t, "", "report", "--config", cfgPath, "--format", "json", "--since", "1h")
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errs)
	}
	var rep struct {
		Totals struct {
			Requests, Errors, Malformed, Skipped int
		}
		Failures []struct {
			Vendor, Code, Category, Retry string
			Count                         int
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if rep.Totals.Requests != 6 || rep.Totals.Errors != 4 || rep.Totals.Malformed != 0 {
		t.Fatalf("totals %+v, want 6 requests, 4 errors, 0 malformed", rep.Totals)
	}
	got := map[string]string{}
	for _, f := range rep.Failures {
		got[f.Vendor+" "+f.Code] = fmt.Sprintf("%d %s %s", f.Count, f.Category, f.Retry)
	}
	// The codes come from the bodies (reply): Picqer's error_code 24, Voucherify's key.
	if got["voucherify too_many_requests"] != "2 rate_limit retry_after" || got["picqer 24"] != "2 not_found no" || len(got) != 2 {
		t.Fatalf("failures %v", got)
	}
}

// TestCheckCommand_Match: a file where most lines are the application's
// other lines gets a match suggestion that names the request lines.
func TestCheckCommand_Match(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "app.log")
	var b strings.Builder
	for i := range 10 {
		fmt.Fprintf(&b, `{"time":"2026-11-20T10:00:%02dZ","level":"info","msg":"user logged in","user":%d}`+"\n", i, i)
		fmt.Fprintf(&b, `{"time":"2026-11-20T10:00:%02dZ","level":"debug","msg":"cache miss","key":"k%d"}`+"\n", i, i)
		if i%3 == 0 {
			fmt.Fprintf(&b, `{"time":"2026-11-20T10:00:%02dZ","level":"info","msg":"outbound request","method":"GET","url":"https://api.voucherify.io/v1/x","status":200}`+"\n", i)
		}
	}
	b.WriteString("panic: something\n")
	os.WriteFile(logPath, []byte(b.String()), 0o644)
	code, out, errs := run(t, "", "check", logPath)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"4 requests, 20 skipped lines, 1 malformed line", "not a request", `match: {msg: "outbound request"}`, "not JSON"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	cfgPath := filepath.Join(dir, "apierr.yaml")
	snippet := snippetOf(t, out)
	if !strings.Contains(snippet, "text: skip") {
		t.Errorf("no text: skip in:\n%s", snippet)
	}
	os.WriteFile(cfgPath, []byte(snippet), 0o644)
	code, out, errs = run(t, "", "check", "--config", cfgPath, logPath)
	if code != 0 || !strings.Contains(out, "4 requests, 21 skipped lines, 0 malformed lines") || !strings.Contains(out, "not matched") || !strings.Contains(out, "Nothing to map") {
		t.Fatalf("exit %d with the match:\n%s%s", code, out, errs)
	}
}

// TestCheckCommand_Container: a CRI file is unwrapped, its inner lines
// decoded.
func TestCheckCommand_Container(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "log", "pods", "shop_checkout-7d9f8c6b5-x2x9q_0b1c", "checkout")
	os.MkdirAll(dir, 0o755)
	inner := `{"ts":"2026-11-20T10:00:00Z","method":"POST","url":"https://acme.picqer.com/api/v1/orders","status":400,"duration_ms":87}`
	data := "2026-11-20T10:00:00.1Z stdout P " + inner[:40] + "\n2026-11-20T10:00:00.2Z stdout F " + inner[40:] + "\n"
	os.WriteFile(filepath.Join(dir, "0.log"), []byte(data), 0o644)
	code, out, errs := run(t, "", "check", filepath.Join(dir, "0.log"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"cri log lines, unwrapped", "1 request,", `"shop/checkout" from the file's path`, "Nothing to map"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}

// TestCheckCommand_Problems: each problem is named; errors exit 2,
// warnings 0.
func TestCheckCommand_Problems(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("logs/a.jsonl", "")
	badVendors := filepath.Join(dir, "vendors.d")
	write("vendors.d/broken.yaml", "id: [\n")
	for _, tc := range []struct {
		name, config string
		code         int
		want         []string
	}{
		{"OK", "inputs: [{paths: [" + dir + "/logs/*.jsonl]}]\n", 0,
			[]string{"ok       keys and values (1 input)", "matches 1 file", "No problems found."}},
		{"Warning", "inputs: [{paths: [" + dir + "/logs/*.jsonl, " + dir + "/none/*.log]}]\n", 0,
			[]string{"warning  inputs[0].paths: \"" + dir + "/none/*.log\" matches no file (yet)", "No errors, 1 warning."}},
		{"BadGlob", "inputs: [{paths: [\"" + dir + "/[\", \"" + dir + "/x[\"]}]\n", 2,
			[]string{"is not a valid glob", "inputs[0].paths: \"" + dir + "/x[\" is not a valid glob"}},
		{"UnknownKey", "flush_intervall: 2s\n", 2,
			[]string{`error    line 1: unknown key "flush_intervall" (did you mean "flush_interval"?)`}},
		{"BadVendors", "vendors_dir: " + badVendors + "\n", 2,
			[]string{"error    vendor files:", "broken.yaml"}},
		{"NoVendorsDir", "vendors_dir: " + dir + "/nope\n", 2,
			[]string{"error    vendor files:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := write(tc.name+".yaml", tc.config)
			code, out, errs := run(t, "", "check", "--config", cfg)
			if code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s%s", code, tc.code, out, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("no %q in:\n%s", w, out)
				}
			}
		})
	}
	if code, out, _ := run(t, "", "check", filepath.Join(dir, "missing.jsonl")); code != 2 || !strings.Contains(out, "no such file") {
		t.Errorf("missing log file: exit %d:\n%s", code, out)
	}
}

// snippetOf returns the config lines check printed, unindented.
func snippetOf(tb testing.TB, out string) string {
	tb.Helper()
	i := strings.Index(out, "    inputs:\n")
	if i < 0 {
		tb.Fatalf("no snippet in:\n%s", out)
	}
	var b strings.Builder
	for _, l := range strings.Split(out[i:], "\n") {
		if l == "" {
			break
		}
		b.WriteString(strings.TrimPrefix(l, "    ") + "\n")
	}
	return b.String()
}
