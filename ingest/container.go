package ingest

import (
	"bytes"
	"time"
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
		var d dockerFrame
		if parseDocker(line, &d) && d.hasTime {
			if _, ok := rfc3339Fast(d.time); ok {
				return FramingDocker
			}
		}
		return FramingNone
	}
	if c, ok := parseCRI(line); ok {
		if _, ok := rfc3339Fast(c.time); ok {
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
func (f Frame) Time() (time.Time, bool) { return rfc3339Fast(f.time) }

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
	drop   bool // counted in an earlier chunk (see Continue): dropped
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
//
// The unwrappers fill the caller's Frame: returned from one function to
// the next, a Frame is copied through memory at every line.
func (fr *Framer) Unwrap(raw []byte) (f Frame, ok bool) {
	switch fr.framing {
	case FramingCRI:
		ok = fr.unwrapCRI(raw, &f)
	case FramingDocker:
		ok = fr.unwrapDocker(raw, &f)
	default:
		f.Line, ok = raw, true
	}
	return f, ok
}

func (fr *Framer) unwrapCRI(raw []byte, f *Frame) bool {
	c, ok := parseCRI(raw)
	if !ok {
		*f = Frame{Line: raw}
		return true
	}
	h := &fr.held[c.stream-StreamStdout]
	if !c.partial && !h.active {
		// The common case: a whole line in one frame, returned in place.
		line := trimCR(c.content)
		if len(line) > fr.max {
			*f = Frame{Err: errFrameTooLong, Stream: c.stream, time: c.time}
			return true
		}
		*f = Frame{Line: line, Stream: c.stream, time: c.time}
		return true
	}
	h.start(c.time)
	h.add(c.content, fr.max)
	if c.partial {
		return false
	}
	return h.finish(c.stream, fr.max, f)
}

func (fr *Framer) unwrapDocker(raw []byte, f *Frame) bool {
	var d dockerFrame
	if !parseDocker(raw, &d) {
		*f = Frame{Line: raw}
		return true
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
			*f = Frame{Err: errFrameTooLong, Stream: d.stream, time: d.time}
			return true
		} else {
			fr.out = unescapeLog(fr.out[:0], text)
			line = fr.out
		}
		line = trimCR(line)
		if len(line) > fr.max {
			*f = Frame{Err: errFrameTooLong, Stream: d.stream, time: d.time}
			return true
		}
		*f = Frame{Line: line, Stream: d.stream, time: d.time}
		return true
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
		return false
	}
	h.buf = bytes.TrimSuffix(h.buf, []byte("\n"))
	return h.finish(d.stream, fr.max, f)
}

// start begins a held message unless one is under way.
func (h *held) start(t []byte) {
	if h.active {
		return
	}
	h.active, h.over, h.drop, h.buf = true, false, false, h.buf[:0]
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

// finish sets f to the held message and ends it, false for a dropped one
// (f untouched). Its Line stays valid until the next call, which may start
// a new message in the same buffer.
func (h *held) finish(s Stream, max int, f *Frame) bool {
	h.active = false
	if h.drop {
		h.drop, h.over, h.buf = false, false, h.buf[:0]
		return false
	}
	*f = Frame{Stream: s, time: h.time[:h.tlen]}
	if line := trimCR(h.buf); !h.over && len(line) <= max {
		f.Line = line
	} else {
		f.Err = errFrameTooLong
	}
	return true
}

// Continue tells the Framer that the lines it is about to read start
// inside a message of stream s that an earlier run of lines counted (a
// reader had to cut inside a message over MaxMessageBytes, see Boundary):
// the parts up to that message's end are dropped, and neither Unwrap nor
// Flush returns it again.
func (fr *Framer) Continue(s Stream) {
	if s != StreamStdout && s != StreamStderr {
		return
	}
	h := &fr.held[s-StreamStdout]
	h.active, h.over, h.drop, h.buf = true, true, true, h.buf[:0]
}

// Pending reports whether a message is held: some of its parts were read
// and its last part was not. A position committed while a message is
// pending would resume in the middle of it; see Boundary.
func (fr *Framer) Pending() bool { return fr.held[0].active || fr.held[1].active }

// Flush ends the held messages as they are, at the end of a file that
// will not grow (its runtime was stopped mid-message): it returns one of
// them per call, false when none is left. A message cut short is returned
// whole when it fits (the decoder may still read it), else as too long.
func (fr *Framer) Flush() (f Frame, ok bool) {
	for i := range fr.held {
		if h := &fr.held[i]; h.active && h.finish(Stream(i)+StreamStdout, fr.max, &f) {
			return f, true
		}
	}
	return Frame{}, false
}

// Reset drops the held messages, as when a file was truncated.
func (fr *Framer) Reset() {
	for i := range fr.held {
		fr.held[i].active, fr.held[i].over, fr.held[i].drop, fr.held[i].buf = false, false, false, fr.held[i].buf[:0]
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
	_, cut := f.walk([2]bool{}, data)
	return cut
}

// walk reads the frames of data's whole lines, from the streams open
// before them, and returns the streams open after them and the offset
// past the last line after which none was open.
func (f Framing) walk(open [2]bool, data []byte) (after [2]bool, cut int) {
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
	return open, cut
}

// Open returns, per stream (stdout, stderr), whether a message is left
// open after data's whole lines, given the streams open before them: where
// a reader that had to cut inside messages stands (see Continue).
func (f Framing) Open(before [2]bool, data []byte) [2]bool {
	if f == FramingNone {
		return before
	}
	open, _ := f.walk(before, data)
	return open
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
		var d dockerFrame
		ok := parseDocker(raw, &d)
		complete := len(d.log) >= 2 && d.log[len(d.log)-1] == 'n' && oddBackslashes(d.log[:len(d.log)-1])
		return d.stream, !complete, ok
	}
	return StreamUnknown, false, false
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}
