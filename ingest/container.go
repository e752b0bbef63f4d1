package ingest

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Container runtimes do not write an application's lines as they are: each
// line is wrapped in a frame that adds the stream and the runtime's time,
// and a long line is cut into parts. A Framer undoes that, so that the
// decoder sees the line the application printed.
//
// Docker's json-file driver writes one JSON object per part
// (https://docs.docker.com/engine/logging/drivers/json-file/):
//
//	{"log":"GET /x 200\n","stream":"stdout","time":"2019-01-01T11:11:11.111111111Z"}
//
// A message longer than 16 KiB comes as several objects; only the last one's
// log ends in "\n". CRI runtimes (containerd, CRI-O) write text lines
// (https://github.com/kubernetes/design-proposals-archive/blob/main/node/kubelet-cri-logging.md,
// read back by kubelet's pkg/kubelet/kuberuntime/logs):
//
//	2016-10-06T00:17:09.669794202Z stdout F the line
//	2016-10-06T00:17:09.669794203Z stdout P the first part of a long
//	2016-10-06T00:17:09.669794204Z stdout F  line
//
// where the tag is P for a part and F for the last (or only) part; the tag
// field may carry more tags after a colon ("F:x"). Parts of stdout and
// stderr may interleave, since the runtime copies each stream on its own,
// so parts are joined per stream.

// Framing is how a container runtime wraps the lines of a log file.
type Framing uint8

const (
	FramingNone   Framing = iota // plain lines, not wrapped
	FramingDocker                // Docker's json-file driver
	FramingCRI                   // the CRI log format (containerd, CRI-O)
)

// String returns "none", "docker" or "cri".
func (f Framing) String() string {
	switch f {
	case FramingDocker:
		return "docker"
	case FramingCRI:
		return "cri"
	}
	return "none"
}

// Stream is the output stream a container line was written to.
type Stream uint8

const (
	StreamUnknown Stream = iota // not framed, or a line the framing does not fit
	StreamStdout
	StreamStderr
)

// String returns "stdout", "stderr" or "".
func (s Stream) String() string {
	switch s {
	case StreamStdout:
		return "stdout"
	case StreamStderr:
		return "stderr"
	}
	return ""
}

// Detect tells the framing of a file from its first line. It is strict, so
// that a plain request log is never taken for a container log: a Docker
// frame is an object with a string log and a string time and no keys but
// log, stream, time and attrs; a CRI frame starts with an RFC 3339 time,
// stdout or stderr, and a P or F tag.
func Detect(line []byte) Framing {
	if len(line) > 0 && line[0] == '{' {
		if d, ok := parseDocker(line); ok && d.hasTime {
			if _, ok := parseRuntimeTime(d.time); ok {
				return FramingDocker
			}
		}
		return FramingNone
	}
	if c, ok := parseCRI(line); ok {
		if _, ok := parseRuntimeTime(c.time); ok {
			return FramingCRI
		}
	}
	return FramingNone
}

// Frame is one line as the application printed it, out of its container
// frame.
type Frame struct {
	// Line is the inner line without its line end, valid until the
	// Framer's next call: empty (maybe nil) for an empty line, nil when
	// Err is set.
	Line []byte
	// Err is set for a message over the line limit: a *DecodeError with
	// ReasonTooLong, to be counted as one malformed line.
	Err    error
	Stream Stream

	time []byte // the runtime's time, as written
}

// Time returns the runtime's time of the message (of its first part), the
// fallback when the inner line has no time of its own, and whether it had
// one that reads.
func (f Frame) Time() (time.Time, bool) { return parseRuntimeTime(f.time) }

// Framer takes a container log's lines in file order and returns the lines
// the application printed, joining parts. It holds at most about two
// MaxLine-sized buffers per stream: the joined text of a message over the
// limit is dropped as it comes, and the message is reported once, as too
// long, when its last part arrives.
//
// A Framer is not safe for concurrent use; use one per file (or per run of
// lines cut at a Boundary).
type Framer struct {
	framing Framing
	max     int
	held    [2]held // per stream: stdout, stderr
	out     []byte
}

// held is a message of one stream whose last part has not come yet.
type held struct {
	active bool
	over   bool // its text went over the limit: buf holds nothing more
	buf    []byte
	time   [40]byte // the first part's time
	tlen   int
}

// NewFramer returns a Framer for lines of framing f whose inner lines are
// at most maxLine bytes (without the line end); maxLine <= 0 means
// DefaultMaxLine.
func NewFramer(f Framing, maxLine int) *Framer {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	return &Framer{framing: f, max: maxLine}
}

// Framing returns the framing the Framer reads.
func (fr *Framer) Framing() Framing { return fr.framing }

var errFrameTooLong = &DecodeError{Reason: ReasonTooLong}

