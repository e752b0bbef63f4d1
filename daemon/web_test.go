package daemon_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apierr/apierr/daemon"
	"github.com/apierr/apierr/report"
	"github.com/apierr/apierr/storage"
	"golang.org/x/crypto/bcrypt"
)

// hostileLine is a vendor error whose message tries to run a script,
// reverse the text and colour a terminal.
var hostileLine = fmt.Sprintf(`{"ts":%q,"method":"GET","url":"https://api.evil.example/x","status":500,"duration_ms":70000,`+
	`"response_body":"{\"error\":{\"code\":\"evil\",\"message\":\"<script>alert(1)</script>\\u001b[31m\\u202eexe.txt\"}}"}`,
	lineTime.Format(time.RFC3339))

// latencyLine is a Piggy call that took ms milliseconds.
func latencyLine(i, ms int) string {
	return fmt.Sprintf(`{"ts":%q,"method":"GET","url":"https://api.piggy.eu/api/v3/oauth/clients/contacts/%d","status":200,"duration_ms":%d,"response_body":"{}"}`,
		lineTime.Format(time.RFC3339), i, ms)
}

// liveServer runs a daemon with its listener on loopback over a log of
// Picqer errors, Piggy calls with durations and a hostile message, and
// returns the listener's address once all of it is committed.
func liveServer(tb testing.TB, webConfig string) (s *daemon.Server, path string) {
	tb.Helper()
	dir := tb.TempDir()
	log := filepath.Join(dir, "app.log")
	var b strings.Builder
	for i := range 20 {
		b.WriteString(line(i) + "\n")
	}
	for i, ms := range []int{3, 40, 40, 700, 2000} {
		b.WriteString(latencyLine(i, ms) + "\n")
	}
	b.WriteString(hostileLine + "\n")
	os.WriteFile(log, []byte(b.String()), 0o644)
	db := MustOpenDB(tb, filepath.Join(dir, "apierr.db"))
	s, _ = newServer(tb, db, daemon.Input{Paths: []string{log}, Mapping: auto()})
	s.MetricsListen, s.WebConfig, s.Host, s.Version = "127.0.0.1:0", webConfig, "host-1", "v9.9.9"
	start(tb, s)
	waitFor(tb, "the log's 26 requests committed", func() bool { return readTotals(tb, db.Path).requests == 26 })
	return s, db.Path
}

