package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/ingest"
)

// ClassifyCommand prints one JSON classification per log line.
type ClassifyCommand struct{ m *Main }

// classifyLine is one line of `apierr classify` output (the README documents it).
type classifyLine struct {
	Line int64 `json:"line"`
	classify.Event
}

// skippedLine is a line that is not a request (see ingest.Skipped).
type skippedLine struct {
	Line    int64  `json:"line"`
	Skipped bool   `json:"skipped"`
	Reason  string `json:"reason"`
}

type malformedLine struct {
	Line      int64  `json:"line"`
	Malformed bool   `json:"malformed"`
	Reason    string `json:"reason"`
}

// Run reads FILE (or standard input for "-" or no argument) a line at a
// time, in constant memory. A line that carries several records (OTLP)
// prints one object per record, each with the line's number.
func (c *ClassifyCommand) Run(ctx context.Context, args []string) error {
	fs := c.m.newFlagSet("classify", "classify [--config FILE] [FILE | -]")
	configPath := c.m.configFlag(fs)
	vendorsDir := c.m.vendorsFlag(fs)
	maxLine := fs.Int("max-line", ingest.DefaultMaxLine, "longest line in `BYTES`; longer lines are reported malformed")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usageErrorf("classify takes one file (or - for standard input), got %d", fs.NArg())
	}
	cfg, err := c.m.loadConfig(*configPath)
	if err != nil {
		return err
	}
	if *vendorsDir != "" {
		cfg.VendorsDir = *vendorsDir
	}
	cat, err := catalogFor(cfg)
	if err != nil {
		return err
	}
	// A file gets the settings of the config input whose globs match it;
	// standard input those of the first input.
	var mapping ingest.Mapping
	if name := fs.Arg(0); name != "" && name != "-" {
		mapping, err = cfg.mappingFor(name)
	} else {
		mapping, err = mappingOf(cfg)
	}
	if err != nil {
		return err
	}

	in := c.m.Stdin
	if name := fs.Arg(0); name != "" && name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}

	out := bufio.NewWriterSize(c.m.Stdout, 64<<10)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	lr := ingest.NewLineReader(in, *maxLine)
	dec := ingest.NewDecoder(mapping)
	cl := classify.NewClassifier(cat)
	var encErr error
	emit := func(v any) {
		if encErr == nil {
			encErr = enc.Encode(v)
		}
	}
	for n := int64(1); ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			break
		}
		line, err := lr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.Is(err, ingest.ErrLineTooLong) {
			return fmt.Errorf("read: %w", err)
		}
		if err != nil { // too long
			emit(malformedLine{Line: n, Malformed: true, Reason: ingest.ReasonTooLong})
		} else {
			dec.DecodeAll(line, func(rec *ingest.Record, err error) {
				switch {
				case err == nil:
					emit(classifyLine{Line: n, Event: cl.Classify(rec)})
				case ingest.Skipped(err):
					emit(skippedLine{Line: n, Skipped: true, Reason: ingest.Reason(err)})
				default:
					emit(malformedLine{Line: n, Malformed: true, Reason: ingest.Reason(err)})
				}
			})
		}
		if encErr != nil {
			return encErr
		}
	}
	return out.Flush()
}
