package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Render writes the report in a format. color adds ANSI colours to the
// table format (the caller decides: a terminal, and NO_COLOR unset).
func Render(w io.Writer, r *Report, f Format, color bool) error {
	switch f {
	case JSON:
		return writeJSON(w, r)
	case CSV:
		return renderCSV(w, r)
	case HTML:
		return renderHTML(w, r)
	case Lines:
		return renderLines(w, r)
	case Live:
		t := &text{w: w, color: color}
		t.live(r)
		return t.err
	}
	t := &text{w: w, md: f == Markdown, color: color && f == Table}
	t.render(r)
	return t.err
}

func renderCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"vendor", "code", "http_status", "range", "category", "retry", "known", "count", "previous_count",
		"change", "change_ratio", "first_seen", "last_seen", "message", "endpoint", "advice"})
	for _, f := range r.Failures {
		cw.Write([]string{f.Vendor, f.Code, strconv.Itoa(f.HTTPStatus), f.Range, f.Category, f.Retry, strconv.FormatBool(f.Known),
			itoa64(f.Count), itoa64(f.PreviousCount), f.Change, csvRatio(f),
			f.FirstSeen.Format(time.RFC3339), f.LastSeen.Format(time.RFC3339), f.Message, f.Endpoint, f.Advice})
	}
	cw.Flush()
	return cw.Error()
}

// csvRatio is a group's change_ratio; empty for a new group, which has no
// previous count to divide by.
func csvRatio(f Failure) string {
	if f.Change == "new" || f.PreviousCount == 0 {
		return ""
	}
	return strconv.FormatFloat(f.ChangeRatio, 'f', 2, 64)
}

// text renders the table and markdown formats: a title, then sections.
type text struct {
	w     io.Writer
	md    bool
	color bool
	err   error
}

func (t *text) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

// ANSI styles, used only when color is on.
const (
	bold   = "\033[1m"
	red    = "\033[31m"
	green  = "\033[32m"
	yellow = "\033[33m"
	dim    = "\033[2m"
	reset  = "\033[0m"
)

func (t *text) style(s, code string) string {
	if !t.color || s == "" {
		return s
	}
	return code + s + reset
}

func (t *text) heading(s string) {
	if t.md {
		t.printf("\n## %s\n\n", s)
	} else {
		t.printf("\n%s\n", t.style(strings.ToUpper(s), bold))
	}
}

func (t *text) table(header []string, rows [][]string, right []bool) {
	if t.err != nil {
		return
	}
	if len(rows) == 0 {
		t.printf("(none)\n")
		return
	}
	if t.md {
		t.err = writeMarkdown(t.w, header, rows)
	} else {
		t.err = writeTable(t.w, header, rows, right)
	}
}

// width is a column's width in runes: the table format fits 80 columns,
// markdown has room.
func (t *text) width(n int) int {
	if t.md {
		return 4 * n
	}
	return n
}

// verdict colours a retry verdict.
func (t *text) verdict(v string) string {
	switch v {
	case "retry":
		return t.style(v, green)
	case "retry_after":
		return t.style(v, yellow)
	}
	return v
}

// changeText is the change against the previous window: new, ↑2.5×,
// ↓0.4× or =.
func (t *text) changeText(f Failure) string {
	switch f.Change {
	case "new":
		return t.style("new", red)
	case "up":
		return t.style("↑"+ratio(f.ChangeRatio), red)
	case "down":
		return t.style("↓"+ratio(f.ChangeRatio), green)
	}
	return "="
}

func ratio(r float64) string {
	if r >= 10 {
		return strconv.FormatFloat(r, 'f', 0, 64) + "×"
	}
	return strconv.FormatFloat(r, 'f', 1, 64) + "×"
}

// headline writes the title and the totals.
func (t *text) headline(r *Report) {
	span := r.Window.To.Sub(r.Window.From)
	title := fmt.Sprintf("apierr · %s → %s UTC (%s, vs the %s before)",
		r.Window.From.UTC().Format("2006-01-02 15:04"), r.Window.To.UTC().Format("2006-01-02 15:04"), human(span), human(span))
	if t.md {
		t.printf("# %s\n\n", title)
	} else {
		t.printf("%s\n", t.style(title, bold))
	}
	t.printf("%s requests · %s errors (%s) · %s retryable · %s malformed lines\n",
		group(r.Totals.Requests), group(r.Totals.Errors), rate(r.Totals.Errors, r.Totals.Requests),
		group(r.Totals.Retryable), group(r.Totals.Malformed))
}

