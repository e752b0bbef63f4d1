package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apierr/apierr/storage"
)

// binary is the apierr binary built for tests that run real processes.
var binary string

var trafficStart = time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "apierr-bin")
		if err != nil {
			panic(err)
		}
		defer os.RemoveAll(dir)
		binary = filepath.Join(dir, "apierr")
		if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build apierr: %v\n%s", err, out)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// testTraffic makes request-log lines: all four vendors, errors and
// successes, errors inside HTTP 200, HTML 502s, unknown hosts, and a few
// malformed lines. Line i is the same in every run.
func testTraffic(i int) string {
	ts := trafficStart.Add(time.Duration(i) * time.Second).Format(time.RFC3339)
	switch i % 13 {
	case 0:
		return fmt.Sprintf(`{"ts":%q,"method":"POST","url":"https://api.piggy.eu/api/v3/oauth/clients/contacts/%d","status":400,"response_body":"{\"message\":\"Contact not found.\",\"code\":55031,\"status_code\":400}","seq":%d}`, ts, i, i)
	case 1:
		return fmt.Sprintf(`{"ts":%q,"method":"POST","url":"https://shop.textalk.se/backend/jsonrpc/v1/","status":200,"response_body":{"jsonrpc":"2.0","id":%d,"error":{"code":1004,"message":"Bad auth token"}}}`, ts, i)
	case 2:
		return fmt.Sprintf(`{"ts":%q,"method":"PUT","url":"https://acme.picqer.com/api/v1/orders/%d","status":400,"response_body":"{\"error\":true,\"error_code\":30,\"error_message\":\"Cannot change order. This order is being processed\"}"}`, ts, i)
	case 3:
		return fmt.Sprintf(`{"ts":%q,"method":"GET","url":"https://acme.picqer.com/api/v1/products","status":502,"response_body":"<html><title>502 Bad Gateway</title></html>","seq":%d}`, ts, i)
	case 4:
		return fmt.Sprintf(`{"ts":%q,"method":"POST","url":"https://api.voucherify.io/v1/vouchers/V%d/validate","status":200,"response_body":{"code":"V%d","valid":false,"error":{"key":"voucher_expired","message":"Voucher expired"}}}`, ts, i, i)
	case 5:
		return fmt.Sprintf(`{"ts":%q,"method":"GET","url":"https://api.example.org/v1/items/%d","status":503,"response_body":"","seq":%d}`, ts, i, i)
	case 6:
		return fmt.Sprintf(`not json at all, line %d`, i)
	case 7:
		return fmt.Sprintf(`{"ts":%q,"method":"POST","url":"https://api.voucherify.io/v1/redemptions","status":429,"response_headers":{"Retry-After":"3"},"response_body":"{\"code\":429,\"message\":\"Too many requests\"}","seq":%d}`, ts, i)
	}
	return fmt.Sprintf(`{"ts":%q,"method":"GET","url":"https://api.piggy.eu/api/v3/oauth/clients/contacts/%d","status":200,"duration_ms":%d,"response_body":"{\"data\":{},\"meta\":{}}"}`, ts, i, i%500)
}

// process is an `apierr run` process.
type process struct {
	cmd *exec.Cmd
	out *syncBuffer
}

// syncBuffer is a strings.Builder safe for the process's output copier
// and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startDaemon(tb testing.TB, config string, args ...string) *process {
	tb.Helper()
	d := &process{out: &syncBuffer{}}
	d.cmd = exec.Command(binary, append([]string{"run", "--config", config}, args...)...)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	return d
}

func (d *process) kill() { d.cmd.Process.Kill(); d.cmd.Wait() }

// stop sends SIGTERM and waits for a clean exit.
func (d *process) stop(tb testing.TB) {
	tb.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			tb.Fatalf("daemon exit: %v\n%s", err, d.out)
		}
	case <-time.After(20 * time.Second):
		d.cmd.Process.Kill()
		tb.Fatalf("daemon did not stop within 20s after SIGTERM\n%s", d.out)
	}
}

