package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// target is a daemon's /metrics as a scrape sees it: counters the test
// sets, a process start time that changes on restart, and a build_info
// naming the host. Scrapes are counted so that the test waits for them
// instead of sleeping.
type target struct {
	host string
	addr string
	srv  *http.Server

	mu       sync.Mutex
	counters map[string]float64 // `name{labels}` -> value
	start    float64
	down     bool
	scrapes  int
	scraped  chan struct{} // closed and replaced at each served scrape
}

func startTarget(tb testing.TB, host string, start float64) *target {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	t := &target{host: host, addr: ln.Addr().String(), counters: map[string]float64{}, start: start, scraped: make(chan struct{})}
	t.srv = &http.Server{Handler: http.HandlerFunc(t.serve)}
	go t.srv.Serve(ln)
	tb.Cleanup(func() { t.srv.Close() })
	return t
}

func (t *target) serve(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.down {
		http.Error(w, "restarting", http.StatusServiceUnavailable)
	} else {
		var b strings.Builder
		names := make([]string, 0, len(t.counters))
		for k := range t.counters {
			names = append(names, k)
		}
		sort.Strings(names)
		typed := map[string]bool{}
		for _, k := range names {
			name := k[:strings.IndexByte(k+"{", '{')]
			if strings.HasSuffix(name, "_bucket") {
				name = strings.TrimSuffix(name, "_bucket")
				if !typed[name] {
					fmt.Fprintf(&b, "# TYPE %s histogram\n", name)
				}
			} else if !typed[name] {
				fmt.Fprintf(&b, "# TYPE %s counter\n", name)
			}
			typed[name] = true
			fmt.Fprintf(&b, "%s %g\n", k, t.counters[k])
		}
		fmt.Fprintf(&b, "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %g\n", t.start)
		fmt.Fprintf(&b, "# TYPE apierr_build_info gauge\napierr_build_info{host=%q,version=\"test\"} 1\n", t.host)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		io.WriteString(w, b.String())
	}
	t.scrapes++
	close(t.scraped)
	t.scraped = make(chan struct{})
}

// add increments counters, as the daemon does when it commits.
func (t *target) add(inc map[string]float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, v := range inc {
		t.counters[k] += v
	}
}

// restart is a new process: counters from zero, a new start time.
func (t *target) restart(start float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counters, t.start, t.down = map[string]float64{}, start, false
}

// resume is a new process as the daemon starts one: a new start time,
// the counters resumed from the database's lifetime totals.
func (t *target) resume(start float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.start, t.down = start, false
}

func (t *target) setDown(down bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.down = down
}

// waitScrapes waits until each engine (n scrapers) has scraped the target
// k more times from now: at least k*n scrapes served after the call.
func (t *target) waitScrapes(tb testing.TB, n int) {
	tb.Helper()
	t.mu.Lock()
	want := t.scrapes + n
	t.mu.Unlock()
	deadline := time.After(20 * time.Second)
	for {
		t.mu.Lock()
		done, ch := t.scrapes >= want, t.scraped
		t.mu.Unlock()
		if done {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			tb.Fatalf("target %s: no scrape within 20s", t.host)
		}
	}
}

func freePort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func scrapeConfig(targets []*target) string {
	var addrs []string
	for _, t := range targets {
		addrs = append(addrs, fmt.Sprintf("%q", t.addr))
	}
	return fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: apierr
    static_configs:
      - targets: [%s]
`, strings.Join(addrs, ", "))
}

// startEngine starts a real engine binary on loopback and waits until it
// answers ready. It returns the engine's query URL, or "" when the binary
// is not installed.
func startEngine(tb testing.TB, kind string, targets []*target) string {
	tb.Helper()
	bin, err := exec.LookPath(kind)
	if err != nil {
		tb.Logf("%s not installed: skipped", kind)
		return ""
	}
	dir := tb.TempDir()
	cfg := filepath.Join(dir, "scrape.yml")
	if err := os.WriteFile(cfg, []byte(scrapeConfig(targets)), 0o600); err != nil {
		tb.Fatal(err)
	}
	addr := freePort(tb)
	var args []string
	ready := "/-/ready"
	switch kind {
	case "prometheus":
		args = []string{"--config.file=" + cfg, "--storage.tsdb.path=" + filepath.Join(dir, "data"),
			"--web.listen-address=" + addr, "--log.level=warn"}
	case "victoria-metrics":
		args = []string{"-httpListenAddr=" + addr, "-storageDataPath=" + filepath.Join(dir, "data"),
			"-promscrape.config=" + cfg, "-promscrape.config.strictParse=false",
			"-search.latencyOffset=0s", "-search.disableCache", "-loggerLevel=ERROR"}
		ready = "/health"
	}
	cmd := exec.Command(bin, args...)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	url := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url + ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		select {
		case err := <-exited:
			tb.Fatalf("%s exited: %v: %s", kind, err, stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s not ready within 20s: %s", kind, stderr.String())
		}
	}
}

// errContext is a context for the engines' queries.
func errContext(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

var errNotYet = errors.New("not yet")
