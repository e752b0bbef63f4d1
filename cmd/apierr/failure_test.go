package main

import (
	"bufio"
	"errors"
	"fmt"
	"github.com/apierr/apierr/storage"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRun_DatabaseLocked: another process holds the database locked past
// the busy timeout. Commits fail and are retried with backoff, reading
// pauses, positions do not move past uncommitted counts; once the lock is
// gone every line is counted once.
func TestRun_DatabaseLocked(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the busy timeout")
	}
	cli, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Skip("the sqlite3 command is not installed (Debian: sqlite3); .ci/run installs it")
	}
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	os.Mkdir(logs, 0o755)
	dbPath := filepath.Join(dir, "apierr.db")
	config := filepath.Join(dir, "apierr.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf("db: %s\ninputs: [{paths: [%q]}]\nflush_interval: 50ms\nmetrics_listen: \"\"\n", dbPath, filepath.Join(logs, "*.log"))), 0o644)
	logFile := filepath.Join(logs, "app.log")
	write := func(from, to int) {
		f, _ := os.OpenFile(logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		for i := from; i < to; i++ {
			if i%13 != 6 { // no malformed lines here
				f.WriteString(testTraffic(i) + "\n")
			}
		}
		f.Close()
	}
	write(0, 100)
	d := startDaemon(t, config)
	defer d.kill()
	waitForDaemon(t, d)
	waitFor(t, "the first lines", func() bool { return readCounts(t, dbPath).requests == 92 })

	// Lock the database from another process.
	lock := exec.Command(cli, dbPath)
	stdin, _ := lock.StdinPipe()
	stdout, _ := lock.StdoutPipe()
	if err := lock.Start(); err != nil {
		t.Fatal(err)
	}
	defer lock.Process.Kill()
	io.WriteString(stdin, "BEGIN EXCLUSIVE;\nSELECT 'locked';\n")
	if l, _ := bufio.NewReader(stdout).ReadString('\n'); strings.TrimSpace(l) != "locked" {
		t.Fatalf("sqlite3 did not take the lock: %q", l)
	}
	write(100, 200)
	waitFor(t, "a failed commit", func() bool { return strings.Contains(d.out.String(), "commit failed, retrying") })
	if !strings.Contains(d.out.String(), "database is locked") {
		t.Errorf("the log does not say the database is locked:\n%s", d.out)
	}

	// Unlock: the retry commits, nothing lost or doubled.
	io.WriteString(stdin, "COMMIT;\n")
	stdin.Close()
	lock.Wait()
	waitFor(t, "every line after the lock", func() bool { return readCounts(t, dbPath).requests == 185 })
	time.Sleep(200 * time.Millisecond)
	d.stop(t)
	if c := readCounts(t, dbPath); c.requests != 185 || c.malformed != 0 {
		t.Fatalf("after the lock: %d requests, %d malformed; want 185 and 0", c.requests, c.malformed)
	}
}

// TestRun_DiskFull: the database's filesystem fills up. Commits fail with a
// clear message and are retried; once space is freed every line is
// counted once.
func TestRun_DiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a small filesystem")
	}
	dir := t.TempDir()
	mnt := filepath.Join(dir, "small")
	os.Mkdir(mnt, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (needs root): %v %s", err, out)
	}
	defer exec.Command("umount", "-l", mnt).Run()
	ballast := filepath.Join(mnt, "ballast")
	os.WriteFile(ballast, make([]byte, 3700<<10), 0o600)

	logs := filepath.Join(dir, "logs")
	os.Mkdir(logs, 0o755)
	dbPath := filepath.Join(mnt, "apierr.db")
	config := filepath.Join(dir, "apierr.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf("db: %s\ninputs: [{paths: [%q]}]\nflush_interval: 50ms\nmetrics_listen: \"\"\n", dbPath, filepath.Join(logs, "*.log"))), 0o644)
	d := startDaemon(t, config)
	defer d.kill()
	// Many distinct hosts and paths: the database grows past the free space.
	var b strings.Builder
	const n = 3000
	ts := testTraffic(0)[:strings.Index(testTraffic(0), `,"method"`)]
	for i := range n {
		fmt.Fprintf(&b, `%s,"url":"https://host-%d.full.test/a/%d/b","status":503,"response_body":"{\"error\":{\"code\":\"code_%d\",\"message\":\"message %d\"}}"}`+"\n", ts, i, i, i, i)
	}
	os.WriteFile(filepath.Join(logs, "app.log"), []byte(b.String()), 0o644)
	waitFor(t, "a commit to fail for lack of space", func() bool { return strings.Contains(d.out.String(), "disk is full") })

	os.Remove(ballast)
	waitFor(t, "every line once space is back", func() bool { return readCounts(t, dbPath).requests == n })
	d.stop(t)
	if c := readCounts(t, dbPath); c.requests != n {
		t.Fatalf("%d requests, want %d", c.requests, n)
	}
}

