// Package traffic writes realistic synthetic request logs: successes with
// bodies of 100 to 1,500 bytes, and errors of every vendor in the catalog,
// rendered from each vendor definition's sample template. It feeds
// `apierr demo`, `apierr generate` and the benchmarks.
//
// It does no I/O of its own: lines are appended to a caller's buffer.
package traffic

import (
	"math/rand"
	"strconv"
	"strings"
	"time"

	"github.com/apierr/apierr/classify"
)

// Generator makes log lines. It is not safe for concurrent use.
type Generator struct {
	Start     time.Time     // time of the first line
	Step      time.Duration // time between lines
	Errors    float64       // share of lines that are errors (0.2)
	Malformed float64       // share of lines that are malformed (0.001)

	rng     *rand.Rand
	vendors []vendor
	n       int
}

type vendor struct {
	id     string
	sample *classify.Sample
	host   string
	paths  []string
	codes  []classify.Code
	weight []float64 // cumulative: a few codes are frequent, most are rare
}

// New returns a generator over the catalog's vendors that have a sample,
// seeded for reproducible output.
func New(cat *classify.Catalog, seed int64) *Generator {
	g := &Generator{
		Start:     time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC),
		Step:      10 * time.Millisecond,
		Errors:    0.2,
		Malformed: 0.001,
		rng:       rand.New(rand.NewSource(seed)),
	}
	for _, id := range cat.Vendors() {
		d := cat.Vendor(id)
		if d.Sample == nil || len(d.Codes) == 0 {
			continue
		}
		v := vendor{id: id, sample: d.Sample, codes: d.Codes}
		v.host, v.paths = splitURL(d.Sample.URL)
		total := 0.0
		for i := range d.Codes {
			total += 1 / float64(i+1) // Zipf-like: the first codes dominate
			v.weight = append(v.weight, total)
		}
		for i := range v.weight {
			v.weight[i] /= total
		}
		g.vendors = append(g.vendors, v)
	}
	return g
}

func splitURL(u string) (base string, paths []string) {
	i := strings.Index(u, "://")
	j := strings.IndexByte(u[i+3:], '/')
	if j < 0 {
		return u, []string{"/"}
	}
	base, path := u[:i+3+j], u[i+3+j:]
	if q := strings.IndexByte(path, '?'); q >= 0 {
		path = path[:q]
	}
	return base, []string{path}
}

// Lines returns how many lines were made.
func (g *Generator) Lines() int { return g.n }

// Append appends one log line (with its newline) to dst.
func (g *Generator) Append(dst []byte) []byte {
	ts := g.Start.Add(time.Duration(g.n) * g.Step)
	g.n++
	r := g.rng.Float64()
	switch {
	case r < g.Malformed:
		return g.malformed(dst, ts)
	case r < g.Malformed+g.Errors && len(g.vendors) > 0:
		return g.vendorError(dst, ts)
	}
	return g.success(dst, ts)
}

// head appends the fields every line has, up to the body.
func head(dst []byte, ts time.Time, method, url string, status, ms int) []byte {
	dst = append(dst, `{"ts":"`...)
	dst = ts.AppendFormat(dst, "2006-01-02T15:04:05.000Z07:00")
	dst = append(dst, `","method":"`...)
	dst = append(dst, method...)
	dst = append(dst, `","url":"`...)
	dst = append(dst, url...)
	dst = append(dst, `","status":`...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, `,"duration_ms":`...)
	dst = strconv.AppendInt(dst, int64(ms), 10)
	return dst
}

