package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// run runs apierr in-process and returns its exit code and output.
func run(tb testing.TB, stdin string, args ...string) (code int, stdout, stderr string) {
	tb.Helper()
	var out, errb bytes.Buffer
	m := &Main{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	code = m.ExitCode(m.Run(context.Background(), args))
	return code, out.String(), errb.String()
}

func TestClassifyCommand_Golden(t *testing.T) {
	code, out, errs := run(t, "", "classify", "../../testdata/sample.jsonl")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	golden := "../../testdata/sample.golden"
	if *update {
		os.WriteFile(golden, []byte(out), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Fatalf("output differs from %s (run with -update to see):\n%s", golden, out)
	}
}

func TestClassifyCommand_Stdin(t *testing.T) {
	in := `{"url":"https://acme.picqer.com/api/v1/x","status":429}` + "\n" + strings.Repeat("x", 100) + "\n\n{\"status\":200"
	code, out, errs := run(t, in, "classify", "--max-line", "60", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		got = append(got, m)
	}
	if len(got) != 4 {
		t.Fatalf("%d lines out, want 4:\n%s", len(got), out)
	}
	if got[0]["code"] != "http_429" || got[0]["retry"] != "retry_after" || got[0]["line"] != 1.0 {
		t.Errorf("line 1: %v", got[0])
	}
	for i, reason := range []string{"line too long", "empty line", "not JSON"} {
		if got[i+1]["malformed"] != true || got[i+1]["reason"] != reason || got[i+1]["line"] != float64(i+2) {
			t.Errorf("line %d: %v, want malformed %q", i+2, got[i+1], reason)
		}
	}
}

func TestCodesCommand(t *testing.T) {
	code, out, errs := run(t, "", "codes", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var entries []map[string]any
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, e := range entries {
		for _, k := range []string{"vendor", "code", "message", "range", "category", "retry", "source"} {
			if _, ok := e[k]; !ok {
				t.Fatalf("entry %v has no %q", e, k)
			}
		}
		per[e["vendor"].(string)]++
	}
	for v, min := range map[string]int{"piggy": 60, "textalk": 45, "picqer": 41, "voucherify": 31} {
		if per[v] < min {
			t.Errorf("%s: %d entries, want at least %d", v, per[v], min)
		}
	}

	code, out, _ = run(t, "", "codes", "--vendor", "textalk", "--format", "csv")
	if code != 0 || !strings.Contains(out, "textalk,-32601,Method not found,jsonrpc,protocol,no") || strings.Contains(out, "piggy") {
		t.Fatalf("exit %d, csv:\n%s", code, out)
	}
}

func TestCodesCommand_UserVendors(t *testing.T) {
	code, out, errs := run(t, "", "codes", "--vendors-dir", "../../testdata/vendors.d", "--vendor", "acmepay", "--format", "markdown")
	if code != 0 || !strings.Contains(out, "| acmepay | card_declined |") {
		t.Fatalf("exit %d: %s\n%s", code, errs, out)
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "acme.yaml"), []byte("id: acme\ncodes: [{code: x, message: m, category: nope, retry: \"no\"}]\n"), 0o644)
	code, _, errs = run(t, "", "codes", "--vendors-dir", bad)
	if code != 2 || !strings.Contains(errs, "acme.yaml: codes[0].category") {
		t.Fatalf("exit %d, stderr %q; want 2 naming file and field", code, errs)
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"UnknownCommand", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"NoCommand", nil, 2, "no command given"},
		{"BadFlag", []string{"classify", "--nope"}, 2, "flag provided but not defined"},
		{"BadFormat", []string{"codes", "--format", "xml"}, 2, `unknown format "xml"`},
		{"UnknownVendor", []string{"codes", "--vendor", "acme"}, 2, `unknown vendor "acme"`},
		{"MissingFile", []string{"classify", "/nonexistent/requests.jsonl"}, 1, "no such file or directory"},
		{"Help", []string{"classify", "-h"}, 0, ""}, // help goes to stdout: TestCLI
		{"Version", []string{"version"}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := run(t, "", tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errs, tc.code, tc.want)
			}
		})
	}
}
