package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apierr/apierr/classify"
)

// unknownLog has codes no catalog knows (a Stripe code, a host no vendor
// claims, a status the generic rules lack) beside known ones.
const unknownLog = `{"ts":"2026-11-20T10:00:00Z","method":"POST","url":"https://api.stripe.com/v1/charges","status":400,"response_body":"{\"error\":{\"code\":\"brand_new_code\",\"message\":\"Something new about jane@example.com\",\"type\":\"invalid_request_error\"}}"}
{"ts":"2026-11-20T10:00:01Z","method":"POST","url":"https://api.stripe.com/v1/charges","status":400,"response_body":"{\"error\":{\"code\":\"brand_new_code\",\"message\":\"Something new about jane@example.com\",\"type\":\"invalid_request_error\"}}"}
{"ts":"2026-11-20T10:00:02Z","method":"POST","url":"https://api.stripe.com/v1/charges","status":402,"response_body":"{\"error\":{\"code\":\"card_declined\",\"message\":\"Your card was declined.\",\"type\":\"card_error\"}}"}
{"ts":"2026-11-20T10:00:03Z","method":"POST","url":"https://api.acme-pay.io/v2/widgets","status":409,"response_body":"{\"error\":{\"code\":\"widget_jammed\",\"message\":\"The widget is jammed\"}}"}
{"ts":"2026-11-20T10:00:04Z","method":"POST","url":"https://api.acme-pay.io/v2/widgets","status":429,"response_body":"{\"error\":{\"code\":\"too_fast_for_widgets\",\"message\":\"Too many requests, slow down\"}}"}
{"ts":"2026-11-20T10:00:05Z","method":"POST","url":"https://api.acme-pay.io/oauth/token","status":400,"response_body":"{\"error\":\"invalid_grant\",\"error_description\":\"expired\"}"}
{"ts":"2026-11-20T10:00:06Z","method":"GET","url":"https://api.acme-pay.io/v2/teapot","status":418,"response_body":"short and stout"}
`

