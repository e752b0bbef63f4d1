package classify

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
	"go.yaml.in/yaml/v3"
)

// GenericID is the id of the definition that classifies hosts no vendor
// claims: its envelopes are the generic recognizers, its statuses the
// defaults every vendor falls back to, its header rules apply to all.
const GenericID = "generic"

// Vendor is one vendor definition file, classify/vendors/<id>.yaml.
type Vendor struct {
	ID     string `yaml:"id"`
	Name   string `yaml:"name"`
	Source string `yaml:"source"` // where entries come from unless they say otherwise
	Doc    string `yaml:"doc"`    // the vendor's error documentation page (URL), the default for entries
	// Docs lists further hosts the vendor publishes documentation on,
	// beyond its match hosts (a docs site on another domain).
	Docs      []string     `yaml:"docs"`
	Match     Match        `yaml:"match"`
	Envelopes []Envelope   `yaml:"envelopes"`
	Ranges    []Range      `yaml:"ranges"`
	Statuses  []Status     `yaml:"statuses"`
	Codes     []Code       `yaml:"codes"`
	Headers   []HeaderRule `yaml:"headers"`
	Sample    *Sample      `yaml:"sample"`
	// Words decide the verdict of an error whose code no entry lists, from
	// words in its code or message (generic definition only).
	Words []WordRule `yaml:"words"`
	// Transport maps the logged error of a call that got no response to a
	// transport code (generic definition only).
	Transport []TransportRule `yaml:"transport"`
	// Unwrap names body keys that may hold the vendor's own error body as a
	// JSON string, as SDK wrappers log it (Picqer's PHP client:
	// {"errorcode":400,"errormessage":"{\"error\":true,...}"}).
	Unwrap []string `yaml:"unwrap"`
	// Messages refine the verdict by words of the body's message where the
	// status or code alone misleads (GitHub's secondary rate limit is a 403
	// with only a message).
	Messages []MessageRule `yaml:"messages"`

	raw []byte // the file as read, for drafts that extend it (Catalog.Draft)
}

// MessageRule gives a verdict to an error whose body's message contains one
// of the words (case-insensitive). It applies to the codes no entry
// decided (an HTTP status verdict, a range, an unknown code), or to Code
// alone when Code is set; Status, when set, narrows it further.
type MessageRule struct {
	Status   []int    `yaml:"status"`   // only with these HTTP statuses (empty: any)
	Code     string   `yaml:"code"`     // only for this code, even a known one (empty: codes no entry decided)
	Contains []string `yaml:"contains"` // one of these substrings of the message suffices
	Category Category `yaml:"category"`
	Retry    Retry    `yaml:"retry"`
	Source   string   `yaml:"source"`
	Doc      string   `yaml:"doc"` // the vendor's page for this case (URL)
	Why      string   `yaml:"why"`
}

// Match says which requests belong to a vendor.
type Match struct {
	Hosts []string `yaml:"hosts"` // exact host, or "*.example.com" for any subdomain
	Paths []string `yaml:"paths"` // URL path prefixes that name the vendor on any host
}

// Envelope says how to recognize an error body and where its code and
// message sit. Paths are dotted; "[]" steps into any element of an array.
type Envelope struct {
	Name        string   `yaml:"name"`
	Require     []string `yaml:"require"`      // conditions: "path", "path:type" or "path=value"
	Code        []string `yaml:"code"`         // paths tried in order
	Message     []string `yaml:"message"`      // paths tried in order
	DefaultCode string   `yaml:"default_code"` // code when no code path resolves (else http_<status>)
	AnyStatus   bool     `yaml:"any_status"`   // an error even with HTTP 2xx/3xx
	Attribute   bool     `yaml:"attribute"`    // this shape alone names the vendor on an unclaimed host
	TrimURI     bool     `yaml:"trim_uri"`     // the code is a URI: keep its last path segment
	// TextCode takes a plain-text error body that is a bare code
	// (^[a-z0-9_]{2,64}$, as Slack's incoming webhooks answer
	// "channel_not_found") as the code. Such an envelope has no conditions,
	// paths or messages.
	TextCode bool `yaml:"text_code"`
}

// Range is a named range of numeric codes, with the verdict for the codes in
// it that the catalog does not list (none: fall back to the HTTP status).
type Range struct {
	Name     string   `yaml:"name"`
	From     int64    `yaml:"from"`
	To       int64    `yaml:"to"`
	Category Category `yaml:"category"`
	Retry    Retry    `yaml:"retry"`
	Why      string   `yaml:"why"`
}

