package report

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Clean makes a vendor-supplied string safe to print: control characters
// (C0, C1, DEL), bidirectional overrides and other invisible format
// characters become visible escapes such as \x1b or \u202e, invalid UTF-8
// becomes U+FFFD, and the result is cut to max runes with an ellipsis
// (max <= 0: no cut).
func Clean(s string, max int) string {
	if max <= 0 {
		max = int(^uint(0) >> 1)
	}
	if isPlain(s) && len(s) <= max {
		return s
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if n >= max {
			b.WriteString("…")
			return b.String()
		}
		before := b.Len()
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteRune(utf8.RuneError)
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&0xf])
		case r >= 0x80 && r < 0xa0 || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029':
			b.WriteString(`\u`)
			for shift := 12; shift >= 0; shift -= 4 {
				b.WriteByte("0123456789abcdef"[(r>>shift)&0xf])
			}
		default:
			b.WriteRune(r)
		}
		if b.Len()-before > utf8.RuneLen(r) {
			n += b.Len() - before // an escape takes its width in the output
		} else {
			n++
		}
	}
	return b.String()
}

// isPlain reports whether s is printable ASCII only.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}