// TestCodesCommand_Unknown ingests a log with unknown codes into a real
// database, drafts vendor files for them, loads the drafts from a vendors
// dir and classifies the log again: every error is then known.
func TestCodesCommand_Unknown(t *testing.T) {
	dir := t.TempDir()
	logPath, dbPath, vendorsDir := filepath.Join(dir, "app.jsonl"), filepath.Join(dir, "apierr.db"), filepath.Join(dir, "vendors.d")
	os.WriteFile(logPath, []byte(unknownLog), 0o644)
	os.Mkdir(vendorsDir, 0o755)
	if code, _, errs := run(t, "", "ingest", "-q", "--db", dbPath, logPath); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errs)
	}
	before := classified(t, "classify", logPath)
	unknown := 0
	for _, ev := range before {
		if ev.Error && !ev.Known {
			unknown++
		}
	}
	if unknown != 5 {
		t.Fatalf("%d unknown errors before the drafts, want 5: %+v", unknown, before)
	}

	// To standard output: one YAML document per vendor.
	code, out, errs := run(t, "", "codes", "--unknown", "--db", dbPath, "--format", "yaml")
	if code != 0 {
		t.Fatalf("codes --unknown: exit %d: %s", code, errs)
	}
	for _, want := range []string{"# Save as acme-pay.yaml", "\n---\n", "# Save as stripe.yaml", "hosts: [api.acme-pay.io]",
		"# seen 2 times, HTTP 400", "code: brand_new_code", "guessed: true", "status: 418", `retry: "no"`} {
		if !strings.Contains(out, want) {
			t.Errorf("drafts lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "jane@") || !strings.Contains(out, "about [email]") {
		t.Errorf("drafts carry an unredacted id:\n%s", out)
	}
	// Saved as one file, the loader refuses the second document clearly.
	os.WriteFile(filepath.Join(dir, "both.yaml"), []byte(out), 0o644)
	if _, err := classify.Load(os.DirFS(dir)); err == nil || !strings.Contains(err.Error(), "more than one YAML document") {
		t.Errorf("Load of both drafts in one file: %v, want a one-vendor-per-file error", err)
	}

	// Into the vendors dir, one file per vendor.
	if code, _, errs := run(t, "", "codes", "--unknown", "--db", dbPath, "--format", "yaml", "--out", vendorsDir); code != 0 {
		t.Fatalf("codes --unknown --out: exit %d: %s", code, errs)
	}
	for _, name := range []string{"stripe.yaml", "acme-pay.yaml"} {
		if _, err := os.Stat(filepath.Join(vendorsDir, name)); err != nil {
			t.Fatal(err)
		}
	}
	builtin, _ := classify.Load(classify.Builtin())
	cat, err := classify.Load(classify.Builtin(), os.DirFS(vendorsDir))
	if err != nil {
		t.Fatalf("Load drafts: %v", err)
	}
	if got, want := len(cat.Entries("stripe")), len(builtin.Entries("stripe"))+1; got != want {
		t.Errorf("the Stripe draft has %d entries, want the built-in's and one more, %d", got, want)
	}
	after := classified(t, "classify", "--vendors-dir", vendorsDir, logPath)
	for i, ev := range after {
		if ev.Error && !ev.Known {
			t.Errorf("line %d after the drafts: %+v, want known", i+1, ev)
		}
	}
	byCode := map[string]event{}
	for _, ev := range after {
		byCode[ev.Vendor+" "+ev.Code] = ev
	}
	for key, want := range map[string][2]string{
		"stripe brand_new_code":         {"validation", "no"},
		"stripe card_declined":          {"business_rule", "no"},
		"acme-pay widget_jammed":        {"conflict", "no"},
		"acme-pay too_fast_for_widgets": {"rate_limit", "retry_after"},
		"acme-pay invalid_grant":        {"auth", "no"},
	} {
		ev, ok := byCode[key]
		if !ok || ev.Category != want[0] || ev.Retry != want[1] {
			t.Errorf("%s: %+v, want %s/%s", key, ev, want[0], want[1])
		}
	}

	// Nothing left to draft once the drafts are loaded; an existing file
	// is not overwritten.
	code, _, errs = run(t, "", "codes", "--unknown", "--db", dbPath, "--format", "yaml", "--vendors-dir", vendorsDir)
	if code != 0 || !strings.Contains(errs, "nothing to draft") {
		t.Errorf("codes --unknown with the drafts loaded: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := run(t, "", "codes", "--unknown", "--db", dbPath, "--format", "yaml", "--out", vendorsDir); code != 1 || !strings.Contains(errs, "exists") {
		t.Errorf("second --out: exit %d, stderr %q; want 1, file exists", code, errs)
	}
}

type event struct {
	Error    bool   `json:"error"`
	Vendor   string `json:"vendor"`
	Code     string `json:"code"`
	Category string `json:"category"`
	Retry    string `json:"retry"`
	Known    bool   `json:"known"`
}

func classified(tb testing.TB, args ...string) []event {
	tb.Helper()
	code, out, errs := run(tb, "", args...)
	if code != 0 {
		tb.Fatalf("%v: exit %d: %s", args, code, errs)
	}
	var evs []event
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev event
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			tb.Fatalf("%q: %v", l, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

func TestCodesCommand_UnknownUsage(t *testing.T) {
	for _, args := range [][]string{
		{"codes", "--unknown", "--format", "json"},
		{"codes", "--unknown", "--format", "table"},
		{"codes", "--format", "yaml"},
		{"codes", "--since", "1h"},
		{"codes", "--unknown", "--vendor", "stripe"},
		{"codes", "--unknown", "--since", "soon"},
	} {
		if code, _, errs := run(t, "", args...); code != 2 {
			t.Errorf("%v: exit %d (%s), want 2", args, code, errs)
		}
	}
	if code, _, errs := run(t, "", "codes", "--unknown", "--db", filepath.Join(t.TempDir(), "none.db")); code != 1 || !strings.Contains(errs, "no database") {
		t.Errorf("missing db: exit %d, stderr %q", code, errs)
	}
}

func TestCodesCommand_VendorList(t *testing.T) {
	code, _, errs := run(t, "", "codes", "--vendor", "nosuch")
	if code != 2 || strings.Contains(errs, "[") || !strings.Contains(errs, "stripe, ") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Fatalf("exit %d, stderr %q; want one line naming the vendors as words", code, errs)
	}
}

// TestCodesCommand_Listing checks that the listing names every vendor,
// that its table keeps within 80 columns, and that json and markdown carry
// each entry's doc URL.
func TestCodesCommand_Listing(t *testing.T) {
	cat, err := classify.Load(classify.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "", "codes")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	seen := map[string]bool{}
	for i, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("table line %d is %d columns wide: %q", i+1, n, l)
		}
		if f := strings.Fields(l); len(f) > 0 && !strings.HasPrefix(l, " ") {
			seen[f[0]] = true
		}
	}
	for _, v := range cat.Vendors() {
		if !seen[v] {
			t.Errorf("vendor %s is not in the table", v)
		}
	}

	code, out, errs = run(t, "", "codes", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var entries []classify.Entry
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatal(err)
	}
	vendors := map[string]bool{}
	for _, e := range entries {
		vendors[e.Vendor] = true
		if !strings.HasPrefix(e.Doc, "https://") {
			t.Errorf("%s %s: doc %q, want the page's URL", e.Vendor, e.Code, e.Doc)
		}
	}
	if len(vendors) != len(cat.Vendors()) {
		t.Errorf("json lists %d vendors, the catalog has %d", len(vendors), len(cat.Vendors()))
	}

	code, out, _ = run(t, "", "codes", "--vendor", "stripe", "--format", "markdown")
	if code != 0 || !strings.Contains(out, "| stripe | card_declined | business_rule | no |  | 402 |") || !strings.Contains(out, "https://docs.stripe.com/") {
		t.Errorf("markdown: exit %d:\n%.600s", code, out)
	}
}
