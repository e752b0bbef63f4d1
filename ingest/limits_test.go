package ingest_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func inode(fi os.FileInfo) (ino, dev uint64) {
	st := fi.Sys().(*syscall.Stat_t)
	return st.Ino, uint64(st.Dev)
}

// childEnv names the scenario a re-executed test binary runs: scenarios
// that measure the whole process (peak RSS, CPU, descriptors) or change
// its limits run alone in a process of their own.
const childEnv = "INGEST_TEST_CHILD"

// inChild runs the calling test again in a child process with scenario
// set, and reports its output. It returns true in the child.
func inChild(t *testing.T, scenario string) bool {
	t.Helper()
	if os.Getenv(childEnv) == scenario {
		return true
	}
	if testing.Short() {
		t.Skip("slow: runs in a process of its own")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+scenario)
	out, err := cmd.CombinedOutput()
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "MEASURED") || strings.Contains(l, "FAIL") || strings.Contains(l, "_test.go") {
			t.Log(strings.TrimSpace(l))
		}
	}
	if err != nil {
		t.Fatalf("child %s: %v\n%s", scenario, err, out)
	}
	return false
}

// procStatus returns a field of /proc/self/status in KiB.
func procStatus(tb testing.TB, field string) int64 {
	tb.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Skip("no /proc")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return n
		}
	}
	tb.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// writeHugeLine appends n bytes without a newline, a MiB at a time.
func writeHugeLine(tb testing.TB, path string, n int) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	piece := bytes.Repeat([]byte("x"), 1<<20)
	for n > 0 {
		m := min(n, len(piece))
		if _, err := f.Write(piece[:m]); err != nil {
			tb.Fatal(err)
		}
		n -= m
	}
}

// TestTailer_HugeLineMemory: a 256 MiB line, half written while followed
// and then completed, or whole before a catch-up read, is counted as too
// long, and the process's peak RSS stays under 64 MiB.
func TestTailer_HugeLineMemory(t *testing.T) {
	if !inChild(t, "hugeline") {
		return
	}
	const huge = 256 << 20
	dir := t.TempDir()

	// Catch-up: the line is in the file before reading starts.
	path := filepath.Join(dir, "catchup.log")
	appendLines(t, path, "before")
	writeHugeLine(t, path, huge)
	appendLines(t, path, "", "after")
	tl := newTailer(nil, false, path)
	c := collect(tl)
	tl.Run(context.Background())
	<-waitClosed(c)
	c.checkHuge(t)

	// Follow: the line grows while followed, then completes.
	path = filepath.Join(dir, "follow.log")
	appendLines(t, path, "before")
	c, stop := follow(path)
	c.waitLines(t, 1)
	writeHugeLine(t, path, huge/2)
	writeHugeLine(t, path, huge/2)
	appendLines(t, path, "", "after")
	c.waitLines(t, 2)
	stop()
	c.checkHuge(t)

	hwm := procStatus(t, "VmHWM")
	t.Logf("MEASURED peak RSS %.1f MiB with two 256 MiB lines (catch-up and follow)", float64(hwm)/1024)
	if limit := int64(64 << 10); hwm > limit && !raceOn {
		t.Fatalf("peak RSS %d KiB, want under %d KiB", hwm, limit)
	}
}

func (c *collector) checkHuge(tb testing.TB) {
	tb.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lines["before"] != 1 || c.lines["after"] != 1 || c.n != 2 || c.tooLong != 1 {
		tb.Fatalf("lines %v, tooLong %d; want before and after once and one line too long", c.lines, c.tooLong)
	}
}

// syncBuffer is a log destination tests read while the tailer writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

