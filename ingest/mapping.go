package ingest

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Field names a Record field that a Mapping fills.
type Field uint8

// The Record fields a Mapping can fill.
const (
	FieldTime Field = iota
	FieldMethod
	FieldURL
	FieldHost
	FieldPath
	FieldStatus
	FieldLatency
	FieldBody
	FieldHeaders
	numFields
)

var fieldNames = [numFields]string{"time", "method", "url", "host", "path", "status", "latency", "body", "headers"}

func (f Field) String() string { return fieldNames[f] }

// Mapping says where each Record field sits in a log line: for each field,
// the JSON paths to try, most preferred first. A path is a dotted name and
// matches dotted keys, nested objects and any mix of the two, so
// "http.response.status_code" finds {"http.response.status_code":200} and
// {"http":{"response":{"status_code":200}}} alike.
//
// A latency path may end in ":s", ":ms", ":us" or ":ns", the unit of a
// numeric value; the default is milliseconds. A headers path names an object
// of response headers (or the prefix of dotted header keys).
type Mapping struct {
	Paths [numFields][]string
}

// AutoMapping is the mapping of `format: auto`: the field names of the common
// log shapes (flat, nested request/response, Elastic Common Schema and
// OpenTelemetry semantic conventions).
func AutoMapping() Mapping {
	var m Mapping
	m.Paths[FieldTime] = []string{"ts", "time", "timestamp", "@timestamp", "request.time", "start_time", "date"}
	m.Paths[FieldMethod] = []string{"method", "request.method", "http.request.method", "http.method", "verb"}
	m.Paths[FieldURL] = []string{"url", "uri", "request.url", "request.uri", "url.full", "url.original", "http.url", "request_url"}
	m.Paths[FieldHost] = []string{"host", "request.host", "url.domain", "server.address", "http.host", "destination.domain", "destination.address"}
	m.Paths[FieldPath] = []string{"path", "request.path", "url.path"}
	m.Paths[FieldStatus] = []string{"status", "status_code", "response.status", "response.status_code", "response.statusCode", "http.response.status_code", "http.status_code", "statusCode"}
	m.Paths[FieldLatency] = []string{"duration_ms", "latency_ms", "elapsed_ms", "response_time_ms", "duration", "latency", "elapsed", "response.duration_ms", "event.duration:ns"}
	m.Paths[FieldBody] = []string{"response_body", "body", "response.body", "http.response.body.content", "resp_body"}
	m.Paths[FieldHeaders] = []string{"response_headers", "response.headers", "http.response.header", "http.response.headers"}
	return m
}

// ParseMapping builds a Mapping from field name → path, as written in a
// config file (`format: {status: resp.code, body: resp.text}`). Fields not
// named keep the auto mapping's paths.
func ParseMapping(fields map[string]string) (Mapping, error) {
	m := AutoMapping()
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, ok := fieldByName(k)
		if !ok {
			return Mapping{}, fmt.Errorf("unknown field %q (want one of %s)", k, strings.Join(fieldNames[:], ", "))
		}
		p := strings.TrimSpace(fields[k])
		if p == "" || strings.HasPrefix(p, ".") || strings.HasSuffix(p, ".") || strings.Contains(p, "..") {
			return Mapping{}, fmt.Errorf("field %s: bad path %q", k, fields[k])
		}
		if f == FieldLatency {
			if _, _, err := splitUnit(p); err != nil {
				return Mapping{}, fmt.Errorf("field %s: %w", k, err)
			}
		}
		m.Paths[f] = []string{p}
	}
	return m, nil
}

func fieldByName(name string) (Field, bool) {
	for i, n := range fieldNames {
		if n == name {
			return Field(i), true
		}
	}
	return 0, false
}

// splitUnit splits "event.duration:ns" into its path and unit.
func splitUnit(p string) (string, time.Duration, error) {
	path, unit, ok := strings.Cut(p, ":")
	if !ok {
		return p, time.Millisecond, nil
	}
	switch unit {
	case "s":
		return path, time.Second, nil
	case "ms":
		return path, time.Millisecond, nil
	case "us":
		return path, time.Microsecond, nil
	case "ns":
		return path, time.Nanosecond, nil
	}
	return "", 0, fmt.Errorf("unknown latency unit %q (want s, ms, us or ns)", unit)
}

// slot is where a matched path puts its value.
type slot struct {
	field Field
	prio  uint8         // index in the field's path list: lower wins
	unit  time.Duration // latency unit
}

// compiled is a Mapping turned into lookup tables for one pass over a line.
type compiled struct {
	slots      map[string]slot // full dotted path → slot
	containers map[string]bool // proper prefixes of the paths: objects to descend into
	headers    []string        // header containers
}

func (m Mapping) compile() compiled {
	c := compiled{slots: map[string]slot{}, containers: map[string]bool{}}
	for f := range numFields {
		for i, p := range m.Paths[f] {
			unit := time.Millisecond
			if f == FieldLatency {
				p, unit, _ = splitUnit(p)
			}
			if _, dup := c.slots[p]; !dup {
				c.slots[p] = slot{field: f, prio: uint8(min(i, 254)), unit: unit}
			}
			for j := range len(p) {
				if p[j] == '.' {
					c.containers[p[:j]] = true
				}
			}
			if f == FieldHeaders {
				c.headers = append(c.headers, p)
				c.containers[p] = true
			}
		}
	}
	return c
}
