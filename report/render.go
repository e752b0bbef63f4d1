package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Render writes the report in a format.
func Render(w io.Writer, r *Report, f Format) error {
	switch f {
	case JSON:
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case CSV:
		return renderCSV(w, r)
	}
	return renderText(w, r, f)
}

func renderCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"vendor", "code", "http_status", "range", "category", "retry", "known", "count", "previous_count",
		"change", "first_seen", "last_seen", "message", "endpoint"})
	for _, f := range r.Failures {
		cw.Write([]string{f.Vendor, f.Code, strconv.Itoa(f.HTTPStatus), f.Range, f.Category, f.Retry, strconv.FormatBool(f.Known),
			strconv.FormatInt(f.Count, 10), strconv.FormatInt(f.PreviousCount, 10), f.Change,
			f.FirstSeen.Format(time.RFC3339), f.LastSeen.Format(time.RFC3339), f.Message, f.Endpoint})
	}
	cw.Flush()
	return cw.Error()
}

// renderText writes the table and markdown forms: sections, each a table.
func renderText(w io.Writer, r *Report, f Format) error {
	heading := func(s string) {
		if f == Markdown {
			fmt.Fprintf(w, "\n## %s\n\n", s)
		} else {
			fmt.Fprintf(w, "\n%s\n", s)
		}
	}
	table := func(header []string, rows [][]string) error {
		if f == Markdown {
			return writeMarkdown(w, header, rows)
		}
		return writeTable(w, header, rows)
	}
	title := fmt.Sprintf("apierr report %s – %s", r.Window.From.Format("2006-01-02 15:04"), r.Window.To.Format("2006-01-02 15:04 MST"))
	if f == Markdown {
		fmt.Fprintf(w, "# %s\n\n", title)
	} else {
		fmt.Fprintln(w, title)
	}
	fmt.Fprintf(w, "%d requests, %d errors (%s), %d retryable, %d malformed lines\n",
		r.Totals.Requests, r.Totals.Errors, rate(r.Totals.Errors, r.Totals.Requests), r.Totals.Retryable, r.Totals.Malformed)

	heading("Vendors")
	var rows [][]string
	for _, v := range r.Vendors {
		rows = append(rows, []string{Clean(v.Vendor, 40), itoa64(v.Requests), itoa64(v.Errors), rate(v.Errors, v.Requests), itoa64(v.Retryable)})
	}
	if err := table([]string{"VENDOR", "REQUESTS", "ERRORS", "RATE", "RETRYABLE"}, rows); err != nil {
		return err
	}

	heading("Most frequent failures")
	rows = rows[:0]
	for _, x := range r.Failures {
		rows = append(rows, []string{Clean(x.Vendor, 24), Clean(x.Code, 24), x.Category, x.Retry, itoa(x.HTTPStatus),
			itoa64(x.Count), x.Change, Clean(x.Message, 48)})
	}
	if err := table([]string{"VENDOR", "CODE", "CATEGORY", "RETRY", "HTTP", "COUNT", "CHANGE", "MESSAGE"}, rows); err != nil {
		return err
	}

	if len(r.Malformed) > 0 {
		heading("Malformed lines")
		rows = rows[:0]
		for _, m := range r.Malformed {
			rows = append(rows, []string{m.Reason, itoa64(m.Count)})
		}
		if err := table([]string{"REASON", "COUNT"}, rows); err != nil {
			return err
		}
	}
	return nil
}

func rate(n, of int64) string {
	if of == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*float64(n)/float64(of), 'f', 1, 64) + "%"
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
