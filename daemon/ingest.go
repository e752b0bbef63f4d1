package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/apierr/apierr/ingest"
)

// ReadFiles reads files once, each from where the last run stopped, to its
// end, and commits: what `apierr ingest FILE...` does. The database's own
// files (see Own) are never read, even when named.
func (p *Pipeline) ReadFiles(ctx context.Context, files []string) error {
	own := OwnFiles(p.db.Path, "")
	var keep []string
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && own.Has(f, fileKey(fi)) {
			p.log.Warn("not an input: the database's own file", "file", f)
			continue
		}
		keep = append(keep, f)
	}
	positions, err := p.db.Positions(ctx)
	if err != nil {
		return err
	}
	t := ingest.NewTailer(positions)
	t.Files, t.Follow, t.MaxLine, t.Logger = keep, false, p.MaxLine(), p.log
	go t.Run(ctx)
	chunks := make(chan Chunk)
	go func() { // owns chunks
		defer close(chunks)
		for c := range t.C {
			chunks <- Chunk{0, c}
		}
	}()
	return p.Ingest(ctx, chunks)
}

// ReadStream reads r (standard input) to its end as chunks of whole lines
// and commits. A stream has no position, so it counts every time.
func (p *Pipeline) ReadStream(ctx context.Context, r io.Reader) error {
	chunks := make(chan Chunk, 4)
	var readErr error
	maxLine := p.MaxLine()
	go func() { // owns chunks
		defer close(chunks)
		// A container log piped in is framed as a file is: its first
		// line says so, and chunks end where no message is open (or,
		// past what a file reader would carry, inside one).
		framing, first := ingest.FramingNone, true
		lineMax := maxLine
		var open [2]bool // per stream: a message is open at the chunk's end
		lr := ingest.NewLineReader(r, maxLine)
		var ch ingest.Chunk
		for ctx.Err() == nil {
			line, err := lr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if first && err == nil {
				framing, first = ingest.Detect(line), false
				if framing != ingest.FramingNone {
					lineMax = framing.MaxMessageBytes(maxLine)
					lr.SetMax(lineMax) // a raw line may be longer than its inner line
				}
				ch.Framing = framing
			}
			switch {
			case errors.Is(err, ingest.ErrLineTooLong):
				ch.TooLong++
			case err != nil:
				readErr = fmt.Errorf("read standard input: %w", err)
				return
			default:
				ch.Data = append(append(ch.Data, line...), '\n')
				if framing != ingest.FramingNone {
					open = framing.Open(open, ch.Data[len(ch.Data)-len(line)-1:])
				}
			}
			full := len(ch.Data) >= ingest.ChunkSize || ch.TooLong > 0
			if framing != ingest.FramingNone && (open[0] || open[1]) {
				full = len(ch.Data) >= lineMax || ch.TooLong > 0 // cut inside a message only past the limit
			}
			if full {
				chunks <- Chunk{0, ch}
				ch = ingest.Chunk{Framing: framing, Continues: open}
			}
		}
		if len(ch.Data) > 0 {
			chunks <- Chunk{0, ch}
		}
	}()
	if err := p.Ingest(ctx, chunks); err != nil {
		return err
	}
	return readErr
}

// PeakRSS is the process's peak resident set size in MiB.
func PeakRSS() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // KiB on Linux
}
