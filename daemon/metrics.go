package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apierr/apierr/storage"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/exporter-toolkit/web"
)

// metrics are the daemon's Prometheus metrics (the README's Metrics). Counts
// are added after each commit from what it wrote, with the database's
// caps on label values, so /metrics agrees with the database and stays
// bounded. They live as long as the process: a SIGHUP keeps them.
type metrics struct {
	reg *prometheus.Registry
	// commits is held to add a commit's counts, and shared by a scrape's
	// gathering: a scrape shows a commit's counters all or none, so the
	// requests, errors and durations it shows agree with each other.
	commits     sync.RWMutex
	requests    *prometheus.CounterVec
	errors      *prometheus.CounterVec
	malformed   *prometheus.CounterVec
	skipped     *prometheus.CounterVec
	lines       prometheus.Counter
	bytes       prometheus.Counter
	commit      prometheus.Histogram
	filesTailed func() int
	latency     *latencyCollector // apierr_request_duration_seconds{vendor}
	byService   bool              // requests and errors carry a service label

	lastOK    atomic.Int64 // unix nanoseconds of the last successful commit
	failing   atomic.Int64 // unix nanoseconds of the first failure since, 0 if none
	lastError atomic.Value // string
}

// The most series one host exposes under the default caps (storage's
// DefaultLimits: 1000 vendors no catalog knows, and per vendor 1000 codes
// no catalog knows; values over a cap are counted as "other"; catalog
// vendors and codes are never folded). With V = 17 built-in vendors +
// 1000 + other = 1,018, U = 1000 + other = 1,001 unknown codes per vendor
// and C = 2,445 catalog codes (the built-in catalogs):
//
//	apierr_requests_total{vendor}                    V = 1,018
//	apierr_errors_total{vendor,code,category,retry}  (C + V×U) × p ≈ 1.02 million × p
//	apierr_request_duration_seconds{vendor}          V × 16 = 16,288 (13 buckets, +Inf, _sum, _count)
//	apierr_malformed_lines_total{reason}             under 10 (fixed reasons)
//	apierr_skipped_lines_total{reason}               under 10 (fixed reasons)
//	apierr_build_info, apierr_start_time_seconds, apierr_lines_read_total,
//	apierr_bytes_read_total, apierr_files_tailed     5
//	apierr_commit_duration_seconds                   17
//	go_*, process_*                                  about 50
//
// p is the number of (category, retry) pairs a code is seen with: 1 for a
// catalog code, up to 3 for a status-only or no-response code (rate-limit
// headers; idempotent or not). So the bound is about 1.04 million series
// with p = 1 and 3.1 million in the very worst case, reached only by a log
// that names a thousand unknown hosts with a thousand unknown codes each;
// a host that calls the catalog's vendors exposes a few hundred. Lower
// limits.vendors and limits.codes_per_vendor to lower the bound: it is
// V × U that counts. The caps hold over the database's whole life (storage's
// lifetime_counts), and the counters resume from it, so a restart does not
// reset the bound.
//
// With byService (metrics_service_label), requests and errors carry the
// calling service too: S = limits.services + 2 values at most (the
// services admitted, "other", and "" for none, which Prometheus stores as
// no label), so those two families grow by up to S times. The service cap
// also holds over the database's lifetime, and the counters resume from
// lifetime totals kept per service.
func newMetrics(filesTailed func() int, version, host string, byService bool) *metrics {
	reqLabels, errLabels := []string{"vendor"}, []string{"vendor", "code", "category", "retry"}
	by := ""
	if byService {
		reqLabels, errLabels, by = append(reqLabels, "service"), append(errLabels, "service"), " and calling service"
	}
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apierr_requests_total", Help: "Requests read from the logs, by vendor" + by + " (committed).",
		}, reqLabels),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apierr_errors_total", Help: "API errors, by vendor, code, category and retry verdict" + by + " (committed).",
		}, errLabels),
		malformed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apierr_malformed_lines_total", Help: "Log lines that could not be decoded, by reason (committed).",
		}, []string{"reason"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apierr_skipped_lines_total", Help: "Log lines that are not requests, and requests older than retention, by reason (committed).",
		}, []string{"reason"}),
		lines: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "apierr_lines_read_total", Help: "Log lines read since the process started.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "apierr_bytes_read_total", Help: "Bytes of log lines read since the process started.",
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "apierr_commit_duration_seconds", Help: "Time to commit a batch of counts and positions to SQLite.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		filesTailed: filesTailed,
		latency:     newLatencyCollector(),
		byService:   byService,
	}
	m.lastOK.Store(time.Now().UnixNano())
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "apierr_build_info", Help: "1, labelled with the daemon's version and the host name fleet reports know it by.",
		ConstLabels: prometheus.Labels{"version": version, "host": host},
	})
	info.Set(1)
	start := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "apierr_start_time_seconds", Help: "When the daemon's process started, in seconds since the Unix epoch: a change is a restart.",
	})
	start.Set(float64(processStart.UnixNano()) / 1e9)
	m.reg.MustRegister(m.requests, m.errors, m.malformed, m.skipped, m.lines, m.bytes, m.commit,
		info, start, m.latency,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "apierr_files_tailed", Help: "Input files being read now.",
		}, func() float64 { return float64(m.filesTailed()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// add adds a commit's counts and the call durations of its lines (see
// latencyCollector.commit).
func (m *metrics) add(s storage.Summary, lat Latencies) {
	m.commits.Lock()
	defer m.commits.Unlock()
	m.latency.commit(lat, s.Requests)
	if m.byService {
		for l, n := range s.ServiceRequests {
			m.requests.WithLabelValues(l.Vendor, l.Service).Add(float64(n))
		}
		for l, n := range s.ServiceErrors {
			m.errors.WithLabelValues(l.Vendor, l.Code, l.Category, l.Retry, l.Service).Add(float64(n))
		}
	} else {
		for v, n := range s.Requests {
			m.requests.WithLabelValues(v).Add(float64(n))
		}
		for l, n := range s.Errors {
			m.errors.WithLabelValues(l.Vendor, l.Code, l.Category, l.Retry).Add(float64(n))
		}
	}
	for r, n := range s.Malformed {
		m.malformed.WithLabelValues(r).Add(float64(n))
	}
	for r, n := range s.Skipped {
		m.skipped.WithLabelValues(r).Add(float64(n))
	}
}

// processStart is when the process started, near enough: when the
// package was initialised.
var processStart = time.Now()

// hostAndVersion are build_info's labels: the Server's Host, else the
// machine's name, and its Version, else the module's.
func (s *Server) hostAndVersion() (host, version string) {
	host, version = s.Host, s.Version
	if host == "" {
		host, _ = os.Hostname()
	}
	if version == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			version = bi.Main.Version
		}
	}
	if version == "" || version == "(devel)" {
		version = "devel"
	}
	return host, version
}

