package ingest

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxDepth bounds how deep the decoder descends into a line's objects while
// looking for fields. Bodies are not descended into at all.
const maxDepth = 8

// maxCands bounds the candidate values kept per field: a hostile line
// repeating a key cannot grow the decoder's state.
const maxCands = 4

// cand is a value found at one of a field's paths, resolved once the whole
// line has been seen (the line's shape may decide which candidate counts).
type cand struct {
	v jsonValue
	s *slot
}

// Decoder decodes log lines into Records. It is not safe for concurrent use:
// give each goroutine its own.
type Decoder struct {
	m   compiled
	rec Record

	cands    [numSlots][maxCands]cand
	ncand    [numSlots]uint8
	shape    uint16 // markers seen on the line
	status   *slot  // the path the status came from
	stZero   bool   // a status of 0: no response
	stBad    bool   // a number or object that is not an HTTP status
	stText   bool   // a textual status ("Bad Request")
	entry    []byte // Telescope entry type
	matchVal []jsonValue
	matchOK  []bool

	path       []byte // dotted path of the key being visited
	depth      int
	embedded   bool   // a JSON string holding an object was walked on this line
	embed      []byte // that object, unescaped
	key        []byte // scratch for escaped keys
	str        []byte // scratch for escaped short strings
	errBuf     []byte
	errTypeBuf []byte
	errType    []byte
	joinBuf    []byte
	traceBuf   []byte
	svcBuf     []byte

	otlp jsonValue // resourceLogs of an OTLP/JSON line

	seen   [32]lookup // the last lookups by member ordinal: lines of a log repeat their keys
	nth    int
	member func(key []byte, b []byte, start int) (int, error)
}

// lookup is a cached answer for one dotted path.
type lookup struct {
	path string
	n    *node
	hdr  uint8 // header kind of a flattened header key
	off  uint8 // where its name starts in the path
}

// NewDecoder returns a Decoder for the given mapping (AutoMapping for
// `format: auto`).
func NewDecoder(m Mapping) *Decoder {
	d := &Decoder{m: m.compile()}
	d.matchVal = make([]jsonValue, len(d.m.match))
	d.matchOK = make([]bool, len(d.m.match))
	d.member = d.visitMember
	return d
}

// Skip outcomes and malformed reasons without an underlying error are
// shared values: a mixed log's many skipped lines allocate nothing.
var (
	errEmpty      = &DecodeError{Reason: ReasonEmpty}
	errNotObject  = &DecodeError{Reason: ReasonNotObject}
	errNoStatus   = &DecodeError{Reason: ReasonNoStatus}
	errBadStatus  = &DecodeError{Reason: ReasonBadStatus}
	errNotRequest = &DecodeError{Reason: ReasonNotRequest, Skip: true}
	errNotMatched = &DecodeError{Reason: ReasonNotMatched, Skip: true}
	errTextLine   = &DecodeError{Reason: ReasonTextLine, Skip: true}
)

