package main

import (
	"bufio"
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

	"github.com/apierr/apierr/storage"
)

// metricsDaemon starts the daemon on a log of n test lines with metrics on
// a free loopback port; it returns the process, the metrics address and
// the database path.
func metricsDaemon(tb testing.TB, n int, glob string) (*process, string, string) {
	tb.Helper()
	var b strings.Builder
	for i := range n {
		b.WriteString(testTraffic(i) + "\n")
	}
	return startMetricsDaemon(tb, b.String(), glob)
}

// metricsDaemonWith starts the daemon with metrics on a log of the given text.
func metricsDaemonWith(tb testing.TB, log string) (*process, string, string) {
	tb.Helper()
	return startMetricsDaemon(tb, log, "")
}

func startMetricsDaemon(tb testing.TB, log, glob string) (*process, string, string) {
	tb.Helper()
	dir := tb.TempDir()
	logs := filepath.Join(dir, "logs")
	os.Mkdir(logs, 0o755)
	os.WriteFile(filepath.Join(logs, "app.log"), []byte(log), 0o644)
	if glob == "" {
		glob = filepath.Join(logs, "*.log")
	}
	dbPath := filepath.Join(dir, "apierr.db")
	config := filepath.Join(dir, "apierr.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf("db: %s\ninputs: [{paths: [%q]}]\nflush_interval: 100ms\nmetrics_listen: 127.0.0.1:0\n", dbPath, glob)), 0o644)
	d, addr := runMetricsDaemon(tb, config)
	return d, addr, dbPath
}

// readTotals returns the totals of the database's buckets, read as a
// report reads them.
func readTotals(tb testing.TB, dbPath string) storage.Summary {
	tb.Helper()
	db := storage.NewDB(dbPath)
	db.ReadOnly = true
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	totals, err := db.Totals(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return totals
}

// runMetricsDaemon starts the daemon on config (with metrics_listen on
// port 0) and returns it and the address its metrics listen on.
func runMetricsDaemon(tb testing.TB, config string) (*process, string) {
	tb.Helper()
	d := startDaemon(tb, config)
	tb.Cleanup(d.kill)
	re := regexp.MustCompile(`msg="metrics listening" addr=(\S+)`)
	var addr string
	waitFor(tb, "the metrics listener", func() bool {
		m := re.FindStringSubmatch(d.out.String())
		if m != nil {
			addr = m[1]
		}
		return addr != ""
	})
	return d, addr
}

// pruneAll runs the database's maintenance a year later, so that retention
// prunes every bucket (the lifetime totals stay).
func pruneAll(tb testing.TB, dbPath string) {
	tb.Helper()
	db := storage.NewDB(dbPath)
	db.Now = func() time.Time { return time.Now().AddDate(1, 0, 0) }
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	if err := db.Maintain(context.Background(), time.Hour, 24*time.Hour); err != nil {
		tb.Fatal(err)
	}
	db.Close()
	if c := readCounts(tb, dbPath); c.requests != 0 {
		tb.Fatalf("%d requests left after pruning, want none", c.requests)
	}
}

func get(tb testing.TB, u string) (int, string) {
	tb.Helper()
	resp, err := http.Get(u)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// sample is one line of the exposition: name{labels} value.
var sampleRe = regexp.MustCompile(`^(\w+)(\{[^}]*\})? (\S+)$`)

// exposition sums the samples of each metric and label set.
func exposition(text string) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		m := sampleRe.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		v, _ := strconv.ParseFloat(m[3], 64)
		out[m[1]] += v
		if m[2] != "" {
			out[m[1]+m[2]] += v
		}
	}
	return out
}

// TestMetrics_Exposition checks /metrics against what the database holds.
func TestMetrics_Exposition(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real process")
	}
	const n = 1300
	d, addr, dbPath := metricsDaemon(t, n, "")
	var text string
	waitFor(t, "every line committed and exposed", func() bool {
		_, text = get(t, "http://"+addr+"/metrics")
		e := exposition(text)
		return e["apierr_requests_total"]+e["apierr_malformed_lines_total"] == n
	})
	e := exposition(text)
	c := readCounts(t, dbPath)
	if e["apierr_requests_total"] != float64(c.requests) || e["apierr_malformed_lines_total"] != float64(c.malformed) || e["apierr_lines_read_total"] != n {
		t.Fatalf("exposition: requests %v malformed %v lines %v; database: %d requests, %d malformed",
			e["apierr_requests_total"], e["apierr_malformed_lines_total"], e["apierr_lines_read_total"], c.requests, c.malformed)
	}
	totals := readTotals(t, dbPath)
	for l, n := range totals.Errors {
		key := fmt.Sprintf(`apierr_errors_total{category=%q,code=%q,retry=%q,vendor=%q}`, l.Category, l.Code, l.Retry, l.Vendor)
		if e[key] != float64(n) {
			t.Errorf("%s = %v, the database holds %d", key, e[key], n)
		}
	}
	for _, name := range []string{"apierr_files_tailed", "apierr_commit_duration_seconds_count", "apierr_bytes_read_total", "go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := e[name]; !ok {
			t.Errorf("%s missing from the exposition", name)
		}
	}
	if code, body := get(t, "http://"+addr+"/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	if path, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(path, "check", "metrics")
		cmd.Stdin = strings.NewReader(text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	}
	d.stop(t)
}

