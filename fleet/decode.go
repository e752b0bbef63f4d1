package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// This file asks the engine's query endpoints and decodes their answers
// itself. The client's own decoding goes through reflection and a map
// per series with each label name validated; at fleet scale (thousands
// of series per answer) that cost more than the engine's evaluation.
// Here one pass over the body reads each label string once and shares
// the repeated ones (metric names, vendors, jobs).

// query asks endpoint ("query" or "query_range") with the form args, as
// the client does: POST, or GET where the engine refuses POST. Errors
// are the client's (*v1.Error, *url.Error), for describe.
func (p *Prometheus) query(ctx context.Context, endpoint string, args url.Values) (*answer, error) {
	if _, err := p.client(); err != nil {
		return nil, err
	}
	u := p.raw.URL("/api/v1/"+endpoint, nil)
	body := args.Encode()
	req, err := http.NewRequest(http.MethodPost, u.String(), strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, b, err := p.raw.Do(ctx, req)
	if err == nil && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusNotImplemented) {
		u.RawQuery = body
		if req, err = http.NewRequest(http.MethodGet, u.String(), nil); err != nil {
			return nil, err
		}
		resp, b, err = p.raw.Do(ctx, req)
	}
	if err != nil {
		return nil, err
	}
	a, derr := decodeAnswer(b)
	switch code := resp.StatusCode; {
	case code/100 == 2 && derr != nil:
		return nil, &v1.Error{Type: v1.ErrBadResponse, Msg: derr.Error()}
	case code/100 == 2 && a.status == "error":
		return nil, &v1.Error{Type: v1.ErrorType(a.errorType), Msg: a.err}
	case code/100 == 2:
		return a, nil
	case (code == http.StatusBadRequest || code == http.StatusUnprocessableEntity) && derr == nil && a.status == "error":
		return nil, &v1.Error{Type: v1.ErrorType(a.errorType), Msg: a.err}
	case code/100 == 4:
		return nil, &v1.Error{Type: v1.ErrClient, Msg: fmt.Sprintf("client error: %d", code)}
	case code/100 == 5:
		return nil, &v1.Error{Type: v1.ErrServer, Msg: fmt.Sprintf("server error: %d", code)}
	}
	return nil, &v1.Error{Type: v1.ErrBadResponse, Msg: fmt.Sprintf("bad response code %d", resp.StatusCode)}
}

// formatTime is a query's time in seconds, to the millisecond.
func formatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}

// answer is a decoded query answer: an instant vector (one value per
// series), a range vector (values per series), or neither (a scalar).
type answer struct {
	status, errorType, err string
	resultType             string
	series                 []answerSeries
}

type answerSeries struct {
	metric model.Metric
	values []model.SamplePair // one for an instant vector
}

// vector returns the answer as an instant vector.
func (a *answer) vector() model.Vector {
	out := make(model.Vector, 0, len(a.series))
	for _, s := range a.series {
		for _, v := range s.values {
			out = append(out, &model.Sample{Metric: s.metric, Value: v.Value, Timestamp: v.Timestamp})
		}
	}
	return out
}

// matrix returns the answer as a range vector.
func (a *answer) matrix() model.Matrix {
	out := make(model.Matrix, 0, len(a.series))
	for _, s := range a.series {
		out = append(out, &model.SampleStream{Metric: s.metric, Values: s.values})
	}
	return out
}

// decoder reads one JSON answer of the query API.
type decoder struct {
	b    []byte
	i    int
	strs map[string]string // label strings seen, shared
}

var errSyntax = errors.New("invalid character in the answer: not JSON")

// decodeAnswer decodes the query API's envelope and its data.
func decodeAnswer(b []byte) (*answer, error) {
	d := &decoder{b: b, strs: map[string]string{}}
	a := &answer{}
	err := d.object(func(key string) error {
		switch key {
		case "status":
			return d.strInto(&a.status)
		case "errorType":
			return d.strInto(&a.errorType)
		case "error":
			return d.strInto(&a.err)
		case "data":
			if d.ws(); d.peek() == 'n' {
				return d.skip()
			}
			return d.object(func(key string) error {
				switch key {
				case "resultType":
					return d.strInto(&a.resultType)
				case "result":
					return d.result(a)
				}
				return d.skip()
			})
		}
		return d.skip()
	})
	if err == nil {
		d.ws()
		if d.i != len(d.b) {
			err = errSyntax
		}
	}
	if err != nil {
		return nil, err
	}
	if a.status != "success" && a.status != "error" {
		return nil, fmt.Errorf("no status in the answer")
	}
	if a.resultType == "vector" {
		for _, s := range a.series {
			if len(s.values) != 1 {
				return nil, fmt.Errorf("a series of the instant vector has %d values, want 1", len(s.values))
			}
		}
	}
	return a, nil
}

