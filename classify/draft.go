package classify

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// UnknownCode is a code seen in the logs that its vendor's catalog does not
// know, as `apierr codes --unknown` drafts it.
type UnknownCode struct {
	Vendor  string // vendor id, or the host of an unclaimed request
	Code    string // the code, or http_<status> when the body named none
	Status  int    // the HTTP status it came with (the most frequent)
	Count   int64  // how often it was seen
	Message string // a sample message, redacted
}

// Knows reports whether the catalog of vendor (a vendor id, or the host of
// a request no vendor claims) has an entry for code: a code entry, or the
// status entry of an http_<status> code.
func (c *Catalog) Knows(vendor, code string) bool {
	v := c.byID(vendor)
	if _, ok := v.lookup(code); ok {
		return true
	}
	if n, ok := strings.CutPrefix(code, "http_"); ok {
		if st, err := strconv.Atoi(n); err == nil {
			return c.status(v, st) != nil
		}
	}
	return false
}

// byID returns a vendor by id, else the vendor that claims the name as a
// host (events stored before its definition was added are named by their
// host), else the generic definition.
func (c *Catalog) byID(id string) *vendor {
	for _, v := range c.vendors {
		if v.def.ID == id {
			return v
		}
	}
	if v := c.vendorFor(id, ""); v != nil {
		return v
	}
	return c.generic
}

// VendorID returns the id of the vendor a stored vendor name stands for:
// the name itself, or the id of the vendor that now claims it as a host.
func (c *Catalog) VendorID(name string) string {
	if v := c.byID(name); v != c.generic {
		return v.def.ID
	}
	return name
}

// Guess returns a verdict for a code no catalog knows, from the generic
// rules: the words of the code and message, else the vendor's (or the
// generic) verdict for the HTTP status, else server for a 5xx and
// unknown for the rest.
func (c *Catalog) Guess(vendor, code string, status int, message string) (Category, Retry) {
	ev := Event{Code: code, HTTPStatus: status}
	switch s := c.status(c.byID(vendor), status); {
	case s != nil:
		ev.Category, ev.Retry = s.Category, s.Retry
	case status >= 500:
		ev.Category, ev.Retry = Server, RetryBackoff
	default:
		ev.Category, ev.Retry = Unknown, RetryNo
	}
	if status < 500 {
		applyWords(&ev, c.generic, []byte(message))
	}
	return ev.Category, ev.Retry
}

// maxDraftMessage bounds a sample message in a draft, in bytes.
const maxDraftMessage = 200

// Draft returns a vendor file that adds the unknown codes of one vendor,
// each marked guessed: true with a verdict from Guess, for a person to
// review. For a vendor of the catalog it is that vendor's file (comments
// kept) with the codes appended, since a file in vendors_dir replaces the
// built-in of the same id whole. For a host no vendor claims it is a new
// vendor matching that host, whose bodies the generic recognizers read.
// It returns the vendor id, which is also the file's name without .yaml.
func (c *Catalog) Draft(vendor string, unknown []UnknownCode) (id string, data []byte, err error) {
	var src []byte
	if v := c.byID(vendor); v != c.generic {
		d := v.def
		id, src = d.ID, d.raw
		if src == nil { // built by hand, not read from a file
			if src, err = yaml.Marshal(d); err != nil {
				return "", nil, err
			}
		}
	} else {
		id = c.hostID(vendor)
		src = fmt.Appendf(nil, "# A draft for the requests to %s, which no vendor file claims: its\n"+
			"# error bodies are read by the generic recognizers. Rename id and the\n"+
			"# file as you like (they must agree), then review every entry.\n"+
			"id: %s\nname: %s\nsource: %q\nmatch:\n  hosts: [%s]\n",
			vendor, id, vendor, "codes seen in the logs (apierr codes --unknown), not yet checked against the vendor's documentation", vendor)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return "", nil, fmt.Errorf("draft %s: %w", id, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return "", nil, fmt.Errorf("draft %s: the vendor file is not a mapping", id)
	}
	root := doc.Content[0]
	sorted := append([]UnknownCode(nil), unknown...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Count > sorted[j].Count })
	for _, u := range sorted {
		cat, retry := c.Guess(vendor, u.Code, u.Status, u.Message)
		msg := draftMessage(u)
		times := fmt.Sprintf("%d times", u.Count)
		if u.Count == 1 {
			times = "once"
		}
		comment := fmt.Sprintf("seen %s, HTTP %d; guessed from the status and message: review", times, u.Status)
		if n, ok := strings.CutPrefix(u.Code, "http_"); ok {
			if st, err := strconv.Atoi(n); err == nil && st >= 100 && st <= 999 {
				appendEntry(root, "statuses", comment,
					"status", strconv.Itoa(st), "message", msg, "category", string(cat), "retry", string(retry), "guessed", "true")
				continue
			}
		}
		pairs := []string{"code", u.Code, "message", msg, "category", string(cat), "retry", string(retry)}
		if u.Status >= 100 && u.Status <= 999 {
			pairs = append(pairs, "status", strconv.Itoa(u.Status))
		}
		appendEntry(root, "codes", comment, append(pairs, "guessed", "true")...)
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return "", nil, fmt.Errorf("draft %s: %w", id, err)
	}
	if err := enc.Close(); err != nil {
		return "", nil, err
	}
	// The draft must load as it is: check it with the loader's own rules.
	if _, err := parseVendor(id+".yaml", out.Bytes()); err != nil {
		return "", nil, fmt.Errorf("draft %s does not load: %w", id, err)
	}
	return id, out.Bytes(), nil
}

