package ingest_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apierr/apierr/ingest"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    ingest.Record
		headers map[string]string
	}{
		{"Flat", `{"ts":"2026-11-20T10:00:00Z","method":"post","url":"https://API.Piggy.eu:443/api/v3/x?auth=1#f","status":400,"duration_ms":87.5,"response_body":"{\"code\":1}"}`,
			ingest.Record{Time: t0, Method: "POST", URL: "https://API.Piggy.eu:443/api/v3/x?auth=1#f", Host: "api.piggy.eu", Path: "/api/v3/x", Status: 400, Latency: 87500 * time.Microsecond, Body: []byte(`{"code":1}`)}, nil},
		{"FlatAltNames", `{"time":"2026-11-20T11:00:00+01:00","uri":"/v1/a","host":"Example.COM:8443","status_code":"503","latency":"1.5s","body":"down"}`,
			ingest.Record{Time: t0, URL: "/v1/a", Host: "example.com", Path: "/v1/a", Status: 503, Latency: 1500 * time.Millisecond, Body: []byte("down")}, nil},
		{"Nested", `{"timestamp":1795168800,"request":{"method":"GET","url":"http://h.test/p"},"response":{"status":200,"body":{"a":[1,2]},"headers":{"Retry-After":"5","Content-Type":"x"}}}`,
			ingest.Record{Time: t0, Method: "GET", URL: "http://h.test/p", Host: "h.test", Path: "/p", Status: 200, Body: []byte(`{"a":[1,2]}`)}, map[string]string{"retry-after": "5"}},
		{"ECS", `{"@timestamp":"2026-11-20T10:00:00.000Z","url":{"full":"https://h.test/a/b","domain":"h.test","path":"/a/b"},"http":{"request":{"method":"PUT"},"response":{"status_code":429,"body":{"content":"slow down"}}},"event":{"duration":2000000}}`,
			ingest.Record{Time: t0, Method: "PUT", URL: "https://h.test/a/b", Host: "h.test", Path: "/a/b", Status: 429, Latency: 2 * time.Millisecond, Body: []byte("slow down")}, nil},
		{"OTelDotted", `{"timestamp":1795168800000,"url.full":"https://h.test/x","server.address":"h.test","http.request.method":"DELETE","http.response.status_code":404,"http.response.header.x-ratelimit-remaining":["0"],"http.response.header.date":["x"]}`,
			ingest.Record{Time: t0, Method: "DELETE", URL: "https://h.test/x", Host: "h.test", Path: "/x", Status: 404}, map[string]string{"x-ratelimit-remaining": "0"}},
		{"OTelNested", `{"timestamp":"1795168800000000000","url":{"full":"https://h.test/x"},"server":{"address":"h.test"},"http":{"request":{"method":"GET"},"response":{"status_code":"500","header":{"retry-after":[30]}}}}`,
			ingest.Record{Time: t0, Method: "GET", URL: "https://h.test/x", Host: "h.test", Path: "/x", Status: 500}, map[string]string{"retry-after": "30"}},
		{"MixedDots", `{"http.response":{"status_code":502},"url":"https://h.test/"}`,
			ingest.Record{URL: "https://h.test/", Host: "h.test", Path: "/", Status: 502}, nil},
		{"EpochMillisString", `{"ts":"1795168800000","status":200}`, ingest.Record{Time: t0, Status: 200}, nil},
		{"EpochMicros", `{"ts":1795168800000000,"status":200}`, ingest.Record{Time: t0, Status: 200}, nil},
		{"EpochFraction", `{"ts":1795168800.25,"status":200}`, ingest.Record{Time: t0.Add(250 * time.Millisecond), Status: 200}, nil},
		{"SpaceLayout", `{"ts":"2026-11-20 10:00:00","status":200}`, ingest.Record{Time: t0, Status: 200}, nil},
		{"CommonLogFormat", `{"ts":"20/Nov/2026:11:00:00 +0100","status":200}`, ingest.Record{Time: t0, Status: 200}, nil},
		{"NoTimestamp", `{"status":200,"ts":"yesterday"}`, ingest.Record{Status: 200}, nil},
		{"PreferredName", `{"status":500,"response":{"status":200}}`, ingest.Record{Status: 500}, nil},
		{"PreferredNameLater", `{"response":{"status":200},"status":500}`, ingest.Record{Status: 500}, nil},
		{"NullBody", `{"status":204,"body":null}`, ingest.Record{Status: 204}, nil},
		{"IPv6Host", `{"status":200,"url":"http://[::1]:8080/x"}`, ingest.Record{URL: "http://[::1]:8080/x", Host: "::1", Path: "/x", Status: 200}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := ingest.NewDecoder(ingest.AutoMapping())
			got, err := d.Decode([]byte(tc.line))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			w := tc.want
			switch {
			case !got.Time.Equal(w.Time):
				t.Errorf("Time=%v, want %v", got.Time, w.Time)
			case got.Method != w.Method:
				t.Errorf("Method=%q, want %q", got.Method, w.Method)
			case got.URL != w.URL:
				t.Errorf("URL=%q, want %q", got.URL, w.URL)
			case got.Host != w.Host:
				t.Errorf("Host=%q, want %q", got.Host, w.Host)
			case got.Path != w.Path:
				t.Errorf("Path=%q, want %q", got.Path, w.Path)
			case got.Status != w.Status:
				t.Errorf("Status=%d, want %d", got.Status, w.Status)
			case got.Latency != w.Latency:
				t.Errorf("Latency=%v, want %v", got.Latency, w.Latency)
			case !bytes.Equal(got.DecodedBody(), w.Body):
				t.Errorf("Body=%q, want %q", got.DecodedBody(), w.Body)
			case len(got.Headers) != len(tc.headers):
				t.Errorf("Headers=%v, want %v", got.Headers, tc.headers)
			}
			for k, v := range tc.headers {
				if string(got.Header(k)) != v {
					t.Errorf("Header(%q)=%q, want %q", k, got.Header(k), v)
				}
			}
		})
	}
}

