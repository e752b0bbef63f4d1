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

// TestSystemdUnit: etc/apierr.service passes systemd-analyze verify and
// rates an exposure of 2.5 or lower (both work without a booted systemd).
func TestSystemdUnit(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	unit, err := os.ReadFile("../../etc/apierr.service")
	if err != nil {
		t.Fatal(err)
	}
	// Verify against the binary the tests built, where the unit expects
	// /usr/bin/apierr.
	path := filepath.Join(t.TempDir(), "apierr.service")
	os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/bin/apierr", binary)), 0o644)
	if out, err := exec.Command(sa, "verify", path).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, _ := exec.Command(sa, "security", "--offline=true", path).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 2.5 {
		t.Fatalf("exposure %v, want 2.5 or lower", level)
	}
	t.Logf("systemd-analyze security: exposure %s", m[1])
}
