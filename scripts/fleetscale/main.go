// Command fleetscale serves scripts/fleet-scale.sh: it writes a simulated
// fleet's counters (what each daemon's /metrics would have shown at every
// scrape) and times package fleet's read of them from an engine.
//
//	fleetscale gen -hosts 100 -hours 24 -interval 15s -format openmetrics|prometheus > fleet.txt
//	fleetscale read -url http://127.0.0.1:9090 -hours 24 -end UNIX
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"os"
	"runtime/pprof"
	"time"

	"github.com/apierr/apierr/fleet"
	"github.com/apierr/apierr/report"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: fleetscale gen|read [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "read":
		err = read(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleetscale:", err)
		os.Exit(1)
	}
}

// series is one counter of one host and how fast it grows per scrape.
type series struct {
	name, labels string
	rate         float64
	v            float64
}

var vendors = []string{"stripe", "shopify", "mollie", "twilio", "github"}

var codes = []struct{ code, category, retry string }{
	{"card_declined", "business_rule", "no"}, {"rate_limit", "rate_limit", "after"}, {"http_503", "unavailable", "backoff"},
	{"http_401", "auth", "no"}, {"http_404", "not_found", "no"}, {"http_500", "server", "backoff"},
	{"resource_missing", "not_found", "no"}, {"idempotency_error", "conflict", "no"}, {"http_429", "rate_limit", "after"},
	{"parameter_invalid", "validation", "no"}, {"http_502", "upstream", "backoff"}, {"http_504", "timeout", "backoff"},
}

var buckets = []string{"0.001", "0.002", "0.004", "0.008", "0.016", "0.032", "0.064", "0.128", "0.256", "0.512", "1.024", "2.048", "4.096", "8.192", "+Inf"}

// hostSeries is one host's counters, about what a daemon with these
// vendors exposes: requests, errors per (vendor, code), the latency
// histogram, malformed and skipped lines.
func hostSeries(r *rand.Rand) []*series {
	var out []*series
	for _, v := range vendors {
		req := 1 + r.Float64()*20
		out = append(out, &series{name: "apierr_requests_total", labels: fmt.Sprintf(`vendor="%s"`, v), rate: req})
		for _, c := range codes {
			out = append(out, &series{name: "apierr_errors_total", rate: req * r.Float64() * 0.02,
				labels: fmt.Sprintf(`category="%s",code="%s",retry="%s",vendor="%s"`, c.category, c.code, c.retry, v)})
		}
		share := 0.0
		for _, le := range buckets {
			share = min(1, share+r.Float64()*0.3)
			if le == "+Inf" {
				share = 1
			}
			out = append(out, &series{name: "apierr_request_duration_seconds_bucket", labels: fmt.Sprintf(`le="%s",vendor="%s"`, le, v), rate: req * share})
		}
	}
	for _, reason := range []string{"json", "truncated"} {
		out = append(out, &series{name: "apierr_malformed_lines_total", labels: fmt.Sprintf(`reason="%s"`, reason), rate: r.Float64() * 0.1})
	}
	out = append(out, &series{name: "apierr_skipped_lines_total", labels: `reason="health_check"`, rate: r.Float64()})
	return out
}

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	hosts := fs.Int("hosts", 100, "hosts")
	hours := fs.Float64("hours", 24, "hours of counters, ending at -end")
	interval := fs.Duration("interval", 15*time.Second, "scrape interval")
	end := fs.Int64("end", time.Now().Unix(), "end, unix seconds")
	format := fs.String("format", "openmetrics", "openmetrics (seconds, for promtool) or prometheus (milliseconds, for VictoriaMetrics' import)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	steps := int(time.Duration(*hours*float64(time.Hour)) / *interval)
	start := time.Unix(*end, 0).Add(-time.Duration(steps) * *interval)
	r := rand.New(rand.NewSource(1))
	fleet := make([][]*series, *hosts)
	for h := range fleet {
		fleet[h] = hostSeries(r)
	}
	ts := func(t time.Time) string {
		if *format == "openmetrics" {
			return fmt.Sprintf("%d", t.Unix())
		}
		return fmt.Sprintf("%d", t.UnixMilli())
	}
	// OpenMetrics wants each family's samples together and each series'
	// samples in time order: families, then hosts, then time.
	families := []string{"apierr_build_info", "process_start_time_seconds"}
	for _, s := range fleet[0] {
		if families[len(families)-1] != s.name {
			families = append(families, s.name)
		}
	}
	seen := map[string]bool{}
	for _, fam := range families {
		if seen[fam] {
			continue
		}
		seen[fam] = true
		if *format == "openmetrics" {
			switch fam {
			case "apierr_build_info", "process_start_time_seconds":
				fmt.Fprintf(w, "# TYPE %s gauge\n", fam)
			case "apierr_request_duration_seconds_bucket":
				fmt.Fprintf(w, "# TYPE apierr_request_duration_seconds histogram\n")
			default:
				fmt.Fprintf(w, "# TYPE %s counter\n", fam[:len(fam)-len("_total")])
			}
		}
		for h, list := range fleet {
			id := fmt.Sprintf(`instance="log%03d:9120",job="apierr"`, h)
			for _, s := range list {
				if s.name != fam && fam != "apierr_build_info" && fam != "process_start_time_seconds" {
					continue
				}
				if fam == "apierr_build_info" || fam == "process_start_time_seconds" {
					for i := 0; i <= steps; i++ {
						t := start.Add(time.Duration(i) * *interval)
						if fam == "apierr_build_info" {
							fmt.Fprintf(w, "apierr_build_info{host=\"log%03d\",%s,version=\"scale\"} 1 %s\n", h, id, ts(t))
						} else {
							fmt.Fprintf(w, "process_start_time_seconds{%s} %d %s\n", id, start.Unix()-3600, ts(t))
						}
					}
					break
				}
				v := 0.0
				for i := 0; i <= steps; i++ {
					v += s.rate
					fmt.Fprintf(w, "%s{%s,%s} %d %s\n", s.name, s.labels, id, int64(v), ts(start.Add(time.Duration(i)**interval)))
				}
			}
		}
	}
	if *format == "openmetrics" {
		fmt.Fprintln(w, "# EOF")
	}
	n := *hosts * (len(fleet[0]) + 2)
	fmt.Fprintf(os.Stderr, "series: %d, samples: %d\n", n, n*(steps+1))
	return nil
}