// Unwrap takes one line of the file, without its newline, and returns the
// inner line when this line completes one: false means the line was a part
// held for the next ones. A line that the framing does not fit (a stray
// plain line, a frame cut by a crash) is returned as it is, with
// StreamUnknown and no time, for the decoder to judge.
func (fr *Framer) Unwrap(raw []byte) (Frame, bool) {
	switch fr.framing {
	case FramingCRI:
		return fr.unwrapCRI(raw)
	case FramingDocker:
		return fr.unwrapDocker(raw)
	}
	return Frame{Line: raw}, true
}

func (fr *Framer) unwrapCRI(raw []byte) (Frame, bool) {
	c, ok := parseCRI(raw)
	if !ok {
		return Frame{Line: raw}, true
	}
	h := &fr.held[c.stream-StreamStdout]
	if !c.partial && !h.active {
		// The common case: a whole line in one frame, returned in place.
		line := trimCR(c.content)
		if len(line) > fr.max {
			return Frame{Err: errFrameTooLong, Stream: c.stream, time: c.time}, true
		}
		return Frame{Line: line, Stream: c.stream, time: c.time}, true
	}
	h.start(c.time)
	h.add(c.content, fr.max)
	if c.partial {
		return Frame{}, false
	}
	return h.finish(c.stream, fr.max), true
}

func (fr *Framer) unwrapDocker(raw []byte) (Frame, bool) {
	d, ok := parseDocker(raw)
	if !ok {
		return Frame{Line: raw}, true
	}
	// The log's text ends in an escaped newline when it ends a message.
	complete := len(d.log) >= 2 && d.log[len(d.log)-1] == 'n' && oddBackslashes(d.log[:len(d.log)-1])
	h := &fr.held[d.stream-StreamStdout]
	if complete && !h.active {
		text := d.log[:len(d.log)-2]
		var line []byte
		if !d.escaped || bytes.IndexByte(text, '\\') < 0 {
			line = text // no escapes but the newline: returned in place
		} else if len(text) > 6*(fr.max+1) {
			// Even if every byte were a \u escape the text could not fit.
			return Frame{Err: errFrameTooLong, Stream: d.stream, time: d.time}, true
		} else {
			fr.out = unescapeLog(fr.out[:0], text)
			line = fr.out
		}
		line = trimCR(line)
		if len(line) > fr.max {
			return Frame{Err: errFrameTooLong, Stream: d.stream, time: d.time}, true
		}
		return Frame{Line: line, Stream: d.stream, time: d.time}, true
	}
	h.start(d.time)
	if !h.over {
		if d.escaped {
			h.buf = unescapeLog(h.buf, d.log)
		} else {
			h.buf = append(h.buf, d.log...)
		}
		if len(h.buf) > fr.max+2 {
			h.over, h.buf = true, h.buf[:0]
		}
	}
	if !complete {
		return Frame{}, false
	}
	h.buf = bytes.TrimSuffix(h.buf, []byte("\n"))
	return h.finish(d.stream, fr.max), true
}

// start begins a held message unless one is under way.
func (h *held) start(t []byte) {
	if h.active {
		return
	}
	h.active, h.over, h.buf = true, false, h.buf[:0]
	h.tlen = copy(h.time[:], t)
}

// add appends a part's text, or drops it once the message is too long.
// The bound leaves room for a "\r" that trimCR takes off at the end.
func (h *held) add(b []byte, max int) {
	if h.over {
		return
	}
	if len(h.buf)+len(b) > max+1 {
		h.over, h.buf = true, h.buf[:0]
		return
	}
	h.buf = append(h.buf, b...)
}

// finish returns the held message and ends it. Its Line stays valid until
// the next call, which may start a new message in the same buffer.
func (h *held) finish(s Stream, max int) Frame {
	h.active = false
	f := Frame{Stream: s, time: h.time[:h.tlen]}
	if line := trimCR(h.buf); !h.over && len(line) <= max {
		f.Line = line
	} else {
		f.Err = errFrameTooLong
	}
	return f
}

// Pending reports whether a message is held: some of its parts were read
// and its last part was not. A position committed while a message is
// pending would resume in the middle of it; see Boundary.
func (fr *Framer) Pending() bool { return fr.held[0].active || fr.held[1].active }

// Flush ends the held messages as they are, at the end of a file that
// will not grow (its runtime was stopped mid-message): it returns one of
// them per call, false when none is left. A message cut short is returned
// whole when it fits (the decoder may still read it), else as too long.
func (fr *Framer) Flush() (Frame, bool) {
	for i := range fr.held {
		if h := &fr.held[i]; h.active {
			return h.finish(Stream(i)+StreamStdout, fr.max), true
		}
	}
	return Frame{}, false
}

// Reset drops the held messages, as when a file was truncated.
func (fr *Framer) Reset() {
	for i := range fr.held {
		fr.held[i].active, fr.held[i].over, fr.held[i].buf = false, false, fr.held[i].buf[:0]
	}
}

