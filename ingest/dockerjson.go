package ingest

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"
	"unicode/utf16"
	"unicode/utf8"
)

// Docker's json-file lines (see container.go), read without encoding/json:
// one object per line, the log text unescaped in one pass.

// dockerFrame is a json-file line taken apart; the slices point into the
// line, log still escaped.
type dockerFrame struct {
	log, time []byte
	escaped   bool // log holds backslashes
	stream    Stream
	hasTime   bool
}

// parseDocker reads a json-file object into d: a string log (required),
// stream and time, and an attrs value that is skipped. Any other key
// means the line is not a Docker frame. It allocates nothing, and fills
// the caller's d rather than returning one, which would be copied at
// every line.
func parseDocker(b []byte, d *dockerFrame) bool {
	if parseDockerTail(b, d) {
		return true
	}
	*d = dockerFrame{}
	hasLog := false
	i := frameWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = frameWS(b, i+1)
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		kEnd, kEsc, ok := frameString(b, i)
		if !ok || kEsc {
			return false
		}
		key := b[i+1 : kEnd-1]
		i = frameWS(b, kEnd)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = frameWS(b, i+1)
		if string(key) == "attrs" {
			if i = frameSkip(b, i); i < 0 {
				return false
			}
		} else {
			if i >= len(b) || b[i] != '"' {
				return false
			}
			vEnd, esc, ok := frameString(b, i)
			if !ok {
				return false
			}
			v := b[i+1 : vEnd-1]
			switch string(key) {
			case "log":
				d.log, d.escaped, hasLog = v, esc, true
			case "stream":
				switch string(v) {
				case "stdout":
					d.stream = StreamStdout
				case "stderr":
					d.stream = StreamStderr
				default:
					return false
				}
			case "time":
				d.time, d.hasTime = v, true
			default:
				return false
			}
			i = vEnd
		}
		i = frameWS(b, i)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = frameWS(b, i+1)
		case '}':
			if frameWS(b, i+1) != len(b) || !hasLog {
				return false
			}
			if d.stream == StreamUnknown {
				d.stream = StreamStdout // omitted only by other writers
			}
			return true
		default:
			return false
		}
	}
}

// parseDockerTail reads a json-file line as Docker writes it, keys in the
// order log, stream, time, by its fixed tail: the log's end is found from
// the line's end, so that its text is read once, by the unescape, not
// twice. A line in any other form is left to the general parser. The log
// text cannot hold the tail's bare quotes (they would end the string), so
// the last match is the real one; escaped is set without looking.
func parseDockerTail(b []byte, d *dockerFrame) bool {
	const head, timeKey, streamKey = `{"log":"`, `","time":"`, `","stream":"std???`
	if len(b) < len(head)+len(streamKey)+len(timeKey)+2 || string(b[:len(head)]) != head || string(b[len(b)-2:]) != `"}` {
		return false
	}
	// The time holds no quote: the last quote before the closing `"}`
	// opens it, and its key comes just before.
	q := lastQuote(b[:len(b)-2])
	t := q + 1 - len(timeKey)
	if q < 0 || t < len(head)+len(streamKey) || string(b[t:q+1]) != timeKey {
		return false
	}
	d.time, d.hasTime = b[q+1:len(b)-2], true
	switch string(b[t-len(streamKey) : t]) {
	case `","stream":"stdout`:
		d.stream = StreamStdout
	case `","stream":"stderr`:
		d.stream = StreamStderr
	default:
		return false
	}
	d.log, d.escaped = b[len(head):t-len(streamKey)], true
	if oddBackslashes(d.log) {
		return false // the quote after the text is escaped: not its end
	}
	return true
}

// lastQuote is bytes.LastIndexByte(b, '"') 8 bytes a step (that one
// tests a byte a step): a json-file line's time, the last string, is
// about 30 bytes.
func lastQuote(b []byte) int {
	const quotes, lows, highs = 0x2222222222222222, 0x7f7f7f7f7f7f7f7f, 0x8080808080808080
	i := len(b)
	for ; i >= 8; i -= 8 {
		x := binary.LittleEndian.Uint64(b[i-8:]) ^ quotes
		// The high bit of each byte of x that is zero, exactly (no
		// borrow runs between bytes), so that the highest is right.
		if z := ^(((x & lows) + lows) | x) & highs; z != 0 {
			return i - 8 + (63-bits.LeadingZeros64(z))>>3
		}
	}
	return bytes.LastIndexByte(b[:i], '"')
}

func frameWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// frameString returns the index past the JSON string opening at b[i] and
// whether it holds a backslash. Each quote found by the vectorized search
// is checked for the backslashes before it.
func frameString(b []byte, i int) (end int, escaped, ok bool) {
	start := i + 1
	for j := start; ; {
		q := bytes.IndexByte(b[j:], '"')
		if q < 0 {
			return 0, false, false
		}
		j += q
		if !escaped {
			escaped = bytes.IndexByte(b[start:j], '\\') >= 0
		}
		if !escaped || !oddBackslashes(b[start:j]) {
			return j + 1, escaped, true
		}
		j++
	}
}

