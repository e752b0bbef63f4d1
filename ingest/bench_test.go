package ingest_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/ingest"
	"github.com/apierr/apierr/traffic"
)

// benchLines are generated lines of the flat shape (about 780 bytes, 20%
// errors), as the end-to-end benchmark uses.
func benchLines(b *testing.B) [][]byte {
	cat, err := classify.Load(classify.Builtin())
	if err != nil {
		b.Fatal(err)
	}
	g := traffic.New(cat, 1)
	lines := make([][]byte, 4096)
	for i := range lines {
		l := g.Append(nil)
		lines[i] = l[:len(l)-1]
	}
	return lines
}

func BenchmarkDecode(b *testing.B) {
	lines := benchLines(b)
	d := ingest.NewDecoder(ingest.AutoMapping())
	var n int64
	for _, l := range lines {
		n += int64(len(l))
	}
	b.SetBytes(n / int64(len(lines)))
	b.ResetTimer()
	i := 0
	for b.Loop() {
		d.Decode(lines[i%len(lines)])
		i++
	}
}

// BenchmarkFraming reads the same inner lines plain, as a CRI file and as
// a Docker json-file log, as the daemon does: a block cut at its Boundary,
// then each line unwrapped by the chunk's Framer and decoded. Bytes are
// those of the inner lines, so MB/s compare directly.
func BenchmarkFraming(b *testing.B) {
	lines := benchLines(b)
	at := time.Date(2000, 1, 2, 3, 4, 5, 0, time.UTC)
	var inner int64
	blocks := map[ingest.Framing][]byte{}
	for _, l := range lines {
		inner += int64(len(l))
		ts := at.Format(time.RFC3339Nano)
		blocks[ingest.FramingNone] = append(append(blocks[ingest.FramingNone], l...), '\n')
		blocks[ingest.FramingCRI] = append(blocks[ingest.FramingCRI], ts+" stdout F "+string(l)+"\n"...)
		frame, _ := json.Marshal(struct {
			Log    string `json:"log"`
			Stream string `json:"stream"`
			Time   string `json:"time"`
		}{string(l) + "\n", "stdout", ts})
		blocks[ingest.FramingDocker] = append(append(blocks[ingest.FramingDocker], frame...), '\n')
		at = at.Add(time.Millisecond)
	}
	for _, f := range []ingest.Framing{ingest.FramingNone, ingest.FramingCRI, ingest.FramingDocker} {
		b.Run(f.String(), func(b *testing.B) {
			data := blocks[f]
			if got := ingest.Detect(data[:bytes.IndexByte(data, '\n')]); got != f {
				b.Fatalf("Detect=%v, want %v", got, f)
			}
			d := ingest.NewDecoder(ingest.AutoMapping())
			fr := ingest.NewFramer(f, 0)
			b.SetBytes(inner)
			// The process's CPU time too: on a shared machine it varies
			// far less than the wall time.
			cpu0 := cpuTime()
			for b.Loop() {
				rest := data[:f.Boundary(data)]
				for len(rest) > 0 {
					i := bytes.IndexByte(rest, '\n')
					raw := rest[:i]
					rest = rest[i+1:]
					if fr, ok := fr.Unwrap(raw); ok && fr.Err == nil {
						d.Decode(fr.Line)
					}
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
