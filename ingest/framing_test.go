package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apierr/apierr/ingest"
)

// messages gathers what a Tailer sends from container files, unwrapped as
// the pipeline does: a Framer per chunk, honouring Continues and Drop.
type messages struct {
	mu       sync.Mutex
	lines    []string
	tooLong  int
	framings map[ingest.Framing]int
	services map[string]int
	pending  int // chunks whose Framer ended with a message held
	pos      map[ingest.FileKey]ingest.Position
	changed  chan struct{}
}

func collectMessages(t *ingest.Tailer, maxLine int) *messages {
	m := &messages{framings: map[ingest.Framing]int{}, services: map[string]int{}, pos: map[ingest.FileKey]ingest.Position{}, changed: make(chan struct{}, 1)}
	go func() {
		for ch := range t.C {
			m.mu.Lock()
			m.pos[ch.Pos.Key] = ch.Pos
			if len(ch.Data) > 0 {
				m.framings[ch.Framing]++
				m.services[ch.Service]++
				fr := ingest.NewFramer(ch.Framing, maxLine)
				for s, c := range ch.Continues {
					if c {
						fr.Continue(ingest.Stream(s) + ingest.StreamStdout)
					}
				}
				for raw := range bytes.SplitSeq(bytes.TrimSuffix(ch.Data, []byte("\n")), []byte("\n")) {
					if f, ok := fr.Unwrap(raw); ok {
						m.add(f)
					}
				}
				if fr.Pending() {
					m.pending++
				}
				for !ch.Drop {
					f, ok := fr.Flush()
					if !ok {
						break
					}
					m.add(f)
				}
			}
			m.tooLong += ch.TooLong
			m.mu.Unlock()
			select {
			case m.changed <- struct{}{}:
			default:
			}
		}
		close(m.changed)
	}()
	return m
}

func (m *messages) add(f ingest.Frame) {
	if f.Err != nil {
		m.tooLong++
		return
	}
	m.lines = append(m.lines, string(f.Line))
}

func (m *messages) wait(tb testing.TB, n int) {
	tb.Helper()
	deadline := time.After(10 * time.Second)
	for {
		m.mu.Lock()
		got := len(m.lines) + m.tooLong
		m.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-m.changed:
		case <-deadline:
			m.mu.Lock()
			defer m.mu.Unlock()
			tb.Fatalf("got %d messages, want %d: %q", got, n, m.lines)
		}
	}
}

// check compares the messages with want, in any order, each once.
func (m *messages) check(tb testing.TB, want []string) {
	tb.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	count := map[string]int{}
	for _, l := range m.lines {
		count[l]++
	}
	for _, w := range want {
		count[w]--
	}
	for l, n := range count {
		if n != 0 {
			tb.Errorf("message %q: seen %+d times more than written", l, n)
		}
	}
}

// crt is a runtime time for message i.
func crt(i int) string {
	return time.Date(2000, 1, 2, 3, 4, 5, i, time.UTC).Format(time.RFC3339Nano)
}

// criLines frames msg as CRI lines of parts of at most part bytes.
func criLines(i int, stream, msg string, part int) string {
	var b strings.Builder
	for len(msg) > part {
		fmt.Fprintf(&b, "%s %s P %s\n", crt(i), stream, msg[:part])
		msg = msg[part:]
	}
	fmt.Fprintf(&b, "%s %s F %s\n", crt(i), stream, msg)
	return b.String()
}

// dockerLines frames msg as json-file lines of parts of at most part bytes.
func dockerLines(i int, stream, msg string, part int) string {
	var b strings.Builder
	msg += "\n"
	for len(msg) > 0 {
		p := msg[:min(part, len(msg))]
		msg = msg[len(p):]
		fmt.Fprintf(&b, `{"log":%q,"stream":%q,"time":%q}`+"\n", p, stream, crt(i))
	}
	return b.String()
}

func appendFile(tb testing.TB, path, s string) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		tb.Fatal(err)
	}
}

