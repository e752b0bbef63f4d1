package classify

import (
	"strings"
)

// maxEndpoint bounds an endpoint's length and maxSegments its depth, so a
// hostile URL cannot make huge labels.
const (
	maxEndpoint = 160
	maxSegments = 8
)

// Endpoint returns the request's path template: the method and the path
// with identifiers replaced by placeholders, so that
// "POST /api/v1/orders/12345/process" and ".../12346/process" are one
// endpoint: numbers become {id}, UUIDs {uuid}, long hex strings {hex},
// e-mail addresses {email}, and other segments that mix letters and digits
// (voucher codes, tokens) {code}. Query and fragment are dropped.
func Endpoint(method, path string) string {
	for i := 0; i < len(path); i++ {
		if path[i] == '?' || path[i] == '#' {
			path = path[:i]
			break
		}
	}
	var b strings.Builder
	if method != "" {
		b.WriteString(method)
		b.WriteByte(' ')
	}
	n := 0
	for seg := range strings.SplitSeq(strings.Trim(path, "/"), "/") {
		if n == maxSegments {
			b.WriteString("/…")
			break
		}
		n++
		b.WriteByte('/')
		b.WriteString(template(seg))
		if b.Len() > maxEndpoint {
			break
		}
	}
	if n == 0 {
		b.WriteByte('/')
	}
	s := b.String()
	if len(s) > maxEndpoint {
		s = s[:maxEndpoint]
	}
	return strings.ToValidUTF8(s, "")
}

// template replaces an identifier-like path segment by its placeholder.
func template(seg string) string {
	if seg == "" {
		return seg
	}
	digits, letters, hex, other := 0, 0, 0, 0
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			hex++
		case c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
			letters++
			hex++
		case c >= 'g' && c <= 'z' || c >= 'G' && c <= 'Z':
			letters++
		default:
			other++
		}
	}
	switch {
	case digits == len(seg):
		return "{id}"
	case isUUID(seg):
		return "{uuid}"
	case strings.Contains(seg, "@"):
		return "{email}"
	case hex == len(seg) && len(seg) >= 12:
		return "{hex}"
	case digits > 0 && letters > 0 && len(seg) >= 6, len(seg) > 40:
		return "{code}"
	case other > 0 && digits > 0:
		return "{code}"
	}
	return seg
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
