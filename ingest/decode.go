package ingest

import (
	"bytes"
	"strings"
	"unsafe"
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
	urlBuf     []byte
	pathBuf    []byte
	hostBuf    []byte
	hosts      map[string]string // see host

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
		// Under text: skip, only a line opening an object is JSON: a
		// text line may read as an array ("[stacktrace]").
		if d.m.skipText {
			return errTextLine
		}
		if end, err := skipValue(line, 0); err == nil && skipWS(line, end) == len(line) {
			return errNotObject
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

// text returns a string value's contents unescaped (in a scratch buffer
// valid until the next call), or a number's digits.
func (d *Decoder) text(v jsonValue) []byte {
	if v.escaped {
		d.str = unescape(d.str[:0], v.raw)
		return d.str
	}
	return v.raw
}

// view returns a string value as a Go string without copying it: a view
// of the line, or of buf where the value holds escapes. Like the rest of
// the Record it is valid until the next line: the URL and path are read
// (vendor, endpoint) and dropped, never kept.
func (d *Decoder) view(v jsonValue, buf *[]byte) (string, bool) {
	if v.kind != '"' || len(v.raw) == 0 {
		return "", false
	}
	b := d.own(buf, v)
	return unsafe.String(unsafe.SliceData(b), len(b)), true
}

// maxHosts bounds the hosts a Decoder interns; past it, it starts afresh.
const maxHosts = 1024

// host returns the normalized host h as a string of its own, interned: a
// log names few hosts, and the host outlives the line (it names unknown
// vendors in the counts).
func (d *Decoder) host(h string) string {
	h = normalizeHost(h)
	if s, ok := d.hosts[h]; ok {
		return s
	}
	if d.hosts == nil || len(d.hosts) >= maxHosts {
		d.hosts = make(map[string]string)
	}
	s := strings.Clone(h)
	d.hosts[s] = s
	return s
}
