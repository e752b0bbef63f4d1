// Package classify decides whether a request is an API error and which:
// vendor, code, range, category, retry verdict and whether the code is
// known to the vendor's catalog.
//
// It is pure: no I/O except reading vendor definitions from an fs.FS, no
// goroutines. The vendor catalogs are data (vendors/*.yaml, embedded);
// operators add or replace vendors with files of the same format.
package classify

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apierr/apierr/ingest"
	"github.com/valyala/fastjson"
)

// maxMessage bounds the message kept from a body, in bytes.
const maxMessage = 512

// Event is the classification of one request.
// Its JSON form is the contract of `apierr classify`.
type Event struct {
	Error      bool     `json:"error"`         // false: a success, counted only in the vendor's requests
	Vendor     string   `json:"vendor"`        // vendor id, or the host for requests no vendor claims
	Code       string   `json:"code"`          // the vendor's most specific identifier, or http_<status>
	HTTPStatus int      `json:"http_status"`   // the HTTP status of the response
	Range      string   `json:"range"`         // the catalog's named code range, if any
	Category   Category `json:"category"`      // what kind of failure
	Retry      Retry    `json:"retry"`         // whether a retry can help
	Known      bool     `json:"known"`         // the code is in the vendor's catalog
	Message    string   `json:"message"`       // the body's message, else the catalog's
	Why        string   `json:"why,omitempty"` // the reason for the retry verdict
	Doc        string   `json:"doc,omitempty"` // the vendor's page for the code or status, else its error page
}

// UnknownHost is the vendor of a request that names no host at all.
const UnknownHost = "unknown"

// Classifier classifies Records against a Catalog. It holds a parser, so it
// is not safe for concurrent use: give each goroutine its own.
type Classifier struct {
	cat    *Catalog
	parser fastjson.Parser
	inner  fastjson.Parser // for a body inside a body (Vendor.Unwrap)
}

// NewClassifier returns a Classifier over cat.
func NewClassifier(cat *Catalog) *Classifier { return &Classifier{cat: cat} }

// Classify classifies one request. Precedence for the verdict: the exact
// code in the vendor's catalog, the vendor's range rule, the HTTP status,
// then unknown; response headers (Retry-After, rate limits) may refine it.
func (c *Classifier) Classify(rec *ingest.Record) Event {
	cat := c.cat
	v := cat.vendorFor(rec.Host, rec.Path)
	if rec.Status == 0 && len(rec.Error) > 0 {
		return c.transport(rec, v)
	}
	isErr := rec.Status >= 400

	// Find the envelope: the claiming vendor's, else a vendor's distinctive
	// shape, else a generic recognizer.
	var (
		env  *envelope
		body *fastjson.Value
	)
	parsed := false
	var seen needleMemo
	try := func(envs []*envelope) *envelope {
		for _, e := range envs {
			if e.def.TextCode {
				if isErr && textCode(rec.DecodedBody()) != nil {
					return e
				}
				continue
			}
			if !isErr && !e.def.AnyStatus || !e.mayMatch(rec.Body, &seen) {
				continue
			}
			if !parsed {
				parsed = true
				body = c.parse(rec.DecodedBody())
			}
			if body != nil && e.matches(body) {
				return e
			}
		}
		return nil
	}
	if v != nil {
		// A vendor without envelopes of its own (a draft for a host) reads
		// bodies with the generic recognizers, against its own codes.
		envs := v.envelopes
		if len(envs) == 0 {
			envs = cat.generic.envelopes
		}
		env = try(envs)
		if env == nil && body != nil && len(v.def.Unwrap) > 0 {
			env, body = c.unwrap(v, body)
		}
	} else {
		if env = try(cat.attrib); env != nil {
			v = env.vendor
		} else {
			env = try(cat.generic.envelopes)
		}
	}
	if env == nil && !isErr {
		return Event{Vendor: vendorName(v, rec.Host), HTTPStatus: rec.Status}
	}

	owner := v
	if owner == nil {
		owner = cat.generic
	}
	ev := Event{Error: true, Vendor: vendorName(v, rec.Host), HTTPStatus: rec.Status}
	var msg []byte
	if env != nil {
		ev.Code, msg = env.extract(body, rec.Body, rec.Status, owner)
	}
	exact := c.verdict(&ev, owner, rec.Status)
	if len(msg) > 0 {
		ev.Message = cutMessage(msg)
	}
	if (owner == cat.generic || owner.fallback != nil) && !exact && rec.Status < 500 {
		applyWords(&ev, cat.generic, msg)
	}
	// The response headers are the surer sign; the message decides when
	// they say nothing.
	if !applyHeaders(&ev, owner, cat.generic, rec) && len(owner.def.Messages) > 0 && len(msg) > 0 {
		applyMessages(&ev, owner, msg, exact)
	}
	return ev
}