func (g *Generator) vendorError(dst []byte, ts time.Time) []byte {
	v := &g.vendors[g.rng.Intn(len(g.vendors))]
	if g.rng.Float64() < 0.05 { // gateway errors with an HTML page or nothing
		status := []int{502, 503, 504}[g.rng.Intn(3)]
		dst = head(dst, ts, "GET", v.host+v.paths[0], status, 30000)
		if g.rng.Intn(2) == 0 {
			dst = append(dst, `,"response_body":"<html><head><title>`...)
			dst = strconv.AppendInt(dst, int64(status), 10)
			dst = append(dst, ` Bad Gateway</title></head><body><center>nginx</center></body></html>"}`...)
		} else {
			dst = append(dst, `,"response_body":""}`...)
		}
		return append(dst, '\n')
	}
	x := g.rng.Float64()
	i := 0
	for i < len(v.weight)-1 && v.weight[i] < x {
		i++
	}
	c := v.codes[i]
	status := v.sample.Status
	if c.Status >= 400 {
		status = c.Status
	}
	method := v.sample.Method
	if method == "" {
		method = "POST"
	}
	dst = head(dst, ts, method, v.host+v.paths[0], status, 20+g.rng.Intn(400))
	if status == 429 || c.Category == classify.RateLimit {
		dst = append(dst, `,"response_headers":{"Retry-After":"`...)
		dst = strconv.AppendInt(dst, int64(1+g.rng.Intn(30)), 10)
		dst = append(dst, `"}`...)
	}
	dst = append(dst, `,"response_body":`...)
	dst = appendJSONString(dst, v.sample.Render(c.Code, c.Message, status))
	return append(dst, "}\n"...)
}

// words for success bodies.
var words = []string{"order", "product", "customer", "voucher", "credit", "shipment", "invoice", "stock", "member", "reward"}

func (g *Generator) success(dst []byte, ts time.Time) []byte {
	host, path := "https://api.internal.example", "/v1/items"
	method := "GET"
	if len(g.vendors) > 0 {
		v := &g.vendors[g.rng.Intn(len(g.vendors))]
		host, path, method = v.host, v.paths[0], "GET"
	}
	dst = head(dst, ts, method, host+path, 200, 10+g.rng.Intn(300))
	// A body of about 100 to 1,400 bytes: a list of records, as a JSON string.
	size := 100 + g.rng.Intn(1200)
	dst = append(dst, `,"response_body":"{\"data\":[`...)
	start := len(dst)
	for k := 0; len(dst)-start < size; k++ {
		if k > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{\"id\":`...)
		dst = strconv.AppendInt(dst, int64(g.rng.Intn(1_000_000)), 10)
		dst = append(dst, `,\"type\":\"`...)
		dst = append(dst, words[g.rng.Intn(len(words))]...)
		dst = append(dst, `\",\"amount\":`...)
		dst = strconv.AppendInt(dst, int64(g.rng.Intn(100_000)), 10)
		dst = append(dst, `}`...)
	}
	return append(dst, `],\"meta\":{}}"}`+"\n"...)
}

func (g *Generator) malformed(dst []byte, ts time.Time) []byte {
	switch g.rng.Intn(3) {
	case 0:
		return append(dst, "GET /health 200 OK\n"...)
	case 1: // truncated
		dst = head(dst, ts, "GET", "https://api.internal.example/v1/items", 200, 5)
		return append(dst, `,"response_body":"{\"da`+"\n"...)
	}
	return append(dst, `{"ts":"`+ts.Format(time.RFC3339)+`","method":"GET","url":"https://api.internal.example/x"}`+"\n"...)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c < 0x20:
			dst = append(dst, `\u00`...)
			dst = append(dst, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// AppendRateLimited appends a throttled request: Picqer's 429 with its
// code 28 body, or Voucherify's 429 with Retry-After.
func (g *Generator) AppendRateLimited(dst []byte) []byte {
	ts := g.Start.Add(time.Duration(g.n) * g.Step)
	g.n++
	if g.rng.Intn(2) == 0 {
		dst = head(dst, ts, "GET", "https://acme.picqer.com/api/v1/orders", 429, 5)
		dst = append(dst, `,"response_headers":{"X-RateLimit-Limit":"500","X-RateLimit-Remaining":"0"}`...)
		return append(dst, `,"response_body":"{\"error\":true,\"error_code\":28,\"error_message\":\"Rate limit exceeded\"}"}`+"\n"...)
	}
	dst = head(dst, ts, "POST", "https://api.voucherify.io/v1/redemptions", 429, 4)
	dst = append(dst, `,"response_headers":{"Retry-After":"`...)
	dst = strconv.AppendInt(dst, int64(1+g.rng.Intn(20)), 10)
	dst = append(dst, `","X-Rate-Limit-Type":"api_calls"}`...)
	return append(dst, `,"response_body":"{\"code\":429,\"message\":\"Too many requests hit the API too quickly.\"}"}`+"\n"...)
}
