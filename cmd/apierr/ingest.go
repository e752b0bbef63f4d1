package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"syscall"
	"time"

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
	configPath := fset.String("config", c.m.Getenv("APIERR_CONFIG"), "config `FILE` (default $APIERR_CONFIG)")
	dbFlag := fset.String("db", "", "database `PATH` (default: the config's db, $APIERR_DB, or $XDG_STATE_HOME/apierr/apierr.db)")
	quiet := fset.Bool("q", false, "no progress and no summary line")
	cpuprofile := fset.String("cpuprofile", "", "write a CPU profile to `FILE`")
	if err := parseFlags(fset, args); err != nil {
		return err
	}
	if fset.NArg() == 0 {
		return usageErrorf("ingest: name the files to read, or - for standard input")
	}
	cfg, err := c.m.loadConfig(*configPath)
	if err != nil {
		return err
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
	mapping := ingest.AutoMapping()
	if len(cfg.Inputs) > 0 {
		if mapping, err = cfg.Inputs[0].Format.Mapping(); err != nil {
			return usageErrorf("inputs[0].format: %v", err)
		}
	}
	db := storage.NewDB(c.m.dbPath(*dbFlag, cfg.DB))
	db.Limits = limitsOf(cfg)
	if err := db.Open(); err != nil {
		return err
	}
	defer db.Close()
	p := newPipeline(db, cat, []ingest.Mapping{mapping}, int(cfg.Limits.LineBytes), c.m.logger(cfg.LogLevel))

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
	stop := c.progress(p, *quiet)
	if stdin {
		err = c.readStdin(ctx, p)
	} else {
		err = c.readFiles(ctx, p, db, fset.Args())
	}
	stop()
	if err != nil {
		return err
	}
	if !*quiet {
		el := time.Since(start)
		fmt.Fprintf(c.m.Stderr, "apierr: ingested %d lines (%.1f MB) in %.2fs (%.0f lines/s, %.0f MB/s): %d requests, %d errors, %d malformed; peak RSS %.1f MiB\n",
			p.lines.Load(), float64(p.bytes.Load())/1e6, el.Seconds(), float64(p.lines.Load())/el.Seconds(), float64(p.bytes.Load())/1e6/el.Seconds(),
			p.requests.Load(), p.errors.Load(), p.malformed.Load(), peakRSS())
	}
	return nil
}

func (c *IngestCommand) readFiles(ctx context.Context, p *pipeline, db *storage.DB, files []string) error {
	positions, err := db.Positions(ctx)
	if err != nil {
		return err
	}
	t := ingest.NewTailer(positions)
	t.Files, t.Follow, t.MaxLine, t.Logger = files, false, p.maxLine, p.log
	go t.Run(ctx)
	chunks := make(chan input)
	go func() {
		defer close(chunks)
		for c := range t.C {
			chunks <- input{0, c}
		}
	}()
	return c.consume(ctx, p, chunks)
}

// consume merges the processed chunks and commits in batches.
func (c *IngestCommand) consume(ctx context.Context, p *pipeline, chunks <-chan input) error {
	for r := range p.stage(chunks) {
		p.merge(r)
		if p.batch.Len() >= maxBatch {
			if err := p.commit(ctx); err != nil {
				return err
			}
		}
	}
	return p.commit(ctx)
}

// readStdin reads standard input as chunks of whole lines: it has no
// position, so it counts every time.
func (c *IngestCommand) readStdin(ctx context.Context, p *pipeline) error {
	chunks := make(chan input, 4)
	var readErr error
	go func() {
		defer close(chunks)
		lr := ingest.NewLineReader(c.m.Stdin, p.maxLine)
		var ch ingest.Chunk
		for ctx.Err() == nil {
			line, err := lr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			switch {
			case errors.Is(err, ingest.ErrLineTooLong):
				ch.TooLong++
			case err != nil:
				readErr = fmt.Errorf("read standard input: %w", err)
				return
			default:
				ch.Data = append(append(ch.Data, line...), '\n')
			}
			if len(ch.Data) >= 1<<20 || ch.TooLong > 0 {
				chunks <- input{0, ch}
				ch = ingest.Chunk{}
			}
		}
		if len(ch.Data) > 0 {
			chunks <- input{0, ch}
		}
	}()
	if err := c.consume(ctx, p, chunks); err != nil {
		return err
	}
	return readErr
}

// peakRSS is the process's peak resident set size in MiB.
func peakRSS() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // KiB on Linux
}

// progress shows lines and MB/s on a terminal every half second; the
// returned function stops it.
func (c *IngestCommand) progress(p *pipeline, quiet bool) func() {
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
				fmt.Fprintf(f, "\r\033[K%d lines, %.1f MB/s", p.lines.Load(), float64(p.bytes.Load())/1e6/el)
			}
		}
	}()
	return func() { close(done); <-finished }
}
