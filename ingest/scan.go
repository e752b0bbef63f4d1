package ingest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// A small JSON scanner for the decoder: it walks an object's keys, finds
// each value's extent and skips what is not needed without building a tree
// or allocating. It checks structure (strings closed, brackets balanced,
// literals spelled right) so that garbage is reported, but does not
// validate what it skips in depth beyond that.

// maxNesting bounds how deep a skipped value may nest.
const maxNesting = 512

var (
	errSyntax = errors.New("invalid JSON")
	errDeep   = errors.New("nesting too deep")
)

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString returns the index just past the string that starts at b[i]
// (an opening quote), and whether it holds escapes. A string without
// escapes is found with one vectorized search; one with escapes (a body
// logged as a JSON string) is walked from its first backslash, each escape
// skipping the byte after it.
func scanString(b []byte, i int) (end int, escaped bool, err error) {
	i++
	q := bytes.IndexByte(b[i:], '"')
	if q < 0 {
		return 0, false, errSyntax
	}
	bs := bytes.IndexByte(b[i:i+q], '\\')
	if bs < 0 {
		return i + q + 1, false, nil
	}
	start := i + bs
	s := b[start:]
	k := 0
	// Eight bytes at a time: a body logged as a string has an escaped
	// quote every few bytes. Each word's quotes and backslashes are found
	// at once and walked in order; carry takes a backslash that ends
	// one word over to the first byte of the next.
	carry := false
	for k+8 <= len(s) {
		v := binary.LittleEndian.Uint64(s[k:])
		quotes, slashes := bytesEqual(v, '"'), bytesEqual(v, '\\')
		if carry {
			quotes, slashes, carry = quotes&^0x80, slashes&^0x80, false
		}
		for marks := quotes | slashes; marks != 0; marks = quotes | slashes {
			bit := marks & -marks // the first quote or backslash
			if quotes&bit != 0 {
				return start + k + bits.TrailingZeros64(bit)/8 + 1, true, nil
			}
			next := bit << 8 // the byte it escapes
			if next == 0 {
				carry = true // in the next word
			}
			quotes, slashes = quotes&^next, slashes&^(bit|next)
		}
		k += 8
	}
	if carry {
		k++
	}
	for ; k < len(s); k++ {
		switch s[k] {
		case '\\':
			k++
		case '"':
			return start + k + 1, true, nil
		}
	}
	return 0, false, errSyntax
}

// bytesEqual marks each byte of v equal to c with its high bit, exactly
// (no borrow runs from one byte to the next).
func bytesEqual(v uint64, c byte) uint64 {
	const ones, lows, highs = 0x0101010101010101, 0x7f7f7f7f7f7f7f7f, 0x8080808080808080
	x := v ^ ones*uint64(c) // v with the bytes equal to c zeroed
	return ^((x&lows + lows) | x) & highs
}

// skipValue returns the index just past the value that starts at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errSyntax
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := scanString(b, i)
		return end, err
	case c == '{' || c == '[':
		return skipContainer(b, i)
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	case c == '-' || c >= '0' && c <= '9':
		j := i + 1
		for j < len(b) && (b[j] >= '0' && b[j] <= '9' || b[j] == '.' || b[j] == 'e' || b[j] == 'E' || b[j] == '+' || b[j] == '-') {
			j++
		}
		return j, nil
	}
	return 0, errSyntax
}

func literal(b []byte, i int, word string) (int, error) {
	if len(b)-i >= len(word) && string(b[i:i+len(word)]) == word {
		return i + len(word), nil
	}
	return 0, errSyntax
}

// skipContainer skips an object or array iteratively: strings are jumped
// over, brackets counted and matched.
func skipContainer(b []byte, i int) (int, error) {
	var stack [maxNesting]byte
	depth := 0
	for i < len(b) {
		switch c := b[i]; c {
		case '"':
			end, _, err := scanString(b, i)
			if err != nil {
				return 0, err
			}
			i = end
			continue
		case '{', '[':
			if depth == maxNesting {
				return 0, errDeep
			}
			stack[depth] = c
			depth++
		case '}', ']':
			if depth == 0 || stack[depth-1] != c-2 { // '{'+2 == '}', '['+2 == ']'
				return 0, errSyntax
			}
			depth--
			if depth == 0 {
				return i + 1, nil
			}
		}
		i++
	}
	return 0, errSyntax
}

// jsonValue is the extent of a value in a line.
type jsonValue struct {
	raw     []byte // the value's bytes; for a string, without its quotes
	kind    byte   // '"' string, '{' object, '[' array, '0' number, 't' true, 'f' false, 'n' null
	escaped bool   // a string holding escapes
}

// walkObject calls fn for each member of the object at b[i] and returns the
// index past it. fn gets the raw key (unescaped only if it had escapes) and
// the value's start; it returns the index past the value, or -1 to have the
// value skipped.
func walkObject(b []byte, i int, key []byte, fn func(key []byte, b []byte, start int) (int, error)) (int, error) {
	i = skipWS(b, i)
	if i >= len(b) || b[i] != '{' {
		return 0, errSyntax
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, errSyntax
		}
		end, esc, err := scanString(b, i)
		if err != nil {
			return 0, err
		}
		k := b[i+1 : end-1]
		if esc {
			key = unescape(key[:0], k)
			k = key
		}
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return 0, errSyntax
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return 0, errSyntax
		}
		next, err := fn(k, b, i)
		if err != nil {
			return 0, err
		}
		if next < 0 {
			if next, err = skipValue(b, i); err != nil {
				return 0, err
			}
		}
		i = skipWS(b, next)
		if i >= len(b) {
			return 0, errSyntax
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, errSyntax
		}
	}
}

