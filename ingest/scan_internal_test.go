package ingest

import (
	"encoding/json"
	"strings"
	"testing"
)

// scanString finds the end of a string as encoding/json does, whatever
// the escapes and wherever they fall in its eight-byte steps.
func TestScanString(t *testing.T) {
	inner := []string{``, `a`, `\"`, `\\`, `\\\"`, `x\\`, `\u00e9\"\\\/`, `{\"data\":[{\"id\":902081,\"type\":\"member\"}]}`,
		strings.Repeat(`\\`, 9), strings.Repeat(`a\"`, 11), strings.Repeat("é", 13) + `\"`}
	for _, in := range inner {
		for pad := range 9 {
			s := `"` + strings.Repeat("p", pad) + in + `"`
			line := s + `,"next":"v"}`
			end, escaped, err := scanString([]byte(line), 0)
			var got string
			if jerr := json.Unmarshal([]byte(s), &got); jerr != nil {
				t.Fatalf("bad case %q: %v", s, jerr)
			}
			if err != nil || end != len(s) || escaped != strings.Contains(s, `\`) {
				t.Errorf("scanString(%q) = %d, %v, %v; want %d, %v", line, end, escaped, err, len(s), strings.Contains(s, `\`))
			}
		}
	}
	for _, bad := range []string{`"abc`, `"a\"`, `"` + strings.Repeat(`\"`, 20), `"abcdefghijk\\\"`} {
		if _, _, err := scanString([]byte(bad), 0); err == nil {
			t.Errorf("scanString(%q): no error for an unclosed string", bad)
		}
	}
}

// FuzzScanString compares scanString's end of a string with
// encoding/json's on any input.
func FuzzScanString(f *testing.F) {
	f.Add(`"{\"a\":1}"`)
	f.Add(`"\\\\\"x"`)
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) == 0 || s[0] != '"' {
			return
		}
		end, _, err := scanString([]byte(s), 0)
		dec := json.NewDecoder(strings.NewReader(s))
		var v string
		jerr := dec.Decode(&v)
		if jerr == nil && (err != nil || int64(end) != dec.InputOffset()) {
			t.Fatalf("scanString(%q) = %d, %v; encoding/json ends at %d", s, end, err, dec.InputOffset())
		}
	})
}

// BenchmarkScanString scans a response body logged as a JSON string, the
// decoder's commonest long value.
func BenchmarkScanString(b *testing.B) {
	body, _ := json.Marshal(`{"data":[{"id":902081,"type":"member","amount":54425},{"id":122540,"type":"invoice","amount":3300},{"id":410694,"type":"product","amount":28162},{"id":431445,"type":"stock","amount":39106},{"id":340495,"type":"invoice","amount":11528}],"meta":{}}`)
	line := append(body, `,"status":200}`...)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if end, _, err := scanString(line, 0); err != nil || end != len(body) {
			b.Fatal(end, err)
		}
	}
}