func TestDecode_Malformed(t *testing.T) {
	tests := []struct{ name, line, reason string }{
		{"ErrEmpty", "  \t", ingest.ReasonEmpty},
		{"ErrNotJSON", "GET /x 200", ingest.ReasonNotJSON},
		{"ErrTruncated", `{"status":200,"body":"abc`, ingest.ReasonNotJSON},
		{"ErrBinary", "\x00\x01\x02{", ingest.ReasonNotJSON},
		{"ErrNotObject", `[1,2,3]`, ingest.ReasonNotObject},
		{"ErrNoStatus", `{"url":"https://h.test/"}`, ingest.ReasonNoStatus},
		{"ErrStatusType", `{"status":{"code":200}}`, ingest.ReasonBadStatus},
		{"ErrStatusRange", `{"status":1e999}`, ingest.ReasonBadStatus},
		{"ErrStatusFraction", `{"status":200.5}`, ingest.ReasonBadStatus},
		{"ErrStatusText", `{"status":"OK","url":"https://h.test/"}`, ingest.ReasonBadStatus},
		{"ErrStatusZero", `{"status":0,"url":"https://h.test/"}`, ingest.ReasonNoStatus},
		{"ErrSomeFields", `{"method":"POST","msg":"outbound request"}`, ingest.ReasonNoStatus},
		{"ErrErrorNoHost", `{"method":"GET","error":"timeout"}`, ingest.ReasonNoStatus},
		{"ErrDeep", strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000), ingest.ReasonNotJSON},
	}
	d := ingest.NewDecoder(ingest.AutoMapping())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Decode([]byte(tc.line))
			var de *ingest.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("err=%v, want a *DecodeError", err)
			}
			if de.Reason != tc.reason {
				t.Fatalf("Reason=%q, want %q", de.Reason, tc.reason)
			}
			if ingest.Skipped(err) {
				t.Fatalf("Skipped=true for a malformed line")
			}
		})
	}
}

func TestParseMapping(t *testing.T) {
	m, err := ingest.ParseMapping(map[string]string{"status": "resp.code", "body": "resp.text", "latency": "took:s", "time": "at"})
	if err != nil {
		t.Fatal(err)
	}
	d := ingest.NewDecoder(m)
	rec, err := d.Decode([]byte(`{"at":1795168800,"resp":{"code":418,"text":"teapot"},"took":2,"url":"https://h.test/x","status":200}`))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != 418 || string(rec.Body) != "teapot" || rec.Latency != 2*time.Second || !rec.Time.Equal(t0) || rec.Host != "h.test" {
		t.Fatalf("got %+v", rec)
	}
	for _, bad := range []map[string]string{{"colour": "x"}, {"status": ""}, {"status": "a..b"}, {"latency": "x:fortnights"}} {
		if _, err := ingest.ParseMapping(bad); err == nil {
			t.Errorf("ParseMapping(%v): no error", bad)
		}
	}
}