// waitFor polls cond until it holds, failing after a deadline.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// TestTailer_DescriptorLimit: with more files than descriptors, the
// tailer says so (Problem and the log), and reads every file once all the
// same, as idle files are closed and others opened.
func TestTailer_DescriptorLimit(t *testing.T) {
	if !inChild(t, "emfile") {
		return
	}
	dir := t.TempDir()
	var want []string
	for i := range 150 {
		lines := numbered(fmt.Sprintf("e%03d", i), 0, 5)
		appendLines(t, filepath.Join(dir, fmt.Sprintf("e%03d.log", i)), lines...)
		want = append(want, lines...)
	}
	lim := syscall.Rlimit{Cur: 64, Max: 64}
	var old syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old)
	lim.Max = old.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("setrlimit: %v", err)
	}
	var logs syncBuffer
	tl := newTailer(nil, true, filepath.Join(dir, "*.log"))
	tl.Idle = 100 * time.Millisecond
	tl.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	c := collect(tl)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tl.Run(ctx) }()
	var problem error
	waitFor(t, "Problem() to report the limit", func() bool {
		problem = tl.Problem()
		return problem != nil
	})
	if !strings.Contains(problem.Error(), "too many open files") {
		t.Errorf("Problem()=%v, want too many open files", problem)
	}
	c.waitLines(t, len(want))
	waitFor(t, "Problem() to clear", func() bool { return tl.Problem() == nil })
	cancel()
	<-done
	c.exactlyOnce(t, want)
	if !strings.Contains(logs.String(), "too many open files") {
		t.Errorf("log does not name the limit:\n%s", logs.String())
	}
}

// openFDs counts the process's open descriptors.
func openFDs(tb testing.TB) int {
	tb.Helper()
	e, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Skip("no /proc")
	}
	return len(e)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestTailer_ManyFiles: 500 followed files hold one descriptor each, and
// following them idle costs under 1% of a core
// (TestTailer_IdleReopen shows idle files closed and opened again).
func TestTailer_ManyFiles(t *testing.T) {
	if !inChild(t, "manyfiles") {
		return
	}
	dir := t.TempDir()
	var want []string
	for i := range 500 {
		lines := numbered(fmt.Sprintf("m%03d", i), 0, 2)
		appendLines(t, filepath.Join(dir, fmt.Sprintf("m%03d.log", i)), lines...)
		want = append(want, lines...)
	}
	base := openFDs(t)
	tl := newTailer(nil, true, filepath.Join(dir, "*.log"))
	tl.Scan = time.Second // the default
	c := collect(tl)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tl.Run(ctx) }()
	c.waitLines(t, len(want))
	fds := openFDs(t) - base
	t.Logf("MEASURED %d descriptors for 500 followed files (%d watching)", fds, tl.Watching())
	if fds > 500+8 {
		t.Errorf("%d descriptors for 500 files, want at most one each (and a few for inotify)", fds)
	}

	// Idle: measure the CPU the process uses over a few seconds.
	const window = 3 * time.Second
	cpu0, wall0 := cpuTime(), time.Now()
	if p := os.Getenv("INGEST_PROF"); p != "" {
		f, _ := os.Create(p)
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	time.Sleep(window)
	share := float64(cpuTime()-cpu0) / float64(time.Since(wall0))
	t.Logf("MEASURED idle CPU with 500 followed files: %.2f%% of a core", share*100)
	if share > 0.01 && !raceOn {
		t.Errorf("idle CPU %.2f%% of a core, want under 1%%", share*100)
	}

	cancel()
	<-done
	c.exactlyOnce(t, want)
}

// TestTailer_IdleReopen: a followed file unchanged for Idle is closed, and
// read again when it grows.
func TestTailer_IdleReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendLines(t, path, numbered("a", 0, 10)...)
	tl := newTailer(nil, true, path)
	tl.Idle = 50 * time.Millisecond
	c := collect(tl)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tl.Run(ctx) }()
	c.waitLines(t, 10)
	waitFor(t, "the idle file to be closed", func() bool { return tl.Watching() == 0 })
	appendLines(t, path, numbered("b", 0, 10)...)
	c.waitLines(t, 20)
	cancel()
	<-done
	c.exactlyOnce(t, append(numbered("a", 0, 10), numbered("b", 0, 10)...))
}
