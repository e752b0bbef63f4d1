package classify_test

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/ingest"
)

// MustLoad loads the built-in catalog.
func MustLoad(tb testing.TB) *classify.Catalog {
	tb.Helper()
	cat, err := classify.Load(classify.Builtin())
	if err != nil {
		tb.Fatalf("Load: %v", err)
	}
	return cat
}

// TestCatalog_Documented checks that every code of the four vendors' error
// pages is in the catalog, with the page's message.
func TestCatalog_Documented(t *testing.T) {
	cat := MustLoad(t)
	entries := map[string]classify.Entry{}
	for _, e := range cat.Entries("") {
		entries[e.Vendor+" "+e.Code] = e
	}
	f, err := os.Open("../testdata/catalog/documented.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	perVendor := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		fields := strings.Split(sc.Text(), "\t")
		vendor, page, code, msg := fields[0], fields[1], fields[2], fields[3]
		e, ok := entries[vendor+" "+code]
		if !ok {
			t.Errorf("%s %s (%s): not in the catalog", vendor, code, page)
			continue
		}
		if !strings.HasPrefix(strings.ToLower(msg), strings.ToLower(e.Message)) && !strings.HasPrefix(strings.ToLower(e.Message), strings.ToLower(msg)) {
			t.Errorf("%s %s: Message=%q, the page says %q", vendor, code, e.Message, msg)
		}
		if e.Doc != page {
			t.Errorf("%s %s: Doc=%q, want the page it is listed on, %s", vendor, code, e.Doc, page)
		}
		if !strings.HasPrefix(code, "http_") {
			perVendor[vendor]++
		}
	}
	// The counts of the pages: a list that lost lines fails here.
	want := map[string]int{"piggy": 60, "textalk": 45, "picqer": 41, "voucherify": 31}
	for v, n := range want {
		if perVendor[v] != n {
			t.Errorf("documented.tsv has %d %s codes, want %d", perVendor[v], v, n)
		}
	}
}

// TestCatalog_Lint checks every entry for a full, valid verdict.
func TestCatalog_Lint(t *testing.T) {
	cat := MustLoad(t)
	seen := map[string]bool{}
	for _, e := range cat.Entries("") {
		key := e.Vendor + " " + e.Code
		switch {
		case seen[key]:
			t.Errorf("%s: listed twice", key)
		case !e.Category.Valid():
			t.Errorf("%s: Category=%q", key, e.Category)
		case !e.Retry.Valid():
			t.Errorf("%s: Retry=%q", key, e.Retry)
		case e.Source == "":
			t.Errorf("%s: no source", key)
		case e.Why == "":
			t.Errorf("%s: no reason for the verdict", key)
		case e.Message == "":
			t.Errorf("%s: no message", key)
		}
		seen[key] = true
	}
	for _, id := range cat.Vendors() {
		if id != classify.GenericID && cat.Vendor(id).Sample == nil {
			t.Errorf("%s: no sample", id)
		}
	}
}

// shapes wraps a response in each log shape the decoder recognizes.
var shapes = []struct {
	name string
	line func(method, url string, status int, body string) string
}{
	{"flat", func(m, u string, s int, b string) string {
		return `{"ts":"2026-11-20T10:00:00Z","method":"` + m + `","url":"` + u + `","status":` + itoa(s) + `,"duration_ms":12,"response_body":` + quote(b) + `}`
	}},
	{"nested", func(m, u string, s int, b string) string {
		return `{"time":1795168800,"request":{"method":"` + m + `","url":"` + u + `"},"response":{"status":` + itoa(s) + `,"body":` + b + `}}`
	}},
	{"ecs", func(m, u string, s int, b string) string {
		return `{"@timestamp":"2026-11-20T10:00:00.000Z","url":{"full":"` + u + `"},"http":{"request":{"method":"` + m + `"},"response":{"status_code":` + itoa(s) + `,"body":{"content":` + quote(b) + `}}},"event":{"duration":12000000}}`
	}},
	{"otel_dotted", func(m, u string, s int, b string) string {
		return `{"timestamp":1795168800000,"url.full":"` + u + `","http.request.method":"` + m + `","http.response.status_code":` + itoa(s) + `,"body":` + quote(b) + `}`
	}},
	{"otel_nested", func(m, u string, s int, b string) string {
		return `{"timestamp":"1795168800000000000","url":{"full":"` + u + `"},"http":{"request":{"method":"` + m + `"},"response":{"status_code":"` + itoa(s) + `"}},"body":` + b + `}`
	}},
}

