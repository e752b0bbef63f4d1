package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/apierr/apierr/ingest"
	"go.yaml.in/yaml/v3"
)

// Config is the daemon's configuration file (etc/apierr.yaml documents every key).
// Every key has a default; unknown keys are errors.
type Config struct {
	DB            string        `yaml:"db"`
	Inputs        []InputConfig `yaml:"inputs"`
	FlushInterval Duration      `yaml:"flush_interval"`
	Retention     Duration      `yaml:"retention"`
	RollupAfter   Duration      `yaml:"rollup_after"`
	VendorsDir    string        `yaml:"vendors_dir"`
	Summary       SummaryConfig `yaml:"summary"`
	MetricsListen string        `yaml:"metrics_listen"`
	// MetricsServiceLabel adds the calling service as a label of the
	// requests and errors counters (off: a label multiplies series).
	MetricsServiceLabel bool `yaml:"metrics_service_label"`
	// WebConfig names a file in the Prometheus exporter-toolkit
	// web-config format (TLS, basic auth) for the metrics_listen listener.
	WebConfig string       `yaml:"web_config"`
	Limits    LimitsConfig `yaml:"limits"`
	LogLevel  string       `yaml:"log_level"`
	// Host names this host in fleet reports; default: the hostname.
	Host string `yaml:"host"`
}

// InputConfig is one set of log files and how to read them.
type InputConfig struct {
	Paths  StringList   `yaml:"paths"`
	Format FormatConfig `yaml:"format"`
	// Service is the calling service of lines that do not name one.
	Service string `yaml:"service"`
	// Match names the lines that are requests: path → value or /regexp/.
	Match map[string]string `yaml:"match"`
	// Text is "skip" to skip lines that are not JSON instead of counting
	// them malformed.
	Text string `yaml:"text"`
}

// Mapping returns the decoder mapping of the input: its format, match
// rules and text setting.
func (in InputConfig) Mapping() (ingest.Mapping, error) {
	m, err := in.Format.Mapping()
	if err != nil {
		return m, fmt.Errorf("format: %w", err)
	}
	if len(in.Match) > 0 {
		if m.Match, err = ingest.ParseMatch(in.Match); err != nil {
			return m, err
		}
	}
	switch in.Text {
	case "":
	case "skip":
		m.SkipText = true
	default:
		return m, fmt.Errorf("text: want skip, got %q", in.Text)
	}
	return m, nil
}

// StringList is a list of strings, written as a YAML list or, for one
// item, a plain string.
type StringList []string

// UnmarshalYAML accepts a string or a list of strings.
func (l *StringList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*l = StringList{n.Value}
		return nil
	case yaml.SequenceNode:
		out := make(StringList, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: want a string or a list of strings", c.Line)
			}
			out = append(out, c.Value)
		}
		*l = out
		return nil
	}
	return fmt.Errorf("line %d: want a string or a list of strings", n.Line)
}

// FormatConfig is `auto` or a field mapping: field name → a JSON path, or
// a list of candidate paths tried in order.
type FormatConfig struct {
	Fields map[string][]string
}

// UnmarshalYAML accepts `auto` or a mapping.
func (f *FormatConfig) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value != "auto" && n.Value != "" {
			return fmt.Errorf("line %d: want auto or a field mapping, got %q", n.Line, n.Value)
		}
		f.Fields = nil
		return nil
	case yaml.MappingNode:
		m := make(map[string][]string, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			var l StringList
			if err := l.UnmarshalYAML(n.Content[i+1]); err != nil {
				return fmt.Errorf("line %d: %s: want a path or a list of paths", n.Content[i+1].Line, n.Content[i].Value)
			}
			m[n.Content[i].Value] = l
		}
		f.Fields = m
		return nil
	}
	return fmt.Errorf("line %d: want auto or a field mapping", n.Line)
}

// Mapping returns the decoder mapping.
func (f FormatConfig) Mapping() (ingest.Mapping, error) {
	if f.Fields == nil {
		return ingest.AutoMapping(), nil
	}
	return ingest.ParseMappingPaths(f.Fields)
}

// SummaryConfig says how often the daemon writes a summary and where.
type SummaryConfig struct {
	Every Duration `yaml:"every"`
	To    string   `yaml:"to"` // "stderr", or a directory
}

// LimitsConfig caps cardinality and line size.
type LimitsConfig struct {
	CodesPerVendor     int      `yaml:"codes_per_vendor"`
	Vendors            int      `yaml:"vendors"`
	EndpointsPerVendor int      `yaml:"endpoints_per_vendor"`
	Services           int      `yaml:"services"` // calling services kept apart; the rest are counted as other
	LineBytes          ByteSize `yaml:"line_bytes"`
}

// Duration is a time.Duration written as "2s", "1h" or "30d".
type Duration time.Duration