// TestOpenFailures: a database that cannot be opened gets one clear line
// and exit code 1.
func TestOpenFailures(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.db")
	os.WriteFile(corrupt, []byte(strings.Repeat("not a database ", 100)), 0o600)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"CorruptReport", []string{"report", "--db", corrupt}, "corrupt"},
		{"CorruptIngest", []string{"ingest", "--db", corrupt, "../../testdata/sample.jsonl"}, "corrupt"},
	}
	// A read-only filesystem (root ignores file modes, not mount flags).
	ro := filepath.Join(dir, "ro")
	os.Mkdir(ro, 0o755)
	if exec.Command("mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", ro).Run() == nil {
		defer exec.Command("umount", "-l", ro).Run()
		tests = append(tests, struct {
			name string
			args []string
			want string
		}{"ReadOnlyDirectory", []string{"ingest", "--db", filepath.Join(ro, "apierr.db"), "../../testdata/sample.jsonl"}, "read-only"})
	}
	// Another program's SQLite database: refused, and left byte-identical.
	foreign := filepath.Join(dir, "app.db")
	var foreignBytes []byte
	if cli, err := exec.LookPath("sqlite3"); err == nil {
		if out, err := exec.Command(cli, foreign, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('x');").CombinedOutput(); err != nil {
			t.Fatalf("sqlite3: %v %s", err, out)
		}
		foreignBytes, _ = os.ReadFile(foreign)
		for _, cmd := range [][]string{{"ingest", "--db", foreign, "../../testdata/sample.jsonl"}, {"report", "--db", foreign}} {
			tests = append(tests, struct {
				name string
				args []string
				want string
			}{"Foreign" + cmd[0], cmd, "not an apierr database"})
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := run(t, "", tc.args...)
			if code != 1 || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
				t.Fatalf("exit %d, stderr %q; want 1 and one line with %q", code, errs, tc.want)
			}
		})
	}
	if foreignBytes != nil {
		after, _ := os.ReadFile(foreign)
		if string(after) != string(foreignBytes) {
			t.Error("the foreign database changed")
		}
		for _, suffix := range []string{"-wal", "-shm", ".lock"} {
			if _, err := os.Stat(foreign + suffix); err == nil {
				t.Errorf("%s was created beside the foreign database", suffix)
			}
		}
	}
}

// dbReady reports whether a reader can open the database: the daemon has
// created its tables.
func dbReady(path string) bool {
	db := storage.NewDB(path)
	db.ReadOnly = true
	if err := db.Open(); err != nil {
		return false
	}
	db.Close()
	return true
}

// TestOneWriter: while the daemon writes a database, a second `apierr run`
// and an `apierr ingest` of the same database each stop with one line
// naming the holder and its pid, exit 1, and count nothing twice.
func TestOneWriter(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	d, _, dbPath := metricsDaemon(t, 40, "")
	waitFor(t, "the first lines", func() bool { c := readCounts(t, dbPath); return c.requests+c.malformed == 40 })
	config := filepath.Join(filepath.Dir(dbPath), "apierr.yaml")
	pid := strconv.Itoa(d.cmd.Process.Pid)

	second := exec.Command(binary, "run", "--config", config)
	out, err := second.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("second run: %v, want exit 1\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "pid "+pid) || !strings.Contains(lines[0], "in use") {
		t.Errorf("second run says %q, want one line naming the holder's pid %s", out, pid)
	}
	logs := filepath.Join(filepath.Dir(dbPath), "logs", "app.log")
	code, _, errs := run(t, "", "ingest", "-q", "--db", dbPath, logs)
	if code != 1 || !strings.Contains(errs, "pid "+pid) {
		t.Errorf("ingest: exit %d, %q; want exit 1 naming pid %s", code, errs, pid)
	}
	if c := readCounts(t, dbPath); c.requests+c.malformed != 40 {
		t.Errorf("%d lines counted, want 40", c.requests+c.malformed)
	}
}
