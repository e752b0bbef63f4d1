package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The HTML page: one self-contained document (inline CSS and SVG, no
// script, font or image from elsewhere), readable with JavaScript off,
// printable and small enough to mail. The same page is served live by the
// daemon. html/template escapes every vendor string in its context; the
// SVG charts are computed here from the report's own numbers and passed to
// the template as numbers and point lists, never as markup.

//go:embed page.html.tmpl
var pageTemplate string

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"clean": Clean,
	"group": group,
	"rate":  rate,
	"human": human,
	"pct":   func(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" },
	"ms":    func(f float64) string { return strconv.FormatFloat(f, 'f', 0, 64) },
	"when":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") },
	"change": func(f Failure) string {
		switch f.Change {
		case "new":
			return "new"
		case "up":
			return "↑" + ratio(f.ChangeRatio)
		case "down":
			return "↓" + ratio(f.ChangeRatio)
		}
		return "="
	},
}).Parse(pageTemplate))

// Chart sizes, in SVG user units (the SVG scales to the page width).
const (
	chartW, chartH = 720, 180
	sparkW, sparkH = 96, 18
	maxSeries      = 8 // vendors drawn apart; the rest are summed as "others"
)

// palette colours the chart's series; it reads in greyscale print too,
// since each series also has its own dash pattern.
var palette = []string{"#c0392b", "#2471a3", "#d68910", "#1e8449", "#7d3c98", "#17a589", "#a04000", "#5d6d7e", "#922b21"}

// htmlPage is what the template renders.
type htmlPage struct {
	*Report
	Title     string
	Span      string
	Headline  []stat
	Chart     chart
	Split     chart // retryable against permanent, stacked per step
	Failures  []htmlFailure
	Unknown   []htmlFailure
	Retryable []htmlFailure
	Slow      []EndpointRow
	Permanent int64
}

// stat is one number of the headline with its change against the
// previous window.
type stat struct {
	Label, Value, Was, Class string
}

// chart is an SVG line or bar chart.
type chart struct {
	W, H   int
	VW, VH int // the view box: the plot and room for its labels
	Max    int64
	Others int64 // errors of the vendors not drawn
	Series []series
	Bars   []bar
	Ticks  []tick
	Empty  bool
}

type series struct {
	Name, Color, Dash, Points string
	Total                     int64
}

type bar struct {
	X, Y, W, H float64
	Color      string
	Title      string
}

type tick struct {
	X     float64
	Label string
}

// htmlFailure is a failure row with its sparkline.
type htmlFailure struct {
	Failure
	Spark string // SVG points
	Doc   string // http(s) only
}

// renderHTML writes the report as one HTML page.
func renderHTML(w io.Writer, r *Report) error {
	p := htmlPage{Report: r, Span: human(r.Window.To.Sub(r.Window.From))}
	p.Title = fmt.Sprintf("apierr · %s → %s UTC", r.Window.From.UTC().Format("2006-01-02 15:04"), r.Window.To.UTC().Format("2006-01-02 15:04"))
	p.Headline = headline(r)
	p.Chart = vendorChart(r)
	p.Split = splitChart(r)
	for _, f := range r.Failures {
		p.Failures = append(p.Failures, htmlRow(f))
	}
	for _, f := range r.retryable {
		p.Retryable = append(p.Retryable, htmlRow(f))
	}
	for _, f := range r.unknown {
		p.Unknown = append(p.Unknown, htmlRow(f))
	}
	p.Slow = slowest(r.Endpoints, r.top)
	p.Permanent = r.Totals.Errors - r.Totals.Retryable
	return page.Execute(w, p)
}

func htmlRow(f Failure) htmlFailure {
	h := htmlFailure{Failure: f, Spark: points(f.Trend, sparkW, sparkH, maxOf(f.Trend))}
	if strings.HasPrefix(f.Doc, "https://") || strings.HasPrefix(f.Doc, "http://") {
		h.Doc = f.Doc
	}
	return h
}

func headline(r *Report) []stat {
	t, p := r.Totals, r.PreviousTotals
	was := func(now, before int64, worseUp bool) (string, string) {
		s := "was " + group(before)
		switch {
		case now > before && worseUp:
			return s, "worse"
		case now < before && worseUp:
			return s, "better"
		}
		return s, ""
	}
	errWas, errClass := was(t.Errors, p.Errors, true)
	retWas, retClass := was(t.Retryable, p.Retryable, true)
	unkWas, unkClass := was(t.Unknown, p.Unknown, true)
	rateValue := "-"
	if t.Requests > 0 {
		rateValue = rate(t.Errors, t.Requests)
	}
	return []stat{
		{Label: "requests", Value: group(t.Requests)},
		{Label: "errors", Value: group(t.Errors), Was: errWas, Class: errClass},
		{Label: "error rate", Value: rateValue},
		{Label: "retryable", Value: group(t.Retryable), Was: retWas, Class: retClass},
		{Label: "unknown codes", Value: group(t.Unknown), Was: unkWas, Class: unkClass},
		{Label: "new failures", Value: group(t.NewGroups)},
		{Label: "malformed lines", Value: group(t.Malformed)},
	}
}