// Status is the verdict for an HTTP status when the body names no code.
type Status struct {
	Status   int      `yaml:"status"`
	Message  string   `yaml:"message"`
	Category Category `yaml:"category"`
	Retry    Retry    `yaml:"retry"`
	Source   string   `yaml:"source"`
	Doc      string   `yaml:"doc"` // the vendor's page for this status (URL)
	Why      string   `yaml:"why"`
	// Guessed marks a draft verdict (`apierr codes --unknown`) that a
	// person has yet to check against the vendor's documentation.
	Guessed bool `yaml:"guessed"`
}

// Code is one documented error code.
type Code struct {
	Code     string   `yaml:"code"`
	Message  string   `yaml:"message"`
	Category Category `yaml:"category"`
	Retry    Retry    `yaml:"retry"`
	Status   int      `yaml:"status"` // the HTTP status it comes with, where known
	Source   string   `yaml:"source"`
	Doc      string   `yaml:"doc"` // the vendor's page for this code (URL)
	Why      string   `yaml:"why"`
	// Guessed marks a draft entry (`apierr codes --unknown`) that a person
	// has yet to check against the vendor's documentation.
	Guessed bool `yaml:"guessed"`
}

// HeaderRule changes a verdict when a response header is present.
type HeaderRule struct {
	Name  string `yaml:"name"`  // lower case
	Value string `yaml:"value"` // empty: any value
	// Param reads the value as a structured-field list (RFC 9651), as the
	// IETF RateLimit header sends it (`"default";r=0;t=30`): the rule holds
	// when a member has this parameter, equal to Value when one is given.
	Param      string     `yaml:"param"`
	IfRetry    []Retry    `yaml:"if_retry"`    // only for these verdicts (empty: any)
	IfCategory []Category `yaml:"if_category"` // only for these categories (empty: any)
	Category   Category   `yaml:"category"`
	Retry      Retry      `yaml:"retry"`
	Why        string     `yaml:"why"`
}

// WordRule gives a verdict to an error whose code is in no catalog entry
// when its code or message contains one of the words (case-insensitive).
type WordRule struct {
	Words    []string `yaml:"words"`
	Category Category `yaml:"category"`
	Retry    Retry    `yaml:"retry"`
	Why      string   `yaml:"why"`
}

// TransportRule names the transport code of a call that got no response
// when its logged error contains one of the spellings (case-insensitive).
// Rules are tried in order; the code must be one of the definition's codes.
type TransportRule struct {
	Code      string   `yaml:"code"`
	Spellings []string `yaml:"spellings"`
}

// Sample is a template of the vendor's error response, used by tests and
// the traffic generator. {{code}}, {{message}} (JSON-escaped, no quotes)
// and {{status}} are replaced.
type Sample struct {
	Method string `yaml:"method"`
	URL    string `yaml:"url"`
	Status int    `yaml:"status"`
	Body   string `yaml:"body"`
}

// Render returns the sample body for a code.
func (s *Sample) Render(code, message string, status int) string {
	msg := strconv.Quote(message)
	r := strings.NewReplacer("{{code}}", code, "{{message}}", msg[1:len(msg)-1], "{{status}}", strconv.Itoa(status))
	return r.Replace(s.Body)
}

// LoadError is a vendor file that cannot be used: which file, which field,
// and what is wrong.
type LoadError struct {
	File  string
	Field string
	Err   error
}

func (e *LoadError) Error() string {
	if e.Field == "" {
		return e.File + ": " + e.Err.Error()
	}
	return e.File + ": " + e.Field + ": " + e.Err.Error()
}

func (e *LoadError) Unwrap() error { return e.Err }

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// parseVendor decodes and validates one vendor file.
func parseVendor(name string, data []byte) (*Vendor, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var v Vendor
	if err := dec.Decode(&v); err != nil {
		return nil, &LoadError{File: name, Err: errors.New(strings.TrimPrefix(err.Error(), "yaml: "))}
	}
	// One vendor per file: a second document would be silently ignored.
	var more yaml.Node
	if err := dec.Decode(&more); err == nil {
		return nil, &LoadError{File: name, Err: errors.New("more than one YAML document: put each vendor in its own <id>.yaml file")}
	}
	if err := v.validate(strings.TrimSuffix(path.Base(name), path.Ext(name))); err != nil {
		err.File = name
		return nil, err
	}
	return &v, nil
}

func fieldErr(field string, format string, args ...any) *LoadError {
	return &LoadError{Field: field, Err: fmt.Errorf(format, args...)}
}

