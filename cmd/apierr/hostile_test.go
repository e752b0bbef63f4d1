package main

import (
	"fmt"
	"github.com/apierr/apierr/classify"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hostileLog writes a log of good lines mixed with hostile ones and
// returns how many good (decodable) lines it holds, and the malformed
// lines by reason.
func hostileLog(tb testing.TB, path string) (good int, malformed map[string]int) {
	tb.Helper()
	rng := rand.New(rand.NewSource(7))
	malformed = map[string]int{}
	var b strings.Builder
	line := func(s string) { b.WriteString(s); b.WriteByte('\n') }
	bad := func(reason, s string) { line(s); malformed[reason]++ }
	ok := func(s string) { line(s); good++ }
	ts := testTraffic(0)[:strings.Index(testTraffic(0), `,"method"`)] // {"ts":"..."

	for i := range 1000 {
		if i%13 == 6 { // testTraffic's own malformed line
			bad("not JSON", testTraffic(i))
		} else {
			ok(testTraffic(i))
		}
		switch i % 10 {
		case 0:
			bad("not JSON", `{"status":500,"url":"https://x.test/","response_body":"unterminated`)
		case 1:
			bad("not JSON", "\x00\x01\x02\xff\xfe binary garbage \x1b[2J")
		case 2:
			bad("bad status", ts+`,"status":1e999,"url":"https://x.test/"}`)
		case 3:
			bad("bad status", ts+`,"status":{"code":500},"url":"https://x.test/"}`)
		case 4:
			bad("no status", ts+`,"url":"https://x.test/","response_body":"x"}`)
		case 5: // wrong types everywhere but status: still a request
			ok(`{"ts":{"a":1},"method":42,"url":["x"],"host":null,"status":"503","duration_ms":"soon","response_headers":"none","response_body":12}`)
		case 6: // invalid UTF-8, escapes and bidi controls in a vendor message
			ok(ts + `,"url":"https://acme.picqer.com/api/v1/x","status":400,"response_body":"{\"error\":true,\"error_code\":24,\"error_message\":\"\\u001b]0;pwn\\u0007\\u001b[31m\xff\xfe \\u202e evil \\u0000\"}"}`)
		case 7:
			bad("not JSON", `{"a":tru}`)
		}
	}
	bad("line too long", ts+`,"status":500,"response_body":"`+strings.Repeat("A", 10<<20)+`"}`)
	bad("not JSON", strings.Repeat(`{"a":`, 100000)+"1"+strings.Repeat("}", 100000))
	// A flood of distinct codes and of distinct hosts.
	for i := range 20000 {
		ok(fmt.Sprintf(`%s,"url":"https://acme.picqer.com/api/v1/o/%d","status":400,"response_body":"{\"error\":true,\"error_code\":%d,\"error_message\":\"m\"}"}`, ts, i, 1000+rng.Intn(1<<30)))
		ok(fmt.Sprintf(`%s,"url":"https://h%d-%d.flood.test/%d","status":502,"response_body":""}`, ts, i, rng.Intn(1<<30), i))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return good, malformed
}

// TestHostileInput: ingestion keeps going through hostile lines, counts the
// good ones exactly and the bad ones by reason, holds the caps, and the
// report shows nothing raw.
func TestHostileInput(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads a 10 MB log")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "hostile.jsonl")
	good, malformed := hostileLog(t, path)
	db := filepath.Join(dir, "apierr.db")
	if code, _, errs := run(t, "", "ingest", "-q", "--db", db, path); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errs)
	}
	c := readCounts(t, db)
	var wantMalformed int
	for _, n := range malformed {
		wantMalformed += n
	}
	if c.requests != int64(good) || c.malformed != int64(wantMalformed) {
		t.Fatalf("requests %d malformed %d, want %d and %d", c.requests, c.malformed, good, wantMalformed)
	}
	// The caps bound what no catalog knows: at most 1,000 unknown vendors
	// and 1,000 unknown codes a vendor, plus other. Known ones are never
	// folded away.
	cat, err := classify.Load(classify.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, e := range cat.Entries("picqer") {
		known[e.Code] = true
	}
	unknownVendors, picqerCodes := 0, map[string]bool{}
	for _, row := range c.codes { // one row per variant: count codes
		// http_<status> codes come from the statuses every catalog knows.
		if f := strings.Fields(row); f[0] == "picqer" && !known[f[1]] && !strings.HasPrefix(f[1], "http_") {
			picqerCodes[f[1]] = true
		}
	}
	unknownPicqer := len(picqerCodes)
	for _, row := range c.vendors {
		if cat.Vendor(strings.Fields(row)[0]) == nil {
			unknownVendors++
		}
	}
	if unknownVendors > 1001 || unknownPicqer > 1001 {
		t.Fatalf("caps broken: %d unknown vendors, %d unknown picqer codes", unknownVendors, unknownPicqer)
	}
	// The report shows nothing raw.
	for _, f := range []string{"table", "markdown"} {
		code, out, errs := run(t, "", "report", "--db", db, "--format", f, "--top", "0", "--since", "100000h")
		if code != 0 {
			t.Fatalf("report: exit %d: %s", code, errs)
		}
		for _, raw := range []string{"\x1b", "\x07", "\u202e", "\x00", "\xff"} {
			if strings.Contains(out, raw) {
				t.Fatalf("%s report holds %q raw", f, raw)
			}
		}
	}
	t.Logf("%d lines: %d good, %d malformed %v; %d vendors stored", good+wantMalformed, good, wantMalformed, malformed, len(c.vendors))

	// The daemon, tailing the same log, keeps going, counts the same, and
	// /metrics stays bounded by the same caps.
	data, _ := os.ReadFile(path)
	_, addr, daemonDB := startMetricsDaemon(t, string(data), "")
	waitFor(t, "the daemon to count every line", func() bool { d := readCounts(t, daemonDB); return d.requests+d.malformed == c.requests+c.malformed })
	// Which flood hosts fill the vendor cap depends on merge order; the
	// totals and the cap do not.
	if d := readCounts(t, daemonDB); d.requests != c.requests || d.malformed != c.malformed || len(d.vendors) != len(c.vendors) {
		t.Fatalf("the daemon counted %d requests, %d malformed, %d vendors; ingest %d, %d, %d",
			d.requests, d.malformed, len(d.vendors), c.requests, c.malformed, len(c.vendors))
	}
	_, text := get(t, "http://"+addr+"/metrics")
	if n := strings.Count(text, "\napierr_requests_total{"); n > len(c.vendors) {
		t.Fatalf("/metrics has %d request series, more than the %d capped vendors stored", n, len(c.vendors))
	}
	if strings.Contains(text, "\x1b") || strings.Contains(text, "\u202e") {
		t.Fatalf("/metrics holds raw control characters")
	}
}

// TestSecretsRedacted: tokens and personal data in URLs and vendor messages
// reach neither the database nor the reports nor /metrics.
func TestSecretsRedacted(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real process")
	}
	secrets := []string{"s3cr3t-auth-token", "sess-0123456789abcdef", "jane.doe@example.com", "4111111111111111",
		"eyJhbGciOiJIUzI1NiJ9payloadsignature0123", "hunter2-password", "sk_live_abcdefghijklmnopqrstuvwxyz123456",
		// Path segments made of letters only: a webhook secret, a reset token.
		"XyZaBcDeFgHiJkLmNoPqRsTu", "vQkRtWpLmNzXcYbHsJd"}
	ts := testTraffic(0)[:strings.Index(testTraffic(0), `,"method"`)]
	lines := []string{
		ts + `,"method":"POST","url":"https://shop.textalk.se/backend/jsonrpc/v1/?webshop=1&auth=s3cr3t-auth-token&session=sess-0123456789abcdef","status":200,"response_body":{"jsonrpc":"2.0","id":1,"error":{"code":1004,"message":"Bad auth token s3cr3t-auth-token"}}}`,
		ts + `,"method":"POST","url":"https://api.piggy.eu/api/v3/oauth/clients/contacts/jane.doe@example.com","status":400,"response_body":"{\"message\":\"Contact jane.doe@example.com not found, card 4111111111111111\",\"code\":55031,\"status_code\":400}"}`,
		ts + `,"method":"GET","url":"https://api.example.org/v1/x?api_key=sk_live_abcdefghijklmnopqrstuvwxyz123456","status":401,"response_body":"{\"error\":{\"code\":\"invalid_token\",\"message\":\"Bearer eyJhbGciOiJIUzI1NiJ9payloadsignature0123 rejected; password=hunter2-password\"}}"}`,
	}
	lines = append(lines,
		ts+`,"method":"POST","url":"https://hooks.slack.com/services/T0123ABCD/B0456EFGH/XyZaBcDeFgHiJkLmNoPqRsTu","status":404,"response_body":"no_service"}`,
		ts+`,"method":"POST","url":"https://api.example.org/v1/password-resets/vQkRtWpLmNzXcYbHsJd/confirm","status":410,"response_body":"{\"error\":{\"code\":\"expired\",\"message\":\"gone\"}}"}`)
	_, addr, dbPath := metricsDaemonWith(t, strings.Join(lines, "\n")+"\n")
	waitFor(t, "the lines committed", func() bool { return readCounts(t, dbPath).requests == int64(len(lines)) })
	_, exposition := get(t, "http://"+addr+"/metrics")
	dbBytes, _ := os.ReadFile(dbPath)
	wal, _ := os.ReadFile(dbPath + "-wal")
	outputs := map[string]string{"metrics": exposition, "database": string(dbBytes) + string(wal)}
	for _, f := range []string{"table", "markdown", "json", "csv", "html"} {
		_, out, _ := run(t, "", "report", "--db", dbPath, "--format", f, "--since", "100000h")
		outputs["report "+f] = out
	}
	for where, text := range outputs {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s holds the secret %q", where, s)
			}
		}
	}
	if !strings.Contains(outputs["report markdown"], "[email]") {
		t.Errorf("the report does not show the redaction:\n%s", outputs["report markdown"])
	}
}
