package ingest

import (
	"bytes"
	"time"
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
