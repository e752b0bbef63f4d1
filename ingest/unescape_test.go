package ingest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// unescapeByWords is unescapeLog without the 64-byte blocks: the reference
// the blocks must agree with on any input.
func unescapeByWords(s []byte) []byte {
	out := make([]byte, len(s))
	_, w := unescapeWords(out, s, 0, 0, len(s))
	return out[:w]
}

// checkUnescape compares unescapeLog on s with the word-by-word path and,
// where s is a JSON string's text encoding/json reads, with encoding/json.
func checkUnescape(t *testing.T, s []byte) {
	t.Helper()
	got := unescapeLog([]byte("prefix"), s)
	if !bytes.HasPrefix(got, []byte("prefix")) {
		t.Fatalf("unescapeLog lost dst's prefix: %q", got)
	}
	got = got[len("prefix"):]
	if want := unescapeByWords(s); !bytes.Equal(got, want) {
		t.Fatalf("unescapeLog(%q)\n = %q,\nwant %q (word by word)", s, got, want)
	}
	var ref string
	if !utf8.Valid(s) || json.Unmarshal([]byte(`"`+string(s)+`"`), &ref) != nil {
		return // raw invalid UTF-8 is kept as it is, where encoding/json puts U+FFFD
	}
	if string(got) != ref {
		t.Fatalf("unescapeLog(%q)\n = %q,\nwant %q (encoding/json)", s, got, ref)
	}
}

// TestUnescapeLog: escapes at every offset of the 64-byte blocks, runs of
// backslashes across a block's end, \u escapes and malformed escapes
// among blocks, and text with no escape.
func TestUnescapeLog(t *testing.T) {
	t.Logf("64-byte blocks: %v", vectorUnescape)
	line := `{"method":"POST","url":"https://api.example.org/v1","status":422,"response_body":"{\"error\":{\"message\":\"tab\\there\"}}"}`
	quoted, _ := json.Marshal(line)
	inner := quoted[1 : len(quoted)-1]
	cases := map[string][]byte{
		"Plain":             []byte(strings.Repeat("abcdefgh", 20)),
		"DockerLine":        bytes.Repeat(inner, 5),
		"Unicode":           []byte(strings.Repeat(`\u003chtml\u003e \ud83d\ude00 é `, 10)),
		"LoneSurrogate":     []byte(strings.Repeat(`x\ud800y`, 30)),
		"Malformed":         []byte(strings.Repeat(`a\qb\u12zz\`, 20)),
		"ControlEscapes":    []byte(strings.Repeat(`\b\f\n\r\t\/\\\"`, 20)),
		"TrailingBackslash": []byte(strings.Repeat("x", 100) + `\`),
		"HighBytes":         []byte(strings.Repeat("\\\xe2\x80\xa2\\\"", 30)),
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) { checkUnescape(t, s) })
	}
	// A run of 1 to 5 backslashes ending at every offset around the
	// first and second blocks' ends, then an escaped byte, a \u escape,
	// a malformed escape or the end of the text.
	for _, after := range []string{`"` + strings.Repeat("b", 80), `u00e9` + strings.Repeat("b", 80), `x`, ``} {
		for n := 1; n <= 5; n++ {
			for at := 56; at <= 136; at++ {
				s := []byte(strings.Repeat("a", at-n) + strings.Repeat(`\`, n) + after)
				checkUnescape(t, s)
			}
		}
	}
}

// FuzzUnescapeLog compares unescapeLog with encoding/json and with the
// word-by-word path, on the input and on the input repeated past several
// 64-byte blocks (so that escapes fall on every offset of a block).
func FuzzUnescapeLog(f *testing.F) {
	f.Add([]byte(`\"method\":\"GET\",\"response_body\":\"{\\\"code\\\":1}\"`))
	f.Add([]byte(`\u003c\ud83d\ude00\n\t\\`))
	f.Add([]byte(`a\\\\\"b`))
	f.Add([]byte("\\\x80"))
	f.Fuzz(func(t *testing.T, s []byte) {
		if got, want := lastQuote(s), bytes.LastIndexByte(s, '"'); got != want {
			t.Fatalf("lastQuote(%q)=%d, want %d", s, got, want)
		}
		checkUnescape(t, s)
		if len(s) > 0 {
			checkUnescape(t, bytes.Repeat(s, 300/len(s)+1))
		}
	})
}

// BenchmarkUnescapeLog: the log text of a Docker line holding a request
// line with a JSON body, by 64-byte blocks (where the CPU has them) and
// word by word.
func BenchmarkUnescapeLog(b *testing.B) {
	line := `{"ts":"2026-11-28T09:57:47.801Z","method":"GET","url":"https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json","status":200,"duration_ms":84,"response_body":"{\"data\":[{\"id\":431445,\"type\":\"stock\",\"amount\":39106},{\"id\":340495,\"type\":\"invoice\",\"amount\":11528},{\"id\":186258,\"type\":\"stock\",\"amount\":79947},{\"id\":138287,\"type\":\"member\",\"amount\":92790}],\"meta\":{}}"}`
	quoted, _ := json.Marshal(line)
	s := quoted[1 : len(quoted)-1]
	out := make([]byte, 0, len(s))
	b.Run("Blocks", func(b *testing.B) {
		b.SetBytes(int64(len(s)))
		for b.Loop() {
			out = unescapeLog(out[:0], s)
		}
	})
	b.Run("Words", func(b *testing.B) {
		b.SetBytes(int64(len(s)))
		out = out[:len(s)]
		for b.Loop() {
			unescapeWords(out, s, 0, 0, len(s))
		}
	})
}

// TestLastQuote: the last quote at every offset of the 8-byte steps, with
// bytes around it that a borrow between bytes would mistake for a quote.
func TestLastQuote(t *testing.T) {
	for n := 0; n <= 40; n++ {
		for q := -1; q < n; q++ {
			b := bytes.Repeat([]byte{'#'}, n) // '"'+1: a borrow's false match
			for i := range b {
				if i%3 == 0 {
					b[i] = '!' // '"'-1
				}
			}
			if q >= 0 {
				b[q] = '"'
				if q > 2 {
					b[q/2] = '"'
				}
			}
			if got, want := lastQuote(b), bytes.LastIndexByte(b, '"'); got != want {
				t.Fatalf("lastQuote(%q)=%d, want %d", b, got, want)
			}
		}
	}
}
