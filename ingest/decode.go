package ingest

import (
	"bytes"
	"strconv"
	"strings"
	"time"
)

// maxDepth bounds how deep the decoder descends into a line's objects while
// looking for fields. Bodies are not descended into at all.
const maxDepth = 8

// Decoder decodes log lines into Records. It is not safe for concurrent use:
// give each goroutine its own.
type Decoder struct {
	m      compiled
	rec    Record
	best   [numFields]uint8 // priority of the path that set each field, 255 = unset
	path   []byte           // dotted path of the key being visited
	depth  int
	key    []byte // scratch for escaped keys
	str    []byte // scratch for escaped short strings
	status jsonValue
	seen   [32]lookup // the last lookups by member ordinal: lines of a log repeat their keys
	nth    int
	member func(key []byte, b []byte, start int) (int, error)
	header func(key []byte, b []byte, start int) (int, error)
}

// lookup is a cached answer for one dotted path.
type lookup struct {
	path      string
	slot      slot
	isSlot    bool
	container bool
}

// NewDecoder returns a Decoder for the given mapping (AutoMapping for
// `format: auto`).
func NewDecoder(m Mapping) *Decoder {
	d := &Decoder{m: m.compile()}
	d.member = d.visitMember
	d.header = d.visitHeader
	return d
}

// Decode decodes one line (without its newline). The returned Record is
// valid until the next call. A malformed line returns a *DecodeError.
//
// Only the keys the mapping names are looked at; every other value is
// skipped without being decoded, and the body is kept as logged until
// Record.DecodedBody asks for it.
func (d *Decoder) Decode(line []byte) (*Record, error) {
	if len(line) == 0 || line[0] <= ' ' || line[len(line)-1] <= ' ' {
		line = bytes.TrimSpace(line)
	}
	if len(line) == 0 {
		return nil, &DecodeError{Reason: ReasonEmpty}
	}
	if line[0] != '{' {
		if end, err := skipValue(line, 0); err == nil && skipWS(line, end) == len(line) {
			return nil, &DecodeError{Reason: ReasonNotObject}
		}
		return nil, &DecodeError{Reason: ReasonNotJSON, Err: errSyntax}
	}

	// One pass over the line's keys fills the Record.
	d.rec = Record{Headers: d.rec.Headers[:0], scratch: d.rec.scratch}
	for i := range d.best {
		d.best[i] = 255
	}
	d.path, d.depth, d.status, d.nth = d.path[:0], 0, jsonValue{}, 0
	end, err := walkObject(line, 0, d.key, d.member)
	if err != nil {
		return nil, &DecodeError{Reason: ReasonNotJSON, Err: err}
	}
	if skipWS(line, end) != len(line) {
		return nil, &DecodeError{Reason: ReasonNotJSON, Err: errSyntax}
	}

	if d.status.kind == 0 {
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

// visitMember handles one member of the object at d.path; it returns the
// index past the value, or -1 to have it skipped.
func (d *Decoder) visitMember(key []byte, b []byte, start int) (int, error) {
	n := len(d.path)
	if n > 0 {
		d.path = append(d.path, '.')
	}
	d.path = append(d.path, key...)
	end, err := d.visitPath(b, start)
	d.path = d.path[:n]
	return end, err
}

// find answers what a path is: a slot, a container, or neither. Lines of
// one log have their keys in the same order, so the answer for the n-th
// member is usually the one of the last line: a compare, not a hash.
func (d *Decoder) find() (slot, bool, bool) {
	n := d.nth
	d.nth++
	if n < len(d.seen) {
		if l := &d.seen[n]; l.path == string(d.path) {
			return l.slot, l.isSlot, l.container
		}
	}
	s, isSlot := d.m.slots[string(d.path)]
	container := d.m.containers[string(d.path)]
	if n < len(d.seen) {
		d.seen[n] = lookup{path: string(d.path), slot: s, isSlot: isSlot, container: container}
	}
	return s, isSlot, container
}

func (d *Decoder) visitPath(b []byte, start int) (int, error) {
	s, isSlot, container := d.find()
	switch {
	case isSlot && s.field == FieldHeaders:
		if b[start] == '{' {
			return walkObject(b, start, d.key, d.header)
		}
		return -1, nil
	case isSlot && s.field == FieldBody:
		v, end, err := valueAt(b, start)
		if err == nil {
			d.set(s, v)
		}
		return end, err
	case b[start] == '{' && container:
		if d.depth >= maxDepth {
			return -1, nil
		}
		d.depth++
		end, err := walkObject(b, start, d.key, d.member)
		d.depth--
		return end, err
	case isSlot:
		v, end, err := valueAt(b, start)
		if err == nil {
			d.set(s, v)
		}
		return end, err
	}
	// A dotted header key such as "http.response.header.retry-after".
	for _, h := range d.m.headers {
		if len(d.path) > len(h)+1 && d.path[len(h)] == '.' && string(d.path[:len(h)]) == h {
			return d.visitHeaderValue(d.path[len(h)+1:], b, start)
		}
	}
	return -1, nil
}

func (d *Decoder) visitHeader(key []byte, b []byte, start int) (int, error) {
	return d.visitHeaderValue(key, b, start)
}

// visitHeaderValue keeps a response header if it bears on retrying.
func (d *Decoder) visitHeaderValue(name []byte, b []byte, start int) (int, error) {
	if !RetryHeader(name) {
		return -1, nil
	}
	v, end, err := valueAt(b, start)
	if err != nil {
		return 0, err
	}
	if v.kind == '[' { // OpenTelemetry logs header values as arrays
		i := skipWS(v.raw, 1)
		if i >= len(v.raw) || v.raw[i] == ']' {
			return end, nil
		}
		if v, _, err = valueAt(v.raw, i); err != nil {
			return 0, err
		}
	}
	if (v.kind != '"' && v.kind != '0') || len(d.rec.Headers) >= 16 { // bounded on hostile lines
		return end, nil
	}
	val := v.raw
	if v.escaped {
		val = unescape(nil, v.raw)
	}
	d.rec.Headers = append(d.rec.Headers, Header{Name: strings.ToLower(string(name)), Value: val})
	return end, nil
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
func (d *Decoder) set(s slot, v jsonValue) {
	if s.prio >= d.best[s.field] {
		return
	}
	ok := true
	switch s.field {
	case FieldTime:
		d.rec.Time, ok = parseTime(v, d.text(v))
	case FieldMethod:
		d.rec.Method, ok = method(v, d.text(v))
	case FieldURL:
		d.rec.URL, ok = d.str1(v)
	case FieldHost:
		var h string
		if h, ok = d.str1(v); ok {
			d.rec.Host = normalizeHost(h)
		}
	case FieldPath:
		d.rec.Path, ok = d.str1(v)
	case FieldStatus:
		d.status = v
	case FieldLatency:
		d.rec.Latency, ok = parseLatency(v, d.text(v), s.unit)
	case FieldBody:
		switch v.kind {
		case 'n':
			d.rec.Body = nil
		default:
			d.rec.Body, d.rec.BodyEscaped = v.raw, v.escaped
		}
	}
	if ok {
		d.best[s.field] = s.prio
	}
}

// text returns a string value's contents unescaped (in a scratch buffer
// valid until the next call), or a number's digits.
func (d *Decoder) text(v jsonValue) []byte {
	if v.escaped {
		d.str = unescape(d.str[:0], v.raw)
		return d.str
	}
	return v.raw
}

// str1 returns a string value as a Go string.
func (d *Decoder) str1(v jsonValue) (string, bool) {
	if v.kind != '"' {
		return "", false
	}
	return string(d.text(v)), true
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
		end := hostEnd(rest)
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
	if end := queryStart(rest); end >= 0 {
		rest = rest[:end]
	}
	return host, rest
}

// hostEnd and queryStart find where a URL's host ends and its query or
// fragment starts, byte by byte (strings.IndexAny builds a set each call).
func hostEnd(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '/' || c == '?' || c == '#' {
			return i
		}
	}
	return -1
}

func queryStart(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '?' || c == '#' {
			return i
		}
	}
	return -1
}

// maxHost is the longest DNS name.
const maxHost = 253

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
	if len(h) > maxHost { // longer than any DNS name: a hostile log
		h = h[:maxHost]
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(h)
		}
	}
	return h
}

