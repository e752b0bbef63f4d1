package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apierr/apierr/report"
)

// TestCLI: exit codes, where the output goes and what the messages say.
func TestCLI(t *testing.T) {
	db := reportDB(t, "../../testdata/report/current.jsonl")
	dir := t.TempDir()
	small := filepath.Join(dir, "small.jsonl")
	if err := os.WriteFile(small, []byte(testTraffic(0)+"\n"+testTraffic(1)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.db")
	tests := []struct {
		name       string
		args       []string
		code       int
		out, err   string // wanted in stdout, in stderr
		notInError string // must not be in stderr
	}{
		// Help and version.
		{"HelpShort", []string{"classify", "-h"}, 0, "Usage: apierr classify", "", ""},
		{"HelpLong", []string{"report", "--help"}, 0, "Usage: apierr report", "", ""},
		{"HelpCommand", []string{"help", "ingest"}, 0, "Usage: apierr ingest", "", ""},
		{"HelpTop", []string{"help"}, 0, "apierr help <command>", "", ""},
		{"HelpTwoDashes", []string{"report", "--help"}, 0, "--format FORMAT", "", ""},
		{"HelpPlaceholder", []string{"demo", "--help"}, 0, "--rate N", "", ""},
		{"DashDashVersion", []string{"--version"}, 0, "apierr ", "", ""},
		{"UnknownFlag", []string{"report", "--nope"}, 2, "", "flag provided but not defined: --nope (run 'apierr report --help')", ""},
		{"FlagAfterFiles", []string{"ingest", small, "-q", "--db", other}, 0, "", "", "apierr"},
		{"DashDashEndsFlags", []string{"ingest", "--db", other, "--", "-q"}, 1, "", "-q: no such file or directory", ""},

		// Strict report filters.
		{"UnknownVendor", []string{"report", "--db", db, "--vendor", "nosuch"}, 2, "", `unknown vendor "nosuch" (present: `, "["},
		{"UnknownVendorListsWords", []string{"report", "--db", db, "--vendor", "nosuch"}, 2, "", "picqer, piggy", ""},
		{"SinceWithFrom", append([]string{"report", "--db", db, "--since", "1h"}, reportWindow...), 2, "", "--since or --from/--to, not both", ""},
		{"BadTime", []string{"report", "--db", db, "--from", "yesterday", "--to", "now"}, 2, "", `--from: "yesterday" is not a time`, ""},
		{"YearZero", []string{"report", "--db", db, "--from", "0000-01-01T00:00:00Z", "--to", "2026-11-21"}, 2, "", "years 1 to 9999", ""},
		{"YearZeroDate", []string{"report", "--db", db, "--from", "0000-06-01", "--to", "2026-11-21"}, 2, "", "years 1 to 9999", ""},
		{"DateWindow", []string{"report", "--db", db, "--format", "csv", "--from", "2026-11-20", "--to", "2026-11-21"}, 0, "picqer,24,", "", ""},
		{"RelativeWindow", []string{"report", "--db", db, "--format", "csv", "--from", "-6h", "--to", "now"}, 0, "vendor,code", "", ""},

		// Messages.
		{"CodesUnknownVendor", []string{"codes", "--vendor", "nosuch"}, 2, "", "piggy, ", "["},
		{"VendorsDirRun", []string{"run", "--db", other, "--vendors-dir", "/nonexistent/vendors.d", "x.log"}, 2, "", "/nonexistent/vendors.d", ""},
		{"VendorsDirIngest", []string{"ingest", "--db", other, "--vendors-dir", "/nonexistent/vendors.d", small}, 2, "", "/nonexistent/vendors.d", ""},
		{"VendorsDirReport", []string{"report", "--db", db, "--vendors-dir", "/nonexistent/vendors.d"}, 2, "", "/nonexistent/vendors.d", ""},
		{"VendorsDirClassify", []string{"classify", "--vendors-dir", "/nonexistent/vendors.d", small}, 2, "", "/nonexistent/vendors.d", ""},
		{"VendorsDirCodes", []string{"codes", "--vendors-dir", "/nonexistent/vendors.d"}, 2, "", "/nonexistent/vendors.d", ""},
		{"IngestDirectory", []string{"ingest", "--db", other, dir}, 1, "", dir + " is a directory", ""},
		{"IngestDatabaseIsDirectory", []string{"ingest", "--db", dir, small}, 1, "", "is a directory", ""},
		{"IngestMissing", []string{"ingest", "--db", other, "/nonexistent/x.jsonl"}, 1, "", "no such file", ""},
		{"ReportNoDatabase", []string{"report", "--db", "/nonexistent/apierr.db"}, 1, "", "no database at /nonexistent/apierr.db", ""},
		{"BadGlob", []string{"run", "--db", other, filepath.Join(dir, "[x.log")}, 2, "", `glob "` + dir + `/[x.log": syntax error in pattern`, ""},
	}
	path := regexp.MustCompile(`/[\w./\[\]-]+`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := run(t, "", tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errs, tc.err) ||
				tc.notInError != "" && strings.Contains(errs, tc.notInError) {
				t.Fatalf("exit %d, stdout %.300q, stderr %q; want %d, %q in stdout, %q in stderr and not %q",
					code, out, errs, tc.code, tc.out, tc.err, tc.notInError)
			}
			seen := map[string]bool{}
			for _, p := range path.FindAllString(errs, -1) {
				if seen[p] {
					t.Fatalf("stderr names %s twice: %q", p, errs)
				}
				seen[p] = true
			}
		})
	}
}

