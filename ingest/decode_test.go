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
		{"ErrStatusText", `{"status":"OK"}`, ingest.ReasonBadStatus},
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
	inputs = append(inputs, "../testdata/sample.jsonl", "../testdata/hostile/lines.jsonl")
	for _, in := range inputs {
		data, _ := os.ReadFile(in)
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			f.Add(line)
		}
	}
	f.Add([]byte(`{"status":200,"ts":1e308,"duration_ms":-1,"url":"http://[::1"}`))
	d := ingest.NewDecoder(ingest.AutoMapping())
	f.Fuzz(func(t *testing.T, line []byte) {
		rec, err := d.Decode(line)
		if err != nil {
			if ingest.Reason(err) == "" {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		if rec.Status < 100 || rec.Status > 999 {
			t.Fatalf("Status=%d", rec.Status)
		}
		if strings.ToLower(rec.Host) != rec.Host && utf8.ValidString(rec.Host) {
			t.Fatalf("Host=%q not lower case", rec.Host)
		}
		if rec.Latency < 0 {
			t.Fatalf("Latency=%v", rec.Latency)
		}
	})
}