// TestCatalog_EveryCodeEveryShape renders each vendor's sample error for
// every code of its catalog, and a body naming no code for every HTTP
// status it lists, wraps it in every log shape, and checks that the
// classifier names the same vendor, code and verdict: so every category a
// vendor documents is read right in every shape.
func TestCatalog_EveryCodeEveryShape(t *testing.T) {
	cat := MustLoad(t)
	cl := classify.NewClassifier(cat)
	dec := ingest.NewDecoder(ingest.AutoMapping())
	n := 0
	categories := map[string]map[classify.Category]bool{} // per vendor, the categories checked
	for _, e := range cat.Entries("") {
		v := cat.Vendor(e.Vendor)
		if v.Sample == nil {
			continue
		}
		status := v.Sample.Status
		if e.Status >= 400 {
			status = e.Status
		}
		body := v.Sample.Render(e.Code, e.Message, status)
		if strings.HasPrefix(e.Code, "http_") {
			if e.Status < 400 {
				continue
			}
			body = `{"unrelated":true}` // no envelope: the status decides
		}
		if categories[e.Vendor] == nil {
			categories[e.Vendor] = map[classify.Category]bool{}
		}
		categories[e.Vendor][e.Category] = true
		for _, sh := range shapes {
			line := sh.line(v.Sample.Method, v.Sample.URL, status, body)
			rec, err := dec.Decode([]byte(line))
			if err != nil {
				t.Fatalf("%s %s %s: Decode: %v\n%s", e.Vendor, e.Code, sh.name, err, line)
			}
			ev := cl.Classify(rec)
			if !ev.Error || ev.Vendor != e.Vendor || ev.Code != e.Code || !ev.Known ||
				ev.Category != e.Category || ev.Retry != e.Retry || ev.Range != e.Range || ev.HTTPStatus != status {
				t.Errorf("%s %s %s: got %+v, want %s %s %s %s range %q", e.Vendor, e.Code, sh.name, ev, e.Vendor, e.Code, e.Category, e.Retry, e.Range)
			}
			n++
		}
	}
	if n < 5*250 {
		t.Errorf("checked %d code×shape pairs, want at least %d", n, 5*250)
	}
	// Every category a vendor's entries document was checked.
	for _, id := range cat.Vendors() {
		if id == classify.GenericID {
			continue
		}
		for _, e := range cat.Entries(id) {
			if !categories[id][e.Category] {
				t.Errorf("%s: category %s documented but not checked", id, e.Category)
			}
		}
	}
}

// TestLoad_UserVendor adds a vendor from a directory, no Go code.
func TestLoad_UserVendor(t *testing.T) {
	cat, err := classify.Load(classify.Builtin(), os.DirFS("../testdata/vendors.d"))
	if err != nil {
		t.Fatal(err)
	}
	ev := classifyLine(t, cat, `{"ts":1,"url":"https://api.acmepay.example/v1/charges","status":402,"body":{"error":{"type":"card_error","code":"card_declined","message":"Your card was declined."}}}`)
	if ev.Vendor != "acmepay" || ev.Code != "card_declined" || !ev.Known || ev.Category != classify.BusinessRule {
		t.Fatalf("got %+v, want acmepay card_declined business_rule known", ev)
	}
	ev = classifyLine(t, cat, `{"ts":1,"url":"https://api.acmepay.example/v1/charges","status":402,"body":{"error":{"type":"card_error","code":"expired_card","message":"Expired."}}}`)
	if ev.Code != "expired_card" || ev.Known || ev.Category != classify.BusinessRule {
		t.Fatalf("unknown code: got %+v, want expired_card unknown, business_rule by its status", ev)
	}
}