func (t *text) render(r *Report) {
	t.headline(r)

	t.heading("Vendors")
	var rows [][]string
	for _, v := range r.Vendors {
		rows = append(rows, []string{Clean(v.Vendor, t.width(14)), group(v.Requests), group(v.Errors), rate(v.Errors, v.Requests),
			group(v.Retryable), t.sparkline(v.Trend)})
	}
	trend := "ERRORS/" + human(time.Duration(r.TrendStep)*time.Second)
	t.table([]string{"VENDOR", "REQUESTS", "ERRORS", "RATE", "RETRYABLE", trend}, rows, []bool{false, true, true, true, true})

	today := r.Generated
	if today.IsZero() {
		today = r.Window.To.Add(-time.Nanosecond)
	}
	seen := func(f Failure) (first, last string) {
		ever := f.FirstEverSeen // Build sets it; FirstSeen for a hand-made Failure
		if ever.IsZero() {
			ever = f.FirstSeen
		}
		return when(ever, today), when(f.LastSeen, today)
	}
	t.heading("Most frequent failures")
	rows = rows[:0]
	for _, f := range r.Failures {
		var row []string
		if t.md {
			first, last := seen(f)
			row = []string{Clean(f.Vendor, 56), Clean(f.Code, 72), f.Category, f.Retry, itoa(f.HTTPStatus), group(f.Count), t.changeText(f),
				first, last, Clean(f.Endpoint, 60), Clean(f.Message, 100)}
		} else {
			// The table fits 80 columns: the HTTP status and whole
			// names are on the lines below it.
			row = []string{Clean(f.Vendor, 13), Clean(f.Code, 16), f.Category, t.verdict(f.Retry), group(f.Count), t.changeText(f)}
		}
		rows = append(rows, row)
	}
	if t.md {
		t.table([]string{"VENDOR", "CODE", "CATEGORY", "RETRY", "HTTP", "COUNT", "CHANGE", "FIRST SEEN (EVER)", "LAST SEEN", "ENDPOINT", "MESSAGE"}, rows, nil)
	} else {
		t.table([]string{"VENDOR", "CODE", "CATEGORY", "RETRY", "COUNT", "CHANGE"}, rows, []bool{false, false, false, false, true, false})
		// What does not fit 80 columns: HTTP status, endpoint, message,
		// first seen (ever, not only in the window) and last seen.
		for i, f := range r.Failures {
			first, last := seen(f)
			head := fmt.Sprintf("%3d. %s %s · HTTP %d · ", i+1, Clean(f.Vendor, 24), Clean(f.Code, 30), f.HTTPStatus)
			seen := fmt.Sprintf("     first %s, last %s", first, last)
			if f.Message != "" {
				seen += " · "
			}
			t.printf("%s%s\n%s%s\n", head, Clean(f.Endpoint, max(1, 77-len([]rune(head)))),
				seen, t.style(quoted(Clean(f.Message, max(1, 75-len([]rune(seen))))), dim))
		}
	}

	t.heading("Retryable failures")
	if t.md {
		rows = rows[:0]
		for _, f := range r.retryable {
			rows = append(rows, []string{Clean(f.Vendor, 30), Clean(f.Code, 40), group(f.Count), f.Retry, Clean(f.Advice, 200)})
		}
		t.table([]string{"VENDOR", "CODE", "COUNT", "RETRY", "ADVICE"}, rows, nil)
	} else {
		if len(r.retryable) == 0 {
			t.printf("(none)\n")
		}
		for _, f := range r.retryable {
			t.printf(" %s %s · %s · %s\n", Clean(f.Vendor, 24), Clean(f.Code, 30), group(f.Count), t.verdict(f.Retry))
			for _, line := range wrap(Clean(f.Advice, 300), 73) {
				t.printf("     %s\n", line)
			}
		}
	}

	t.heading("Unknown codes")
	rows = rows[:0]
	for _, f := range r.unknown {
		rows = append(rows, []string{Clean(f.Vendor, t.width(14)), Clean(f.Code, t.width(18)), itoa(f.HTTPStatus), group(f.Count),
			Clean(f.Message, t.width(26))})
	}
	t.table([]string{"VENDOR", "CODE", "HTTP", "COUNT", "MESSAGE"}, rows, []bool{false, false, true, true})

	if len(r.Malformed) > 0 {
		t.heading("Malformed lines")
		rows = rows[:0]
		for _, m := range r.Malformed {
			rows = append(rows, []string{m.Reason, group(m.Count)})
		}
		t.table([]string{"REASON", "COUNT"}, rows, []bool{false, true})
	}
	if len(r.Skipped) > 0 {
		t.heading("Skipped lines (not requests)")
		rows = rows[:0]
		for _, m := range r.Skipped {
			rows = append(rows, []string{m.Reason, group(m.Count)})
		}
		t.table([]string{"REASON", "COUNT"}, rows, []bool{false, true})
	}
	t.dimensions(r)
}

