package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apierr/apierr/ingest"
)

// collector gathers what a Tailer sends.
type collector struct {
	mu      sync.Mutex
	lines   map[string]int
	n       int
	tooLong int
	resets  int
	pos     map[ingest.FileKey]ingest.Position
	changed chan struct{}
}

func collect(t *ingest.Tailer) *collector {
	c := &collector{lines: map[string]int{}, pos: map[ingest.FileKey]ingest.Position{}, changed: make(chan struct{}, 1)}
	go func() {
		for ch := range t.C {
			c.mu.Lock()
			for line := range bytes.SplitSeq(bytes.TrimSuffix(ch.Data, []byte("\n")), []byte("\n")) {
				if len(ch.Data) > 0 {
					c.lines[string(line)]++
					c.n++
				}
			}
			c.tooLong += ch.TooLong
			if ch.Reset {
				c.resets++
			}
			c.pos[ch.Pos.Key] = ch.Pos
			c.mu.Unlock()
			select {
			case c.changed <- struct{}{}:
			default:
			}
		}
		close(c.changed)
	}()
	return c
}

// waitLines waits until n lines have arrived, failing after a deadline.
func (c *collector) waitLines(tb testing.TB, n int) {
	tb.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		got := c.n
		c.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-c.changed:
		case <-deadline:
			tb.Fatalf("got %d lines, want %d", got, n)
		}
	}
}

// exactlyOnce checks that every line of want arrived once and nothing else.
func (c *collector) exactlyOnce(tb testing.TB, want []string) {
	tb.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range want {
		if c.lines[w] != 1 {
			tb.Errorf("line %q arrived %d times, want once", w, c.lines[w])
		}
	}
	if c.n != len(want) {
		tb.Errorf("%d lines arrived, want %d", c.n, len(want))
	}
}

func appendLines(tb testing.TB, path string, lines ...string) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	for _, l := range lines {
		if _, err := io.WriteString(f, l+"\n"); err != nil {
			tb.Fatal(err)
		}
	}
}

func numbered(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		// Long enough lines that fingerprints are meaningful.
		out = append(out, fmt.Sprintf(`{"ts":"2000-01-02T03:04:05Z","line":"%s-%06d","status":200,"url":"https://h.test/x"}`, prefix, i))
	}
	return out
}

func newTailer(positions []ingest.Position, follow bool, globs ...string) *ingest.Tailer {
	t := ingest.NewTailer(positions)
	t.Globs, t.Follow = globs, follow
	t.Scan, t.Idle, t.RotateWait = 20*time.Millisecond, time.Minute, 200*time.Millisecond
	t.Poll = forcePoll
	t.Logger = slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return t
}

func TestTailer_OnePassResume(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.jsonl")
	appendLines(t, path, numbered("a", 0, 100)...)
	// A half-written last line is not consumed.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"half":`)

	tl := newTailer(nil, false, path)
	c := collect(tl)
	tl.Run(context.Background())
	<-waitClosed(c)
	c.exactlyOnce(t, numbered("a", 0, 100))
	var pos ingest.Position
	for _, p := range c.pos {
		pos = p
	}
	st, _ := os.Stat(path)
	if pos.Offset != st.Size()-int64(len(`{"half":`)) {
		t.Fatalf("Offset=%d, want %d (before the half line)", pos.Offset, st.Size()-8)
	}

	// The line is finished and more are added: a second pass from the
	// saved position reads only those.
	f.WriteString(`"done","status":200}` + "\n")
	f.Close()
	appendLines(t, path, numbered("a", 100, 150)...)
	tl = newTailer([]ingest.Position{pos}, false, path)
	c = collect(tl)
	tl.Run(context.Background())
	<-waitClosed(c)
	c.exactlyOnce(t, append([]string{`{"half":"done","status":200}`}, numbered("a", 100, 150)...))
}

func waitClosed(c *collector) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		for range c.changed {
		}
		close(done)
	}()
	return done
}

func TestTailer_FollowAppendsAndHalfLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendLines(t, path, numbered("f", 0, 10)...)
	c, stop := follow(filepath.Join(dir, "*.log"))
	c.waitLines(t, 10)

	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	want := numbered("f", 0, 10)
	for i, l := range numbered("f", 10, 60) {
		if i%2 == 0 { // half a line, then the rest
			f.WriteString(l[:20])
			time.Sleep(time.Millisecond)
			f.WriteString(l[20:] + "\n")
		} else {
			f.WriteString(l + "\n")
		}
		want = append(want, l)
	}
	f.Close()
	c.waitLines(t, 60)

	// A file that appears later under the glob is picked up.
	appendLines(t, filepath.Join(dir, "later.log"), numbered("later", 0, 5)...)
	want = append(want, numbered("later", 0, 5)...)
	c.waitLines(t, 65)
	stop()
	c.exactlyOnce(t, want)
}

func TestTailer_RenameRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	c, stop := follow(filepath.Join(dir, "app.log*"))

	// The writer keeps its descriptor across the rename, as a logger that
	// reopens only on a signal does.
	w, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	var want []string
	write := func(f *os.File, lines []string) {
		for _, l := range lines {
			f.WriteString(l + "\n")
		}
		want = append(want, lines...)
	}
	write(w, numbered("r", 0, 50))
	c.waitLines(t, 50)
	for gen := 1; gen <= 3; gen++ {
		if err := os.Rename(path, fmt.Sprintf("%s.%d", path, gen)); err != nil {
			t.Fatal(err)
		}
		write(w, numbered(fmt.Sprintf("late%d", gen), 0, 20)) // still to the renamed file
		w.Close()
		w, _ = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		write(w, numbered(fmt.Sprintf("gen%d", gen), 0, 30))
		c.waitLines(t, len(want))
	}
	w.Close()
	time.Sleep(300 * time.Millisecond) // several scans: nothing more may arrive
	stop()
	c.exactlyOnce(t, want)
}

// TestTailer_RenameRotationNotMatched: the rotated name is outside the
// glob; the lines written to it after the rename are still read once.
func TestTailer_RenameRotationNotMatched(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	c, stop := follow(path)
	w, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	for _, l := range numbered("a", 0, 20) {
		w.WriteString(l + "\n")
	}
	c.waitLines(t, 20)
	os.Rename(path, filepath.Join(dir, "old.1"))
	for _, l := range numbered("late", 0, 10) {
		w.WriteString(l + "\n")
	}
	w.Close()
	appendLines(t, path, numbered("b", 0, 20)...)
	c.waitLines(t, 50)
	stop()
	c.exactlyOnce(t, append(append(numbered("a", 0, 20), numbered("late", 0, 10)...), numbered("b", 0, 20)...))
}

func TestTailer_CopyTruncate(t *testing.T) {
	for _, matchCopy := range []bool{false, true} {
		t.Run(fmt.Sprintf("GlobMatchesCopy=%v", matchCopy), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			glob := path
			if matchCopy {
				glob = path + "*"
			}
			c, stop := follow(glob)
			appendLines(t, path, numbered("a", 0, 40)...)
			c.waitLines(t, 40)
			want := numbered("a", 0, 40)
			for gen := 1; gen <= 2; gen++ {
				data, _ := os.ReadFile(path)
				os.WriteFile(fmt.Sprintf("%s.%d", path, gen), data, 0o644)
				os.Truncate(path, 0)
				more := numbered(fmt.Sprintf("gen%d", gen), 0, 25)
				appendLines(t, path, more...)
				want = append(want, more...)
				c.waitLines(t, len(want))
			}
			time.Sleep(300 * time.Millisecond)
			stop()
			c.exactlyOnce(t, want)
			if c.resets == 0 {
				t.Error("no reset reported for the truncations")
			}
		})
	}
}