// TestLoad_Replace: a user file with a built-in's id replaces it whole.
func TestLoad_Replace(t *testing.T) {
	user := fstest.MapFS{"piggy.yaml": {Data: []byte(`
id: piggy
name: Piggy, trimmed
source: local
match: {hosts: [api.piggy.eu]}
envelopes: [{name: e, require: ["code:int"], code: [code], message: [message]}]
codes: [{code: "1", message: One, category: server, retry: retry}]
`)}}
	cat, err := classify.Load(classify.Builtin(), user)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(cat.Entries("piggy")); got != 1 {
		t.Fatalf("piggy entries=%d, want 1 (no merge with the built-in)", got)
	}
	ev := classifyLine(t, cat, `{"url":"https://api.piggy.nl/x","status":400,"body":{"code":1008,"message":"Shop not found.","status_code":400}}`)
	if ev.Vendor == "piggy" {
		t.Fatalf("api.piggy.nl is no longer claimed, got vendor %q", ev.Vendor)
	}
}

// TestLoad_Errors: a bad file fails with its name, the field and the fault.
func TestLoad_Errors(t *testing.T) {
	base := "id: acme\nname: Acme\nsource: s\nmatch: {hosts: [api.acme.test]}\n"
	tests := []struct {
		name, file, body, want string
	}{
		{"ErrYAML", "acme.yaml", "id: [", "acme.yaml: "},
		{"ErrUnknownKey", "acme.yaml", base + "colour: red\n", "field colour not found"},
		{"ErrIDMismatch", "other.yaml", base, `other.yaml: id: "acme" does not match the file name "other"`},
		{"ErrCategory", "acme.yaml", base + "codes: [{code: x, message: m, category: bogus, retry: \"no\"}]\n", `acme.yaml: codes[0].category: unknown category "bogus"`},
		{"ErrRetry", "acme.yaml", base + "codes: [{code: x, message: m, category: auth, retry: maybe}]\n", `codes[0].retry: unknown retry verdict "maybe"`},
		{"ErrDuplicateCode", "acme.yaml", base + "codes: [{code: x, message: m, category: auth, retry: \"no\"}, {code: x, message: m, category: auth, retry: \"no\"}]\n", `codes[1].code: "x" listed twice`},
		{"ErrOverlap", "acme.yaml", base + "ranges: [{name: a, from: 1, to: 10}, {name: b, from: 10, to: 20}]\n", "ranges[1]: b 10..20 overlaps ranges[0] a 1..10"},
		{"ErrBadPath", "acme.yaml", base + "envelopes: [{name: e, require: [\"a..b\"]}]\n", "envelopes[0].require[0]"},
		{"ErrType", "acme.yaml", base + "envelopes: [{name: e, require: [\"a:integer\"]}]\n", `unknown type "integer"`},
		{"ErrNoRequire", "acme.yaml", base + "envelopes: [{name: e, code: [a]}]\n", "envelopes[0].require: give at least one condition"},
		{"ErrHost", "acme.yaml", "id: acme\nmatch: {hosts: [\"https://acme.test\"]}\n", "match.hosts[0]"},
		{"ErrStatus", "acme.yaml", base + "statuses: [{status: 42, message: m, category: auth, retry: \"no\"}]\n", "statuses[0].status: 42"},
		{"ErrDoc", "acme.yaml", base + "codes: [{code: x, message: m, category: auth, retry: \"no\", doc: \"docs.acme.test/x\"}]\n", `codes[0].doc: "docs.acme.test/x": want an http(s) URL`},
		{"ErrVendorDoc", "acme.yaml", base + "doc: \"ftp://acme.test\"\n", `doc: "ftp://acme.test": want an http(s) URL`},
		{"ErrDocsHost", "acme.yaml", base + "docs: [\"https://docs.acme.test\"]\n", "docs[0]"},
		{"ErrWordsNotGeneric", "acme.yaml", base + "words: [{words: [quota], category: quota, retry: \"no\"}]\n", "generic definition only"},
		{"ErrTransportCode", "generic.yaml", "id: generic\ntransport: [{code: nosuch, spellings: [x]}]\n", `transport[0].code: "nosuch" is not one of the codes`},
		{"ErrWordsEmpty", "generic.yaml", "id: generic\nwords: [{words: [\"\"], category: quota, retry: \"no\"}]\n", "words[0].words"},
		{"ErrHeaderParam", "acme.yaml", base + "headers: [{name: ratelimit, param: \"R=\", retry: retry_after}]\n", "headers[0].param"},
		{"ErrTwoDocuments", "acme.yaml", base + "---\nid: other\n", "more than one YAML document"},
		{"ErrTextCodeWithRequire", "acme.yaml", base + "envelopes: [{name: e, text_code: true, require: [a]}]\n", "envelopes[0].text_code"},
		{"ErrMessageEmpty", "acme.yaml", base + "messages: [{contains: [\"\"], category: quota, retry: \"no\"}]\n", "messages[0].contains"},
		{"ErrMessageStatus", "acme.yaml", base + "messages: [{status: [4], contains: [x], category: quota, retry: \"no\"}]\n", "messages[0].status[0]"},
		{"ErrMessageVerdict", "acme.yaml", base + "messages: [{contains: [x], category: quota}]\n", "messages[0].retry"},
		{"ErrSample", "acme.yaml", base + "codes: [{code: x, message: m, category: auth, retry: \"no\"}]\nsample: {url: u, body: '{\"code\": {{code}}'}\n", "sample.body: not JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := classify.Load(fstest.MapFS{tc.file: {Data: []byte(tc.body)}})
			var le *classify.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("err=%v, want a *LoadError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err=%q, want it to contain %q", err, tc.want)
			}
		})
	}
	t.Run("ErrHostClash", func(t *testing.T) {
		_, err := classify.Load(classify.Builtin(), fstest.MapFS{"acme.yaml": {Data: []byte("id: acme\nmatch: {hosts: [api.piggy.eu]}\n")}})
		if err == nil || !strings.Contains(err.Error(), "api.piggy.eu is also claimed by") {
			t.Fatalf("err=%v, want a host clash", err)
		}
	})
}

