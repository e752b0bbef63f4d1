package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// hostileTraffic is a vendor error whose message tries to run a script,
// reverse the text and colour a terminal, dated inside the test traffic.
func hostileTraffic() string {
	return `{"ts":"` + trafficStart.Add(30*time.Minute).Format(time.RFC3339) + `","method":"GET","url":"https://api.evil.example/x","status":500,` +
		`"response_body":"{\"error\":{\"code\":\"evil\",\"message\":\"<script>alert(1)</script>\\u001b[31m\\u202eexe.txt\"}}"}`
}

// trafficLog is test traffic lines [from, to), then the hostile line.
func trafficLog(from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		b.WriteString(testTraffic(i) + "\n")
	}
	return b.String() + hostileTraffic() + "\n"
}

// liveReport is the part of /api/report these tests read.
type liveReport struct {
	Totals   struct{ Requests, Errors int64 }
	Failures []struct{ Vendor, Code string }
	Missing  []struct{ Source, Error string }
	Source   *struct {
		Kind string
		URLs []string
	}
}

// waitCommitted waits until the daemon at addr serves its whole log: the
// hostile line, the log's last, is committed.
func waitCommitted(tb testing.TB, addr string) {
	tb.Helper()
	waitFor(tb, "the daemon's log to be committed", func() bool {
		code, body := get(tb, "http://"+addr+"/api/report?top=0")
		var r liveReport
		if code != 200 || json.Unmarshal([]byte(body), &r) != nil {
			return false
		}
		for _, f := range r.Failures {
			if f.Vendor == "api.evil.example" {
				return true
			}
		}
		return false
	})
}

// recordingProxy serves the daemon at addr through a proxy that records
// every path the browser asks for.
func recordingProxy(tb testing.TB, addr string) (base string, requests func() []string) {
	tb.Helper()
	var mu sync.Mutex
	var seen []string
	target, _ := url.Parse("http://" + addr)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.RequestURI())
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// TestLivePage_Browser: `apierr run` serves its page at /, and a real
// browser loads it: no request leaves the page, the charts are drawn, the
// hostile message shows as text, and the daemon's headers forbid the rest.
func TestLivePage_Browser(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a daemon and a browser")
	}
	d, addr, _ := startMetricsDaemon(t, trafficLog(0, 3000), "")
	waitCommitted(t, addr)

	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Content-Security-Policy"); got != pageCSP {
		t.Errorf("Content-Security-Policy=%q, want %q", got, pageCSP)
	}
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options=%q", got)
	}

	base, requests := recordingProxy(t, addr)
	shot := filepath.Join(artifactDir(t), "live-page.png")
	dom := browse(t, base+"/?since=24h", shot)
	checkPage(t, dom, "&lt;script&gt;alert(1)&lt;/script&gt;")
	if !strings.Contains(dom, "reloads every 1m") {
		t.Error("the page does not say how often it reloads")
	}
	for _, p := range requests() {
		if p != "/?since=24h" {
			t.Errorf("the page made a request for %s", p)
		}
	}
	t.Logf("screenshot: %s", shot)
	if strings.Contains(d.out.String(), "level=ERROR") {
		t.Errorf("the daemon logged errors:\n%s", d.out)
	}
}

// runEnv runs apierr in-process with an environment.
func runEnv(tb testing.TB, env map[string]string, args ...string) (code int, stdout, stderr string) {
	tb.Helper()
	var out, errb bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	code = m.ExitCode(m.Run(context.Background(), args))
	return code, out.String(), errb.String()
}

// withoutSource drops what says where a report came from, the one part
// in which a --remote report and a --db report of the same data differ.
func withoutSource(tb testing.TB, s string) string {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		tb.Fatalf("not JSON: %v\n%s", err, s)
	}
	delete(m, "source")
	delete(m, "missing")
	b, _ := json.MarshalIndent(m, "", "  ")
	return string(b)
}