// counts is what a database holds, in a comparable form.
type counts struct {
	codes     []string // vendor code count
	vendors   []string // vendor requests errors retryable
	malformed int64
	requests  int64
}

func readCounts(tb testing.TB, path string) counts {
	tb.Helper()
	db := storage.NewDB(path)
	db.ReadOnly = true
	if err := db.Open(); errors.Is(err, storage.ErrNoData) || errors.Is(err, storage.ErrNotExist) {
		return counts{} // the daemon has not set the database up yet
	} else if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	from, to := time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2101, 1, 1, 0, 0, 0, 0, time.UTC)
	var c counts
	codes, err := db.Codes(ctx, from, to, "")
	if err != nil {
		tb.Fatal(err)
	}
	for _, x := range codes {
		c.codes = append(c.codes, fmt.Sprintf("%s %s %d", x.Vendor, x.Code, x.Count))
	}
	vendors, err := db.Vendors(ctx, from, to)
	if err != nil {
		tb.Fatal(err)
	}
	for _, v := range vendors {
		c.vendors = append(c.vendors, fmt.Sprintf("%s %d %d %d", v.Vendor, v.Requests, v.Errors, v.Retryable))
		c.requests += v.Requests
	}
	mal, err := db.Malformed(ctx, from, to)
	if err != nil {
		tb.Fatal(err)
	}
	for _, m := range mal {
		c.malformed += m.Count
	}
	sort.Strings(c.codes)
	sort.Strings(c.vendors)
	return c
}

func (c counts) String() string {
	return fmt.Sprintf("requests %d, malformed %d\n%s\n%s", c.requests, c.malformed, strings.Join(c.vendors, "\n"), strings.Join(c.codes, "\n"))
}

// TestRun_KillRestart appends lines while the daemon runs, kills it with
// SIGKILL at random moments, restarts it, and checks at the end that every
// count equals one clean pass over the same lines. Rotations (rename, or
// copytruncate) happen in the middle, with the glob matching the rotated
// names too.
func TestRun_KillRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes for several seconds")
	}
	// The -prefix variants write lines whose first kilobyte is identical
	// (a logger with sorted keys and a long constant field): every file,
	// every rotated copy starts with the same bytes.
	prefix := `{"app":"checkout","env":"production","pad":"` + strings.Repeat("p", 1100) + `",`
	for _, variant := range []string{"none", "rename", "copytruncate", "rename-prefix", "copytruncate-prefix"} {
		rotation, samePrefix := strings.CutSuffix(variant, "-prefix")
		t.Run(variant, func(t *testing.T) {
			dir := t.TempDir()
			logs := filepath.Join(dir, "logs")
			os.Mkdir(logs, 0o755)
			dbPath := filepath.Join(dir, "apierr.db")
			config := filepath.Join(dir, "apierr.yaml")
			os.WriteFile(config, []byte(fmt.Sprintf("db: %s\ninputs:\n  - paths: [%q]\nflush_interval: 50ms\nmetrics_listen: \"\"\n",
				dbPath, filepath.Join(logs, "app.log*"))), 0o644)

			const total = 6000
			rng := rand.New(rand.NewSource(int64(len(variant))))         // the writer's
			killRng := rand.New(rand.NewSource(int64(len(variant)) + 1)) // the killer's
			var all []string
			writerDone := make(chan struct{})
			go func() {
				defer close(writerDone)
				path := filepath.Join(logs, "app.log")
				w, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
				gen := 0
				for i := 0; i < total; {
					n := 1 + rng.Intn(100)
					var b strings.Builder
					for ; n > 0 && i < total; n-- {
						l := testTraffic(i)
						if samePrefix && strings.HasPrefix(l, "{") {
							l = prefix + l[1:]
						}
						all = append(all, l)
						b.WriteString(l + "\n")
						i++
					}
					w.WriteString(b.String())
					time.Sleep(time.Duration(5+rng.Intn(40)) * time.Millisecond)
					if i/1500 > gen && rotation != "none" {
						gen = i / 1500
						rotated := fmt.Sprintf("%s.%d", path, gen)
						switch rotation {
						case "rename":
							os.Rename(path, rotated)
							w.Close()
							w, _ = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
						case "copytruncate":
							data, _ := os.ReadFile(path)
							os.WriteFile(rotated, data, 0o644)
							w.Truncate(0)
						}
					}
				}
				w.Close()
			}()

			killUntilDone(t, config, dbPath, dir, &all, writerDone, killRng)
		})
	}
}

