package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/ingest"
)

// The fields check reports, in the order it prints them.
const (
	chTime = iota
	chMethod
	chURL
	chStatus
	chError
	chBody
	chHeaders
	chDuration
	chTrace
	chService
	numCheckFields
)

var checkFieldNames = [numCheckFields]string{"time", "method", "url or host", "status", "error", "body", "headers", "duration", "trace id", "service"}

// mappingKeys are the config's names of the fields (format: {KEY: path}).
var mappingKeys = [numCheckFields]string{"time", "method", "url", "status", "error", "body", "headers", "latency", "trace_id", "service"}

// analysis is what check learned from the first lines of one file.
type analysis struct {
	name      string
	input     int // the config input whose globs match the file, or -1
	framing   string
	lines     int
	truncated bool

	records, errors, skipped, malformed int
	shapes                              map[string]int
	found                               [numCheckFields]int
	serviceFrom                         string // where the service comes from when the line has none
	vendors                             map[string]int
	malformedBy, skippedBy              map[string]*sample

	// What the raw JSON of the lines holds, to guess a mapping and a match.
	paths     map[string]*pathStat
	jsonLines int // lines that are JSON objects (not counting those not matched)
	reqLines  int // of them, lines that decoded to a request
	mapped    map[string]bool

	skipText   bool     // the mapping skips text lines already
	hasMatch   bool     // the mapping names the request lines already
	inputPaths []string // the globs of the input that reads the file
	advice     string   // the heading of the snippet
}

// pathStat is what one dotted path of the lines' JSON held.
type pathStat struct {
	path                                     string
	lines, reqLines                          int
	method, url, host, status, notStatus     int
	timeLike, number, float, small, str, obj int
	miss                                     [numCheckFields]int    // lines where the field was not found
	values                                   map[string]*valueCount // short strings, for a match
}

type valueCount struct{ req, other int }

// maxValues bounds the distinct values kept per path.
const maxValues = 32

func analyzeFile(ctx context.Context, cfg Config, cat *classify.Catalog, name string) (*analysis, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("%s: is a directory", name)
	}
	mapping, err := cfg.mappingFor(name)
	if err != nil {
		return nil, err
	}
	a := &analysis{
		name: name, input: cfg.inputFor(name), framing: "none",
		shapes: map[string]int{}, vendors: map[string]int{},
		malformedBy: map[string]*sample{}, skippedBy: map[string]*sample{},
		paths: map[string]*pathStat{}, mapped: map[string]bool{},
	}
	for _, ps := range mapping.Paths {
		for _, p := range ps {
			p, _, _ = strings.Cut(strings.TrimSuffix(p, "*"), ":")
			a.mapped[p] = true
		}
	}
	for _, m := range mapping.Match {
		a.mapped[m.Path] = true
	}
	a.skipText, a.hasMatch = mapping.SkipText, len(mapping.Match) > 0
	if a.input >= 0 {
		a.inputPaths = cfg.Inputs[a.input].Paths
	}
	switch {
	case a.input >= 0 && cfg.Inputs[a.input].Service != "":
		a.serviceFrom = fmt.Sprintf("inputs[%d].service %q", a.input, cfg.Inputs[a.input].Service)
	case ingest.ServiceFromPath(name) != "":
		a.serviceFrom = fmt.Sprintf("%q from the file's path", ingest.ServiceFromPath(name))
	}

	maxLine := int(cfg.Limits.LineBytes)
	lr := ingest.NewLineReader(f, maxLine)
	dec := ingest.NewDecoder(mapping)
	cl := classify.NewClassifier(cat)
	var framer *ingest.Framer
	for n := 1; n <= checkLines; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			break
		}
		line, err := lr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if n == checkLines {
			a.truncated = true
		}
		if errors.Is(err, ingest.ErrLineTooLong) {
			a.lines++
			a.count(a.malformedBy, ingest.ReasonTooLong, n)
			continue
		} else if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if framer == nil && len(bytes.TrimSpace(line)) > 0 {
			fr := ingest.Detect(line)
			framer = ingest.NewFramer(fr, maxLine)
			a.framing = fr.String()
		}
		runtimeTime := false
		if framer != nil {
			fr, ok := framer.Unwrap(line)
			if !ok {
				continue // a part of a longer line
			}
			if fr.Err != nil {
				a.lines++
				a.count(a.malformedBy, ingest.Reason(fr.Err), n)
				continue
			}
			_, runtimeTime = fr.Time()
			line = fr.Line
		}
		a.lines++
		a.line(dec, cl, line, n, runtimeTime)
	}
	return a, nil
}

