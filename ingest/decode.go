package ingest

import (
	"bytes"
	"strings"
	"time"

	"github.com/valyala/fastjson"
)

// maxDepth bounds how deep the decoder descends into a line's objects while
// looking for fields. Bodies are not descended into at all.
const maxDepth = 8

// Decoder decodes log lines into Records. It is not safe for concurrent use:
// give each goroutine its own.
type Decoder struct {
	m      compiled
	parser fastjson.Parser
	rec    Record
	best   [numFields]uint8 // priority of the path that set each field, 255 = unset
	path   []byte           // dotted path of the key being visited
	depth  int
	body   []byte // body re-serialized from an object
	status *fastjson.Value
	visit  func(key []byte, v *fastjson.Value)
	header func(key []byte, v *fastjson.Value)
}

// NewDecoder returns a Decoder for the given mapping (AutoMapping for
// `format: auto`).
func NewDecoder(m Mapping) *Decoder {
	d := &Decoder{m: m.compile()}
	d.visit = d.visitKey
	d.header = d.visitHeader
	return d
}

// Decode decodes one line (without its newline). The returned Record is
// valid until the next call. A malformed line returns a *DecodeError.
func (d *Decoder) Decode(line []byte) (*Record, error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return nil, &DecodeError{Reason: ReasonEmpty}
	}
	v, err := d.parser.ParseBytes(line)
	if err != nil {
		return nil, &DecodeError{Reason: ReasonNotJSON, Err: err}
	}
	o, err := v.Object()
	if err != nil {
		return nil, &DecodeError{Reason: ReasonNotObject}
	}

	// One pass over the line's keys fills the Record.
	d.rec = Record{Headers: d.rec.Headers[:0]}
	for i := range d.best {
		d.best[i] = 255
	}
	d.path = d.path[:0]
	d.depth = 0
	d.status = nil
	o.Visit(d.visit)

	if d.status == nil {
		return nil, &DecodeError{Reason: ReasonNoStatus}
	}
	status, ok := parseStatus(d.status)
	if !ok {
		return nil, &DecodeError{Reason: ReasonBadStatus}
	}
	d.rec.Status = status
	d.fillFromURL()
	return &d.rec, nil
}

// visitKey handles one key of the object at d.path.
func (d *Decoder) visitKey(key []byte, v *fastjson.Value) {
	n := len(d.path)
	if n > 0 {
		d.path = append(d.path, '.')
	}
	d.path = append(d.path, key...)
	defer func() { d.path = d.path[:n] }()

	s, isSlot := d.m.slots[string(d.path)]
	switch {
	case isSlot && s.field == FieldHeaders:
		if o, err := v.Object(); err == nil {
			o.Visit(d.header)
		}
	case isSlot && s.field == FieldBody:
		d.set(s, v)
	case v.Type() == fastjson.TypeObject && d.m.containers[string(d.path)]:
		if d.depth < maxDepth {
			d.depth++
			o, _ := v.Object()
			o.Visit(d.visit)
			d.depth--
		}
	case isSlot:
		d.set(s, v)
	default:
		// A dotted header key such as "http.response.header.retry-after".
		for _, h := range d.m.headers {
			if len(d.path) > len(h)+1 && d.path[len(h)] == '.' && string(d.path[:len(h)]) == h {
				d.addHeader(d.path[len(h)+1:], v)
				return
			}
		}
	}
}

func (d *Decoder) visitHeader(key []byte, v *fastjson.Value) { d.addHeader(key, v) }

// addHeader keeps a response header if it bears on retrying.
func (d *Decoder) addHeader(name []byte, v *fastjson.Value) {
	if !RetryHeader(name) {
		return
	}
	if v.Type() == fastjson.TypeArray { // OpenTelemetry logs header values as arrays
		a, _ := v.Array()
		if len(a) == 0 {
			return
		}
		v = a[0]
	}
	var val []byte
	switch v.Type() {
	case fastjson.TypeString:
		val, _ = v.StringBytes()
	case fastjson.TypeNumber:
		val = []byte(v.String())
	default:
		return
	}
	if len(d.rec.Headers) >= 16 { // a hostile line cannot grow this without bound
		return
	}
	d.rec.Headers = append(d.rec.Headers, Header{Name: strings.ToLower(string(name)), Value: val})
}

// RetryHeader reports whether a response header informs a retry verdict:
// Retry-After and the rate-limit families (X-RateLimit-*, X-Rate-Limit-*,
// RateLimit-*).
func RetryHeader(name []byte) bool {
	return hasPrefixFold(name, "retry-after") && len(name) == len("retry-after") ||
		hasPrefixFold(name, "x-ratelimit-") ||
		hasPrefixFold(name, "x-rate-limit-") ||
		hasPrefixFold(name, "ratelimit")
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && strings.EqualFold(string(b[:len(prefix)]), prefix)
}

