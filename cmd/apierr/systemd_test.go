package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestSystemdUnit: the shipped units pass systemd-analyze verify and rate
// an exposure at or below their bound (both work without a booted
// systemd). The report unit only reads, so it is held to a stricter bound.
func TestSystemdUnit(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	for _, tc := range []struct {
		unit string
		max  float64
		want []string // lines the unit must have
	}{
		{"apierr.service", 2.0, []string{"RestartPreventExitStatus=2", "ExecReload=/bin/kill -HUP $MAINPID"}},
		{"apierr-report.service", 2.0, []string{"ReadOnlyPaths=/var/lib/apierr", "PrivateNetwork=yes"}},
	} {
		t.Run(tc.unit, func(t *testing.T) {
			unit, err := os.ReadFile(filepath.Join("../../etc", tc.unit))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(unit), "\n"+w+"\n") {
					t.Errorf("unit lacks %q", w)
				}
			}
			// Verify against the binary the tests built, where the unit
			// expects /usr/bin/apierr.
			path := filepath.Join(t.TempDir(), tc.unit)
			os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/bin/apierr", binary)), 0o644)
			if out, err := exec.Command(sa, "verify", path).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
				t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
			}
			out, _ := exec.Command(sa, "security", "--offline=true", path).CombinedOutput()
			m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
			if m == nil {
				t.Fatalf("no exposure level in:\n%s", out)
			}
			if level, _ := strconv.ParseFloat(string(m[1]), 64); level > tc.max {
				t.Fatalf("exposure %v, want %v or lower", level, tc.max)
			}
			t.Logf("systemd-analyze security: exposure %s", m[1])
		})
	}
}
