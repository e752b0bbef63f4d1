// Package daemon is apierr's daemon core: it tails the inputs' log files,
// runs their lines through the pipeline (decode, classify, tally), commits
// counts and file positions to the database, reloads on request, serves
// /metrics and /healthz, and writes the periodic summaries.
//
// It is built from plain values (paths, mappings, a catalog, limits, a
// logger, a clock) and knows nothing of the config file or the command
// line: cmd/apierr reads those, builds a Server and runs it; tests build
// one too, without a binary.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/ingest"
	"github.com/apierr/apierr/storage"
)

// Input is one set of log files and how to decode their lines.
type Input struct {
	Paths   []string // globs
	Mapping ingest.Mapping
	Service string // the calling service of its lines that name none; empty: from the path
}

// Settings are what a reload may change.
type Settings struct {
	// Inputs are read by one tailer: a file matched by several inputs is
	// read once, and decoded with the mapping of the first input whose
	// globs match it.
	Inputs  []Input
	Catalog *classify.Catalog
	MaxLine int // longest line in bytes; longer lines are counted as too long
}

// Server is a running daemon: `apierr run`.
type Server struct {
	Settings

	DB            *storage.DB   // open for writing; the Server never closes it
	FlushInterval time.Duration // longest time between a line and its commit
	RollupAfter   time.Duration // minute buckets older than this are rolled up into hours
	Retention     time.Duration // buckets and summary files older than this are deleted
	Summary       Summary       // Every 0: none
	MetricsListen string        // address of /metrics, /healthz and the live page; empty: none
	WebConfig     string        // exporter-toolkit web-config file (TLS, basic auth) for that listener; empty: none
	Host          string        // this host's name in fleet reports (apierr_build_info); empty: the hostname
	Version       string        // apierr's version (apierr_build_info); empty: the module's
	Logger        *slog.Logger
	Now           func() time.Time

	// MetricsServiceLabel gives apierr_requests_total and apierr_errors_total
	// a service label (the calling service, capped by Limits.Services): their
	// series multiply by up to that cap + 2 ("other" and none).
	MetricsServiceLabel bool

	// Load returns the settings a reload applies (it re-reads the config
	// and vendor files); on error the old ones stay. Nil: a reload changes
	// nothing.
	Load func() (Settings, error)
	// Signals asks for a reload with each signal received (SIGHUP), as
	// Reload does. Install the signal handler before any slow start-up
	// work, so that a SIGHUP sent right after start is a reload, not a
	// kill.
	Signals <-chan os.Signal

	// Scan, Idle and RotateWait override the tailer's timings when set.
	Scan, Idle, RotateWait time.Duration

	reload  chan struct{}
	ready   chan struct{}
	addr    string // metrics address, set before ready closes
	p       *Pipeline
	metrics *metrics
	sum     *summarizer
	own     Own
	dbProb  string                           // the last database problem logged (loop goroutine)
	next    *Settings                        // settings waiting for the tailer's restart
	nextAt  time.Time                        // when they were loaded
	waitLog bool                             // the wait for drains is logged
	drains  *drains                          // the current tailer's files
	cat     atomic.Pointer[classify.Catalog] // the current catalog, for summaries

	mu     sync.Mutex
	tailer *ingest.Tailer // the current one
}

// NewServer returns a Server that commits to db, with default timings.
func NewServer(db *storage.DB) *Server {
	return &Server{
		DB:            db,
		Settings:      Settings{MaxLine: ingest.DefaultMaxLine},
		FlushInterval: 2 * time.Second,
		RollupAfter:   48 * time.Hour,
		Retention:     30 * 24 * time.Hour,
		Logger:        slog.Default(),
		Now:           time.Now,
		reload:        make(chan struct{}, 1),
		ready:         make(chan struct{}),
	}
}

// Reload asks the running Server to reload: Load's settings apply to
// what is read from then on. Files being read, and those being drained
// after a rotation, keep being read.
func (s *Server) Reload() {
	select {
	case s.reload <- struct{}{}:
	default: // one is pending already
	}
}

// Ready is closed when start-up is done: the database is checked and
// maintained, /metrics listens (with MetricsListen), and tailing begins.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// MetricsAddr is the address /metrics listens on, once Ready.
func (s *Server) MetricsAddr() string { return s.addr }

// Stats returns the pipeline's totals since Run started.
func (s *Server) Stats() Stats {
	if s.p == nil {
		return Stats{}
	}
	return s.p.Stats()
}

