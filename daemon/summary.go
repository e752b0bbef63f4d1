package daemon

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

// Summary says whether, how often and where the daemon writes its
// periodic summary: the report `apierr report` prints, built the same way.
type Summary struct {
	Every  time.Duration // 0: no summaries
	Out    io.Writer     // where each summary goes; nil: one markdown file per summary in Dir
	Dir    string        // files older than the Server's Retention are pruned
	Format report.Format // default markdown
	Color  bool          // colour a table
	Clear  bool          // clear the terminal before each summary (demo)
	Top    int           // failure groups per section; default 10
	// Window is the window of a summary written at now; default
	// LastWindow(Every).
	Window func(now time.Time) report.Window
}

// summarizer writes summaries for a Server.
type summarizer struct {
	Summary
	db        *storage.DB
	cat       func() *classify.Catalog
	retention time.Duration
	now       func() time.Time
}

// LastWindow is the window of a summary every d: the last d, ending at the
// end of the current minute.
func LastWindow(d time.Duration) func(time.Time) report.Window {
	return func(now time.Time) report.Window {
		end := now.UTC().Truncate(time.Minute).Add(time.Minute)
		return report.Window{From: end.Add(-max(d, time.Minute)), To: end}
	}
}

// write builds and writes one summary.
func (s *summarizer) write(ctx context.Context) error {
	window, top, format := s.Window, s.Top, s.Format
	if window == nil {
		window = LastWindow(s.Every)
	}
	if top <= 0 {
		top = 10
	}
	if format == "" {
		format = report.Markdown
	}
	w := window(s.now())
	r, err := report.Read(ctx, s.db, s.cat(), w, top)
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	var b bytes.Buffer
	if s.Clear {
		b.WriteString("\033[H\033[2J")
	}
	if err := report.Render(&b, r, format, s.Color); err != nil {
		return err
	}
	if s.Out != nil {
		_, err := s.Out.Write(b.Bytes())
		return err
	}
	name := filepath.Join(s.Dir, "apierr-summary-"+w.To.Format("20060102T1504Z")+".md")
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
	names, err := filepath.Glob(filepath.Join(s.Dir, "apierr-summary-*.md"))
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