func gzipFile(tb testing.TB, from, to string) {
	tb.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		tb.Fatal(err)
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	if err := os.WriteFile(to, b.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Remove(from); err != nil {
		tb.Fatal(err)
	}
}

// TestTailer_Framing follows a CRI and a Docker file as a runtime writes
// them: long messages in parts, written in several writes (a chunk ends
// between the parts), stderr lines between a message's parts, a kubelet
// (or Docker) rotation, the older file gzipped, and a restart from the
// committed positions. Every message comes out once, joined, and no chunk
// ends with a message held.
func TestTailer_Framing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		framing ingest.Framing
		file    string // under the temporary directory
		rotated func(path string, gen int) string
		frame   func(i int, stream, msg string, part int) string
		service string
	}{
		{"CRI", ingest.FramingCRI, "pods/shop_checkout-7d9f8b6c5d-x2k4p_0b1c/api/0.log",
			func(p string, gen int) string { return fmt.Sprintf("%s.2000010203040%d", p, gen) }, criLines, "shop/api"},
		{"Docker", ingest.FramingDocker, "docker/abc/abc-json.log",
			func(p string, gen int) string { return fmt.Sprintf("%s.%d", p, gen) }, dockerLines, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tc.file)
			os.MkdirAll(filepath.Dir(path), 0o755)
			msg := func(i int) string {
				return fmt.Sprintf(`{"ts":"2000-01-02T03:04:05Z","method":"GET","url":"https://api.example.org/%d","status":500,"pad":%q}`, i, strings.Repeat("x", i%7*40))
			}
			var want []string
			start := func(positions []ingest.Position) (*ingest.Tailer, *messages, context.CancelFunc) {
				tl := ingest.NewTailer(positions)
				tl.Globs = []string{filepath.Join(filepath.Dir(path), "*")}
				tl.Follow, tl.Scan, tl.RotateWait, tl.MaxLine = true, 20*time.Millisecond, 100*time.Millisecond, 4096
				ctx, cancel := context.WithCancel(context.Background())
				m := collectMessages(tl, tl.MaxLine)
				go tl.Run(ctx)
				return tl, m, cancel
			}
			_, m, cancel := start(nil)
			n := 0
			for gen := 1; gen <= 3; gen++ {
				for k := 0; k < 20; k++ {
					n++
					whole := tc.frame(n, "stdout", msg(n), 50)
					// Half the message now, a stderr line, the rest later.
					cut := strings.Index(whole[len(whole)/2:], "\n") + len(whole)/2 + 1
					appendFile(t, path, whole[:cut])
					if cut < len(whole) {
						e := fmt.Sprintf("stderr line %d", n)
						appendFile(t, path, tc.frame(n, "stderr", e, 100))
						want = append(want, e) // held until stdout's message ends
					}
					appendFile(t, path, whole[cut:])
					want = append(want, msg(n))
				}
				m.wait(t, len(want))
				rotated := tc.rotated(path, gen)
				if err := os.Rename(path, rotated); err != nil {
					t.Fatal(err)
				}
				if gen > 1 {
					prev := tc.rotated(path, gen-1)
					gzipFile(t, prev, prev+".gz")
				}
			}
			m.wait(t, len(want))
			cancel()
			m.check(t, want)
			m.mu.Lock()
			if m.pending != 0 {
				t.Errorf("%d chunks ended with a message held", m.pending)
			}
			if m.framings[tc.framing] == 0 || len(m.framings) != 1 {
				t.Errorf("framings %v, want only %v", m.framings, tc.framing)
			}
			if m.services[tc.service] == 0 || len(m.services) != 1 {
				t.Errorf("services %v, want only %q", m.services, tc.service)
			}
			var positions []ingest.Position
			for _, p := range m.pos {
				positions = append(positions, p)
			}
			m.mu.Unlock()

			// A restart from the positions reads the new lines only, with
			// the framing read again from the file's first line.
			n++
			appendFile(t, path, tc.frame(n, "stdout", msg(n), 50))
			_, m2, cancel2 := start(positions)
			defer cancel2()
			m2.wait(t, 1)
			m2.check(t, []string{msg(n)})
		})
	}
}

// TestTailer_FramingSplitAcrossRotation: a message whose parts went to two
// files (the runtime reopened its log between them) is counted once, in
// the new file; the other stream's lines after its head in the old file
// are counted too.
func TestTailer_FramingSplitAcrossRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	appendFile(t, path, criLines(1, "stdout", "one", 100)+
		fmt.Sprintf("%s stdout P head of two\n", crt(2))+
		criLines(3, "stderr", "three", 100))
	tl := ingest.NewTailer(nil)
	tl.Globs = []string{filepath.Join(dir, "*")}
	tl.Follow, tl.Scan, tl.RotateWait = true, 20*time.Millisecond, 100*time.Millisecond
	m := collectMessages(tl, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go tl.Run(ctx)
	m.wait(t, 1)
	os.Rename(path, path+".20000102-030405")
	appendFile(t, path, fmt.Sprintf("%s stdout F  tail of two\n", crt(4))+criLines(5, "stdout", "five", 100))
	m.wait(t, 4)
	m.check(t, []string{"one", "three", " tail of two", "five"})
}

// TestTailer_FramingOverLimit: a message that does not end (stdout parts
// with no last part yet) while stderr goes on is cut once it passes what a
// reader carries, so memory stays bounded and the other stream is read on;
// the message counts once, as too long, and its last part, come later, is
// dropped.
func TestTailer_FramingOverLimit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	const maxLine = 1000
	var b strings.Builder
	b.WriteString(criLines(0, "stdout", "first", 100))
	want := []string{"first"}
	for i := 1; i <= 400; i++ {
		fmt.Fprintf(&b, "%s stdout P %s\n", crt(i), strings.Repeat("p", 30))
		e := fmt.Sprintf("stderr %d", i)
		b.WriteString(criLines(i, "stderr", e, 100))
		want = append(want, e)
	}
	appendFile(t, path, b.String())
	tl := ingest.NewTailer(nil)
	tl.Globs, tl.MaxLine, tl.Follow, tl.Scan = []string{path}, maxLine, true, 20*time.Millisecond
	m := collectMessages(tl, maxLine)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go tl.Run(ctx)
	m.wait(t, len(want)+1)
	appendFile(t, path, fmt.Sprintf("%s stdout F end\n", crt(401))+criLines(402, "stdout", "after", 100))
	want = append(want, "after")
	m.wait(t, len(want)+1)
	m.check(t, want)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tooLong != 1 {
		t.Errorf("too long %d, want 1", m.tooLong)
	}
}

// TestTailer_FramingLongMessage: a message longer than a read block,
// written in two halves, is carried whole and comes out joined.
func TestTailer_FramingLongMessage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	msg := strings.Repeat("0123456789abcdef", 100_000) // 1.6 MB: over a 1 MiB block
	whole := criLines(1, "stdout", msg, 16<<10) + criLines(2, "stdout", "next", 100)
	half := strings.LastIndexByte(whole[:len(whole)/2], '\n') + 1
	appendFile(t, path, whole[:half])
	tl := ingest.NewTailer(nil)
	tl.Globs, tl.MaxLine, tl.Follow, tl.Scan = []string{path}, 2<<20, true, 20*time.Millisecond
	m := collectMessages(tl, tl.MaxLine)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go tl.Run(ctx)
	appendFile(t, path, whole[half:])
	m.wait(t, 2)
	m.check(t, []string{msg, "next"})
}