// valueAt returns the value starting at b[i] and the index past it.
func valueAt(b []byte, i int) (jsonValue, int, error) {
	if i < len(b) && b[i] == '"' {
		end, esc, err := scanString(b, i)
		if err != nil {
			return jsonValue{}, 0, err
		}
		return jsonValue{raw: b[i+1 : end-1], kind: '"', escaped: esc}, end, nil
	}
	end, err := skipValue(b, i)
	if err != nil {
		return jsonValue{}, 0, err
	}
	v := jsonValue{raw: b[i:end], kind: b[i]}
	if v.kind == '-' || v.kind >= '0' && v.kind <= '9' {
		v.kind = '0'
	}
	return v, end, nil
}

// unescape appends the unescaped form of a JSON string's contents to dst.
// Invalid escapes are kept as they are; lone surrogates become U+FFFD.
func unescape(dst, s []byte) []byte {
	for len(s) > 0 {
		i := bytes.IndexByte(s, '\\')
		if i < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:i]...)
		s = s[i:]
		if len(s) < 2 {
			return append(dst, s...)
		}
		switch c := s[1]; c {
		case '"', '\\', '/':
			dst = append(dst, c)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, n := decodeU(s)
			if n == 0 {
				dst = append(dst, s[:2]...)
				s = s[2:]
				continue
			}
			dst = utf8.AppendRune(dst, r)
			s = s[n:]
			continue
		default:
			dst = append(dst, s[:2]...)
		}
		s = s[2:]
	}
	return dst
}

// decodeU decodes \uXXXX (and a following low surrogate) at the start of s.
func decodeU(s []byte) (rune, int) {
	r, ok := hex4(s[2:])
	if !ok {
		return 0, 0
	}
	if utf16.IsSurrogate(r) {
		if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
			if r2, ok := hex4(s[8:]); ok {
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					return d, 12
				}
			}
		}
		return utf8.RuneError, 6
	}
	return r, 6
}

func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// memberIter walks the members of an object already checked by a walk or
// skipValue, without a callback. A structural error ends it.
type memberIter struct {
	b []byte
	i int
}

func members(obj []byte) memberIter {
	i := skipWS(obj, 0)
	if i < len(obj) && obj[i] == '{' {
		return memberIter{obj, i + 1}
	}
	return memberIter{obj, len(obj)}
}

// next returns the next member's raw key and value.
func (it *memberIter) next() (key []byte, v jsonValue, ok bool) {
	b := it.b
	i := skipWS(b, it.i)
	if i < len(b) && b[i] == ',' {
		i = skipWS(b, i+1)
	}
	it.i = len(b)
	if i >= len(b) || b[i] != '"' {
		return nil, jsonValue{}, false
	}
	end, _, err := scanString(b, i)
	if err != nil {
		return nil, jsonValue{}, false
	}
	key = b[i+1 : end-1]
	i = skipWS(b, end)
	if i >= len(b) || b[i] != ':' {
		return nil, jsonValue{}, false
	}
	v, next, err := valueAt(b, skipWS(b, i+1))
	if err != nil {
		return nil, jsonValue{}, false
	}
	it.i = next
	return key, v, true
}

// member returns the value of the named member of an object, if any.
func member(obj []byte, name string) (jsonValue, bool) {
	it := members(obj)
	for k, v, ok := it.next(); ok; k, v, ok = it.next() {
		if string(k) == name {
			return v, true
		}
	}
	return jsonValue{}, false
}

// arrayIter walks the elements of an array already checked.
type arrayIter struct {
	b []byte
	i int
}

func elements(arr []byte) arrayIter {
	i := skipWS(arr, 0)
	if i < len(arr) && arr[i] == '[' {
		return arrayIter{arr, i + 1}
	}
	return arrayIter{arr, len(arr)}
}

func (it *arrayIter) next() (jsonValue, bool) {
	b := it.b
	i := skipWS(b, it.i)
	if i < len(b) && b[i] == ',' {
		i = skipWS(b, i+1)
	}
	it.i = len(b)
	if i >= len(b) || b[i] == ']' {
		return jsonValue{}, false
	}
	v, next, err := valueAt(b, i)
	if err != nil {
		return jsonValue{}, false
	}
	it.i = next
	return v, true
}

// scalar unwraps a value to the scalar it carries: the first element of
// an array (OpenTelemetry logs header values as arrays) and the value of
// an OTLP AnyValue ({"stringValue":"x"}, {"intValue":"429"},
// {"arrayValue":{"values":[...]}}).
func scalar(v jsonValue) jsonValue {
	for range 4 {
		switch v.kind {
		case '[':
			it := elements(v.raw)
			e, ok := it.next()
			if !ok {
				return jsonValue{}
			}
			v = e
		case '{':
			it := members(v.raw)
			k, inner, ok := it.next()
			if !ok {
				return jsonValue{}
			}
			switch string(k) {
			case "stringValue", "intValue", "doubleValue", "boolValue":
				return inner
			case "arrayValue":
				if vals, ok := member(inner.raw, "values"); ok {
					v = vals
					continue
				}
			}
			return jsonValue{}
		default:
			return v
		}
	}
	return jsonValue{}
}