// verdict fills range, category, retry, known, doc and the catalog
// message. It reports whether an exact code entry decided.
func (c *Classifier) verdict(ev *Event, v *vendor, status int) (exact bool) {
	// The doc: the entry's page, else the vendor's error page.
	ev.Doc = v.def.Doc
	if ev.Code != "" {
		if k, ok := v.lookup(ev.Code); ok {
			ev.Code = k.Code // the catalog's string: no allocation kept per event
			ev.Category, ev.Retry, ev.Known, ev.Message, ev.Why = k.Category, k.Retry, true, k.Message, why(k.Why, k.Category)
			if k.Doc != "" {
				ev.Doc = k.Doc
			}
			if r := v.rangeFor(ev.Code); r != nil {
				ev.Range = r.Name
			}
			return true
		}
		if r := v.rangeFor(ev.Code); r != nil {
			ev.Range = r.Name
			if r.Category != "" {
				ev.Category, ev.Retry, ev.Why = r.Category, r.Retry, why(r.Why, r.Category)
				return false
			}
		}
		if s := c.cat.status(v, status); s != nil && status >= 400 {
			ev.Category, ev.Retry, ev.Why = s.Category, s.Retry, why(s.Why, s.Category)
			c.statusDoc(ev, v, s)
			return false
		}
		ev.Category, ev.Retry, ev.Why = Unknown, RetryNo, defaultWhy[Unknown]
		return false
	}
	// The body names no code: the HTTP status is the code.
	ev.Code, ev.Range = StatusCode(status), statusRange(status)
	if s := c.cat.status(v, status); s != nil {
		ev.Category, ev.Retry, ev.Known, ev.Message, ev.Why = s.Category, s.Retry, true, s.Message, why(s.Why, s.Category)
		c.statusDoc(ev, v, s)
		return false
	}
	switch {
	case status >= 500:
		ev.Category, ev.Retry = Server, RetryBackoff
	default:
		ev.Category, ev.Retry = Unknown, RetryNo
	}
	ev.Why = defaultWhy[ev.Category]
	return false
}

// statusDoc sets the doc of a status verdict: the status entry's page,
// else the vendor's error page, else the generic definition's (the HTTP
// specification) when the status came from there.
func (c *Classifier) statusDoc(ev *Event, v *vendor, s *Status) {
	switch {
	case s.Doc != "":
		ev.Doc = s.Doc
	case v.def.Doc == "" && v.statuses[s.Status] != s:
		ev.Doc = c.cat.generic.def.Doc
	}
}

// applyWords lets the generic word rules decide the verdict of an error
// that no code entry decided, from its code and the body's message (not a
// catalog's): "insufficient_quota" on a 429 is a quota, not a rate limit;
// "creating accounts too quickly" on a 400 is a rate limit.
func applyWords(ev *Event, g *vendor, body []byte) {
	if len(g.words) == 0 {
		return
	}
	code, msg := strings.ToLower(ev.Code), strings.ToLower(string(body[:min(len(body), maxMessage)]))
	for _, r := range g.words {
		for _, w := range r.Words {
			if strings.Contains(code, w) || strings.Contains(msg, w) {
				ev.Category, ev.Retry, ev.Why = r.Category, r.Retry, why(r.Why, r.Category)
				return
			}
		}
	}
}