// validate checks a definition whole; the first problem is returned.
func (v *Vendor) validate(base string) *LoadError {
	if !idPattern.MatchString(v.ID) {
		return fieldErr("id", "%q: want lower-case letters, digits, - and _", v.ID)
	}
	if v.ID != base {
		return fieldErr("id", "%q does not match the file name %q", v.ID, base)
	}
	for i, h := range v.Match.Hosts {
		name := strings.TrimPrefix(h, "*.")
		if name == "" || name != strings.ToLower(name) || strings.ContainsAny(name, "/:*? ") {
			return fieldErr(fmt.Sprintf("match.hosts[%d]", i), "%q: want a lower-case host or *.domain", h)
		}
	}
	for i, p := range v.Match.Paths {
		if !strings.HasPrefix(p, "/") || len(p) < 2 {
			return fieldErr(fmt.Sprintf("match.paths[%d]", i), "%q: want a path prefix starting with /", p)
		}
	}
	for i, h := range v.Docs {
		if h == "" || h != strings.ToLower(h) || strings.ContainsAny(h, "/:*? ") {
			return fieldErr(fmt.Sprintf("docs[%d]", i), "%q: want a lower-case host", h)
		}
	}
	if err := checkDoc("doc", v.Doc); err != nil {
		return err
	}
	if v.ID != GenericID && (len(v.Words) > 0 || len(v.Transport) > 0) {
		return fieldErr("words", "words and transport belong to the generic definition only")
	}
	if v.ID == GenericID && (len(v.Match.Hosts) > 0 || len(v.Match.Paths) > 0) {
		return fieldErr("match", "the generic definition matches no host: it serves the unclaimed ones")
	}
	for i, e := range v.Envelopes {
		if err := e.validate(); err != nil {
			err.Field = fmt.Sprintf("envelopes[%d].%s", i, err.Field)
			return err
		}
	}
	for i, r := range v.Ranges {
		f := fmt.Sprintf("ranges[%d]", i)
		switch {
		case r.Name == "":
			return fieldErr(f+".name", "missing")
		case r.From > r.To:
			return fieldErr(f, "from %d is above to %d", r.From, r.To)
		case (r.Category == "") != (r.Retry == ""):
			return fieldErr(f, "give category and retry together, or neither")
		}
		if err := checkVerdict(f, r.Category, r.Retry, r.Category == ""); err != nil {
			return err
		}
		for j, o := range v.Ranges[:i] {
			if r.From <= o.To && o.From <= r.To {
				return fieldErr(f, "%s %d..%d overlaps ranges[%d] %s %d..%d", r.Name, r.From, r.To, j, o.Name, o.From, o.To)
			}
		}
	}
	seenStatus := map[int]bool{}
	for i, s := range v.Statuses {
		f := fmt.Sprintf("statuses[%d]", i)
		if s.Status < 100 || s.Status > 999 {
			return fieldErr(f+".status", "%d: want an HTTP status", s.Status)
		}
		if seenStatus[s.Status] {
			return fieldErr(f+".status", "%d listed twice", s.Status)
		}
		seenStatus[s.Status] = true
		if err := checkVerdict(f, s.Category, s.Retry, false); err != nil {
			return err
		}
		if err := checkDoc(f+".doc", s.Doc); err != nil {
			return err
		}
	}
	seenCode := map[string]bool{}
	for i, c := range v.Codes {
		f := fmt.Sprintf("codes[%d]", i)
		switch {
		case c.Code == "" || len(c.Code) > maxCode:
			return fieldErr(f+".code", "%q: want 1 to %d characters", c.Code, maxCode)
		case seenCode[c.Code]:
			return fieldErr(f+".code", "%q listed twice", c.Code)
		case c.Message == "":
			return fieldErr(f+".message", "missing")
		case c.Status != 0 && (c.Status < 100 || c.Status > 999):
			return fieldErr(f+".status", "%d: want an HTTP status", c.Status)
		}
		seenCode[c.Code] = true
		if err := checkVerdict(f, c.Category, c.Retry, false); err != nil {
			return err
		}
		if err := checkDoc(f+".doc", c.Doc); err != nil {
			return err
		}
	}
	for i, w := range v.Words {
		f := fmt.Sprintf("words[%d]", i)
		if len(w.Words) == 0 || slices.Contains(w.Words, "") {
			return fieldErr(f+".words", "give non-empty words")
		}
		if err := checkVerdict(f, w.Category, w.Retry, false); err != nil {
			return err
		}
	}
	for i, m := range v.Messages {
		f := fmt.Sprintf("messages[%d]", i)
		if len(m.Contains) == 0 || slices.Contains(m.Contains, "") {
			return fieldErr(f+".contains", "give non-empty substrings of the message")
		}
		for j, st := range m.Status {
			if st < 100 || st > 999 {
				return fieldErr(fmt.Sprintf("%s.status[%d]", f, j), "%d: want an HTTP status", st)
			}
		}
		if err := checkVerdict(f, m.Category, m.Retry, false); err != nil {
			return err
		}
		if err := checkDoc(f+".doc", m.Doc); err != nil {
			return err
		}
	}
	for i, t := range v.Transport {
		f := fmt.Sprintf("transport[%d]", i)
		if !seenCode[t.Code] {
			return fieldErr(f+".code", "%q is not one of the codes", t.Code)
		}
		if slices.Contains(t.Spellings, "") {
			return fieldErr(f+".spellings", "give non-empty spellings")
		}
	}
	for i, h := range v.Headers {
		f := fmt.Sprintf("headers[%d]", i)
		if h.Name == "" || h.Name != strings.ToLower(h.Name) {
			return fieldErr(f+".name", "%q: want a lower-case header name", h.Name)
		}
		if h.Category == "" && h.Retry == "" {
			return fieldErr(f, "give a category, a retry verdict or both")
		}
		if err := checkVerdict(f, h.Category, h.Retry, true); err != nil {
			return err
		}
		if h.Param != "" && (h.Param != strings.ToLower(h.Param) || strings.ContainsAny(h.Param, ",;= ")) {
			return fieldErr(f+".param", "%q: want a lower-case parameter name", h.Param)
		}
		for j, r := range h.IfRetry {
			if !r.Valid() {
				return fieldErr(fmt.Sprintf("%s.if_retry[%d]", f, j), "unknown retry verdict %q", r)
			}
		}
		for j, c := range h.IfCategory {
			if !c.Valid() {
				return fieldErr(fmt.Sprintf("%s.if_category[%d]", f, j), "unknown category %q", c)
			}
		}
	}
	for i, k := range v.Unwrap {
		if k == "" || strings.ContainsAny(k, ".[]") {
			return fieldErr(fmt.Sprintf("unwrap[%d]", i), "%q: want a top-level body key", k)
		}
	}
	if s := v.Sample; s != nil {
		if s.Body == "" || s.URL == "" {
			return fieldErr("sample", "give url and body")
		}
		for i, c := range v.Codes {
			if err := fastjson.Validate(s.Render(c.Code, c.Message, 400)); err != nil {
				return fieldErr("sample.body", "not JSON for codes[%d]: %v", i, err)
			}
		}
	}
	return nil
}

