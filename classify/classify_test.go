package classify_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/ingest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestClassify_Golden classifies every sample log under
// testdata/classify/<vendor>/ and compares with the .golden beside it.
func TestClassify_Golden(t *testing.T) {
	cat := MustLoad(t)
	inputs, err := filepath.Glob("../testdata/classify/*/*.jsonl")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimPrefix(in, "../testdata/classify/")
		t.Run(name, func(t *testing.T) {
			got := classifyFile(t, cat, in)
			golden := strings.TrimSuffix(in, ".jsonl") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./classify -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s:\n%s", in, golden, diffLines(want, got))
			}
		})
	}
}

func classifyFile(tb testing.TB, cat *classify.Catalog, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	dec := ingest.NewDecoder(ingest.AutoMapping())
	cl := classify.NewClassifier(cat)
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		rec, err := dec.Decode(sc.Bytes())
		if err != nil {
			enc.Encode(map[string]any{"line": n, "malformed": true, "reason": ingest.Reason(err)})
			continue
		}
		enc.Encode(struct {
			Line int `json:"line"`
			classify.Event
		}{n, cl.Classify(rec)})
	}
	return out.Bytes()
}

func diffLines(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n- " + a + "\n+ " + c + "\n")
		}
	}
	return b.String()
}

// TestClassify_Precedence pins the rules the goldens rely on.
func TestClassify_Precedence(t *testing.T) {
	cat := MustLoad(t)
	tests := []struct {
		name, line        string
		vendor, code, rng string
		category          classify.Category
		retry             classify.Retry
		known, isErr      bool
	}{
		{"VendorScopedCodes", `{"url":"https://api.piggy.eu/x","status":400,"body":{"message":"m","code":1008,"status_code":400}}`,
			"piggy", "1008", "", classify.Configuration, classify.RetryNo, true, true},
		{"VendorScopedCodesTextalk", `{"url":"https://shop.textalk.se/backend/jsonrpc/v1","status":200,"body":{"jsonrpc":"2.0","id":1,"error":{"code":1008,"message":"m"}}}`,
			"textalk", "1008", "context", classify.Auth, classify.RetryNo, true, true},
		{"RangeRule", `{"url":"https://shop.textalk.se/backend/jsonrpc/v1","status":200,"body":{"jsonrpc":"2.0","id":1,"error":{"code":3999,"message":"m"}}}`,
			"textalk", "3999", "customer", classify.Validation, classify.RetryNo, false, true},
		{"StatusFallback", `{"url":"https://x.picqer.com/api/v1/a","status":403,"body":{"error":true,"error_code":99,"error_message":"m"}}`,
			"picqer", "99", "", classify.Permission, classify.RetryNo, false, true},
		{"UnknownInside200", `{"url":"https://shop.textalk.se/backend/jsonrpc/v1","status":200,"body":{"jsonrpc":"2.0","id":1,"error":{"code":12345,"message":"m"}}}`,
			"textalk", "12345", "", classify.Unknown, classify.RetryNo, false, true},
		{"StatusOnly", `{"url":"https://api.voucherify.io/v1/x","status":502,"body":"<html>bad gateway</html>"}`,
			"voucherify", "http_502", "http_5xx", classify.Unavailable, classify.RetryBackoff, true, true},
		{"RetryAfterHeader", `{"url":"https://api.example.org/x","status":503,"response_headers":{"retry-after":"5"}}`,
			"api.example.org", "http_503", "http_5xx", classify.Unavailable, classify.RetryAfter, true, true},
		{"VoucherCodeIsNotAnError", `{"url":"https://api.voucherify.io/v1/vouchers/A","status":200,"body":{"code":"A","message":"hello"}}`,
			"voucherify", "", "", "", "", false, false},
		{"VoucherifyErrorIn200", `{"url":"https://api.voucherify.io/v1/validate","status":200,"body":{"code":"A","valid":false,"error":{"key":"voucher_disabled","message":"off"}}}`,
			"voucherify", "voucher_disabled", "", classify.BusinessRule, classify.RetryNo, true, true},
		{"AttributedByShape", `{"url":"https://proxy.local/piggy","status":400,"body":{"message":"m","code":60000,"status_code":400}}`,
			"piggy", "60000", "", classify.Quota, classify.RetryNo, true, true},
		{"GenericJSONRPCIn200", `{"url":"https://rpc.local/","status":200,"body":{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"m"}}}`,
			"rpc.local", "-32603", "jsonrpc", classify.Server, classify.RetryBackoff, true, true},
		{"StatusEchoIsNoCode", `{"url":"https://api.example.net/x","status":429,"body":{"error":{"code":429,"message":"m","status":"RESOURCE_EXHAUSTED"}}}`,
			"api.example.net", "RESOURCE_EXHAUSTED", "", classify.RateLimit, classify.RetryAfter, false, true},
		{"RateLimitOlderDraft", `{"url":"https://geo.example/x","status":403,"response_headers":{"RateLimit":"limit=10, remaining=0, reset=5"}}`,
			"geo.example", "http_403", "http_4xx", classify.RateLimit, classify.RetryAfter, true, true},
		{"RateLimitLeft", `{"url":"https://geo.example/x","status":403,"response_headers":{"RateLimit":"\"default\";r=5;t=30"}}`,
			"geo.example", "http_403", "http_4xx", classify.Permission, classify.RetryNo, true, true},
		{"RemainingZeroKeepsQuota", `{"url":"https://llm.example/x","status":429,"body":{"error":{"code":"insufficient_quota","message":"m"}},"response_headers":{"x-ratelimit-remaining":"0","retry-after":"5"}}`,
			"llm.example", "insufficient_quota", "", classify.Quota, classify.RetryNo, true, true},
		{"VoucherifyKeyWithoutCode", `{"url":"https://api.voucherify.io/v1/x","status":400,"body":{"key":"invalid_payload","message":"m"}}`,
			"voucherify", "invalid_payload", "", classify.Validation, classify.RetryNo, true, true},
		{"NoHost", `{"url":"/x","status":404}`,
			"unknown", "http_404", "http_4xx", classify.NotFound, classify.RetryNo, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := classifyLine(t, cat, tc.line)
			if ev.Error != tc.isErr || ev.Vendor != tc.vendor || ev.Code != tc.code || ev.Range != tc.rng ||
				ev.Category != tc.category || ev.Retry != tc.retry || ev.Known != tc.known {
				t.Fatalf("got %+v\nwant error=%v vendor=%s code=%s range=%q %s %s known=%v",
					ev, tc.isErr, tc.vendor, tc.code, tc.rng, tc.category, tc.retry, tc.known)
			}
		})
	}
}

