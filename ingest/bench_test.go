package ingest_test

import (
	"testing"

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
