package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apierr/apierr/ingest"
)

// header is a constant first line longer than a kilobyte, as some loggers
// write: every file that starts with it has the same first kilobyte.
var header = `{"app":"checkout","env":"production","host":"web-01","note":"` + strings.Repeat("h", 1100) + `"}`

// sortedLines are lines as a logger with sorted keys writes them: the
// first hundred bytes of every line are the same.
func sortedLines(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf(`{"app":"checkout","env":"production","host":"web-01","level":"info","service":"payments","status":200,"url":"https://h.test/x","z":"%s-%06d"}`, prefix, i))
	}
	return out
}

// withHeader is a file's lines: the constant header, then lines.
func withHeader(lines []string) []string { return append([]string{header}, lines...) }

// onePass reads globs once from positions and returns what arrived and
// the last position of every file.
func onePass(tb testing.TB, positions []ingest.Position, globs ...string) (*collector, []ingest.Position) {
	tb.Helper()
	tl := newTailer(positions, false, globs...)
	c := collect(tl)
	tl.Run(context.Background())
	<-waitClosed(c)
	return c, c.positions()
}

func (c *collector) positions() []ingest.Position {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []ingest.Position
	for _, p := range c.pos {
		out = append(out, p)
	}
	return out
}

// count returns how often line arrived.
func (c *collector) count(line string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lines[line]
}

// waitPos waits until the file at path has a position at its size: the
// tailer has decided about it and read it to its end.
func (c *collector) waitPos(tb testing.TB, path string) {
	tb.Helper()
	c.waitOffset(tb, path, -1)
}

// waitOffset waits until the file at path has a position at off (-1: its
// size).
func (c *collector) waitOffset(tb testing.TB, path string, off int64) {
	tb.Helper()
	deadline := time.After(10 * time.Second)
	for {
		fi, err := os.Stat(path)
		if err != nil {
			tb.Fatal(err)
		}
		want := off
		if want < 0 {
			want = fi.Size()
		}
		c.mu.Lock()
		p, ok := c.pos[keyOf(fi)]
		c.mu.Unlock()
		if ok && p.Offset == want {
			return
		}
		select {
		case <-c.changed:
		case <-deadline:
			tb.Fatalf("%s: position %d (known %v), want %d", path, p.Offset, ok, want)
		}
	}
}

func keyOf(fi os.FileInfo) ingest.FileKey {
	ino, dev := inode(fi)
	return ingest.FileKey{Dev: dev, Ino: ino}
}

// TestTailer_SamePrefixRenameRotation: files whose first kilobyte is the
// same are told apart by inode: after a rename rotation, the new file is
// read from its start.
func TestTailer_SamePrefixRenameRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	c, stop := follow(filepath.Join(dir, "app.log*"))
	want := withHeader(sortedLines("g0", 0, 300))
	appendLines(t, path, want...)
	c.waitLines(t, len(want))
	for gen := 1; gen <= 3; gen++ {
		if err := os.Rename(path, fmt.Sprintf("%s.%d", path, gen)); err != nil {
			t.Fatal(err)
		}
		more := withHeader(sortedLines(fmt.Sprintf("g%d", gen), 0, 100*gen))
		appendLines(t, path, more...)
		want = append(want, more...)
		c.waitLines(t, len(want))
	}
	c.waitPos(t, path)
	stop()
	c.exactlyOnceCounting(t, want)
}