func classifyLine(tb testing.TB, cat *classify.Catalog, line string) classify.Event {
	tb.Helper()
	rec, err := ingest.NewDecoder(ingest.AutoMapping()).Decode([]byte(line))
	if err != nil {
		tb.Fatalf("Decode: %v", err)
	}
	return classify.NewClassifier(cat).Classify(rec)
}

func itoa(n int) string { return strconv.Itoa(n) }

// quote returns s as a JSON string.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func fstestFS(name string, data []byte) fstest.MapFS {
	return fstest.MapFS{name: {Data: data}}
}

// specHosts publish the specifications any catalog may cite: RFCs and
// IETF drafts, JSON-RPC, the HTTP working group, MDN's HTTP status pages.
var specHosts = []string{"rfc-editor.org", "datatracker.ietf.org", "jsonrpc.org", "www.jsonrpc.org", "httpwg.org", "developer.mozilla.org"}

// docAllowed is the rule for a catalog's doc URLs: https, and a host that
// is a spec host, or a match host or docs host of the vendor ("*." cut),
// or that host's parent domain when the parent keeps at least two labels,
// or a subdomain of any of these. api.stripe.com allows stripe.com and so
// docs.stripe.com; *.picqer.com allows picqer.com. (Under a two-label
// public suffix the parent is a registry, not the vendor: a vendor on
// example.co.uk lists its docs hosts exactly.)
func docAllowed(v *classify.Vendor, doc string) error {
	u, err := url.Parse(doc)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return fmt.Errorf("%q: want an https URL", doc)
	}
	host := strings.ToLower(u.Hostname())
	under := func(d string) bool { return host == d || strings.HasSuffix(host, "."+d) }
	for _, d := range specHosts {
		if under(d) {
			return nil
		}
	}
	for _, h := range append(append([]string(nil), v.Match.Hosts...), v.Docs...) {
		h = strings.TrimPrefix(h, "*.")
		if under(h) {
			return nil
		}
		if _, parent, ok := strings.Cut(h, "."); ok && strings.Contains(parent, ".") && under(parent) {
			return nil
		}
	}
	return fmt.Errorf("%q: host %s is neither the vendor's (match hosts, docs) nor a specification's", doc, host)
}