// committed records a commit's outcome.
func (m *metrics) committed(d time.Duration, err error) {
	now := time.Now().UnixNano()
	if err != nil {
		m.failing.CompareAndSwap(0, now)
		m.lastError.Store(err.Error())
		return
	}
	m.commit.Observe(d.Seconds())
	m.lastOK.Store(now)
	m.failing.Store(0)
}

// commitHealth says whether commits succeed: not when they have failed
// for longer than stale.
func (m *metrics) commitHealth(stale time.Duration) (bool, string) {
	if f := m.failing.Load(); f != 0 && time.Since(time.Unix(0, f)) > stale {
		msg, _ := m.lastError.Load().(string)
		return false, fmt.Sprintf("commits failing since %s: %s", time.Unix(0, f).UTC().Format(time.RFC3339), msg)
	}
	return true, "ok"
}

// handler serves /metrics and /healthz on mux; health says whether the
// daemon tails and commits, and if not, why.
func (m *metrics) handler(mux *http.ServeMux, health func() (bool, string)) http.Handler {
	gather := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		m.commits.RLock()
		defer m.commits.RUnlock()
		return m.reg.Gather()
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(gather, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ok, msg := health()
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintln(w, msg)
	})
	return mux
}

// serve serves h on ln until ctx is done, with the TLS and basic-auth
// settings of webConfig (a file in the Prometheus exporter-toolkit
// web-config format; empty: plain HTTP, no authentication). The toolkit
// answers a request without valid credentials itself, before h: its 401
// carries only the headers the file's http_server_config.headers name.
func serve(ctx context.Context, ln net.Listener, h http.Handler, webConfig string, log *slog.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	// The toolkit logs each start at info level; ours says it already.
	quiet := log.With("component", "web")
	if !log.Enabled(ctx, slog.LevelDebug) {
		quiet = slog.New(slog.DiscardHandler)
	}
	flags := &web.FlagConfig{WebConfigFile: &webConfig}
	if err := web.Serve(ln, srv, flags, quiet); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	wg.Wait()
	return nil
}
