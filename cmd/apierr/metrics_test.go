package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
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
	return d, addr, dbPath
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
	db := storage.NewDB(dbPath)
	db.ReadOnly = true
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	totals, err := db.Totals(context.Background())
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
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

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	web := ln.Addr().String()
	ln.Close()
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

	// Prune everything: maintenance a year later.
	db := storage.NewDB(dbPath)
	db.Now = func() time.Time { return time.Now().AddDate(1, 0, 0) }
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	if err := db.Maintain(context.Background(), time.Hour, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if c := readCounts(t, dbPath); c.requests != 0 {
		t.Fatalf("%d requests left after pruning, want none", c.requests)
	}

	d2 := startDaemon(t, filepath.Join(filepath.Dir(dbPath), "apierr.yaml"))
	t.Cleanup(d2.kill)
	re := regexp.MustCompile(`msg="metrics listening" addr=(\S+)`)
	var addr2 string
	waitFor(t, "the metrics listener", func() bool {
		if m := re.FindStringSubmatch(d2.out.String()); m != nil {
			addr2 = m[1]
		}
		return addr2 != ""
	})
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
