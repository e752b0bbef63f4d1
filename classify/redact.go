package classify

import (
	"regexp"
	"strings"
)

// Redactions applied to messages before they are stored or shown: vendor
// messages echo what was sent (e-mail addresses, card numbers, tokens).
var redactions = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}`), "$1 [redacted]"},
	{regexp.MustCompile(`(?i)\b((?:api[_-]?)?key|auth|session|token|password|passwd|secret|access_token|refresh_token|signature|sig)=([^&\s"']+)`), "$1=[redacted]"},
	{regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`), "[email]"},
	{regexp.MustCompile(`\b[A-Za-z0-9_-]{32,}\b`), "[token]"},
	{regexp.MustCompile(`\b\d{4}(?:[ -]\d{4}){2}[ -]\d{1,7}\b`), "[number]"}, // card numbers
	{regexp.MustCompile(`\d{6,}`), "[number]"},
}

// Redact removes personal data and secrets from a message: e-mail
// addresses, bearer and basic credentials, secret query parameters, long
// tokens and runs of six or more digits.
func Redact(s string) string {
	if !needsRedact(s) {
		return s
	}
	for _, r := range redactions {
		s = r.re.ReplaceAllString(s, r.with)
	}
	return s
}

// needsRedact is a cheap pre-check: most messages have none of this.
func needsRedact(s string) bool {
	digits, run := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '@' || c == '=':
			return true
		case c >= '0' && c <= '9':
			digits++
			if digits >= 6 {
				return true
			}
			run++
		default:
			if c != ' ' && c != '-' {
				digits = 0
			}
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' {
				run++
				if run >= 32 {
					return true
				}
			} else if c != '-' {
				run = 0
			}
		}
	}
	lower := strings.ToLower(s)
	return strings.Contains(lower, "bearer") || strings.Contains(lower, "basic ") || strings.Contains(lower, "token ")
}