// killUntilDone starts the daemon on config and kills it (SIGKILL) at
// random times until the writer is done; then a last run catches up and
// stops cleanly, and the counts must equal one clean pass over the
// lines the writer wrote.
func killUntilDone(t *testing.T, config, dbPath, dir string, lines *[]string, writerDone <-chan struct{}, killRng *rand.Rand) {
	t.Helper()
	kills := 0
	for running := true; running; {
		d := startDaemon(t, config)
		select {
		case <-writerDone:
			running = false
		case <-time.After(time.Duration(100+killRng.Intn(400)) * time.Millisecond):
		}
		d.kill()
		kills++
	}

	// The reference: one clean pass over the same lines (all written:
	// the writer is done).
	all := *lines
	ref := filepath.Join(dir, "ref.jsonl")
	os.WriteFile(ref, []byte(strings.Join(all, "\n")+"\n"), 0o644)
	refDB := filepath.Join(dir, "ref.db")
	if code, _, errs := run(t, "", "ingest", "-q", "--db", refDB, ref); code != 0 {
		t.Fatalf("reference ingest: %s", errs)
	}
	want := readCounts(t, refDB)
	if want.requests+want.malformed != int64(len(all)) {
		t.Fatalf("reference holds %d lines, want %d", want.requests+want.malformed, len(all))
	}

	// A last run catches up, then stops cleanly.
	d := startDaemon(t, config)
	waitForDaemon(t, d) // a SIGTERM while it starts up is another matter
	var got counts
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = readCounts(t, dbPath); got.requests+got.malformed >= want.requests+want.malformed {
			break
		}
	}
	time.Sleep(300 * time.Millisecond) // anything more would be double counting
	d.stop(t)
	if got = readCounts(t, dbPath); got.String() != want.String() {
		t.Fatalf("after %d kills, counts differ from one clean pass\ngot:\n%s\n\nwant:\n%s\n\ndaemon log:\n%s", kills, got, want, d.out)
	}
	t.Logf("%d lines, %d kills: counts equal one clean pass", len(all), kills)
}

// waitForDaemon waits until the daemon tails its inputs: its database is
// made and migrated.
func waitForDaemon(tb testing.TB, d *process) {
	tb.Helper()
	waitFor(tb, "the daemon to start", func() bool { return strings.Contains(d.out.String(), "apierr running") })
}

