// Package traffic writes realistic synthetic request logs: successes with
// bodies of 100 to 1,500 bytes, errors of every vendor in the catalog,
// rendered from each vendor definition's sample template, and, when asked,
// calls that got no response (timeouts, refused and reset connections, DNS
// and TLS failures, as Go, Java, Python, Node, PHP and .NET clients spell
// them) and the application's other log lines. It feeds `apierr demo`,
// `apierr generate` and the benchmarks.
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
	Transport float64       // share of lines that are calls with no response (0)
	Other     float64       // share of lines that are not requests: the application's other lines (0)

	// The following are read at the first line made; change them before.

	// Vendors keeps only these vendor ids (nil: every vendor with a sample).
	Vendors []string
	// Codes keeps each vendor's first Codes codes of its catalog (0: all).
	Codes int
	// Endpoints is the number of endpoints per vendor (0 or 1: the
	// sample's path only).
	Endpoints int
	// Services are the calling services named on each line
	// (service_name); none: lines name no service.
	Services []string

	rng      *rand.Rand
	vendors  []vendor
	all      []vendor
	prepared bool
	n        int
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
		g.all = append(g.all, v)
	}
	g.vendors = g.all
	return g
}

// prepare applies Vendors, Codes and Endpoints.
func (g *Generator) prepare() {
	if g.prepared {
		return
	}
	g.prepared = true
	if g.Vendors == nil && g.Codes <= 0 && g.Endpoints <= 1 {
		return // the defaults: the same lines as ever for a seed
	}
	keep := map[string]bool{}
	for _, id := range g.Vendors {
		keep[id] = true
	}
	g.vendors = nil
	for _, v := range g.all {
		if g.Vendors != nil && !keep[v.id] {
			continue
		}
		if g.Codes > 0 && len(v.codes) > g.Codes {
			v.codes, v.weight = v.codes[:g.Codes], append([]float64(nil), v.weight[:g.Codes]...)
			for i := range v.weight {
				v.weight[i] /= v.weight[len(v.weight)-1]
			}
		}
		if g.Endpoints > 1 {
			v.paths = endpoints(v.paths[0], g.Endpoints)
		}
		g.vendors = append(g.vendors, v)
	}
}

// endpoints returns n distinct paths next to the sample's path, made of
// words (no digits, so that no endpoint is taken for an id).
func endpoints(sample string, n int) []string {
	dir := sample
	if i := strings.LastIndexByte(sample, '/'); i > 0 {
		dir = sample[:i]
	}
	paths := []string{sample}
	for i := 1; len(paths) < n; i++ {
		p := dir
		for k := i; k > 0; k /= len(words) {
			p += "/" + words[k%len(words)] + "s"
		}
		paths = append(paths, p)
	}
	return paths
}

// path picks one of the vendor's endpoints.
func (g *Generator) path(v *vendor) string {
	if len(v.paths) == 1 {
		return v.paths[0]
	}
	return v.paths[g.rng.Intn(len(v.paths))]
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
	g.prepare()
	ts := g.Start.Add(time.Duration(g.n) * g.Step)
	g.n++
	r := g.rng.Float64()
	switch {
	case r < g.Malformed:
		return g.malformed(dst, ts)
	case r < g.Malformed+g.Errors && len(g.vendors) > 0:
		return g.vendorError(dst, ts)
	case r < g.Malformed+g.Errors+g.Transport && len(g.vendors) > 0:
		return g.noResponse(dst, ts)
	case r < g.Malformed+g.Errors+g.Transport+g.Other:
		return g.other(dst, ts)
	}
	return g.success(dst, ts)
}

// head appends the fields every line has, up to the body, with the
// calling service when there are Services.
func (g *Generator) head(dst []byte, ts time.Time, method, url string, status, ms int) []byte {
	dst = head(dst, ts, method, url, status, ms)
	if len(g.Services) > 0 {
		dst = append(dst, `,"service_name":"`...)
		dst = append(dst, g.Services[g.rng.Intn(len(g.Services))]...)
		dst = append(dst, '"')
	}
	return dst
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
		dst = g.head(dst, ts, "GET", v.host+g.path(v), status, 30000)
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
	dst = g.head(dst, ts, method, v.host+g.path(v), status, 20+g.rng.Intn(400))
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
		host, path, method = v.host, g.path(v), "GET"
	}
	dst = g.head(dst, ts, method, host+path, 200, 10+g.rng.Intn(300))
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
	g.prepare()
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