// live is the demo's redraw: what fits one terminal screen, headline
// first. The headline and what changed stay on screen; unknown codes are
// shown whenever there are any.
func (t *text) live(r *Report) {
	const most = 6
	t.headline(r)
	var changed []string
	plain := &text{} // no colour: the line is cut to the screen's width
	for _, f := range r.Failures {
		if f.Change == "new" || f.Change == "up" {
			changed = append(changed, fmt.Sprintf("%s %s %s", f.Vendor, f.Code, plain.changeText(f)))
		}
		if len(changed) == 3 {
			break
		}
	}
	if len(changed) > 0 {
		t.printf("%s\n", Clean("changed: "+strings.Join(changed, " · "), 79))
	}
	t.heading("Vendors")
	var rows [][]string
	for _, v := range cut(r.Vendors, most) {
		rows = append(rows, []string{Clean(v.Vendor, 14), group(v.Requests), group(v.Errors), rate(v.Errors, v.Requests),
			group(v.Retryable), t.sparkline(v.Trend)})
	}
	t.table([]string{"VENDOR", "REQUESTS", "ERRORS", "RATE", "RETRYABLE", "TREND"}, rows, []bool{false, true, true, true, true})
	if n := len(r.Vendors) - most; n > 0 {
		t.printf("(and %d more vendors)\n", n)
	}
	t.heading("Most frequent failures")
	rows = rows[:0]
	for _, f := range cut(r.Failures, most) {
		rows = append(rows, []string{Clean(f.Vendor, 13), Clean(f.Code, 16), f.Category, t.verdict(f.Retry), group(f.Count), t.changeText(f)})
	}
	t.table([]string{"VENDOR", "CODE", "CATEGORY", "RETRY", "COUNT", "CHANGE"}, rows, []bool{false, false, false, false, true, false})
	if len(r.unknown) > 0 {
		t.heading("Unknown codes")
		rows = rows[:0]
		for _, f := range cut(r.unknown, 3) {
			rows = append(rows, []string{Clean(f.Vendor, 14), Clean(f.Code, 18), itoa(f.HTTPStatus), group(f.Count), Clean(f.Message, 26)})
		}
		t.table([]string{"VENDOR", "CODE", "HTTP", "COUNT", "MESSAGE"}, rows, []bool{false, false, true, true})
	}
}

// dimensions writes the sections of a fleet and of --by: hosts (when
// several, or --by host), endpoints with their latency (--by endpoint),
// calling services (when the lines name any, or --by service), and the
// failures of each host or service.
func (t *text) dimensions(r *Report) {
	if len(r.Hosts) > 1 || r.By == ByHost {
		t.heading("Hosts")
		var rows [][]string
		for _, h := range r.Hosts {
			rows = append(rows, []string{Clean(h.Host, t.width(30)), group(h.Requests), group(h.Errors), rate(h.Errors, h.Requests)})
		}
		t.table([]string{"HOST", "REQUESTS", "ERRORS", "RATE"}, rows, []bool{false, true, true, true})
	}
	if r.By == ByEndpoint {
		t.heading("Endpoints")
		var rows [][]string
		for _, e := range cut(r.Endpoints, r.top) {
			p50, p95, p99 := "-", "-", "-"
			if e.Latency != nil {
				p50, p95, p99 = ms(e.Latency.P50), ms(e.Latency.P95), ms(e.Latency.P99)
			}
			rows = append(rows, []string{Clean(e.Vendor, t.width(12)), Clean(e.Endpoint, t.width(28)), group(e.Requests), group(e.Errors),
				rate(e.Errors, e.Requests), p50, p95, p99})
		}
		t.table([]string{"VENDOR", "ENDPOINT", "REQS", "ERRORS", "RATE", "P50", "P95", "P99"}, rows,
			[]bool{false, false, true, true, true, true, true, true})
	}
	if len(r.Services) > 0 || r.By == ByService {
		t.heading("Calling services")
		var rows [][]string
		for _, sv := range r.Services {
			rows = append(rows, []string{Clean(sv.Service, t.width(30)), group(sv.Requests), group(sv.Errors), rate(sv.Errors, sv.Requests)})
		}
		t.table([]string{"SERVICE", "REQUESTS", "ERRORS", "RATE"}, rows, []bool{false, true, true, true})
	}
	for _, g := range r.Groups {
		t.heading("Failures on " + r.By + " " + Clean(g.Key, 60))
		var rows [][]string
		for _, f := range cut(g.Failures, r.top) {
			rows = append(rows, []string{Clean(f.Vendor, t.width(14)), Clean(f.Code, t.width(18)), f.Category, t.verdict(f.Retry), group(f.Count)})
		}
		t.table([]string{"VENDOR", "CODE", "CATEGORY", "RETRY", "COUNT"}, rows, []bool{false, false, false, false, true})
	}
}

