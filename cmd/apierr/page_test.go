package main

import (
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "rewrite docs/report.png, the README's screenshot of the page")

// pageCSP is what the daemon sends with the page, and what this test
// serves it with, so that the browser would block anything from elsewhere.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

// artifactDir is where browser tests keep their screenshots: $APIERR_ARTIFACTS,
// else .artifacts/ at the repository's root (ignored by git).
func artifactDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("APIERR_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", ".artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// browse loads url in headless Chromium, saves a screenshot as shot and
// returns the DOM after load. It skips the test where Chromium is missing.
func browse(tb testing.TB, url, shot string) string {
	tb.Helper()
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		tb.Skip("no headless Chromium (apt-get install chromium)")
	}
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
		"--disable-extensions", "--disable-background-networking", "--user-data-dir=" + tb.TempDir()}
	shotCmd := exec.Command(bin, append(args, "--window-size=1280,2000", "--screenshot="+shot, url)...)
	if out, err := shotCmd.CombinedOutput(); err != nil {
		tb.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10_000 {
		tb.Fatalf("screenshot %s missing or empty: %v", shot, err)
	}
	dom, err := exec.Command(bin, append(args, "--dump-dom", url)...).Output()
	if err != nil {
		tb.Fatalf("chromium --dump-dom: %v", err)
	}
	return string(dom)
}

// checkPage asserts what a person would see: the charts are drawn, the
// hostile message is text, and no script ran or was added.
func checkPage(tb testing.TB, dom, hostileText string) {
	tb.Helper()
	if strings.Contains(strings.ToLower(dom), "<script") {
		tb.Error("the page's DOM holds a script element")
	}
	svgs := regexp.MustCompile(`<svg[^>]*role="img"`).FindAllString(dom, -1)
	if len(svgs) < 2 {
		tb.Errorf("%d charts in the DOM, want errors per vendor and retryable against permanent", len(svgs))
	}
	pts := regexp.MustCompile(`<polyline[^>]*points="([^"]*)"`).FindAllStringSubmatch(dom, -1)
	drawn := 0
	for _, p := range pts {
		if strings.Count(p[1], ",") >= 2 {
			drawn++
		}
	}
	if drawn == 0 {
		tb.Error("no chart line has points")
	}
	if hostileText != "" && !strings.Contains(dom, hostileText) {
		tb.Errorf("the hostile message is not shown as text (%q)", hostileText)
	}
}

// servePage serves body as the daemon serves its page, recording every
// request the browser makes.
func servePage(tb testing.TB, body []byte) (url string, requests func() []string) {
	tb.Helper()
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path)
		mu.Unlock()
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Security-Policy", pageCSP)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(body)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL + "/", func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// TestReportHTML_Browser: the page `apierr report --format html` writes
// for demo traffic with a hostile vendor message, loaded in a real browser:
// no request leaves the page, the charts are drawn, the message is text.
func TestReportHTML_Browser(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a browser")
	}
	dir := t.TempDir()
	logPath, db := filepath.Join(dir, "requests.jsonl"), filepath.Join(dir, "apierr.db")
	now := time.Now().UTC().Truncate(time.Minute)
	start := now.Add(-6 * time.Hour).Format(time.RFC3339)
	code, out, errs := run(t, "", "generate", "--lines", "21600", "--step", "1s", "--start", start, "--seed", "7")
	if code != 0 {
		t.Fatalf("generate: exit %d: %s", code, errs)
	}
	hostile := `{"ts":"` + now.Add(-time.Hour).Format(time.RFC3339) + `","method":"GET","url":"https://api.evil.example/x","status":500,` +
		`"response_body":"{\"error\":{\"code\":\"evil\",\"message\":\"<script>alert(1)</script>\\u001b[31m\\u202eexe.txt\"}}"}` + "\n"
	os.WriteFile(logPath, []byte(out+hostile), 0o644)
	if code, _, errs := run(t, "", "ingest", "-q", "--db", db, logPath); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errs)
	}
	code, page, errs := run(t, "", "report", "--db", db, "--since", "6h", "--format", "html")
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errs)
	}
	if len(page) > 300_000 {
		t.Errorf("page is %d bytes, want under 300 KB", len(page))
	}
	url, requests := servePage(t, []byte(page))
	shot := filepath.Join(artifactDir(t), "report-page.png")
	dom := browse(t, url, shot)
	checkPage(t, dom, "&lt;script&gt;alert(1)&lt;/script&gt;")
	for _, p := range requests() {
		if p != "/" {
			t.Errorf("the page made a request for %s", p)
		}
	}
	t.Logf("screenshot: %s", shot)
	if *updateScreenshot {
		data, _ := os.ReadFile(shot)
		if err := os.WriteFile("../../docs/report.png", data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
