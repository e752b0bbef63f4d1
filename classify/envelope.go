package classify

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// envelope is an Envelope compiled for matching.
type envelope struct {
	def     *Envelope
	vendor  *vendor
	require []cond
	code    []jpath
	message []jpath
	needles [][]byte // keys every matching body contains (escaped or not)
}

// textCodeMax bounds a plain-text body read as a code (Envelope.TextCode).
const textCodeMax = 64

// textCode returns a plain-text body that is a bare code (^[a-z0-9_]{2,64}$
// once trimmed), or nil: Slack's incoming webhooks answer "channel_not_found".
func textCode(raw []byte) []byte {
	b := bytes.TrimSpace(raw)
	if len(b) < 2 || len(b) > textCodeMax {
		return nil
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return nil
		}
	}
	return b
}

func compileEnvelope(v *vendor, d *Envelope) (*envelope, error) {
	e := &envelope{def: d, vendor: v}
	for _, r := range d.Require {
		c, err := parseCond(r)
		if err != nil {
			return nil, err
		}
		e.require = append(e.require, c)
		if k := c.path.firstKey(); k != "" {
			e.needles = append(e.needles, []byte(k))
		}
	}
	for _, s := range d.Code {
		p, err := parsePath(s)
		if err != nil {
			return nil, err
		}
		e.code = append(e.code, p)
	}
	for _, s := range d.Message {
		p, err := parsePath(s)
		if err != nil {
			return nil, err
		}
		e.message = append(e.message, p)
	}
	return e, nil
}

// mayMatch is a cheap test on the raw body: false means the envelope
// cannot match, so the body need not be parsed. seen remembers the
// searches already done on this body (envelopes share keys).
func (e *envelope) mayMatch(raw []byte, seen *needleMemo) bool {
	for _, n := range e.needles {
		if !seen.contains(raw, n) {
			return false
		}
	}
	return true
}

// needleMemo caches substring searches on one body.
type needleMemo struct {
	n     int
	keys  [8][]byte // the needles: the catalog's, not copied
	found [8]bool
}

func (m *needleMemo) contains(raw []byte, needle []byte) bool {
	for i := range m.n {
		if bytes.Equal(m.keys[i], needle) {
			return m.found[i]
		}
	}
	found := bytes.Contains(raw, needle)
	if m.n < len(m.keys) {
		m.keys[m.n], m.found[m.n] = needle, found
		m.n++
	}
	return found
}

func (e *envelope) matches(body *fastjson.Value) bool {
	for _, c := range e.require {
		if !c.holds(body) {
			return false
		}
	}
	return true
}

// extract returns the code and message an error body carries ("" when
// absent). A code that only repeats the HTTP status (429 or "429") is no
// code: the next path is tried
// ({"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}), as is a problem
// type of "about:blank" (then errors[].code may name it). Among the paths
// that resolve, the first whose code the owner's catalog knows wins (a
// Stripe decline_code the catalog lacks gives way to its known error.code);
// when none is known, the first that resolves. raw is the body as logged,
// read when the envelope takes a plain-text body as the code.
func (e *envelope) extract(body *fastjson.Value, raw []byte, status int, owner *vendor) (code string, msg []byte) {
	if e.def.TextCode {
		if b := textCode(raw); b != nil {
			return string(b), nil
		}
		return e.def.DefaultCode, nil
	}
	echo := strconv.Itoa(status)
	for _, p := range e.code {
		v := p.eval(body)
		if v == nil {
			continue
		}
		s, ok := codeString(v)
		if !ok || s == echo {
			continue
		}
		if e.def.TrimURI {
			s = trimURI(s) // "about:blank" is no code: try the next path
		}
		if s == "" {
			continue
		}
		if _, known := owner.lookup(s); known {
			code = s
			break
		}
		if code == "" {
			code = s
		}
	}
	if code == "" {
		code = e.def.DefaultCode
	}
	for _, p := range e.message {
		if v := p.eval(body); v != nil && v.Type() == fastjson.TypeString {
			if b, _ := v.StringBytes(); len(bytes.TrimSpace(b)) > 0 {
				msg = b
				break
			}
		}
	}
	return code, msg
}

// trimURI keeps the last path segment of a problem type URI
// ("https://example.com/probs/out-of-credit" → "out-of-credit");
// "about:blank" means no type at all.
func trimURI(s string) string {
	if s == "about:blank" {
		return ""
	}
	s = strings.TrimRight(s, "/")
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}
