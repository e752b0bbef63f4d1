package report_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/report"
)

func TestClean(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"Plain", "Contact not found.", 0, "Contact not found."},
		{"Escape", "red \x1b[31mALERT\x1b[0m", 0, `red \x1b[31mALERT\x1b[0m`},
		{"OSC", "\x1b]0;pwned\x07title", 0, `\x1b]0;pwned\x07title`},
		{"C1", "a\u009bb", 0, `a\u009bb`},
		{"Bidi", "abc\u202edcba", 0, `abc\u202edcba`},
		{"Newlines", "line1\nline2\r\tx", 0, "line1 line2  x"},
		{"InvalidUTF8", "a\xffb", 0, "a\uFFFDb"},
		{"Cut", "Onvoldoende punten", 10, "Onvoldoend…"},
		{"CutRunes", "ééééé", 3, "ééé…"},
		{"Unicode", "Het bedrag op de kaart is niet toereikend — ü", 0, "Het bedrag op de kaart is niet toereikend — ü"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := report.Clean(tc.in, tc.max); got != tc.want {
				t.Fatalf("Clean(%q)=%q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestCodes_NoRawControl: a hostile user-vendor message never reaches the
// table or markdown output raw.
func TestCodes_NoRawControl(t *testing.T) {
	entries := []classify.Entry{{Vendor: "evil", Code: "x\x1b[2J", Message: "\x1b]52;c;ZXZpbA==\x07\u202egnp.exe", Category: classify.Unknown, Retry: classify.RetryNo}}
	for _, f := range []report.Format{report.Table, report.Markdown} {
		var b bytes.Buffer
		if err := report.Codes(&b, entries, f); err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(b.String(), "\x1b\x07\u202e") {
			t.Fatalf("%s output holds raw control characters: %q", f, b.String())
		}
	}
}