// TestCatalog_Docs checks every entry of every built-in vendor file and of
// the operator example in testdata/vendors.d: a category, a retry verdict
// and a doc URL (the entry's or the vendor's default) on the vendor's own
// domain or a specification's.
func TestCatalog_Docs(t *testing.T) {
	for _, set := range []struct {
		name string
		fsys []fs.FS
	}{
		{"builtin", []fs.FS{classify.Builtin()}},
		{"vendors.d", []fs.FS{os.DirFS("../testdata/vendors.d")}},
	} {
		cat, err := classify.Load(set.fsys...)
		if err != nil {
			t.Fatalf("%s: %v", set.name, err)
		}
		n := 0
		for _, e := range cat.Entries("") {
			key := set.name + ": " + e.Vendor + " " + e.Code
			if !e.Category.Valid() || !e.Retry.Valid() {
				t.Errorf("%s: verdict %q/%q", key, e.Category, e.Retry)
			}
			if e.Doc == "" {
				t.Errorf("%s: no doc URL (give the entry or the vendor one)", key)
				continue
			}
			if err := docAllowed(cat.Vendor(e.Vendor), e.Doc); err != nil {
				t.Errorf("%s: %v", key, err)
			}
			n++
		}
		// Message rules show their doc in place of the status entry's.
		for _, id := range cat.Vendors() {
			v := cat.Vendor(id)
			for i, m := range v.Messages {
				if m.Doc == "" {
					continue
				}
				if err := docAllowed(v, m.Doc); err != nil {
					t.Errorf("%s: %s messages[%d]: %v", set.name, id, i, err)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s: no entries checked", set.name)
		}
	}
}

// TestDocAllowed pins the doc-domain rule with cases it must refuse.
func TestDocAllowed(t *testing.T) {
	v := &classify.Vendor{Match: classify.Match{Hosts: []string{"api.voucherify.io", "*.picqer.com", "voucherify.io"}}, Docs: []string{"developer.abicart.se"}}
	tests := []struct {
		doc string
		ok  bool
	}{
		{"https://docs.voucherify.io/reference/errors", true},
		{"https://picqer.com/en/api/response-codes", true},
		{"https://developer.abicart.se/general/Errors", true},
		{"https://www.rfc-editor.org/rfc/rfc9110#section-15", true},
		{"https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/", true},
		{"http://docs.voucherify.io/reference/errors", false}, // not https
		{"https://voucherify.example.com/errors", false},
		{"https://stackoverflow.com/q/1", false},
		{"https://api.abicart.se/x", true}, // developer.abicart.se's parent
		{"https://io.example/x", false},    // voucherify.io's parent "io" has one label: never a vendor's
		{"https://docs.picqer.com.evil.test/x", false},
		{"docs.voucherify.io/errors", false},
	}
	for _, tc := range tests {
		if err := docAllowed(v, tc.doc); (err == nil) != tc.ok {
			t.Errorf("docAllowed(%q)=%v, want ok=%v", tc.doc, err, tc.ok)
		}
	}
}
