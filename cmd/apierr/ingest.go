package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/apierr/apierr/daemon"
	"github.com/apierr/apierr/ingest"
	"github.com/apierr/apierr/storage"
	"github.com/mattn/go-isatty"
)

// IngestCommand reads files (or standard input) once, to their end.
type IngestCommand struct{ m *Main }

// Run ingests the named files. It is idempotent per file: a file read
// before is read from where the last run stopped, so only new lines count.
// Standard input has no position and counts every time.
func (c *IngestCommand) Run(ctx context.Context, args []string) error {
	fset := c.m.newFlagSet("ingest", "ingest [--config FILE] [--db PATH] FILE... | -")
	configPath := c.m.configFlag(fset)
	dbFlag := fset.String("db", "", "database `PATH` (default: the config's db, $APIERR_DB, or $XDG_STATE_HOME/apierr/apierr.db)")
	quiet := fset.Bool("q", false, "no progress and no summary line")
	cpuprofile := fset.String("cpuprofile", "", "write a CPU profile to `FILE`")
	if err := parseFlags(fset, args); err != nil {
		return err
	}
	cfg, err := c.m.loadConfig(*configPath)
	if err != nil {
		return err
	}
	if fset.NArg() == 0 && len(cfg.Inputs) == 0 {
		return usageErrorf("ingest: name the files to read, or - for standard input")
	}
	stdin := len(fset.Args()) == 1 && fset.Arg(0) == "-"
	if !stdin {
		for _, name := range fset.Args() {
			if name == "-" {
				return usageErrorf("ingest: - (standard input) cannot be mixed with files")
			}
			if _, err := os.Stat(name); err != nil {
				return err
			}
		}
	}
	cat, err := catalogFor(cfg)
	if err != nil {
		return err
	}
	mapping, err := mappingOf(cfg)
	if err != nil {
		return err
	}
	var groups []fileGroup // each file gets the settings of the input that matches it
	if !stdin {
		if groups, err = cfg.groupFiles(fset.Args()); err != nil {
			return err
		}
	}
	db := storage.NewDB(c.m.dbPath(*dbFlag, cfg.DB))
	db.Limits = limitsOf(cfg)
	db.Exclusive = true // one writer per database: a second one stops with the holder's pid
	db.KnownVendors = daemon.KnownVendors(cat)
	if err := db.Open(); err != nil {
		return err
	}
	defer db.Close()
	newPipeline := func(m ingest.Mapping) *daemon.Pipeline {
		p := daemon.NewPipeline(db, cat, []ingest.Mapping{m}, int(cfg.Limits.LineBytes), c.m.logger(cfg.LogLevel))
		p.Retention = time.Duration(cfg.Retention)
		return p
	}

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	var st daemon.Stats
	if stdin {
		groups = []fileGroup{{Mapping: mapping}}
	}
	for _, g := range groups {
		p := newPipeline(g.Mapping)
		stop := c.progress(p, *quiet)
		if stdin {
			err = p.ReadStream(ctx, c.m.Stdin)
		} else {
			err = p.ReadFiles(ctx, g.Files)
		}
		stop()
		if err != nil {
			return err
		}
		gs := p.Stats()
		st.Lines, st.Bytes, st.Requests, st.Errors, st.Malformed, st.Skipped = st.Lines+gs.Lines, st.Bytes+gs.Bytes,
			st.Requests+gs.Requests, st.Errors+gs.Errors, st.Malformed+gs.Malformed, st.Skipped+gs.Skipped
	}
	if !*quiet {
		el := time.Since(start)
		fmt.Fprintf(c.m.Stderr, "apierr: ingested %d lines (%.1f MB) in %.2fs (%.0f lines/s, %.0f MB/s): %d requests, %d errors, %d malformed; peak RSS %.1f MiB\n",
			st.Lines, float64(st.Bytes)/1e6, el.Seconds(), float64(st.Lines)/el.Seconds(), float64(st.Bytes)/1e6/el.Seconds(),
			st.Requests, st.Errors, st.Malformed, daemon.PeakRSS())
	}
	return nil
}

// progress shows lines and MB/s on a terminal every half second; the
// returned function stops it.
func (c *IngestCommand) progress(p *daemon.Pipeline, quiet bool) func() {
	f, ok := c.m.Stderr.(*os.File)
	if quiet || !ok || !isatty.IsTerminal(f.Fd()) {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		start := time.Now()
		for {
			select {
			case <-done:
				fmt.Fprint(f, "\r\033[K")
				return
			case <-tick.C:
				el := time.Since(start).Seconds()
				st := p.Stats()
				fmt.Fprintf(f, "\r\033[K%d lines, %.1f MB/s", st.Lines, float64(st.Bytes)/1e6/el)
			}
		}
	}()
	return func() { close(done); <-finished }
}
