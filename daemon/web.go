package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/report"
	"github.com/apierr/apierr/storage"
	"github.com/prometheus/exporter-toolkit/web"
)

// The live page: the daemon serves the report `apierr report --format
// html` prints at / and its JSON at /api/report, on metrics_listen, from a
// read-only handle of its own database. The window and filters are query
// parameters named like the report's flags. Nothing here writes: a page
// view cannot change what is stored, and a slow view never holds the
// writer's connection.

// PageRefresh is how often the live page asks the browser to reload it.
const PageRefresh = time.Minute

// PageCSP is the Content-Security-Policy of every response of the
// listener: nothing may load from anywhere, except the page's inline
// styles and data: images, so a vendor string that slipped through the
// escaping still could not run or call out.
const PageCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

// pageQuery is a request's window and filters.
type pageQuery struct {
	window   report.Window
	vendor   string
	category string
	top      int
	raw      bool // /api/report?raw=1: the rows, for `apierr report --remote`
}

// livePage serves / and /api/report.
type livePage struct {
	db  *storage.DB // read-only
	cat func() *classify.Catalog
	now func() time.Time
}

// routes adds the live page's handlers to mux.
func (p *livePage) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { p.serve(w, r, report.HTML) })
	mux.HandleFunc("GET /api/report", func(w http.ResponseWriter, r *http.Request) { p.serve(w, r, report.JSON) })
}

// serve answers one request in format f.
func (p *livePage) serve(w http.ResponseWriter, r *http.Request, f report.Format) {
	q, err := parsePageQuery(r.URL.Query(), p.now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	if q.vendor != "" {
		// Strict like --vendor, and as case-insensitive: a name neither
		// the catalog nor the window knows is a mistake, answered with the
		// names there are. The rows for --remote are only filtered: a
		// vendor another host has is no mistake here.
		present, err := p.db.Vendors(ctx, q.window.From, q.window.To)
		if err != nil {
			p.fail(w, err)
			return
		}
		names := p.cat().Vendors()
		for _, v := range present {
			names = append(names, v.Vendor)
		}
		slices.Sort(names)
		names = slices.Compact(names)
		i := slices.IndexFunc(names, func(n string) bool { return strings.EqualFold(n, q.vendor) })
		switch {
		case i >= 0:
			q.vendor = names[i]
		case !q.raw:
			http.Error(w, fmt.Sprintf("vendor: unknown vendor %q (known: %s)", q.vendor, strings.Join(names, ", ")), http.StatusBadRequest)
			return
		}
	}
	src, err := p.rows(ctx, q)
	if err != nil {
		p.fail(w, err)
		return
	}
	var b bytes.Buffer
	if q.raw {
		err = report.WriteSource(&b, q.window, src)
	} else {
		rep := report.Build(q.window, report.PreviousOf(q.window), []report.Source{src},
			report.NewOptions(p.cat(), q.window, q.top, q.category))
		rep.Generated = p.now().UTC()
		if f == report.HTML {
			rep.Refresh = PageRefresh
		}
		err = report.Render(&b, rep, f, false)
	}
	if err != nil {
		p.fail(w, err)
		return
	}
	if f == report.HTML {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b.Bytes())
}

// rows reads the database's rows for q, as `apierr report` reads one
// --db.
func (p *livePage) rows(ctx context.Context, q pageQuery) (report.Source, error) {
	return report.ReadSource(ctx, p.db, report.Query{Window: q.window, Previous: report.PreviousOf(q.window), Step: report.TrendStep(q.window), Vendor: q.vendor})
}

// fail answers a failure to read the database in one line.
func (p *livePage) fail(w http.ResponseWriter, err error) {
	http.Error(w, "read the database: "+err.Error(), http.StatusInternalServerError)
}

// parsePageQuery reads the window and filters from a query, with the
// report flags' names, defaults and rules: since (default 24h) or from
// and to, vendor, category, top (default 20, 0 for all).
func parsePageQuery(v url.Values, now time.Time) (pageQuery, error) {
	q := pageQuery{top: 20}
	for name := range v {
		switch name {
		case "since", "from", "to", "vendor", "category", "top", "raw":
		default:
			return q, fmt.Errorf("unknown parameter %q (want since, from, to, vendor, category, top)", name)
		}
	}
	since, from, to := v.Get("since"), v.Get("from"), v.Get("to")
	switch {
	case since != "" && (from != "" || to != ""):
		return q, errors.New("since: give since, or from and to, not both")
	case from != "" || to != "":
		if from == "" || to == "" {
			return q, errors.New("from, to: give both")
		}
		f, err := parseTime(from, now)
		if err != nil {
			return q, fmt.Errorf("from: %v", err)
		}
		t, err := parseTime(to, now)
		if err != nil {
			return q, fmt.Errorf("to: %v", err)
		}
		if !t.After(f) {
			return q, errors.New("to: must be after from")
		}
		q.window = report.Window{From: f, To: t}
	default:
		if since == "" {
			since = "24h"
		}
		d, err := parseSince(since)
		if err != nil {
			return q, fmt.Errorf("since: %v", err)
		}
		// Like --since: the window ends at the end of the current minute.
		end := now.UTC().Truncate(time.Minute).Add(time.Minute)
		q.window = report.Window{From: end.Add(-d), To: end}
	}
	q.vendor = strings.TrimSpace(v.Get("vendor"))
	if q.category = v.Get("category"); q.category != "" && !classify.Category(q.category).Valid() {
		return q, fmt.Errorf("category: unknown category %q", q.category)
	}
	if s := v.Get("top"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return q, fmt.Errorf("top: want 0 or more, got %q", s)
		}
		q.top = n
	}
	switch v.Get("raw") {
	case "", "0":
	case "1":
		q.raw = true
	default:
		return q, fmt.Errorf("raw: want 1 or 0, got %q", v.Get("raw"))
	}
	return q, nil
}

