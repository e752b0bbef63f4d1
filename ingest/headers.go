package ingest

import "strings"

// Headers: response headers that bear on retrying, and the request
// headers that tell an idempotent retry and a trace id. Logs write them as
// objects, as {"name","value"} arrays (HAR), as dotted keys
// (http.response.header.retry-after) or as prefixed keys (Traefik's
// origin_Retry-After); values are strings, numbers or arrays.

// headerBlock reads an object of headers or an array of {"name","value"}.
func (d *Decoder) headerBlock(kind uint8, v jsonValue) {
	switch v.kind {
	case '{':
		it := members(v.raw)
		for k, hv, ok := it.next(); ok; k, hv, ok = it.next() {
			if wantHeader(kind, k) {
				d.headerValue(kind, k, hv)
			}
		}
	case '[':
		it := elements(v.raw)
		for e, ok := it.next(); ok; e, ok = it.next() {
			if e.kind != '{' {
				continue
			}
			name, _ := member(e.raw, "name")
			if name.kind == '"' && wantHeader(kind, name.raw) {
				hv, _ := member(e.raw, "value")
				d.headerValue(kind, name.raw, hv)
			}
		}
	}
}

// Request headers that give a trace id, after the line's own trace fields.
var (
	requestIDSlot   = slot{field: FieldTraceID, prio: 200}
	traceparentSlot = slot{field: FieldTraceID, prio: 201}
)

// headerValue keeps one header that wantHeader accepted.
func (d *Decoder) headerValue(kind uint8, name []byte, v jsonValue) {
	v = scalar(v)
	if v.kind != '"' && v.kind != '0' {
		return
	}
	var buf [64]byte
	norm, _ := normHeader(&buf, name)
	if kind == hdrRequest {
		switch string(norm) {
		case "idempotency-key", "x-idempotency-key":
			d.rec.IdempotencyKey = d.rec.IdempotencyKey || len(v.raw) > 0
		case "traceparent": // version-traceid-parentid-flags: keep the trace id
			if len(v.raw) >= 55 && v.raw[2] == '-' && v.raw[35] == '-' {
				d.addCand(&traceparentSlot, jsonValue{raw: v.raw[3:35], kind: '"'})
			}
		default:
			d.addCand(&requestIDSlot, v)
		}
		return
	}
	if len(d.rec.Headers) >= 16 { // bounded on hostile lines
		return
	}
	val := v.raw
	if v.escaped {
		val = unescape(nil, v.raw)
	}
	d.rec.Headers = append(d.rec.Headers, Header{Name: string(norm), Value: val})
}

// wantHeader reports whether a header of that kind is kept: for a
// response, those that inform a retry verdict; for a request, the
// idempotency key and the ids to find the call by.
func wantHeader(kind uint8, name []byte) bool {
	var buf [64]byte
	norm, ok := normHeader(&buf, name)
	if !ok {
		return false
	}
	if kind == hdrResponse {
		return RetryHeader(norm)
	}
	switch string(norm) {
	case "idempotency-key", "x-idempotency-key", "x-request-id", "request-id", "x-correlation-id", "traceparent":
		return true
	}
	return false
}

// normHeader lower-cases a header name and spells '_' as '-' (access logs
// name headers as keys: "retry_after"), in buf; false when it is too long
// to be a header this package keeps.
func normHeader(buf *[64]byte, name []byte) ([]byte, bool) {
	if len(name) > len(buf) {
		return nil, false
	}
	for i, c := range name {
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == '_':
			c = '-'
		}
		buf[i] = c
	}
	return buf[:len(name)], true
}

// RetryHeader reports whether a response header informs a retry verdict:
// Retry-After and the rate-limit families (X-RateLimit-*, X-Rate-Limit-*,
// RateLimit-*).
func RetryHeader(name []byte) bool {
	return hasPrefixFold(name, "retry-after") && len(name) == len("retry-after") ||
		hasPrefixFold(name, "x-ratelimit-") ||
		hasPrefixFold(name, "x-rate-limit-") ||
		hasPrefixFold(name, "ratelimit")
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && strings.EqualFold(string(b[:len(prefix)]), prefix)
}
