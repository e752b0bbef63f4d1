package report

import (
	"encoding/csv"
	"io"
	"strconv"

	"github.com/apierr/apierr/classify"
)

// Codes renders catalog entries (`apierr codes`).
func Codes(w io.Writer, entries []classify.Entry, f Format) error {
	if entries == nil {
		entries = []classify.Entry{}
	}
	switch f {
	case JSON:
		return writeJSON(w, entries)
	case CSV:
		cw := csv.NewWriter(w)
		cw.Write([]string{"vendor", "code", "message", "range", "category", "retry", "http_status", "source", "why"})
		for _, e := range entries {
			cw.Write([]string{e.Vendor, e.Code, e.Message, e.Range, string(e.Category), string(e.Retry), itoa(e.Status), e.Source, e.Why})
		}
		cw.Flush()
		return cw.Error()
	}
	header := []string{"VENDOR", "CODE", "CATEGORY", "RETRY", "RANGE", "MESSAGE"}
	rows := make([][]string, len(entries))
	for i, e := range entries {
		rows[i] = []string{e.Vendor, Clean(e.Code, 40), string(e.Category), string(e.Retry), e.Range, Clean(e.Message, 60)}
	}
	if f == Markdown {
		return writeMarkdown(w, header, rows)
	}
	return writeTable(w, header, rows, nil)
}

func itoa(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}
