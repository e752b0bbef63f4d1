package classify_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/apierr/apierr/classify"
)

// TestCatalog_Draft drafts vendor files for unknown codes and loads them:
// the codes become known with the guessed verdict, and a built-in
// vendor's draft keeps all its entries.
func TestCatalog_Draft(t *testing.T) {
	cat := MustLoad(t)
	tests := []struct {
		name    string
		vendor  string
		unknown []classify.UnknownCode
		wantID  string
		line    string
		code    string
		cat     classify.Category
		retry   classify.Retry
	}{
		{"Host", "api.widgets.example", []classify.UnknownCode{{Code: "widget_jammed", Status: 409, Count: 3, Message: "The widget jammed"}},
			"widgets", `{"url":"https://api.widgets.example/x","status":409,"body":{"error":{"code":"widget_jammed","message":"m"}}}`,
			"widget_jammed", classify.Conflict, classify.RetryNo},
		{"HostQuotaWords", "api.widgets.example", []classify.UnknownCode{{Code: "over_plan", Status: 429, Count: 1, Message: "The monthly limit of the plan is used up"}},
			"widgets", `{"url":"https://api.widgets.example/x","status":429,"body":{"error":{"code":"over_plan","message":"m"}}}`,
			"over_plan", classify.Quota, classify.RetryNo},
		{"HostStatus", "api.widgets.example", []classify.UnknownCode{{Code: "http_418", Status: 418, Count: 1}},
			"widgets", `{"url":"https://api.widgets.example/x","status":418,"body":"short and stout"}`,
			"http_418", classify.Unknown, classify.RetryNo},
		{"Builtin", "stripe", []classify.UnknownCode{{Code: "brand_new_code", Status: 400, Count: 2, Message: "New"}},
			"stripe", `{"url":"https://api.stripe.com/v1/charges","status":400,"body":{"error":{"code":"brand_new_code","message":"m"}}}`,
			"brand_new_code", classify.Validation, classify.RetryNo},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if ev := classifyLine(t, cat, tc.line); ev.Known {
				t.Fatalf("before the draft: %+v, want unknown", ev)
			}
			id, data, err := cat.Draft(tc.vendor, tc.unknown)
			if err != nil {
				t.Fatal(err)
			}
			if id != tc.wantID || !strings.Contains(string(data), "guessed: true") {
				t.Fatalf("id %q, want %q:\n%s", id, tc.wantID, data)
			}
			drafted, err := classify.Load(classify.Builtin(), fstest.MapFS{id + ".yaml": {Data: data}})
			if err != nil {
				t.Fatalf("Load: %v\n%s", err, data)
			}
			ev := classifyLine(t, drafted, tc.line)
			if ev.Vendor != id || ev.Code != tc.code || !ev.Known || ev.Category != tc.cat || ev.Retry != tc.retry {
				t.Fatalf("after the draft: %+v, want %s %s %s %s known", ev, id, tc.code, tc.cat, tc.retry)
			}
			if got, want := len(drafted.Entries(id)), len(cat.Entries(id))+len(tc.unknown); cat.Vendor(id) != nil && got != want {
				t.Errorf("%d entries after the draft, want %d", got, want)
			}
			guessed := 0
			for _, e := range drafted.Entries(id) {
				if e.Guessed {
					guessed++
				}
			}
			if guessed != len(tc.unknown) {
				t.Errorf("%d entries marked guessed, want %d", guessed, len(tc.unknown))
			}
		})
	}
}
