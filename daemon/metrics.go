package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apierr/apierr/storage"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the daemon's Prometheus metrics (the README's Metrics). Counts
// are added after each commit from what it wrote, with the database's
// caps on label values, so /metrics agrees with the database and stays
// bounded. They live as long as the process: a SIGHUP keeps them.
type metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	errors      *prometheus.CounterVec
	malformed   *prometheus.CounterVec
	skipped     *prometheus.CounterVec
	lines       prometheus.Counter
	bytes       prometheus.Counter
	commit      prometheus.Histogram
	filesTailed func() int

	lastOK    atomic.Int64 // unix nanoseconds of the last successful commit
	failing   atomic.Int64 // unix nanoseconds of the first failure since, 0 if none
	lastError atomic.Value // string
}

func newMetrics(filesTailed func() int) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apierr_requests_total", Help: "Requests read from the logs, by vendor (committed).",
		}, []string{"vendor"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apierr_errors_total", Help: "API errors, by vendor, code, category and retry verdict (committed).",
		}, []string{"vendor", "code", "category", "retry"}),
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
	}
	m.lastOK.Store(time.Now().UnixNano())
	m.reg.MustRegister(m.requests, m.errors, m.malformed, m.skipped, m.lines, m.bytes, m.commit,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "apierr_files_tailed", Help: "Input files being read now.",
		}, func() float64 { return float64(m.filesTailed()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// add adds committed counts.
func (m *metrics) add(s storage.Summary) {
	for v, n := range s.Requests {
		m.requests.WithLabelValues(v).Add(float64(n))
	}
	for l, n := range s.Errors {
		m.errors.WithLabelValues(l.Vendor, l.Code, l.Category, l.Retry).Add(float64(n))
	}
	for r, n := range s.Malformed {
		m.malformed.WithLabelValues(r).Add(float64(n))
	}
	for r, n := range s.Skipped {
		m.skipped.WithLabelValues(r).Add(float64(n))
	}
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

// handler serves /metrics and /healthz; health says whether the daemon
// tails and commits, and if not, why.
func (m *metrics) handler(health func() (bool, string)) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		ok, msg := health()
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintln(w, msg)
	})
	return mux
}

// serve serves h on ln until ctx is done.
func serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	wg.Wait()
	return nil
}