func read(args []string) error {
	fs := flag.NewFlagSet("read", flag.ContinueOnError)
	url := fs.String("url", "", "engine URL")
	hours := fs.Float64("hours", 24, "window, hours before -end")
	end := fs.Int64("end", time.Now().Unix(), "end, unix seconds")
	byHost := fs.Bool("by-host", false, "group the failures by host")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the read to `FILE`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	to := time.Unix(*end, 0)
	w := report.Window{From: to.Add(-time.Duration(*hours * float64(time.Hour))), To: to}
	prev := report.Window{From: w.From.Add(-w.To.Sub(w.From)), To: w.From}
	p := fleet.NewPrometheus(*url)
	p.Timeout = 5 * time.Minute
	if os.Getenv("FLEETSCALE_TRACE") != "" {
		p.Trace = func(q string, took time.Duration) { fmt.Fprintf(os.Stderr, "%8.3fs %s\n", took.Seconds(), q) }
	}
	t0 := time.Now()
	fl, err := p.Read(context.Background(), w, prev, w.To.Sub(w.From)/24, fleet.Filter{}, nil)
	if err != nil {
		return err
	}
	opts := report.Options{TrendStep: w.To.Sub(w.From) / 24}
	if *byHost {
		opts.By = report.ByHost
	}
	r := report.Build(w, prev, fl.Sources, opts)
	fl.Apply(r)
	if err := report.Render(io.Discard, r, report.JSON, false); err != nil {
		return err
	}
	fmt.Printf("report: %.2fs, %d hosts, %d requests, %d errors, %d failure groups, %d host groups\n",
		time.Since(t0).Seconds(), len(r.Hosts), r.Totals.Requests, r.Totals.Errors, len(r.Failures), len(r.Groups))
	return nil
}
