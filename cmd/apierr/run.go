package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/ingest"
	"github.com/apierr/apierr/report"
	"github.com/apierr/apierr/storage"
)

// RunCommand is the daemon: tail, classify, store.
type RunCommand struct {
	m *Main

	// Scan, Idle and RotateWait override the tailer's timings (tests).
	Scan, Idle, RotateWait time.Duration
}

// maxBatch commits early when a batch holds this many lines (catch-up).
const maxBatch = 250_000

// Run starts the daemon and returns when ctx is done (SIGINT, SIGTERM),
// after committing what was read.
func (c *RunCommand) Run(ctx context.Context, args []string) error {
	fset := c.m.newFlagSet("run", "run [--config FILE] [--db PATH] [GLOB...]")
	configPath := fset.String("config", c.m.Getenv("APIERR_CONFIG"), "config `FILE` (default $APIERR_CONFIG)")
	dbFlag := fset.String("db", "", "database `PATH` (default: the config's db, $APIERR_DB, or $XDG_STATE_HOME/apierr/apierr.db)")
	if err := parseFlags(fset, args); err != nil {
		return err
	}
	cfg, err := c.m.loadConfig(*configPath)
	if err != nil {
		return err
	}
	if fset.NArg() > 0 {
		cfg.Inputs = []InputConfig{{Paths: fset.Args()}}
	}
	if len(cfg.Inputs) == 0 {
		return usageErrorf("no inputs: give log file globs as arguments or inputs in the config")
	}
	dbPath := c.m.dbPath(*dbFlag, cfg.DB)
	log := c.m.logger(cfg.LogLevel)

	db := storage.NewDB(dbPath)
	db.Limits = limitsOf(cfg)
	if err := db.Open(); err != nil {
		return err
	}
	defer db.Close()

	d := &daemon{cmd: c, cfg: cfg, configPath: *configPath, db: db, log: log}
	if fset.NArg() > 0 {
		d.argInputs = cfg.Inputs
	}
	if cfg.Summary.Every > 0 {
		d.summary = &summarizer{db: db, format: report.Markdown, top: 10, retention: time.Duration(cfg.Retention),
			window: lastWindow(time.Duration(cfg.Summary.Every)), now: time.Now}
		if cfg.Summary.To == "stderr" {
			d.summary.out = c.m.Stderr
		} else {
			if err := os.MkdirAll(cfg.Summary.To, 0o750); err != nil {
				return usageErrorf("summary.to: %v", err)
			}
			d.summary.dir = cfg.Summary.To
		}
	}
	if err := d.load(); err != nil {
		return err
	}
	log.Info("apierr running", "db", dbPath, "inputs", len(cfg.Inputs), "flush_interval", time.Duration(cfg.FlushInterval))
	if cfg.MetricsListen != "" {
		if err := d.startMetrics(ctx); err != nil {
			return err
		}
	}
	return d.run(ctx)
}

// startMetrics serves /metrics and /healthz. Counters resume from the
// database's totals (what retention kept), so they survive restarts.
func (d *daemon) startMetrics(ctx context.Context) error {
	d.metrics = newMetrics(d.filesTailed)
	d.p.metrics = d.metrics
	totals, err := d.db.Totals(ctx)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	d.metrics.add(totals)
	ln := make(chan error, 1)
	go func() {
		ln <- d.metrics.serve(ctx, d.cfg.MetricsListen, 3*time.Duration(d.cfg.FlushInterval)+time.Second, d.filesMatched, d.log)
	}()
	select {
	case err := <-ln:
		if err != nil {
			return &UsageError{Err: err}
		}
	case <-time.After(100 * time.Millisecond): // listening
	}
	return nil
}

// loadConfig reads the config file if one is given, else the defaults.
func (m *Main) loadConfig(path string) (Config, error) {
	if path == "" {
		return DefaultConfig(), nil
	}
	return ReadConfigFile(path)
}

func (m *Main) logger(level string) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: l}))
}

