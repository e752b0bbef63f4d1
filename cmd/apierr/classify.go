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

type malformedLine struct {
	Line      int64  `json:"line"`
	Malformed bool   `json:"malformed"`
	Reason    string `json:"reason"`
}

// Run reads FILE (or standard input for "-" or no argument) a line at a
// time, in constant memory.
func (c *ClassifyCommand) Run(ctx context.Context, args []string) error {
	fs := c.m.newFlagSet("classify", "classify [flags] [FILE | -]")
	vendorsDir := c.m.vendorsFlag(fs)
	maxLine := fs.Int("max-line", ingest.DefaultMaxLine, "longest line in `BYTES`; longer lines are reported malformed")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usageErrorf("classify takes one file (or - for standard input), got %d", fs.NArg())
	}
	cat, err := loadCatalog(*vendorsDir)
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
	dec := ingest.NewDecoder(ingest.AutoMapping())
	cl := classify.NewClassifier(cat)
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
		if err == nil {
			var rec *ingest.Record
			if rec, err = dec.Decode(line); err == nil {
				if err := enc.Encode(classifyLine{Line: n, Event: cl.Classify(rec)}); err != nil {
					return err
				}
				continue
			}
		}
		reason := ingest.Reason(err)
		if errors.Is(err, ingest.ErrLineTooLong) {
			reason = ingest.ReasonTooLong
		}
		if err := enc.Encode(malformedLine{Line: n, Malformed: true, Reason: reason}); err != nil {
			return err
		}
	}
	return out.Flush()
}
