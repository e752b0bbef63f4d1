package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fleetHost is one log host of the end-to-end fleet: an `apierr run`
// with its own database, log and host name, serving /metrics on a fixed
// loopback port (a restart keeps its address, as a service does).
type fleetHost struct {
	name, dir, log, db, config, addr string
	d                                *process
	lines                            int // lines written to its log so far
	next                             int // the next testTraffic line it writes
	stride                           int // its traffic: every stride-th line, so hosts differ
}

func newFleetHost(tb testing.TB, name string, stride int) *fleetHost {
	tb.Helper()
	h := &fleetHost{name: name, dir: tb.TempDir(), stride: stride, next: stride}
	h.log, h.db, h.config = filepath.Join(h.dir, "app.log"), filepath.Join(h.dir, name+".db"), filepath.Join(h.dir, "apierr.yaml")
	h.addr = freeAddr(tb)
	os.WriteFile(h.log, nil, 0o644)
	os.WriteFile(h.config, []byte(fmt.Sprintf("host: %s\ndb: %s\ninputs: [{paths: [%q]}]\nflush_interval: 100ms\nmetrics_listen: %s\n",
		name, h.db, h.log, h.addr)), 0o644)
	return h
}

func (h *fleetHost) start(tb testing.TB) {
	tb.Helper()
	h.d = startDaemon(tb, h.config)
	tb.Cleanup(h.d.kill)
	waitFor(tb, h.name+"'s metrics", func() bool { return strings.Contains(h.d.out.String(), "metrics listening") })
}