// vendorChart draws errors per trend step, one line per vendor (the
// busiest apart, the rest summed).
func vendorChart(r *Report) chart {
	c := newChart()
	var steps int
	for _, v := range r.Vendors {
		steps = max(steps, len(v.Trend))
	}
	if steps == 0 || r.Totals.Errors == 0 {
		c.Empty = true
		return c
	}
	vendors := append([]VendorRow(nil), r.Vendors...)
	sort.SliceStable(vendors, func(i, j int) bool { return vendors[i].Errors > vendors[j].Errors })
	var others []int64
	var drawn [][]int64
	for _, v := range vendors {
		if v.Errors == 0 {
			continue
		}
		if len(drawn) == maxSeries {
			others = AddSeries(others, v.Trend)
			continue
		}
		c.Series = append(c.Series, series{Name: Clean(v.Vendor, 40), Total: v.Errors})
		drawn = append(drawn, v.Trend)
		c.Max = max(c.Max, maxOf(v.Trend))
	}
	c.Max = max(c.Max, 1)
	for i := range c.Series {
		c.Series[i].Points = points(drawn[i], chartW, chartH, c.Max)
	}
	// The rest are summed in the legend, not drawn: their sum would set
	// the scale and flatten every line that is drawn.
	for _, x := range others {
		c.Others += x
	}
	for i := range c.Series {
		c.Series[i].Color = palette[i%len(palette)]
		c.Series[i].Dash = []string{"", "6 3", "2 3", "8 3 2 3"}[i%4]
	}
	c.Ticks = ticks(r, steps)
	return c
}

func newChart() chart { return chart{W: chartW, H: chartH, VW: chartW + 60, VH: chartH + 30} }

// splitChart stacks, per trend step, the retryable failures over the
// permanent ones, from the failure groups' own trends.
func splitChart(r *Report) chart {
	c := newChart()
	var retry, perm []int64
	for _, f := range r.all {
		if f.Retry != "no" && f.Retry != "" {
			retry = AddSeries(retry, f.Trend)
		} else {
			perm = AddSeries(perm, f.Trend)
		}
	}
	steps := max(len(retry), len(perm))
	if steps == 0 {
		c.Empty = true
		return c
	}
	retry, perm = pad(retry, steps), pad(perm, steps)
	for i := range steps {
		c.Max = max(c.Max, retry[i]+perm[i])
	}
	if c.Max == 0 {
		c.Empty = true
		return c
	}
	w := float64(chartW) / float64(steps)
	scale := float64(chartH) / float64(c.Max)
	for i := range steps {
		x := float64(i) * w
		hp := float64(perm[i]) * scale
		hr := float64(retry[i]) * scale
		if perm[i] > 0 {
			c.Bars = append(c.Bars, bar{X: r1(x), Y: r1(chartH - hp), W: r1(w * 0.9), H: r1(hp), Color: "#5d6d7e", Title: group(perm[i]) + " permanent"})
		}
		if retry[i] > 0 {
			c.Bars = append(c.Bars, bar{X: r1(x), Y: r1(chartH - hp - hr), W: r1(w * 0.9), H: r1(hr), Color: "#d68910", Title: group(retry[i]) + " retryable"})
		}
	}
	c.Ticks = ticks(r, steps)
	return c
}

// ticks labels the start, middle and end of the window.
func ticks(r *Report, steps int) []tick {
	from, to := r.Window.From.UTC(), r.Window.To.UTC()
	layout := "15:04"
	if to.Sub(from) > 24*time.Hour {
		layout = "01-02 15:04"
	}
	mid := from.Add(to.Sub(from) / 2)
	return []tick{{0, from.Format(layout)}, {chartW / 2, mid.Format(layout)}, {chartW, to.Format(layout)}}
}

// points turns a series into an SVG polyline's points, scaled into w×h
// with the top at hi.
func points(s []int64, w, h int, hi int64) string {
	if len(s) == 0 {
		return ""
	}
	hi = max(hi, 1)
	var b strings.Builder
	step := float64(w)
	if len(s) > 1 {
		step = float64(w) / float64(len(s)-1)
	}
	for i, v := range s {
		if i > 0 {
			b.WriteByte(' ')
		}
		x := float64(i) * step
		y := float64(h) - float64(v)*float64(h)/float64(hi)
		b.WriteString(strconv.FormatFloat(x, 'f', 1, 64))
		b.WriteByte(',')
		b.WriteString(strconv.FormatFloat(y, 'f', 1, 64))
	}
	return b.String()
}

// r1 rounds to one decimal: enough for a chart, and a smaller page.
func r1(f float64) float64 { return math.Round(f*10) / 10 }

func maxOf(s []int64) int64 {
	var m int64
	for _, v := range s {
		m = max(m, v)
	}
	return m
}

func pad(s []int64, n int) []int64 {
	for len(s) < n {
		s = append(s, 0)
	}
	return s
}

// slowest returns the endpoints with the highest p95 latency.
func slowest(eps []EndpointRow, top int) []EndpointRow {
	var out []EndpointRow
	for _, e := range eps {
		if e.Latency != nil {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Latency.P95 > out[j].Latency.P95 })
	return cut(out, max(top, 0))
}