// method returns an HTTP method, interning the common ones.
func method(v jsonValue, b []byte) (string, bool) {
	if v.kind != '"' {
		return "", false
	}
	for _, m := range [...]string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"} {
		if len(b) == len(m) && strings.EqualFold(string(b), m) {
			return m, true
		}
	}
	if len(b) > 16 {
		b = b[:16]
	}
	return strings.ToUpper(string(b)), true
}

func parseStatus(v jsonValue) (int, bool) {
	var n int64
	switch v.kind {
	case '0':
		var ok bool
		if n, ok = atoi(v.raw); !ok {
			f, err := strconv.ParseFloat(string(v.raw), 64)
			if err != nil || f != float64(int64(f)) {
				return 0, false
			}
			n = int64(f)
		}
	case '"':
		var ok bool
		if v.escaped {
			return 0, false
		}
		if n, ok = atoi(v.raw); !ok {
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

func parseLatency(v jsonValue, b []byte, unit time.Duration) (time.Duration, bool) {
	limit := int64(24 * time.Hour / unit)
	switch v.kind {
	case '0':
		if n, ok := atoi(b); ok && n <= limit {
			return time.Duration(n) * unit, true
		}
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil || f < 0 || f > float64(limit) {
			return 0, false
		}
		return time.Duration(f * float64(unit)), true
	case '"':
		if n, ok := atoi(b); ok && n <= limit {
			return time.Duration(n) * unit, true
		}
		if d, err := time.ParseDuration(string(b)); err == nil && d >= 0 {
			return d, true
		}
	}
	return 0, false
}