// UnmarshalYAML parses a duration with an optional day unit.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad duration %q (want 500ms, 2s, 1h, 30d ...)", s)
	}
	return v, nil
}

// ByteSize is a size written as "1MiB", "512KiB", "64KB" or a number of bytes.
type ByteSize int64

// UnmarshalYAML parses a size.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000_000}, {"GB", 1000_000_000}, {"B", 1}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(v), u.mult
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return fmt.Errorf("line %d: bad size %q (want 1MiB, 512KiB, 65536 ...)", n.Line, n.Value)
	}
	*b = ByteSize(v * mult)
	return nil
}

// DefaultConfig returns the configuration used when a key is not given.
func DefaultConfig() Config {
	return Config{
		FlushInterval: Duration(2 * time.Second),
		Retention:     Duration(30 * 24 * time.Hour),
		RollupAfter:   Duration(48 * time.Hour),
		VendorsDir:    "/etc/apierr/vendors.d",
		Summary:       SummaryConfig{Every: Duration(time.Hour), To: "stderr"},
		MetricsListen: "127.0.0.1:9464",
		Limits:        LimitsConfig{CodesPerVendor: 1000, Vendors: 1000, EndpointsPerVendor: 1000, Services: 200, LineBytes: ingest.DefaultMaxLine},
		LogLevel:      "info",
		Host:          hostname(),
	}
}

// hostname is the machine's name, the default host of fleet reports.
func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return h
}

// ParseConfig reads a YAML config over the defaults. Unknown keys are
// errors that name the key.
func ParseConfig(r io.Reader) (Config, error) {
	c := DefaultConfig()
	data, err := io.ReadAll(r)
	if err != nil {
		return c, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return c, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return c, yamlError(err)
	}
	if len(doc.Content) > 0 {
		if err := checkNode("", doc.Content[0], reflect.TypeOf(c)); err != nil {
			return c, err
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, yamlError(err)
	}
	return c, c.Validate()
}

// ReadConfigFile reads and validates a config file.
func ReadConfigFile(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, &UsageError{Err: fmt.Errorf("config: %w", err)}
	}
	defer f.Close()
	c, err := ParseConfig(f)
	if err != nil {
		return c, &UsageError{Err: fmt.Errorf("config %s: %w", path, err)}
	}
	return c, nil
}

// Validate checks the values, naming the key at fault.
func (c *Config) Validate() error {
	switch {
	case c.FlushInterval <= 0:
		return errors.New("flush_interval: must be above 0")
	case c.Limits.Vendors <= 0 || c.Limits.CodesPerVendor <= 0 || c.Limits.EndpointsPerVendor <= 0 || c.Limits.Services <= 0:
		return errors.New("limits: vendors, codes_per_vendor, endpoints_per_vendor and services must be above 0")
	case c.Limits.LineBytes < 256:
		return errors.New("limits.line_bytes: must be at least 256")
	case c.Summary.To == "":
		return errors.New("summary.to: want stderr or a directory")
	}
	for i, in := range c.Inputs {
		if len(in.Paths) == 0 {
			return fmt.Errorf("inputs[%d].paths: give at least one path or glob", i)
		}
		for _, p := range in.Paths {
			if _, err := filepath.Match(p, ""); err != nil {
				return fmt.Errorf("inputs[%d].paths: bad glob %q", i, p)
			}
		}
		if _, err := in.Mapping(); err != nil {
			return fmt.Errorf("inputs[%d].%w", i, err)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log_level: want debug, info, warn or error, got %q", c.LogLevel)
	}
	return nil
}

// dbPath resolves the database path: the flag, the config, $APIERR_DB,
// then $XDG_STATE_HOME/apierr/apierr.db (~/.local/state/apierr/apierr.db).
func (m *Main) dbPath(flagValue, configValue string) string {
	for _, p := range []string{flagValue, configValue, m.Getenv("APIERR_DB")} {
		if p != "" {
			return p
		}
	}
	state := m.Getenv("XDG_STATE_HOME")
	if state == "" {
		home := m.Getenv("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		state = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(state, "apierr", "apierr.db")
}

// yamlError is the YAML parser's message without its package's framing.
func yamlError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	return errors.New(strings.TrimSpace(msg))
}

// checkNode walks a YAML node against the Go type it decodes into, so that
// a mistake is named by its key and line in the config's own words: an
// unknown key with the closest known one, a value of the wrong kind with
// the kind wanted. The strict decoder that runs after it stays the last
// word.
func checkNode(key string, n *yaml.Node, t reflect.Type) error {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]()) {
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			msg := strings.TrimPrefix(err.Error(), "yaml: ")
			if !strings.HasPrefix(msg, "line ") {
				msg = fmt.Sprintf("line %d: %s", n.Line, msg)
			}
			line, rest, _ := strings.Cut(msg, ": ")
			return fmt.Errorf("%s: %s: %s", line, key, rest)
		}
		return nil
	}
	want := func(what string) error {
		return fmt.Errorf("line %d: %s: want %s, got %s", n.Line, key, what, describe(n))
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return want("a mapping of keys")
		}
		known := map[string]reflect.StructField{}
		var names []string
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			known[name] = f
			names = append(names, name)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			f, ok := known[k.Value]
			if !ok {
				msg := fmt.Sprintf("line %d: unknown key %q", k.Line, k.Value)
				if key != "" {
					msg = fmt.Sprintf("line %d: %s: unknown key %q", k.Line, key, k.Value)
				}
				if near := closest(k.Value, names); near != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", near)
				} else {
					msg += " (known keys: " + strings.Join(names, ", ") + ")"
				}
				return errors.New(msg)
			}
			if err := checkNode(join(key, k.Value), v, f.Type); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return want("a list")
		}
		for i, c := range n.Content {
			if err := checkNode(fmt.Sprintf("%s[%d]", key, i), c, t.Elem()); err != nil {
				return err
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return want("a mapping")
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkNode(join(key, n.Content[i].Value), n.Content[i+1], t.Elem()); err != nil {
				return err
			}
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			return want("a string")
		}
	case reflect.Int, reflect.Int64:
		var v int64
		if n.Kind != yaml.ScalarNode || n.Decode(&v) != nil {
			return want("a whole number")
		}
	case reflect.Bool:
		var v bool
		if n.Kind != yaml.ScalarNode || n.Decode(&v) != nil {
			return want("true or false")
		}
	}
	return nil
}

