package ingest

import (
	"bytes"
)

// The CRI log format: "<time> <stream> <tag> <content>" (see container.go).

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
