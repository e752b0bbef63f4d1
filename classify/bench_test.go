package classify_test

import (
	"testing"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/ingest"
	"github.com/apierr/apierr/traffic"
)

// BenchmarkClassify classifies decoded generated lines (20% errors).
func BenchmarkClassify(b *testing.B) {
	cat := MustLoad(b)
	g := traffic.New(cat, 1)
	var recs []ingest.Record
	for range 4096 {
		l := g.Append(nil)
		rec, err := ingest.NewDecoder(ingest.AutoMapping()).Decode(l[:len(l)-1])
		if err != nil {
			continue
		}
		r := *rec
		r.Body = append([]byte(nil), rec.Body...)
		recs = append(recs, r)
	}
	cl := classify.NewClassifier(cat)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		r := recs[i%len(recs)]
		cl.Classify(&r)
		i++
	}
}