func join(key, name string) string {
	if key == "" {
		return name
	}
	return key + "." + name
}

// describe names what a YAML node holds, for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return strconv.Quote(n.Value)
}

// closest returns the known name nearest to s by edit distance, or "" when
// none is near enough to be a likely typo.
func closest(s string, names []string) string {
	best, bestD := "", len(s)/2+2
	for _, n := range names {
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// systemConfig is the config read when neither --config nor
// $APIERR_CONFIG names one and it exists (where the packages install it).
var systemConfig = "/etc/apierr/apierr.yaml"

// configFlag registers --config: default $APIERR_CONFIG, else
// /etc/apierr/apierr.yaml when that file exists, else none.
func (m *Main) configFlag(fs *flag.FlagSet) *string {
	def := m.Getenv("APIERR_CONFIG")
	if def == "" {
		if _, err := os.Stat(systemConfig); err == nil {
			def = systemConfig
		}
	}
	return fs.String("config", def, "config `FILE` (default: $APIERR_CONFIG, else "+systemConfig+" when it exists)")
}

// inputFor returns the index of the first input whose globs match the
// file (its path as given, or absolute), or -1.
func (c Config) inputFor(file string) int {
	abs, _ := filepath.Abs(file)
	for i, in := range c.Inputs {
		for _, g := range in.Paths {
			if ok, _ := filepath.Match(g, file); ok {
				return i
			}
			if ok, _ := filepath.Match(g, abs); ok && abs != "" {
				return i
			}
		}
	}
	return -1
}

// mappingFor is the mapping of the config input whose globs match file,
// else the auto mapping.
func (c Config) mappingFor(file string) (ingest.Mapping, error) {
	i := c.inputFor(file)
	if i < 0 {
		return ingest.AutoMapping(), nil
	}
	m, err := c.Inputs[i].Mapping()
	if err != nil {
		return m, usageErrorf("inputs[%d].%v", i, err)
	}
	return m, nil
}

// fileGroup is files read with one input's settings.
type fileGroup struct {
	Mapping ingest.Mapping
	Files   []string
}

// groupFiles sorts files by the config input whose globs match them (auto
// for a file no input matches), in the order they were given. With no
// files, it takes every file the inputs' globs match, each once.
func (c Config) groupFiles(files []string) ([]fileGroup, error) {
	if len(files) == 0 {
		seen := map[string]bool{}
		for _, in := range c.Inputs {
			for _, g := range in.Paths {
				matches, err := filepath.Glob(g)
				if err != nil {
					return nil, usageErrorf("bad glob %q", g)
				}
				for _, f := range matches {
					if fi, err := os.Stat(f); err == nil && fi.Mode().IsRegular() && !seen[f] {
						seen[f] = true
						files = append(files, f)
					}
				}
			}
		}
		if len(files) == 0 {
			return nil, usageErrorf("no files: the config's inputs match none; name the files to read, or - for standard input")
		}
	}
	index := map[int]int{} // input → group
	var groups []fileGroup
	for _, f := range files {
		i := c.inputFor(f)
		g, ok := index[i]
		if !ok {
			m, err := c.mappingFor(f)
			if err != nil {
				return nil, err
			}
			g = len(groups)
			index[i] = g
			groups = append(groups, fileGroup{Mapping: m})
		}
		groups[g].Files = append(groups[g].Files, f)
	}
	return groups, nil
}