func TestTailer_TooLong(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.jsonl")
	huge := strings.Repeat("x", 3<<20) // longer than the read block
	appendLines(t, path, "ok1", huge, "ok2", huge[:5000], "ok3")
	tl := newTailer(nil, false, path)
	tl.MaxLine = 4096
	c := collect(tl)
	tl.Run(context.Background())
	<-waitClosed(c)
	c.mu.Lock()
	defer c.mu.Unlock()
	// The 5000-byte line arrives in a chunk (the consumer checks its
	// length); the 3 MiB one is skipped by the reader.
	if c.lines["ok1"] != 1 || c.lines["ok2"] != 1 || c.lines["ok3"] != 1 || c.tooLong != 1 {
		t.Fatalf("lines %d, tooLong %d; want ok1..ok3 once and one skipped line", len(c.lines), c.tooLong)
	}
	st, _ := os.Stat(path)
	for _, p := range c.pos {
		if p.Offset != st.Size() {
			t.Fatalf("Offset=%d, want %d", p.Offset, st.Size())
		}
	}
}

// TestTailer_LongerThanBlock: lines longer than a read block but within
// the limit are read whole, once, when the file is read as a backlog and
// when they are written in pieces while it is followed.
func TestTailer_LongerThanBlock(t *testing.T) {
	long := func(tag string, n int) string { return tag + strings.Repeat("x", n-len(tag)) }
	lines := []string{"a", long("b", ingest.ChunkSize+1), "c", long("d", 3*ingest.ChunkSize/2), long("e", ingest.DefaultMaxLine), "f"}
	t.Run("Backlog", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "a.jsonl")
		appendLines(t, path, lines...)
		tl := newTailer(nil, false, path)
		c := collect(tl)
		tl.Run(context.Background())
		<-waitClosed(c)
		c.exactlyOnce(t, lines)
	})
	t.Run("Follow", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "a.jsonl")
		appendLines(t, path, "start")
		c, stop := follow(path)
		c.waitLines(t, 1)
		w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		for i, l := range lines {
			// Each line in three writes, the tailer reading in between.
			l += "\n"
			for _, part := range []string{l[:len(l)/3], l[len(l)/3 : 2*len(l)/3], l[2*len(l)/3:]} {
				if _, err := w.WriteString(part); err != nil {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			c.waitLines(t, i+2)
		}
		stop()
		c.exactlyOnce(t, append([]string{"start"}, lines...))
	})
}

var logOut io.Writer = io.Discard

// TestTailer_Deleted: a file deleted while a writer still appends to it is
// read to its end through the open descriptor.
func TestTailer_Deleted(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	c, stop := follow(path)
	w, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	for _, l := range numbered("d", 0, 20) {
		w.WriteString(l + "\n")
	}
	c.waitLines(t, 20)
	os.Remove(path)
	for _, l := range numbered("gone", 0, 10) {
		w.WriteString(l + "\n")
	}
	w.Close()
	c.waitLines(t, 30)
	stop()
	c.exactlyOnce(t, append(numbered("d", 0, 20), numbered("gone", 0, 10)...))
}

// follow starts a following tailer on globs; stop stops it and waits.
func follow(globs ...string) (*collector, func()) {
	tl := newTailer(nil, true, globs...)
	c := collect(tl)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tl.Run(ctx) }()
	return c, func() { cancel(); <-done }
}

// forcePoll makes newTailer's tailers poll instead of using inotify.
var forcePoll = os.Getenv("INGEST_TEST_POLL") != ""

// TestTailer_Polling runs the following tests again with polling, the
// fallback where inotify is not available.
func TestTailer_Polling(t *testing.T) {
	if forcePoll {
		t.Skip("polling already")
	}
	forcePoll = true
	defer func() { forcePoll = false }()
	for name, test := range map[string]func(*testing.T){
		"FollowAppendsAndHalfLines": TestTailer_FollowAppendsAndHalfLines,
		"RenameRotation":            TestTailer_RenameRotation,
		"CopyTruncate":              TestTailer_CopyTruncate,
		"CopyTruncateSlowCopy":      TestTailer_CopyTruncateSlowCopy,
		"SamePrefixRenameRotation":  TestTailer_SamePrefixRenameRotation,
		"CompressedRotation":        TestTailer_CompressedRotationFollowing,
		"IdleReopen":                TestTailer_IdleReopen,
	} {
		t.Run(name, test)
	}
}
