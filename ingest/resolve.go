package ingest

import "bytes"

// Resolving a line's candidates into its Record, once the whole line has
// been walked: which candidate counts, how each converts, and whether the
// line is a request at all.

// holds reports whether a shape condition holds for the line.
func (d *Decoder) holds(c cond) bool {
	return d.shape&c.need == c.need &&
		(c.not[0] == 0 || d.shape&c.not[0] != c.not[0]) &&
		(c.not[1] == 0 || d.shape&c.not[1] != c.not[1])
}

// resolve sets field f from its most preferred usable candidate.
func (d *Decoder) resolve(f Field) {
	if c := &d.cands[f][0]; d.ncand[f] == 1 && c.s.cond == (cond{}) {
		d.apply(*c) // the common case: one candidate, no condition
		return
	}
	var tried uint8
	for {
		best := -1
		for i := range int(d.ncand[f]) {
			c := &d.cands[f][i]
			if tried&(1<<i) != 0 {
				continue
			}
			if !d.holds(c.s.cond) {
				tried |= 1 << i
				continue
			}
			if best < 0 || c.s.prio < d.cands[f][best].s.prio {
				best = i
			}
		}
		if best < 0 {
			return
		}
		tried |= 1 << best
		if d.apply(d.cands[f][best]) {
			return
		}
	}
}

// apply converts a candidate into its Record field; false when the value
// is not usable there, so that the next candidate is tried.
func (d *Decoder) apply(c cand) bool {
	v, r := c.v, &d.rec
	if v.kind == '"' && len(v.raw) == 1 && v.raw[0] == '-' { // Envoy's "not set"
		return false
	}
	ok := true
	switch c.s.field {
	case FieldTime:
		r.Time, ok = parseTime(v, d.text(v))
	case FieldMethod:
		r.Method, ok = method(v, d.text(v))
	case FieldURL:
		r.URL, ok = d.view(v, &d.urlBuf)
	case FieldHost:
		var h string
		if h, ok = d.view(v, &d.hostBuf); ok {
			r.Host = d.host(h)
			ok = r.Host != ""
		}
	case FieldPath:
		var p string
		if p, ok = d.view(v, &d.pathBuf); ok {
			// A path given as a whole URL (an upstream URI) also names
			// the host when nothing else did.
			host, path := SplitURL(p)
			if host != "" && r.Host == "" {
				r.Host = d.host(host)
			}
			r.Path = path
		}
	case FieldStatus:
		var st int
		if st, ok = parseStatus(v); ok {
			r.Status, d.status = st, c.s
		} else {
			d.statusKind(v)
		}
	case FieldLatency:
		r.Latency, ok = parseLatency(v, d.text(v), c.s.unit)
	case FieldBody:
		switch v.kind {
		case 'n':
			r.Body = nil
		default:
			r.Body, r.BodyEscaped = v.raw, v.escaped
		}
	case FieldError:
		if ok = v.kind == '"' && len(v.raw) > 0; ok {
			r.Error = d.own(&d.errBuf, v)
		}
	case FieldErrorType:
		if ok = v.kind == '"' && len(v.raw) > 0; ok {
			d.errType = d.own(&d.errTypeBuf, v) // joined with the message in finish
		}
	case FieldTraceID:
		ok = (v.kind == '"' || v.kind == '0') && len(v.raw) > 0
		if ok {
			r.TraceID = d.own(&d.traceBuf, v)
		}
	case FieldService:
		ok = v.kind == '"' && len(v.raw) > 0
		if ok {
			r.Service = d.own(&d.svcBuf, v)
		}
	case fieldEntryType:
		ok = v.kind == '"'
		d.entry = v.raw
	}
	return ok
}

// own returns a string value's bytes, unescaped into buf when needed.
func (d *Decoder) own(buf *[]byte, v jsonValue) []byte {
	if !v.escaped {
		return v.raw
	}
	*buf = unescape((*buf)[:0], v.raw)
	return *buf
}

// statusKind records why a status candidate was not usable.
func (d *Decoder) statusKind(v jsonValue) {
	switch {
	case v.kind == '0' && string(v.raw) == "0", v.kind == '"' && string(v.raw) == "0":
		d.stZero = true
	case v.kind == '"' && (len(v.raw) == 0 || v.raw[0] < '0' || v.raw[0] > '9'):
		d.stText = true
	case v.kind == 'n':
	default:
		d.stBad = true
	}
}

// finish resolves the candidates into the Record and tells a request from
// a malformed line and from a line that is not a request at all.
func (d *Decoder) finish() (*Record, error) {
	if len(d.matchOK) > 0 && !d.matched() {
		return nil, errNotMatched
	}
	r := &d.rec
	d.errType = nil
	for f := range Field(numSlots) {
		if d.ncand[f] != 0 {
			d.resolve(f)
		}
	}
	if d.shape&shTelescope != 0 && d.entry != nil && string(d.entry) != "client_request" {
		return nil, errNotRequest // Telescope's other entries: queries, jobs, incoming requests
	}
	// An error's type and message are both worth reading: "type: message".
	if t := d.errType; len(t) > 0 {
		if len(r.Error) > 0 && !bytes.Equal(r.Error, t) {
			d.joinBuf = append(append(append(d.joinBuf[:0], t...), ": "...), r.Error...)
			r.Error = d.joinBuf
		} else {
			r.Error = t
		}
	}
	if r.Status == 0 && len(r.Error) == 0 && d.shape&shTelescope != 0 && !d.stZero && !d.stBad && !d.stText {
		// Telescope records a client request without a response only
		// when the connection failed (ConnectionFailed).
		d.errBuf = append(d.errBuf[:0], "connection failed"...)
		r.Error = d.errBuf
	}
	hasCall := r.URL != "" || r.Host != "" || r.Method != ""
	switch {
	case r.Status != 0:
		r.Error = nil
	case len(r.Error) > 0 && (r.URL != "" || r.Host != ""):
		// A call that got no response: Status 0 and the error.
	case d.stBad || d.stText && hasCall:
		return nil, errBadStatus
	case hasCall || d.stZero:
		return nil, errNoStatus
	default:
		return nil, errNotRequest
	}
	d.fillFromURL()
	return r, nil
}

// matched reports whether every Match rule holds for the line.
func (d *Decoder) matched() bool {
	for i := range d.m.match {
		if !d.matchOK[i] {
			return false
		}
		v := d.matchVal[i]
		var t []byte
		switch v.kind {
		case '"':
			t = d.text(v)
		case '0', 't', 'f':
			t = v.raw
		default:
			return false
		}
		if m := &d.m.match[i]; m.Regexp != nil {
			if !m.Regexp.Match(t) {
				return false
			}
		} else if string(t) != m.Value {
			return false
		}
	}
	return true
}