// FuzzDecode: no input panics; accepted lines have a valid status and a
// normalized host.
func FuzzDecode(f *testing.F) {
	inputs, _ := filepath.Glob("../testdata/classify/*/*.jsonl")
	shapes, _ := filepath.Glob("../testdata/shapes/*.jsonl")
	inputs = append(inputs, shapes...)
	inputs = append(inputs, "../testdata/sample.jsonl", "../testdata/hostile/lines.jsonl")
	for _, in := range inputs {
		data, _ := os.ReadFile(in)
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			f.Add(line)
		}
	}
	f.Add([]byte(`{"status":200,"ts":1e308,"duration_ms":-1,"url":"http://[::1"}`))
	d := ingest.NewDecoder(ingest.AutoMapping())
	// A mapping with lists, match rules and text skipping, on the same input.
	m, err := ingest.ParseMappingPaths(map[string][]string{"status": {"resp.code", "status"}, "headers": {"hdrs", "h_*"}, "latency": {"took:us"}})
	if err != nil {
		f.Fatal(err)
	}
	m.Match, _ = ingest.ParseMatch(map[string]string{"msg": "/request/"})
	m.SkipText = true
	custom := ingest.NewDecoder(m)
	f.Fuzz(func(t *testing.T, line []byte) {
		n := 0
		d.DecodeAll(line, func(rec *ingest.Record, err error) {
			n++
			if err != nil && ingest.Reason(err) == "" {
				t.Fatalf("error without a reason: %v", err)
			}
			if err == nil && rec.Status == 0 && len(rec.Error) == 0 {
				t.Fatalf("a record with neither status nor error")
			}
		})
		if n == 0 {
			t.Fatalf("DecodeAll yielded nothing")
		}
		if _, err := custom.Decode(line); err != nil && ingest.Reason(err) == "" {
			t.Fatalf("custom: error without a reason: %v", err)
		}
		rec, err := d.Decode(line)
		if err != nil {
			if ingest.Reason(err) == "" {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		if rec.Status == 0 && len(rec.Error) == 0 || rec.Status != 0 && (rec.Status < 100 || rec.Status > 999) {
			t.Fatalf("Status=%d Error=%q", rec.Status, rec.Error)
		}
		if rec.Status != 0 && len(rec.Error) != 0 {
			t.Fatalf("Status=%d with Error=%q", rec.Status, rec.Error)
		}
		if strings.ToLower(rec.Host) != rec.Host && utf8.ValidString(rec.Host) {
			t.Fatalf("Host=%q not lower case", rec.Host)
		}
		if rec.Latency < 0 {
			t.Fatalf("Latency=%v", rec.Latency)
		}
	})
}

// TestDecode_Fields pins the fields beyond the response: the transport
// error, idempotency key, trace id and service, and the fixes of shapes
// that reuse a name with another meaning.
func TestDecode_Fields(t *testing.T) {
	tests := []struct {
		name                string
		line                string
		status              int
		host, path          string
		errText, trace, svc string
		idem                bool
		latency             time.Duration
		time                time.Time
	}{
		{name: "TextualStatusLoses", line: `{"status":"Bad Request","status_code":400,"url":"https://h.test/a"}`, status: 400, host: "h.test", path: "/a"},
		{name: "StatusLine", line: `{"status":"429 Too Many Requests","url":"https://h.test/a"}`, status: 429, host: "h.test", path: "/a"},
		{name: "HARTimeIsADuration", line: `{"startedDateTime":"2026-11-20T10:00:00.000Z","time":87.3,"request":{"method":"GET","url":"https://h.test/a"},"response":{"status":200}}`,
			status: 200, host: "h.test", path: "/a", latency: 87300 * time.Microsecond, time: t0},
		{name: "KongVendorHost", line: `{"request":{"url":"http://kong:8000/pq/orders","method":"POST"},"upstream_uri":"/api/v1/orders?x=1","response":{"status":400},"service":{"host":"acme.picqer.com","name":"picqer"},"latencies":{"proxy":85}}`,
			status: 400, host: "acme.picqer.com", path: "/api/v1/orders", latency: 85 * time.Millisecond},
		{name: "KongUpstreamURL", line: `{"request":{"url":"http://kong:8000/pq/orders","method":"POST"},"upstream_uri":"https://acme.picqer.com/api/v1/orders","response":{"status":400},"latencies":{"proxy":85}}`,
			status: 400, host: "acme.picqer.com", path: "/api/v1/orders", latency: 85 * time.Millisecond},
		{name: "NoResponse", line: `{"method":"POST","url":"https://h.test/a","status":0,"error":"dial tcp: i/o timeout"}`, host: "h.test", path: "/a", errText: "dial tcp: i/o timeout"},
		{name: "NoResponseECS", line: `{"url":{"full":"https://h.test/a"},"error":{"type":"java.net.ConnectException","message":"Connection refused"}}`, host: "h.test", path: "/a", errText: "java.net.ConnectException: Connection refused"},
		{name: "ErrorIgnoredWithStatus", line: `{"url":"https://h.test/a","status":503,"error":"unexpected status"}`, status: 503, host: "h.test", path: "/a"},
		{name: "IdempotencyKeyArray", line: `{"url":"https://h.test/a","status":201,"request_headers":{"IDEMPOTENCY-KEY":["k1"]}}`, status: 201, host: "h.test", path: "/a", idem: true},
		{name: "IdempotencyKeyDotted", line: `{"url.full":"https://h.test/a","http.response.status_code":201,"http.request.header.idempotency-key":["k1"]}`, status: 201, host: "h.test", path: "/a", idem: true},
		{name: "IdempotencyKeyNameValue", line: `{"request":{"url":"https://h.test/a","headers":[{"name":"Idempotency-Key","value":"k1"}]},"response":{"status":201}}`, status: 201, host: "h.test", path: "/a", idem: true},
		{name: "EmptyIdempotencyKey", line: `{"url":"https://h.test/a","status":201,"request_headers":{"Idempotency-Key":""}}`, status: 201, host: "h.test", path: "/a"},
		{name: "TraceIDField", line: `{"url":"https://h.test/a","status":200,"span_id":"s1","trace_id":"t1","request_headers":{"X-Request-Id":"r1"}}`, status: 200, host: "h.test", path: "/a", trace: "t1"},
		{name: "TraceIDRequestHeader", line: `{"url":"https://h.test/a","status":200,"span_id":"s1","request_headers":{"x-request-id":"r1"}}`, status: 200, host: "h.test", path: "/a", trace: "r1"},
		{name: "Traceparent", line: `{"url":"https://h.test/a","status":200,"request.headers":{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}`, status: 200, host: "h.test", path: "/a", trace: "4bf92f3577b34da6a3ce929d0e0e4736"},
		{name: "ServiceECS", line: `{"service":{"name":"checkout"},"url":"https://h.test/a","status":200}`, status: 200, host: "h.test", path: "/a", svc: "checkout"},
		{name: "ServiceOTelResource", line: `{"resource":{"attributes":{"service.name":"checkout"}},"attributes":{"url.full":"https://h.test/a","http.response.status_code":200}}`, status: 200, host: "h.test", path: "/a", svc: "checkout"},
		{name: "StructlogSeconds", line: `{"event":"http_request","url":"https://h.test/a","response_status":200,"duration":0.25}`, status: 200, host: "h.test", path: "/a", latency: 250 * time.Millisecond},
		{name: "SlogNanoseconds", line: `{"time":"2026-11-20T10:00:00Z","level":"INFO","msg":"call","url":"https://h.test/a","status":200,"duration":250000000}`, status: 200, host: "h.test", path: "/a", latency: 250 * time.Millisecond, time: t0},
		{name: "PlainMilliseconds", line: `{"url":"https://h.test/a","status":200,"duration":250}`, status: 200, host: "h.test", path: "/a", latency: 250 * time.Millisecond},
		{name: "TelescopeString", line: `{"type":"client_request","content":"{\"method\":\"GET\",\"uri\":\"https:\\/\\/h.test\\/a\",\"response_status\":404,\"duration\":5}","created_at":"2026-11-20 10:00:00"}`,
			status: 404, host: "h.test", path: "/a", latency: 5 * time.Millisecond, time: t0},
	}
	d := ingest.NewDecoder(ingest.AutoMapping())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := d.Decode([]byte(tc.line))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			switch {
			case r.Status != tc.status:
				t.Errorf("Status=%d, want %d", r.Status, tc.status)
			case r.Host != tc.host || r.Path != tc.path:
				t.Errorf("Host, Path=%q, %q, want %q, %q", r.Host, r.Path, tc.host, tc.path)
			case string(r.Error) != tc.errText:
				t.Errorf("Error=%q, want %q", r.Error, tc.errText)
			case string(r.TraceID) != tc.trace:
				t.Errorf("TraceID=%q, want %q", r.TraceID, tc.trace)
			case string(r.Service) != tc.svc:
				t.Errorf("Service=%q, want %q", r.Service, tc.svc)
			case r.IdempotencyKey != tc.idem:
				t.Errorf("IdempotencyKey=%v, want %v", r.IdempotencyKey, tc.idem)
			case r.Latency != tc.latency:
				t.Errorf("Latency=%v, want %v", r.Latency, tc.latency)
			case !r.Time.Equal(tc.time):
				t.Errorf("Time=%v, want %v", r.Time, tc.time)
			}
		})
	}
}