func limitsOf(cfg Config) storage.Limits {
	l := storage.DefaultLimits
	l.Vendors, l.CodesPerVendor, l.EndpointsPerVendor = cfg.Limits.Vendors, cfg.Limits.CodesPerVendor, cfg.Limits.EndpointsPerVendor
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

func mappingsOf(cfg Config) ([]ingest.Mapping, error) {
	var ms []ingest.Mapping
	for i, in := range cfg.Inputs {
		m, err := in.Format.Mapping()
		if err != nil {
			return nil, usageErrorf("inputs[%d].format: %v", i, err)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// daemon is the state of a running `apierr run`.
type daemon struct {
	cmd        *RunCommand
	cfg        Config
	configPath string
	argInputs  []InputConfig // inputs given on the command line override the config's
	db         *storage.DB
	log        *slog.Logger
	p          *pipeline
	cat        *classify.Catalog
	summary    *summarizer // nil: no summaries
	metrics    *metrics    // nil: no metrics

	mu      sync.Mutex
	tailers []*ingest.Tailer // the current ones
}

// filesTailed and filesMatched sum over the current tailers.
func (d *daemon) filesTailed() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, t := range d.tailers {
		n += t.Watching()
	}
	return n
}

func (d *daemon) filesMatched() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, t := range d.tailers {
		n += t.Matched()
	}
	return n
}

// load builds the pipeline from the config and vendor files.
func (d *daemon) load() error {
	cat, err := catalogFor(d.cfg)
	if err != nil {
		return err
	}
	d.cat = cat
	if d.summary != nil {
		d.summary.cat = cat
	}
	maps, err := mappingsOf(d.cfg)
	if err != nil {
		return err
	}
	if d.p == nil {
		d.p = newPipeline(d.db, cat, maps, int(d.cfg.Limits.LineBytes), d.log)
		return nil
	}
	// The next stage's workers pick these up.
	d.p.cat, d.p.mappings, d.p.maxLine = cat, maps, int(d.cfg.Limits.LineBytes)
	return nil
}

// run tails and commits until ctx is done. SIGHUP reloads the config and
// the vendor files: the tailers stop, what they read is committed, and new
// tailers resume from the committed positions, so no line is lost or
// counted twice across a reload.
func (d *daemon) run(ctx context.Context) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := d.db.Maintain(ctx, time.Duration(d.cfg.RollupAfter), time.Duration(d.cfg.Retention)); err != nil {
		d.log.Warn("maintenance failed", "err", err)
	}
	for {
		positions, err := d.db.Positions(ctx)
		if err != nil {
			return fmt.Errorf("read positions: %w", err)
		}
		tctx, stopTailers := context.WithCancel(ctx)
		results := d.p.stage(d.startTailers(tctx, positions))
		reload, err := d.loop(ctx, results, hup)
		stopTailers()
		for r := range results { // what was read before the stop is counted
			d.p.merge(r)
		}
		if cerr := d.p.commit(ctx); cerr != nil && err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if !reload {
			d.log.Info("apierr stopped", "lines", d.p.lines.Load(), "peak_rss_mib", peakRSS())
			return nil
		}
		d.reload()
	}
}

// reload re-reads the config file and vendor files; on error the old ones stay.
func (d *daemon) reload() {
	old := d.cfg
	if d.configPath != "" {
		cfg, err := ReadConfigFile(d.configPath)
		if err != nil {
			d.log.Error("reload: keeping the old config", "err", err)
			return
		}
		if len(d.argInputs) > 0 {
			cfg.Inputs = d.argInputs
		}
		d.cfg = cfg
	}
	if err := d.load(); err != nil {
		d.log.Error("reload: keeping the old config", "err", err)
		d.cfg = old
		return
	}
	d.log.Info("reloaded config and vendor files")
}

// startTailers starts one tailer per input and merges their chunks into
// one channel, closed when every tailer has stopped.
func (d *daemon) startTailers(ctx context.Context, positions []ingest.Position) <-chan input {
	merged := make(chan input, 1)
	var wg sync.WaitGroup
	d.mu.Lock()
	d.tailers = d.tailers[:0]
	d.mu.Unlock()
	for i, in := range d.cfg.Inputs {
		t := ingest.NewTailer(positions)
		d.mu.Lock()
		d.tailers = append(d.tailers, t)
		d.mu.Unlock()
		t.Globs, t.Follow, t.MaxLine, t.Logger = in.Paths, true, int(d.cfg.Limits.LineBytes), d.log
		if d.cmd.Scan > 0 {
			t.Scan = d.cmd.Scan
		}
		if d.cmd.Idle > 0 {
			t.Idle = d.cmd.Idle
		}
		if d.cmd.RotateWait > 0 {
			t.RotateWait = d.cmd.RotateWait
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			t.Run(ctx)
		}()
		go func(idx int) {
			defer wg.Done()
			for c := range t.C {
				merged <- input{idx, c}
			}
		}(i)
	}
	go func() {
		wg.Wait()
		close(merged)
	}()
	return merged
}

// loop counts chunks and commits every flush interval, until ctx is done
// (reload false) or SIGHUP (reload true).
func (d *daemon) loop(ctx context.Context, results <-chan *result, hup <-chan os.Signal) (reload bool, err error) {
	flush := time.NewTicker(time.Duration(d.cfg.FlushInterval))
	defer flush.Stop()
	maintain := time.NewTicker(10 * time.Minute)
	defer maintain.Stop()
	var summary <-chan time.Time
	if d.summary != nil && d.cfg.Summary.Every > 0 {
		t := time.NewTicker(time.Duration(d.cfg.Summary.Every))
		defer t.Stop()
		summary = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return false, nil
		case <-hup:
			return true, nil
		case r, ok := <-results:
			if !ok {
				return false, nil
			}
			d.p.merge(r)
			if d.p.batch.Len() >= maxBatch {
				if err := d.p.commit(ctx); err != nil {
					return false, err
				}
			}
		case <-flush.C:
			if err := d.p.commit(ctx); err != nil {
				return false, err
			}
		case <-maintain.C:
			if err := d.db.Maintain(ctx, time.Duration(d.cfg.RollupAfter), time.Duration(d.cfg.Retention)); err != nil {
				d.log.Warn("maintenance failed", "err", err)
			}
		case <-summary:
			if err := d.p.commit(ctx); err != nil {
				return false, err
			}
			if err := d.summary.write(ctx); err != nil {
				d.log.Warn("summary failed", "err", err)
			}
		}
	}
}
