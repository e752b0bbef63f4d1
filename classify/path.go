package classify

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// maxElems bounds how many array elements a path with [] looks at, so a
// hostile body with a huge array costs little.
const maxElems = 64

// segment is one step of a path: an object key, or any element of an array.
type segment struct {
	key string
	any bool
}

// jpath is a compiled body path such as "error.code", "[].error.code" or
// "redeemables[].result.error.key".
type jpath []segment

func parsePath(s string) (jpath, error) {
	if s == "" {
		return nil, fmt.Errorf("empty path")
	}
	var p jpath
	if rest, ok := strings.CutPrefix(s, "[]"); ok {
		p = append(p, segment{any: true})
		if rest == "" {
			return p, nil
		}
		if s, ok = strings.CutPrefix(rest, "."); !ok {
			return nil, fmt.Errorf("path %q: want . after []", s)
		}
	}
	for part := range strings.SplitSeq(s, ".") {
		key, arr := strings.CutSuffix(part, "[]")
		if key == "" || strings.ContainsAny(key, "[]:= ") {
			return nil, fmt.Errorf("path %q: bad key %q", s, part)
		}
		p = append(p, segment{key: key})
		if arr {
			p = append(p, segment{any: true})
		}
	}
	return p, nil
}

// eval returns the first value the path reaches, or nil.
func (p jpath) eval(v *fastjson.Value) *fastjson.Value {
	for i, s := range p {
		if v == nil {
			return nil
		}
		if s.any {
			if v.Type() != fastjson.TypeArray {
				return nil
			}
			a, _ := v.Array()
			for _, e := range a[:min(len(a), maxElems)] {
				if r := p[i+1:].eval(e); r != nil {
					return r
				}
			}
			return nil
		}
		if v.Type() != fastjson.TypeObject {
			return nil
		}
		v = v.Get(s.key)
	}
	if v != nil && v.Type() == fastjson.TypeNull {
		return nil
	}
	return v
}

// firstKey is the first object key of the path: a body without it as a
// quoted string cannot match, which saves parsing most success bodies.
func (p jpath) firstKey() string {
	for _, s := range p {
		if !s.any {
			return s.key
		}
	}
	return ""
}

// cond is one `require` entry of an envelope: a path that must be present,
// optionally with a type (`code:int`) or a literal value (`jsonrpc=2.0`).
type cond struct {
	path  jpath
	typ   string // "", int, number, string, bool, true, false, object, array
	value string // for path=value
	eq    bool
}

var condTypes = map[string]bool{"": true, "int": true, "number": true, "string": true,
	"bool": true, "true": true, "false": true, "object": true, "array": true}

func parseCond(s string) (cond, error) {
	var c cond
	ps := s
	if i := strings.IndexByte(s, '='); i >= 0 {
		ps, c.value, c.eq = s[:i], s[i+1:], true
	} else if i := strings.IndexByte(s, ':'); i >= 0 {
		ps, c.typ = s[:i], s[i+1:]
		if !condTypes[c.typ] {
			return c, fmt.Errorf("%q: unknown type %q (want int, number, string, bool, true, false, object or array)", s, c.typ)
		}
	}
	p, err := parsePath(ps)
	if err != nil {
		return c, err
	}
	c.path = p
	return c, nil
}

func (c cond) holds(body *fastjson.Value) bool {
	v := c.path.eval(body)
	if v == nil {
		return false
	}
	if c.eq {
		switch v.Type() {
		case fastjson.TypeString:
			b, _ := v.StringBytes()
			return string(b) == c.value
		case fastjson.TypeNumber, fastjson.TypeTrue, fastjson.TypeFalse:
			return v.String() == c.value
		}
		return false
	}
	t := v.Type()
	switch c.typ {
	case "int":
		_, ok := intString(v)
		return ok
	case "number":
		return t == fastjson.TypeNumber
	case "string":
		return t == fastjson.TypeString
	case "bool":
		return t == fastjson.TypeTrue || t == fastjson.TypeFalse
	case "true":
		return t == fastjson.TypeTrue
	case "false":
		return t == fastjson.TypeFalse
	case "object":
		return t == fastjson.TypeObject
	case "array":
		return t == fastjson.TypeArray
	}
	return true
}

// intString returns the decimal text of an integral JSON number.
func intString(v *fastjson.Value) (string, bool) {
	if v.Type() != fastjson.TypeNumber {
		return "", false
	}
	s := v.String()
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return s, true
	}
	f, err := v.Float64()
	if err != nil || f != float64(int64(f)) || f > 1e18 || f < -1e18 {
		return "", false
	}
	return strconv.FormatInt(int64(f), 10), true
}

// maxCode bounds a code's length: longer strings are not codes.
const maxCode = 128

// codeString turns a code value (number or string) into the code's text.
func codeString(v *fastjson.Value) (string, bool) {
	switch v.Type() {
	case fastjson.TypeNumber:
		return intString(v)
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		s := strings.TrimSpace(string(b))
		if s == "" || len(s) > maxCode {
			return "", false
		}
		return s, true
	}
	return "", false
}