// checkDoc checks that a doc, when given, is an absolute http(s) URL.
func checkDoc(field, doc string) *LoadError {
	if doc == "" {
		return nil
	}
	u, err := url.Parse(doc)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fieldErr(field, "%q: want an http(s) URL", doc)
	}
	return nil
}

// checkVerdict checks a category and retry verdict; empty ones pass when
// optional is set.
func checkVerdict(field string, c Category, r Retry, optional bool) *LoadError {
	if !(optional && c == "") && !c.Valid() {
		return fieldErr(field+".category", "unknown category %q (want one of %s)", c, joinCategories())
	}
	if !(optional && r == "") && !r.Valid() {
		return fieldErr(field+".retry", "unknown retry verdict %q (want retry, retry_after or no)", r)
	}
	return nil
}

func joinCategories() string {
	s := make([]string, len(Categories))
	for i, c := range Categories {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

func (e Envelope) validate() *LoadError {
	if e.Name == "" {
		return fieldErr("name", "missing")
	}
	if e.TextCode {
		if len(e.Require) > 0 || len(e.Code) > 0 || len(e.Message) > 0 || e.AnyStatus || e.Attribute || e.TrimURI {
			return fieldErr("text_code", "a plain-text envelope takes no require, code, message, any_status, attribute or trim_uri")
		}
		return nil
	}
	if len(e.Require) == 0 {
		return fieldErr("require", "give at least one condition, or every body would match")
	}
	for i, r := range e.Require {
		if _, err := parseCond(r); err != nil {
			return fieldErr(fmt.Sprintf("require[%d]", i), "%v", err)
		}
	}
	for i, p := range e.Code {
		if _, err := parsePath(p); err != nil {
			return fieldErr(fmt.Sprintf("code[%d]", i), "%v", err)
		}
	}
	for i, p := range e.Message {
		if _, err := parsePath(p); err != nil {
			return fieldErr(fmt.Sprintf("message[%d]", i), "%v", err)
		}
	}
	return nil
}

// readDefinitions reads every *.yaml file at the root of fsys.
func readDefinitions(fsys fs.FS) ([]*Vendor, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, err
	}
	yml, _ := fs.Glob(fsys, "*.yml")
	names = append(names, yml...)
	var out []*Vendor
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, &LoadError{File: name, Err: err}
		}
		v, err := parseVendor(name, data)
		if err != nil {
			return nil, err
		}
		v.raw = data
		out = append(out, v)
	}
	return out, nil
}