// waitFor polls cond until it holds, failing after a deadline.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRun_BadInputReportAndReload: garbage, half-written and over-long
// lines between good ones; a report while the daemon writes; a vendor file
// added and loaded with SIGHUP.
func TestRun_BadInputReportAndReload(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real process")
	}
	dir := t.TempDir()
	logs, vendors := filepath.Join(dir, "logs"), filepath.Join(dir, "vendors.d")
	os.Mkdir(logs, 0o755)
	os.Mkdir(vendors, 0o755)
	dbPath := filepath.Join(dir, "apierr.db")
	config := filepath.Join(dir, "apierr.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf("db: %s\ninputs: [{paths: [%q]}]\nflush_interval: 50ms\nvendors_dir: %s\nlimits: {line_bytes: 1KiB}\nmetrics_listen: \"\"\n",
		dbPath, filepath.Join(logs, "*.log"), vendors)), 0o644)
	d := startDaemon(t, config)
	defer d.kill()
	waitForDaemon(t, d)

	ts := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	stripe := fmt.Sprintf(`{"ts":%q,"url":"https://api.acmepay.example/v1/charges","status":402,"body":{"error":{"type":"card_error","code":"card_declined","message":"Declined"}}}`, ts)
	f, _ := os.OpenFile(filepath.Join(logs, "app.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	defer f.Close()
	f.WriteString(stripe + "\n" + "garbage \x00\x01 line\n" + stripe + "\n" + `{"ts":"` + strings.Repeat("x", 3000) + `"}` + "\n" + stripe[:30])
	waitFor(t, "the first lines", func() bool { c := readCounts(t, dbPath); return c.requests == 2 && c.malformed == 2 })
	f.WriteString(stripe[30:] + "\n") // the half line, finished
	waitFor(t, "the finished half line", func() bool { return readCounts(t, dbPath).requests == 3 })

	// A report reads the database while the daemon writes to it.
	for range 5 {
		code, out, errs := run(t, "", "report", "--db", dbPath, "--format", "json")
		if code != 0 || !strings.Contains(out, `"vendor": "api.acmepay.example"`) {
			t.Fatalf("report while running: exit %d, %s\n%s", code, errs, out)
		}
		f.WriteString(stripe + "\n")
	}
	waitFor(t, "8 requests", func() bool { return readCounts(t, dbPath).requests == 8 })

	// A vendor file, loaded on SIGHUP: later lines are attributed to it.
	data, _ := os.ReadFile("../../testdata/vendors.d/acmepay.yaml")
	os.WriteFile(filepath.Join(vendors, "acmepay.yaml"), data, 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the reload", func() bool { return strings.Contains(d.out.String(), "reloaded") })
	f.WriteString(stripe + "\n" + stripe + "\n")
	waitFor(t, "10 requests", func() bool { return readCounts(t, dbPath).requests == 10 })
	d.stop(t)

	c := readCounts(t, dbPath)
	want := []string{"acmepay card_declined 2", "api.acmepay.example card_declined 8"}
	if strings.Join(c.codes, ",") != strings.Join(want, ",") || c.malformed != 2 {
		t.Fatalf("got %s\nwant codes %v and 2 malformed lines", c, want)
	}
	db := storage.NewDB(dbPath)
	db.ReadOnly = true
	db.Open()
	defer db.Close()
	mal, _ := db.Malformed(context.Background(), time.Unix(0, 0), time.Now().Add(time.Hour))
	if len(mal) != 2 || mal[0].Count != 1 || mal[1].Count != 1 || mal[0].Reason != "line too long" || mal[1].Reason != "not JSON" {
		t.Fatalf("malformed %+v, want one line too long and one not JSON", mal)
	}
}

// TestRun_SIGHUPAtStart: a SIGHUP during start-up (ExecReload=kill -HUP
// at boot) is a reload, never a kill. It is sent as soon as the database
// file appears: the daemon is then opening and migrating it, the slow
// start-up work before which the handler must be installed. (A signal
// sent within the Go runtime's own start, before any package runs, still
// ends the process: nothing in a Go program runs earlier.)
func TestRun_SIGHUPAtStart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real process")
	}
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "apierr.db")
	logFile := filepath.Join(dir, "app.log")
	os.WriteFile(logFile, []byte(testTraffic(0)+"\n"), 0o644)
	config := filepath.Join(dir, "apierr.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf("db: %s\ninputs: [{paths: [%q]}]\nflush_interval: 50ms\nmetrics_listen: \"\"\n", dbPath, logFile)), 0o644)
	d := startDaemon(t, config)
	defer d.kill()
	for start := time.Now(); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(dbPath); err == nil {
			break
		}
		if time.Since(start) > 15*time.Second {
			t.Fatalf("no database within 15s\n%s", d.out)
		}
	}
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- d.cmd.Wait() }()
	deadline := time.After(15 * time.Second)
	for !strings.Contains(d.out.String(), "reloaded") {
		select {
		case err := <-exited:
			t.Fatalf("the daemon exited on a SIGHUP at start: %v\n%s", err, d.out)
		case <-deadline:
			t.Fatalf("no reload within 15s of a SIGHUP at start\n%s", d.out)
		case <-time.After(20 * time.Millisecond):
		}
	}
	waitFor(t, "the line", func() bool { return readCounts(t, dbPath).requests == 1 })
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("daemon exit: %v\n%s", err, d.out)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("daemon did not stop within 20s after SIGTERM\n%s", d.out)
	}
}
