package ingest

import (
	"math"
	"strconv"
	"time"
)

// Layouts tried, in order, for string timestamps that are not epoch numbers
// and not the common RFC 3339 form the fast path reads.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",       // no zone: UTC
	"2006-01-02 15:04:05.999999999Z07:00", // space instead of T
	"2006-01-02 15:04:05.999999999",
	"02/Jan/2006:15:04:05 -0700", // common log format
	time.RFC1123Z,
	time.RFC1123,
}

// parseTime reads a timestamp: RFC 3339 (and close relatives), or epoch
// seconds, milliseconds, microseconds or nanoseconds as a number or a string.
// The epoch unit is told by magnitude, which is unambiguous for any date
// between 1973 and 5138. b is the value's text.
func parseTime(v jsonValue, b []byte) (time.Time, bool) {
	switch v.kind {
	case '0':
		return epochText(b)
	case '"':
		if len(b) > 0 && (b[0] >= '0' && b[0] <= '9') && len(b) < 36 {
			if t, ok := rfc3339Fast(b); ok {
				return t, true
			}
			if t, ok := epochText(b); ok {
				return t, true
			}
		}
		s := string(b)
		for _, layout := range timeLayouts {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC(), true
			}
		}
	}
	return time.Time{}, false
}

func epochText(b []byte) (time.Time, bool) {
	if n, ok := atoi(b); ok {
		return epoch(float64(n), n)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return time.Time{}, false
	}
	return epoch(f, -1)
}

// minEpoch is March 1973: a smaller number is no time of an API call but a
// duration (HAR's "time" is milliseconds) or a counter.
const minEpoch = 1e8

// epoch converts an epoch number; exact is its integer value, or -1.
func epoch(f float64, exact int64) (time.Time, bool) {
	a := math.Abs(f)
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0) || f < minEpoch:
		return time.Time{}, false
	case a < 1e11: // seconds
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
	case a < 1e14: // milliseconds
		if exact >= 0 {
			return time.UnixMilli(exact).UTC(), true
		}
		return time.UnixMicro(int64(f * 1e3)).UTC(), true
	case a < 1e17: // microseconds
		return time.UnixMicro(int64(f)).UTC(), true
	case a < 1e20: // nanoseconds
		if exact >= 0 {
			return time.Unix(0, exact).UTC(), true
		}
		return time.Unix(0, int64(f)).UTC(), true
	}
	return time.Time{}, false
}

// rfc3339Fast reads RFC 3339 times with up to nine fraction digits and a
// Z or numeric zone (2006-01-02T15:04:05.000Z; CRI-O writes local
// offsets) without allocating: the loggers' and the runtimes' common form.
func rfc3339Fast(b []byte) (time.Time, bool) {
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