// WriteSummary writes one summary now, with the current Summary settings
// (the demo's final report). Call it after Run has returned.
func (s *Server) WriteSummary(ctx context.Context) error {
	if s.sum == nil {
		return errors.New("no summary configured")
	}
	s.sum.Summary = s.Summary
	return s.sum.write(ctx)
}

// Run tails and commits until ctx is done, then commits what was read and
// returns. The database stays open.
func (s *Server) Run(ctx context.Context) error {
	if s.DB == nil || len(s.Inputs) == 0 {
		return errors.New("daemon: a database and at least one input are needed")
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.FlushInterval <= 0 {
		s.FlushInterval = 2 * time.Second
	}
	if s.reload == nil {
		s.reload, s.ready = make(chan struct{}, 1), make(chan struct{})
	}
	log := s.Logger
	summaryDir := ""
	if s.Summary.Every > 0 && s.Summary.Out == nil {
		if s.Summary.Dir == "" {
			return errors.New("summary: give a writer or a directory")
		}
		summaryDir = s.Summary.Dir
	}
	s.own = OwnFiles(s.DB.Path, summaryDir)
	s.p = NewPipeline(s.DB, s.Catalog, mappingsOf(s.Inputs), s.MaxLine, log)
	s.p.now = s.Now
	s.p.Retention = s.Retention
	s.cat.Store(s.Catalog)
	if s.Summary.Every > 0 {
		s.sum = &summarizer{Summary: s.Summary, db: s.DB, cat: s.cat.Load, retention: s.Retention, now: s.Now}
	}

	var wg sync.WaitGroup
	defer wg.Wait()
	if s.MetricsListen != "" {
		// Counters resume from the database's lifetime totals, which
		// retention never prunes: they never decrease across a restart,
		// so rate() and increase() see no false reset.
		host, version := s.hostAndVersion()
		s.metrics = newMetrics(s.filesTailed, version, host, s.MetricsServiceLabel)
		s.p.metrics = s.metrics
		totals, err := s.DB.Lifetime(ctx)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		s.metrics.add(totals, nil)
		h, closeWeb, err := s.webHandler()
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", s.MetricsListen)
		if err != nil {
			closeWeb()
			return fmt.Errorf("metrics_listen %s: %w", s.MetricsListen, err)
		}
		s.addr = ln.Addr().String()
		log.Info("metrics listening", "addr", s.addr)
		mctx, stop := context.WithCancel(ctx)
		defer stop() // before wg.Wait: the listener stops with Run
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer closeWeb()
			if err := serve(mctx, ln, h, s.WebConfig, log); err != nil {
				log.Error("metrics stopped", "err", err)
			}
		}()
	}
	if err := s.DB.Maintain(ctx, s.RollupAfter, s.Retention); err != nil {
		log.Warn("maintenance failed", "err", err)
	}
	log.Info("apierr running", "db", s.DB.Path, "inputs", len(s.Inputs), "flush_interval", s.FlushInterval)
	close(s.ready)
	for {
		restart, err := s.generation(ctx)
		if err != nil {
			return err
		}
		if !restart {
			log.Info("apierr stopped", "lines", s.p.lines.Load(), "peak_rss_mib", PeakRSS())
			return nil
		}
	}
}

// generation runs one tailer until ctx is done or a reload changes what
// the tailer reads, and commits what it read. Only a change of globs or
// line limit restarts the tailer: every other reload leaves it running,
// so files being drained after a rotation keep being read.
func (s *Server) generation(ctx context.Context) (restart bool, err error) {
	positions, err := s.DB.Positions(ctx)
	if err != nil {
		return false, fmt.Errorf("read positions: %w", err)
	}
	tctx, stopTailer := context.WithCancel(ctx)
	results := s.p.stage(s.startTailer(tctx, positions))
	restart, err = s.loop(ctx, results)
	stopTailer()
	for r := range results { // what was read before the stop is counted
		s.p.merge(r)
	}
	if cerr := s.p.commit(ctx); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil || !restart {
		return false, err
	}
	s.apply(*s.next)
	s.next, s.waitLog = nil, false
	s.Logger.Info("reloaded config and vendor files; inputs changed, reading resumes from the committed positions")
	return true, nil
}

