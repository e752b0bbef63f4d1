package ingest

import (
	"context"
	"log/slog"
	"os"
	"time"
)

// maxPoll is the longest delay between polls of a followed file that has
// not changed for a while.
const maxPoll = time.Second

// send delivers a chunk unless ctx is done.
func (t *Tailer) send(ctx context.Context, c Chunk) bool {
	select {
	case t.C <- c:
		return true
	case <-ctx.Done():
		return false
	}
}

// read reads one file: to its end, then (with Follow) as it grows, until
// ctx is done, the file is rotated away and drained, or it idles. It
// reports whether it stopped for idleness.
func (t *Tailer) read(ctx context.Context, st *fileState, r *fileReader, reset, announce bool) (idle bool) {
	log := t.Logger.With("file", r.pos.Path)
	emit := func(c Chunk) bool {
		c.Input = st.input
		if !t.send(ctx, c) {
			return false
		}
		t.mu.Lock() // identify needs the live position
		st.pos = c.Pos
		t.mu.Unlock()
		return true
	}
	if (reset || announce) && !emit(Chunk{Pos: r.pos, Reset: reset}) {
		return false
	}
	var tick <-chan time.Time
	if t.Follow {
		t.mu.Lock()
		wakeCh := st.wake
		t.mu.Unlock()
		// Polling backs off from PollInterval to maxPoll while the file
		// does not change, so that many idle files cost little.
		var poll *time.Timer
		pollEvery := PollInterval
		if t.watch.subscribe(r.pos.Path, wakeCh) {
			defer t.watch.unsubscribe(r.pos.Path, wakeCh)
		} else {
			poll = time.NewTimer(pollEvery)
			defer poll.Stop()
			tick = poll.C
		}
		idleTimer := time.NewTimer(t.Idle)
		defer idleTimer.Stop()
		for {
			n, err := r.readToEOF(emit)
			if err != nil {
				t.warn(log, "read input", err)
				return false
			}
			if ctx.Err() != nil {
				return false
			}
			if !t.samePath(r) {
				t.drain(ctx, r, emit)
				return false
			}
			if n > 0 {
				idleTimer.Reset(t.Idle)
			}
			if poll != nil {
				if n > 0 {
					pollEvery = PollInterval
				} else {
					pollEvery = min(2*pollEvery, maxPoll)
				}
				poll.Reset(pollEvery)
			}
			select {
			case <-ctx.Done():
				return false
			case <-idleTimer.C:
				return true
			case <-wakeCh:
				r.pollOnly = false
			case <-tick:
				r.pollOnly = true
			}
		}
	}
	if _, err := r.readToEOF(emit); err != nil {
		t.warn(log, "read input", err)
	}
	return false
}

// warn logs a problem that may repeat with every read, within the
// tailer's warning budget, so that a file that keeps failing does not
// flood the journal.
func (t *Tailer) warn(log *slog.Logger, msg string, err error) {
	t.mu.Lock()
	ok := t.warnings.Pour(1)
	t.mu.Unlock()
	if ok {
		log.Warn(msg, "err", err)
	}
}

// samePath reports whether the reader's path still names its file.
func (t *Tailer) samePath(r *fileReader) bool {
	fi, err := os.Stat(r.pos.Path)
	return err == nil && keyOf(fi) == r.pos.Key
}

// drain reads a file that was renamed or deleted through its descriptor,
// until it stops growing for RotateWait: a writer that has not reopened
// its log yet still appends to it.
func (t *Tailer) drain(ctx context.Context, r *fileReader, emit func(Chunk) bool) {
	poll := max(t.RotateWait/10, 10*time.Millisecond)
	quiet := time.Duration(0)
	for quiet < t.RotateWait {
		n, err := r.readToEOF(emit)
		if err != nil || ctx.Err() != nil {
			return
		}
		if n > 0 {
			quiet = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(poll):
			quiet += poll
		}
	}
	r.finish(emit)
}