// set stores v in the slot's field unless a preferred path already did.
func (d *Decoder) set(s slot, v *fastjson.Value) {
	if s.prio >= d.best[s.field] {
		return
	}
	ok := true
	switch s.field {
	case FieldTime:
		d.rec.Time, ok = parseTime(v)
	case FieldMethod:
		d.rec.Method, ok = method(v)
	case FieldURL:
		d.rec.URL, ok = str(v)
	case FieldHost:
		var h string
		if h, ok = str(v); ok {
			d.rec.Host = normalizeHost(h)
		}
	case FieldPath:
		d.rec.Path, ok = str(v)
	case FieldStatus:
		d.status = v
	case FieldLatency:
		d.rec.Latency, ok = parseLatency(v, s.unit)
	case FieldBody:
		ok = d.setBody(v)
	}
	if ok {
		d.best[s.field] = s.prio
	}
}

func (d *Decoder) setBody(v *fastjson.Value) bool {
	switch v.Type() {
	case fastjson.TypeString:
		d.rec.Body, _ = v.StringBytes()
	case fastjson.TypeObject, fastjson.TypeArray:
		d.body = v.MarshalTo(d.body[:0])
		d.rec.Body = d.body
	case fastjson.TypeNull:
		d.rec.Body = nil
	default:
		d.body = v.MarshalTo(d.body[:0])
		d.rec.Body = d.body
	}
	return true
}

// fillFromURL derives Host and Path from the URL when the line lacks them.
func (d *Decoder) fillFromURL() {
	if d.rec.Host != "" && d.rec.Path != "" {
		return
	}
	host, path := SplitURL(d.rec.URL)
	if d.rec.Host == "" {
		d.rec.Host = normalizeHost(host)
	}
	if d.rec.Path == "" {
		d.rec.Path = path
	}
}

// SplitURL returns the host (with any port) and path of an absolute or
// relative URL, without allocating. The path excludes query and fragment.
func SplitURL(u string) (host, path string) {
	rest := u
	if i := strings.Index(rest, "://"); i >= 0 && i < 16 {
		rest = rest[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		host = rest[:end]
		if at := strings.LastIndexByte(host, '@'); at >= 0 {
			host = host[at+1:]
		}
		rest = rest[end:]
	} else if strings.HasPrefix(rest, "//") {
		return SplitURL("x:" + rest)
	}
	if end := strings.IndexAny(rest, "?#"); end >= 0 {
		rest = rest[:end]
	}
	return host, rest
}

// normalizeHost lower-cases a host and strips its port and trailing dot.
func normalizeHost(h string) string {
	if strings.HasPrefix(h, "[") { // [::1]:8080
		if end := strings.IndexByte(h, ']'); end > 0 {
			h = h[1:end]
		}
	} else if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.Count(h, ":") == 1 {
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

func str(v *fastjson.Value) (string, bool) {
	b, err := v.StringBytes()
	if err != nil {
		return "", false
	}
	return string(b), true
}

// method returns an HTTP method, interning the common ones.
func method(v *fastjson.Value) (string, bool) {
	b, err := v.StringBytes()
	if err != nil {
		return "", false
	}
	for _, m := range [...]string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"} {
		if strings.EqualFold(string(b), m) {
			return m, true
		}
	}
	if len(b) > 16 {
		b = b[:16]
	}
	return strings.ToUpper(string(b)), true
}

func parseStatus(v *fastjson.Value) (int, bool) {
	var n int64
	switch v.Type() {
	case fastjson.TypeNumber:
		f, err := v.Float64()
		if err != nil || f != float64(int64(f)) {
			return 0, false
		}
		n = int64(f)
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		var ok bool
		if n, ok = atoi(b); !ok {
			return 0, false
		}
	default:
		return 0, false
	}
	if n < 100 || n > 999 {
		return 0, false
	}
	return int(n), true
}

// atoi parses a short unsigned decimal integer.
func atoi(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func parseLatency(v *fastjson.Value, unit time.Duration) (time.Duration, bool) {
	switch v.Type() {
	case fastjson.TypeNumber:
		f, err := v.Float64()
		if err != nil || f < 0 || f > float64(24*time.Hour/unit) {
			return 0, false
		}
		return time.Duration(f * float64(unit)), true
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		if d, err := time.ParseDuration(string(b)); err == nil && d >= 0 {
			return d, true
		}
		if n, ok := atoi(b); ok && n <= int64(24*time.Hour/unit) {
			return time.Duration(n) * unit, true
		}
	}
	return 0, false
}