// applyMessages lets the vendor's first matching message rule decide the
// verdict. The message is lower-cased only once a rule's status and code
// qualify, so most errors cost a few comparisons.
func applyMessages(ev *Event, v *vendor, body []byte, exact bool) {
	var msg string
	for i := range v.def.Messages {
		r := &v.def.Messages[i]
		if len(r.Status) > 0 && !contains(r.Status, ev.HTTPStatus) ||
			r.Code != "" && r.Code != ev.Code || r.Code == "" && exact {
			continue
		}
		if msg == "" {
			msg = strings.ToLower(string(body[:min(len(body), maxMessage)]))
		}
		for _, w := range v.messages[i] {
			if strings.Contains(msg, w) {
				ev.Category, ev.Retry, ev.Why = r.Category, r.Retry, why(r.Why, r.Category)
				if r.Doc != "" {
					ev.Doc = r.Doc
				}
				return
			}
		}
	}
}

// applyHeaders lets the first matching header rule (the vendor's, then the
// generic ones) refine the verdict. It reports whether one did.
func applyHeaders(ev *Event, v, generic *vendor, rec *ingest.Record) bool {
	if len(rec.Headers) == 0 {
		return false
	}
	for _, rules := range [][]HeaderRule{v.def.Headers, generic.def.Headers} {
		for i := range rules {
			r := &rules[i]
			val := rec.Header(r.Name)
			if val == nil || r.Param == "" && r.Value != "" && !bytes.EqualFold(val, []byte(r.Value)) ||
				r.Param != "" && !hasParam(val, r.Param, r.Value) ||
				len(r.IfRetry) > 0 && !contains(r.IfRetry, ev.Retry) ||
				len(r.IfCategory) > 0 && !contains(r.IfCategory, ev.Category) {
				continue
			}
			if r.Category != "" {
				ev.Category = r.Category
			}
			if r.Retry != "" {
				ev.Retry = r.Retry
			}
			ev.Why = why(r.Why, ev.Category)
			return true
		}
	}
	return false
}

func contains[T comparable](s []T, x T) bool {
	for _, e := range s {
		if e == x {
			return true
		}
	}
	return false
}

// unwrap looks for the vendor's error body inside a string-valued key of
// the logged body (SDK wrappers) and matches the vendor's envelopes on it.
func (c *Classifier) unwrap(v *vendor, body *fastjson.Value) (*envelope, *fastjson.Value) {
	for _, k := range v.def.Unwrap {
		s := body.GetStringBytes(k)
		if len(s) == 0 || s[0] != '{' {
			continue
		}
		inner, err := c.inner.ParseBytes(s)
		if err != nil {
			continue
		}
		for _, e := range v.envelopes {
			if e.matches(inner) {
				return e, inner
			}
		}
	}
	return nil, body
}

// parse parses a body that looks like JSON; nil otherwise.
func (c *Classifier) parse(b []byte) *fastjson.Value {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' && b[0] != '[' {
		return nil
	}
	v, err := c.parser.ParseBytes(b)
	if err != nil {
		return nil
	}
	return v
}

func vendorName(v *vendor, host string) string {
	if v != nil {
		return v.def.ID
	}
	if host == "" {
		return UnknownHost
	}
	return host
}

// cutMessage copies a message out of the parser's memory, cut to
// maxMessage bytes on a rune boundary.
func cutMessage(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) <= maxMessage {
		return string(b)
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return string(b[:cut]) + "…"
}

// String renders an event for debugging.
func (e Event) String() string {
	if !e.Error {
		return e.Vendor + " ok " + strconv.Itoa(e.HTTPStatus)
	}
	return e.Vendor + " " + e.Code + " " + string(e.Category) + " " + string(e.Retry)
}