// TestDecode_Skip: lines that are not requests are skipped, not malformed.
func TestDecode_Skip(t *testing.T) {
	tests := []struct{ name, line, reason string }{
		{"OtherLogLine", `{"level":"info","msg":"order 5512 queued","order_id":5512}`, ingest.ReasonNotRequest},
		{"TextualStatusAlone", `{"msg":"health","status":"OK"}`, ingest.ReasonNotRequest},
		{"ErrorAlone", `{"level":"error","msg":"sync failed","error":"record not found"}`, ingest.ReasonNotRequest},
		{"TelescopeQuery", `{"type":"query","content":{"sql":"select 1","uri":"/x","method":"GET"}}`, ingest.ReasonNotRequest},
		{"OTLPWithoutRecords", `{"resourceLogs":[]}`, ingest.ReasonNotRequest},
	}
	d := ingest.NewDecoder(ingest.AutoMapping())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Decode([]byte(tc.line))
			if !ingest.Skipped(err) || ingest.Reason(err) != tc.reason {
				t.Fatalf("err=%v (skipped %v), want skipped %q", err, ingest.Skipped(err), tc.reason)
			}
		})
	}
}

func TestDecode_MatchAndText(t *testing.T) {
	m := ingest.AutoMapping()
	var err error
	if m.Match, err = ingest.ParseMatch(map[string]string{"msg": "outbound request", "logger": "/^httpx/"}); err != nil {
		t.Fatal(err)
	}
	m.SkipText = true
	d := ingest.NewDecoder(m)
	tests := []struct{ name, line, reason string }{
		{"Matched", `{"msg":"outbound request","logger":"httpx.client","url":"https://h.test/a","status":500}`, ""},
		{"MatchedMalformed", `{"msg":"outbound request","logger":"httpx","url":"https://h.test/a"}`, ingest.ReasonNoStatus},
		{"OtherValue", `{"msg":"inbound request","logger":"httpx","url":"https://h.test/a","status":500}`, ingest.ReasonNotMatched},
		{"RegexpFails", `{"msg":"outbound request","logger":"app.httpx","url":"https://h.test/a","status":500}`, ingest.ReasonNotMatched},
		{"PathAbsent", `{"msg":"outbound request","url":"https://h.test/a","status":500}`, ingest.ReasonNotMatched},
		{"TextLine", `Traceback (most recent call last):`, ingest.ReasonTextLine},
		{"BlankLine", ``, ingest.ReasonTextLine},
		{"LaravelStacktrace", `[stacktrace]`, ingest.ReasonTextLine},
		{"LaravelHeader", ` [2026-11-28 10:00:00] production.ERROR: Call to a member function on null`, ingest.ReasonTextLine},
		{"ArrayIsText", `[1,2,3]`, ingest.ReasonTextLine},
		{"BrokenJSONStaysMalformed", `{"msg":"outbound request"`, ingest.ReasonNotJSON},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := d.Decode([]byte(tc.line))
			if ingest.Reason(err) != tc.reason {
				t.Fatalf("Reason=%q, want %q", ingest.Reason(err), tc.reason)
			}
			if tc.reason == "" && rec.Status != 500 {
				t.Fatalf("Status=%d", rec.Status)
			}
			if skip := tc.reason == ingest.ReasonNotMatched || tc.reason == ingest.ReasonTextLine; ingest.Skipped(err) != skip {
				t.Fatalf("Skipped=%v, want %v", ingest.Skipped(err), skip)
			}
		})
	}
	// A rule on a name the auto mapping also descends into (ECS "event").
	m2 := ingest.AutoMapping()
	m2.Match, _ = ingest.ParseMatch(map[string]string{"event": "http_request"})
	d2 := ingest.NewDecoder(m2)
	if _, err := d2.Decode([]byte(`{"event":"http_request","url":"https://h.test/a","response_status":200}`)); err != nil {
		t.Errorf("event match: %v", err)
	}
	if _, err := d2.Decode([]byte(`{"event":"cache_miss","url":"https://h.test/a","response_status":200}`)); ingest.Reason(err) != ingest.ReasonNotMatched {
		t.Errorf("event mismatch: %v", err)
	}
	if _, err := ingest.ParseMatch(map[string]string{"msg": "/(/"}); err == nil {
		t.Error("ParseMatch with a bad regexp: no error")
	}
}

