// Command apierr tells the people who run third-party API integrations what
// is failing, how often, and whether a retry would help.
//
// This package is wiring only: subcommands, flags, config, signals and exit
// codes. The work is done by ingest, classify, storage and report, and the
// daemon's core (pipeline, tailing, reload, metrics, summaries) by daemon.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/apierr/apierr/daemon/sighup"
	"github.com/apierr/apierr/storage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// The first signal asks for a clean stop (commit, then exit 0); a
		// second one exits at once. Committed counts are never half-written.
		<-ctx.Done()
		again := make(chan os.Signal, 1)
		signal.Notify(again, os.Interrupt, syscall.SIGTERM)
		<-again
		fmt.Fprintln(os.Stderr, "apierr: second signal: exiting without the last commit")
		os.Exit(1)
	}()
	if os.Getenv("GOGC") == "" {
		// The heap is mostly short-lived line buffers: collecting at 150%
		// instead of 100% saves a few percent of CPU ...
		debug.SetGCPercent(150)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// ... and a soft limit keeps a full-speed ingest well within 64 MiB
		// of RSS (SQLite's page cache comes on top of it).
		debug.SetMemoryLimit(36 << 20)
	}
	m := NewMain()
	// SIGHUP reloads the daemon; sighup catches it from the start, so a
	// reload sent right after start is queued, never a kill.
	m.Reload = sighup.C
	err := m.Run(ctx, os.Args[1:])
	stop()
	os.Exit(m.ExitCode(err))
}

// Main holds the process's environment so tests can run commands in-process.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Reload receives the signals that ask the daemon to reload (SIGHUP);
	// nil in-process.
	Reload <-chan os.Signal
}

// NewMain returns a Main wired to the process's standard streams.
func NewMain() *Main {
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}

const usage = `apierr tells what is failing in your API integrations, how often, and whether a retry would help.

Usage:

	apierr <command> [arguments]

Commands:

	demo       the main job on built-in sample traffic, with a live report
	run        the daemon: tail log files, classify, store counts in SQLite
	ingest     read log files (or standard input) once, to their end
	report     what is failing, how often, and whether a retry helps
	classify   classify request-log lines, one JSON result per line
	codes      list the vendor catalogs: codes, categories, retry verdicts
	check      validate the config and show what apierr makes of your logs
	generate   write synthetic request-log lines (benchmark input)
	version    print the version

Run 'apierr <command> -h' for a command's flags.
`

// Run dispatches to a subcommand.
func (m *Main) Run(ctx context.Context, args []string) error {
	cmd, rest := "", args
	if len(args) > 0 {
		cmd, rest = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return (&RunCommand{m: m}).Run(ctx, rest)
	case "ingest":
		return (&IngestCommand{m: m}).Run(ctx, rest)
	case "report":
		return (&ReportCommand{m: m}).Run(ctx, rest)
	case "classify":
		return (&ClassifyCommand{m: m}).Run(ctx, rest)
	case "demo":
		return (&DemoCommand{m: m}).Run(ctx, rest)
	case "generate":
		return (&GenerateCommand{m: m}).Run(ctx, rest)
	case "codes":
		return (&CodesCommand{m: m}).Run(ctx, rest)
	case "check":
		return (&CheckCommand{m: m}).Run(ctx, rest)
	case "version":
		return (&VersionCommand{m: m}).Run(ctx, rest)
	case "", "help", "-h", "-help", "--help":
		fmt.Fprint(m.Stdout, usage)
		if cmd == "" {
			return usageErrorf("no command given")
		}
		return nil
	}
	return usageErrorf("unknown command %q (run 'apierr help')", cmd)
}

// UsageError is a mistake in the command line or the config: exit code 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// ExitCode prints err (if any) and returns the process exit code: 0
// success, 1 runtime failure, 2 usage or config error, 3 a report's
// --fail-if threshold crossed.
func (m *Main) ExitCode(err error) int {
	var ue *UsageError
	var te *ThresholdError
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(m.Stderr, "apierr:", err)
		return 2
	case errors.As(err, &te):
		fmt.Fprintln(m.Stderr, "apierr:", err)
		return 3
	}
	fmt.Fprintln(m.Stderr, "apierr:", err.Error()+hint(err))
	return 1
}

// hint says what to do about the failures a user can act on.
func hint(err error) string {
	switch {
	case errors.Is(err, storage.ErrCorrupt):
		return "; move the file aside (apierr starts a new one) or restore a backup"
	case errors.Is(err, storage.ErrReadOnly):
		return "; make the database's directory writable by this user, or set db to a writable path"
	case errors.Is(err, storage.ErrLocked):
		return "; another process holds the database: stop it, or wait and try again"
	case errors.Is(err, storage.ErrFull):
		return "; free space on the database's filesystem"
	}
	return ""
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func (m *Main) newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "Usage: apierr %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and turns flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &UsageError{Err: err}
	}
	return nil
}
