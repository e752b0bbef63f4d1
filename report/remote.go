package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
)

// A Source travels between hosts as JSON: a running daemon writes its
// database's rows (/api/report?raw=1) and `apierr report --remote` reads
// them back and builds one report over every host's rows, exactly as it
// does over several databases. The rows are written field by field, by
// name, so a field added to Source travels without a change here; maps
// whose keys are not strings (a (vendor, code) group) become lists of
// {"k","v"} pairs. A reader ignores the fields it does not know.

// SourceFormat names the JSON of WriteSource, so that a reader can tell
// it from any other answer.
const SourceFormat = "apierr-source/1"

// sourceDoc is the document WriteSource writes.
type sourceDoc struct {
	Format string                     `json:"format"`
	Window Window                     `json:"window"`
	Rows   map[string]json.RawMessage `json:"rows"`
}

// WriteSource writes the rows of src, read for window, as JSON.
func WriteSource(w io.Writer, window Window, src Source) error {
	doc := sourceDoc{Format: SourceFormat, Window: window, Rows: map[string]json.RawMessage{}}
	v := reflect.ValueOf(src)
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		var val any = v.Field(i).Interface()
		if fv := v.Field(i); fv.Kind() == reflect.Map && fv.Type().Key().Kind() != reflect.String {
			pairs := make([]pair, 0, fv.Len())
			for it := fv.MapRange(); it.Next(); {
				pairs = append(pairs, pair{K: it.Key().Interface(), V: it.Value().Interface()})
			}
			val = pairs
		}
		b, err := json.Marshal(val)
		if err != nil {
			return fmt.Errorf("rows %s: %w", f.Name, err)
		}
		doc.Rows[f.Name] = b
	}
	return json.NewEncoder(w).Encode(doc)
}

// pair is one entry of a map whose key is not a string.
type pair struct {
	K any `json:"k"`
	V any `json:"v"`
}

// ReadSourceJSON reads what WriteSource wrote: the window the rows were
// read for, and the rows.
func ReadSourceJSON(r io.Reader) (Window, Source, error) {
	var doc sourceDoc
	var src Source
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return Window{}, src, fmt.Errorf("not apierr's report rows: %w", err)
	}
	if doc.Format != SourceFormat {
		return Window{}, src, fmt.Errorf("not apierr's report rows (format %q, want %q)", doc.Format, SourceFormat)
	}
	v := reflect.ValueOf(&src).Elem()
	for name, raw := range doc.Rows {
		f, ok := v.Type().FieldByName(name)
		if !ok || !f.IsExported() {
			continue // written by a newer apierr
		}
		fv := v.FieldByIndex(f.Index)
		if fv.Kind() != reflect.Map || fv.Type().Key().Kind() == reflect.String {
			if err := json.Unmarshal(raw, fv.Addr().Interface()); err != nil {
				return doc.Window, src, fmt.Errorf("rows %s: %w", name, err)
			}
			continue
		}
		var pairs []struct{ K, V json.RawMessage }
		if err := json.Unmarshal(raw, &pairs); err != nil {
			return doc.Window, src, fmt.Errorf("rows %s: %w", name, err)
		}
		m := reflect.MakeMapWithSize(fv.Type(), len(pairs))
		for _, p := range pairs {
			k, e := reflect.New(fv.Type().Key()), reflect.New(fv.Type().Elem())
			if err := errors.Join(json.Unmarshal(p.K, k.Interface()), json.Unmarshal(p.V, e.Interface())); err != nil {
				return doc.Window, src, fmt.Errorf("rows %s: %w", name, err)
			}
			m.SetMapIndex(k.Elem(), e.Elem())
		}
		fv.Set(m)
	}
	return doc.Window, src, nil
}