// maxWindow bounds a window: longer than any retention, short enough that
// its arithmetic cannot overflow.
const maxWindow = 10 * 365 * 24 * time.Hour

// parseSince reads a duration such as 90m, 24h or 7d.
func parseSince(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days float64
		days, err = strconv.ParseFloat(n, 64)
		d = time.Duration(days * float64(24*time.Hour))
		if days > maxWindow.Hours()/24 {
			d = maxWindow + 1
		}
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 || d > maxWindow {
		return 0, fmt.Errorf("want a duration such as 1h, 24h or 7d, got %q", s)
	}
	return d, nil
}

// parseTime reads an RFC 3339 time, a date (midnight UTC) or a time
// relative to now (-6h).
func parseTime(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if rel, ok := strings.CutPrefix(s, "-"); ok {
		if d, err := parseSince(rel); err == nil {
			return now.UTC().Add(-d), nil
		}
	}
	return time.Time{}, fmt.Errorf("want RFC 3339, a date or a time relative to now such as -6h, got %q", s)
}

// webHandler opens the read-only handle the live page reads and returns
// the listener's handler (/, /api/report, /metrics, /healthz) and what
// closes the handle.
func (s *Server) webHandler() (http.Handler, func(), error) {
	if s.WebConfig != "" {
		// A bad file stops the start, naming the file: it would otherwise
		// only fail each connection.
		if err := web.Validate(s.WebConfig); err != nil {
			return nil, nil, fmt.Errorf("web_config %s: %w", s.WebConfig, err)
		}
	}
	ro := storage.NewDB(s.DB.Path)
	ro.ReadOnly = true
	if err := ro.Open(); err != nil {
		return nil, nil, fmt.Errorf("live page: %w", err)
	}
	mux := http.NewServeMux()
	(&livePage{db: ro, cat: s.cat.Load, now: s.Now}).routes(mux)
	s.metrics.handler(mux, s.health)
	return secure(mux), func() { ro.Close() }, nil
}

// secure adds the headers every response of the listener carries.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", PageCSP)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}
