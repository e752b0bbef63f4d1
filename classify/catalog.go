package classify

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed vendors/*.yaml
var builtin embed.FS

// Builtin returns the vendor definitions compiled into the binary.
func Builtin() fs.FS {
	sub, err := fs.Sub(builtin, "vendors")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}

// Catalog is a loaded, validated set of vendor definitions with the lookup
// tables the classifier needs. It is immutable and safe for concurrent use.
type Catalog struct {
	vendors   []*vendor // sorted by id, generic included
	generic   *vendor
	hostExact map[string]*vendor
	hostWild  []match // "*.example.com", longest suffix first
	paths     []match // path prefixes, longest first
	attrib    []*envelope
}

type match struct {
	key    string
	vendor *vendor
}

// vendor is a definition compiled for lookups.
type vendor struct {
	def       *Vendor
	envelopes []*envelope
	codes     map[string]*Code
	statuses  map[int]*Status
	ranges    []Range         // sorted by From
	words     []WordRule      // words lower-cased
	transport []transportRule // spellings lower-cased
	messages  [][]string      // per message rule, its substrings lower-cased
	// fallback is the generic definition for a vendor without envelopes
	// of its own (a draft for a host): its bodies are read by the generic
	// recognizers, so the generic codes apply after the vendor's.
	fallback *vendor
}

// lookup returns the catalog entry of a code: the vendor's, else its
// fallback's.
func (v *vendor) lookup(code string) (*Code, bool) {
	if k, ok := v.codes[code]; ok {
		return k, true
	}
	if v.fallback != nil {
		k, ok := v.fallback.codes[code]
		return k, ok
	}
	return nil, false
}

type transportRule struct {
	code      *Code
	spellings []string
}

// Load reads the vendor definitions of each fsys in turn (the built-in set
// first, then an operator's directory): a definition with the id of an
// earlier one replaces it whole. A bad file fails the load with a
// *LoadError naming the file and the field.
func Load(fsys ...fs.FS) (*Catalog, error) {
	byID := map[string]*Vendor{}
	for _, f := range fsys {
		defs, err := readDefinitions(f)
		if err != nil {
			return nil, err
		}
		for _, d := range defs {
			byID[d.ID] = d
		}
	}
	if byID[GenericID] == nil {
		byID[GenericID] = &Vendor{ID: GenericID, Name: "generic"}
	}
	return compile(byID)
}

func compile(byID map[string]*Vendor) (*Catalog, error) {
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)

	c := &Catalog{hostExact: map[string]*vendor{}}
	owner := map[string]string{} // host or path → vendor id, to catch clashes
	for _, id := range ids {
		d := byID[id]
		v := &vendor{def: d, codes: map[string]*Code{}, statuses: map[int]*Status{}}
		for i := range d.Codes {
			v.codes[d.Codes[i].Code] = &d.Codes[i]
		}
		for i := range d.Statuses {
			v.statuses[d.Statuses[i].Status] = &d.Statuses[i]
		}
		for _, w := range d.Words {
			w.Words = lowerAll(w.Words)
			v.words = append(v.words, w)
		}
		for _, m := range d.Messages {
			v.messages = append(v.messages, lowerAll(m.Contains))
		}
		for _, t := range d.Transport {
			v.transport = append(v.transport, transportRule{code: v.codes[t.Code], spellings: lowerAll(t.Spellings)})
		}
		v.ranges = append([]Range(nil), d.Ranges...)
		sort.Slice(v.ranges, func(i, j int) bool { return v.ranges[i].From < v.ranges[j].From })
		for i := range d.Envelopes {
			e, err := compileEnvelope(v, &d.Envelopes[i])
			if err != nil {
				return nil, &LoadError{File: id + ".yaml", Field: fmt.Sprintf("envelopes[%d]", i), Err: err}
			}
			v.envelopes = append(v.envelopes, e)
			if e.def.Attribute && id != GenericID {
				c.attrib = append(c.attrib, e)
			}
		}
		for _, h := range d.Match.Hosts {
			if prev, ok := owner["host "+h]; ok {
				return nil, &LoadError{File: id + ".yaml", Field: "match.hosts", Err: fmt.Errorf("%s is also claimed by %s", h, prev)}
			}
			owner["host "+h] = id
			if suffix, ok := strings.CutPrefix(h, "*"); ok {
				c.hostWild = append(c.hostWild, match{suffix, v})
			} else {
				c.hostExact[h] = v
			}
		}
		for _, p := range d.Match.Paths {
			if prev, ok := owner["path "+p]; ok {
				return nil, &LoadError{File: id + ".yaml", Field: "match.paths", Err: fmt.Errorf("%s is also claimed by %s", p, prev)}
			}
			owner["path "+p] = id
			c.paths = append(c.paths, match{p, v})
		}
		c.vendors = append(c.vendors, v)
		if id == GenericID {
			c.generic = v
		}
	}
	for _, v := range c.vendors {
		if len(v.envelopes) == 0 && v != c.generic {
			v.fallback = c.generic
		}
	}
	longestFirst := func(m []match) {
		sort.Slice(m, func(i, j int) bool { return len(m[i].key) > len(m[j].key) })
	}
	longestFirst(c.hostWild)
	longestFirst(c.paths)
	return c, nil
}

func lowerAll(s []string) []string {
	out := make([]string, len(s))
	for i, w := range s {
		out[i] = strings.ToLower(w)
	}
	return out
}

// vendorFor returns the vendor that claims a request by host, then by path
// prefix, or nil.
func (c *Catalog) vendorFor(host, path string) *vendor {
	if v, ok := c.hostExact[host]; ok {
		return v
	}
	for _, m := range c.hostWild {
		if strings.HasSuffix(host, m.key) {
			return m.vendor
		}
	}
	for _, m := range c.paths {
		if strings.HasPrefix(path, m.key) {
			return m.vendor
		}
	}
	return nil
}

// rangeFor returns the vendor's range holding a numeric code.
func (v *vendor) rangeFor(code string) *Range {
	if len(v.ranges) == 0 {
		return nil
	}
	n, err := strconv.ParseInt(code, 10, 64)
	if err != nil {
		return nil
	}
	i := sort.Search(len(v.ranges), func(i int) bool { return v.ranges[i].To >= n })
	if i < len(v.ranges) && v.ranges[i].From <= n {
		return &v.ranges[i]
	}
	return nil
}

// status returns the vendor's verdict for an HTTP status, else the generic one.
func (c *Catalog) status(v *vendor, status int) *Status {
	if s, ok := v.statuses[status]; ok {
		return s
	}
	return c.generic.statuses[status]
}

// Vendors returns the ids of the loaded definitions, generic last.
func (c *Catalog) Vendors() []string {
	var ids []string
	for _, v := range c.vendors {
		if v != c.generic {
			ids = append(ids, v.def.ID)
		}
	}
	return append(ids, GenericID)
}

// Vendor returns a loaded definition by id, or nil.
func (c *Catalog) Vendor(id string) *Vendor {
	for _, v := range c.vendors {
		if v.def.ID == id {
			return v.def
		}
	}
	return nil
}

// Entry is one line of the catalog listing (`apierr codes`).
type Entry struct {
	Vendor   string   `json:"vendor"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
	Range    string   `json:"range"`
	Category Category `json:"category"`
	Retry    Retry    `json:"retry"`
	Source   string   `json:"source"`
	Status   int      `json:"http_status,omitempty"`
	Why      string   `json:"why"`
	Doc      string   `json:"doc,omitempty"`     // the entry's page, else the vendor's error page
	Guessed  bool     `json:"guessed,omitempty"` // a draft entry not yet reviewed (codes --unknown)
}

// Entries lists the catalog: every code and every HTTP status of each
// vendor (of one vendor when id is not empty), in catalog order.
func (c *Catalog) Entries(id string) []Entry {
	var out []Entry
	for _, v := range c.vendors {
		d := v.def
		if id != "" && d.ID != id {
			continue
		}
		src := func(s string) string {
			if s != "" {
				return s
			}
			return d.Source
		}
		doc := func(s string) string {
			if s != "" {
				return s
			}
			return d.Doc
		}
		for _, k := range d.Codes {
			rng := ""
			if r := v.rangeFor(k.Code); r != nil {
				rng = r.Name
			}
			out = append(out, Entry{Vendor: d.ID, Code: k.Code, Message: k.Message, Range: rng,
				Category: k.Category, Retry: k.Retry, Source: src(k.Source), Status: k.Status, Why: why(k.Why, k.Category), Doc: doc(k.Doc), Guessed: k.Guessed})
		}
		for _, s := range d.Statuses {
			out = append(out, Entry{Vendor: d.ID, Code: StatusCode(s.Status), Message: s.Message, Range: statusRange(s.Status),
				Category: s.Category, Retry: s.Retry, Source: src(s.Source), Status: s.Status, Why: why(s.Why, s.Category), Doc: doc(s.Doc), Guessed: s.Guessed})
		}
	}
	return out
}

// Doc returns the vendor's documentation page for a stored error: the
// code's own page, else its status's, else the vendor's error page ("" for
// a host no vendor claims).
func (c *Catalog) Doc(vendor, code string, status int) string {
	for _, x := range c.vendors {
		if x.def.ID != vendor {
			continue
		}
		if k, ok := x.codes[code]; ok && k.Doc != "" {
			return k.Doc
		}
		if s := c.status(x, status); s != nil && s.Doc != "" {
			return s.Doc
		}
		return x.def.Doc
	}
	return ""
}

// StatusCode is the code of an error the body names no code for: http_<status>.
func StatusCode(status int) string { return "http_" + strconv.Itoa(status) }

func statusRange(status int) string {
	switch {
	case status >= 400 && status < 500:
		return "http_4xx"
	case status >= 500 && status < 600:
		return "http_5xx"
	}
	return ""
}

func why(w string, c Category) string {
	if w != "" {
		return w
	}
	return defaultWhy[c]
}

// Why returns the reason behind a verdict for a stored error: the catalog
// entry's own reason for a known code or status when the verdict is the
// entry's, the response headers' when they changed it, else the category's.
func (c *Catalog) Why(vendor, code string, category Category, retry Retry) string {
	entryWhy := func(w string, cat Category, r Retry) string {
		switch {
		case r == retry:
			return why(w, cat)
		case retry == RetryAfter:
			return "the response said when to come back (Retry-After or a rate-limit reset): wait for it, then retry"
		}
		return why("", category)
	}
	if isTransport(code) && retry == RetryNo {
		return whyTransportUnsafe
	}
	v := c.generic // hosts no vendor claims
	for _, x := range c.vendors {
		if x.def.ID == vendor {
			v = x
		}
	}
	if k, ok := v.lookup(code); ok {
		return entryWhy(k.Why, k.Category, k.Retry)
	}
	// A message rule's reason, when exactly one rule gives this verdict
	// (the stored error does not say which rule decided).
	var rule *MessageRule
	n := 0
	for i, m := range v.def.Messages {
		if m.Category == category && m.Retry == retry && (m.Code == "" || m.Code == code) {
			rule, n = &v.def.Messages[i], n+1
		}
	}
	if n == 1 {
		return why(rule.Why, rule.Category)
	}
	if n, ok := strings.CutPrefix(code, "http_"); ok {
		if st, err := strconv.Atoi(n); err == nil {
			if s := c.status(v, st); s != nil {
				return entryWhy(s.Why, s.Category, s.Retry)
			}
		}
	}
	return why("", category)
}
