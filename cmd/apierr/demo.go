package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/daemon"
	"github.com/apierr/apierr/report"
	"github.com/apierr/apierr/storage"
	"github.com/apierr/apierr/traffic"
	"github.com/mattn/go-isatty"
)

// DemoCommand runs the main job on built-in sample traffic: a generated
// request log grows (and rotates) while the real daemon pipeline tails it,
// the periodic report is printed live, then the final one.
type DemoCommand struct{ m *Main }

// Run runs the demo.
func (c *DemoCommand) Run(ctx context.Context, args []string) error {
	fset := c.m.newFlagSet("demo", "demo [--duration DURATION] [--rate N] [--every DURATION] [--keep DIR]")
	duration := fset.Duration("duration", 15*time.Second, "how long traffic is written")
	rate := fset.Int("rate", 2000, "request-log lines per second")
	every := fset.Duration("every", 3*time.Second, "how often the live report is printed")
	keep := fset.String("keep", "", "write the log and the database to `DIR` and keep them (default: a temporary directory, removed)")
	if err := parseFlags(fset, args); err != nil {
		return err
	}
	if *duration <= 0 || *rate <= 0 || *every <= 0 {
		return usageErrorf("demo: --duration, --rate and --every must be above 0")
	}
	dir := *keep
	if dir == "" {
		tmp, err := os.MkdirTemp("", "apierr-demo")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	logPath := filepath.Join(dir, "requests.log")

	tty := false
	if f, ok := c.m.Stdout.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		tty = true
	}
	format := report.Markdown
	if tty {
		format = report.Live // one screen, redrawn: the headline stays in view
	}
	color := tty && c.m.Getenv("NO_COLOR") == ""

	cfg := DefaultConfig()
	cfg.DB = filepath.Join(dir, "apierr.db")
	cfg.Inputs = []InputConfig{{Paths: []string{logPath + "*"}}}
	cfg.VendorsDir = ""
	settings, err := settingsOf(cfg)
	if err != nil {
		return err
	}
	db := storage.NewDB(cfg.DB)
	if err := db.Open(); err != nil {
		return err
	}
	defer db.Close()

	start := time.Now().UTC()
	since := func(now time.Time) report.Window {
		return report.Window{From: start.Truncate(time.Minute), To: now.UTC().Truncate(time.Minute).Add(time.Minute)}
	}
	srv := daemon.NewServer(db)
	srv.Settings = settings
	srv.FlushInterval = 250 * time.Millisecond
	srv.Scan = 200 * time.Millisecond
	srv.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv.Summary = daemon.Summary{Every: *every, Out: c.m.Stdout, Format: format, Color: color, Clear: tty, Top: 8, Window: since}
	fmt.Fprintf(c.m.Stdout, "apierr demo: writing %d request-log lines/s to %s for %s; the report follows every %s\n",
		*rate, logPath, *duration, *every)

	// The daemon and the traffic run side by side.
	dctx, stopDaemon := context.WithCancel(ctx)
	defer stopDaemon()
	var wg sync.WaitGroup
	var runErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		runErr = srv.Run(dctx)
	}()
	written, err := writeTraffic(ctx, settings.Catalog, logPath, *rate, *duration)
	if err != nil {
		stopDaemon()
		wg.Wait()
		return err
	}
	// Let the last lines be read (for at most ten seconds), then stop the
	// daemon: it commits what it read.
	for deadline := time.Now().Add(10 * time.Second); srv.Stats().Lines < written && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	stopDaemon()
	wg.Wait()
	if runErr != nil {
		return runErr
	}
	if tty {
		fmt.Fprint(c.m.Stdout, "\033[H\033[2J")
	}
	fmt.Fprintf(c.m.Stdout, "Final report: %d lines read. Run it yourself: apierr report --db %s\n\n", srv.Stats().Lines, cfg.DB)
	srv.Summary.Clear = false
	if srv.Summary.Format == report.Live {
		srv.Summary.Format = report.Table // the final report in full
	}
	return srv.WriteSummary(context.Background())
}

// writeTraffic appends rate×d generated lines to path, at rate lines/s
// (catching up when a tick comes late): a burst of rate limiting in the
// middle third, a rename rotation halfway. It returns the number of lines
// written.
func writeTraffic(ctx context.Context, cat *classify.Catalog, path string, rate int, d time.Duration) (written int64, err error) {
	g := traffic.New(cat, time.Now().UnixNano())
	g.Start, g.Step = time.Now().UTC(), time.Second/time.Duration(rate)
	// Calls that got no response and the application's other lines, as a
	// real log has them: the report shows timeouts and network failures,
	// and the other lines are counted as skipped.
	g.Transport, g.Other = 0.02, 0.03
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return 0, err
	}
	defer func() { f.Close() }()
	const tick = 100 * time.Millisecond
	total := int64(float64(rate) * d.Seconds())
	perTick := max(1, int64(rate)/int64(time.Second/tick))
	var buf []byte
	begin := time.Now()
	rotated := false
	for written < total {
		due := min(total, max(written+perTick, int64(float64(rate)*time.Since(begin).Seconds())))
		buf = buf[:0]
		for ; written < due; written++ {
			if written > total/3 && written < total/2 && written%3 == 0 {
				buf = g.AppendRateLimited(buf)
			} else {
				buf = g.Append(buf)
			}
		}
		if _, err := f.Write(buf); err != nil {
			return written, err
		}
		if !rotated && written > total/2 {
			// Rotate as logrotate does: rename, then a new file.
			rotated = true
			f.Close()
			if err := os.Rename(path, path+".1"); err != nil {
				return written, err
			}
			if f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err != nil {
				return written, err
			}
		}
		select {
		case <-ctx.Done():
			return written, ctx.Err()
		case <-time.After(tick):
		}
	}
	return written, nil
}
