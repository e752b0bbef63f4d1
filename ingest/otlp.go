package ingest

// OTLP/JSON export lines, as the OpenTelemetry file exporter writes them
// (https://opentelemetry.io/docs/specs/otel/protocol/file-exporter/): one
// line holds resourceLogs[].scopeLogs[].logRecords[], each record one call,
// its attributes an array of {"key","value":{"stringValue"|"intValue"|...}}
// (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding) and
// the calling service in the resource's attributes.

// resourceServiceSlot gives the resource's service.name to each record.
var resourceServiceSlot = slot{path: "resource.attributes.service.name", field: FieldService}

// otlpIter walks the log records of an OTLP/JSON line, each with the
// service.name of its resource.
type otlpIter struct {
	res, scopes, recs arrayIter
	svc               jsonValue
}

func (it *otlpIter) init(resourceLogs []byte) {
	*it = otlpIter{res: elements(resourceLogs)}
}

func (it *otlpIter) next() (rec, svc jsonValue, ok bool) {
	for {
		if r, ok := it.recs.next(); ok {
			if r.kind == '{' {
				return r, it.svc, true
			}
			continue
		}
		if s, ok := it.scopes.next(); ok {
			if lr, ok := member(s.raw, "logRecords"); ok && lr.kind == '[' {
				it.recs = elements(lr.raw)
			}
			continue
		}
		r, ok := it.res.next()
		if !ok {
			return jsonValue{}, jsonValue{}, false
		}
		it.svc, it.scopes = jsonValue{}, arrayIter{}
		m := members(r.raw)
		for k, v, ok := m.next(); ok; k, v, ok = m.next() {
			switch string(k) {
			case "resource":
				if attrs, ok := member(v.raw, "attributes"); ok {
					it.svc = attribute(attrs, "service.name")
				}
			case "scopeLogs", "instrumentationLibraryLogs": // the latter before OTLP 0.19
				if v.kind == '[' {
					it.scopes = elements(v.raw)
				}
			}
		}
	}
}

// attribute returns the scalar value of a key in an OTLP attribute array.
func attribute(attrs jsonValue, key string) jsonValue {
	it := elements(attrs.raw)
	for kv, ok := it.next(); ok; kv, ok = it.next() {
		if k, _ := member(kv.raw, "key"); k.kind == '"' && string(k.raw) == key {
			v, _ := member(kv.raw, "value")
			return scalar(v)
		}
	}
	return jsonValue{}
}

// otlpRecord decodes one log record: its attributes are looked up by their
// keys as if they were a flat line's dotted keys.
func (d *Decoder) otlpRecord(rec, svc jsonValue) (*Record, error) {
	d.reset()
	d.shape = shOTLP
	if svc.kind == '"' {
		d.addCand(&resourceServiceSlot, svc)
	}
	m := members(rec.raw)
	for k, v, ok := m.next(); ok; k, v, ok = m.next() {
		if string(k) != "attributes" {
			d.visitValue(k, v)
			continue
		}
		it := elements(v.raw)
		for kv, ok := it.next(); ok; kv, ok = it.next() {
			if key, _ := member(kv.raw, "key"); key.kind == '"' {
				val, _ := member(kv.raw, "value")
				d.visitValue(key.raw, val)
			}
		}
	}
	return d.finish()
}

// visitValue handles a value found under a key outside the walk of a line
// (an OTLP attribute): as visitPath does, without descending.
func (d *Decoder) visitValue(key []byte, v jsonValue) {
	d.path = append(d.path[:0], key...)
	l := d.find()
	nd := l.n
	if nd == nil {
		if name := d.path[l.off:]; l.hdr != 0 && wantHeader(l.hdr, name) {
			d.headerValue(l.hdr, name, v)
		}
		return
	}
	d.shape |= nd.shape
	if nd.headers != 0 {
		d.headerBlock(nd.headers, v)
		return
	}
	if len(nd.slots) > 0 || len(nd.match) > 0 {
		if v.kind == '{' {
			v = scalar(v) // an AnyValue
		}
		d.add(nd, v)
	}
}