// exactlyOnceCounting is exactlyOnce for lists where one line (the header)
// is in every file: each line arrives as often as it was written.
func (c *collector) exactlyOnceCounting(tb testing.TB, want []string) {
	tb.Helper()
	n := map[string]int{}
	for _, w := range want {
		n[w]++
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for w, k := range n {
		if c.lines[w] != k {
			tb.Errorf("line %.60q... arrived %d times, want %d", w, c.lines[w], k)
		}
	}
	if c.n != len(want) {
		tb.Errorf("%d lines arrived, want %d", c.n, len(want))
	}
}

// TestTailer_SamePrefixManyFiles: many files with the same first kilobyte,
// some appearing while others are read, each read once whole; then again
// from the saved positions, only what was added.
func TestTailer_SamePrefixManyFiles(t *testing.T) {
	dir := t.TempDir()
	var want []string
	for i := range 20 {
		lines := withHeader(sortedLines(fmt.Sprintf("f%02d", i), 0, 5+i*10))
		appendLines(t, filepath.Join(dir, fmt.Sprintf("f%02d.log", i)), lines...)
		want = append(want, lines...)
	}
	c, stop := follow(filepath.Join(dir, "*.log"))
	c.waitLines(t, len(want))
	for i := 20; i < 40; i++ { // files appearing later, some shorter than the first ones
		lines := withHeader(sortedLines(fmt.Sprintf("f%02d", i), 0, 3+(i%5)))
		appendLines(t, filepath.Join(dir, fmt.Sprintf("f%02d.log", i)), lines...)
		want = append(want, lines...)
	}
	c.waitLines(t, len(want))
	for i := range 40 {
		c.waitPos(t, filepath.Join(dir, fmt.Sprintf("f%02d.log", i)))
	}
	stop()
	c.exactlyOnceCounting(t, want)

	// Restart from the saved positions, with lines added meanwhile.
	positions := c.positions()
	var more []string
	for i := 0; i < 40; i += 3 {
		lines := sortedLines(fmt.Sprintf("more%02d", i), 0, 7)
		appendLines(t, filepath.Join(dir, fmt.Sprintf("f%02d.log", i)), lines...)
		more = append(more, lines...)
	}
	c2, _ := onePass(t, positions, filepath.Join(dir, "*.log"))
	c2.exactlyOnce(t, more)
}

// TestTailer_SamePrefixTwoRuns: two one-pass runs over two different files
// with the same first kilobyte, the second shorter or longer than the
// first: each is read whole.
func TestTailer_SamePrefixTwoRuns(t *testing.T) {
	for _, n := range []int{40, 400} {
		t.Run(fmt.Sprintf("Lines=%d", n), func(t *testing.T) {
			dir := t.TempDir()
			a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
			appendLines(t, a, withHeader(sortedLines("a", 0, 200))...)
			appendLines(t, b, withHeader(sortedLines("b", 0, n))...)
			c, positions := onePass(t, nil, a)
			c.exactlyOnce(t, withHeader(sortedLines("a", 0, 200)))
			c, _ = onePass(t, positions, b)
			c.exactlyOnce(t, withHeader(sortedLines("b", 0, n)))
		})
	}
}

// TestTailer_InodeReused: a file deleted and replaced by another under the
// same name (and perhaps the same inode) with the same first bytes is read
// whole.
func TestTailer_ReplacedWhileStopped(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendLines(t, path, withHeader(sortedLines("old", 0, 50))...)
	_, positions := onePass(t, nil, path)
	// Truncated and rewritten past its old size, same first kilobyte.
	os.Truncate(path, 0)
	appendLines(t, path, withHeader(sortedLines("new", 0, 80))...)
	c, _ := onePass(t, positions, path)
	c.exactlyOnce(t, withHeader(sortedLines("new", 0, 80)))
}

// TestTailer_CopyTruncateStopped: copytruncate while the tailer is
// stopped; the unread end of the original is read from the copy, once.
func TestTailer_CopyTruncateStopped(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendLines(t, path, withHeader(sortedLines("a", 0, 100))...)
	_, positions := onePass(t, nil, path+"*")
	appendLines(t, path, sortedLines("unread", 0, 60)...)
	copyFile(t, path, path+".1", 0)
	os.Truncate(path, 0)
	appendLines(t, path, withHeader(sortedLines("b", 0, 30))...)
	c, _ := onePass(t, positions, path+"*")
	c.exactlyOnceCounting(t, append(sortedLines("unread", 0, 60), withHeader(sortedLines("b", 0, 30))...))
}

// copyFile copies src to dst in pieces of piece bytes (0: at once),
// waiting between pieces as a slow copy of a large file does.
func copyFile(tb testing.TB, src, dst string, piece int) {
	tb.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		tb.Fatal(err)
	}
	f, err := os.Create(dst)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if piece == 0 {
		piece = len(data)
	}
	for len(data) > 0 {
		n := min(piece, len(data))
		if _, err := f.Write(data[:n]); err != nil {
			tb.Fatal(err)
		}
		data = data[n:]
		if len(data) > 0 {
			time.Sleep(15 * time.Millisecond) // the copy is slow: several scans see it grow
		}
	}
}

