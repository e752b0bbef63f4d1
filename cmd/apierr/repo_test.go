package main

import (
	"os/exec"
	"strings"
	"testing"
)

// outside names the working papers beside the repository that no tracked
// file may point at. Each name is cut in two so that this file does not
// name them either.
var outside = strings.Join([]string{`\.\.` + `/shared`, `vendor` + `-docs/`, `FACTS` + `\.md`, `DESIGN` + `\.md`, `STYLE` + `\.md`}, "|")

// TestRepository_StandsAlone: no tracked file names a path outside the
// repository. Facts are cited by the public pages they came from.
func TestRepository_StandsAlone(t *testing.T) {
	out, err := exec.Command("git", "-C", "../..", "grep", "-n", "-I", "-E", outside, "--", ".").CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
			return // no match
		}
		t.Skipf("git grep: %v: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	t.Errorf("%d lines name files outside the repository:\n%s", len(lines), strings.Join(lines[:min(len(lines), 20)], "\n"))
}
