package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestConfig_Example loads etc/apierr.yaml, which documents every key.
func TestConfig_Example(t *testing.T) {
	c, err := ReadConfigFile("../../etc/apierr.yaml")
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultConfig()
	switch {
	case c.DB != "/var/lib/apierr/apierr.db":
		t.Errorf("DB=%q", c.DB)
	case len(c.Inputs) != 1 || c.Inputs[0].Paths[0] != "/var/log/egress/*.jsonl*":
		t.Errorf("Inputs=%+v", c.Inputs)
	case c.FlushInterval != def.FlushInterval || c.Retention != def.Retention || c.RollupAfter != def.RollupAfter:
		t.Errorf("durations %v %v %v differ from the defaults", c.FlushInterval, c.Retention, c.RollupAfter)
	case c.Limits != def.Limits || c.Summary != def.Summary || c.MetricsListen != def.MetricsListen || c.VendorsDir != def.VendorsDir:
		t.Errorf("%+v differs from the defaults %+v", c, def)
	}
}

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig(strings.NewReader("inputs:\n  - paths: [/var/log/a.jsonl]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(c.FlushInterval) != 2*time.Second || len(c.Inputs) != 1 {
		t.Fatalf("two-line config: %+v", c)
	}
	c, err = ParseConfig(strings.NewReader("retention: 7d\nlimits: {line_bytes: 64KiB}\ninputs: [{paths: [a], format: {status: res.code}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(c.Retention) != 7*24*time.Hour || c.Limits.LineBytes != 64<<10 || c.Limits.Vendors != 1000 || c.Inputs[0].Format.Fields["status"][0] != "res.code" {
		t.Fatalf("got %+v", c)
	}
	c, err = ParseConfig(strings.NewReader(`inputs:
  - paths: /var/log/app/*.log
    format: {status: [resp.code, http_status], latency: "took:s", headers: [resp.headers, "origin_*"]}
    service: checkout
    match: {msg: "outbound request", logger: "/^httpx?$/"}
    text: skip
host: web-1
`))
	if err != nil {
		t.Fatal(err)
	}
	in := c.Inputs[0]
	if c.Host != "web-1" || len(in.Paths) != 1 || in.Service != "checkout" || len(in.Format.Fields["status"]) != 2 {
		t.Fatalf("got %+v", c)
	}
	m, err := in.Mapping()
	if err != nil {
		t.Fatal(err)
	}
	if !m.SkipText || len(m.Match) != 2 || m.Match[0].Regexp == nil || m.Match[1].Value != "outbound request" {
		t.Fatalf("mapping Match=%+v SkipText=%v", m.Match, m.SkipText)
	}
	if h, _ := os.Hostname(); DefaultConfig().Host != h {
		t.Fatalf("default host %q, want %q", DefaultConfig().Host, h)
	}
	for _, tc := range []struct{ name, in, want string }{
		{"ErrUnknownKey", "flush_intervall: 2s\n", `line 1: unknown key "flush_intervall" (did you mean "flush_interval"?)`},
		{"ErrNestedUnknownKey", "summary: {evry: 1h}\n", `summary: unknown key "evry" (did you mean "every"?)`},
		{"ErrUnknownKeyFar", "colour: red\n", `unknown key "colour" (known keys: db, inputs,`},
		{"ErrInputKey", "inputs: [{paths: [a], servce: x}]\n", `inputs[0]: unknown key "servce" (did you mean "service"?)`},
		{"ErrTypeInt", "limits: {vendors: lots}\n", `line 1: limits.vendors: want a whole number, got "lots"`},
		{"ErrTypeList", "inputs: {paths: a}\n", `inputs: want a list, got a mapping`},
		{"ErrTypeString", "db: [a, b]\n", `db: want a string, got a list`},
		{"ErrTypeMatch", "inputs: [{paths: [a], match: yes}]\n", `inputs[0].match: want a mapping`},
		{"ErrFormatPaths", "inputs: [{paths: [a], format: {status: {a: b}}}]\n", `status: want a path or a list of paths`},
		{"ErrLatencyUnit", "inputs: [{paths: [a], format: {latency: \"took:h\"}}]\n", `inputs[0].format: field latency: unknown latency unit "h"`},
		{"ErrMatchRegexp", "inputs: [{paths: [a], match: {msg: \"/(/\"}}]\n", `inputs[0].match msg`},
		{"ErrText", "inputs: [{paths: [a], text: drop}]\n", `inputs[0].text: want skip, got "drop"`},
		{"ErrDuration", "retention: forever\n", `bad duration "forever"`},
		{"ErrSize", "limits: {line_bytes: huge}\n", `bad size "huge"`},
		{"ErrFormat", "inputs: [{paths: [a], format: xml}]\n", `inputs[0].format: want auto or a field mapping, got "xml"`},
		{"ErrFormatField", "inputs: [{paths: [a], format: {colour: x}}]\n", `inputs[0].format: unknown field "colour"`},
		{"ErrNoPaths", "inputs: [{format: auto}]\n", "inputs[0].paths"},
		{"ErrGlob", "inputs: [{paths: [\"[\"]}]\n", "bad glob"},
		{"ErrZeroFlush", "flush_interval: 0s\n", "flush_interval: must be above 0"},
		{"ErrLogLevel", "log_level: loud\n", "log_level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err=%v, want %q", err, tc.want)
			}
		})
	}
}