// ms writes a latency in milliseconds, or seconds past ten of them.
func ms(v float64) string {
	if v >= 10000 {
		return strconv.FormatFloat(v/1000, 'f', 0, 64) + "s"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// wrap breaks s into lines of at most width runes, at spaces.
func wrap(s string, width int) []string {
	var lines []string
	var cur []rune
	for _, word := range strings.Fields(s) {
		w := []rune(word)
		if len(cur) > 0 && len(cur)+1+len(w) > width {
			lines = append(lines, string(cur))
			cur = cur[:0]
		}
		if len(cur) > 0 {
			cur = append(cur, ' ')
		}
		cur = append(cur, w...)
	}
	if len(cur) > 0 {
		lines = append(lines, string(cur))
	}
	return lines
}

func quoted(s string) string {
	if s == "" {
		return ""
	}
	return "“" + s + "”"
}

// when writes a time of day, with the date when it is not today's.
func when(at, today time.Time) string {
	if at.IsZero() {
		return "-"
	}
	at, today = at.UTC(), today.UTC()
	if at.YearDay() == today.YearDay() && at.Year() == today.Year() {
		return at.Format("15:04")
	}
	return at.Format("2006-01-02 15:04")
}

// sparkline draws a series for the text formats. In markdown it is a code
// span whose empty steps are no-break spaces: a renderer neither collapses
// them nor sets the bars in a proportional font, so the width holds.
func (t *text) sparkline(series []int64) string {
	s := sparkline(series)
	if !t.md || s == "" {
		return s
	}
	return codeSpan + strings.ReplaceAll(s, " ", "\u00a0")
}

// codeSpan marks a markdown cell written as a code span: writeMarkdown
// puts it between backticks instead of escaping it.
const codeSpan = "\x00"

// sparkline draws a series with eight block heights.
func sparkline(series []int64) string {
	if len(series) == 0 {
		return ""
	}
	var hi int64
	for _, v := range series {
		hi = max(hi, v)
	}
	const bars = "▁▂▃▄▅▆▇█"
	runes := []rune(bars)
	var b strings.Builder
	for _, v := range series {
		switch {
		case v == 0:
			b.WriteRune(' ')
		default:
			b.WriteRune(runes[min(int(v*int64(len(runes)-1)/max(hi, 1)), len(runes)-1)])
		}
	}
	return b.String()
}

// human writes a duration the short way: 24h, 7d, 90m, 1h30m.
func human(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	case d >= time.Hour && d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d >= time.Minute && d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return d.String()
}

// group writes 1234567 as 1,234,567.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

func rate(n, of int64) string {
	if of == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*float64(n)/float64(of), 'f', 1, 64) + "%"
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// renderLines writes the report as log lines, one per failure group after
// a headline: what the journal stores for a periodic summary, where a
// multi-line table would be cut into unrelated lines.
func renderLines(w io.Writer, r *Report) error {
	var b strings.Builder
	t := r.Totals
	fmt.Fprintf(&b, "summary from=%s to=%s requests=%d errors=%d retryable=%d malformed=%d unknown=%d new_groups=%d\n",
		r.Window.From.UTC().Format(time.RFC3339), r.Window.To.UTC().Format(time.RFC3339),
		t.Requests, t.Errors, t.Retryable, t.Malformed, t.Unknown, t.NewGroups)
	for _, f := range r.Failures {
		fmt.Fprintf(&b, "failure vendor=%s code=%s http=%d category=%s retry=%s count=%d change=%s message=%s\n",
			logValue(f.Vendor, 40), logValue(f.Code, 40), f.HTTPStatus, logValue(f.Category, 40), logValue(f.Retry, 20),
			f.Count, f.Change, logValue(f.Message, 120))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// logValue is a clean value, quoted when it holds a space, a quote or =.
func logValue(s string, n int) string {
	s = Clean(s, n)
	if s == "" || strings.ContainsAny(s, " \"=") {
		return strconv.Quote(s)
	}
	return s
}
