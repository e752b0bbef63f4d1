package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// usageLines is the command reference as --help gives it: the usage line
// of every command the top-level help lists, in its order.
func usageLines(tb testing.TB) []string {
	tb.Helper()
	code, top, _ := run(tb, "", "help")
	if code != 0 {
		tb.Fatalf("apierr help: exit %d", code)
	}
	_, list, ok := strings.Cut(top, "Commands:\n")
	if !ok {
		tb.Fatalf("apierr help lists no commands:\n%s", top)
	}
	var lines []string
	for _, l := range strings.Split(list, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			if len(lines) > 0 {
				break // the end of the list
			}
			continue
		}
		code, out, errs := run(tb, "", f[0], "--help")
		usage, _, _ := strings.Cut(out, "\n")
		usage, ok := strings.CutPrefix(usage, "Usage: ")
		if code != 0 || !ok {
			tb.Fatalf("apierr %s --help: exit %d, stdout %q, stderr %q", f[0], code, out, errs)
		}
		lines = append(lines, usage)
	}
	return lines
}

// TestREADME_Commands: the README's command reference is a fenced block
// holding exactly the usage lines of `apierr CMD --help`, one per command.
func TestREADME_Commands(t *testing.T) {
	want := strings.Join(usageLines(t), "\n")
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile("(?ms)^```[a-z]*\n(.*?)\n```$").FindAllStringSubmatch(string(readme), -1) {
		if m[1] == want {
			return
		}
	}
	t.Fatalf("README.md has no fenced block equal to the commands' --help; paste this one:\n```\n%s\n```", want)
}
