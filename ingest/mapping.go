package ingest

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Field names a Record field that a Mapping fills.
type Field uint8

// The Record fields a Mapping can fill.
const (
	FieldTime Field = iota
	FieldMethod
	FieldURL
	FieldHost
	FieldPath
	FieldStatus
	FieldLatency
	FieldBody
	FieldHeaders        // response headers (Retry-After, rate limits)
	FieldRequestHeaders // request headers (Idempotency-Key, X-Request-Id, traceparent)
	FieldError          // the transport error's message
	FieldErrorType      // the transport error's type or code
	FieldTraceID
	FieldService
	numFields
)

// fieldEntryType is an internal slot: the Laravel Telescope entry type.
const (
	fieldEntryType = numFields
	numSlots       = numFields + 1
)

var fieldNames = [numFields]string{"time", "method", "url", "host", "path", "status", "latency", "body",
	"headers", "request_headers", "error", "error_type", "trace_id", "service"}

func (f Field) String() string {
	if f >= numFields {
		return "entry_type"
	}
	return fieldNames[f]
}

// Mapping says where each Record field sits in a log line: for each field,
// the JSON paths to try, most preferred first; the first path whose value
// is usable wins. A path is a dotted name and matches dotted keys, nested
// objects and any mix of the two, so "http.response.status_code" finds
// {"http.response.status_code":200} and {"http":{"response":{"status_code":200}}}
// alike. A path whose value is a string holding a JSON object (a column
// exported from a database) is looked into as if it were the object.
//
// A latency path may end in ":s", ":ms", ":us" or ":ns", the unit of a
// numeric value; the default is milliseconds. A headers or request_headers
// path names an object of headers ({"Retry-After":"30"}, values a string
// or an array), an array of {"name","value"} objects (HAR), or, ending in
// "*", the prefix of flattened header keys ("origin_*" for Traefik's
// "origin_Retry-After"); a headers path also matches dotted keys below it
// ("http.response.header.retry-after").
//
// Match and SkipText say which lines are requests at all: see Match.
type Mapping struct {
	Paths [numFields][]string

	// Match, when set, names the lines that are requests: every rule must
	// hold, other lines are skipped with ReasonNotMatched.
	Match []Match
	// SkipText skips lines that are not JSON (stack traces, banners
	// between JSON lines) with ReasonTextLine instead of counting them
	// malformed.
	SkipText bool

	// when holds the auto mapping's shape conditions, parallel to Paths.
	when [numFields][]cond
}

// Match is one rule of a Mapping's Match: the value at Path equals Value,
// or matches Regexp when it is set. Numbers and booleans compare as their
// JSON text.
type Match struct {
	Path   string
	Value  string
	Regexp *regexp.Regexp
}

