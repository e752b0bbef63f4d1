package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/apierr/apierr/daemon"
	"github.com/apierr/apierr/ingest"
	"github.com/apierr/apierr/storage"
	"github.com/mattn/go-isatty"
)

// ingestSynopsis is ingest's usage line (and the README's).
const ingestSynopsis = "ingest [--config FILE] [--db PATH] [--vendors-dir DIR] [-q] FILE... | -"

// IngestCommand reads files (or standard input) once, to their end.
type IngestCommand struct{ m *Main }

// Run ingests the named files. It is idempotent per file: a file read
// before is read from where the last run stopped, so only new lines count.
// Standard input has no position and counts every time.
func (c *IngestCommand) Run(ctx context.Context, args []string) error {
	fset := c.m.newFlagSet("ingest", ingestSynopsis)
	configPath := c.m.configFlag(fset)
	dbFlag := fset.String("db", "", "database `PATH` (default: the config's db, $APIERR_DB, or $XDG_STATE_HOME/apierr/apierr.db)")
	vendorsDir := c.m.vendorsFlag(fset)
	quiet := fset.Bool("q", false, "no progress and no summary line")
	cpuprofile := fset.String("cpuprofile", "", "write a CPU profile to `FILE`")
	memprofile := fset.String("memprofile", "", "write an allocation profile to `FILE` at the end")
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
	if fset.NArg() == 0 && len(cfg.Inputs) == 0 {
		return usageErrorf("ingest: name the files to read, or - for standard input")
	}
	stdin := len(fset.Args()) == 1 && fset.Arg(0) == "-"
	if !stdin {
		for _, name := range fset.Args() {
			if name == "-" {
				return usageErrorf("ingest: - (standard input) cannot be mixed with files")
			}
			st, err := os.Stat(name)
			if err != nil {
				return err
			}
			if st.IsDir() {
				return fmt.Errorf("%s is a directory: name the log files in it", name)
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
	if err := db.SetHost(hostName(cfg.Host)); err != nil {
		return err
	}
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
	if *memprofile != "" {
		runtime.MemProfileRate = 64 << 10
		defer writeHeapProfile(*memprofile, c.m.Stderr)
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
			// The first signal stops reading at once, even in the middle
			// of a read or of an endless line; what was read is committed.
			err = p.ReadStream(ctx, newCancelReader(ctx, c.m.Stdin))
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
	if ctx.Err() != nil {
		fmt.Fprintf(c.m.Stderr, "apierr: interrupted: committed the %d lines read\n", st.Lines)
		return errInterrupted
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

// cancelReader reads r in a goroutine of its own and ends with io.EOF as
// soon as ctx is done, even while a read blocks (a quiet pipe, a
// terminal). The goroutine left blocked in a read ends with the process.
type cancelReader struct {
	ctx  context.Context
	data chan []byte // filled buffers from the reading goroutine
	free chan []byte // buffers given back to it
	err  error       // the reader's final error, read after data closes
	cur  []byte      // the current buffer, whole
	buf  []byte      // its unread rest
}

func newCancelReader(ctx context.Context, r io.Reader) *cancelReader {
	c := &cancelReader{ctx: ctx, data: make(chan []byte), free: make(chan []byte, 2)}
	c.free <- make([]byte, 64<<10)
	c.free <- make([]byte, 64<<10)
	go func() { // owns data
		defer close(c.data)
		for {
			var b []byte
			select {
			case b = <-c.free:
			case <-ctx.Done():
				return
			}
			n, err := r.Read(b[:cap(b)])
			if n > 0 {
				select {
				case c.data <- b[:n]:
				case <-ctx.Done():
					return
				}
			} else {
				c.free <- b
			}
			if err != nil {
				c.err = err
				return
			}
		}
	}()
	return c
}

// Read returns what the goroutine read, io.EOF once ctx is done.
func (c *cancelReader) Read(p []byte) (int, error) {
	if len(c.buf) == 0 {
		if c.ctx.Err() != nil {
			return 0, io.EOF
		}
		select {
		case b, ok := <-c.data:
			if !ok {
				if c.err == nil || c.ctx.Err() != nil {
					return 0, io.EOF
				}
				return 0, c.err
			}
			c.cur, c.buf = b, b
		case <-c.ctx.Done():
			return 0, io.EOF
		}
	}
	n := copy(p, c.buf)
	c.buf = c.buf[n:]
	if len(c.buf) == 0 {
		c.free <- c.cur[:cap(c.cur)]
	}
	return n, nil
}

// writeHeapProfile writes the allocation profile to name; a failure is
// reported on stderr, as the ingest itself succeeded.
func writeHeapProfile(name string, stderr io.Writer) {
	f, err := os.Create(name)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "apierr: memprofile: %v\n", err)
	}
}