// TestReport_Remote: three running daemons with different traffic, read
// with --remote, report exactly what their three databases report with
// --db; a daemon that stops is named as missing; bad input is one line.
func TestReport_Remote(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: three daemons")
	}
	type host struct {
		d        *process
		addr, db string
	}
	var hosts []host
	for _, r := range [][2]int{{0, 1200}, {800, 2600}, {2600, 3100}} {
		d, addr, db := startMetricsDaemon(t, trafficLog(r[0], r[1]), "")
		hosts = append(hosts, host{d, addr, db})
	}
	var remotes, dbs []string
	for _, h := range hosts {
		waitCommitted(t, h.addr)
		remotes = append(remotes, "--remote", "http://"+h.addr)
		dbs = append(dbs, "--db", h.db)
	}
	window := []string{"--from", trafficStart.Add(-time.Hour).Format(time.RFC3339), "--to", trafficStart.Add(2 * time.Hour).Format(time.RFC3339), "--top", "0"}

	for _, f := range []string{"json", "markdown"} {
		code, fromDB, errs := run(t, "", append(append([]string{"report", "--format", f}, window...), dbs...)...)
		if code != 0 {
			t.Fatalf("report --db: exit %d: %s", code, errs)
		}
		code, fromRemote, errs := run(t, "", append(append([]string{"report", "--format", f}, window...), remotes...)...)
		if code != 0 || errs != "" {
			t.Fatalf("report --remote: exit %d: %s", code, errs)
		}
		if f == "json" {
			var r liveReport
			json.Unmarshal([]byte(fromRemote), &r)
			if r.Source == nil || r.Source.Kind != "remote" || len(r.Source.URLs) != 3 || len(r.Missing) != 0 || r.Totals.Requests == 0 {
				t.Errorf("source=%+v missing=%+v totals=%+v", r.Source, r.Missing, r.Totals)
			}
			fromDB, fromRemote = withoutSource(t, fromDB), withoutSource(t, fromRemote)
		}
		if fromDB != fromRemote {
			t.Errorf("%s: the --remote report differs from the --db report of the same databases:\n%s\nwant\n%s", f, fromRemote, fromDB)
		}
	}

	t.Run("Vendor", func(t *testing.T) {
		args := append(append([]string{"report", "--format", "json", "--vendor", "picqer"}, window...), remotes...)
		code, out, errs := run(t, "", args...)
		_, want, _ := run(t, "", append(append([]string{"report", "--format", "json", "--vendor", "picqer"}, window...), dbs...)...)
		if code != 0 || withoutSource(t, out) != withoutSource(t, want) {
			t.Errorf("--vendor picqer: exit %d %s: --remote and --db differ", code, errs)
		}
	})

	t.Run("Credentials", func(t *testing.T) {
		// A daemon behind TLS and basic auth, as web_config serves it: the
		// CA from --remote-ca, the password from the environment.
		target, _ := url.Parse("http://" + hosts[0].addr)
		proxy := httputil.NewSingleHostReverseProxy(target)
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != "reader" || p != "s3cret" {
				http.Error(w, "Unauthorized", http.StatusUnauthorized)
				return
			}
			proxy.ServeHTTP(w, r)
		}))
		defer srv.Close()
		ca := filepath.Join(t.TempDir(), "ca.pem")
		os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)
		args := append([]string{"report", "--format", "json", "--remote", srv.URL, "--remote-ca", ca, "--remote-user", "reader"}, window...)
		code, out, errs := runEnv(t, map[string]string{"APIERR_PW": "s3cret"}, append(args, "--remote-password-env", "APIERR_PW")...)
		_, want, _ := run(t, "", append([]string{"report", "--format", "json", "--db", hosts[0].db}, window...)...)
		if code != 0 || withoutSource(t, out) != withoutSource(t, want) {
			t.Errorf("over TLS with basic auth: exit %d: %s", code, errs)
		}
		code, _, errs = runEnv(t, map[string]string{"APIERR_PW": "wrong"}, append(args, "--remote-password-env", "APIERR_PW")...)
		if code != 1 || !strings.Contains(errs, "401") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("a wrong password: exit %d, stderr %q; want 1 and one line", code, errs)
		}
		code, _, errs = run(t, "", "report", "--remote", srv.URL, "--remote-user", "reader")
		if code != 1 || !strings.Contains(errs, "certificate") {
			t.Errorf("an unknown CA: exit %d, stderr %q; want 1", code, errs)
		}
	})

	t.Run("Missing", func(t *testing.T) {
		hosts[2].d.stop(t)
		args := append(append([]string{"report"}, window...), remotes...)
		code, out, errs := run(t, "", append(args, "--format", "json")...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		var r liveReport
		json.Unmarshal([]byte(out), &r)
		gone := "http://" + hosts[2].addr
		if len(r.Missing) != 1 || r.Missing[0].Source != gone || r.Missing[0].Error == "" {
			t.Errorf("missing=%+v, want %s", r.Missing, gone)
		}
		if !strings.Contains(errs, gone) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("stderr %q does not name the missing daemon in one line", errs)
		}
		_, want, _ := run(t, "", append(append([]string{"report", "--format", "json"}, window...), dbs[:4]...)...)
		if withoutSource(t, out) != withoutSource(t, want) {
			t.Error("the report of the daemons that answered differs from their databases' report")
		}
		code, out, _ = run(t, "", append(args, "--format", "markdown")...)
		if first, _, _ := strings.Cut(out, "\n"); code != 0 || !strings.Contains(first, "Missing") || !strings.Contains(first, gone) {
			t.Errorf("exit %d; the first line %q does not name the missing daemon", code, first)
		}
		if code, _, _ := run(t, "", append(args, "--format", "json", "--fail-if", "missing>0")...); code != 3 {
			t.Errorf("--fail-if missing>0 with a daemon missing: exit %d, want 3", code)
		}

		// A daemon that accepts the connection and never answers is
		// missing after --timeout.
		hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
		defer hang.Close()
		start := time.Now()
		code, out, errs = run(t, "", append(append([]string{"report", "--format", "json", "--timeout", "300ms", "--remote", hang.URL}, window...), remotes[:2]...)...)
		json.Unmarshal([]byte(out), &r)
		if code != 0 || len(r.Missing) != 1 || r.Missing[0].Source != hang.URL || r.Missing[0].Error != "no answer within 300ms" {
			t.Errorf("a daemon that does not answer: exit %d, missing %+v, stderr %q", code, r.Missing, errs)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("the report took %s with --timeout 300ms", took)
		}
	})

	t.Run("BadInput", func(t *testing.T) {
		notJSON := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") }))
		defer notJSON.Close()
		notFound := httptest.NewServer(http.NotFoundHandler())
		defer notFound.Close()
		var authz string
		token := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			authz = r.Header.Get("Authorization")
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
		}))
		defer token.Close()
		tokenFile := filepath.Join(t.TempDir(), "token")
		os.WriteFile(tokenFile, []byte("tok-123\n"), 0o600)
		for _, tc := range []struct {
			name string
			args []string
			code int
			want string
		}{
			{"Unreachable", []string{"--remote", "http://" + hosts[2].addr}, 1, "no --remote daemon answered"},
			{"NotJSON", []string{"--remote", notJSON.URL}, 1, "not apierr's report rows"},
			{"NotADaemon", []string{"--remote", notFound.URL}, 1, "404"},
			{"NotAURL", []string{"--remote", "host:9464"}, 1, "want an http:// or https:// URL"},
			{"TokenFile", []string{"--remote", notJSON.URL, "--remote-token-file", "/nonexistent/token"}, 1, "read the --remote bearer token"},
			{"TokenEnv", []string{"--remote", notJSON.URL, "--remote-token-env", "NO_SUCH_VAR"}, 1, "NO_SUCH_VAR is empty or not set"},
			{"Refused", []string{"--remote", token.URL, "--remote-token-file", tokenFile}, 1, "401"},
			{"WithDB", []string{"--remote", notJSON.URL, "--db", hosts[0].db}, 2, "not both"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, _, errs := run(t, "", append([]string{"report", "--timeout", "5s"}, tc.args...)...)
				if code != tc.code || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
					t.Errorf("exit %d, stderr %q; want %d and one line with %q", code, errs, tc.code, tc.want)
				}
				if strings.Contains(errs, "*") || strings.Contains(errs, "goroutine") {
					t.Errorf("stderr names a Go type or a stack: %q", errs)
				}
			})
		}
		if authz != "Bearer tok-123" {
			t.Errorf("Authorization=%q, want the token of the file", authz)
		}
	})
}
