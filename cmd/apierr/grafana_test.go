package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const dashboardPath = "../../etc/grafana/apierr.json"

// grafanaDashboard is the part of a Grafana dashboard these tests read.
type grafanaDashboard struct {
	Inputs []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	SchemaVersion int    `json:"schemaVersion"`
	UID           string `json:"uid"`
	Title         string `json:"title"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Definition string          `json:"definition"`
			IncludeAll bool            `json:"includeAll"`
			AllValue   string          `json:"allValue"`
		} `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []struct {
			Name       string         `json:"name"`
			Expr       string         `json:"expr"`
			Datasource dashDatasource `json:"datasource"`
		} `json:"list"`
	} `json:"annotations"`
	Panels []dashPanel `json:"panels"`
}

type dashDatasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type dashPanel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource dashDatasource `json:"datasource"`
	GridPos    struct{ H, W, X, Y int }
	Targets    []struct {
		RefID      string         `json:"refId"`
		Expr       string         `json:"expr"`
		Instant    bool           `json:"instant"`
		Datasource dashDatasource `json:"datasource"`
	} `json:"targets"`
}

// dashQuery is one query of the dashboard, named for failure messages.
type dashQuery struct {
	name    string // panel title and refId
	expr    string // as in the dashboard, variables not substituted
	instant bool
}