func TestParseMappingPaths(t *testing.T) {
	m, err := ingest.ParseMappingPaths(map[string][]string{
		"status":          {"resp.code", "resp.http_status"},
		"latency":         {"timing.total_us:us", "took:s"},
		"headers":         {"resp.hdrs", "rh_*"},
		"request_headers": {"req.hdrs"},
		"error":           {"failure.text"},
		"trace_id":        {"corr"},
		"service":         {"app"},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := ingest.NewDecoder(m)
	rec, err := d.Decode([]byte(`{"url":"https://h.test/x","resp":{"code":"n/a","http_status":429,"hdrs":[{"name":"Retry-After","value":"7"}]},"rh_X-RateLimit-Remaining":"0","timing":{"total_us":1500},"took":9,"req":{"hdrs":{"idempotency-key":"k"}},"corr":"c-1","app":"billing"}`))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != 429 || rec.Latency != 1500*time.Microsecond || string(rec.Header("retry-after")) != "7" ||
		string(rec.Header("x-ratelimit-remaining")) != "0" || !rec.IdempotencyKey || string(rec.TraceID) != "c-1" || string(rec.Service) != "billing" {
		t.Fatalf("got %+v", rec)
	}
	rec, err = d.Decode([]byte(`{"url":"https://h.test/x","failure":{"text":"connection reset by peer"}}`))
	if err != nil || rec.Status != 0 || string(rec.Error) != "connection reset by peer" {
		t.Fatalf("got %+v, %v", rec, err)
	}
	for _, bad := range []map[string][]string{{"status": {}}, {"status": {"a..b"}}, {"latency": {"x:fortnights"}}, {"colour": {"x"}}} {
		if _, err := ingest.ParseMappingPaths(bad); err == nil {
			t.Errorf("ParseMappingPaths(%v): no error", bad)
		}
	}
}

// TestDecodeAll_OTLP: one OTLP/JSON line, many records, each counted.
func TestDecodeAll_OTLP(t *testing.T) {
	data, err := os.ReadFile("../testdata/classify/shapes/otlp.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	line := bytes.SplitN(data, []byte("\n"), 2)[0]
	d := ingest.NewDecoder(ingest.AutoMapping())
	var statuses []int
	var skipped int
	d.DecodeAll(line, func(rec *ingest.Record, err error) {
		switch {
		case ingest.Skipped(err):
			skipped++
		case err != nil:
			t.Errorf("record: %v", err)
		default:
			statuses = append(statuses, rec.Status)
			if string(rec.Service) != "checkout" {
				t.Errorf("Service=%q", rec.Service)
			}
		}
	})
	if len(statuses) != 3 || statuses[0] != 400 || statuses[2] != 429 || skipped != 1 {
		t.Fatalf("statuses=%v skipped=%d, want [400 400 429] and 1", statuses, skipped)
	}
	rec, err := d.Decode(line)
	if err != nil || rec.Status != 400 || d.Shape() != "otlp" {
		t.Fatalf("Decode: %+v, %v, shape %q", rec, err, d.Shape())
	}
}

// The Record's URL and path are views of the line, valid until the next
// line; its host is its own and outlives the line (it names unknown
// vendors in the counts).
func TestDecode_HostOutlivesLine(t *testing.T) {
	d := ingest.NewDecoder(ingest.AutoMapping())
	line := []byte(`{"method":"GET","url":"https://API.Example.test/v1/a","status":500}`)
	rec, err := d.Decode(line)
	if err != nil {
		t.Fatal(err)
	}
	host := rec.Host
	copy(line, bytes.Repeat([]byte("x"), len(line))) // the block is reused for other lines
	if _, err := d.Decode([]byte(`{"method":"GET","host":"other.test","path":"/b","status":500}`)); err != nil {
		t.Fatal(err)
	}
	if host != "api.example.test" {
		t.Errorf("host after the line's memory was reused = %q, want api.example.test", host)
	}
}