// ParseMatch builds match rules from a config's `match:` map: a value
// written between slashes (/^outbound/) is a regular expression, any other
// an exact value.
func ParseMatch(rules map[string]string) ([]Match, error) {
	keys := make([]string, 0, len(rules))
	for k := range rules {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var ms []Match
	for _, k := range keys {
		if err := checkPath(k); err != nil {
			return nil, fmt.Errorf("match: %w", err)
		}
		v := rules[k]
		m := Match{Path: k, Value: v}
		if len(v) >= 2 && v[0] == '/' && v[len(v)-1] == '/' {
			re, err := regexp.Compile(v[1 : len(v)-1])
			if err != nil {
				return nil, fmt.Errorf("match %s: %w", k, err)
			}
			m.Value, m.Regexp = "", re
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// cond is a shape condition on a path of the auto mapping: the path counts
// only when the line has every marker of need and not all of either not
// mask (see shape.go).
type cond struct {
	need uint16
	not  [2]uint16
}

// AutoMapping is the mapping of `format: auto`: the field names of the common
// log shapes (flat, nested request/response, Elastic Common Schema,
// OpenTelemetry, the access logs of Envoy, Traefik and Kong, Laravel
// Telescope, structlog, slog and HAR; see shape.go), some of them read
// only when the line has that shape's markers.
func AutoMapping() Mapping {
	var m Mapping
	for _, p := range autoPaths {
		m.Paths[p.field] = append(m.Paths[p.field], p.path)
		m.when[p.field] = append(m.when[p.field], p.cond)
	}
	return m
}

// ParseMapping builds a Mapping from field name → path, as written in a
// config file (`format: {status: resp.code, body: resp.text}`). Fields not
// named keep the auto mapping's paths.
func ParseMapping(fields map[string]string) (Mapping, error) {
	lists := make(map[string][]string, len(fields))
	for k, v := range fields {
		lists[k] = []string{v}
	}
	return ParseMappingPaths(lists)
}

// ParseMappingPaths builds a Mapping from field name → candidate paths,
// tried in order (`format: {status: [resp.code, http_status]}`). Fields
// not named keep the auto mapping's paths, so a mapping only says what
// differs from auto.
func ParseMappingPaths(fields map[string][]string) (Mapping, error) {
	m := AutoMapping()
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, ok := fieldByName(k)
		if !ok {
			return Mapping{}, fmt.Errorf("unknown field %q (want one of %s)", k, strings.Join(fieldNames[:], ", "))
		}
		if len(fields[k]) == 0 {
			return Mapping{}, fmt.Errorf("field %s: no path", k)
		}
		var paths []string
		for _, raw := range fields[k] {
			p := strings.TrimSpace(raw)
			if f == FieldLatency {
				path, _, err := splitUnit(p)
				if err != nil {
					return Mapping{}, fmt.Errorf("field %s: %w", k, err)
				}
				if err := checkPath(path); err != nil {
					return Mapping{}, fmt.Errorf("field %s: %w", k, err)
				}
			} else if err := checkPath(strings.TrimSuffix(p, "*")); err != nil {
				return Mapping{}, fmt.Errorf("field %s: %w", k, err)
			}
			paths = append(paths, p)
		}
		m.Paths[f], m.when[f] = paths, nil
	}
	return m, nil
}

func checkPath(p string) error {
	if p == "" || strings.HasPrefix(p, ".") || strings.HasSuffix(p, ".") || strings.Contains(p, "..") {
		return fmt.Errorf("bad path %q", p)
	}
	return nil
}

func fieldByName(name string) (Field, bool) {
	for i, n := range fieldNames {
		if n == name {
			return Field(i), true
		}
	}
	return 0, false
}

// splitUnit splits "event.duration:ns" into its path and unit.
func splitUnit(p string) (string, time.Duration, error) {
	path, unit, ok := strings.Cut(p, ":")
	if !ok {
		return p, time.Millisecond, nil
	}
	switch unit {
	case "s":
		return path, time.Second, nil
	case "ms":
		return path, time.Millisecond, nil
	case "us":
		return path, time.Microsecond, nil
	case "ns":
		return path, time.Nanosecond, nil
	}
	return "", 0, fmt.Errorf("unknown latency unit %q (want s, ms, us or ns)", unit)
}

// slot is where a matched path puts its value.
type slot struct {
	path  string
	field Field
	prio  uint8         // index in the field's path list: lower wins
	unit  time.Duration // latency unit
	cond  cond
}

// Header kinds of a node or prefix.
const (
	hdrResponse = 1
	hdrRequest  = 2
)

// node is what the compiled mapping knows of one dotted path.
type node struct {
	slots     []slot
	match     []int  // indexes of the Match rules on this path
	shape     uint16 // markers this path sets when present
	shapeStr  bool   // only when its value is a string
	container bool   // a proper prefix of a path: objects to descend into
	headers   uint8  // an object or name/value array of headers
	otlp      bool   // resourceLogs: an OTLP/JSON export line
}

// hasBody reports whether the node is a body path: its object is the
// body, not a container to descend into.
func (n *node) hasBody() bool {
	for i := range n.slots {
		if n.slots[i].field == FieldBody {
			return true
		}
	}
	return false
}

// hdrPrefix is the prefix of flattened header keys.
type hdrPrefix struct {
	prefix string
	kind   uint8
}

// compiled is a Mapping turned into lookup tables for one pass over a line.
type compiled struct {
	nodes    map[string]*node
	prefixes []hdrPrefix
	match    []Match
	skipText bool
	auto     bool // the shape rules of the auto mapping apply
}

// transparent prefixes: OpenTelemetry records keep their attributes under
// "attributes" (the Elasticsearch exporter's otel mode; "Attributes." in
// its older flattened mode): a path is also looked up without them.
var transparent = [...]string{"attributes.", "Attributes."}

func (c *compiled) node(p string) *node {
	n := c.nodes[p]
	if n == nil {
		n = &node{}
		c.nodes[p] = n
	}
	return n
}

func (c *compiled) addContainers(p string) {
	for j := range len(p) {
		if p[j] == '.' {
			c.node(p[:j]).container = true
		}
	}
}

func (m Mapping) compile() compiled {
	c := compiled{nodes: map[string]*node{}, match: m.Match, skipText: m.SkipText}
	for f := range numFields {
		for i, p := range m.Paths[f] {
			var w cond
			if i < len(m.when[f]) {
				w = m.when[f][i]
				c.auto = true
			}
			if f == FieldHeaders || f == FieldRequestHeaders {
				kind := uint8(hdrResponse)
				if f == FieldRequestHeaders {
					kind = hdrRequest
				}
				if pre, ok := strings.CutSuffix(p, "*"); ok {
					c.prefixes = append(c.prefixes, hdrPrefix{pre, kind})
					continue
				}
				c.node(p).headers = kind
				c.prefixes = append(c.prefixes, hdrPrefix{p + ".", kind})
				c.addContainers(p)
				continue
			}
			unit := time.Millisecond
			if f == FieldLatency {
				p, unit, _ = splitUnit(p)
			}
			n := c.node(p)
			n.slots = append(n.slots, slot{path: p, field: f, prio: uint8(min(i, 199)), unit: unit, cond: w})
			c.addContainers(p)
		}
	}
	for i, r := range m.Match {
		n := c.node(r.Path)
		n.match = append(n.match, i)
		c.addContainers(r.Path)
	}
	if c.auto {
		for _, mk := range markers {
			n := c.node(mk.path)
			n.shape |= mk.bit
			n.shapeStr = mk.str
			c.addContainers(mk.path)
		}
		c.node("type").slots = append(c.node("type").slots, slot{field: fieldEntryType})
		c.node("resourceLogs").otlp = true
		for _, t := range transparent {
			c.node(strings.TrimSuffix(t, ".")).container = true
		}
	}
	return c
}