func readDashboard(tb testing.TB) (grafanaDashboard, []dashQuery) {
	tb.Helper()
	b, err := os.ReadFile(dashboardPath)
	if err != nil {
		tb.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(b, &d); err != nil {
		tb.Fatalf("%s: %v", dashboardPath, err)
	}
	var qs []dashQuery
	for _, p := range d.Panels {
		for _, t := range p.Targets {
			qs = append(qs, dashQuery{name: fmt.Sprintf("panel %q query %s", p.Title, t.RefID), expr: t.Expr, instant: t.Instant})
		}
	}
	for _, a := range d.Annotations.List {
		if a.Expr != "" {
			qs = append(qs, dashQuery{name: fmt.Sprintf("annotation %q", a.Name), expr: a.Expr})
		}
	}
	return d, qs
}

// dashVars are the values the query test gives Grafana's variables: every
// host and vendor, and intervals that suit a one-second scrape.
var dashVars = map[string]string{
	"host":            ".*",
	"vendor":          ".*",
	"__rate_interval": "1m",
	"__interval":      "1s",
	"__range":         "1m",
}

var dashVarRe = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)`)

// dashSubstitute replaces the variables of expr as Grafana would.
func dashSubstitute(tb testing.TB, expr string) string {
	tb.Helper()
	return dashVarRe.ReplaceAllStringFunc(expr, func(m string) string {
		s := dashVarRe.FindStringSubmatch(m)
		name := s[1] + s[2]
		v, ok := dashVars[name]
		if !ok {
			tb.Errorf("query %q uses variable $%s, which the test does not know", expr, name)
		}
		return v
	})
}

// The names in a query: recorded series (level:metric:operations) and
// apierr's own metrics.
var (
	recordedRe = regexp.MustCompile(`\b[a-z_]+:apierr_[a-z_]+:[a-z0-9_]+\b`)
	apierrRe   = regexp.MustCompile(`\bapierr_[a-z_]+\b`)
)

// apierrMetrics are the metric families the daemon exposes (the README's
// Metrics), with histograms' series suffixes.
var apierrMetrics = map[string]bool{}

func init() {
	for _, m := range []string{"apierr_requests_total", "apierr_errors_total", "apierr_malformed_lines_total",
		"apierr_skipped_lines_total", "apierr_lines_read_total", "apierr_bytes_read_total", "apierr_files_tailed",
		"apierr_build_info", "apierr_start_time_seconds"} {
		apierrMetrics[m] = true
	}
	for _, h := range []string{"apierr_commit_duration_seconds", "apierr_request_duration_seconds"} {
		for _, s := range []string{"_bucket", "_count", "_sum"} {
			apierrMetrics[h+s] = true
		}
	}
}

// metricFamily is the metric family of a series name: a histogram's name
// without _bucket, _count or _sum.
func metricFamily(name string) string {
	for _, s := range []string{"_bucket", "_count", "_sum"} {
		if n, ok := strings.CutSuffix(name, s); ok && strings.HasSuffix(n, "_seconds") {
			return n
		}
	}
	return name
}

// recordedSources maps each recording rule of apierr-rules.yml to the raw
// apierr metrics it reads, through the rules it reads.
func recordedSources(tb testing.TB) map[string][]string {
	tb.Helper()
	var rf ruleFile
	readPromYAML(tb, promRules, &rf)
	exprs := map[string][]string{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				exprs[r.Record] = append(exprs[r.Record], r.Expr)
			}
		}
	}
	out := map[string][]string{}
	var resolve func(name string, seen map[string]bool) []string
	resolve = func(name string, seen map[string]bool) []string {
		if seen[name] {
			return nil // a rule that reads itself
		}
		seen[name] = true
		var raw []string
		for _, e := range exprs[name] {
			raw = append(raw, apierrRe.FindAllString(recordedRe.ReplaceAllString(e, ""), -1)...)
			for _, r := range recordedRe.FindAllString(e, -1) {
				raw = append(raw, resolve(r, seen)...)
			}
		}
		return raw
	}
	for name := range exprs {
		out[name] = resolve(name, map[string]bool{})
	}
	return out
}

// TestGrafanaDashboard checks the dashboard's shape: importable (a
// ${DS_PROMETHEUS} input and variable, every query on it), the host and
// vendor variables, and every name it reads either a recording rule of
// apierr-rules.yml or a metric the daemon exposes.
func TestGrafanaDashboard(t *testing.T) {
	d, qs := readDashboard(t)
	if d.SchemaVersion < 36 || d.SchemaVersion > 41 {
		t.Errorf("schemaVersion %d, want one Grafana 9 to 11 import (36 to 41)", d.SchemaVersion)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("uid %q title %q: both are needed to import and link", d.UID, d.Title)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" || d.Inputs[0].Type != "datasource" || d.Inputs[0].PluginID != "prometheus" {
		t.Errorf("__inputs %+v, want one prometheus datasource input DS_PROMETHEUS", d.Inputs)
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		switch v.Name {
		case "DS_PROMETHEUS":
			if v.Type != "datasource" || string(v.Query) != `"prometheus"` {
				t.Errorf("variable DS_PROMETHEUS: type %q query %s, want a prometheus datasource variable", v.Type, v.Query)
			}
		case "host", "vendor":
			metric := map[string]string{"host": "apierr_build_info", "vendor": "apierr_requests_total"}[v.Name]
			if v.Definition != fmt.Sprintf("label_values(%s, %s)", metric, v.Name) || !v.IncludeAll || v.AllValue != ".*" {
				t.Errorf("variable %s: %q includeAll %v allValue %q, want label_values(%s, %s) with All as .*",
					v.Name, v.Definition, v.IncludeAll, v.AllValue, metric, v.Name)
			}
		}
	}
	for _, name := range []string{"DS_PROMETHEUS", "host", "vendor"} {
		if !vars[name] {
			t.Errorf("no %s variable", name)
		}
	}

	rules := recordedSources(t)
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: gridPos %+v", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource.UID != "${DS_PROMETHEUS}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: datasource %+v, %d queries; want ${DS_PROMETHEUS} and a query", p.Title, p.Datasource, len(p.Targets))
		}
		for _, tg := range p.Targets {
			if tg.Datasource.UID != "${DS_PROMETHEUS}" {
				t.Errorf("panel %q query %s: datasource %+v, want ${DS_PROMETHEUS}", p.Title, tg.RefID, tg.Datasource)
			}
		}
	}
	for _, q := range qs {
		for _, r := range recordedRe.FindAllString(q.expr, -1) {
			if _, ok := rules[r]; !ok {
				t.Errorf("%s reads %s, which apierr-rules.yml does not record", q.name, r)
			}
		}
		for _, m := range apierrRe.FindAllString(recordedRe.ReplaceAllString(q.expr, ""), -1) {
			if !apierrMetrics[m] {
				t.Errorf("%s reads %s, which the daemon does not expose", q.name, m)
			}
		}
		// Every query of apierr's series follows the host filter (the
		// targets count reads up, which must see hosts that are down).
		if (apierrRe.MatchString(q.expr) || recordedRe.MatchString(q.expr)) && !strings.Contains(q.expr, "$host") {
			t.Errorf("%s ignores $host: %s", q.name, q.expr)
		}
	}
}

// dashTraffic is one round of log lines, stamped now: successes with
// durations, catalog errors, errors inside HTTP 200, a code no catalog
// knows, a rate limit, a timeout and a refused connection (no response),
// a line that is not JSON and one that is not a call.
func dashTraffic(now time.Time, i int) string {
	ts := now.UTC().Format(time.RFC3339Nano)
	return strings.Join([]string{
		fmt.Sprintf(`{"ts":%q,"method":"GET","url":"https://api.piggy.eu/api/v3/oauth/clients/contacts/%d","status":200,"duration_ms":%d,"response_body":"{\"data\":{}}"}`, ts, i, 20+i%300),
		fmt.Sprintf(`{"ts":%q,"method":"POST","url":"https://api.piggy.eu/api/v3/oauth/clients/contacts/%d","status":400,"duration_ms":35,"response_body":"{\"message\":\"Contact not found.\",\"code\":55031,\"status_code\":400}"}`, ts, i),
		fmt.Sprintf(`{"ts":%q,"method":"POST","url":"https://shop.textalk.se/backend/jsonrpc/v1/","status":200,"duration_ms":120,"response_body":{"jsonrpc":"2.0","id":%d,"error":{"code":7777,"message":"Something new"}}}`, ts, i),
		fmt.Sprintf(`{"ts":%q,"method":"POST","url":"https://api.voucherify.io/v1/redemptions","status":429,"duration_ms":15,"response_headers":{"Retry-After":"3"},"response_body":"{\"code\":429,\"message\":\"Too many requests\"}"}`, ts),
		fmt.Sprintf(`{"ts":%q,"method":"GET","url":"https://acme.picqer.com/api/v1/products","status":0,"duration_ms":30000,"error":"context deadline exceeded"}`, ts),
		fmt.Sprintf(`{"ts":%q,"method":"POST","url":"https://api.piggy.eu/api/v3/oauth/clients/contacts","status":0,"error":"dial tcp 10.0.0.1:443: connect: connection refused"}`, ts),
		fmt.Sprintf(`not json at all, round %d`, i),
		fmt.Sprintf(`{"ts":%q,"level":"info","msg":"cache warmed","round":%d}`, ts, i),
	}, "\n") + "\n"
}

// promResult is the answer of Prometheus' query API.
type promResult struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string            `json:"resultType"`
		Result     []json.RawMessage `json:"result"`
	} `json:"data"`
}

// promAPI queries the Prometheus at base; it returns the answer and an
// error for a transport failure or a body that is not the API's JSON.
func promAPI(base, path string, params url.Values) (promResult, error) {
	var r promResult
	resp, err := http.Get(base + path + "?" + params.Encode())
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &r); err != nil {
		return r, fmt.Errorf("%s: %d %q", path, resp.StatusCode, body)
	}
	return r, nil
}

// TestGrafanaDashboard_Queries runs every query of the dashboard against a
// real Prometheus scraping a real daemon every second, with its recording
// rules loaded: each parses and runs without error, and each returns data
// where the traffic guarantees some (its metrics are in the daemon's
// exposition).
func TestGrafanaDashboard_Queries(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a daemon and a Prometheus server")
	}
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (Debian: apt-get install prometheus); .ci/run installs it")
	}
	_, qs := readDashboard(t)

	// The daemon, with traffic appended every 200 ms for as long as the
	// test runs, so that every rate has samples on both sides.
	logs := t.TempDir()
	logFile := filepath.Join(logs, "app.log")
	if err := os.WriteFile(logFile, []byte(dashTraffic(time.Now(), 0)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, addr, _ := startMetricsDaemon(t, "", filepath.Join(logs, "*.log"))
	ctx, cancel := context.WithCancel(context.Background())
	writerDone := make(chan struct{})
	t.Cleanup(func() { cancel(); <-writerDone })
	go func() {
		defer close(writerDone)
		f, err := os.OpenFile(logFile, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for i := 1; ; i++ {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				f.WriteString(dashTraffic(now, i))
			}
		}
	}()
	// What the traffic guarantees, once committed.
	for _, want := range []string{`category="unknown"`, `category="timeout"`, `category="network"`, `category="rate_limit"`,
		`retry="retry"`, `retry="no"`, "apierr_malformed_lines_total{", "apierr_commit_duration_seconds_count"} {
		waitFor(t, "the exposition to hold "+want, func() bool {
			_, text := get(t, "http://"+addr+"/metrics")
			return strings.Contains(text, want)
		})
	}

	// The metric families the daemon exposes: a query on them must
	// return data.
	_, text := get(t, "http://"+addr+"/metrics")
	exposed := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
			exposed[f[2]] = true
		}
	}

	// Prometheus on loopback: a one-second scrape of the daemon, the
	// rules evaluated every second, storage in a temporary directory.
	web := freeAddr(t)
	dir := t.TempDir()
	var ruleFiles []string
	for _, f := range []string{promRules, promAlerts} {
		abs, err := filepath.Abs(f)
		if err != nil {
			t.Fatal(err)
		}
		ruleFiles = append(ruleFiles, strconv.Quote(abs))
	}
	if !exposed["apierr_build_info"] {
		// A daemon without apierr_build_info leaves every host-filtered
		// query empty: stand in for it with a recorded series of the same
		// name and labels, so that those queries are checked for data too.
		t.Logf("the daemon does not expose apierr_build_info: recording a stand-in from up")
		standIn := filepath.Join(dir, "build-info.yml")
		os.WriteFile(standIn, []byte("groups:\n  - name: stand-in\n    rules:\n      - record: apierr_build_info\n        expr: up{job=\"apierr\"} * 0 + 1\n        labels: {host: loghost-test, version: test}\n"), 0o644)
		ruleFiles = append(ruleFiles, strconv.Quote(standIn))
		exposed["apierr_build_info"] = true
	}
	conf := fmt.Sprintf("global: {scrape_interval: 1s, evaluation_interval: 1s}\nrule_files: [%s]\nscrape_configs:\n  - job_name: apierr\n    static_configs: [{targets: [%q]}]\n",
		strings.Join(ruleFiles, ", "), addr)
	os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(conf), 0o644)
	promOut := &syncBuffer{}
	cmd := exec.Command(prom, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+web, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = promOut, promOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	base := "http://" + web

	// A few scrapes, and the rules evaluated on them: the recorded
	// per-daemon rates exist once two scrapes have seen the counters grow.
	deadline := time.Now().Add(40 * time.Second)
	for {
		r, err := promAPI(base, "/api/v1/query", url.Values{"query": {`count_over_time(up{job="apierr"}[1m]) >= 6 and on () count(instance_vendor:apierr_errors:rate5m) > 0`}})
		if err == nil && r.Status == "success" && len(r.Data.Result) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus did not scrape the daemon six times and record its rates within 40s: %v %+v\n%s", err, r, promOut)
		}
		time.Sleep(250 * time.Millisecond)
	}

	rules := recordedSources(t)
	needs := func(expr string) []string {
		var raw []string
		for _, r := range recordedRe.FindAllString(expr, -1) {
			raw = append(raw, rules[r]...)
		}
		return append(raw, apierrRe.FindAllString(recordedRe.ReplaceAllString(expr, ""), -1)...)
	}
	now := time.Now()
	for _, q := range qs {
		expr := dashSubstitute(t, q.expr)
		var missing []string
		for _, m := range needs(q.expr) {
			if !exposed[metricFamily(m)] {
				missing = append(missing, metricFamily(m))
			}
		}
		// Queries that can be empty whatever the traffic: daemon restarts.
		mayBeEmpty := len(missing) > 0 || strings.Contains(q.expr, "changes(apierr_start_time_seconds")

		var r promResult
		var err error
		if q.instant {
			r, err = promAPI(base, "/api/v1/query", url.Values{"query": {expr}, "time": {strconv.FormatInt(now.Unix(), 10)}})
		} else {
			r, err = promAPI(base, "/api/v1/query_range", url.Values{"query": {expr},
				"start": {strconv.FormatInt(now.Add(-30*time.Second).Unix(), 10)}, "end": {strconv.FormatInt(now.Unix(), 10)}, "step": {"1"}})
		}
		switch {
		case err != nil:
			t.Errorf("%s: %v", q.name, err)
		case r.Status != "success":
			t.Errorf("%s: %s: %s\n%s", q.name, r.ErrorType, r.Error, expr)
		case len(r.Data.Result) == 0 && !mayBeEmpty:
			t.Errorf("%s returned no data, though the daemon exposes what it reads\n%s", q.name, expr)
		case len(r.Data.Result) == 0:
			t.Logf("%s: no data (the daemon does not expose %v yet)", q.name, missing)
		}
	}

	// Every recording and alerting rule evaluates on the real series
	// without error (a many-to-many match, say, fails only here), and the
	// code no catalog knows raises UnknownErrorCodes.
	deadline = time.Now().Add(15 * time.Second)
	for {
		var rules struct {
			Data struct {
				Groups []struct {
					Rules []struct {
						Name      string `json:"name"`
						Health    string `json:"health"`
						LastError string `json:"lastError"`
						Alerts    []struct {
							Labels map[string]string `json:"labels"`
							State  string            `json:"state"`
						} `json:"alerts"`
					} `json:"rules"`
				} `json:"groups"`
			} `json:"data"`
		}
		resp, err := http.Get(base + "/api/v1/rules")
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&rules)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		var bad []string
		unknown, n := false, 0
		for _, g := range rules.Data.Groups {
			for _, r := range g.Rules {
				n++
				if r.Health == "err" {
					bad = append(bad, r.Name+": "+r.LastError)
				}
				for _, a := range r.Alerts {
					if r.Name == "UnknownErrorCodes" && a.Labels["vendor"] == "textalk" && a.Labels["code"] == "7777" && a.State == "firing" {
						unknown = true
					}
					if r.Name == "ApierrNotCommitting" || r.Name == "ApierrNotTailing" || r.Name == "ApierrDown" {
						t.Errorf("%s %s on a daemon that tails and commits: %v", r.Name, a.State, a.Labels)
					}
				}
			}
		}
		if len(bad) > 0 {
			t.Fatalf("rules failing on real series:\n%s", strings.Join(bad, "\n"))
		}
		if n == 0 {
			t.Fatalf("Prometheus loaded no rules\n%s", promOut)
		}
		if unknown {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("UnknownErrorCodes did not fire for textalk 7777 within 15s")
		}
		time.Sleep(250 * time.Millisecond)
	}

	// The variables' queries: label values of the series they name.
	for _, v := range []struct{ label, match string }{{"host", "apierr_build_info"}, {"vendor", "apierr_requests_total"}} {
		resp, err := http.Get(base + "/api/v1/label/" + v.label + "/values?" + url.Values{"match[]": {v.match}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Status string   `json:"status"`
			Data   []string `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if err != nil || r.Status != "success" || len(r.Data) == 0 {
			t.Errorf("variable %s: label_values(%s, %s) = %v (%s, %v), want values", v.label, v.match, v.label, r.Data, r.Status, err)
		}
	}
}
