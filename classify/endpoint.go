package classify

import (
	"bytes"
	"strings"
	"unicode/utf8"
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
// e-mail addresses {email}, other segments that mix letters and digits
// (voucher codes, tokens) {code}, and random-looking runs of letters
// (secrets in webhook URLs, reset tokens) {token}. Query and fragment are
// dropped. Endpoints are stored and reported, so a secret in a path must
// never survive as itself.
func Endpoint(method, path string) string {
	return string(AppendEndpoint(nil, method, path))
}

// AppendEndpoint appends Endpoint(method, path) to dst, allocating only
// when dst is too small: the pipeline calls it for every request.
func AppendEndpoint(dst []byte, method, path string) []byte {
	if i := queryStartIn(path); i >= 0 {
		path = path[:i]
	}
	start := len(dst)
	if method != "" {
		dst = append(dst, method...)
		dst = append(dst, ' ')
	}
	path = strings.Trim(path, "/")
	n := 0
	for len(path) > 0 {
		seg := path
		if i := strings.IndexByte(path, '/'); i >= 0 {
			seg, path = path[:i], path[i+1:]
		} else {
			path = ""
		}
		if n == maxSegments {
			dst = append(dst, "/…"...)
			break
		}
		n++
		dst = append(dst, '/')
		dst = append(dst, template(seg)...)
		if len(dst)-start > maxEndpoint {
			break
		}
	}
	if n == 0 {
		dst = append(dst, '/')
	}
	if len(dst)-start > maxEndpoint {
		dst = dst[:start+maxEndpoint]
	}
	if !utf8.Valid(dst[start:]) {
		dst = append(dst[:start], bytes.ToValidUTF8(dst[start:], nil)...)
	}
	return dst
}

// queryStartIn returns where a path's query or fragment starts, or -1.
func queryStartIn(path string) int {
	for i := 0; i < len(path); i++ {
		if path[i] == '?' || path[i] == '#' {
			return i
		}
	}
	return -1
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
	case isVersion(seg):
		return seg
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
	case randomLooking(seg):
		return "{token}"
	}
	return seg
}

// minRandom is the shortest run of letters judged by randomLooking: shorter
// ones are words or too short to be a secret worth the risk of mangling
// ordinary paths.
const minRandom = 10

// randomLooking reports whether a segment holds a run of letters, between
// separators (- _ . ~ + =), that reads as random rather than as words:
// ordinary path words ("orders", "customer-groups", "findorcreate",
// "getUserInfo") are made of common English letter pairs and change case
// only at word starts; a random string of letters is not and does not.
func randomLooking(seg string) bool {
	start := 0
	for i := 0; i <= len(seg); i++ {
		if i < len(seg) && !isSeparator(seg[i]) {
			continue
		}
		if i-start >= minRandom && randomLetters(seg[start:i]) {
			return true
		}
		start = i + 1
	}
	return false
}

func isSeparator(c byte) bool {
	switch c {
	case '-', '_', '.', '~', '+', '=':
		return true
	}
	return false
}

// randomLetters judges a run of ASCII letters (anything else: false). Two
// signs, each measured on random strings of 10 to 32 letters: the case
// flips between most neighbours (mixed-case secrets), or too few of the
// letter pairs are common in English words (over 99% of random runs of 20
// letters or more, over 92% of runs of 10).
func randomLetters(p string) bool {
	n := len(p)
	upper, switches, common := 0, 0, 0
	for i := 0; i < n; i++ {
		c := p[i]
		isUpper := c >= 'A' && c <= 'Z'
		if !isUpper && (c < 'a' || c > 'z') {
			return false
		}
		if isUpper {
			upper++
		}
		if i == 0 {
			continue
		}
		prev := p[i-1]
		if (prev >= 'A' && prev <= 'Z') != isUpper {
			switches++
		}
		if commonPairs[(prev|0x20)-'a'][(c|0x20)-'a'] {
			common++
		}
	}
	if upper >= 3 && n-upper >= 3 && float64(switches) >= 0.4*float64(n-1) {
		return true
	}
	threshold := 0.7
	if n >= 20 {
		threshold = 0.78 // longer runs give a surer measure: judge stricter
	}
	return float64(common) < threshold*float64(n-1)
}

// commonPairs marks the letter pairs frequent in English words (about the
// 300 most frequent bigrams), which make up most pairs of path words.
var commonPairs = func() (t [26][26]bool) {
	const pairs = "th he in er an re on at en nd ti es or te of ed is it al ar st to nt ng se ha as ou io le ve co me de hi ri ro ic ne ea ra ce li ch ll be ma si om ur ca el ta la ns di fo ho pe ec pr no ct us ac ot il tr ly nc et ut ss so rs un lo wa ge ie wh ee wi em ad ol rt po we na ul ni ts mo ow pa im mi ai sh ir su id os iv ia am fi ci vi pl ig tu ev ld ry mp fe bl ab gh ty op wo sa ay ex ke fr oo av ag if ap gr od bo sp rd do uc bu ei ov by rm ep tt oc fa ef cu rn sc gi da yo cr cl du ga qu ue ff ba ey ls va um pp ua up lu go ht ru ug ds lt pi rc rr eg au ck ew mu br bi pt ak pu ui rg ib tl ny ki rk ys ob mm fu ph og ms ye ud mb ip ub oi rl gu dr hr cc tw ft wn nu af hu nn eo vo rv nf xp gn sm fl iz ok nl my gl aw ju oa eq sy sl ps jo lf nv je nk kn gs dy hy ze ks xt bs ik dd cy rp sk xi oe oy ws lv dl rf eu dg wr xa yi nm eb rb tm xc eh tc gy ja hn yp za"
	for _, p := range strings.Fields(pairs) {
		t[p[0]-'a'][p[1]-'a'] = true
	}
	return t
}()

// isVersion reports an API version segment: v1, v2.1, V1.0.3.
func isVersion(s string) bool {
	if len(s) < 2 || len(s) > 12 || s[0] != 'v' && s[0] != 'V' || s[1] < '0' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] != '.' && (s[i] < '0' || s[i] > '9') {
			return false
		}
	}
	return true
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
