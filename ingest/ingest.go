// Package ingest turns JSON request-log lines into Records.
//
// It owns reading log input (line splitting, the line decoder and, later,
// tailing files) and knows nothing about vendors: deciding whether a Record
// is an API error is the job of package classify.
package ingest

import (
	"errors"
	"time"
)

// Record is one decoded log line: one outbound HTTP call.
//
// A Record returned by a Decoder is valid until the Decoder's next call:
// URL, Path, Body, Error, TraceID, Service and the Header values point
// into the line and the Decoder's buffers. Host and Method are strings of
// their own.
type Record struct {
	Time    time.Time     // zero when the line has no usable timestamp
	Method  string        // upper case, empty when absent
	URL     string        // as logged
	Host    string        // lower case, without port
	Path    string        // without query or fragment
	Status  int           // HTTP status; 0 only for a call that got no response (see Error)
	Latency time.Duration // zero when absent
	Headers []Header      // response headers that bear on retrying only

	// Error is the transport failure as logged (message and/or type) when
	// the call got no HTTP response: timeout, refused, reset, DNS, TLS.
	// Status is then 0. Empty for a call that got a response.
	Error []byte
	// IdempotencyKey is set when the request carried an Idempotency-Key
	// header: a retry of it cannot take effect twice.
	IdempotencyKey bool
	// TraceID is a request or trace id from the line (trace id, request
	// id, X-Request-Id, traceparent), to find the call in the logs.
	TraceID []byte
	// Service is the calling service named by the line (service.name), or
	// empty.
	Service []byte

	// Body is the response body as logged: JSON text, plain text, HTML or
	// empty. When the log gave it as a JSON string holding escapes,
	// BodyEscaped is set and Body still holds them: DecodedBody unescapes.
	Body        []byte
	BodyEscaped bool

	scratch []byte
}

// DecodedBody returns the body with any JSON-string escapes undone. It
// costs a copy only for an escaped body, and only when called: most
// success bodies are never looked at.
func (r *Record) DecodedBody() []byte {
	if !r.BodyEscaped {
		return r.Body
	}
	r.scratch = unescape(r.scratch[:0], r.Body)
	r.Body, r.BodyEscaped = r.scratch, false
	return r.Body
}

// Header is one response header kept from the log line. Only the headers
// that inform a retry verdict are kept (see RetryHeader).
type Header struct {
	Name  string // lower case
	Value []byte
}

// Header returns the value of the named header (lower case), or nil.
func (r *Record) Header(name string) []byte {
	for i := range r.Headers {
		if r.Headers[i].Name == name {
			return r.Headers[i].Value
		}
	}
	return nil
}

// Reasons a line is malformed. They label counters, so they are few and fixed.
const (
	ReasonEmpty     = "empty line"
	ReasonNotJSON   = "not JSON"
	ReasonNotObject = "not an object"
	ReasonNoStatus  = "no status"
	ReasonBadStatus = "bad status"
	ReasonTooLong   = "line too long"
)

// Reasons a line is skipped: it is not a request, and not malformed either.
const (
	// ReasonNotRequest: a JSON line with none of a call's fields (no URL
	// or host, no method, no status, no error): another log line.
	ReasonNotRequest = "not a request"
	// ReasonNotMatched: a line the mapping's Match rules do not select.
	ReasonNotMatched = "not matched"
	// ReasonTextLine: a line that is not JSON, under Mapping.SkipText.
	ReasonTextLine = "text line"
)

// DecodeError reports a line that decodes to no request and why: a
// malformed line, or, when Skip is set, a line that is not a request.
// The Decoder returns shared values for the reasons without an underlying
// error: do not modify one.
type DecodeError struct {
	Reason string // one of the Reason constants
	Err    error  // the underlying parser error, if any
	Skip   bool   // not a request: count it skipped, not malformed
}

func (e *DecodeError) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Reason returns the malformed-line reason of err, or "" when err is not a
// *DecodeError.
func Reason(err error) string {
	var de *DecodeError
	if errors.As(err, &de) {
		return de.Reason
	}
	return ""
}

// Skipped reports whether err says that a line is not a request (to be
// counted as skipped by its Reason), rather than malformed.
func Skipped(err error) bool {
	if err == nil {
		return false
	}
	if de, ok := err.(*DecodeError); ok {
		return de.Skip
	}
	var de *DecodeError
	return errors.As(err, &de) && de.Skip
}