// Boundary returns the length of the longest prefix of data, a run of whole
// lines each ending in '\n', after which no message of framing f is held:
// a Framer fed that prefix from an empty state ends empty. It is 0 when
// every line of data belongs to an unfinished message (or data has no
// newline), and the index past data's last newline for FramingNone.
//
// This is where positions may be committed. A Framer's held parts live in
// memory only, so a position committed after a P part (or a Docker entry
// without its newline) would, after a restart, resume at the next part and
// count the message's tail as a line of its own, and its head would be
// lost. And since stdout and stderr interleave, a position must also not
// fall inside another stream's open message: re-reading from before that
// message's first part would count again the other stream's lines read in
// between. So a reader cuts its chunks at a Boundary, carries the rest to
// the next read, and commits each chunk's end: every committed position
// lies between whole messages of both streams, a restart never starts in
// the middle of one, and each chunk can be unwrapped by a Framer of its
// own (Pending is false at its end). A reader that carries at least
// MaxMessageBytes always finds a Boundary for messages within the limit;
// past that it may cut, and the Framer of the chunk reports the cut
// message with Flush.
func (f Framing) Boundary(data []byte) int {
	if f == FramingNone {
		return bytes.LastIndexByte(data, '\n') + 1
	}
	var open [2]bool
	cut := 0
	for off := 0; off < len(data); {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			break
		}
		s, partial, ok := frameState(f, data[off:off+i])
		off += i + 1
		if ok {
			open[s-StreamStdout] = partial
		}
		if !open[0] && !open[1] {
			cut = off
		}
	}
	return cut
}

// MaxMessageBytes is the most file bytes one message whose inner line
// fits maxLine can take in framing f: how much a reader must be able to
// carry to cut at a Boundary. Past it, the message is too long whatever
// follows, and a reader may cut inside it. Runtimes cut parts of at least
// 8 KiB (CRI-O; containerd and Docker 16 KiB), each part adding a frame
// (about 50 bytes for CRI, 100 for Docker), and Docker's escaping at most
// sixfold (\u0000).
func (f Framing) MaxMessageBytes(maxLine int) int {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	parts := maxLine/(8<<10) + 2
	switch f {
	case FramingCRI:
		return maxLine + parts*64
	case FramingDocker:
		return 6*maxLine + parts*128
	}
	return maxLine + 2
}

// frameState reads only what Boundary needs of a line: its stream and
// whether it leaves its message open.
func frameState(f Framing, raw []byte) (s Stream, partial, ok bool) {
	switch f {
	case FramingCRI:
		c, ok := parseCRI(bytes.TrimSuffix(raw, []byte("\r")))
		return c.stream, c.partial, ok
	case FramingDocker:
		d, ok := parseDocker(raw)
		complete := len(d.log) >= 2 && d.log[len(d.log)-1] == 'n' && oddBackslashes(d.log[:len(d.log)-1])
		return d.stream, !complete, ok
	}
	return StreamUnknown, false, false
}

// criFrame is a CRI line taken apart; the slices point into the line.
type criFrame struct {
	time, content []byte
	stream        Stream
	partial       bool
}

// parseCRI splits "<time> <stream> <tag> <content>". The content may be
// empty, with or without the space before it.
func parseCRI(b []byte) (criFrame, bool) {
	var c criFrame
	sp := bytes.IndexByte(b, ' ')
	if sp < 20 || sp > 40 || b[0] < '0' || b[0] > '9' {
		return c, false
	}
	c.time, b = b[:sp], b[sp+1:]
	switch {
	case len(b) > 7 && string(b[:7]) == "stdout ":
		c.stream = StreamStdout
	case len(b) > 7 && string(b[:7]) == "stderr ":
		c.stream = StreamStderr
	default:
		return c, false
	}
	b = b[7:]
	// The tag field: "P" or "F", possibly followed by ":"-separated tags.
	end := bytes.IndexByte(b, ' ')
	if end < 0 {
		end = len(b)
	}
	tag := b[:end]
	if len(tag) == 0 || (len(tag) > 1 && tag[1] != ':') {
		return c, false
	}
	switch tag[0] {
	case 'P':
		c.partial = true
	case 'F':
	default:
		return c, false
	}
	if end < len(b) {
		c.content = b[end+1:]
	}
	return c, true
}

// dockerFrame is a json-file line taken apart; the slices point into the
// line, log still escaped.
type dockerFrame struct {
	log, time []byte
	escaped   bool // log holds backslashes
	stream    Stream
	hasTime   bool
}