// TestTailer_CopyTruncateSlowCopy: copytruncate whose copy takes many
// scans: the copy is not read while it is being written, and once the
// original is truncated it is read only past the verified offset.
func TestTailer_CopyTruncateSlowCopy(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	c, stop := follow(path + "*")
	want := withHeader(sortedLines("a", 0, 400))
	appendLines(t, path, want...)
	c.waitLines(t, len(want))
	for gen := 1; gen <= 2; gen++ {
		copyFile(t, path, fmt.Sprintf("%s.%d", path, gen), 4096)
		os.Truncate(path, 0)
		more := withHeader(sortedLines(fmt.Sprintf("gen%d", gen), 0, 50))
		appendLines(t, path, more...)
		want = append(want, more...)
		c.waitLines(t, len(want))
		c.waitPos(t, fmt.Sprintf("%s.%d", path, gen))
	}
	c.waitPos(t, path)
	stop()
	c.exactlyOnceCounting(t, want)
}

// TestTailer_CompressedRotationStopped: logrotate create + compress while
// the tailer is stopped, with a glob that matches the compressed file: the
// lines the original had not had read are read from the gzip (or bzip2)
// file, once. Files compressed in other formats, and other compressed
// rotations, are never read as lines.
func TestTailer_CompressedRotationStopped(t *testing.T) {
	for _, tc := range []struct {
		tool, ext string
		read      bool // the unread end is recovered from it
	}{{"gzip", ".gz", true}, {"bzip2", ".bz2", true}, {"xz", ".xz", false}, {"zstd", ".zst", false}} {
		t.Run(tc.tool, func(t *testing.T) {
			if _, err := exec.LookPath(tc.tool); err != nil && tc.tool != "gzip" {
				t.Skipf("no %s here", tc.tool)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			glob := path + "*"
			// An older rotation, already compressed: nothing of it is read.
			older := path + ".2"
			appendLines(t, older, withHeader(sortedLines("older", 0, 300))...)
			compress(t, tc.tool, older)

			appendLines(t, path, withHeader(sortedLines("a", 0, 500))...)
			c, positions := onePass(t, nil, glob)
			c.exactlyOnce(t, withHeader(sortedLines("a", 0, 500)))

			// While stopped: more lines, then rotate (create) and compress.
			appendLines(t, path, sortedLines("unread", 0, 700)...)
			if err := os.Rename(path, path+".1"); err != nil {
				t.Fatal(err)
			}
			appendLines(t, path, withHeader(sortedLines("new", 0, 20))...)
			compress(t, tc.tool, path+".1")
			if _, err := os.Stat(path + ".1" + tc.ext); err != nil {
				t.Fatal(err)
			}

			want := withHeader(sortedLines("new", 0, 20))
			if tc.read {
				want = append(want, sortedLines("unread", 0, 700)...)
			}
			c, positions = onePass(t, positions, glob)
			c.exactlyOnceCounting(t, want)

			// Again: nothing more.
			c, _ = onePass(t, positions, glob)
			c.exactlyOnce(t, nil)
		})
	}
}

// compress compresses path in place with tool, as logrotate's compress
// does (gzip without the tool: the standard library's writer).
func compress(tb testing.TB, tool, path string) {
	tb.Helper()
	if _, err := exec.LookPath(tool); err != nil && tool == "gzip" {
		data, _ := os.ReadFile(path)
		writeGzip(tb, path+".gz", strings.Split(strings.TrimSuffix(string(data), "\n"), "\n"))
		os.Remove(path)
		return
	}
	args := []string{"-q", path}
	if tool == "zstd" {
		args = append(args, "--rm")
	}
	if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
		tb.Fatalf("%s: %v: %s", tool, err, out)
	}
}