// TestMetrics_Unhealthy: no input file matches, /healthz says so.
func TestMetrics_Unhealthy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real process")
	}
	_, addr, _ := metricsDaemon(t, 1, "/nonexistent/*.log")
	code, body := get(t, "http://"+addr+"/healthz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "no input file matches") {
		t.Fatalf("/healthz: %d %q, want 503 and the reason", code, body)
	}
}

// TestPrometheus scrapes the daemon with a real Prometheus server on
// loopback and queries it: the values equal the lines ingested. It also
// checks the example alerting rules with promtool.
func TestPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (Debian: apt-get install prometheus); .ci/run installs it")
	}
	promtool, _ := exec.LookPath("promtool")
	if out, err := exec.Command(promtool, "check", "rules", "../../etc/prometheus/apierr-alerts.yml").CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}

	const n = 1300
	_, addr, dbPath := metricsDaemon(t, n, "")
	waitFor(t, "every line committed", func() bool { c := readCounts(t, dbPath); return c.requests+c.malformed == n })
	want := readCounts(t, dbPath)

	web := freeAddr(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(fmt.Sprintf(
		"global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: apierr\n    static_configs: [{targets: [%q]}]\n", addr)), 0o644)
	cmd := exec.Command(prom, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+web, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	query := func(q string) (float64, bool) {
		resp, err := http.Get("http://" + web + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return 0, false
		}
		defer resp.Body.Close()
		var r struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if json.NewDecoder(resp.Body).Decode(&r) != nil || len(r.Data.Result) != 1 {
			return 0, false
		}
		s, _ := r.Data.Result[0].Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		requests, ok1 := query("sum(apierr_requests_total)")
		errs, ok2 := query("sum(apierr_errors_total)")
		if ok1 && ok2 && requests == float64(want.requests) {
			var wantErrs int64
			for _, v := range want.vendors {
				var vendor string
				var r, e, rt int64
				fmt.Sscan(v, &vendor, &r, &e, &rt)
				wantErrs += e
			}
			if errs != float64(wantErrs) {
				t.Fatalf("Prometheus: sum(apierr_errors_total)=%v, the database holds %d", errs, wantErrs)
			}
			t.Logf("Prometheus scraped %v requests and %v errors, as ingested", requests, errs)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus did not report %d requests within 30s (last: %v %v)", want.requests, requests, ok1)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestMetrics_NeverDecrease: retention prunes every bucket between two
// runs; after the restart no counter is below its last value, so
// Prometheus sees no reset (and no spike in rate() or increase()).
func TestMetrics_NeverDecrease(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real process twice")
	}
	const n = 260
	d, addr, dbPath := metricsDaemon(t, n, "")
	waitFor(t, "every line committed", func() bool { c := readCounts(t, dbPath); return c.requests+c.malformed == n })
	waitFor(t, "/metrics to show them", func() bool {
		_, text := get(t, "http://"+addr+"/metrics")
		return exposition(text)["apierr_requests_total"] > 0
	})
	_, text := get(t, "http://"+addr+"/metrics")
	before := exposition(text)
	d.stop(t)

	pruneAll(t, dbPath)
	_, addr2 := runMetricsDaemon(t, filepath.Join(filepath.Dir(dbPath), "apierr.yaml"))
	_, text = get(t, "http://"+addr2+"/metrics")
	after := exposition(text)
	checked := 0
	for series, v := range before {
		if !strings.HasPrefix(series, "apierr_requests_total") && !strings.HasPrefix(series, "apierr_errors_total") &&
			!strings.HasPrefix(series, "apierr_malformed_lines_total") {
			continue
		}
		checked++
		if after[series] < v {
			t.Errorf("%s: %v after the restart, %v before", series, after[series], v)
		}
	}
	if checked < 5 {
		t.Fatalf("only %d counter series checked", checked)
	}
}

// labelRe is one label of a sample: name="value" (the value as escaped).
var labelRe = regexp.MustCompile(`(\w+)="((?:[^"\\]|\\.)*)"`)

// withoutLabel sums the samples of the exposition over the values of one
// label, keyed like exposition's keys (labels in name order).
func withoutLabel(text, label string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(text, "\n") {
		m := sampleRe.FindStringSubmatch(line)
		if m == nil || m[2] == "" {
			continue
		}
		var kept []string
		for _, l := range labelRe.FindAllStringSubmatch(m[2], -1) {
			if l[1] != label {
				kept = append(kept, l[0])
			}
		}
		v, _ := strconv.ParseFloat(m[3], 64)
		out[m[1]+"{"+strings.Join(kept, ",")+"}"] += v
	}
	return out
}

// TestMetrics_ServiceLabel: with metrics_service_label off (the default)
// no counter has a service label. Turned on (a restart on the same
// database), the requests and errors counters carry it: summed over
// services they equal the series without it, and each service's requests
// equal the database's. A restart after retention pruned every bucket
// lowers no series.
func TestMetrics_ServiceLabel(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real process three times")
	}
	const n = 390
	var b strings.Builder
	for i := range n {
		line := testTraffic(i)
		if i%4 != 3 && strings.HasPrefix(line, "{") {
			line = fmt.Sprintf(`{"service_name":"shop/svc-%d",`, i%3) + line[1:]
		}
		b.WriteString(line + "\n")
	}
	d, addr, dbPath := metricsDaemonWith(t, b.String())
	waitFor(t, "every line committed", func() bool { c := readCounts(t, dbPath); return c.requests+c.malformed == n })
	c := readCounts(t, dbPath)
	var text string
	waitFor(t, "/metrics to show them", func() bool {
		_, text = get(t, "http://"+addr+"/metrics")
		return exposition(text)["apierr_requests_total"] == float64(c.requests)
	})
	if strings.Contains(text, `service="`) {
		t.Fatalf("a service label with metrics_service_label off:\n%s", text)
	}
	off := exposition(text)
	d.stop(t)

	config := filepath.Join(filepath.Dir(dbPath), "apierr.yaml")
	cfg, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, append(cfg, "metrics_service_label: true\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	d2, addr2 := runMetricsDaemon(t, config)
	_, text = get(t, "http://"+addr2+"/metrics")
	on := exposition(text)
	summed := withoutLabel(text, "service")
	checked := 0
	for series, v := range off {
		if !strings.HasPrefix(series, "apierr_requests_total{") && !strings.HasPrefix(series, "apierr_errors_total{") {
			continue
		}
		checked++
		if summed[series] != v {
			t.Errorf("%s: %v summed over services, %v without the label", series, summed[series], v)
		}
		if on[series] != 0 {
			t.Errorf("%s: still exposed without a service label", series)
		}
	}
	if checked < 8 {
		t.Fatalf("only %d series compared", checked)
	}
	totals := readTotals(t, dbPath)
	services := map[string]bool{}
	for l, n := range totals.ServiceRequests {
		services[l.Service] = true
		key := fmt.Sprintf(`apierr_requests_total{service=%q,vendor=%q}`, l.Service, l.Vendor)
		if on[key] != float64(n) {
			t.Errorf("%s = %v, the database holds %d", key, on[key], n)
		}
	}
	if len(services) != 4 {
		t.Errorf("services %v, want three and none", services)
	}
	d2.stop(t)

	pruneAll(t, dbPath)
	_, addr3 := runMetricsDaemon(t, config)
	_, text = get(t, "http://"+addr3+"/metrics")
	after := exposition(text)
	for series, v := range on {
		if strings.Contains(series, `service="`) && after[series] < v {
			t.Errorf("%s: %v after the restart, %v before", series, after[series], v)
		}
	}
}