// parseDocker reads a json-file object: a string log (required), stream
// and time, and an attrs value that is skipped. Any other key means the
// line is not a Docker frame. It allocates nothing.
func parseDocker(b []byte) (dockerFrame, bool) {
	if d, ok := parseDockerTail(b); ok {
		return d, true
	}
	var d dockerFrame
	hasLog := false
	i := frameWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return d, false
	}
	i = frameWS(b, i+1)
	for {
		if i >= len(b) || b[i] != '"' {
			return d, false
		}
		kEnd, kEsc, ok := frameString(b, i)
		if !ok || kEsc {
			return d, false
		}
		key := b[i+1 : kEnd-1]
		i = frameWS(b, kEnd)
		if i >= len(b) || b[i] != ':' {
			return d, false
		}
		i = frameWS(b, i+1)
		if string(key) == "attrs" {
			if i = frameSkip(b, i); i < 0 {
				return d, false
			}
		} else {
			if i >= len(b) || b[i] != '"' {
				return d, false
			}
			vEnd, esc, ok := frameString(b, i)
			if !ok {
				return d, false
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
					return d, false
				}
			case "time":
				d.time, d.hasTime = v, true
			default:
				return d, false
			}
			i = vEnd
		}
		i = frameWS(b, i)
		if i >= len(b) {
			return d, false
		}
		switch b[i] {
		case ',':
			i = frameWS(b, i+1)
		case '}':
			if frameWS(b, i+1) != len(b) || !hasLog {
				return d, false
			}
			if d.stream == StreamUnknown {
				d.stream = StreamStdout // omitted only by other writers
			}
			return d, true
		default:
			return d, false
		}
	}
}

// parseDockerTail reads a json-file line as Docker writes it, keys in the
// order log, stream, time, by its fixed tail: the log's end is found from
// the line's end, so that its text is read once, by the unescape, not
// twice. A line in any other form is left to the general parser. The log
// text cannot hold the tail's bare quotes (they would end the string), so
// the last match is the real one; escaped is set without looking.
func parseDockerTail(b []byte) (dockerFrame, bool) {
	var d dockerFrame
	const head, timeKey, streamKey = `{"log":"`, `","time":"`, `","stream":"std???`
	if len(b) < len(head)+len(streamKey)+len(timeKey)+2 || string(b[:len(head)]) != head || string(b[len(b)-2:]) != `"}` {
		return d, false
	}
	t := bytes.LastIndex(b, []byte(timeKey))
	if t < len(head)+len(streamKey) || t+len(timeKey) > len(b)-2 {
		return d, false
	}
	d.time, d.hasTime = b[t+len(timeKey):len(b)-2], true
	if bytes.IndexByte(d.time, '"') >= 0 {
		return d, false
	}
	switch string(b[t-len(streamKey) : t]) {
	case `","stream":"stdout`:
		d.stream = StreamStdout
	case `","stream":"stderr`:
		d.stream = StreamStderr
	default:
		return d, false
	}
	d.log, d.escaped = b[len(head):t-len(streamKey)], true
	if oddBackslashes(d.log) {
		return d, false // the quote after the text is escaped: not its end
	}
	return d, true
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
//
// A JSON line logged as a string has an escape every few bytes (each of
// its quotes), where finding and copying the runs between them one call at
// a time costs more than the copy. So the text is copied 8 bytes at a
// time, each word tested for a backslash at once (the "has zero byte" bit
// trick); the text never grows when unescaped, so dst is grown once.
func unescapeLog(dst, s []byte) []byte {
	const ones, highs, backslashes = 0x0101010101010101, 0x8080808080808080, 0x5c5c5c5c5c5c5c5c
	n := len(dst)
	dst = slices.Grow(dst, len(s))[:n+len(s)]
	out := dst[n:]
	w := 0
	for i := 0; i < len(s); {
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
			w++
			break
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
			r, ok = frameHex4(s[i+2:])
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
				r2, ok = frameHex4(s[i+8:])
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
	return dst[:n+w]
}

// simpleEscapes maps the byte after a backslash to the byte it stands
// for; 0 for \u and for bytes that make no escape.
var simpleEscapes = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

func frameHex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

// parseRuntimeTime reads the runtimes' RFC 3339 times, with up to nine
// fraction digits and a Z or numeric zone (CRI-O writes local offsets),
// without allocating.
func parseRuntimeTime(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	digits := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	sec, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, false
	}
	rest := b[19:]
	nsec := 0
	if len(rest) > 0 && rest[0] == '.' {
		k := 1
		for k < len(rest) && rest[k] >= '0' && rest[k] <= '9' {
			if k <= 9 {
				nsec = nsec*10 + int(rest[k]-'0')
			}
			k++
		}
		if k == 1 {
			return time.Time{}, false
		}
		for d := min(k-1, 9); d < 9; d++ {
			nsec *= 10
		}
		rest = rest[k:]
	}
	offset := 0
	switch {
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := digits(rest[1:3])
		om, ok2 := digits(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = oh*3600 + om*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}
