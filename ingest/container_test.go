package ingest_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/ingest"
	"github.com/apierr/apierr/traffic"
)

const containerDir = "../testdata/container"

// readLines returns a file's lines without their newlines.
func readLines(tb testing.TB, path string) [][]byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	return lines
}

// unwrapAll feeds every line to a Framer and returns the frames, copied.
func unwrapAll(tb testing.TB, fr *ingest.Framer, lines [][]byte) []ingest.Frame {
	tb.Helper()
	var out []ingest.Frame
	for _, l := range lines {
		f, ok := fr.Unwrap(l)
		if !ok {
			continue
		}
		f.Line = bytes.Clone(f.Line)
		out = append(out, f)
	}
	return out
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string
		want ingest.Framing
	}{
		{"Docker", `{"log":"Log line is here\n","stream":"stdout","time":"2019-01-01T11:11:11.111111111Z"}`, ingest.FramingDocker},
		{"DockerAttrs", `{"log":"x\n","stream":"stderr","attrs":{"tag":"web","labels":["a"]},"time":"2019-01-01T11:11:11Z"}`, ingest.FramingDocker},
		{"DockerSpaced", `{ "log": "x\n", "stream": "stdout", "time": "2019-01-01T11:11:11Z" }`, ingest.FramingDocker},
		{"CRI", `2016-10-06T00:17:09.669794202Z stdout F The content of the log entry 1`, ingest.FramingCRI},
		{"CRIPartial", `2016-10-06T00:17:09.669794202Z stderr P part`, ingest.FramingCRI},
		{"CRIOOffset", `2023-06-13T11:04:05.123456789+02:00 stdout F {"a":1}`, ingest.FramingCRI},
		{"CRIMoreTags", `2016-10-06T00:17:09Z stdout F:x content`, ingest.FramingCRI},
		{"CRIEmpty", `2016-10-06T00:17:09.669794202Z stdout F`, ingest.FramingCRI},
		{"Flat", `{"ts":"2026-11-20T10:00:00Z","method":"POST","url":"https://api.piggy.eu/x","status":400}`, ingest.FramingNone},
		{"LogKeyOfAnApp", `{"log":"x","level":"info","time":"2019-01-01T11:11:11Z"}`, ingest.FramingNone},
		{"DockerNoTime", `{"log":"x\n","stream":"stdout"}`, ingest.FramingNone},
		{"DockerBadTime", `{"log":"x\n","stream":"stdout","time":"yesterday"}`, ingest.FramingNone},
		{"DockerBadStream", `{"log":"x\n","stream":"stdin","time":"2019-01-01T11:11:11Z"}`, ingest.FramingNone},
		{"Slog", `{"time":"2026-11-20T10:01:01.000000001Z","level":"INFO","msg":"server started"}`, ingest.FramingNone},
		{"LaravelText", `[2026-11-20 10:01:03] production.ERROR: cURL error 28`, ingest.FramingNone},
		{"CRIBadStream", `2016-10-06T00:17:09.669794202Z stdin F x`, ingest.FramingNone},
		{"CRIBadTag", `2016-10-06T00:17:09.669794202Z stdout X x`, ingest.FramingNone},
		{"CRIBadTime", `2016-10-06 00:17:09.669794202Z stdout F x`, ingest.FramingNone},
		{"SpaceSeparatedTime", `2016-10-06 T00:17:09.669794202Z stdout F x`, ingest.FramingNone},
		{"Empty", ``, ingest.FramingNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ingest.Detect([]byte(tc.line)); got != tc.want {
				t.Fatalf("Detect=%v, want %v", got, tc.want)
			}
		})
	}
	t.Run("Files", func(t *testing.T) {
		for file, want := range map[string]ingest.Framing{
			"docker-json.log": ingest.FramingDocker,
			"cri.log":         ingest.FramingCRI,
			"mixed-cri.log":   ingest.FramingCRI,
			"mixed.log":       ingest.FramingNone,
			"inner.log":       ingest.FramingNone,
		} {
			lines := readLines(t, filepath.Join(containerDir, file))
			for i, l := range lines {
				if got := ingest.Detect(l); got != want && !(file == "mixed.log" || file == "inner.log") {
					t.Errorf("%s:%d: Detect=%v, want %v", file, i+1, got, want)
				} else if got != ingest.FramingNone && want == ingest.FramingNone {
					t.Errorf("%s:%d: Detect=%v, want none", file, i+1, got)
				}
			}
		}
	})
}