// oddBackslashes reports whether b ends in an odd run of backslashes: the
// byte after b is escaped.
func oddBackslashes(b []byte) bool {
	n := 0
	for k := len(b) - 1; k >= 0 && b[k] == '\\'; k-- {
		n++
	}
	return n%2 == 1
}

// frameSkip returns the index past the JSON value at b[i] (the attrs
// object of a json-file line), or -1. It checks only that strings close
// and brackets balance.
func frameSkip(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			end, _, ok := frameString(b, i)
			if !ok {
				return -1
			}
			i = end
		case '{', '[':
			if depth++; depth > maxFrameNesting {
				return -1
			}
			i++
		case '}', ']':
			if depth == 0 {
				return i // a scalar ended by its object's end
			}
			depth--
			i++
		case ',':
			if depth == 0 {
				return i
			}
			i++
		default:
			i++
		}
		if depth == 0 && (b[i-1] == '"' || b[i-1] == '}' || b[i-1] == ']') {
			return i
		}
	}
	return -1
}

const maxFrameNesting = 64

// unescapeLog appends the JSON string text s to dst with its escapes
// undone: \" \\ \/ \b \f \n \r \t and \uXXXX, a surrogate pair as one
// rune, a lone surrogate as U+FFFD. A malformed escape is kept as written.
// The text never grows when unescaped, so dst is grown once.
//
// A JSON line logged as a string has an escape every few bytes (each of
// its quotes, and each quote of a body string in it is \\\"), too many
// to find and copy the runs between them one at a time. Where the CPU has
// AVX-512, unescapeBlocks takes 64 bytes a step: it finds the backslashes
// that open escapes, replaces the escaped bytes and drops the backslashes
// in a few instructions, whatever their number; a block with a \u (or a
// malformed escape) is left to unescapeWords, as is all of s elsewhere.
func unescapeLog(dst, s []byte) []byte {
	n := len(dst)
	dst = slices.Grow(dst, len(s))[:n+len(s)]
	out := dst[n:]
	i, w := 0, 0
	for vectorUnescape && i < len(s) {
		di, dw := unescapeBlocks(out[w:], s[i:])
		i, w = i+di, w+dw
		// Stopped before a block it does not take: that block by words.
		i, w = unescapeWords(out, s, i, w, min(i+64, len(s)))
	}
	_, w = unescapeWords(out, s, i, w, len(s))
	return dst[:n+w]
}

// unescapeWords unescapes s[i:] into out[w:] from a byte where no escape
// is open until it has read past stop (a little further, up to the end of
// a word or an escape), and returns where it stopped in both; out has
// room for len(s) bytes. The text is copied 8 bytes at a time, each word
// tested for a backslash at once (the "has zero byte" bit trick).
func unescapeWords(out, s []byte, i, w, stop int) (int, int) {
	const ones, highs, backslashes = 0x0101010101010101, 0x8080808080808080, 0x5c5c5c5c5c5c5c5c
	for i < stop {
		if i+8 <= len(s) {
			// w <= i, so out has room for the whole word.
			x := binary.LittleEndian.Uint64(s[i:])
			binary.LittleEndian.PutUint64(out[w:], x)
			v := x ^ backslashes
			m := (v - ones) &^ v & highs
			if m == 0 {
				i, w = i+8, w+8
				continue
			}
			k := bits.TrailingZeros64(m) >> 3 // the first backslash: exact
			i, w = i+k, w+k
		} else if c := s[i]; c != '\\' {
			out[w] = c
			i, w = i+1, w+1
			continue
		}
		c := s[i] // a backslash
		if i+1 == len(s) {
			out[w] = c
			return i + 1, w + 1
		}
		e := s[i+1]
		if o := simpleEscapes[e]; o != 0 {
			// \" \\ and the like, the most of them: no switch to
			// mispredict. Escapes come in runs (\\\" in a JSON string
			// inside the line), so a following one is taken at once.
			out[w] = o
			i, w = i+2, w+1
			for i+1 < len(s) && s[i] == '\\' {
				if o = simpleEscapes[s[i+1]]; o == 0 {
					break
				}
				out[w] = o
				i, w = i+2, w+1
			}
			continue
		}
		r, ok := rune(0), false
		if e == 'u' {
			r, ok = hex4(s[i+2:])
		}
		if !ok {
			out[w], out[w+1] = c, e // a malformed escape, kept
			i, w = i+2, w+2
			continue
		}
		adv := 6
		if utf16.IsSurrogate(r) {
			r2, ok := rune(0), false
			if len(s) >= i+12 && s[i+6] == '\\' && s[i+7] == 'u' {
				r2, ok = hex4(s[i+8:])
			}
			if d := utf16.DecodeRune(r, r2); ok && d != utf8.RuneError {
				r, adv = d, 12
			} else {
				r = utf8.RuneError
			}
		}
		w += utf8.EncodeRune(out[w:], r)
		i += adv
	}
	return i, w
}

// simpleEscapes maps the byte after a backslash to the byte it stands
// for; 0 for \u and for bytes that make no escape.
var simpleEscapes = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}
