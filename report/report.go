// Package report turns stored aggregates and catalog entries into text:
// tables, markdown, JSON and CSV.
//
// It builds reports one way for every caller (source.go: `apierr report`,
// the daemon's summaries, the live page): ReadSource reads a database's
// rows through storage's queries; the rest is pure, rows in, bytes out to
// an io.Writer. It starts no goroutines. Every vendor-supplied string
// passes through Clean before it is written, so nothing a vendor sent
// reaches a terminal raw.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Format is an output format.
type Format string

// The output formats.
const (
	Table    Format = "table"
	Markdown Format = "markdown"
	JSON     Format = "json"
	CSV      Format = "csv"
	HTML     Format = "html"
	// Lines is one log line per failure group after a headline: the
	// daemon's summaries to the journal. It is not a --format.
	Lines Format = "lines"
	// Live is a terminal's live redraw (apierr demo): the headline, what
	// changed, and what fits one screen; not a --format value either.
	Live Format = "live"
)

// Formats lists every format.
var Formats = []Format{Table, Markdown, JSON, CSV, HTML}

// ParseFormat checks a --format value.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return "", fmt.Errorf("unknown format %q (want %s)", s, strings.Join(names, ", "))
}

// writeJSON writes v as indented JSON, with <, > and & as they are.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