// TestReport_VendorSelection: vendor names match in any case, and several
// vendors are selected by repeating --vendor or by a comma list.
func TestReport_VendorSelection(t *testing.T) {
	db := reportDB(t, "../../testdata/report/current.jsonl")
	vendors := func(args ...string) []string {
		t.Helper()
		code, out, errs := run(t, "", append(append([]string{"report", "--db", db, "--format", "json", "--top", "0"}, reportWindow...), args...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		var r struct {
			Vendors  []struct{ Vendor string }
			Failures []struct{ Vendor string }
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		set := map[string]bool{}
		for _, v := range r.Vendors {
			set[v.Vendor] = true
		}
		for _, f := range r.Failures {
			set[f.Vendor] = true
		}
		var list []string
		for v := range set {
			list = append(list, v)
		}
		sort.Strings(list)
		return list
	}
	for name, args := range map[string][]string{
		"Repeated":  {"--vendor", "picqer", "--vendor", "piggy"},
		"Comma":     {"--vendor", "picqer,piggy"},
		"AnyCase":   {"--vendor", "PICQER", "--vendor", "Piggy"},
		"CommaCase": {"--vendor", "Picqer, PIGGY"},
	} {
		if got := strings.Join(vendors(args...), " "); got != "picqer piggy" {
			t.Errorf("%s: vendors %q, want picqer piggy", name, got)
		}
	}
}

// TestWantColor: colour only for a table on a terminal, NO_COLOR unset and
// TERM not dumb.
func TestWantColor(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	tests := []struct {
		name   string
		tty    bool
		format report.Format
		env    func(string) string
		want   bool
	}{
		{"Terminal", true, report.Table, env("TERM", "xterm-256color"), true},
		{"Pipe", false, report.Table, env("TERM", "xterm"), false},
		{"Markdown", true, report.Markdown, env(), false},
		{"NoColor", true, report.Table, env("NO_COLOR", "1"), false},
		{"DumbTerminal", true, report.Table, env("TERM", "dumb"), false},
	}
	for _, tc := range tests {
		if got := wantColor(tc.tty, tc.format, tc.env); got != tc.want {
			t.Errorf("%s: wantColor=%v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestIngest_SIGINT: the first SIGINT stops `apierr ingest -` promptly on
// an endless input and on a pipe that keeps growing, commits what was read
// and exits 130.
func TestIngest_SIGINT(t *testing.T) {
	t.Run("EndlessZeros", func(t *testing.T) {
		zero, err := os.Open("/dev/zero")
		if err != nil {
			t.Skip(err)
		}
		defer zero.Close()
		db := filepath.Join(t.TempDir(), "apierr.db")
		cmd := exec.Command(binary, "ingest", "--db", db, "-")
		cmd.Stdin = zero
		interrupt(t, cmd, func() bool { return dbReady(db) })
	})
	t.Run("GrowingPipe", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "apierr.db")
		cmd := exec.Command(binary, "ingest", "--db", db, "-")
		w, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		var written atomic.Int64
		go func() { // the input grows until the test ends
			for i := 0; ctx.Err() == nil; i++ {
				n, err := w.Write([]byte(testTraffic(i%10000) + "\n"))
				if err != nil {
					return
				}
				written.Add(int64(n))
			}
		}()
		// Interrupt once megabytes went through the pipe: whole chunks of
		// lines were read, not only the first bytes.
		out := interrupt(t, cmd, func() bool { return dbReady(db) && written.Load() > 4<<20 })
		if !strings.Contains(out, "interrupted: committed") {
			t.Fatalf("stderr %q, want it to say what was committed", out)
		}
		stop()
		code, js, errs := run(t, "", "report", "--db", db, "--format", "json", "--from", "2000-01-01", "--to", "+24h")
		var r struct{ Totals struct{ Requests int64 } }
		if code != 0 || json.Unmarshal([]byte(js), &r) != nil || r.Totals.Requests == 0 {
			t.Fatalf("report after the interrupt (ingest said %q): exit %d, %s, %.200q: want committed requests", out, code, errs, js)
		}
	})
}

// interrupt starts cmd, waits until ready, sends SIGINT and wants exit
// code 130 within 10 s. It returns stderr.
func interrupt(t *testing.T, cmd *exec.Cmd, ready func() bool) string {
	t.Helper()
	var errb syncBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	waitFor(t, "the ingest to read", ready)
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
		if cmd.ProcessState.ExitCode() != 130 {
			t.Fatalf("exit %v after SIGINT, want 130; stderr %q", err, errb.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("still running 10 s after SIGINT; stderr %q", errb.String())
	}
	return errb.String()
}

// TestRun_Globs: `run` says which files it follows, warns about a glob
// that matches nothing, and again when that changes.
func TestRun_Globs(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "a.jsonl")
	os.WriteFile(log, []byte(testTraffic(0)+"\n"), 0o600)
	later := filepath.Join(dir, "later", "*.jsonl")
	os.Mkdir(filepath.Join(dir, "later"), 0o700)
	cfg := filepath.Join(dir, "apierr.yaml")
	os.WriteFile(cfg, []byte("db: "+filepath.Join(dir, "apierr.db")+"\nmetrics_listen: \"\"\nsummary: {every: 0s}\n"), 0o600)

	defer func(d time.Duration) { globCheckEvery = d }(globCheckEvery)
	globCheckEvery = 20 * time.Millisecond
	var errb syncBuffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &errb, Stderr: &errb, Getenv: func(string) string { return "" }}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, []string{"run", "--config", cfg, log, later}) }()
	defer func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("run did not stop")
		}
	}()
	waitFor(t, "INFO following "+log, func() bool {
		return strings.Contains(errb.String(), `level=INFO msg=following file=`+log)
	})
	waitFor(t, "WARN for "+later, func() bool {
		return strings.Contains(errb.String(), `level=WARN msg="glob matches no file yet; it is looked at again as files appear" glob=`+later)
	})
	os.WriteFile(filepath.Join(dir, "later", "b.jsonl"), nil, 0o600)
	waitFor(t, "the glob matching again", func() bool {
		return strings.Contains(errb.String(), `msg="glob matches files again" glob=`+later)
	})
	os.Remove(filepath.Join(dir, "later", "b.jsonl"))
	waitFor(t, "the glob matching nothing again", func() bool {
		return strings.Contains(errb.String(), `level=WARN msg="glob matches no file any more" glob=`+later)
	})
}