// TestFramer_Files unwraps the golden Docker and CRI files, written as the
// runtimes write them (a line over 16 KiB in parts with a stderr line
// between them, both streams, one CRI-O local offset), and compares the
// inner lines with inner.log, the same lines unwrapped.
func TestFramer_Files(t *testing.T) {
	want := readLines(t, filepath.Join(containerDir, "inner.log"))
	for _, tc := range []struct {
		file    string
		raw     int // lines in the file
		streams string
		times   []string // the runtime's time of each inner line
	}{
		{"docker-json.log", 11, "out out out err out out out err out out",
			[]string{"10:00:00.1", "10:00:01.1", "10:00:02.1", "10:00:02.1", "10:00:03.1", "10:00:04.1", "10:00:05.1", "10:00:06.1000005", "10:00:06.1", "10:00:07.1"}},
		{"cri.log", 11, "out out out err out out out err out out",
			[]string{"10:00:00.2", "10:00:01.2", "10:00:02.2", "10:00:02.2", "10:00:03.2", "10:00:04.2", "10:00:05.2", "10:00:06.2000005", "10:00:06.2", "10:00:07.2"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			lines := readLines(t, filepath.Join(containerDir, tc.file))
			if len(lines) != tc.raw {
				t.Fatalf("lines=%d, want %d", len(lines), tc.raw)
			}
			fr := ingest.NewFramer(ingest.Detect(lines[0]), 0)
			frames := unwrapAll(t, fr, lines)
			if fr.Pending() {
				t.Fatalf("Pending after the last line")
			}
			if len(frames) != len(want) {
				t.Fatalf("inner lines=%d, want %d", len(frames), len(want))
			}
			var streams []string
			for i, f := range frames {
				if f.Err != nil {
					t.Fatalf("line %d: Err=%v", i, f.Err)
				}
				if !bytes.Equal(f.Line, want[i]) {
					t.Errorf("line %d: len %d %.80q, want len %d %.80q", i, len(f.Line), f.Line, len(want[i]), want[i])
				}
				streams = append(streams, strings.TrimPrefix(strings.TrimPrefix(f.Stream.String(), "std"), ""))
				got, ok := f.Time()
				wt, _ := time.Parse(time.RFC3339Nano, "2026-11-20T"+tc.times[i]+"Z")
				if !ok || !got.Equal(wt) {
					t.Errorf("line %d: Time=%v %v, want %v", i, got, ok, wt)
				}
			}
			if got := strings.Join(streams, " "); got != tc.streams {
				t.Errorf("streams=%q, want %q", got, tc.streams)
			}
			// The long line came in two parts and is joined whole.
			if n := len(frames[8].Line); n <= 16<<10 || n != len(want[8]) {
				t.Errorf("joined line: %d bytes, want %d (> 16 KiB)", n, len(want[8]))
			}
		})
	}
}

