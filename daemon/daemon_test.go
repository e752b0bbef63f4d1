package daemon_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/daemon"
	"github.com/apierr/apierr/ingest"
	"github.com/apierr/apierr/storage"
)

// lineTime is the time of every test line: recent, so no retention or
// future-time rule ever applies to it.
var lineTime = time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)

// line is a request-log line: a Picqer 500 by its "status" field, a
// success by its "other_status" (what a mapping may read instead).
func line(i int) string {
	return fmt.Sprintf(`{"ts":%q,"method":"GET","url":"https://acme.picqer.com/api/v1/orders/%d","status":500,"other_status":200,"response_body":"","seq":%d}`,
		lineTime.Format(time.RFC3339), i, i)
}

// appendLines appends lines from to to (exclusive) to path.
func appendLines(tb testing.TB, path string, from, to int) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	writeLines(tb, f, from, to)
}

func writeLines(tb testing.TB, f *os.File, from, to int) {
	tb.Helper()
	var b strings.Builder
	for i := from; i < to; i++ {
		b.WriteString(line(i) + "\n")
	}
	if _, err := f.WriteString(b.String()); err != nil {
		tb.Fatal(err)
	}
}

// MustOpenDB opens a new database in a temporary directory (or at path).
func MustOpenDB(tb testing.TB, path string) *storage.DB {
	tb.Helper()
	if path == "" {
		path = filepath.Join(tb.TempDir(), "apierr.db")
	}
	db := storage.NewDB(path)
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func catalog(tb testing.TB) *classify.Catalog {
	tb.Helper()
	cat, err := classify.Load(classify.Builtin())
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}

// totals is what a database holds: requests, errors and malformed lines.
type totals struct{ requests, errors, malformed int64 }

func readTotals(tb testing.TB, path string) totals {
	tb.Helper()
	db := storage.NewDB(path)
	db.ReadOnly = true
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	from, to := time.Unix(0, 0), time.Now().Add(24*time.Hour)
	var t totals
	vendors, err := db.Vendors(ctx, from, to)
	if err != nil {
		tb.Fatal(err)
	}
	for _, v := range vendors {
		t.requests += v.Requests
		t.errors += v.Errors
	}
	mal, err := db.Malformed(ctx, from, to)
	if err != nil {
		tb.Fatal(err)
	}
	for _, m := range mal {
		t.malformed += m.Count
	}
	return t
}

// logBuffer is a log destination safe to share with the daemon.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newServer returns a Server on db reading inputs, with fast timings and
// its log in the returned buffer.
func newServer(tb testing.TB, db *storage.DB, inputs ...daemon.Input) (*daemon.Server, *logBuffer) {
	tb.Helper()
	logs := &logBuffer{}
	s := daemon.NewServer(db)
	s.Inputs, s.Catalog = inputs, catalog(tb)
	s.FlushInterval = 20 * time.Millisecond
	s.Scan, s.RotateWait = 20*time.Millisecond, 5*time.Second
	s.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return s, logs
}

// start runs s until the returned function stops it and returns Run's
// error.
func start(tb testing.TB, s *daemon.Server) (stop func() error) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-s.Ready():
	case err := <-done:
		cancel()
		tb.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		tb.Fatal("the server did not start within 10s")
	}
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				err = fmt.Errorf("Run did not return within 20s of the stop")
			}
		})
		return err
	}
	tb.Cleanup(func() { stop() })
	return stop
}

// waitFor polls cond until it holds, for at most 15 s.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func auto() ingest.Mapping { return ingest.AutoMapping() }