// Decode decodes one line (without its newline). The returned Record is
// valid until the next call. A malformed line, or one that is not a
// request, returns a *DecodeError (see Skipped).
//
// Only the keys the mapping names are looked at; every other value is
// skipped without being decoded, and the body is kept as logged until
// Record.DecodedBody asks for it.
//
// A line that carries several records (an OTLP/JSON export line) yields
// its first request; DecodeAll yields each.
func (d *Decoder) Decode(line []byte) (*Record, error) {
	if err := d.walkLine(line); err != nil {
		return nil, err
	}
	if d.otlp.kind == 0 {
		return d.finish()
	}
	var first error
	var it otlpIter
	it.init(d.otlp.raw)
	for rec, svc, ok := it.next(); ok; rec, svc, ok = it.next() {
		r, err := d.otlpRecord(rec, svc)
		if err == nil {
			return r, nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		first = errNotRequest
	}
	return nil, first
}

// DecodeAll decodes one line and calls fn once per record it carries:
// once for most lines, once per log record for an OTLP/JSON export line
// (one that carries none counts as one line that is not a request). fn
// gets either a Record, valid until fn returns, or the line's or the
// record's *DecodeError; each call is one line's worth of counting.
func (d *Decoder) DecodeAll(line []byte, fn func(*Record, error)) {
	if err := d.walkLine(line); err != nil {
		fn(nil, err)
		return
	}
	if d.otlp.kind == 0 {
		fn(d.finish())
		return
	}
	var it otlpIter
	it.init(d.otlp.raw)
	n := 0
	for rec, svc, ok := it.next(); ok; rec, svc, ok = it.next() {
		fn(d.otlpRecord(rec, svc))
		n++
	}
	if n == 0 {
		fn(nil, errNotRequest)
	}
}

// Shape names the shape of the last line decoded: "flat", "nested",
// "ecs", "otel", "otlp", "envoy", "traefik", "kong", "telescope",
// "structlog", "slog" or "har".
func (d *Decoder) Shape() string {
	p := ""
	if d.status != nil {
		p = d.status.path
	}
	return shapeName(d.shape, p)
}

// walkLine checks a line and walks its keys, gathering candidates.
func (d *Decoder) walkLine(line []byte) error {
	if len(line) == 0 || line[0] <= ' ' || line[len(line)-1] <= ' ' {
		line = bytes.TrimSpace(line)
	}
	d.otlp = jsonValue{}
	if len(line) == 0 {
		if d.m.skipText {
			return errTextLine
		}
		return errEmpty
	}
	if line[0] != '{' {
		if end, err := skipValue(line, 0); err == nil && skipWS(line, end) == len(line) {
			return errNotObject
		}
		if d.m.skipText {
			return errTextLine
		}
		return &DecodeError{Reason: ReasonNotJSON, Err: errSyntax}
	}
	d.reset()
	end, err := walkObject(line, 0, d.key, d.member)
	if err != nil {
		return &DecodeError{Reason: ReasonNotJSON, Err: err}
	}
	if skipWS(line, end) != len(line) {
		return &DecodeError{Reason: ReasonNotJSON, Err: errSyntax}
	}
	return nil
}

// reset clears the per-record state.
func (d *Decoder) reset() {
	d.rec = Record{Headers: d.rec.Headers[:0], scratch: d.rec.scratch}
	d.ncand = [numSlots]uint8{}
	d.shape, d.status, d.entry = 0, nil, nil
	d.stZero, d.stBad, d.stText = false, false, false
	d.path, d.depth, d.nth, d.embedded = d.path[:0], 0, 0, false
	clear(d.matchOK)
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

// find answers what a path is. Lines of one log have their keys in the
// same order, so the answer for the n-th member is usually the one of the
// last line: a compare, not a hash.
func (d *Decoder) find() lookup {
	n := d.nth
	d.nth++
	if n < len(d.seen) {
		if l := &d.seen[n]; l.path == string(d.path) {
			return *l
		}
	}
	l := d.lookupPath(d.path)
	if n < len(d.seen) {
		l.path = string(d.path)
		d.seen[n] = l
	}
	return l
}

func (d *Decoder) lookupPath(p []byte) lookup {
	if nd := d.m.nodes[string(p)]; nd != nil {
		return lookup{n: nd}
	}
	off := 0
	if d.m.auto {
		for _, t := range transparent {
			if len(p) > len(t) && string(p[:len(t)]) == t {
				if nd := d.m.nodes[string(p[len(t):])]; nd != nil {
					return lookup{n: nd}
				}
				off = len(t)
				break
			}
		}
	}
	for _, h := range d.m.prefixes {
		if rest := p[off:]; len(rest) > len(h.prefix) && string(rest[:len(h.prefix)]) == h.prefix && off+len(h.prefix) < 256 {
			return lookup{hdr: h.kind, off: uint8(off + len(h.prefix))}
		}
	}
	// An access log's own top-level names for response headers
	// ("retry_after", "x_rate_limit_type", as an Envoy format names them).
	if d.m.auto && bytes.IndexByte(p, '.') < 0 && wantHeader(hdrResponse, p) {
		return lookup{hdr: hdrResponse}
	}
	return lookup{}
}

func (d *Decoder) visitPath(b []byte, start int) (int, error) {
	l := d.find()
	nd := l.n
	if nd == nil {
		if l.hdr != 0 {
			name := d.path[l.off:]
			if !wantHeader(l.hdr, name) {
				return -1, nil
			}
			v, end, err := valueAt(b, start)
			if err == nil {
				d.headerValue(l.hdr, name, v)
			}
			return end, err
		}
		return -1, nil
	}
	c := b[start]
	if nd.shape != 0 && (!nd.shapeStr || c == '"') {
		d.shape |= nd.shape
	}
	switch {
	case nd.headers != 0 && (c == '{' || c == '['):
		v, end, err := valueAt(b, start)
		if err == nil {
			d.headerBlock(nd.headers, v)
		}
		return end, err
	case nd.otlp && c == '[' && d.depth == 0:
		v, end, err := valueAt(b, start)
		d.otlp = v
		return end, err
	case c == '{' && nd.container && !nd.hasBody():
		if d.depth >= maxDepth {
			return -1, nil
		}
		d.depth++
		end, err := walkObject(b, start, d.key, d.member)
		d.depth--
		return end, err
	case c == '"' && nd.container && len(nd.slots) == 0:
		return d.visitEmbedded(nd, b, start)
	}
	if len(nd.slots) == 0 && len(nd.match) == 0 {
		return -1, nil
	}
	v, end, err := valueAt(b, start)
	if err == nil {
		d.add(nd, v)
	}
	return end, err
}

// visitEmbedded looks into a string that holds a JSON object (Telescope's
// content column exported as text), once per line: the values found point
// into d.embed until the next line.
func (d *Decoder) visitEmbedded(nd *node, b []byte, start int) (int, error) {
	v, end, err := valueAt(b, start)
	if err == nil && len(nd.match) > 0 {
		d.add(nd, v) // a match rule on the string itself
	}
	if err != nil || d.embedded || d.depth >= maxDepth || len(v.raw) == 0 || v.raw[0] != '{' {
		return end, err
	}
	d.embedded = true
	d.embed = unescape(d.embed[:0], v.raw)
	d.depth++
	// An embedded string that is not JSON is only text: no error.
	walkObject(d.embed, 0, d.key, d.member)
	d.depth--
	return end, nil
}

// add keeps v as a candidate for each field the node feeds.
func (d *Decoder) add(nd *node, v jsonValue) {
	for i := range nd.slots {
		d.addCand(&nd.slots[i], v)
	}
	for _, i := range nd.match {
		d.matchVal[i], d.matchOK[i] = v, true
	}
}

func (d *Decoder) addCand(s *slot, v jsonValue) {
	f := s.field
	n := d.ncand[f]
	if n < maxCands {
		d.cands[f][n] = cand{v, s}
		d.ncand[f] = n + 1
		return
	}
	w := 0 // full: replace the least preferred, if this one is preferred
	for j := 1; j < maxCands; j++ {
		if d.cands[f][j].s.prio > d.cands[f][w].s.prio {
			w = j
		}
	}
	if s.prio < d.cands[f][w].s.prio {
		d.cands[f][w] = cand{v, s}
	}
}

// holds reports whether a shape condition holds for the line.
func (d *Decoder) holds(c cond) bool {
	return d.shape&c.need == c.need &&
		(c.not[0] == 0 || d.shape&c.not[0] != c.not[0]) &&
		(c.not[1] == 0 || d.shape&c.not[1] != c.not[1])
}

// resolve sets field f from its most preferred usable candidate.
func (d *Decoder) resolve(f Field) {
	if c := &d.cands[f][0]; d.ncand[f] == 1 && c.s.cond == (cond{}) {
		d.apply(*c) // the common case: one candidate, no condition
		return
	}
	var tried uint8
	for {
		best := -1
		for i := range int(d.ncand[f]) {
			c := &d.cands[f][i]
			if tried&(1<<i) != 0 {
				continue
			}
			if !d.holds(c.s.cond) {
				tried |= 1 << i
				continue
			}
			if best < 0 || c.s.prio < d.cands[f][best].s.prio {
				best = i
			}
		}
		if best < 0 {
			return
		}
		tried |= 1 << best
		if d.apply(d.cands[f][best]) {
			return
		}
	}
}

// apply converts a candidate into its Record field; false when the value
// is not usable there, so that the next candidate is tried.
func (d *Decoder) apply(c cand) bool {
	v, r := c.v, &d.rec
	if v.kind == '"' && len(v.raw) == 1 && v.raw[0] == '-' { // Envoy's "not set"
		return false
	}
	ok := true
	switch c.s.field {
	case FieldTime:
		r.Time, ok = parseTime(v, d.text(v))
	case FieldMethod:
		r.Method, ok = method(v, d.text(v))
	case FieldURL:
		r.URL, ok = d.str1(v)
	case FieldHost:
		var h string
		if h, ok = d.str1(v); ok {
			r.Host = normalizeHost(h)
			ok = r.Host != ""
		}
	case FieldPath:
		if r.Path, ok = d.str1(v); ok {
			if i := queryStart(r.Path); i >= 0 {
				r.Path = r.Path[:i]
			}
		}
	case FieldStatus:
		var st int
		if st, ok = parseStatus(v); ok {
			r.Status, d.status = st, c.s
		} else {
			d.statusKind(v)
		}
	case FieldLatency:
		r.Latency, ok = parseLatency(v, d.text(v), c.s.unit)
	case FieldBody:
		switch v.kind {
		case 'n':
			r.Body = nil
		default:
			r.Body, r.BodyEscaped = v.raw, v.escaped
		}
	case FieldError:
		if ok = v.kind == '"' && len(v.raw) > 0; ok {
			r.Error = d.own(&d.errBuf, v)
		}
	case FieldErrorType:
		if ok = v.kind == '"' && len(v.raw) > 0; ok {
			d.errType = d.own(&d.errTypeBuf, v) // joined with the message in finish
		}
	case FieldTraceID:
		ok = (v.kind == '"' || v.kind == '0') && len(v.raw) > 0
		if ok {
			r.TraceID = d.own(&d.traceBuf, v)
		}
	case FieldService:
		ok = v.kind == '"' && len(v.raw) > 0
		if ok {
			r.Service = d.own(&d.svcBuf, v)
		}
	case fieldEntryType:
		ok = v.kind == '"'
		d.entry = v.raw
	}
	return ok
}

// own returns a string value's bytes, unescaped into buf when needed.
func (d *Decoder) own(buf *[]byte, v jsonValue) []byte {
	if !v.escaped {
		return v.raw
	}
	*buf = unescape((*buf)[:0], v.raw)
	return *buf
}

// statusKind records why a status candidate was not usable.
func (d *Decoder) statusKind(v jsonValue) {
	switch {
	case v.kind == '0' && string(v.raw) == "0", v.kind == '"' && string(v.raw) == "0":
		d.stZero = true
	case v.kind == '"' && (len(v.raw) == 0 || v.raw[0] < '0' || v.raw[0] > '9'):
		d.stText = true
	case v.kind == 'n':
	default:
		d.stBad = true
	}
}

// finish resolves the candidates into the Record and tells a request from
// a malformed line and from a line that is not a request at all.
func (d *Decoder) finish() (*Record, error) {
	if len(d.matchOK) > 0 && !d.matched() {
		return nil, errNotMatched
	}
	r := &d.rec
	d.errType = nil
	for f := range Field(numSlots) {
		if d.ncand[f] != 0 {
			d.resolve(f)
		}
	}
	if d.shape&shTelescope != 0 && d.entry != nil && string(d.entry) != "client_request" {
		return nil, errNotRequest // Telescope's other entries: queries, jobs, incoming requests
	}
	// An error's type and message are both worth reading: "type: message".
	if t := d.errType; len(t) > 0 {
		if len(r.Error) > 0 && !bytes.Equal(r.Error, t) {
			d.joinBuf = append(append(append(d.joinBuf[:0], t...), ": "...), r.Error...)
			r.Error = d.joinBuf
		} else {
			r.Error = t
		}
	}
	if r.Status == 0 && len(r.Error) == 0 && d.shape&shTelescope != 0 && !d.stZero && !d.stBad && !d.stText {
		// Telescope records a client request without a response only
		// when the connection failed (ConnectionFailed).
		r.Error = connectionFailed
	}
	hasCall := r.URL != "" || r.Host != "" || r.Method != ""
	switch {
	case r.Status != 0:
		r.Error = nil
	case len(r.Error) > 0 && (r.URL != "" || r.Host != ""):
		// A call that got no response: Status 0 and the error.
	case d.stBad || d.stText && hasCall:
		return nil, errBadStatus
	case hasCall || d.stZero:
		return nil, errNoStatus
	default:
		return nil, errNotRequest
	}
	d.fillFromURL()
	return r, nil
}

var connectionFailed = []byte("connection failed")

// matched reports whether every Match rule holds for the line.
func (d *Decoder) matched() bool {
	for i := range d.m.match {
		if !d.matchOK[i] {
			return false
		}
		v := d.matchVal[i]
		var t []byte
		switch v.kind {
		case '"':
			t = d.text(v)
		case '0', 't', 'f':
			t = v.raw
		default:
			return false
		}
		if m := &d.m.match[i]; m.Regexp != nil {
			if !m.Regexp.Match(t) {
				return false
			}
		} else if string(t) != m.Value {
			return false
		}
	}
	return true
}

// headerBlock reads an object of headers or an array of {"name","value"}.
func (d *Decoder) headerBlock(kind uint8, v jsonValue) {
	switch v.kind {
	case '{':
		it := members(v.raw)
		for k, hv, ok := it.next(); ok; k, hv, ok = it.next() {
			if wantHeader(kind, k) {
				d.headerValue(kind, k, hv)
			}
		}
	case '[':
		it := elements(v.raw)
		for e, ok := it.next(); ok; e, ok = it.next() {
			if e.kind != '{' {
				continue
			}
			name, _ := member(e.raw, "name")
			if name.kind == '"' && wantHeader(kind, name.raw) {
				hv, _ := member(e.raw, "value")
				d.headerValue(kind, name.raw, hv)
			}
		}
	}
}

// Request headers that give a trace id, after the line's own trace fields.
var (
	requestIDSlot   = slot{field: FieldTraceID, prio: 200}
	traceparentSlot = slot{field: FieldTraceID, prio: 201}
)

// headerValue keeps one header that wantHeader accepted.
func (d *Decoder) headerValue(kind uint8, name []byte, v jsonValue) {
	v = scalar(v)
	if v.kind != '"' && v.kind != '0' {
		return
	}
	var buf [64]byte
	norm, _ := normHeader(&buf, name)
	if kind == hdrRequest {
		switch string(norm) {
		case "idempotency-key", "x-idempotency-key":
			d.rec.IdempotencyKey = d.rec.IdempotencyKey || len(v.raw) > 0
		case "traceparent": // version-traceid-parentid-flags: keep the trace id
			if len(v.raw) >= 55 && v.raw[2] == '-' && v.raw[35] == '-' {
				d.addCand(&traceparentSlot, jsonValue{raw: v.raw[3:35], kind: '"'})
			}
		default:
			d.addCand(&requestIDSlot, v)
		}
		return
	}
	if len(d.rec.Headers) >= 16 { // bounded on hostile lines
		return
	}
	val := v.raw
	if v.escaped {
		val = unescape(nil, v.raw)
	}
	d.rec.Headers = append(d.rec.Headers, Header{Name: string(norm), Value: val})
}

// wantHeader reports whether a header of that kind is kept: for a
// response, those that inform a retry verdict; for a request, the
// idempotency key and the ids to find the call by.
func wantHeader(kind uint8, name []byte) bool {
	var buf [64]byte
	norm, ok := normHeader(&buf, name)
	if !ok {
		return false
	}
	if kind == hdrResponse {
		return RetryHeader(norm)
	}
	switch string(norm) {
	case "idempotency-key", "x-idempotency-key", "x-request-id", "request-id", "x-correlation-id", "traceparent":
		return true
	}
	return false
}

// normHeader lower-cases a header name and spells '_' as '-' (access logs
// name headers as keys: "retry_after"), in buf; false when it is too long
// to be a header this package keeps.
func normHeader(buf *[64]byte, name []byte) ([]byte, bool) {
	if len(name) > len(buf) {
		return nil, false
	}
	for i, c := range name {
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == '_':
			c = '-'
		}
		buf[i] = c
	}
	return buf[:len(name)], true
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
	if v.kind != '"' || len(v.raw) == 0 {
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
	if v.kind != '"' || len(b) == 0 {
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

// parseStatus reads an HTTP status: a number, a string of digits, or a
// status line's code ("400 Bad Request", as Go's Response.Status reads).
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
		b := v.raw
		if len(b) > 3 && b[3] == ' ' {
			b = b[:3]
		}
		var ok bool
		if v.escaped {
			return 0, false
		}
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
		return time.Duration(math.Round(f * float64(unit))), true
	case '"':
		if n, ok := atoi(b); ok && n <= limit {
			return time.Duration(n) * unit, true
		}
		if f, err := strconv.ParseFloat(string(b), 64); err == nil && f >= 0 && f <= float64(limit) {
			return time.Duration(math.Round(f * float64(unit))), true
		}
		if d, err := time.ParseDuration(string(b)); err == nil && d >= 0 {
			return d, true
		}
	}
	return 0, false
}
