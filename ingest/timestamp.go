package ingest

import (
	"math"
	"strconv"
	"time"

	"github.com/valyala/fastjson"
)

// Layouts tried, in order, for string timestamps that are not epoch numbers.
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
// between 1973 and 5138.
func parseTime(v *fastjson.Value) (time.Time, bool) {
	switch v.Type() {
	case fastjson.TypeNumber:
		f, err := v.Float64()
		if err != nil {
			return time.Time{}, false
		}
		return epoch(f)
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		s := string(b)
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return epoch(f)
		}
		for _, layout := range timeLayouts {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC(), true
			}
		}
	}
	return time.Time{}, false
}

func epoch(f float64) (time.Time, bool) {
	a := math.Abs(f)
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0) || f <= 0:
		return time.Time{}, false
	case a < 1e11: // seconds
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
	case a < 1e14: // milliseconds
		return time.UnixMicro(int64(f * 1e3)).UTC(), true
	case a < 1e17: // microseconds
		return time.UnixMicro(int64(f)).UTC(), true
	case a < 1e20: // nanoseconds
		return time.Unix(0, int64(f)).UTC(), true
	}
	return time.Time{}, false
}
