package main

import (
	"strings"
	"testing"
)

// TestGenerateCommand_Knobs: the diversity flags change the mix, and bad
// values are usage errors.
func TestGenerateCommand_Knobs(t *testing.T) {
	code, out, errs := run(t, "", "generate", "--lines", "2000", "--seed", "4", "--vendors", "Picqer,voucherify",
		"--transport", "0.2", "--other", "0.1", "--endpoints", "5", "--services", "3", "--span", "2h", "--start", "2026-11-20T00:00:00Z")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2000 || !strings.HasPrefix(lines[len(lines)-1], `{"ts":"2026-11-20T01:59:`) {
		t.Fatalf("%d lines, last %s: want 2000 over 2h", len(lines), lines[len(lines)-1])
	}
	for _, w := range []string{`"status":0`, `"error":`, `"msg":"`, `"service_name":"billing"`, "picqer.com/api/v1/orders/", "api.voucherify.io"} {
		if !strings.Contains(out, w) {
			t.Errorf("no %s in the output", w)
		}
	}
	if strings.Contains(out, "api.openai.com") {
		t.Errorf("--vendors let another vendor through")
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--vendors", "nosuch"}, `unknown vendor "nosuch" (known: `},
		{[]string{"--transport", "0.9"}, "together at most 1"},
		{[]string{"--endpoints", "-1"}, "must be 0 or more"},
	} {
		code, _, errs := run(t, "", append([]string{"generate", "--lines", "1"}, tc.args...)...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, %s; want 2 and %q", tc.args, code, errs, tc.want)
		}
	}
}
