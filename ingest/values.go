package ingest

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Converting values: URLs, hosts, methods, statuses and durations.

// fillFromURL derives Host and Path from the URL when the line lacks them.
func (d *Decoder) fillFromURL() {
	if d.rec.Host != "" && d.rec.Path != "" {
		return
	}
	host, path := SplitURL(d.rec.URL)
	if d.rec.Host == "" {
		d.rec.Host = d.host(host)
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