// TestFramer_Mixed: an application's mixed lines in a CRI file come out as
// the same lines as the plain file, one for one.
func TestFramer_Mixed(t *testing.T) {
	plain := readLines(t, filepath.Join(containerDir, "mixed.log"))
	kinds := readLines(t, filepath.Join(containerDir, "mixed.want"))
	if len(kinds) != len(plain) {
		t.Fatalf("mixed.want has %d lines, mixed.log %d", len(kinds), len(plain))
	}
	lines := readLines(t, filepath.Join(containerDir, "mixed-cri.log"))
	frames := unwrapAll(t, ingest.NewFramer(ingest.FramingCRI, 0), lines)
	if len(frames) != len(plain) {
		t.Fatalf("inner lines=%d, want %d", len(frames), len(plain))
	}
	for i, f := range frames {
		if !bytes.Equal(f.Line, plain[i]) {
			t.Errorf("line %d: %q, want %q", i, f.Line, plain[i])
		}
		if text := string(kinds[i]) == "text"; text != (f.Stream == ingest.StreamStderr) {
			t.Errorf("line %d: Stream=%v for a %s line", i, f.Stream, kinds[i])
		}
	}
	// A plain file's lines pass through a FramingNone Framer unchanged.
	for i, f := range unwrapAll(t, ingest.NewFramer(ingest.FramingNone, 0), plain) {
		if !bytes.Equal(f.Line, plain[i]) {
			t.Errorf("plain line %d changed", i)
		}
	}
}

