package ingest_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apierr/apierr/ingest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// decoded is what the shapes goldens show of a Record.
type decoded struct {
	Line      int               `json:"line"`
	Skipped   string            `json:"skipped,omitempty"`
	Malformed string            `json:"malformed,omitempty"`
	Shape     string            `json:"shape,omitempty"`
	Time      string            `json:"time,omitempty"`
	Method    string            `json:"method,omitempty"`
	URL       string            `json:"url,omitempty"`
	Host      string            `json:"host,omitempty"`
	Path      string            `json:"path,omitempty"`
	Status    *int              `json:"status,omitempty"`
	LatencyMS float64           `json:"latency_ms,omitempty"`
	Error     string            `json:"error,omitempty"`
	IdemKey   bool              `json:"idempotency_key,omitempty"`
	TraceID   string            `json:"trace_id,omitempty"`
	Service   string            `json:"service,omitempty"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      string            `json:"body,omitempty"`
}

// TestShapes decodes every shape's sample lines (the classify goldens'
// inputs, and the mixed logs of testdata/shapes) with the auto mapping and
// compares every field with testdata/shapes/<name>.golden.
func TestShapes(t *testing.T) {
	inputs, _ := filepath.Glob("../testdata/classify/shapes/*.jsonl")
	more, _ := filepath.Glob("../testdata/shapes/*.jsonl")
	inputs = append(inputs, more...)
	if len(inputs) < 10 {
		t.Fatalf("found %d shape files", len(inputs))
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".jsonl")
		t.Run(name, func(t *testing.T) {
			got := decodeFile(t, in, ingest.AutoMapping())
			golden := filepath.Join("../testdata/shapes", name+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./ingest -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s:\n got: %s\nwant: %s", in, golden, got, want)
			}
		})
	}
}

func decodeFile(tb testing.TB, name string, m ingest.Mapping) []byte {
	tb.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	d := ingest.NewDecoder(m)
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		d.DecodeAll(sc.Bytes(), func(rec *ingest.Record, err error) {
			if err != nil {
				if ingest.Skipped(err) {
					enc.Encode(decoded{Line: n, Skipped: ingest.Reason(err)})
				} else {
					enc.Encode(decoded{Line: n, Malformed: ingest.Reason(err)})
				}
				return
			}
			enc.Encode(describe(n, d.Shape(), rec))
		})
	}
	return out.Bytes()
}

func describe(n int, shape string, rec *ingest.Record) decoded {
	o := decoded{Line: n, Shape: shape, Method: rec.Method, URL: rec.URL, Host: rec.Host, Path: rec.Path,
		LatencyMS: float64(rec.Latency) / float64(time.Millisecond), Error: string(rec.Error), IdemKey: rec.IdempotencyKey,
		TraceID: string(rec.TraceID), Service: string(rec.Service), Body: string(rec.DecodedBody())}
	st := rec.Status
	o.Status = &st
	if !rec.Time.IsZero() {
		o.Time = rec.Time.Format(time.RFC3339Nano)
	}
	for _, h := range rec.Headers {
		if o.Headers == nil {
			o.Headers = map[string]string{}
		}
		o.Headers[h.Name] = string(h.Value)
	}
	return o
}