func TestLivePage(t *testing.T) {
	s, dbPath := liveServer(t, "")
	base := "http://" + s.MetricsAddr()

	t.Run("Page", func(t *testing.T) {
		resp, body := fetch(t, http.DefaultClient, base+"/?since=2h")
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if got := resp.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
			t.Errorf("Content-Type=%q", got)
		}
		if strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Error("the hostile message is not escaped on the page")
		}
		if strings.ContainsRune(body, '\u202e') || strings.ContainsRune(body, '\x1b') {
			t.Error("a bidi override or an escape character reached the page raw")
		}
		if !strings.Contains(body, `<meta http-equiv="refresh" content="60">`) || !strings.Contains(body, "reloads every") {
			t.Error("the page neither reloads itself nor says how often")
		}
	})

	t.Run("Headers", func(t *testing.T) {
		for _, path := range []string{"/", "/api/report", "/metrics", "/healthz", "/?top=x", "/nowhere"} {
			resp, _ := fetch(t, http.DefaultClient, base+path)
			if got := resp.Header.Get("Content-Security-Policy"); got != daemon.PageCSP {
				t.Errorf("%s: Content-Security-Policy=%q, want %q", path, got, daemon.PageCSP)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("%s: X-Content-Type-Options=%q", path, got)
			}
		}
		if daemon.PageCSP != "default-src 'none'; style-src 'unsafe-inline'; img-src data:" {
			t.Errorf("PageCSP=%q", daemon.PageCSP)
		}
	})

	t.Run("JSON", func(t *testing.T) {
		resp, body := fetch(t, http.DefaultClient, base+"/api/report?since=2h&vendor=PICQER&category=server&top=1")
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		var r struct {
			Totals   struct{ Requests, Errors int64 }
			Failures []struct{ Vendor, Category string }
		}
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatal(err)
		}
		if r.Totals.Requests != 20 || r.Totals.Errors != 20 || len(r.Failures) != 1 || r.Failures[0].Vendor != "picqer" {
			t.Errorf("report = %+v, want Picqer's 20 requests and errors, one failure row", r)
		}
	})

	t.Run("BadRequest", func(t *testing.T) {
		for _, q := range []string{"since=soon", "since=-1h", "since=1h&from=2020-01-01", "from=2020-01-01", "from=x&to=y",
			"from=2020-01-02&to=2020-01-01", "top=-1", "top=many", "category=nope", "vendor=nobody", "color=red", "raw=yes"} {
			for _, path := range []string{"/", "/api/report"} {
				resp, body := fetch(t, http.DefaultClient, base+path+"?"+q)
				if resp.StatusCode != 400 {
					t.Errorf("%s?%s: status %d, want 400", path, q, resp.StatusCode)
				}
				if strings.Count(strings.TrimSpace(body), "\n") != 0 || body == "" {
					t.Errorf("%s?%s: want one line, got %q", path, q, body)
				}
			}
		}
		resp, body := fetch(t, http.DefaultClient, base+"/api/report?vendor=nobody")
		if resp.StatusCode != 400 || !strings.Contains(body, "picqer") {
			t.Errorf("an unknown vendor's answer does not list the known ones: %q", body)
		}
	})

	t.Run("ReadOnly", func(t *testing.T) {
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
			req, _ := http.NewRequest(method, base+"/api/report", strings.NewReader("{}"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s: status %d, want 405", method, resp.StatusCode)
			}
		}
	})

	t.Run("Raw", func(t *testing.T) {
		// The rows a daemon serves build the very report its database
		// builds: what `apierr report --remote` merges.
		resp, body := fetch(t, http.DefaultClient, base+"/api/report?raw=1&since=3h")
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		w, src, err := report.ReadSourceJSON(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		cat := catalog(t)
		got := report.Build(w, report.PreviousOf(w), []report.Source{src}, report.NewOptions(cat, w, 0, ""))
		db := storage.NewDB(dbPath)
		db.ReadOnly = true
		if err := db.Open(); err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		want, err := report.Read(context.Background(), db, cat, w, 0)
		if err != nil {
			t.Fatal(err)
		}
		var gb, wb bytes.Buffer
		report.Render(&gb, got, report.JSON, false)
		report.Render(&wb, want, report.JSON, false)
		if gb.String() != wb.String() {
			t.Errorf("report from the served rows differs from the database's:\n%s\nwant\n%s", gb.String(), wb.String())
		}
		if _, _, err := report.ReadSourceJSON(strings.NewReader(`{"totals":{}}`)); err == nil {
			t.Error("a report that is not rows was read as rows")
		}
	})

	t.Run("Metrics", func(t *testing.T) {
		_, body := fetch(t, http.DefaultClient, base+"/metrics")
		for _, want := range []string{
			`apierr_build_info{host="host-1",version="v9.9.9"} 1`,
			`apierr_request_duration_seconds_bucket{vendor="piggy",le="0.005"} 1`,
			`apierr_request_duration_seconds_bucket{vendor="piggy",le="0.05"} 3`,
			`apierr_request_duration_seconds_bucket{vendor="piggy",le="1"} 4`,
			`apierr_request_duration_seconds_bucket{vendor="piggy",le="2.5"} 5`,
			`apierr_request_duration_seconds_count{vendor="piggy"} 5`,
			`apierr_request_duration_seconds_sum{vendor="piggy"} 2.783`,
			`apierr_request_duration_seconds_bucket{vendor="api.evil.example",le="60"} 0`,
			`apierr_request_duration_seconds_bucket{vendor="api.evil.example",le="+Inf"} 1`,
		} {
			if !strings.Contains(body, want+"\n") {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		if strings.Contains(body, `apierr_request_duration_seconds_count{vendor="picqer"}`) {
			t.Error("calls without a duration were observed")
		}
		m := regexp.MustCompile(`(?m)^apierr_start_time_seconds (\S+)$`).FindStringSubmatch(body)
		if m == nil {
			t.Fatal("/metrics lacks apierr_start_time_seconds")
		}
		start, _ := strconv.ParseFloat(m[1], 64)
		if age := float64(time.Now().UnixNano())/1e9 - start; age < 0 || age > 600 || math.IsNaN(age) {
			t.Errorf("apierr_start_time_seconds=%s is not this process's start", m[1])
		}
	})
}

// fetch GETs u and returns the response and its body.
func fetch(tb testing.TB, c *http.Client, u string) (*http.Response, string) {
	tb.Helper()
	resp, err := c.Get(u)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// TestWebConfig: with web_config, the listener speaks TLS with the given
// certificate and answers only a basic-auth user of the file.
func TestWebConfig(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t)
	os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o600)
	os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "web.yml")
	// The toolkit answers a 401 itself: the headers of the file are what
	// it carries, so the README's example names the page's.
	os.WriteFile(config, []byte(fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  reader: %s\n"+
		"http_server_config:\n  headers:\n    Content-Security-Policy: %q\n    X-Content-Type-Options: nosniff\n",
		filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), hash, daemon.PageCSP)), 0o600)

	s, _ := liveServer(t, config)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	_, port, _ := net.SplitHostPort(s.MetricsAddr())
	base := "https://localhost:" + port

	for _, path := range []string{"/", "/api/report", "/metrics"} {
		resp, _ := fetch(t, client, base+path)
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Security-Policy") != daemon.PageCSP {
			t.Errorf("%s without credentials: status %d, CSP %q; want 401 with the page's CSP", path, resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
		}
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.SetBasicAuth("reader", "wrong")
		if resp, err := client.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s with a wrong password: %v %v, want 401", path, resp, err)
		} else {
			resp.Body.Close()
		}
		req.SetBasicAuth("reader", "s3cret")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") != daemon.PageCSP {
			t.Errorf("%s with credentials: status %d, CSP %q", path, resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
		}
	}
	if resp, err := http.Get("http://" + s.MetricsAddr() + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP was answered with the metrics")
		}
	}

	t.Run("BadFile", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "web.yml")
		os.WriteFile(bad, []byte("tls_server_config:\n  cert_file: /nonexistent.pem\n  key_file: /nonexistent.key\n"), 0o600)
		db := MustOpenDB(t, "")
		srv, _ := newServer(t, db, daemon.Input{Paths: []string{filepath.Join(t.TempDir(), "*.log")}, Mapping: auto()})
		srv.MetricsListen, srv.WebConfig = "127.0.0.1:0", bad
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := srv.Run(ctx)
		if err == nil || !strings.Contains(err.Error(), "web_config "+bad) {
			t.Errorf("Run with a bad web_config: %v, want an error naming the file", err)
		}
	})
}

// selfSigned makes a certificate for localhost and its key, in PEM.
func selfSigned(tb testing.TB) (certPEM, keyPEM []byte) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}
