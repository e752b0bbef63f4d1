package fleet_test

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apierr/apierr/fleet"
	"github.com/apierr/apierr/report"
)

func lastHour() (report.Window, report.Window) {
	to := time.Now()
	return report.Window{From: to.Add(-time.Hour), To: to}, report.Window{From: to.Add(-2 * time.Hour), To: to.Add(-time.Hour)}
}

// checkOneLine fails unless err is one line that says want and names no
// Go type.
func checkOneLine(tb testing.TB, err error, want string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("err=nil, want %q", want)
	}
	msg := err.Error()
	tb.Log(msg)
	if !strings.Contains(msg, want) || strings.Contains(msg, "\n") || strings.Contains(msg, "*") ||
		strings.Contains(msg, "v1.") || strings.Contains(msg, "%!") || strings.Contains(msg, "goroutine") {
		tb.Errorf("err=%q, want one line saying %q", msg, want)
	}
}

func TestPrometheus_Read_Errors(t *testing.T) {
	win, prev := lastHour()
	read := func(p *fleet.Prometheus) error {
		_, err := p.Read(t.Context(), win, prev, time.Minute, fleet.Filter{}, nil)
		return err
	}
	t.Run("ErrUnreachable", func(t *testing.T) {
		url := "http://" + freePort(t)
		checkOneLine(t, read(fleet.NewPrometheus(url)), "prometheus "+url+": unreachable")
	})
	t.Run("ErrNotPrometheus", func(t *testing.T) {
		for name, h := range map[string]http.HandlerFunc{
			"html": func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>hello</html>")) },
			"404":  http.NotFound,
		} {
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			t.Run(name, func(t *testing.T) {
				checkOneLine(t, read(fleet.NewPrometheus(srv.URL)), "prometheus "+srv.URL+": not a Prometheus query API")
			})
		}
	})
	t.Run("ErrTimeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) }) // runs first
		p := fleet.NewPrometheus(srv.URL)
		p.Timeout = 200 * time.Millisecond
		checkOneLine(t, read(p), "no answer within 200ms")
	})
	t.Run("ErrBadURL", func(t *testing.T) {
		checkOneLine(t, read(fleet.NewPrometheus("ftp://example.com")), "want http:// or https://")
	})
	t.Run("ErrAccessRefused", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		}))
		t.Cleanup(srv.Close)
		checkOneLine(t, read(fleet.NewPrometheus(srv.URL)), "access refused (401)")
	})
}

// TestPrometheus_Auth checks that the credentials reach the engine over
// TLS verified with the CA file, as a reverse proxy in front of an engine
// sees them.
func TestPrometheus_Auth(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/v1/series" {
			w.Write([]byte(`{"status":"success","data":[]}`))
			return
		}
		w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]}}`))
	}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	win, prev := lastHour()
	for _, tc := range []struct {
		name, token, user, password, want string
	}{
		{"Bearer", "s3cret\n", "", "", "Bearer s3cret"},
		{"Basic", "", "apierr", "pw", "Basic YXBpZXJyOnB3"},
		{"None", "", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			p := fleet.NewPrometheus(srv.URL)
			p.CAFile, p.BearerToken, p.Username, p.Password = ca, tc.token, tc.user, tc.password
			if _, err := p.Read(t.Context(), win, prev, 0, fleet.Filter{}, nil); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) == 0 {
				t.Fatal("no request reached the engine")
			}
			for _, h := range got {
				if h != tc.want {
					t.Fatalf("Authorization=%q, want %q", h, tc.want)
				}
			}
		})
	}
	t.Run("ErrUnknownCA", func(t *testing.T) {
		checkOneLine(t, func() error {
			_, err := fleet.NewPrometheus(srv.URL).Read(t.Context(), win, prev, time.Minute, fleet.Filter{}, nil)
			return err
		}(), "unreachable: tls: failed to verify certificate")
	})
}