// write appends n lines of test traffic dated at, all of one second;
// with datedOnly, none of the lines without a date (a line without one
// is counted when it is read, not when it was written).
func (h *fleetHost) write(tb testing.TB, n int, at time.Time, datedOnly bool) {
	tb.Helper()
	var b strings.Builder
	for i := 0; i < n; h.next += h.stride {
		l := testTraffic(h.next)
		ts := trafficStart.Add(time.Duration(h.next) * time.Second).Format(time.RFC3339)
		if datedOnly && !strings.Contains(l, ts) {
			continue
		}
		b.WriteString(strings.Replace(l, ts, at.UTC().Format(time.RFC3339), 1) + "\n")
		i++
	}
	f, err := os.OpenFile(h.log, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(b.String()); err != nil {
		tb.Fatal(err)
	}
	h.lines += n
}

// fleetEngineValue is the value of an instant PromQL query at t (NaN when
// the result is empty).
func fleetEngineValue(engine, q string, t time.Time) (float64, error) {
	resp, err := http.Get(engine + "/api/v1/query?query=" + url.QueryEscape(q) + "&time=" + strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
		return 0, fmt.Errorf("query %s: status %q, %v", q, body.Status, err)
	}
	if len(body.Data.Result) == 0 {
		return math.NaN(), nil
	}
	s, _ := body.Data.Result[0].Value[1].(string)
	return strconv.ParseFloat(s, 64)
}

// fleetWaitScraped waits until the engine holds every line h has been given:
// its lines counted (requests and malformed) in the last scrape.
func fleetWaitScraped(tb testing.TB, engine string, h *fleetHost) {
	tb.Helper()
	q := fmt.Sprintf(`sum(last_over_time({__name__=~"apierr_requests_total|apierr_malformed_lines_total",instance=%q}[10m]))`, h.addr)
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, err := fleetEngineValue(engine, q, time.Now())
		if err == nil && v == float64(h.lines) {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: %s's %d lines not in the engine within 30s (it has %v, %v)\n%s", engine, h.name, h.lines, v, err, h.d.out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startFleetEngines starts VictoriaMetrics, then Prometheus scraping
// hosts every second and remote-writing to it; it returns their URLs.
func startFleetEngines(tb testing.TB, hosts []*fleetHost) (prom, vm string) {
	tb.Helper()
	dir := tb.TempDir()
	start := func(name string, ready string, args ...string) string {
		addr := freeAddr(tb)
		for i := range args {
			args[i] = strings.ReplaceAll(args[i], "ADDR", addr)
		}
		cmd := exec.Command(name, args...)
		var stderr syncBuffer
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		if err := cmd.Start(); err != nil {
			tb.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		tb.Cleanup(func() { cmd.Process.Kill(); <-exited })
		u := "http://" + addr
		deadline := time.Now().Add(20 * time.Second)
		for {
			if resp, err := http.Get(u + ready); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return u
				}
			}
			select {
			case err := <-exited:
				tb.Fatalf("%s exited: %v\n%s", name, err, stderr.String())
			case <-time.After(100 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				tb.Fatalf("%s not ready within 20s\n%s", name, stderr.String())
			}
		}
	}
	// VictoriaMetrics serves a sample to queries as soon as it has it:
	// -search.latencyOffset=0s (its default, 30s, hides the last 30s).
	vm = start("victoria-metrics", "/health", "-httpListenAddr=ADDR", "-storageDataPath="+filepath.Join(dir, "vm"),
		"-search.latencyOffset=0s", "-search.disableCache", "-loggerLevel=ERROR")
	var targets []string
	for _, h := range hosts {
		targets = append(targets, strconv.Quote(h.addr))
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: apierr
    static_configs:
      - targets: [%s]
remote_write:
  - url: %s/api/v1/write
    queue_config: {batch_send_deadline: 500ms}
`, strings.Join(targets, ", "), vm)), 0o644)
	prom = start("prometheus", "/-/ready", "--web.listen-address=ADDR", "--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "prom"), "--log.level=warn")
	return prom, vm
}

// freeAddr returns a loopback address no one listens on, for a process
// to listen on.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// fleetReport is what the comparison reads of a JSON report.
type fleetReport struct {
	Totals struct {
		Requests, Errors, Malformed int64
	}
	Failures []struct {
		Vendor, Code string
		Count        int64
	}
	Hosts []struct {
		Host             string
		Requests, Errors int64
	}
	Source *struct{ Kind string }
	Groups []struct {
		Key      string
		Failures []struct {
			Vendor, Code  string
			Count         int64
			PreviousCount int64 `json:"previous_count"`
		}
	}
}

func fleetReportJSON(tb testing.TB, args ...string) fleetReport {
	tb.Helper()
	code, out, errs := run(tb, "", append([]string{"report", "--format", "json", "--top", "1000"}, args...)...)
	if code != 0 {
		tb.Fatalf("report %v: exit %d: %s", args, code, errs)
	}
	var r fleetReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		tb.Fatalf("report %v: %v\n%s", args, err, out)
	}
	return r
}

// TestReport_PrometheusFleet is the path a fleet takes, end to end: three
// daemons with different traffic, one with history from before the
// window, one restarted, one stopped; a real Prometheus scraping them and
// remote-writing to a real VictoriaMetrics; `report --prometheus` against
// each engine equals the merged report of the three databases.
func TestReport_PrometheusFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three daemons, Prometheus and VictoriaMetrics")
	}
	for _, bin := range []string{"prometheus", "victoria-metrics"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed (Debian: apt-get install prometheus victoria-metrics); .ci/run installs it", bin)
		}
	}
	a, b, c := newFleetHost(t, "log-a", 1), newFleetHost(t, "log-b", 2), newFleetHost(t, "log-c", 5)
	hosts := []*fleetHost{a, b, c}

	// log-a has run before the window: its counters, resumed from its
	// database, carry lines dated two hours ago when first scraped.
	a.write(t, 400, time.Now().Add(-2*time.Hour), true)
	a.start(t)
	waitFor(t, "log-a's history", func() bool { c := readCounts(t, a.db); return c.requests+c.malformed == int64(a.lines) })
	from := time.Now()

	prom, vm := startFleetEngines(t, hosts)
	fleetWaitScraped(t, prom, a)
	b.start(t)
	c.start(t)
	now := func() time.Time { return time.Now() }
	a.write(t, 300, now(), false)
	b.write(t, 200, now(), false)
	c.write(t, 150, now(), false)
	for _, h := range hosts {
		fleetWaitScraped(t, prom, h)
	}
	// log-b restarts on its database: lines arrive while it is down, its
	// counters resume from the database's lifetime totals.
	b.d.stop(t)
	b.write(t, 120, now(), false)
	b.start(t)
	a.write(t, 100, now(), false)
	c.write(t, 80, now(), false)
	for _, h := range hosts {
		fleetWaitScraped(t, prom, h)
	}
	// log-c stops for good; the others go on.
	c.d.stop(t)
	a.write(t, 90, now(), false)
	b.write(t, 60, now(), false)
	fleetWaitScraped(t, prom, a)
	fleetWaitScraped(t, prom, b)
	to := time.Now()
	total := float64(a.lines + b.lines + c.lines)
	q := `sum(last_over_time({__name__=~"apierr_requests_total|apierr_malformed_lines_total"}[10m]))`
	waitFor(t, "VictoriaMetrics to hold what Prometheus scraped", func() bool {
		v, err := fleetEngineValue(vm, q, to)
		return err == nil && v == total
	})

	// The databases: their buckets are minutes, and no line is dated in
	// the margins the rounding adds (log-a's history is two hours older).
	dbArgs := []string{"--db", a.db, "--db", b.db, "--db", c.db,
		"--from", from.UTC().Truncate(time.Minute).Format(time.RFC3339), "--to", to.UTC().Truncate(time.Minute).Add(time.Minute).Format(time.RFC3339)}
	dbs := fleetReportJSON(t, append(dbArgs, "--by", "host")...)
	inWindow := int64(a.lines - 400 + b.lines + c.lines)
	if dbs.Totals.Requests+dbs.Totals.Malformed != inWindow {
		t.Fatalf("the databases hold %d requests and %d malformed lines in the window, want %d lines", dbs.Totals.Requests, dbs.Totals.Malformed, inWindow)
	}
	for engine, u := range map[string]string{"prometheus": prom, "victoria-metrics": vm} {
		t.Run(engine, func(t *testing.T) {
			promArgs := []string{"--prometheus", u, "--from", from.UTC().Format(time.RFC3339Nano), "--to", to.UTC().Format(time.RFC3339Nano)}
			got := fleetReportJSON(t, append(promArgs, "--by", "host")...)
			if got.Source == nil || got.Source.Kind != "prometheus" {
				t.Errorf("source %+v, want prometheus", got.Source)
			}
			within := func(what string, g, w int64, tol float64) {
				if math.Abs(float64(g-w)) > tol*float64(w) {
					t.Errorf("%s: %d from the engine, %d from the databases (more than %.1f%% apart)", what, g, w, tol*100)
				}
			}
			within("requests", got.Totals.Requests, dbs.Totals.Requests, 0.005)
			within("errors", got.Totals.Errors, dbs.Totals.Errors, 0.005)
			within("malformed", got.Totals.Malformed, dbs.Totals.Malformed, 0.005)
			// Every (vendor, code) row within 1%, over the fleet and on
			// each host (--by host), and each host's total within 0.5%.
			type row struct{ vendor, code string }
			type counts struct{ got, want int64 }
			compareRows := func(what string, got, want map[row]int64) {
				rows := map[row]counts{}
				var gotTotal, wantTotal int64
				for k, n := range got {
					rows[k] = counts{n, want[k]}
					gotTotal += n
				}
				for k, n := range want {
					rows[k] = counts{got[k], n}
					wantTotal += n
				}
				var names []row
				for k := range rows {
					names = append(names, k)
				}
				sort.Slice(names, func(i, j int) bool { return names[i].vendor+" "+names[i].code < names[j].vendor+" "+names[j].code })
				for _, k := range names {
					within(what+k.vendor+" "+k.code, rows[k].got, rows[k].want, 0.01)
				}
				within(what+"errors", gotTotal, wantTotal, 0.005)
			}
			failures := func(r fleetReport) map[row]int64 {
				m := map[row]int64{}
				for _, f := range r.Failures {
					m[row{f.Vendor, f.Code}] += f.Count
				}
				return m
			}
			compareRows("", failures(got), failures(dbs))
			groups := func(r fleetReport) map[string]map[row]int64 {
				m := map[string]map[row]int64{}
				for _, g := range r.Groups {
					m[g.Key] = map[row]int64{}
					for _, f := range g.Failures {
						m[g.Key][row{f.Vendor, f.Code}] += f.Count
						if f.PreviousCount != 0 {
							t.Errorf("--by host %s: %s %s previous count %d, want 0 (nothing before the window)", g.Key, f.Vendor, f.Code, f.PreviousCount)
						}
					}
				}
				return m
			}
			gotGroups, wantGroups := groups(got), groups(dbs)
			if len(wantGroups) != 3 || len(gotGroups) != len(wantGroups) {
				t.Errorf("--by host: %d groups from the engine, %d from the databases, want 3", len(gotGroups), len(wantGroups))
			}
			for h, want := range wantGroups {
				if gotGroups[h] == nil {
					t.Errorf("--by host: no group for %s from the engine", h)
				}
				compareRows("--by host "+h+": ", gotGroups[h], want)
			}
			hostRows := map[string][2]int64{}
			for _, h := range got.Hosts {
				hostRows[h.Host] = [2]int64{h.Requests, h.Errors}
			}
			for _, h := range dbs.Hosts {
				g, ok := hostRows[h.Host]
				if !ok {
					t.Errorf("host %s in the databases' report, not in the engine's (%v)", h.Host, hostRows)
					continue
				}
				within(h.Host+" requests", g[0], h.Requests, 0.01)
				within(h.Host+" errors", g[1], h.Errors, 0.01)
			}
			if len(got.Hosts) != len(dbs.Hosts) || len(dbs.Hosts) != 3 {
				t.Errorf("hosts: %d from the engine, %d from the databases, want 3", len(got.Hosts), len(dbs.Hosts))
			}
			// The other formats show the hosts as the databases' do.
			for _, format := range []string{"table", "markdown", "csv", "html"} {
				code, out, errs := run(t, "", append([]string{"report", "--format", format, "--top", "1000", "--by", "host"}, promArgs...)...)
				_, dbOut, _ := run(t, "", append([]string{"report", "--format", format, "--top", "1000", "--by", "host"}, dbArgs...)...)
				if code != 0 {
					t.Fatalf("--format %s --by host: exit %d: %s", format, code, errs)
				}
				for _, h := range hosts {
					for _, want := range []string{"Failures on host " + h.name, "FAILURES ON HOST " + strings.ToUpper(h.name), h.name + " ("} {
						if strings.Contains(dbOut, want) != strings.Contains(out, want) {
							t.Errorf("--format %s --by host: %q in the databases' report %v, in the engine's %v", format, want, strings.Contains(dbOut, want), strings.Contains(out, want))
						}
					}
				}
				if format == "csv" && strings.Count(out, "\n") != strings.Count(dbOut, "\n") {
					t.Errorf("--format csv: %d lines from the engine, %d from the databases", strings.Count(out, "\n"), strings.Count(dbOut, "\n"))
				}
			}
			// The counters carry no service label: --by service says so.
			code, _, errs := run(t, "", append([]string{"report", "--by", "service"}, promArgs...)...)
			if code != 1 || !strings.Contains(errs, "carry no service label") || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
				t.Errorf("--by service: exit %d, %q; want 1 and one line saying the counters carry no service label", code, errs)
			}
			t.Logf("%d requests, %d errors, %d malformed, %d failure rows, %d host groups", got.Totals.Requests, got.Totals.Errors, got.Totals.Malformed, len(got.Failures), len(got.Groups))
		})
	}
}
