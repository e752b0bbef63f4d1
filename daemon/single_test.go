package daemon

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/ingest"
	"github.com/apierr/apierr/storage"
	"github.com/apierr/apierr/traffic"
)

// TestPipeline_OneWorker: one worker, whose results span chunks, counts
// and places every file as two workers do, chunk by chunk: the same
// counts, samples and positions.
func TestPipeline_OneWorker(t *testing.T) {
	cat, err := classify.Load(classify.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	start := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Minute)
	var files []string
	for i := range 3 {
		g := traffic.New(cat, int64(i+1))
		g.Start, g.Step, g.Transport, g.Other, g.Endpoints = start, 150*time.Millisecond, 0.05, 0.05, 4
		var b []byte
		for range 4000 + 1500*i { // several chunks each
			b = g.Append(b)
		}
		f := filepath.Join(dir, "app-"+strconv.Itoa(i)+".log")
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	type outcome struct {
		stats     Stats
		window    storage.WindowErrors
		vendors   []storage.VendorCount
		samples   []storage.SampleCount
		positions []ingest.Position
	}
	run := func(workers int, files []string) outcome {
		db := storage.NewDB(filepath.Join(t.TempDir(), "apierr.db"))
		if err := db.Open(); err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		p := NewPipeline(db, cat, nil, 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
		p.workers = workers
		if err := p.ReadFiles(context.Background(), files); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		from, to := start.Add(-time.Hour), time.Now().Add(time.Hour)
		var o outcome
		o.stats = p.Stats()
		var errs [4]error
		o.window, errs[0] = db.WindowErrors(ctx, from, to, 10*time.Minute, storage.Filter{})
		o.vendors, errs[1] = db.VendorTotals(ctx, from, to, storage.Filter{})
		o.samples, errs[2] = db.Samples(ctx, "")
		o.positions, errs[3] = db.Positions(ctx)
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		sortWindow(&o.window)
		sort.Slice(o.positions, func(i, j int) bool { return o.positions[i].Path < o.positions[j].Path })
		return o
	}
	// Files are read side by side, their chunks in an order of their
	// own each run: the first messages of a code, kept as samples, may
	// differ; how many are kept may not.
	one, two := run(1, files), run(2, files)
	if one.stats.Lines != 3*4000+1500+3000 || one.stats.Requests == 0 || one.stats.Errors == 0 {
		t.Fatalf("one worker: Stats=%+v", one.stats)
	}
	perCode := func(ss []storage.SampleCount) map[[2]string]int {
		m := map[[2]string]int{}
		for _, s := range ss {
			m[[2]string{s.Vendor, s.Code}]++
		}
		return m
	}
	compare := func(name string, one, two outcome, samples bool) {
		t.Helper()
		for _, c := range []struct {
			name     string
			one, two any
		}{{"stats", one.stats, two.stats}, {"window", one.window, two.window}, {"vendors", one.vendors, two.vendors},
			{"samples", perCode(one.samples), perCode(two.samples)}, {"positions", one.positions, two.positions}} {
			if !reflect.DeepEqual(c.one, c.two) {
				t.Errorf("%s, %s: one worker and two differ:\none %+v\ntwo %+v", name, c.name, c.one, c.two)
			}
		}
		// How often a kept message was seen is counted in each tally
		// until it holds a code's five messages: it depends on where
		// tallies end, which a reading of one worker does not fix.
		for _, ss := range [][]storage.SampleCount{one.samples, two.samples} {
			for i := range ss {
				ss[i].Count = 0
			}
		}
		if samples && !reflect.DeepEqual(one.samples, two.samples) {
			t.Errorf("%s, samples: one worker and two differ:\none %+v\ntwo %+v", name, one.samples, two.samples)
		}
	}
	compare("three files", one, two, false)
	// One file: its chunks come in one order, and so do the messages
	// kept.
	compare("one file", run(1, files[2:]), run(2, files[2:]), true)
}

// TestPipeline_OneWorkerHandsOver: a result that spans chunks is handed
// over when no chunk follows, not kept until the input closes: a
// followed file's lines reach the batch at once.
func TestPipeline_OneWorkerHandsOver(t *testing.T) {
	p := oneWorker(t)
	in := make(chan Chunk)
	out := p.stage(in)
	defer close(in)
	key := ingest.FileKey{Dev: 1, Ino: 2}
	for i, n := range []int{1, 3} {
		var data []byte
		for j := range n {
			data = append(data, `{"ts":"`+time.Now().UTC().Format(time.RFC3339)+`","method":"GET","url":"https://api.example.org/`+strconv.Itoa(j)+`","status":500}`+"\n"...)
		}
		in <- Chunk{Chunk: ingest.Chunk{Pos: ingest.Position{Key: key, Offset: int64(100 * (i + 1))}, Data: data}}
		select {
		case r := <-out:
			if r.lines != int64(n) || r.pos.Offset != int64(100*(i+1)) {
				t.Fatalf("result %d: %d lines at %d, want %d at %d", i, r.lines, r.pos.Offset, n, 100*(i+1))
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("result %d: not handed over while the input stays open", i)
		}
	}
}

// TestPipeline_OneWorkerHeldBriefly: lines that keep coming, never leaving
// the worker waiting long enough to hand over, are handed over within
// spanAge all the same, not after spanLines of them.
func TestPipeline_OneWorkerHeldBriefly(t *testing.T) {
	p := oneWorker(t)
	in := make(chan Chunk)
	out := p.stage(in)
	stop := make(chan struct{})
	fed := make(chan struct{})
	go func() { // a chunk of one line every 20 µs: spanLines of them take a third of a second
		defer close(fed)
		line := []byte(`{"method":"GET","url":"https://api.example.org/x","status":500}` + "\n")
		key := ingest.FileKey{Dev: 1, Ino: 2}
		for i := 1; ; i++ {
			select {
			case in <- Chunk{Chunk: ingest.Chunk{Pos: ingest.Position{Key: key, Offset: int64(i)}, Data: line}}:
			case <-stop:
				return
			}
			for at := time.Now(); time.Since(at) < 20*time.Microsecond; {
			}
		}
	}()
	defer func() {
		close(stop)
		<-fed
		close(in)
		for range out {
		}
	}()
	start := time.Now()
	select {
	case r := <-out:
		if r.lines >= spanLines {
			t.Fatalf("a result of %d lines, handed over after %v: held to spanLines", r.lines, time.Since(start))
		}
	case <-time.After(time.Second):
		t.Fatalf("no result within a second of lines coming every 20 µs (spanAge %v)", spanAge)
	}
}

// TestPipeline_OneWorkerSpans: chunks that follow one another at once are
// counted into one result (with the last one's position), fewer results
// than chunks.
func TestPipeline_OneWorkerSpans(t *testing.T) {
	p := oneWorker(t)
	in := make(chan Chunk, 20)
	line := `{"method":"GET","url":"https://api.example.org/x","status":500}` + "\n"
	key := ingest.FileKey{Dev: 1, Ino: 2}
	for i := range 20 {
		in <- Chunk{Chunk: ingest.Chunk{Pos: ingest.Position{Key: key, Offset: int64(i + 1)}, Data: []byte(line)}}
	}
	close(in)
	var results, lines int64
	var last ingest.Position
	for r := range p.stage(in) {
		results++
		lines += r.lines
		last = r.pos
	}
	if results >= 20 || lines != 20 || last.Offset != 20 {
		t.Fatalf("%d results of %d lines ending at %d, want fewer than 20 of 20 lines ending at 20", results, lines, last.Offset)
	}
}

// sortWindow puts a window's rows in one order, whatever the maps gave.
func sortWindow(w *storage.WindowErrors) {
	slices.SortFunc(w.Codes, func(a, b storage.CodeCount) int {
		return cmpStrings(a.Vendor+"\x00"+a.Code+"\x00"+a.Category+"\x00"+a.Retry+"\x00"+strconv.Itoa(a.HTTPStatus), b.Vendor+"\x00"+b.Code+"\x00"+b.Category+"\x00"+b.Retry+"\x00"+strconv.Itoa(b.HTTPStatus))
	})
	slices.SortFunc(w.Endpoints, func(a, b storage.EndpointCount) int {
		return cmpStrings(a.Vendor+"\x00"+a.Code+"\x00"+a.Endpoint, b.Vendor+"\x00"+b.Code+"\x00"+b.Endpoint)
	})
	slices.SortFunc(w.Services, func(a, b storage.CodeServiceCount) int {
		return cmpStrings(a.Vendor+"\x00"+a.Code+"\x00"+a.Service, b.Vendor+"\x00"+b.Code+"\x00"+b.Service)
	})
}

func cmpStrings(a, b string) int { return strings.Compare(a, b) }

// oneWorker returns a pipeline of one worker on a new database.
func oneWorker(tb testing.TB) *Pipeline {
	tb.Helper()
	cat, err := classify.Load(classify.Builtin())
	if err != nil {
		tb.Fatal(err)
	}
	db := storage.NewDB(filepath.Join(tb.TempDir(), "apierr.db"))
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	p := NewPipeline(db, cat, nil, 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
	p.workers = 1
	return p
}
