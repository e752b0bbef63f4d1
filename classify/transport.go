package classify

import (
	"bytes"
	"strings"

	"github.com/apierr/apierr/ingest"
)

// A call that got no HTTP response (client timeout, connection refused or
// reset, DNS or TLS failure) is logged with status 0 and the client's error
// message or type. The generic definition's transport rules map the
// spellings of Go, Java, Python, Node, PHP (Guzzle/cURL) and .NET clients
// to one of these codes; anything else is "network".
const (
	CodeTimeout           = "timeout"
	CodeConnectionRefused = "connection_refused"
	CodeConnectionReset   = "connection_reset"
	CodeDNS               = "dns"
	CodeTLS               = "tls"
	CodeNetwork           = "network"
)

// maxTransportError bounds how much of a logged error is searched.
const maxTransportError = 2048

// The reasons of the retry verdict of a call without a response: whether
// it is safe to repeat depends on the method and the idempotency key, not
// on the failure (the request may have reached the vendor before the
// connection broke).
const (
	whyTransportIdempotent = "no response, and the method is idempotent: repeating the call is safe, retry with backoff and jitter"
	whyTransportKey        = "no response, and the call carried an Idempotency-Key: the vendor applies it once, retry with backoff and jitter"
	whyTransportUnsafe     = "no response to a call that is not idempotent: it may have taken effect; retry only with an idempotency key, after checking whether the first call took effect"
)

// Idempotent reports whether an HTTP method is idempotent (RFC 9110
// section 9.2.2): repeating it has the effect of sending it once.
func Idempotent(method string) bool {
	switch method {
	case "GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE":
		return true
	}
	return false
}

// transport classifies a call that got no response: the code from the
// logged error, the vendor from the host as usual, and a retry verdict
// from the method and the idempotency key.
func (c *Classifier) transport(rec *ingest.Record, v *vendor) Event {
	g := c.cat.generic
	ev := Event{Error: true, Vendor: vendorName(v, rec.Host), Message: cutMessage(rec.Error)}
	k := g.transportCode(rec.Error)
	if k == nil {
		k = g.codes[CodeNetwork] // no spelling matched: still a failure without a response
	}
	if k != nil {
		ev.Code, ev.Category, ev.Known, ev.Doc = k.Code, k.Category, true, k.Doc
	} else {
		ev.Code, ev.Category = CodeNetwork, Network
	}
	if ev.Doc == "" {
		ev.Doc = g.def.Doc
	}
	switch {
	case Idempotent(rec.Method):
		ev.Retry, ev.Why = RetryBackoff, whyTransportIdempotent
	case rec.IdempotencyKey:
		ev.Retry, ev.Why = RetryBackoff, whyTransportKey
	default:
		ev.Retry, ev.Why = RetryNo, whyTransportUnsafe
	}
	return ev
}

// transportCode returns the code entry of the first transport rule whose
// spelling the error contains, or nil.
func (v *vendor) transportCode(msg []byte) *Code {
	if len(v.transport) == 0 {
		return nil
	}
	msg = bytes.TrimSpace(msg[:min(len(msg), maxTransportError)])
	low := strings.ToLower(string(msg))
	for _, r := range v.transport {
		for _, s := range r.spellings {
			if strings.Contains(low, s) {
				return r.code
			}
		}
	}
	return nil
}

// isTransport reports whether a code is one of the transport codes.
func isTransport(code string) bool {
	switch code {
	case CodeTimeout, CodeConnectionRefused, CodeConnectionReset, CodeDNS, CodeTLS, CodeNetwork:
		return true
	}
	return false
}

// hasParam reports whether a structured-field header value (RFC 9651: a
// list of members, each with ;-separated parameters) has a member or
// parameter named name, equal to want when want is not empty. The older
// RateLimit draft's `limit=100, remaining=0` reads the same way.
func hasParam(val []byte, name, want string) bool {
	for member := range strings.SplitSeq(string(val), ",") {
		for part := range strings.SplitSeq(member, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), name) {
				continue
			}
			if want == "" || strings.Trim(strings.TrimSpace(v), `"`) == want {
				return true
			}
		}
	}
	return false
}