func TestServer_Run(t *testing.T) {
	dir := t.TempDir()
	db := MustOpenDB(t, filepath.Join(dir, "apierr.db"))
	log := filepath.Join(dir, "app.log")
	appendLines(t, log, 0, 500)
	s, _ := newServer(t, db, daemon.Input{Paths: []string{log}, Mapping: auto()})
	stop := start(t, s)
	waitFor(t, "500 requests", func() bool { return readTotals(t, db.Path).requests == 500 })
	appendLines(t, log, 500, 700)
	waitFor(t, "700 requests", func() bool { return readTotals(t, db.Path).requests == 700 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got, want := readTotals(t, db.Path), (totals{700, 700, 0}); got != want {
		t.Fatalf("totals %+v, want %+v", got, want)
	}
	if st := s.Stats(); st.Lines != 700 {
		t.Fatalf("Stats().Lines=%d, want 700", st.Lines)
	}
}

// TestServer_OverlappingInputs: a file matched by two inputs' globs is
// read once, and decoded by the first input that matches it.
func TestServer_OverlappingInputs(t *testing.T) {
	dir := t.TempDir()
	db := MustOpenDB(t, filepath.Join(t.TempDir(), "apierr.db"))
	// The second input reads other_status (200): its lines are successes.
	other, err := ingest.ParseMapping(map[string]string{"status": "other_status"})
	if err != nil {
		t.Fatal(err)
	}
	appendLines(t, filepath.Join(dir, "app.log"), 0, 1000)      // both inputs
	appendLines(t, filepath.Join(dir, "other.txt"), 1000, 1300) // the second only
	s, _ := newServer(t, db,
		daemon.Input{Paths: []string{filepath.Join(dir, "*.log")}, Mapping: auto()},
		// The same file again, spelled otherwise, and everything.
		daemon.Input{Paths: []string{dir + "/./app.log", filepath.Join(dir, "*")}, Mapping: other},
	)
	stop := start(t, s)
	waitFor(t, "1300 requests", func() bool { return readTotals(t, db.Path).requests >= 1300 })
	appendLines(t, filepath.Join(dir, "app.log"), 1300, 1400)
	waitFor(t, "1400 requests", func() bool { return readTotals(t, db.Path).requests >= 1400 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// app.log's 1100 lines are the first input's (errors), once; other.txt's
	// 300 the second's (successes).
	if got, want := readTotals(t, db.Path), (totals{1400, 1100, 0}); got != want {
		t.Fatalf("totals %+v, want %+v", got, want)
	}
}

// TestServer_OwnFilesNeverInputs: a glob that matches the database, its
// WAL and shared memory, its lock file and the summary directory reads
// none of them.
func TestServer_OwnFilesNeverInputs(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "apierr.db")
	db := MustOpenDB(t, dbPath)
	// The lock file holds request lines: counted if it were read.
	appendLines(t, dbPath+".lock", 0, 50)
	summaries := filepath.Join(dir, "summaries")
	if err := os.Mkdir(summaries, 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "app.log")
	appendLines(t, log, 100, 300)
	s, logs := newServer(t, db, daemon.Input{Paths: []string{filepath.Join(dir, "*"), filepath.Join(summaries, "*")}, Mapping: auto()})
	s.Summary = daemon.Summary{Every: 50 * time.Millisecond, Dir: summaries}
	stop := start(t, s)
	waitFor(t, "200 requests", func() bool { return readTotals(t, dbPath).requests == 200 })
	var summary string
	waitFor(t, "a summary file", func() bool {
		m, _ := filepath.Glob(filepath.Join(summaries, "*.md"))
		if len(m) > 0 {
			summary = m[0]
		}
		return summary != ""
	})
	// The tailer finds each of them, and the daemon drops them.
	for _, f := range []string{dbPath, dbPath + "-wal", dbPath + "-shm", dbPath + ".lock", summary} {
		waitFor(t, "skipping "+f, func() bool {
			return strings.Contains(logs.String(), "not an input") && strings.Contains(logs.String(), "file="+f+"\n")
		})
	}
	appendLines(t, log, 300, 400)
	waitFor(t, "300 requests", func() bool { return readTotals(t, dbPath).requests == 300 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got, want := readTotals(t, dbPath), (totals{300, 300, 0}); got != want {
		t.Fatalf("totals %+v, want %+v\n%s", got, want, logs)
	}
}

// TestPipeline_ReadFilesSkipsOwnFiles: `apierr ingest` of the database's
// own files reads none of them.
func TestPipeline_ReadFilesSkipsOwnFiles(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "apierr.db")
	db := MustOpenDB(t, dbPath)
	log := filepath.Join(dir, "app.log")
	appendLines(t, log, 0, 100)
	appendLines(t, dbPath+".lock", 0, 10)
	p := daemon.NewPipeline(db, catalog(t), nil, 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := p.ReadFiles(context.Background(), []string{dbPath, dbPath + "-wal", dbPath + ".lock", log}); err != nil {
		t.Fatal(err)
	}
	if got, want := readTotals(t, dbPath), (totals{100, 100, 0}); got != want {
		t.Fatalf("totals %+v, want %+v", got, want)
	}
}

// TestServer_ReloadKeepsDraining: a SIGHUP while a renamed file, that the
// globs no longer match, is being drained keeps reading it.
func TestServer_ReloadKeepsDraining(t *testing.T) {
	dir := t.TempDir()
	db := MustOpenDB(t, filepath.Join(dir, "apierr.db"))
	log := filepath.Join(dir, "app.log")
	f, err := os.OpenFile(log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	writeLines(t, f, 0, 1000)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	s, logs := newServer(t, db, daemon.Input{Paths: []string{log}, Mapping: auto()})
	s.Signals = hup
	loads := 0
	s.Load = func() (daemon.Settings, error) { loads++; return s.Settings, nil }
	stop := start(t, s)
	waitFor(t, "1000 requests", func() bool { return readTotals(t, db.Path).requests == 1000 })

	// Rotation: the writer still appends to the renamed file, which no
	// glob matches; the tailer drains it until it is quiet for RotateWait.
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	writeLines(t, f, 1000, 2000)
	waitFor(t, "2000 requests", func() bool { return readTotals(t, db.Path).requests == 2000 })
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reload", func() bool { return strings.Contains(logs.String(), "reloaded") })
	writeLines(t, f, 2000, 3000)
	waitFor(t, "3000 requests", func() bool { return readTotals(t, db.Path).requests == 3000 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got, want := readTotals(t, db.Path), (totals{3000, 3000, 0}); got != want || loads != 1 {
		t.Fatalf("totals %+v after %d loads, want %+v after 1", got, loads, want)
	}
}

// TestServer_ReloadNewInputsKeepsDraining: a reload that changes the
// inputs waits until the file being drained after a rotation is read to
// its end, then reads the new inputs.
func TestServer_ReloadNewInputsKeepsDraining(t *testing.T) {
	dir := t.TempDir()
	db := MustOpenDB(t, filepath.Join(dir, "apierr.db"))
	log, newLog := filepath.Join(dir, "app.log"), filepath.Join(dir, "new.log")
	f, err := os.OpenFile(log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	writeLines(t, f, 0, 500)
	s, logs := newServer(t, db, daemon.Input{Paths: []string{log}, Mapping: auto()})
	s.RotateWait = time.Second
	s.Load = func() (daemon.Settings, error) {
		return daemon.Settings{Inputs: []daemon.Input{{Paths: []string{log}, Mapping: auto()}, {Paths: []string{newLog}, Mapping: auto()}},
			Catalog: s.Catalog, MaxLine: s.MaxLine}, nil
	}
	stop := start(t, s)
	waitFor(t, "500 requests", func() bool { return readTotals(t, db.Path).requests == 500 })
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	writeLines(t, f, 500, 1000)
	waitFor(t, "1000 requests", func() bool { return readTotals(t, db.Path).requests == 1000 })
	s.Reload()
	waitFor(t, "the reload to wait", func() bool { return strings.Contains(logs.String(), "waiting for rotated files") })
	writeLines(t, f, 1000, 1500) // the writer has not reopened its log yet
	waitFor(t, "1500 requests", func() bool { return readTotals(t, db.Path).requests == 1500 })
	appendLines(t, newLog, 1500, 1600)
	waitFor(t, "the new input", func() bool { return readTotals(t, db.Path).requests == 1600 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got, want := readTotals(t, db.Path), (totals{1600, 1600, 0}); got != want {
		t.Fatalf("totals %+v, want %+v\n%s", got, want, logs)
	}
	if !strings.Contains(logs.String(), "inputs changed, reading resumes") {
		t.Fatalf("no restart for the new inputs:\n%s", logs)
	}
}

// TestServer_ReloadSettings: a reload that changes an input's mapping
// applies to lines read after it, without restarting the tailer.
func TestServer_ReloadSettings(t *testing.T) {
	dir := t.TempDir()
	db := MustOpenDB(t, filepath.Join(dir, "apierr.db"))
	log := filepath.Join(dir, "app.log")
	appendLines(t, log, 0, 100)
	s, logs := newServer(t, db, daemon.Input{Paths: []string{log}, Mapping: auto()})
	other, err := ingest.ParseMapping(map[string]string{"status": "other_status"})
	if err != nil {
		t.Fatal(err)
	}
	s.Load = func() (daemon.Settings, error) {
		return daemon.Settings{Inputs: []daemon.Input{{Paths: []string{log}, Mapping: other}}, Catalog: s.Catalog, MaxLine: s.MaxLine}, nil
	}
	stop := start(t, s)
	waitFor(t, "100 requests", func() bool { return readTotals(t, db.Path).requests == 100 })
	s.Reload()
	waitFor(t, "the reload", func() bool { return strings.Contains(logs.String(), "reloaded") })
	appendLines(t, log, 100, 150)
	waitFor(t, "150 requests", func() bool { return readTotals(t, db.Path).requests == 150 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got, want := readTotals(t, db.Path), (totals{150, 100, 0}); got != want {
		t.Fatalf("totals %+v, want %+v", got, want)
	}
	if strings.Contains(logs.String(), "inputs changed") {
		t.Fatalf("the tailer restarted for a mapping change:\n%s", logs)
	}
}

// TestServer_DeletedDatabase: while the database file or its directory is
// deleted, /healthz answers 503 naming the problem, and the log says so.
func TestServer_DeletedDatabase(t *testing.T) {
	for _, tc := range []struct {
		name   string
		remove func(state, db string) error
	}{
		{"File", func(state, db string) error { return os.Remove(db) }},
		{"Directory", func(state, db string) error { return os.RemoveAll(state) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			state := filepath.Join(dir, "state")
			if err := os.Mkdir(state, 0o755); err != nil {
				t.Fatal(err)
			}
			db := MustOpenDB(t, filepath.Join(state, "apierr.db"))
			log := filepath.Join(dir, "app.log")
			appendLines(t, log, 0, 10)
			s, logs := newServer(t, db, daemon.Input{Paths: []string{log}, Mapping: auto()})
			s.MetricsListen = "127.0.0.1:0"
			stop := start(t, s)
			healthz := func() (int, string) {
				resp, err := http.Get("http://" + s.MetricsAddr() + "/healthz")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, strings.TrimSpace(string(b))
			}
			waitFor(t, "10 requests", func() bool { return readTotals(t, db.Path).requests == 10 })
			if code, body := healthz(); code != 200 || body != "ok" {
				t.Fatalf("healthz %d %q, want 200 ok", code, body)
			}
			if err := tc.remove(state, db.Path); err != nil {
				t.Fatal(err)
			}
			code, body := healthz()
			if code != http.StatusServiceUnavailable || !strings.Contains(body, db.Path) || !strings.Contains(body, "deleted") {
				t.Fatalf("healthz %d %q, want 503 naming the deleted database", code, body)
			}
			waitFor(t, "the log to say so", func() bool {
				return strings.Contains(logs.String(), "level=ERROR") && strings.Contains(logs.String(), "was deleted")
			})
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
