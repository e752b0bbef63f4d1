package main

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/daemon"
	"github.com/apierr/apierr/ingest"
	"github.com/apierr/apierr/report"
	"github.com/apierr/apierr/storage"
)

// runSynopsis is run's usage line (and the README's).
const runSynopsis = "run [--config FILE] [--db PATH] [--vendors-dir DIR] [GLOB...]"

// RunCommand is the daemon: tail, classify, store. The work is
// daemon.Server's; this command reads the flags and the config and
// builds it.
type RunCommand struct{ m *Main }

// Run starts the daemon and returns when ctx is done (SIGINT, SIGTERM),
// after committing what was read. SIGHUP (Main.Reload) reloads the config
// and the vendor files.
func (c *RunCommand) Run(ctx context.Context, args []string) error {
	fset := c.m.newFlagSet("run", runSynopsis)
	configPath := c.m.configFlag(fset)
	dbFlag := fset.String("db", "", "database `PATH` (default: the config's db, $APIERR_DB, or $XDG_STATE_HOME/apierr/apierr.db)")
	vendorsDir := c.m.vendorsFlag(fset)
	if err := parseFlags(fset, args); err != nil {
		return err
	}
	cfg, err := c.m.loadConfig(*configPath)
	if err != nil {
		return err
	}
	if err := setVendorsDir(&cfg, *vendorsDir); err != nil {
		return err
	}
	var argInputs []InputConfig // inputs given on the command line override the config's
	if fset.NArg() > 0 {
		argInputs = []InputConfig{{Paths: fset.Args()}}
		cfg.Inputs = argInputs
	}
	if len(cfg.Inputs) == 0 {
		return usageErrorf("no inputs: give log file globs as arguments or inputs in the config")
	}
	settings, err := settingsOf(cfg)
	if err != nil {
		return err
	}
	if err := checkGlobs(settings.Inputs); err != nil {
		return err
	}
	dbPath := c.m.dbPath(*dbFlag, cfg.DB)
	log := c.m.logger(cfg.LogLevel)
	journal := c.m.Getenv("JOURNAL_STREAM") != ""

	db := storage.NewDB(dbPath)
	db.Limits = limitsOf(cfg)
	db.Exclusive = true // one writer per database: a second one stops with the holder's pid
	db.KnownVendors = daemon.KnownVendors(settings.Catalog)
	if err := db.Open(); err != nil {
		return err
	}
	defer db.Close()
	if err := db.SetHost(hostName(cfg.Host)); err != nil {
		return err
	}

	srv := daemon.NewServer(db)
	srv.Settings = settings
	srv.FlushInterval = time.Duration(cfg.FlushInterval)
	srv.RollupAfter = time.Duration(cfg.RollupAfter)
	srv.Retention = time.Duration(cfg.Retention)
	srv.MetricsListen = cfg.MetricsListen
	srv.MetricsServiceLabel = cfg.MetricsServiceLabel
	srv.Version = Version
	srv.Host = hostName(cfg.Host)
	srv.WebConfig = cfg.WebConfig
	srv.Logger = log
	srv.Signals = c.m.Reload
	if cfg.Summary.Every > 0 {
		srv.Summary = daemon.Summary{Every: time.Duration(cfg.Summary.Every), Format: report.Markdown, Top: 10}
		if cfg.Summary.To == "stderr" {
			srv.Summary.Out = c.m.Stderr
			if journal {
				// The journal stores lines: one per failure group.
				srv.Summary.Format = report.Lines
			}
		} else {
			if err := os.MkdirAll(cfg.Summary.To, 0o750); err != nil {
				return usageErrorf("summary.to: %v", err)
			}
			srv.Summary.Dir = cfg.Summary.To
		}
	}
	load := func() (daemon.Settings, error) {
		if *configPath == "" {
			return settingsOf(cfg) // no file: the vendor files only
		}
		next, err := ReadConfigFile(*configPath)
		if err != nil {
			return daemon.Settings{}, err
		}
		if argInputs != nil {
			next.Inputs = argInputs
		}
		if *vendorsDir != "" {
			next.VendorsDir = *vendorsDir
		}
		return settingsOf(next)
	}
	watch := &globWatch{log: log}
	srv.Load = func() (daemon.Settings, error) {
		s, err := load()
		if err == nil {
			err = checkGlobs(s.Inputs)
		}
		if err == nil {
			watch.set(s.Inputs)
		}
		return s, err
	}
	watch.set(settings.Inputs)
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go watch.run(wctx)
	err = srv.Run(ctx)
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "listen" {
		return &UsageError{Err: err}
	}
	return err
}

// settingsOf turns the config into what the daemon can reload: inputs,
// catalog and line limit.
func settingsOf(cfg Config) (daemon.Settings, error) {
	cat, err := catalogFor(cfg)
	if err != nil {
		return daemon.Settings{}, err
	}
	s := daemon.Settings{Catalog: cat, MaxLine: int(cfg.Limits.LineBytes)}
	for i, in := range cfg.Inputs {
		m, err := in.Mapping()
		if err != nil {
			return daemon.Settings{}, usageErrorf("inputs[%d].%v", i, err)
		}
		s.Inputs = append(s.Inputs, daemon.Input{Paths: in.Paths, Mapping: m, Service: in.Service})
	}
	return s, nil
}

// loadConfig reads the config file if one is given, else the defaults.
func (m *Main) loadConfig(path string) (Config, error) {
	if path == "" {
		return DefaultConfig(), nil
	}
	return ReadConfigFile(path)
}

// logger logs to standard error. Under systemd (JOURNAL_STREAM set) the
// lines carry no time=: the journal stamps each one.
func (m *Main) logger(level string) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: l}
	if m.Getenv("JOURNAL_STREAM") != "" {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
	}
	return slog.New(slog.NewTextHandler(m.Stderr, opts))
}

func limitsOf(cfg Config) storage.Limits {
	l := storage.DefaultLimits
	l.Vendors, l.CodesPerVendor, l.EndpointsPerVendor, l.Services = cfg.Limits.Vendors, cfg.Limits.CodesPerVendor, cfg.Limits.EndpointsPerVendor, cfg.Limits.Services
	return l
}

// catalogFor loads the built-in vendors and the config's vendors_dir. The
// default directory is optional; one the config names must exist.
func catalogFor(cfg Config) (*classify.Catalog, error) {
	dir := cfg.VendorsDir
	if dir == DefaultConfig().VendorsDir {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			dir = ""
		}
	}
	return loadCatalog(dir)
}

// mappingOf is the mapping of the config's first input (auto without one):
// what `apierr ingest -` decodes standard input with.
func mappingOf(cfg Config) (ingest.Mapping, error) {
	if len(cfg.Inputs) == 0 {
		return ingest.AutoMapping(), nil
	}
	m, err := cfg.Inputs[0].Mapping()
	if err != nil {
		return m, usageErrorf("inputs[0].%v", err)
	}
	return m, nil
}

// hostName is the name of this host in fleet reports: the config's host,
// else the machine's host name.
func hostName(configured string) string {
	if configured != "" {
		return configured
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}
