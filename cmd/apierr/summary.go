package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/report"
	"github.com/apierr/apierr/storage"
)

// summarizer writes the daemon's periodic summary with the same code as
// `apierr report`: to a writer (stderr), or as one markdown file per
// summary in a directory, pruning files older than the retention.
type summarizer struct {
	db        *storage.DB
	cat       *classify.Catalog
	out       io.Writer // stderr, or nil for dir
	dir       string
	format    report.Format
	color     bool
	clear     bool // clear the terminal first (demo)
	top       int
	retention time.Duration
	window    func(now time.Time) report.Window
	now       func() time.Time
}

// lastWindow is the window of a summary every d: the last d, ending at the
// end of the current minute.
func lastWindow(d time.Duration) func(time.Time) report.Window {
	return func(now time.Time) report.Window {
		end := now.UTC().Truncate(time.Minute).Add(time.Minute)
		return report.Window{From: end.Add(-max(d, time.Minute)), To: end}
	}
}

// write builds and writes one summary.
func (s *summarizer) write(ctx context.Context) error {
	w := s.window(s.now())
	src, err := readSource(ctx, s.db, w, "")
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	r := report.Build(w, previousOf(w), []report.Source{src}, reportOptions(s.cat, w, s.top, ""))
	var b bytes.Buffer
	if s.clear {
		b.WriteString("\033[H\033[2J")
	}
	if err := report.Render(&b, r, s.format, s.color); err != nil {
		return err
	}
	if s.out != nil {
		_, err := s.out.Write(b.Bytes())
		return err
	}
	name := filepath.Join(s.dir, "apierr-summary-"+w.To.Format("20060102T1504Z")+".md")
	if err := os.WriteFile(name, b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	return s.prune()
}

// prune deletes summary files older than the retention.
func (s *summarizer) prune() error {
	if s.retention <= 0 {
		return nil
	}
	names, err := filepath.Glob(filepath.Join(s.dir, "apierr-summary-*.md"))
	if err != nil {
		return err
	}
	sort.Strings(names)
	cutoff := s.now().Add(-s.retention)
	for _, n := range names {
		if fi, err := os.Stat(n); err == nil && fi.ModTime().Before(cutoff) && strings.HasSuffix(n, ".md") {
			os.Remove(n)
		}
	}
	return nil
}
