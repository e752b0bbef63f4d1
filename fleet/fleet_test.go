package fleet_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/apierr/apierr/fleet"
	"github.com/apierr/apierr/report"
)

const (
	stripeDeclined = `apierr_errors_total{category="business_rule",code="card_declined",retry="no",vendor="stripe"}`
	stripeLimited  = `apierr_errors_total{category="rate_limit",code="rate_limit",retry="after",vendor="stripe"}`
	shopify503     = `apierr_errors_total{category="unavailable",code="http_503",retry="backoff",vendor="shopify"}`
	mollie401      = `apierr_errors_total{category="auth",code="http_401",retry="no",vendor="mollie"}`
)

func requests(vendor string) string { return `apierr_requests_total{vendor="` + vendor + `"}` }

func bucket(vendor, le string) string {
	return `apierr_request_duration_seconds_bucket{le="` + le + `",vendor="` + vendor + `"}`
}

// TestPrometheus_Read runs one fleet's traffic past real engines and checks
// that the counts read back are exact: series born in the window, a
// daemon restarted in the middle of it, a daemon that stopped reporting.
func TestPrometheus_Read(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real metrics engines")
	}
	a := startTarget(t, "host-a", 1000)
	b := startTarget(t, "host-b", 2000)
	c := startTarget(t, "host-c", 3000)
	d := startTarget(t, "host-d", 4000)
	all := []*target{a, b, c, d}
	// Before the window: host-a has counted already.
	a.add(map[string]float64{requests("stripe"): 100, stripeDeclined: 10, `apierr_malformed_lines_total{reason="json"}`: 2})
	d.add(map[string]float64{requests("github"): 40})

	engines := map[string]string{}
	for _, kind := range []string{"prometheus", "victoria-metrics"} {
		if url := startEngine(t, kind, all); url != "" {
			engines[kind] = url
		}
	}
	if len(engines) == 0 {
		t.Skip("no engine installed")
	}
	n := len(engines) // each engine scrapes every target once a second
	wait := func(ts ...*target) {
		for _, x := range ts {
			x.waitScrapes(t, n+1)
		}
	}
	wait(all...)
	from := time.Now()
	wait(all...) // no scrape in flight across from

	// In the window: new series on every host.
	a.add(map[string]float64{requests("stripe"): 50, stripeDeclined: 5, stripeLimited: 7,
		`apierr_malformed_lines_total{reason="json"}`: 1, `apierr_skipped_lines_total{reason="health_check"}`: 3,
		bucket("stripe", "0.1"): 40, bucket("stripe", "0.5"): 50, bucket("stripe", "+Inf"): 50})
	b.add(map[string]float64{requests("shopify"): 20, shopify503: 3})
	c.add(map[string]float64{requests("mollie"): 30, mollie401: 4})
	wait(all...)
	// host-b restarts: scrapes fail a while, then it counts from zero.
	b.setDown(true)
	wait(b)
	b.restart(2500)
	b.add(map[string]float64{requests("shopify"): 10, shopify503: 2})
	wait(b)
	// host-d restarts as the daemon does: its counters resume from the
	// database's lifetime totals, with what it committed after its last
	// scrape.
	d.add(map[string]float64{requests("github"): 5})
	wait(d)
	d.add(map[string]float64{requests("github"): 3})
	d.setDown(true)
	wait(d)
	d.resume(4500)
	d.add(map[string]float64{requests("github"): 2})
	wait(d)
	// host-c counts more, is scraped, and stops.
	c.add(map[string]float64{mollie401: 6})
	wait(c)
	c.srv.Close()
	a.add(map[string]float64{stripeDeclined: 1})
	wait(a)
	to := time.Now()
	wait(a)
	win := report.Window{From: from, To: to}
	prev := report.Window{From: from.Add(-to.Sub(from)), To: from}

	describe := func(vendor, code string) (fleet.Entry, bool) {
		if vendor == "stripe" && code == "card_declined" {
			return fleet.Entry{Message: "Your card was declined.", HTTPStatus: 402}, true
		}
		return fleet.Entry{}, false
	}
	for kind, url := range engines {
		t.Run(kind, func(t *testing.T) {
			waitIngested(t, url, a.addr, to)
			p := fleet.NewPrometheus(url)
			p.Match = `job="apierr"`
			fl, err := p.Read(errContext(t), win, prev, to.Sub(from)/4+time.Millisecond, fleet.Filter{}, describe)
			if err != nil {
				t.Fatal(err)
			}
			// The report is built from these rows as from databases, by
			// host as --by host does.
			r := report.Build(win, prev, fl.Sources, report.Options{TrendStep: to.Sub(from) / 4, By: report.ByHost})
			fl.Apply(r)
			codes := map[string]int64{}
			for _, f := range r.Failures {
				codes[f.Vendor+"/"+f.Code] += f.Count
			}
			want := map[string]int64{"stripe/card_declined": 6, "stripe/rate_limit": 7, "shopify/http_503": 5, "mollie/http_401": 10}
			if !reflect.DeepEqual(codes, want) {
				t.Errorf("Codes=%v, want %v", codes, want)
			}
			// The previous window saw host-a's first scrapes only: a
			// process that started before it, whose first values are
			// history from before it, not counts within it.
			if r.PreviousTotals.Errors != 0 {
				t.Errorf("PreviousTotals=%+v, want none", r.PreviousTotals)
			}
			vendors := map[string][3]int64{}
			for _, v := range r.Vendors {
				vendors[v.Vendor] = [3]int64{v.Requests, v.Errors, v.Retryable}
			}
			if want := map[string][3]int64{"stripe": {50, 13, 7}, "shopify": {30, 5, 5}, "mollie": {30, 10, 0}, "github": {10, 0, 0}}; !reflect.DeepEqual(vendors, want) {
				t.Errorf("Vendors=%v, want %v", vendors, want)
			}
			wantHosts := []report.HostRow{{Host: "host-a", Requests: 50, Errors: 13, ErrorRate: 13.0 / 50},
				{Host: "host-c", Requests: 30, Errors: 10, ErrorRate: 10.0 / 30}, {Host: "host-b", Requests: 30, Errors: 5, ErrorRate: 5.0 / 30},
				{Host: "host-d", Requests: 10}}
			if !reflect.DeepEqual(r.Hosts, wantHosts) {
				t.Errorf("Hosts=%+v, want %+v", r.Hosts, wantHosts)
			}
			// Per host, each host's failures.
			groups := map[string]map[string]int64{}
			for _, g := range r.Groups {
				groups[g.Key] = map[string]int64{}
				for _, f := range g.Failures {
					groups[g.Key][f.Vendor+"/"+f.Code] = f.Count
				}
			}
			wantGroups := map[string]map[string]int64{"host-a": {"stripe/card_declined": 6, "stripe/rate_limit": 7},
				"host-b": {"shopify/http_503": 5}, "host-c": {"mollie/http_401": 10}, "host-d": {}}
			if !reflect.DeepEqual(groups, wantGroups) {
				t.Errorf("Groups=%v, want %v", groups, wantGroups)
			}
			sort.Strings(fl.Restarted)
			if !reflect.DeepEqual(fl.Restarted, []string{"host-b", "host-d"}) || !reflect.DeepEqual(fl.Stopped, []string{"host-c"}) {
				t.Errorf("Restarted=%v Stopped=%v, want [host-b host-d] [host-c]", fl.Restarted, fl.Stopped)
			}
			if want := (report.Latency{P50: 62.5, P95: 400, P99: 480}); fl.Latency["stripe"] == nil || !near(*fl.Latency["stripe"], want) {
				t.Errorf("Latency[stripe]=%v, want %v", fl.Latency["stripe"], want)
			}
			for _, f := range r.Failures {
				var sum int64
				for _, v := range f.Trend {
					sum += v
				}
				if want := map[string]int64{"card_declined": 6, "rate_limit": 7}[f.Code]; want > 0 && sum != want {
					t.Errorf("%s trend %v (sum %d), want sum %d", f.Code, f.Trend, sum, want)
				}
			}
			if fl.Services {
				t.Errorf("Services: true, want false (no service label)")
			}

			// The counts do not depend on the subqueries' resolution
			// (the restarted process lived longer than 3s).
			coarse := fleet.NewPrometheus(url)
			coarse.Resolution = 3 * time.Second
			fc, err := coarse.Read(errContext(t), win, prev, 0, fleet.Filter{}, describe)
			if err != nil {
				t.Fatal(err)
			}
			rc := report.Build(win, prev, fc.Sources, report.Options{})
			coarseCodes := map[string]int64{}
			for _, f := range rc.Failures {
				coarseCodes[f.Vendor+"/"+f.Code] += f.Count
			}
			if !reflect.DeepEqual(coarseCodes, codes) || !reflect.DeepEqual(rc.Hosts, r.Hosts) {
				t.Errorf("at 3s resolution: Codes=%v Hosts=%+v Restarted=%v, want %v %+v", coarseCodes, rc.Hosts, fc.Restarted, codes, r.Hosts)
			}

			// A query the engine refuses is one line.
			bad := fleet.NewPrometheus(url)
			bad.Match = `job=~"("`
			_, err = bad.Read(errContext(t), win, prev, 0, fleet.Filter{}, nil)
			checkOneLine(t, err, "refused")

			// A vendor filter keeps that vendor's rows only.
			fl, err = p.Read(errContext(t), win, prev, 0, fleet.Filter{Vendor: "Shopify"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			rv := report.Build(win, prev, fl.Sources, report.Options{})
			if len(rv.Failures) != 1 || rv.Failures[0].Count != 5 || len(rv.Vendors) != 1 || rv.Vendors[0].Requests != 30 {
				t.Errorf("--vendor shopify: Failures=%+v Vendors=%+v, want http_503 5 and 30 requests", rv.Failures, rv.Vendors)
			}
		})
	}
}

func near(a, b report.Latency) bool {
	d := func(x, y float64) bool { return x-y < 0.01 && y-x < 0.01 }
	return d(a.P50, b.P50) && d(a.P95, b.P95) && d(a.P99, b.P99)
}

// waitIngested waits until the engine holds a scrape of the target taken
// after t: the engine may make samples searchable some time after it took
// them.
func waitIngested(tb testing.TB, engine, instance string, t time.Time) {
	tb.Helper()
	q := fmt.Sprintf(`apierr_build_info{instance=%q}[1m]`, instance)
	deadline := time.Now().Add(20 * time.Second)
	for {
		last, err := lastSample(engine, q)
		if err == nil && last.After(t) {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: no sample of %s after %s within 20s (last %s, %v)", engine, instance, t, last, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func lastSample(engine, q string) (time.Time, error) {
	resp, err := http.Get(engine + "/api/v1/query?query=" + url.QueryEscape(q) + "&time=" + strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10))
	if err != nil {
		return time.Time{}, err
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Result []struct {
				Values [][2]any `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return time.Time{}, err
	}
	var last time.Time
	for _, s := range body.Data.Result {
		for _, v := range s.Values {
			if ts, ok := v[0].(float64); ok {
				if t := time.UnixMilli(int64(ts * 1000)); t.After(last) {
					last = t
				}
			}
		}
	}
	if last.IsZero() {
		return last, errNotYet
	}
	return last, nil
}