// TestLogger_Journal: under systemd the log lines leave the time to the
// journal.
func TestLogger_Journal(t *testing.T) {
	for _, tc := range []struct {
		name, stream string
		time         bool
	}{{"Terminal", "", true}, {"Journal", "8:1234", false}} {
		var b strings.Builder
		m := &Main{Stderr: &b, Getenv: func(k string) string {
			if k == "JOURNAL_STREAM" {
				return tc.stream
			}
			return ""
		}}
		m.logger("info").Info("following", "file", "/var/log/a.jsonl")
		if got := strings.HasPrefix(b.String(), "time="); got != tc.time {
			t.Errorf("%s: %q, want time= %v", tc.name, b.String(), tc.time)
		}
		if !strings.Contains(b.String(), "level=INFO msg=following file=/var/log/a.jsonl") {
			t.Errorf("%s: %q", tc.name, b.String())
		}
	}
}

// TestBuild_NoCgo: a build without cgo fails with an error that says what
// is needed, first.
func TestBuild_NoCgo(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the storage package again")
	}
	cmd := exec.Command("go", "build", "-o", os.DevNull, "../../storage")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("a build with CGO_ENABLED=0 succeeded")
	}
	lines := strings.Split(string(out), "\n")
	if len(lines) < 2 || !strings.Contains(lines[1], "needs_cgo") || !strings.Contains(lines[1], "gcc") {
		t.Fatalf("the first error does not name the need for cgo and gcc:\n%s", out)
	}
}

