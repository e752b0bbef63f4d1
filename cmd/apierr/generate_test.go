package main

import (
	"os"
	"path/filepath"
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
		{[]string{"--runtime", "podman"}, "--runtime is docker or cri"},
	} {
		code, _, errs := run(t, "", append([]string{"generate", "--lines", "1"}, tc.args...)...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, %s; want 2 and %q", tc.args, code, errs, tc.want)
		}
	}
}

// TestGenerateCommand_Runtime: lines written as Docker and CRI log them
// count as the plain lines do, with no config.
func TestGenerateCommand_Runtime(t *testing.T) {
	dir := t.TempDir()
	var want string
	for _, runtime := range []string{"", "docker", "cri"} {
		args := []string{"generate", "--lines", "500", "--seed", "3", "--start", "2026-11-20T00:00:00Z"}
		if runtime != "" {
			args = append(args, "--runtime", runtime)
		}
		code, out, errs := run(t, "", args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", runtime, code, errs)
		}
		file := filepath.Join(dir, "app-"+runtime+".log")
		if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		db := filepath.Join(dir, runtime+".db")
		if code, _, errs := run(t, "", "ingest", "-q", "--db", db, file); code != 0 {
			t.Fatalf("%s: ingest exit %d: %s", runtime, code, errs)
		}
		_, got, _ := run(t, "", "report", "--db", db, "--from", "2026-11-19T00:00:00Z", "--to", "2026-11-21T00:00:00Z", "--format", "csv")
		if runtime == "" {
			want = got
			continue
		}
		if got != want || !strings.Contains(out, map[string]string{"docker": `{"log":"{\"ts\":`, "cri": " stdout F {"}[runtime]) {
			t.Errorf("%s: report\n%s\nwant the plain lines' report\n%s", runtime, got, want)
		}
	}
}