// startTailer starts one tailer over every input's globs and returns its
// chunks, each tagged with its input. The channel closes when the tailer
// stops.
func (s *Server) startTailer(ctx context.Context, positions []ingest.Position) <-chan Chunk {
	t := ingest.NewTailer(positions)
	// One tailer over every input: it knows files by identity, so a file
	// matched by several globs or inputs is read once, by the first input
	// (in the config's order) whose globs match it when it is first seen,
	// and it keeps that input after a rotation renames it. The daemon's
	// own files are never opened.
	for i, in := range s.Inputs {
		t.Services = append(t.Services, in.Service)
		if i == 0 {
			t.Globs = in.Paths
		} else {
			t.Inputs = append(t.Inputs, in.Paths)
		}
	}
	t.Exclude = s.own.exclude(s.Logger)
	t.Follow, t.MaxLine, t.Logger = true, s.MaxLine, s.Logger
	if s.Scan > 0 {
		t.Scan = s.Scan
	}
	if s.Idle > 0 {
		t.Idle = s.Idle
	}
	if s.RotateWait > 0 {
		t.RotateWait = s.RotateWait
	}
	s.mu.Lock()
	s.tailer = t
	s.mu.Unlock()
	d := newDrains()
	s.drains = d
	out := make(chan Chunk, 1)
	go t.Run(ctx)
	go func() { // owns out
		defer close(out)
		for c := range t.C {
			d.saw(c, time.Now())
			out <- Chunk{c.Input, c}
		}
	}()
	return out
}

// loop counts results and commits every flush interval, until ctx is done
// (restart false) or a reload needs a new tailer (restart true).
func (s *Server) loop(ctx context.Context, results <-chan *result) (restart bool, err error) {
	flush := time.NewTicker(s.FlushInterval)
	defer flush.Stop()
	maintain := time.NewTicker(10 * time.Minute)
	defer maintain.Stop()
	var summary <-chan time.Time
	if s.sum != nil {
		t := time.NewTicker(s.Summary.Every)
		defer t.Stop()
		summary = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return false, nil
		case <-s.Signals:
			if restart, err := s.reloadRequested(); restart || err != nil {
				return restart, err
			}
		case <-s.reload:
			if restart, err := s.reloadRequested(); restart || err != nil {
				return restart, err
			}
		case r, ok := <-results:
			if !ok {
				return false, nil
			}
			s.p.merge(r)
			if s.p.batch.Len() >= behindBatch {
				if err := s.p.commitBehind(ctx); err != nil {
					return false, err
				}
			}
		case <-flush.C:
			// In the background: a backlog keeps being read while the
			// last interval's counts are written. While the last commit
			// still runs, the batch grows until the next tick: a backlog
			// is committed in fewer, larger commits.
			if !s.p.committing() {
				if err := s.p.commitBehind(ctx); err != nil {
					return false, err
				}
			}
			s.checkDB()
			if s.next != nil && s.restartNow() {
				return true, nil
			}
		case <-maintain.C:
			if err := s.p.wait(); err != nil { // maintenance reloads the caps and group ids
				return false, err
			}
			if err := s.DB.Maintain(ctx, s.RollupAfter, s.Retention); err != nil {
				s.Logger.Warn("maintenance failed", "err", err)
			}
		case <-summary:
			if err := s.p.commit(ctx); err != nil {
				return false, err
			}
			if err := s.sum.write(ctx); err != nil {
				s.Logger.Warn("summary failed", "err", err)
			}
		}
	}
}

// reloadRequested reloads once the running commit has ended (a reload
// may change what commits read); it reports whether the tailer must
// restart now.
func (s *Server) reloadRequested() (restart bool, err error) {
	if err := s.p.wait(); err != nil {
		return false, err
	}
	return s.reloadNow() && s.restartNow(), nil
}

// reloadNow loads the new settings and applies them at once when the
// tailer can keep running; it reports whether the tailer must restart
// (the new settings then wait in s.next, see restartNow).
func (s *Server) reloadNow() (restart bool) {
	next := s.Settings
	if s.Load != nil {
		var err error
		if next, err = s.Load(); err != nil {
			s.Logger.Error("reload: keeping the old config", "err", err)
			return false
		}
	}
	if len(next.Inputs) == 0 || next.Catalog == nil {
		s.Logger.Error("reload: keeping the old config", "err", "no inputs or no catalog")
		return false
	}
	if next.MaxLine <= 0 {
		next.MaxLine = ingest.DefaultMaxLine
	}
	if next.MaxLine != s.MaxLine || !sameGlobs(next.Inputs, s.Inputs) {
		if s.next == nil {
			s.nextAt = time.Now()
		}
		s.next = &next
		return true
	}
	s.next, s.waitLog = nil, false
	s.apply(next)
	s.Logger.Info("reloaded config and vendor files")
	return false
}

