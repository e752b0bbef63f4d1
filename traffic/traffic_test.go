package traffic_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/ingest"
	"github.com/apierr/apierr/traffic"
)

// tally decodes and classifies n generated lines.
type tally struct {
	lines, requests, errors, skipped, malformed, noResponse, idempotent int
	categories                                                          map[classify.Category]int
	groups, endpoints, vendors, services                                map[string]bool
	first, last                                                         time.Time
}

func count(tb testing.TB, g *traffic.Generator, cat *classify.Catalog, n int) tally {
	tb.Helper()
	t := tally{categories: map[classify.Category]int{}, groups: map[string]bool{}, endpoints: map[string]bool{}, vendors: map[string]bool{}, services: map[string]bool{}}
	dec := ingest.NewDecoder(ingest.AutoMapping())
	cl := classify.NewClassifier(cat)
	var buf []byte
	for range n {
		buf = g.Append(buf[:0])
		line := bytes.TrimSuffix(buf, []byte("\n"))
		t.lines++
		rec, err := dec.Decode(line)
		switch {
		case ingest.Skipped(err):
			t.skipped++
			continue
		case err != nil:
			t.malformed++
			continue
		}
		t.requests++
		if t.first.IsZero() {
			t.first = rec.Time
		}
		t.last = rec.Time
		if rec.Status == 0 {
			t.noResponse++
			if rec.IdempotencyKey {
				t.idempotent++
			}
		}
		if len(rec.Service) > 0 {
			t.services[string(rec.Service)] = true
		}
		ev := cl.Classify(rec)
		t.vendors[ev.Vendor] = true
		t.endpoints[ev.Vendor+" "+rec.Path] = true
		if ev.Error {
			t.errors++
			t.categories[ev.Category]++
			t.groups[ev.Vendor+" "+ev.Code+" "+rec.Path] = true
		}
	}
	return t
}

func catalog(tb testing.TB) *classify.Catalog {
	cat, err := classify.Load(classify.Builtin())
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}

// TestGenerator_Default: the default mix the benchmarks compare: about a
// fifth errors, a few malformed lines, no call without a response, no
// skipped line, one endpoint per vendor, and the same lines for a seed.
func TestGenerator_Default(t *testing.T) {
	cat := catalog(t)
	const n = 20_000
	c := count(t, traffic.New(cat, 1), cat, n)
	if share := float64(c.errors) / n; share < 0.18 || share > 0.22 {
		t.Errorf("errors share %.3f, want about 0.2", share)
	}
	if c.malformed == 0 || c.malformed > n/200 || c.skipped != 0 || c.noResponse != 0 || len(c.services) != 0 {
		t.Errorf("malformed %d, skipped %d, no response %d, services %d", c.malformed, c.skipped, c.noResponse, len(c.services))
	}
	if len(c.endpoints) != len(c.vendors) {
		t.Errorf("%d endpoints for %d vendors, want one each", len(c.endpoints), len(c.vendors))
	}
	a, b := traffic.New(cat, 7), traffic.New(cat, 7)
	for range 1000 {
		if la, lb := a.Append(nil), b.Append(nil); !bytes.Equal(la, lb) {
			t.Fatalf("same seed, different lines:\n%s%s", la, lb)
		}
	}
}

// TestGenerator_Diverse: the knobs make thousands of (vendor, code,
// endpoint) groups over hours, calls without a response in several
// clients' spellings, and skipped lines.
func TestGenerator_Diverse(t *testing.T) {
	cat := catalog(t)
	g := traffic.New(cat, 2)
	const n = 60_000
	g.Step = 6 * time.Hour / n
	g.Errors, g.Transport, g.Other = 0.4, 0.05, 0.1
	g.Endpoints, g.Services = 40, []string{"checkout", "billing", "search"}
	c := count(t, g, cat, n)
	if len(c.groups) < 2000 {
		t.Errorf("%d (vendor, code, endpoint) groups, want thousands", len(c.groups))
	}
	if span := c.last.Sub(c.first); span < 5*time.Hour {
		t.Errorf("span %v, want about 6h", span)
	}
	if share := float64(c.noResponse) / n; share < 0.04 || share > 0.06 {
		t.Errorf("no-response share %.3f, want about 0.05", share)
	}
	if c.idempotent == 0 || c.idempotent > c.noResponse/3 {
		t.Errorf("%d of %d no-response calls with an Idempotency-Key, want some", c.idempotent, c.noResponse)
	}
	if c.categories[classify.Timeout] == 0 || c.categories[classify.Network] == 0 {
		t.Errorf("categories %v: want timeouts and network failures", c.categories)
	}
	if share := float64(c.skipped) / n; share < 0.09 || share > 0.11 {
		t.Errorf("skipped share %.3f, want about 0.1", share)
	}
	if len(c.services) != 3 {
		t.Errorf("services %v", c.services)
	}
	if c.requests+c.skipped+c.malformed != c.lines {
		t.Errorf("requests %d + skipped %d + malformed %d != lines %d", c.requests, c.skipped, c.malformed, c.lines)
	}
}

// TestGenerator_Vendors: Vendors and Codes narrow the mix.
func TestGenerator_Vendors(t *testing.T) {
	cat := catalog(t)
	g := traffic.New(cat, 3)
	g.Vendors, g.Codes, g.Errors = []string{"picqer", "voucherify"}, 2, 1
	c := count(t, g, cat, 5000)
	codes := map[string]bool{}
	for k := range c.groups {
		f := strings.Fields(k)
		codes[f[0]+" "+f[1]] = true
	}
	if len(c.vendors) != 2 || !c.vendors["picqer"] || !c.vendors["voucherify"] {
		t.Errorf("vendors %v", c.vendors)
	}
	// Two codes per vendor, and the gateway errors (502, 503, 504) any vendor may return.
	if len(codes) > 2*(2+3) {
		t.Errorf("codes %v: want at most 2 per vendor besides gateway errors", codes)
	}
}