// TestTailer_CompressedRotationFollowing: the same while following: the
// rotated file is drained through its descriptor, and its compressed copy
// adds nothing.
func TestTailer_CompressedRotationFollowing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	c, stop := follow(path + "*")
	want := withHeader(sortedLines("a", 0, 300))
	appendLines(t, path, want...)
	c.waitLines(t, len(want))
	rotated := path + ".1"
	os.Rename(path, rotated)
	more := withHeader(sortedLines("new", 0, 30))
	appendLines(t, path, more...)
	want = append(want, more...)
	c.waitLines(t, len(want))
	c.waitPos(t, rotated)
	data, _ := os.ReadFile(rotated)
	writeGzip(t, rotated+".gz", strings.Split(strings.TrimSuffix(string(data), "\n"), "\n"))
	os.Remove(rotated)
	// The compressed copy is recognized, at the end of the original.
	c.waitOffset(t, rotated+".gz", int64(len(data)))
	appendLines(t, path, "sentinel")
	want = append(want, "sentinel")
	c.waitLines(t, len(want))
	c.waitPos(t, path)
	stop()
	c.exactlyOnceCounting(t, want)
}

func writeGzip(tb testing.TB, path string, lines []string) {
	tb.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	for _, l := range lines {
		zw.Write([]byte(l + "\n"))
	}
	zw.Close()
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// TestTailer_Inputs: a file matched by several inputs is read once, by the
// first; Exclude keeps files out; a SQLite database is never read.
func TestTailer_Inputs(t *testing.T) {
	dir := t.TempDir()
	appendLines(t, filepath.Join(dir, "a.log"), numbered("a", 0, 10)...)
	appendLines(t, filepath.Join(dir, "b.log"), numbered("b", 0, 10)...)
	appendLines(t, filepath.Join(dir, "skip.log"), numbered("skip", 0, 10)...)
	os.WriteFile(filepath.Join(dir, "state.db"), []byte("SQLite format 3\x00\n\n"), 0o644)
	tl := newTailer(nil, false, filepath.Join(dir, "b.log"))
	tl.Inputs = [][]string{{filepath.Join(dir, "*")}, {filepath.Join(dir, "*.log")}}
	tl.Exclude = func(p string) bool { return filepath.Base(p) == "skip.log" }
	inputs := map[string]int{}
	done := make(chan struct{})
	go func() {
		for ch := range tl.C {
			if len(ch.Data) > 0 {
				inputs[filepath.Base(ch.Pos.Path)] = ch.Input
				for range bytes.Count(ch.Data, []byte("\n")) {
					inputs["lines"]++
				}
			}
		}
		close(done)
	}()
	tl.Run(context.Background())
	<-done
	if inputs["a.log"] != 1 || inputs["b.log"] != 0 || inputs["lines"] != 20 {
		t.Fatalf("got %v, want a.log from input 1, b.log from input 0, 20 lines", inputs)
	}
}

// TestTailer_SameBeginningDifferentEnd: a file that repeats the first tens
// of kilobytes of a file read before but differs before that file's offset
// is not its copy: it is read whole, whether it took the old file's inode
// (deleted first) or the old file only left the glob.
func TestTailer_SameBeginningDifferentEnd(t *testing.T) {
	for _, gone := range []string{"Deleted", "Moved"} {
		t.Run(gone, func(t *testing.T) {
			dir := t.TempDir()
			a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
			appendLines(t, a, withHeader(sortedLines("x", 0, 200))...)
			_, positions := onePass(t, nil, filepath.Join(dir, "*.log"))
			if gone == "Deleted" {
				os.Remove(a)
			} else {
				os.Rename(a, filepath.Join(dir, "a.old"))
			}
			lines := append(withHeader(sortedLines("x", 0, 195)), sortedLines("other", 0, 50)...)
			appendLines(t, b, lines...)
			c, _ := onePass(t, positions, filepath.Join(dir, "*.log"))
			c.exactlyOnce(t, lines)
		})
	}
}

// TestTailer_MovedWhileStopped: a file moved while the tailer is stopped
// (to another filesystem: a copy under a new inode, the original gone) is
// read from where it stood.
func TestTailer_MovedWhileStopped(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	appendLines(t, a, withHeader(sortedLines("x", 0, 200))...)
	_, positions := onePass(t, nil, filepath.Join(dir, "*.log"))
	appendLines(t, a, sortedLines("late", 0, 20)...)
	copyFile(t, a, filepath.Join(dir, "moved.log"), 0)
	os.Remove(a)
	c, _ := onePass(t, positions, filepath.Join(dir, "*.log"))
	c.exactlyOnce(t, sortedLines("late", 0, 20))
}

// TestTailer_ResumeOldFingerprint: a position saved before tail digests
// (a digest of the first 256 bytes only) still resumes where it stood.
func TestTailer_ResumeOldFingerprint(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendLines(t, path, withHeader(sortedLines("a", 0, 100))...)
	data, _ := os.ReadFile(path)
	fi, _ := os.Stat(path)
	d := sha256.Sum256(data[:256])
	old := append([]byte{1, 0}, d[:16]...) // 256, big-endian, then the digest
	pos := ingest.Position{Key: keyOf(fi), Path: path, Offset: int64(len(data)), Fingerprint: old}
	appendLines(t, path, sortedLines("b", 0, 10)...)
	c, _ := onePass(t, []ingest.Position{pos}, path)
	c.exactlyOnce(t, sortedLines("b", 0, 10))
}

// TestTailer_CopyTruncateTwiceStopped: copytruncate twice, the copies out
// of the tailer's sight until both truncations were seen (a daemon killed
// before it read the first copy, then restarted after the second): each
// copy is read from where the file stood when it was truncated, so only
// the lines never read arrive, once.
func TestTailer_CopyTruncateTwiceStopped(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	hold := filepath.Join(dir, "hold") // out of the glob's sight
	os.Mkdir(hold, 0o755)
	var want []string
	positions := []ingest.Position(nil)
	for gen := 1; gen <= 3; gen++ {
		read := withHeader(sortedLines(fmt.Sprintf("read%d", gen), 0, 100))
		appendLines(t, path, read...)
		c, next := onePass(t, positions, path)
		c.exactlyOnceCounting(t, read)
		positions = merged(positions, next)
		if gen == 3 {
			break
		}
		unread := sortedLines(fmt.Sprintf("unread%d", gen), 0, 40)
		appendLines(t, path, unread...)
		want = append(want, unread...)
		copyFile(t, path, filepath.Join(hold, fmt.Sprintf("app.log.%d", gen)), 0)
		os.Truncate(path, 0)
	}
	for gen := 1; gen <= 2; gen++ {
		if err := os.Rename(filepath.Join(hold, fmt.Sprintf("app.log.%d", gen)), fmt.Sprintf("%s.%d", path, gen)); err != nil {
			t.Fatal(err)
		}
	}
	c, next := onePass(t, positions, path+"*")
	c.exactlyOnceCounting(t, want)
	// And once more: every copy is now known, nothing arrives.
	c, _ = onePass(t, merged(positions, next), path+"*")
	c.exactlyOnceCounting(t, nil)
}

// merged is the positions a database holds after a pass: the pass's
// positions over the earlier ones, by file.
func merged(old, next []ingest.Position) []ingest.Position {
	byKey := map[ingest.FileKey]ingest.Position{}
	for _, p := range append(old, next...) {
		byKey[p.Key] = p
	}
	var out []ingest.Position
	for _, p := range byKey {
		out = append(out, p)
	}
	return out
}