// line decodes one line and counts what it holds.
func (a *analysis) line(dec *ingest.Decoder, cl *classify.Classifier, line []byte, n int, runtimeTime bool) {
	isReq, notMatched := false, false
	var missing [numCheckFields]bool
	for f := range missing {
		missing[f] = true
	}
	dec.DecodeAll(line, func(rec *ingest.Record, err error) {
		switch {
		case err == nil:
			isReq = true
			a.records++
			a.shapes[dec.Shape()]++
			has := a.record(rec, runtimeTime)
			for f := range has {
				missing[f] = !has[f]
			}
			ev := cl.Classify(rec)
			a.vendors[ev.Vendor]++
			if ev.Error {
				a.errors++
			}
		case ingest.Skipped(err):
			a.skipped++
			notMatched = notMatched || ingest.Reason(err) == ingest.ReasonNotMatched
			a.count(a.skippedBy, ingest.Reason(err), n)
		default:
			a.malformed++
			a.count(a.malformedBy, ingest.Reason(err), n)
		}
	})
	a.observe(line, isReq, notMatched, &missing)
}

func (a *analysis) count(m map[string]*sample, reason string, n int) {
	s := m[reason]
	if s == nil {
		s = &sample{reason: reason, first: n}
		m[reason] = s
	}
	s.count++
}

func (a *analysis) record(r *ingest.Record, runtimeTime bool) [numCheckFields]bool {
	has := [numCheckFields]bool{
		chTime:     !r.Time.IsZero() || runtimeTime,
		chMethod:   r.Method != "",
		chURL:      r.URL != "" || r.Host != "",
		chStatus:   r.Status != 0 || len(r.Error) > 0, // no response: its status is the error
		chError:    len(r.Error) > 0,
		chBody:     len(r.Body) > 0,
		chHeaders:  len(r.Headers) > 0,
		chDuration: r.Latency != 0,
		chTrace:    len(r.TraceID) > 0,
		chService:  len(r.Service) > 0,
	}
	for f, ok := range has {
		if ok {
			a.found[f]++
		}
	}
	return has
}

func (a *analysis) shapeText() string {
	if len(a.shapes) == 0 {
		return "none recognized (no line decoded to a request)"
	}
	return topCounts(a.shapes, 4) + " (requests by shape)"
}

// observe records the dotted paths of a JSON line and what their values
// look like, for the guesses of snippet.
func (a *analysis) observe(line []byte, isReq, notMatched bool, missing *[numCheckFields]bool) {
	if notMatched || len(a.paths) > 2000 {
		return
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var obj map[string]any
	if dec.Decode(&obj) != nil {
		return
	}
	a.jsonLines++
	if isReq {
		a.reqLines++
	}
	a.walk("", obj, isReq, missing, 0)
}

func (a *analysis) walk(prefix string, obj map[string]any, isReq bool, missing *[numCheckFields]bool, depth int) {
	for k, v := range obj {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		if o, ok := v.(map[string]any); ok && depth < 4 && !lastWord(k, bodyHints) && !lastWord(k, headerHints) {
			a.walk(p, o, isReq, missing, depth+1)
			continue
		}
		s := a.paths[p]
		if s == nil {
			s = &pathStat{path: p, values: map[string]*valueCount{}}
			a.paths[p] = s
		}
		s.lines++
		if isReq {
			s.reqLines++
		}
		s.look(v, isReq)
		for f, m := range missing {
			if m {
				s.miss[f]++
			}
		}
	}
}

var methods = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true, "OPTIONS": true}

// look classifies one value.
func (s *pathStat) look(v any, isReq bool) {
	switch v := v.(type) {
	case string:
		s.str++
		switch {
		case methods[strings.ToUpper(v)]:
			s.method++
		case strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "http://"):
			s.url++
		case isHostname(v):
			s.host++
		}
		if _, err := time.Parse(time.RFC3339Nano, v); err == nil {
			s.timeLike++
		}
		if n, err := strconv.Atoi(v); err == nil && n >= 100 && n <= 599 {
			s.status++
		} else {
			s.notStatus++
		}
		if len(v) <= 64 {
			vc := s.values[v]
			if vc == nil && len(s.values) < maxValues {
				vc = &valueCount{}
				s.values[v] = vc
			}
			if vc != nil {
				if isReq {
					vc.req++
				} else {
					vc.other++
				}
			}
		}
	case json.Number:
		s.number++
		if i, err := v.Int64(); err == nil {
			if i >= 100 && i <= 599 {
				s.status++
			} else {
				s.notStatus++
			}
			if (i > 1e9 && i < 4e9) || (i > 1e12 && i < 4e12) || (i > 1e18) {
				s.timeLike++
			}
		} else {
			s.float++
			s.notStatus++
		}
		if f, err := v.Float64(); err == nil && f < 120 {
			s.small++
		}
	case map[string]any:
		s.obj++
	case []any:
		s.obj++
	}
}

func isHostname(v string) bool {
	if len(v) < 4 || len(v) > 253 || strings.ContainsAny(v, " /:@") || !strings.Contains(v, ".") {
		return false
	}
	_, err := strconv.ParseFloat(v, 64)
	return err != nil
}

