package main

import (
	"bufio"
	"context"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/traffic"
)

// GenerateCommand writes synthetic request-log lines (benchmark input).
type GenerateCommand struct{ m *Main }

// Run writes --lines lines to standard output.
func (c *GenerateCommand) Run(ctx context.Context, args []string) error {
	fset := c.m.newFlagSet("generate", "generate [--lines N] [--seed S] [--errors F] [--malformed F] [--start T] [--step D]")
	lines := fset.Int("lines", 100_000, "how many `N` lines to write")
	seed := fset.Int64("seed", 1, "random `SEED`: the same seed writes the same lines")
	errs := fset.Float64("errors", 0.2, "share of error lines, 0 to 1")
	malformed := fset.Float64("malformed", 0.001, "share of malformed lines, 0 to 1")
	start := fset.String("start", "", "time of the first line, RFC 3339 (default: now minus lines × step)")
	step := fset.Duration("step", 10*time.Millisecond, "time between lines")
	if err := parseFlags(fset, args); err != nil {
		return err
	}
	if *lines < 0 || *errs < 0 || *errs > 1 || *malformed < 0 || *malformed > 1 || *errs+*malformed > 1 {
		return usageErrorf("generate: --lines must be 0 or more, --errors and --malformed shares from 0 to 1")
	}
	cat, err := classify.Load(classify.Builtin())
	if err != nil {
		return err
	}
	g := traffic.New(cat, *seed)
	g.Errors, g.Malformed, g.Step = *errs, *malformed, *step
	g.Start = time.Now().UTC().Add(-time.Duration(*lines) * *step)
	if *start != "" {
		if g.Start, err = time.Parse(time.RFC3339, *start); err != nil {
			return usageErrorf("--start: %v", err)
		}
	}
	w := bufio.NewWriterSize(c.m.Stdout, 1<<20)
	buf := make([]byte, 0, 4096)
	for i := 0; i < *lines; i++ {
		buf = g.Append(buf[:0])
		if _, err := w.Write(buf); err != nil {
			return err
		}
		if i%65536 == 0 && ctx.Err() != nil {
			break
		}
	}
	return w.Flush()
}
