// Package fleet reads a fleet's apierr counters from a metrics engine with
// the Prometheus HTTP query API (Prometheus, Thanos, Mimir, VictoriaMetrics)
// and turns them into the rows package report builds reports from.
//
// Counts are exact deltas of the daemons' counters over a window, not
// PromQL's increase(), which extrapolates: the counter's last value at or
// before the window's end minus its last value at or before its start,
// with series born inside the window starting from 0, a restarted
// daemon's counters continuing where the old process left them (they
// resume from the database's lifetime totals; a counter that dropped was
// reset and counts from 0), and a daemon that stopped counting up to its
// last scrape. A host first scraped inside the window by a process that
// started before it counts from that first scrape: its first values are
// history, not the window's. The fleet is read with a few instant
// queries whatever its size, with what is not needed per series (latency
// buckets, trends) summed by the engine; only the few instances that
// restarted, stopped or were not scraped at the window's start are read
// one by one.
//
// Fields metrics do not carry (messages, endpoints, first and last seen)
// come from the caller's catalog for known codes, or stay empty.
//
// The package does network I/O to the engine only; it writes nothing and
// keeps no state between reads.
package fleet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// Prometheus reads apierr's counters from one engine. Build it with
// NewPrometheus, adjust the exported fields, then call Read.
type Prometheus struct {
	URL     string        // the engine's base URL (VictoriaMetrics: its root or /prometheus)
	Timeout time.Duration // for a whole Read; 0: none beyond ctx

	// Credentials, already read by the caller from a file or the
	// environment: a bearer token, or basic auth. Never both.
	BearerToken        string
	Username, Password string
	// CAFile, if set, is a PEM file of the CAs the engine's TLS
	// certificate must chain to.
	CAFile string
	// Client, if set, supplies the transport: its Transport carries the
	// requests (with the credentials added) and CAFile is ignored. The
	// timeout is Timeout's, not the client's.
	Client *http.Client

	// Match, if set, is label matchers added to every selector, such as
	// `job="apierr"`, to tell apierr's targets from others.
	Match string
	// Resolution is the step of the subqueries; 0 picks one from the
	// window (a 250th of it, between 1s and 5m).
	Resolution time.Duration

	// Trace, if set, is told each query and how long the engine took.
	Trace func(query string, took time.Duration)

	api v1.API
	raw api.Client // the queries' own decoding (decode.go)
}

// trace reports a query's duration to Trace.
func (p *Prometheus) trace(query string, start time.Time) {
	if p.Trace != nil {
		p.Trace(query, time.Since(start))
	}
}

// NewPrometheus returns a reader for the engine at url with a 10 s timeout.
func NewPrometheus(url string) *Prometheus {
	return &Prometheus{URL: url, Timeout: 10 * time.Second}
}

// client builds the query API client once.
func (p *Prometheus) client() (v1.API, error) {
	if p.api != nil {
		return p.api, nil
	}
	u, err := url.Parse(p.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prometheus URL %q: want http:// or https:// and a host", p.URL)
	}
	if p.BearerToken != "" && (p.Username != "" || p.Password != "") {
		return nil, errors.New("prometheus: give a bearer token or basic auth, not both")
	}
	var rt http.RoundTripper = http.DefaultTransport
	if p.Client != nil && p.Client.Transport != nil {
		rt = p.Client.Transport
	} else if p.CAFile != "" {
		pem, err := os.ReadFile(p.CAFile)
		if err != nil {
			return nil, fmt.Errorf("prometheus CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("prometheus CA file %s: no PEM certificate in it", p.CAFile)
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		rt = t
	}
	c, err := api.NewClient(api.Config{Address: p.URL, RoundTripper: authRoundTripper{p: p, next: rt}})
	if err != nil {
		return nil, fmt.Errorf("prometheus URL %q: %v", p.URL, err)
	}
	p.api, p.raw = v1.NewAPI(c), c
	return p.api, nil
}

// authRoundTripper adds the credentials to each request, as Prometheus'
// own clients do.
type authRoundTripper struct {
	p    *Prometheus
	next http.RoundTripper
}

func (a authRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if a.p.BearerToken == "" && a.p.Username == "" && a.p.Password == "" {
		return a.next.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	if a.p.BearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(a.p.BearerToken))
	} else {
		req.SetBasicAuth(a.p.Username, a.p.Password)
	}
	return a.next.RoundTrip(req)
}

// describe turns an engine or transport error into one line that names
// the engine and says what went wrong, without Go type names.
func (p *Prometheus) describe(ctx context.Context, query string, err error) error {
	var apiErr *v1.Error
	var netErr *net.OpError
	var urlErr *url.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded:
		if p.Timeout <= 0 {
			return fmt.Errorf("prometheus %s: no answer in time", p.URL)
		}
		return fmt.Errorf("prometheus %s: no answer within %s", p.URL, p.Timeout)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("prometheus %s: canceled", p.URL)
	case errors.As(err, &apiErr):
		switch apiErr.Type {
		case v1.ErrBadResponse:
			msg := apiErr.Msg
			if strings.Contains(msg, "invalid character") || strings.Contains(msg, "unexpected end of JSON") {
				msg = "the answer is not JSON"
			}
			return fmt.Errorf("prometheus %s: not a Prometheus query API (%s)", p.URL, oneLine(msg))
		case v1.ErrClient:
			if strings.HasPrefix(apiErr.Msg, "client error: 401") || strings.HasPrefix(apiErr.Msg, "client error: 403") {
				return fmt.Errorf("prometheus %s: access refused (%s): check the credentials", p.URL, strings.TrimPrefix(apiErr.Msg, "client error: "))
			}
			if strings.HasPrefix(apiErr.Msg, "client error: 404") {
				return fmt.Errorf("prometheus %s: not a Prometheus query API (HTTP 404 for /api/v1/query)", p.URL)
			}
		}
		return fmt.Errorf("prometheus %s: query %s refused: %s", p.URL, query, oneLine(apiErr.Msg))
	case errors.As(err, &urlErr) || errors.As(err, &netErr):
		msg := err.Error()
		if urlErr != nil {
			msg = urlErr.Err.Error()
		}
		return fmt.Errorf("prometheus %s: unreachable: %s", p.URL, oneLine(msg))
	}
	return fmt.Errorf("prometheus %s: %s", p.URL, oneLine(err.Error()))
}

// oneLine keeps the first line of a message, cut to 300 bytes.
func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