// result reads data.result: an array of series objects, or a scalar's
// [time, value] (left out).
func (d *decoder) result(a *answer) error {
	d.ws()
	j := d.i + 1
	for j < len(d.b) && isSpace(d.b[j]) {
		j++
	}
	if d.peek() != '[' || j < len(d.b) && d.b[j] != '{' && d.b[j] != ']' {
		return d.skip() // a scalar or a string: [time, "value"]
	}
	return d.array(func() error {
		var s answerSeries
		err := d.object(func(key string) error {
			switch key {
			case "metric":
				s.metric = model.Metric{}
				return d.object(func(name string) error {
					v, err := d.str()
					s.metric[model.LabelName(name)] = model.LabelValue(v)
					return err
				})
			case "value":
				v, err := d.pair()
				s.values = append(s.values, v)
				return err
			case "values":
				return d.array(func() error {
					v, err := d.pair()
					s.values = append(s.values, v)
					return err
				})
			}
			return d.skip()
		})
		a.series = append(a.series, s)
		return err
	})
}

// pair reads [time, "value"].
func (d *decoder) pair() (model.SamplePair, error) {
	var p model.SamplePair
	d.ws()
	if d.peek() != '[' {
		return p, errSyntax
	}
	d.i++
	d.ws()
	start := d.i
	for d.i < len(d.b) && (d.b[d.i] >= '0' && d.b[d.i] <= '9' || d.b[d.i] == '.' || d.b[d.i] == '-' || d.b[d.i] == 'e' || d.b[d.i] == 'E' || d.b[d.i] == '+') {
		d.i++
	}
	t, err := parseTime(d.b[start:d.i])
	if err != nil {
		return p, err
	}
	d.ws()
	if d.peek() != ',' {
		return p, errSyntax
	}
	d.i++
	v, err := d.str()
	if err != nil {
		return p, err
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return p, fmt.Errorf("value %q is not a number", v)
	}
	d.ws()
	if d.peek() != ']' {
		return p, errSyntax
	}
	d.i++
	p.Timestamp, p.Value = t, model.SampleValue(f)
	return p, nil
}

// parseTime reads seconds with up to three decimals exactly, as
// model.Time does.
func parseTime(b []byte) (model.Time, error) {
	s := string(b)
	sec, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || len(frac) > 3 || strings.ContainsAny(frac, "eE+-") {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return 0, fmt.Errorf("time %q is not a number", s)
		}
		return model.Time(f*1000 + 0.5), nil
	}
	ms := n * 1000
	if frac != "" {
		m, err := strconv.ParseInt((frac + "00")[:3], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("time %q is not a number", s)
		}
		if n < 0 || sec == "-0" {
			m = -m
		}
		ms += m
	}
	return model.Time(ms), nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

func (d *decoder) ws() {
	for d.i < len(d.b) && isSpace(d.b[d.i]) {
		d.i++
	}
}

func (d *decoder) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

// object reads {"key": value, ...}, handing each key to f, which reads
// the value.
func (d *decoder) object(f func(key string) error) error {
	return d.list('{', '}', func() error {
		k, err := d.str()
		if err != nil {
			return err
		}
		d.ws()
		if d.peek() != ':' {
			return errSyntax
		}
		d.i++
		return f(k)
	})
}

// array reads [value, ...], f reading each value.
func (d *decoder) array(f func() error) error { return d.list('[', ']', f) }

// list reads open, items separated by commas (f reads each), close.
func (d *decoder) list(open, close byte, f func() error) error {
	d.ws()
	if d.peek() != open {
		return errSyntax
	}
	d.i++
	d.ws()
	if d.peek() == close {
		d.i++
		return nil
	}
	for {
		if err := f(); err != nil {
			return err
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.i++
		case close:
			d.i++
			return nil
		default:
			return errSyntax
		}
	}
}

// str reads a string. Strings without escapes are shared through
// d.strs; the rare escaped one, or one that is not valid UTF-8, is decoded
// by encoding/json (which reads invalid bytes as U+FFFD).
func (d *decoder) str() (string, error) {
	d.ws()
	if d.peek() != '"' {
		return "", errSyntax
	}
	start := d.i + 1
	escaped, ascii := false, true
	for j := start; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '\\':
			escaped = true
			j++
		case c < 0x20:
			return "", errSyntax
		case c >= utf8.RuneSelf:
			ascii = false
		case c == '"':
			d.i = j + 1
			if escaped || !ascii && !utf8.Valid(d.b[start:j]) {
				var s string
				if err := json.Unmarshal(d.b[start-1:j+1], &s); err != nil {
					return "", errSyntax
				}
				return s, nil
			}
			raw := d.b[start:j]
			if s, ok := d.strs[string(raw)]; ok {
				return s, nil
			}
			s := string(raw)
			d.strs[s] = s
			return s, nil
		}
	}
	return "", errSyntax
}

// strInto reads a string into *p.
func (d *decoder) strInto(p *string) error {
	s, err := d.str()
	*p = s
	return err
}

// skip reads any value and drops it.
func (d *decoder) skip() error {
	d.ws()
	switch c := d.peek(); {
	case c == '"':
		_, err := d.str()
		return err
	case c == '{':
		return d.object(func(string) error { return d.skip() })
	case c == '[':
		return d.array(d.skip)
	case c == 't' || c == 'f' || c == 'n' || c == '-' || c >= '0' && c <= '9':
		start := d.i
		for d.i < len(d.b) && strings.IndexByte(",}] \n\t\r", d.b[d.i]) < 0 {
			d.i++
		}
		var v any
		if json.Unmarshal(d.b[start:d.i], &v) != nil {
			return errSyntax
		}
		return nil
	}
	return errSyntax
}