// restartNow reports whether the tailer may restart for the settings in
// s.next: once no file is being drained after a rotation (a new tailer
// would not find it by the globs, and its last lines would be lost), or
// after maxDrainWait.
func (s *Server) restartNow() bool {
	rotateWait := s.RotateWait
	if rotateWait <= 0 {
		rotateWait = ingest.NewTailer(nil).RotateWait
	}
	scan := s.Scan
	if scan <= 0 {
		scan = ingest.NewTailer(nil).Scan
	}
	quiet := rotateWait + 2*scan + s.FlushInterval
	draining := s.drains.active(quiet, time.Now())
	if len(draining) == 0 {
		return true
	}
	if waited := time.Since(s.nextAt); waited > max(maxDrainWait, 3*quiet) {
		s.Logger.Warn("reload: inputs changed; restarting while rotated files are still being read: their next lines are not read", "files", draining, "waited", waited.Round(time.Second))
		return true
	}
	if !s.waitLog {
		s.waitLog = true
		s.Logger.Info("reload: inputs changed; waiting for rotated files to be read to their end", "files", draining)
	}
	return false
}

// maxDrainWait bounds how long a reload that changes the inputs waits for
// rotated files still being written (a writer that never reopens its log).
const maxDrainWait = time.Minute

// apply makes settings current: chunks processed from now on use them.
func (s *Server) apply(next Settings) {
	s.Settings = next
	s.DB.KnownVendors = KnownVendors(next.Catalog)
	s.p.set(next.Catalog, mappingsOf(next.Inputs), next.MaxLine)
	s.cat.Store(next.Catalog)
}

// sameGlobs reports whether a and b read the same globs, input by input.
func sameGlobs(a, b []Input) bool {
	return slices.EqualFunc(a, b, func(x, y Input) bool { return slices.Equal(x.Paths, y.Paths) })
}

// KnownVendors is the set of a catalog's vendors, which the database's
// vendor cap never folds into other (storage.DB.KnownVendors).
func KnownVendors(cat *classify.Catalog) map[string]bool {
	known := map[string]bool{}
	if cat != nil {
		for _, v := range cat.Vendors() {
			known[v] = true
		}
	}
	return known
}

func mappingsOf(inputs []Input) []ingest.Mapping {
	ms := make([]ingest.Mapping, len(inputs))
	for i, in := range inputs {
		ms[i] = in.Mapping
	}
	return ms
}

// dbProblem says what is wrong with the database's path, or "": when the
// file or its directory is deleted (or replaced), commits go on to an
// unlinked file that nothing will ever read.
func (s *Server) dbProblem() string {
	if err := s.DB.Check(); err != nil {
		return err.Error() + ": restore it and restart apierr"
	}
	return ""
}

// checkDB logs when the database's path stops (or starts again) naming
// the open database.
func (s *Server) checkDB() {
	p := s.dbProblem()
	if p == s.dbProb {
		return
	}
	if p != "" {
		s.Logger.Error(p)
	} else {
		s.Logger.Info("database path names the open database again", "db", s.DB.Path)
	}
	s.dbProb = p
}

// health says whether the daemon tails and commits, and if not, why.
func (s *Server) health() (bool, string) {
	if p := s.dbProblem(); p != "" {
		return false, p
	}
	if err := s.tailerProblem(); err != nil {
		return false, err.Error()
	}
	if ok, msg := s.metrics.commitHealth(3*s.FlushInterval + time.Second); !ok {
		return false, msg
	}
	if s.filesMatched() == 0 {
		return false, "no input file matches the configured paths"
	}
	return true, "ok"
}

// tailerProblem is why the tailer cannot open some of its files (the
// descriptor limit), or nil.
func (s *Server) tailerProblem() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tailer == nil {
		return nil
	}
	return s.tailer.Problem()
}

// filesTailed and filesMatched are the current tailer's counts.
func (s *Server) filesTailed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tailer == nil {
		return 0
	}
	return s.tailer.Watching()
}

func (s *Server) filesMatched() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tailer == nil {
		return 0
	}
	return s.tailer.Matched()
}
