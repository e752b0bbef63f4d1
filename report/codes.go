package report

import (
	"bufio"
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apierr/apierr/classify"
)

// codesWidth is the width the codes table keeps within.
const codesWidth = 80

// Codes renders catalog entries (`apierr codes`). The table fits 80
// columns: one line per entry with vendor, code, category and retry
// verdict, the message (with the code's range) wrapped on indented lines
// below; markdown, json and csv carry every field, the doc URL included.
func Codes(w io.Writer, entries []classify.Entry, f Format) error {
	if entries == nil {
		entries = []classify.Entry{}
	}
	switch f {
	case JSON:
		return writeJSON(w, entries)
	case CSV:
		cw := csv.NewWriter(w)
		cw.Write([]string{"vendor", "code", "message", "range", "category", "retry", "http_status", "source", "why", "doc"})
		for _, e := range entries {
			cw.Write([]string{e.Vendor, e.Code, e.Message, e.Range, string(e.Category), string(e.Retry), itoa(e.Status), e.Source, e.Why, e.Doc})
		}
		cw.Flush()
		return cw.Error()
	case Markdown:
		header := []string{"vendor", "code", "category", "retry", "range", "http_status", "message", "doc"}
		rows := make([][]string, len(entries))
		for i, e := range entries {
			rows[i] = []string{Clean(e.Vendor, 0), Clean(e.Code, 0), string(e.Category), string(e.Retry), e.Range, itoa(e.Status), Clean(e.Message, 0), Clean(e.Doc, 0)}
		}
		return writeMarkdown(w, header, rows)
	}
	return codesTable(w, entries)
}

// codesTable writes the entries as a table within codesWidth columns.
// A code too long for its column takes the rest of its line, and the
// verdict moves to the next.
func codesTable(w io.Writer, entries []classify.Entry) error {
	const catW, retryW, gap = len("configuration"), len("retry_after"), 2
	vendorW := len("VENDOR")
	for _, e := range entries {
		vendorW = max(vendorW, utf8.RuneCountInString(e.Vendor))
	}
	vendorW = min(vendorW, 16)
	codeW := codesWidth - vendorW - catW - retryW - 3*gap
	bw := bufio.NewWriter(w)
	pad := func(s string, n int) {
		bw.WriteString(s)
		bw.WriteString(strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s))))
	}
	row := func(vendor, code, category, retry string) {
		pad(vendor, vendorW+gap)
		if utf8.RuneCountInString(code) > codeW {
			bw.WriteString(code)
			bw.WriteString("\n")
			pad("", vendorW+gap)
			code = ""
		}
		pad(code, codeW+gap)
		pad(category, catW+gap)
		bw.WriteString(strings.TrimRight(retry, " "))
		bw.WriteString("\n")
	}
	row("VENDOR", "CODE", "CATEGORY", "RETRY")
	indent := strings.Repeat(" ", vendorW+gap)
	bw.WriteString(indent + "MESSAGE [RANGE]\n")
	bw.WriteString(strings.Repeat("─", codesWidth) + "\n")
	for _, e := range entries {
		row(Clean(e.Vendor, vendorW), Clean(e.Code, codesWidth-vendorW-gap-1), string(e.Category), string(e.Retry))
		msg := Clean(e.Message, 0)
		if e.Range != "" {
			msg += " [" + e.Range + "]"
		}
		for _, l := range wrapCut(msg, codesWidth-len(indent)) {
			bw.WriteString(indent + l + "\n")
		}
	}
	return bw.Flush()
}

// wrapCut breaks s into lines of at most width runes at spaces; a word
// longer than width is cut.
func wrapCut(s string, width int) []string {
	var lines []string
	line, n := "", 0
	for _, word := range strings.Fields(s) {
		for utf8.RuneCountInString(word) > width {
			if n > 0 {
				lines, line, n = append(lines, line), "", 0
			}
			r := []rune(word)
			lines, word = append(lines, string(r[:width])), string(r[width:])
		}
		wn := utf8.RuneCountInString(word)
		switch {
		case n == 0:
			line, n = word, wn
		case n+1+wn <= width:
			line, n = line+" "+word, n+1+wn
		default:
			lines, line, n = append(lines, line), word, wn
		}
	}
	if n > 0 {
		lines = append(lines, line)
	}
	return lines
}

func itoa(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}