func TestFramer_Partial(t *testing.T) {
	for _, tc := range []struct {
		name    string
		framing ingest.Framing
		lines   []string
		want    []string // inner lines, "stream:text"
	}{
		{"CRI", ingest.FramingCRI, []string{
			"2026-11-20T10:00:00.000000001Z stdout P {\"a\":",
			"2026-11-20T10:00:00.000000002Z stderr F oops",
			"2026-11-20T10:00:00.000000003Z stdout P 1,",
			"2026-11-20T10:00:00.000000004Z stderr P par",
			"2026-11-20T10:00:00.000000005Z stdout F \"b\":2}",
			"2026-11-20T10:00:00.000000006Z stderr F tial",
			"2026-11-20T10:00:00.000000007Z stdout F ",
			"2026-11-20T10:00:00.000000008Z stdout F with CR\r",
		}, []string{"stderr:oops", `stdout:{"a":1,"b":2}`, "stderr:partial", "stdout:", "stdout:with CR"}},
		{"Docker", ingest.FramingDocker, []string{
			`{"log":"{\"a\":","stream":"stdout","time":"2026-11-20T10:00:00.000000001Z"}`,
			`{"log":"oops\n","stream":"stderr","time":"2026-11-20T10:00:00.000000002Z"}`,
			`{"log":"1,\\","stream":"stdout","time":"2026-11-20T10:00:00.000000003Z"}`,
			`{"log":"n\"b\":2}\n","stream":"stdout","time":"2026-11-20T10:00:00.000000004Z"}`,
			`{"log":"\n","stream":"stdout","time":"2026-11-20T10:00:00.000000005Z"}`,
			`{"log":"crlf\r\n","stream":"stdout","time":"2026-11-20T10:00:00.000000006Z"}`,
			`{"log":"a backslash, n: \\n","stream":"stdout","time":"2026-11-20T10:00:00.000000007Z"}`,
			`{"log":"!\n","stream":"stdout","time":"2026-11-20T10:00:00.000000008Z"}`,
		}, []string{"stderr:oops", `stdout:{"a":1,\n"b":2}`, "stdout:", "stdout:crlf", `stdout:a backslash, n: \n!`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fr := ingest.NewFramer(tc.framing, 0)
			var got []string
			for i, l := range tc.lines {
				f, ok := fr.Unwrap([]byte(l))
				if !ok {
					if !fr.Pending() {
						t.Fatalf("line %d held, but Pending is false", i)
					}
					continue
				}
				if f.Err != nil {
					t.Fatalf("line %d: Err=%v", i, f.Err)
				}
				got = append(got, f.Stream.String()+":"+string(f.Line))
			}
			if fr.Pending() {
				t.Fatalf("Pending after the last line")
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
	t.Run("TimeOfFirstPart", func(t *testing.T) {
		fr := ingest.NewFramer(ingest.FramingCRI, 0)
		fr.Unwrap([]byte("2000-01-02T03:04:05.000000001Z stdout P a"))
		f, ok := fr.Unwrap([]byte("2000-01-02T03:04:09Z stdout F b"))
		tm, tok := f.Time()
		if want := time.Date(2000, 1, 2, 3, 4, 5, 1, time.UTC); !ok || !tok || !tm.Equal(want) || string(f.Line) != "ab" {
			t.Fatalf("Line=%q Time=%v, want \"ab\" %v", f.Line, tm, want)
		}
	})
}

func TestFramer_TooLong(t *testing.T) {
	const max = 64
	long := strings.Repeat("x", 40)
	for _, tc := range []struct {
		name    string
		framing ingest.Framing
		part    func(last bool) string
	}{
		{"CRI", ingest.FramingCRI, func(last bool) string {
			if last {
				return "2000-01-02T03:04:05Z stdout F " + long
			}
			return "2000-01-02T03:04:05Z stdout P " + long
		}},
		{"Docker", ingest.FramingDocker, func(last bool) string {
			if last {
				return `{"log":"` + long + `\n","stream":"stdout","time":"2000-01-02T03:04:05Z"}`
			}
			return `{"log":"` + long + `","stream":"stdout","time":"2000-01-02T03:04:05Z"}`
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fr := ingest.NewFramer(tc.framing, max)
			// One part fits; two do not: one too-long outcome for all three.
			var outcomes []ingest.Frame
			for i := range 3 {
				if f, ok := fr.Unwrap([]byte(tc.part(i == 2))); ok {
					outcomes = append(outcomes, f)
				}
			}
			if len(outcomes) != 1 || ingest.Reason(outcomes[0].Err) != ingest.ReasonTooLong || outcomes[0].Line != nil {
				t.Fatalf("outcomes=%+v, want one %q", outcomes, ingest.ReasonTooLong)
			}
			// The next message is read normally.
			f, ok := fr.Unwrap([]byte(tc.part(true)))
			if !ok || f.Err != nil || string(f.Line) != long {
				t.Fatalf("after: Line=%q Err=%v", f.Line, f.Err)
			}
			// A whole line over the limit.
			fr2 := ingest.NewFramer(tc.framing, len(long)-1)
			if f, ok := fr2.Unwrap([]byte(tc.part(true))); !ok || ingest.Reason(f.Err) != ingest.ReasonTooLong {
				t.Fatalf("whole line: Err=%v, want %q", f.Err, ingest.ReasonTooLong)
			}
		})
	}
	t.Run("MemoryBounded", func(t *testing.T) {
		// 32 MiB of parts of one message never completed, limit 64 KiB:
		// what the Framer allocates stays near the limit.
		fr := ingest.NewFramer(ingest.FramingCRI, 64<<10)
		part := []byte("2000-01-02T03:04:05Z stdout P " + strings.Repeat("y", 16<<10))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 2048 {
			if _, ok := fr.Unwrap(part); ok {
				t.Fatal("a part completed a message")
			}
		}
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
			t.Fatalf("allocated %d bytes for a held message, want <= 1 MiB", grew)
		}
		f, ok := fr.Unwrap([]byte("2000-01-02T03:04:05Z stdout F end"))
		if !ok || ingest.Reason(f.Err) != ingest.ReasonTooLong {
			t.Fatalf("Err=%v, want %q", f.Err, ingest.ReasonTooLong)
		}
	})
}

func TestFramer_DockerUnescape(t *testing.T) {
	for _, tc := range []struct {
		name, log, want string
	}{
		{"Quotes", `{\"a\":\"b\"}\n`, `{"a":"b"}`},
		{"Backslash", `C:\\path\\n\n`, `C:\path\n`},
		{"Controls", `a\tb\rc\bd\fe\/f\n`, "a\tb\rc\bd\fe/f"},
		{"NewlineInside", `one\ntwo\n`, "one\ntwo"},
		{"HTMLEscapes", `\u003chtml\u003e \u0026\n`, "<html> &"},
		{"BMP", `caf\u00e9 \u2013\n`, "café –"},
		{"SurrogatePair", `\ud83d\ude00!\n`, "😀!"},
		{"LoneHigh", `\ud83d!\n`, "\uFFFD!"},
		{"LoneLow", `\ude00\n`, "\uFFFD"},
		{"HighThenBMP", `\ud83d\u00e9\n`, "\uFFFD\u00e9"},
		{"BadHex", `\u12g4\n`, `\u12g4`},
		{"UnknownEscape", `\x\n`, `\x`},
		{"RawUTF8", "grüße 😀\\n", "grüße 😀"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := `{"log":"` + tc.log + `","stream":"stdout","time":"2000-01-02T03:04:05Z"}`
			f, ok := ingest.NewFramer(ingest.FramingDocker, 0).Unwrap([]byte(line))
			if !ok || f.Err != nil || string(f.Line) != tc.want {
				t.Fatalf("Line=%q (ok %v, err %v), want %q", f.Line, ok, f.Err, tc.want)
			}
		})
	}
}

func TestFramer_NotAFrame(t *testing.T) {
	for _, tc := range []struct {
		name    string
		framing ingest.Framing
		line    string
	}{
		{"CRIPlain", ingest.FramingCRI, `{"ts":"2026-11-20T10:00:00Z","status":500}`},
		{"CRICut", ingest.FramingCRI, `2026-11-20T10:00:00Z std`},
		{"DockerCut", ingest.FramingDocker, `{"log":"{\"a\":1}\n","stream":"std`},
		{"DockerOtherKey", ingest.FramingDocker, `{"log":"x\n","level":"info"}`},
		{"DockerNotString", ingest.FramingDocker, `{"log":5,"time":"2000-01-02T03:04:05Z"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, ok := ingest.NewFramer(tc.framing, 0).Unwrap([]byte(tc.line))
			if !ok || f.Err != nil || string(f.Line) != tc.line || f.Stream != ingest.StreamUnknown {
				t.Fatalf("Line=%q Stream=%v Err=%v, want the line as it is", f.Line, f.Stream, f.Err)
			}
			if _, ok := f.Time(); ok {
				t.Fatalf("a stray line has a runtime time")
			}
		})
	}
}

func TestFramer_FlushReset(t *testing.T) {
	fr := ingest.NewFramer(ingest.FramingCRI, 0)
	fr.Unwrap([]byte("2000-01-02T03:04:05Z stdout P {\"a\""))
	fr.Unwrap([]byte("2000-01-02T03:04:05Z stderr P err"))
	var got []string
	for {
		f, ok := fr.Flush()
		if !ok {
			break
		}
		got = append(got, f.Stream.String()+":"+string(f.Line))
	}
	if want := `stdout:{"a"|stderr:err`; strings.Join(got, "|") != want || fr.Pending() {
		t.Fatalf("Flush=%q, want %q", got, want)
	}
	fr.Unwrap([]byte("2000-01-02T03:04:05Z stdout P dropped"))
	fr.Reset()
	if fr.Pending() {
		t.Fatal("Pending after Reset")
	}
	if f, _ := fr.Unwrap([]byte("2000-01-02T03:04:05Z stdout F kept")); string(f.Line) != "kept" {
		t.Fatalf("Line=%q after Reset, want \"kept\"", f.Line)
	}
}

func TestFraming_Boundary(t *testing.T) {
	const (
		p  = "2000-01-02T03:04:05Z stdout P a\n"
		f  = "2000-01-02T03:04:05Z stdout F b\n"
		pe = "2000-01-02T03:04:05Z stderr P c\n"
		fe = "2000-01-02T03:04:05Z stderr F d\n"
		dp = `{"log":"a","stream":"stdout","time":"2000-01-02T03:04:05Z"}` + "\n"
		df = `{"log":"b\n","stream":"stdout","time":"2000-01-02T03:04:05Z"}` + "\n"
		dl = `{"log":"b\\n","stream":"stdout","time":"2000-01-02T03:04:05Z"}` + "\n" // a backslash and an n: a part
	)
	for _, tc := range []struct {
		name    string
		framing ingest.Framing
		data    string
		want    int
	}{
		{"AllComplete", ingest.FramingCRI, f + f + fe, 3 * len(f)},
		{"EndsInPart", ingest.FramingCRI, f + f + p + p, 2 * len(f)},
		{"OnlyParts", ingest.FramingCRI, p + p, 0},
		{"Interleaved", ingest.FramingCRI, f + p + fe + pe + f + fe + f, 6*len(f) + len(f)},
		{"OtherStreamOpen", ingest.FramingCRI, f + pe + f + f, len(f)},
		{"PartialLastLine", ingest.FramingCRI, f + "2000-01-02T03:04:05Z stdout F no newline", len(f)},
		{"Docker", ingest.FramingDocker, df + dp + df + dp, len(df) + len(dp) + len(df)},
		{"DockerAllComplete", ingest.FramingDocker, df + df + df[:20], 2 * len(df)},
		{"DockerLiteralBackslashN", ingest.FramingDocker, df + dl, len(df)},
		{"DockerLiteralBackslashNEnded", ingest.FramingDocker, df + dl + df, 2*len(df) + len(dl)},
		{"DockerPartialLast", ingest.FramingDocker, df + dp, len(df)},
		{"TaggedPart", ingest.FramingCRI, f + "2000-01-02T03:04:05Z stdout P:x a\n" + f, 3*len(f) + 2},
		{"None", ingest.FramingNone, "a\nb\nc", 4},
		{"Empty", ingest.FramingCRI, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.framing.Boundary([]byte(tc.data)); got != tc.want {
				t.Fatalf("Boundary=%d, want %d", got, tc.want)
			}
			// A Framer fed the prefix ends empty.
			fr := ingest.NewFramer(tc.framing, 0)
			for _, l := range bytes.SplitAfter([]byte(tc.data[:tc.want]), []byte("\n")) {
				if len(l) > 0 {
					fr.Unwrap(bytes.TrimSuffix(l, []byte("\n")))
				}
			}
			if fr.Pending() {
				t.Fatal("a Framer fed the prefix holds a message")
			}
		})
	}
}

// TestFraming_BoundaryFiles: on the golden files cut after every line,
// Boundary is the last line end after which a Framer holds no message.
func TestFraming_BoundaryFiles(t *testing.T) {
	for _, file := range []string{"cri.log", "docker-json.log", "mixed-cri.log"} {
		data, err := os.ReadFile(filepath.Join(containerDir, file))
		if err != nil {
			t.Fatal(err)
		}
		f := ingest.Detect(data[:bytes.IndexByte(data, '\n')])
		for c := 0; c <= len(data); c++ {
			if c > 0 && data[c-1] != '\n' && c != len(data) {
				continue
			}
			want, fr := 0, ingest.NewFramer(f, 0)
			for k := 0; k < c; {
				i := bytes.IndexByte(data[k:c], '\n')
				if i < 0 {
					break
				}
				fr.Unwrap(data[k : k+i])
				k += i + 1
				if !fr.Pending() {
					want = k
				}
			}
			if got := f.Boundary(data[:c]); got != want {
				t.Fatalf("%s cut at %d: Boundary=%d, want %d", file, c, got, want)
			}
		}
	}
}

// TestFraming_MaxMessageBytes: the golden files' long message, cut as the
// runtimes cut it, fits the bound for its inner line's length.
func TestFraming_MaxMessageBytes(t *testing.T) {
	for _, file := range []string{"cri.log", "docker-json.log"} {
		lines := readLines(t, filepath.Join(containerDir, file))
		f := ingest.Detect(lines[0])
		fr := ingest.NewFramer(f, 0)
		raw := 0
		for _, l := range lines {
			if ff, ok := fr.Unwrap(l); !ok || ff.Stream == ingest.StreamStdout {
				raw += len(l) + 1
				if ok {
					if max := f.MaxMessageBytes(len(ff.Line)); raw > max {
						t.Errorf("%s: a message of %d bytes took %d in the file, over MaxMessageBytes %d", file, len(ff.Line), raw, max)
					}
					raw = 0
				}
			}
		}
	}
	if got := ingest.FramingNone.MaxMessageBytes(100); got != 102 {
		t.Errorf("FramingNone.MaxMessageBytes(100)=%d, want 102", got)
	}
}

func TestFrame_Time(t *testing.T) {
	for _, tc := range []struct {
		text string
		want time.Time
		ok   bool
	}{
		{"2000-01-02T03:04:05Z", time.Date(2000, 1, 2, 3, 4, 5, 0, time.UTC), true},
		{"2000-01-02T03:04:05.123456789Z", time.Date(2000, 1, 2, 3, 4, 5, 123456789, time.UTC), true},
		{"2000-01-02T03:04:05.1Z", time.Date(2000, 1, 2, 3, 4, 5, 100000000, time.UTC), true},
		{"2000-01-02T05:04:05.5+02:00", time.Date(2000, 1, 2, 3, 4, 5, 500000000, time.UTC), true},
		{"2000-01-02T00:04:05-03:00", time.Date(2000, 1, 2, 3, 4, 5, 0, time.UTC), true},
		{"2000-01-02T03:04:05.1234567891Z", time.Date(2000, 1, 2, 3, 4, 5, 123456789, time.UTC), true},
		{"2000-01-02T03:04:05", time.Time{}, false},
		{"2000-13-02T03:04:05Z", time.Time{}, false},
		{"2000-01-02T03:04:05.Z", time.Time{}, false},
	} {
		t.Run(tc.text, func(t *testing.T) {
			f, _ := ingest.NewFramer(ingest.FramingCRI, 0).Unwrap([]byte(tc.text + " stdout F x"))
			if f.Stream == ingest.StreamUnknown {
				f, _ = ingest.NewFramer(ingest.FramingDocker, 0).Unwrap([]byte(`{"log":"x\n","time":"` + tc.text + `"}`))
			}
			got, ok := f.Time()
			if ok != tc.ok || !got.Equal(tc.want) {
				t.Fatalf("Time=%v %v, want %v %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// FuzzFramer_Docker: no panics, and any log string encoding/json reads
// comes out as encoding/json reads it.
func FuzzFramer_Docker(f *testing.F) {
	for _, l := range readLines(f, filepath.Join(containerDir, "docker-json.log")) {
		f.Add(l)
	}
	f.Add([]byte(`{"log":"\ud83d\ude00\n","time":"2000-01-02T03:04:05Z"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		fr := ingest.NewFramer(ingest.FramingDocker, 1<<20)
		got, ok := fr.Unwrap(line)
		var ref struct {
			Log    *string         `json:"log"`
			Stream *string         `json:"stream"`
			Time   *string         `json:"time"`
			Attrs  json.RawMessage `json:"attrs"`
		}
		d := json.NewDecoder(bytes.NewReader(line))
		d.DisallowUnknownFields()
		if d.Decode(&ref) != nil || ref.Log == nil || got.Stream == ingest.StreamUnknown || !strings.HasSuffix(*ref.Log, "\n") {
			return
		}
		if !ok {
			t.Fatalf("a complete message was held: %q", line)
		}
		want := strings.TrimSuffix(strings.TrimSuffix(*ref.Log, "\n"), "\r")
		// Raw invalid UTF-8 is kept as it is, where encoding/json puts U+FFFD.
		if got.Err == nil && string(got.Line) != want && utf8.Valid(line) {
			t.Fatalf("Line=%q, want %q", got.Line, want)
		}
	})
}

// FuzzFramer_CRI: no panics, and parts always rejoin to what was split.
func FuzzFramer_CRI(f *testing.F) {
	f.Add([]byte("part one, part two"), uint8(5))
	f.Add([]byte(`{"a":"é"}`), uint8(1))
	f.Fuzz(func(t *testing.T, msg []byte, cut uint8) {
		if bytes.ContainsAny(msg, "\n") || len(msg) == 0 {
			return
		}
		fr := ingest.NewFramer(ingest.FramingCRI, 1<<20)
		n := int(cut)%len(msg) + 1
		var got ingest.Frame
		var done int
		for i := 0; i < len(msg); i += n {
			tag := "P"
			if i+n >= len(msg) {
				tag = "F"
			}
			var ok bool
			if got, ok = fr.Unwrap([]byte("2000-01-02T03:04:05Z stdout " + tag + " " + string(msg[i:min(i+n, len(msg))]))); ok {
				done++
			}
		}
		want := strings.TrimSuffix(string(msg), "\r")
		if done != 1 || string(got.Line) != want {
			t.Fatalf("done=%d Line=%q, want one %q", done, got.Line, want)
		}
		fr.Unwrap(msg) // not a frame: no panic
	})
}

// containerBench returns generated flat lines (about 780 bytes, 20%
// errors) and the same lines wrapped as each framing writes them.
func containerBench(b *testing.B) (plain, cri, docker []byte, n int) {
	cat, err := classify.Load(classify.Builtin())
	if err != nil {
		b.Fatal(err)
	}
	g := traffic.New(cat, 1)
	ts := "2026-11-20T10:00:00.123456789Z"
	for range 4096 {
		l := g.Append(nil)
		plain = append(plain, l...)
		cri = append(cri, ts+" stdout F "...)
		cri = append(cri, l...)
		logText, _ := json.Marshal(string(l)) // json.Marshal escapes <>& as Docker does
		docker = append(docker, `{"log":`...)
		docker = append(docker, logText...)
		docker = append(docker, `,"stream":"stdout","time":"`+ts+`"}`+"\n"...)
		n++
	}
	return plain, cri, docker, n
}

// benchRead splits data into lines, unwraps them unless framing is none,
// and decodes each inner line, taking the runtime's time when the line has
// none: what reading a file costs, per line (one inner line each here).
func benchRead(b *testing.B, framing ingest.Framing, data []byte, inner int64, lines int) {
	d := ingest.NewDecoder(ingest.AutoMapping())
	fr := ingest.NewFramer(framing, 0)
	b.SetBytes(inner / int64(lines))
	b.ReportAllocs()
	rest := data
	for b.Loop() {
		if len(rest) == 0 {
			rest = data
		}
		j := bytes.IndexByte(rest, '\n')
		line := rest[:j]
		rest = rest[j+1:]
		if framing == ingest.FramingNone {
			d.Decode(line)
			continue
		}
		f, ok := fr.Unwrap(line)
		if !ok || f.Err != nil {
			b.Fatalf("Unwrap: ok %v, err %v", ok, f.Err)
		}
		if rec, err := d.Decode(f.Line); err == nil && rec.Time.IsZero() {
			rec.Time, _ = f.Time()
		}
	}
}

func BenchmarkUnwrap_Plain(b *testing.B) {
	plain, _, _, n := containerBench(b)
	benchRead(b, ingest.FramingNone, plain, int64(len(plain)), n)
}

func BenchmarkUnwrap_CRI(b *testing.B) {
	plain, cri, _, n := containerBench(b)
	benchRead(b, ingest.FramingCRI, cri, int64(len(plain)), n)
}

func BenchmarkUnwrap_Docker(b *testing.B) {
	plain, _, docker, n := containerBench(b)
	benchRead(b, ingest.FramingDocker, docker, int64(len(plain)), n)
}

// BenchmarkUnwrap_Only measures the framers alone, without decoding.
func BenchmarkUnwrap_Only(b *testing.B) {
	_, cri, docker, n := containerBench(b)
	for _, bc := range []struct {
		name    string
		framing ingest.Framing
		data    []byte
	}{{"CRI", ingest.FramingCRI, cri}, {"Docker", ingest.FramingDocker, docker}} {
		b.Run(bc.name, func(b *testing.B) {
			lines := bytes.Split(bytes.TrimSuffix(bc.data, []byte("\n")), []byte("\n"))
			fr := ingest.NewFramer(bc.framing, 0)
			b.SetBytes(int64(len(bc.data) / n))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				fr.Unwrap(lines[i%len(lines)])
				i++
			}
		})
	}
}
