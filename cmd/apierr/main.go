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
	"regexp"
	"runtime/debug"
	"strings"
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
	version    print the version (also apierr --version)

Run 'apierr help <command>' or 'apierr <command> --help' for a command's flags.
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
	case "version", "--version", "-version":
		return (&VersionCommand{m: m}).Run(ctx, rest)
	case "help":
		// apierr help CMD is apierr CMD --help.
		if len(rest) > 0 && rest[0] != "help" {
			if len(rest) > 1 {
				return usageErrorf("help takes one command, got %s", rest)
			}
			return m.Run(ctx, []string{rest[0], "--help"})
		}
		fmt.Fprint(m.Stdout, usage)
		return nil
	case "", "-h", "-help", "--help":
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

// usageErrorf makes a UsageError. A []string argument is written as
// words ("a, b, c"), never as a Go slice.
func usageErrorf(format string, args ...any) error {
	for i, a := range args {
		if list, ok := a.([]string); ok {
			args[i] = words(list)
		}
	}
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// words is a list written for people: "a, b, c".
type words []string

func (w words) String() string { return strings.Join(w, ", ") }

// errInterrupted is the error of a command stopped by the first SIGINT or
// SIGTERM after it committed what it read: exit code 130, as a shell
// reports a job stopped by Ctrl-C.
var errInterrupted = errors.New("interrupted")

// ExitCode prints err (if any) and returns the process exit code: 0
// success, 1 runtime failure, 2 usage or config error, 3 a report's
// --fail-if threshold crossed.
func (m *Main) ExitCode(err error) int {
	var ue *UsageError
	var te *ThresholdError
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, context.Canceled), errors.Is(err, errInterrupted):
		// Ctrl-C: the user knows; the command said what it kept.
		return 130
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
// Its help (-h, --help) goes to standard output: the synopsis, then each
// flag as --name PLACEHOLDER.
func (m *Main) newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parseFlags words the errors
	fs.Usage = func() {
		fmt.Fprintf(m.Stdout, "Usage: apierr %s\n", synopsis)
		printFlags(m.Stdout, fs)
	}
	return fs
}

// printFlags writes a flag set's flags, two dashes and a named
// placeholder each: "--format FORMAT", "--rate N".
func printFlags(w io.Writer, fs *flag.FlagSet) {
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			fmt.Fprintf(w, "\nFlags:\n")
			first = false
		}
		fmt.Fprintf(w, "  %s\n", flagSynopsis(f))
		_, text := flag.UnquoteUsage(f)
		if d := f.DefValue; d != "" && d != "false" && d != "0" && d != "[]" && d != "0s" {
			text += fmt.Sprintf(" (default %s)", d)
		}
		fmt.Fprintf(w, "        %s\n", text)
	})
}

// flagSynopsis is "--name PLACEHOLDER" (one dash for a one-letter flag):
// the placeholder is the usage text's `NAME` if it has one, else named for
// the flag's type.
func flagSynopsis(f *flag.Flag) string {
	dashes := "--"
	if len(f.Name) == 1 {
		dashes = "-" // a short flag: -q
	}
	name, _ := flag.UnquoteUsage(f)
	switch name {
	case "":
		return dashes + f.Name // a boolean
	case "int", "uint", "float", "int64", "uint64":
		name = "N"
	case "duration":
		name = "DURATION"
	case "string", "value":
		name = strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
	}
	return dashes + f.Name + " " + name
}

// parseFlags parses args and turns flag errors into usage errors. Flags
// may follow the arguments (apierr ingest a.jsonl -q); after "--"
// everything is an argument. fs.Args() holds the arguments afterwards.
func parseFlags(fs *flag.FlagSet, args []string) error {
	usage := fs.Usage
	fs.Usage = func() {} // printed below for --help only, not on errors
	defer func() { fs.Usage = usage }()
	var operands []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				usage()
				return err
			}
			return &UsageError{Err: fmt.Errorf("%s: %s (run 'apierr %s --help')", fs.Name(), flagError(err), fs.Name())}
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			operands = append(operands, rest...)
			break
		}
		i := 0
		for i < len(rest) && (rest[i] == "-" || !strings.HasPrefix(rest[i], "-")) {
			i++
		}
		operands = append(operands, rest[:i]...)
		if i == len(rest) {
			break
		}
		args = rest[i:]
	}
	// Parsing "--" alone sets fs.Args() to the operands and no flag.
	return fs.Parse(append([]string{"--"}, operands...))
}

// flagError writes the flag package's errors with two dashes:
// "flag provided but not defined: --nope".
func flagError(err error) string {
	return flagNameRE.ReplaceAllString(err.Error(), "$1--$2")
}

var flagNameRE = regexp.MustCompile(`(^|[: ])-([A-Za-z][\w-]*)`)