// FuzzParseConfig: no config file panics the loader; an accepted one
// validates.
func FuzzParseConfig(f *testing.F) {
	data, _ := os.ReadFile("../../etc/apierr.yaml")
	f.Add(data)
	f.Add([]byte("inputs: [{paths: [a], format: {status: x.y, latency: \"t:ns\"}}]\nretention: 1.5d\nlimits: {line_bytes: 1GiB}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(bytes.NewReader(data))
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted a config that does not validate: %v", err)
		}
	})
}

// TestConfig_InputSettings: ingest and classify decode each file with the
// settings of the config input whose globs match it, and ingest with no
// file reads every input's files once.
func TestConfig_InputSettings(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	// Input 0: a shape of its own, mapped; lines of other kinds between.
	os.MkdirAll(dir+"/a", 0o755)
	os.MkdirAll(dir+"/b", 0o755)
	os.WriteFile(dir+"/a/calls.log", []byte(
		`{"at":"`+now+`","msg":"outbound","verb":"GET","to":"https://api.voucherify.io/v1/x","rc":[503]}`+"\n"+
			`{"at":"`+now+`","msg":"outbound","verb":"GET","to":"https://api.voucherify.io/v1/x","res":{"rc":404}}`+"\n"+
			`{"at":"`+now+`","msg":"cache miss","verb":"GET"}`+"\n"+
			"Traceback (most recent call last):\n"), 0o644)
	// Input 1: auto, whose files must not get input 0's mapping.
	os.WriteFile(dir+"/b/flat.jsonl", []byte(`{"ts":"`+now+`","method":"GET","url":"https://acme.picqer.com/api/v1/orders","status":500}`+"\n"), 0o644)
	cfg := dir + "/apierr.yaml"
	os.WriteFile(cfg, []byte(`db: `+dir+`/apierr.db
inputs:
  - paths: "`+dir+`/a/*.log"
    format: {time: at, method: verb, url: to, status: [rc, res.rc]}
    match: {msg: outbound}
    text: skip
  - paths: ["`+dir+`/b/*.jsonl"]
`), 0o644)

	code, out, errs := run(t, "", "classify", "--config", cfg, dir+"/a/calls.log")
	if code != 0 {
		t.Fatalf("classify: exit %d: %s", code, errs)
	}
	want := []string{`"line":1,"malformed":true,"reason":"bad status"`, `"line":2,"error":true,"vendor":"voucherify","code":"http_404"`,
		`{"line":3,"skipped":true,"reason":"not matched"}`, `{"line":4,"skipped":true,"reason":"text line"}`}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("classify: no %s in:\n%s", w, out)
		}
	}
	if code, out, _ := run(t, "", "classify", "--config", cfg, dir+"/b/flat.jsonl"); code != 0 || !strings.Contains(out, `"vendor":"picqer","code":"http_500"`) {
		t.Errorf("classify of input 1's file: exit %d:\n%s", code, out)
	}

	code, _, errs = run(t, "", "ingest", "--config", cfg)
	if code != 0 || !strings.Contains(errs, "ingested 5 lines") || !strings.Contains(errs, "2 requests, 2 errors, 1 malformed") {
		t.Fatalf("ingest with no file: exit %d: %s", code, errs)
	}
	code, _, errs = run(t, "", "ingest", "--config", cfg)
	if code != 0 || !strings.Contains(errs, "ingested 0 lines") {
		t.Fatalf("ingest again: exit %d: %s", code, errs)
	}
}

// TestClassifyCommand_Records: a line that carries several records (an
// OTLP/JSON export) prints one object per record, with the line's number.
func TestClassifyCommand_Records(t *testing.T) {
	code, out, errs := run(t, "", "classify", "../../testdata/classify/shapes/otlp.jsonl")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	perLine := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		n, _, _ := strings.Cut(strings.TrimPrefix(l, `{"line":`), ",")
		perLine[n]++
	}
	if len(perLine) >= strings.Count(out, "\n") {
		t.Fatalf("no line printed several records:\n%s", out)
	}
}

// TestConfigFlag: --config defaults to $APIERR_CONFIG, else the system
// config when it exists, else none.
func TestConfigFlag(t *testing.T) {
	dir := t.TempDir()
	sys := dir + "/apierr.yaml"
	old := systemConfig
	t.Cleanup(func() { systemConfig = old })
	systemConfig = sys
	env := map[string]string{}
	check := func(want string) {
		t.Helper()
		var out bytes.Buffer
		m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Getenv: func(k string) string { return env[k] }}
		if code := m.ExitCode(m.Run(context.Background(), []string{"check"})); code != 0 {
			t.Fatalf("exit %d: %s", code, out.String())
		}
		if !strings.Contains(out.String(), want) {
			t.Fatalf("want %q in:\n%s", want, out.String())
		}
	}
	check("Config: none given")
	os.WriteFile(sys, []byte("db: "+dir+"/a.db\n"), 0o644)
	check("Config: " + sys)
	env["APIERR_CONFIG"] = dir + "/other.yaml"
	os.WriteFile(env["APIERR_CONFIG"], []byte("log_level: debug\n"), 0o644)
	check("Config: " + dir + "/other.yaml")
}