// Name hints: words a key holding the field often has.
var (
	timeHints     = []string{"time", "ts", "date", "when", "at", "stamp"}
	statusHints   = []string{"status", "code"}
	errorHints    = []string{"error", "err", "exception", "failure"}
	bodyHints     = []string{"body", "reply", "content", "payload"}
	headerHints   = []string{"header", "headers"}
	durationHints = []string{"duration", "latency", "took", "elapsed", "rtt", "ms"}
	traceHints    = []string{"trace", "request_id", "requestid", "correlation", "trace_id"}
	callerKeys    = map[string]bool{"service": true, "servicename": true, "app": true, "appname": true, "application": true, "component": true, "svc": true}
	hostHints     = []string{"host", "domain", "authority", "server"}
)

// leafName is the last part of a path, lower case, without _ and -.
func leafName(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		path = path[i+1:]
	}
	return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(path))
}

// lastWord reports whether the last word of a path's last part is one of
// words ("response_body", "reply", "resp.headers").
func lastWord(path string, words []string) bool {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		path = path[i+1:]
	}
	i := len(path)
	for i > 0 && path[i-1] != '_' && path[i-1] != '-' && !(path[i-1] >= 'a' && path[i-1] <= 'z' && i < len(path) && path[i] >= 'A' && path[i] <= 'Z') {
		i--
	}
	last := strings.ToLower(path[i:])
	for _, w := range words {
		if last == w {
			return true
		}
	}
	return false
}

// mappedUnder reports whether the mapping reads a path below p: p is a
// container of a field the decoder already looks at.
func (a *analysis) mappedUnder(p string) bool {
	for m := range a.mapped {
		if strings.HasPrefix(m, p+".") {
			return true
		}
	}
	return false
}

// nameHint reports whether the last part of a path has one of the words, as a
// whole word of a snake_case, kebab-case or camelCase name.
func nameHint(path string, words []string) bool {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		path = path[i+1:]
	}
	var parts []string
	start := 0
	for i := 1; i <= len(path); i++ {
		if i == len(path) || path[i] == '_' || path[i] == '-' || (path[i] >= 'A' && path[i] <= 'Z' && path[i-1] >= 'a' && path[i-1] <= 'z') {
			parts = append(parts, strings.ToLower(strings.Trim(path[start:i], "_-")))
			start = i
		}
	}
	whole := strings.ToLower(path)
	for _, w := range words {
		if whole == w {
			return true
		}
		for _, p := range parts {
			if p == w {
				return true
			}
		}
	}
	return false
}

// guess returns the path most likely to hold field f, or "" (with a latency
// unit suffix for the duration).
func (a *analysis) guess(f int) string {
	var best *pathStat
	bestScore := 0
	for _, s := range a.sortedPaths() {
		if a.records > 0 && (a.mapped[s.path] || a.mappedUnder(s.path)) {
			continue // read already; with no request at all, the auto mapping's conditions did not hold
		}
		score := 0
		switch f {
		case chTime:
			if s.timeLike == s.lines && (s.str == s.lines || nameHint(s.path, timeHints)) {
				score = s.timeLike
			}
		case chMethod:
			score = s.method * boolInt(s.method == s.str)
		case chURL:
			score = s.url * boolInt(s.url*2 >= s.str)
			if score == 0 && nameHint(s.path, hostHints) {
				score = s.host
			}
		case chStatus:
			if s.notStatus == 0 && s.obj == 0 && nameHint(s.path, statusHints) {
				score = s.status
			}
		case chError:
			if nameHint(s.path, errorHints) && s.str == s.lines {
				score = s.str
			}
		case chBody:
			if lastWord(s.path, bodyHints) {
				score = s.str + s.obj
			}
		case chHeaders:
			if lastWord(s.path, headerHints) {
				score = s.obj
			}
		case chDuration:
			if nameHint(s.path, durationHints) && s.number == s.lines {
				score = s.number
			}
		case chTrace:
			if nameHint(s.path, traceHints) && s.str == s.lines {
				score = s.str
			}
		case chService:
			if callerKeys[leafName(s.path)] && s.str == s.lines {
				score = s.str
			}
		}
		score = min(score, s.miss[f]) // a path only on lines that have the field is not it
		if score > bestScore {
			best, bestScore = s, score
		}
	}
	if best == nil {
		return ""
	}
	if f == chDuration {
		return best.path + durationUnit(best)
	}
	return best.path
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// durationUnit guesses the unit of a duration path from its name, else
// from its values: fractions under two minutes are seconds.
func durationUnit(s *pathStat) string {
	name := strings.ToLower(s.path)
	switch {
	case strings.HasSuffix(name, "_ms") || strings.HasSuffix(name, "millis") || strings.HasSuffix(name, "ms"):
		return ":ms"
	case strings.HasSuffix(name, "_us") || strings.HasSuffix(name, "micros"):
		return ":us"
	case strings.HasSuffix(name, "_ns") || strings.HasSuffix(name, "nanos"):
		return ":ns"
	case strings.HasSuffix(name, "_s") || strings.HasSuffix(name, "seconds") || strings.HasSuffix(name, "_sec"):
		return ":s"
	case s.float > 0 && s.small == s.number:
		return ":s"
	}
	return ":ms"
}

func (a *analysis) sortedPaths() []*pathStat {
	ps := make([]*pathStat, 0, len(a.paths))
	for _, s := range a.paths {
		ps = append(ps, s)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].path < ps[j].path })
	return ps
}