// FuzzClassify feeds arbitrary bodies, statuses and hosts: no panic, and
// every error carries a code and a verdict from the vocabulary.
func FuzzClassify(f *testing.F) {
	inputs, _ := filepath.Glob("../testdata/classify/*/*.jsonl")
	inputs = append(inputs, "../testdata/hostile/lines.jsonl")
	dec := ingest.NewDecoder(ingest.AutoMapping())
	for _, in := range inputs {
		data, _ := os.ReadFile(in)
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			if rec, err := dec.Decode(line); err == nil {
				f.Add(rec.Host, rec.Path, rec.Status, string(rec.DecodedBody()), rec.Method, "", false)
			}
		}
	}
	f.Add("api.piggy.eu", "/", 400, `{"message":"m","code":1e400,"status_code":400}`, "POST", "", false)
	f.Add("shop.textalk.se", "/backend/jsonrpc/v1", 200, `[[[[[{"error":{"code":-1.5}}]]]]]`, "POST", "", false)
	for _, sp := range transportSpellings {
		f.Add("api.example.com", "/v1/x", 0, "", "POST", sp.err, true)
	}
	cat := MustLoad(f)
	cl := classify.NewClassifier(cat)
	f.Fuzz(func(t *testing.T, host, path string, status int, body, method, errMsg string, key bool) {
		rec := &ingest.Record{Host: host, Path: path, Status: status, Body: []byte(body), Method: method, Error: []byte(errMsg), IdempotencyKey: key}
		ev := cl.Classify(rec)
		if status == 0 && len(rec.Error) > 0 {
			// A call without a response is always an error, of the transport categories.
			if !ev.Error || ev.HTTPStatus != 0 || ev.Category != classify.Timeout && ev.Category != classify.Network {
				t.Fatalf("no response %q: got %+v", errMsg, ev)
			}
		}
		if !ev.Error {
			return
		}
		if ev.Code == "" || len(ev.Code) > 128 {
			t.Fatalf("Code=%q", ev.Code)
		}
		if !ev.Category.Valid() || !ev.Retry.Valid() {
			t.Fatalf("verdict %q/%q outside the vocabulary", ev.Category, ev.Retry)
		}
		if ev.Vendor == "" {
			t.Fatal("no vendor")
		}
	})
}

// FuzzLoadVendors feeds arbitrary vendor files: the loader never panics,
// and what it accepts classifies without panicking.
func FuzzLoadVendors(f *testing.F) {
	// Small seeds: the mutator works best on short inputs, and the big
	// built-in files are loaded by every other test.
	user, _ := filepath.Glob("../testdata/vendors.d/*.yaml")
	for _, name := range user {
		data, _ := os.ReadFile(name)
		f.Add(data)
	}
	f.Add([]byte("id: x\nranges: [{name: a, from: -9223372036854775808, to: 9223372036854775807}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Every file is tried under its own id, so the id check passes.
		id := "x"
		if i := bytes.Index(data, []byte("id: ")); i >= 0 {
			id = strings.TrimSpace(strings.SplitN(string(data[i+4:]), "\n", 2)[0])
		}
		if id == "" || strings.ContainsAny(id, "/\\") || id == "." || id == ".." {
			id = "x"
		}
		cat, err := classify.Load(fstestFS(id+".yaml", data))
		if err != nil {
			return
		}
		rec := &ingest.Record{Host: "api.example.com", Path: "/", Status: 400, Body: []byte(`{"error":{"code":1,"message":"m"},"code":2,"message":"m"}`)}
		classify.NewClassifier(cat).Classify(rec)
		cat.Entries("")
	})
}
