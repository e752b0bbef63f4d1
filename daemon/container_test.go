package daemon_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apierr/apierr/daemon"
	"github.com/apierr/apierr/ingest"
)

// readStats reads files once into a new database with mapping and returns
// the pipeline's totals and the database's path.
func readStats(tb testing.TB, mapping ingest.Mapping, files ...string) (daemon.Stats, string) {
	tb.Helper()
	dbPath := filepath.Join(tb.TempDir(), "apierr.db")
	db := MustOpenDB(tb, dbPath)
	p := daemon.NewPipeline(db, catalog(tb), []ingest.Mapping{mapping}, 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := p.ReadFiles(context.Background(), files); err != nil {
		tb.Fatal(err)
	}
	return p.Stats(), dbPath
}

// copyTo copies a testdata file to path, making its directories.
func copyTo(tb testing.TB, from, path string) string {
	tb.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		tb.Fatal(err)
	}
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// TestPipeline_ContainerFiles: a CRI and a Docker json-file log, read with
// `format: auto`, count as the lines the application printed.
func TestPipeline_ContainerFiles(t *testing.T) {
	dir := t.TempDir()
	want, _ := readStats(t, ingest.AutoMapping(), copyTo(t, "../testdata/container/inner.log", filepath.Join(dir, "inner.log")))
	if want.Lines != 10 || want.Requests != 8 || want.Malformed != 2 {
		t.Fatalf("inner lines: %+v, want 10 lines, 8 requests, 2 malformed", want)
	}
	for _, tc := range []struct{ name, from, path string }{
		{"CRI", "cri.log", "pods/shop_checkout-7d9f8b6c5d-x2k4p_0b1c/api/0.log"},
		{"Docker", "docker-json.log", "docker/abc/abc-json.log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := copyTo(t, "../testdata/container/"+tc.from, filepath.Join(t.TempDir(), tc.path))
			got, _ := readStats(t, ingest.AutoMapping(), path)
			got.Bytes, want.Bytes = 0, 0
			if got != want {
				t.Fatalf("Stats=%+v, want %+v (those of the inner lines)", got, want)
			}
			// The same file piped in (`apierr ingest -`).
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			p := daemon.NewPipeline(MustOpenDB(t, ""), catalog(t), nil, 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err := p.ReadStream(context.Background(), f); err != nil {
				t.Fatal(err)
			}
			if got := p.Stats(); got.Lines != want.Lines || got.Requests != want.Requests || got.Malformed != want.Malformed {
				t.Fatalf("from a stream: Stats=%+v, want %+v", got, want)
			}
		})
	}
}

// TestPipeline_MixedFile: request lines between an application's other
// lines (structlog, slog, Laravel): the JSON lines that are not requests
// are skipped, the text lines too under `text: skip`, and only the broken
// request lines are malformed; the totals add up.
func TestPipeline_MixedFile(t *testing.T) {
	wantData, err := os.ReadFile("../testdata/container/mixed.want")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int64{}
	for _, w := range strings.Fields(string(wantData)) {
		kinds[w]++
	}
	for _, file := range []string{"mixed.log", "mixed-cri.log"} {
		for _, skipText := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/text_skip=%v", file, skipText), func(t *testing.T) {
				m := ingest.AutoMapping()
				m.SkipText = skipText
				path := copyTo(t, "../testdata/container/"+file, filepath.Join(t.TempDir(), file))
				got, _ := readStats(t, m, path)
				want := daemon.Stats{Lines: kinds["request"] + kinds["skipped"] + kinds["malformed"] + kinds["text"],
					Requests: kinds["request"], Skipped: kinds["skipped"], Malformed: kinds["malformed"] + kinds["text"]}
				if skipText {
					want.Skipped, want.Malformed = kinds["skipped"]+kinds["text"], kinds["malformed"]
				}
				if got.Lines != want.Lines || got.Requests != want.Requests || got.Skipped != want.Skipped || got.Malformed != want.Malformed {
					t.Fatalf("Stats=%+v, want %+v", got, want)
				}
				if got.Requests+got.Skipped+got.Malformed != got.Lines {
					t.Fatalf("requests %d + skipped %d + malformed %d != lines %d", got.Requests, got.Skipped, got.Malformed, got.Lines)
				}
			})
		}
	}
}

// TestPipeline_RuntimeTime: a framed line with no time of its own is
// counted at the runtime's time, not at ingest time.
func TestPipeline_RuntimeTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	at := time.Date(2000, 1, 2, 3, 4, 5, 0, time.UTC)
	line := `{"method":"GET","url":"https://acme.picqer.com/api/v1/products","status":502}`
	os.WriteFile(path, []byte(at.Format(time.RFC3339Nano)+" stdout F "+line+"\n"), 0o644)
	_, dbPath := readStats(t, ingest.AutoMapping(), path)
	db := MustOpenDB(t, dbPath)
	vendors, err := db.Vendors(context.Background(), at.Add(-time.Hour), at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(vendors) != 1 || vendors[0].Requests != 1 {
		t.Fatalf("Vendors around the runtime's time = %+v, want one request", vendors)
	}
}

// TestPipeline_JoinedLineTooLong: parts that join to a line over the limit
// count as one malformed line, too long; the lines around it count as
// usual.
func TestPipeline_JoinedLineTooLong(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	ts := time.Date(2000, 1, 2, 3, 4, 5, 0, time.UTC).Format(time.RFC3339Nano)
	var b strings.Builder
	fmt.Fprintf(&b, "%s stdout F not json\n", ts)
	for range 10 {
		fmt.Fprintf(&b, "%s stdout P %s\n", ts, strings.Repeat("x", 300))
	}
	fmt.Fprintf(&b, "%s stdout F end\n", ts)
	fmt.Fprintf(&b, "%s stdout F {\"url\":\"https://acme.picqer.com/api/v1/orders\",\"method\":\"GET\",\"status\":500}\n", ts)
	os.WriteFile(path, []byte(b.String()), 0o644)
	db := MustOpenDB(t, "")
	p := daemon.NewPipeline(db, catalog(t), nil, 1000, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := p.ReadFiles(context.Background(), []string{path}); err != nil {
		t.Fatal(err)
	}
	if got := p.Stats(); got.Lines != 3 || got.Malformed != 2 || got.Requests != 1 {
		t.Fatalf("Stats=%+v, want 3 lines: 2 malformed (not JSON, too long), 1 request", got)
	}
	mal, err := db.Malformed(context.Background(), time.Unix(0, 0), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]int64{}
	for _, m := range mal {
		reasons[m.Reason] += m.Count
	}
	if reasons[ingest.ReasonTooLong] != 1 {
		t.Fatalf("malformed by reason %v, want one %q", reasons, ingest.ReasonTooLong)
	}
}
