package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	Limits        LimitsConfig  `yaml:"limits"`
	LogLevel      string        `yaml:"log_level"`
}

// InputConfig is one set of log files and how to read them.
type InputConfig struct {
	Paths  []string     `yaml:"paths"`
	Format FormatConfig `yaml:"format"`
}

// FormatConfig is `auto` or a field mapping (field name → JSON path).
type FormatConfig struct {
	Fields map[string]string
}

// UnmarshalYAML accepts `auto` or a mapping.
func (f *FormatConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		if n.Value != "auto" && n.Value != "" {
			return fmt.Errorf("line %d: format: want auto or a field mapping, got %q", n.Line, n.Value)
		}
		f.Fields = nil
		return nil
	}
	var m map[string]string
	if err := n.Decode(&m); err != nil {
		return err
	}
	f.Fields = m
	return nil
}

// Mapping returns the decoder mapping.
func (f FormatConfig) Mapping() (ingest.Mapping, error) {
	if f.Fields == nil {
		return ingest.AutoMapping(), nil
	}
	return ingest.ParseMapping(f.Fields)
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
		Limits:        LimitsConfig{CodesPerVendor: 1000, Vendors: 1000, EndpointsPerVendor: 1000, LineBytes: ingest.DefaultMaxLine},
		LogLevel:      "info",
	}
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
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
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
	case c.Limits.Vendors <= 0 || c.Limits.CodesPerVendor <= 0 || c.Limits.EndpointsPerVendor <= 0:
		return errors.New("limits: vendors, codes_per_vendor and endpoints_per_vendor must be above 0")
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
		if _, err := in.Format.Mapping(); err != nil {
			return fmt.Errorf("inputs[%d].format: %w", i, err)
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