// TestReport_DemoFits80: `report --top 8` on the demo's data fits 80
// columns.
func TestReport_DemoFits80(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for seconds")
	}
	dir := t.TempDir()
	if code, _, errs := run(t, "", "demo", "--keep", dir, "--duration", "2s", "--every", "1s", "--rate", "1000"); code != 0 {
		t.Fatalf("demo: exit %d: %s", code, errs)
	}
	code, out, errs := run(t, "", "report", "--db", filepath.Join(dir, "apierr.db"), "--format", "table", "--top", "8", "--since", "1h")
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errs)
	}
	for i, line := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(line); n > 80 {
			t.Errorf("line %d is %d columns: %q", i+1, n, line)
		}
	}
}

// TestReport_ReadOnlyMount: `apierr report` reads a database that a writer
// left cleanly (no -wal, no -shm) in a read-only bind mount, as the report
// unit's ReadOnlyPaths= makes it. Not root: a chmod 0555 directory.
func TestReport_ReadOnlyMount(t *testing.T) {
	db := reportDB(t, "../../testdata/report/current.jsonl")
	dir := filepath.Dir(db)
	for _, s := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(db + s); err == nil {
			t.Fatalf("%s left by a clean ingest", db+s)
		}
	}
	args := append([]string{"report", "--db", db, "--format", "csv"}, reportWindow...)
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("unshare"); err != nil {
			t.Skip("root without unshare: cannot make a read-only mount")
		}
		cmd = exec.Command("unshare", append([]string{"-rm", "sh", "-c", `mount --bind -o ro "$1" "$1" && shift && exec "$@"`, "sh", dir, binary}, args...)...)
	} else {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		cmd = exec.Command(binary, args...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "picqer,24,400") {
		t.Fatalf("report from a read-only directory: %v\n%s", err, out)
	}
	if _, err := os.Stat(db + "-shm"); err == nil {
		t.Fatalf("the reader created %s", db+"-shm")
	}
}

// TestDemo_CtrlC: Ctrl-C on the demo exits 130 and says nothing more.
func TestDemo_CtrlC(t *testing.T) {
	cmd := exec.Command(binary, "demo", "--duration", "60s", "--every", "1s", "--rate", "100")
	var out syncBuffer
	cmd.Stdout = &out
	errs := interrupt(t, cmd, func() bool { return strings.Contains(out.String(), "apierr demo: writing") })
	if errs != "" {
		t.Fatalf("stderr %q after Ctrl-C, want nothing", errs)
	}
}