// suggestMatch returns a path and value common to the request lines and
// rare elsewhere, when most lines are skipped.
func (a *analysis) suggestMatch() (string, string) {
	notReq := a.skippedBy[ingest.ReasonNotRequest]
	if a.hasMatch || notReq == nil || notReq.count*2 <= a.lines || a.reqLines == 0 {
		return "", ""
	}
	var bestPath, bestValue string
	bestOther := -1
	for _, s := range a.sortedPaths() {
		if s.reqLines < a.reqLines || a.mapped[s.path] {
			continue
		}
		vals := make([]string, 0, len(s.values))
		for v := range s.values {
			vals = append(vals, v)
		}
		sort.Strings(vals)
		for _, v := range vals {
			vc := s.values[v]
			if vc.req < a.reqLines {
				continue
			}
			if vc.other*5 > a.jsonLines-a.reqLines && a.jsonLines > a.reqLines {
				continue // as common on the other lines: does not tell requests apart
			}
			if bestOther < 0 || vc.other < bestOther {
				bestPath, bestValue, bestOther = s.path, v, vc.other
			}
		}
	}
	return bestPath, bestValue
}

// snippet returns the config lines to paste, with a.advice set to what
// they do, or "" when the file needs none.
func (a *analysis) snippet() string {
	var fields []string
	missing := func(f int) bool { return a.records == 0 || a.found[f] < a.records }
	for f := range numCheckFields {
		if !missing(f) {
			continue
		}
		if f == chService && (a.serviceFrom != "" || a.shapes["envoy"]+a.shapes["traefik"]+a.shapes["kong"] > 0) {
			continue // a gateway's service names are its upstreams, not the caller
		}
		if p := a.guess(f); p != "" {
			fields = append(fields, fmt.Sprintf("%s: %s", mappingKeys[f], yamlScalar(p)))
		}
	}
	mpath, mvalue := a.suggestMatch()
	// Text lines between JSON request lines: stack traces, banners.
	text := !a.skipText && a.malformedBy[ingest.ReasonNotJSON] != nil && a.jsonLines > 0
	if len(fields) == 0 && mpath == "" && !text {
		return ""
	}
	var says []string
	if len(fields) > 0 {
		says = append(says, "these fields were not found where apierr looks by itself, but the lines have them (format)")
	}
	if mpath != "" {
		says = append(says, fmt.Sprintf("most lines (%.0f%%) are not requests: name the request lines (match)", pct(a.skippedBy[ingest.ReasonNotRequest].count, a.lines)))
	}
	if text {
		says = append(says, "text lines sit between the JSON lines: skip them instead of counting them malformed (text)")
	}
	a.advice = "To do:\n    - " + strings.Join(says, "\n    - ") + "\n  Paste this into the config"
	var b strings.Builder
	paths := []string{a.name}
	if abs, err := filepath.Abs(a.name); err == nil {
		paths[0] = abs
	}
	if a.input >= 0 {
		paths = a.inputPaths
		a.advice += fmt.Sprintf(" (the keys go into inputs[%d], which reads this file)", a.input)
	}
	a.advice += ":"
	quoted := make([]string, len(paths))
	for i, p := range paths {
		quoted[i] = strconv.Quote(p)
	}
	fmt.Fprintf(&b, "    inputs:\n      - paths: [%s]\n", strings.Join(quoted, ", "))
	if len(fields) > 0 {
		b.WriteString("        format:\n")
		for _, f := range fields {
			fmt.Fprintf(&b, "          %s\n", f)
		}
	}
	if mpath != "" {
		fmt.Fprintf(&b, "        match: {%s: %s}\n", yamlScalar(mpath), strconv.Quote(mvalue))
	}
	if text {
		b.WriteString("        text: skip\n")
	}
	return b.String()
}

// yamlScalar quotes a path when YAML would not read it as a plain string.
func yamlScalar(s string) string {
	if s == "" || strings.ContainsAny(s, ":{}[],&*#?|-<>=!%@`'\" ") {
		return strconv.Quote(s)
	}
	return s
}