// draftMessage is the sample message of an unknown code, one line and
// short, or a placeholder: a code entry needs a message.
func draftMessage(u UnknownCode) string {
	m := Redact(strings.Join(strings.Fields(u.Message), " "))
	if len(m) > maxDraftMessage {
		cut := maxDraftMessage
		for cut > 0 && m[cut]&0xC0 == 0x80 {
			cut--
		}
		m = m[:cut] + "…"
	}
	if m == "" {
		m = fmt.Sprintf("seen with HTTP %d; no message was logged", u.Status)
	}
	return m
}

// appendEntry appends a flow mapping of key/value pairs, with a comment,
// to the sequence under key in root, creating the key if absent.
func appendEntry(root *yaml.Node, key, comment string, pairs ...string) {
	var seq *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == key {
			seq = root.Content[i+1]
		}
	}
	if seq == nil || seq.Kind != yaml.SequenceNode {
		if seq == nil {
			seq = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, seq)
		} else { // "codes:" with nothing (null): make it a list
			*seq = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		}
	}
	seq.Style &^= yaml.FlowStyle // "codes: []" would put every entry on one line
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle, HeadComment: comment}
	for i := 0; i+1 < len(pairs); i += 2 {
		v := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: pairs[i+1]}
		switch pairs[i] {
		case "status":
			v.Tag = "!!int"
		case "guessed":
			v.Tag = "!!bool"
		case "retry":
			if v.Value == string(RetryNo) {
				v.Style = yaml.DoubleQuotedStyle // a YAML 1.1 reader takes a bare no for false
			}
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: pairs[i]}, v)
	}
	seq.Content = append(seq.Content, m)
}

var notIDChar = regexp.MustCompile(`[^a-z0-9]+`)

// hostID derives a vendor id from a host: "api.acme-pay.io" → "acme-pay".
// The usual API prefixes and the top-level domain go; an id the catalog
// already has keeps the whole host.
func (c *Catalog) hostID(host string) string {
	h := strings.ToLower(host)
	labels := strings.Split(h, ".")
	for len(labels) > 2 && (labels[0] == "api" || labels[0] == "www") {
		labels = labels[1:]
	}
	if len(labels) >= 2 {
		labels = labels[:len(labels)-1]
	}
	id := strings.Trim(notIDChar.ReplaceAllString(strings.Join(labels, "-"), "-"), "-")
	if id == "" || !idPattern.MatchString(id) || c.Vendor(id) != nil {
		id = strings.Trim(notIDChar.ReplaceAllString(h, "-"), "-")
	}
	if len(id) > 63 {
		id = strings.TrimRight(id[:63], "-")
	}
	if id == "" {
		id = "host"
	}
	return id
}
