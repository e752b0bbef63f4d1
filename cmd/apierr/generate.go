package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/traffic"
)

// GenerateCommand writes synthetic request-log lines (benchmark input).
type GenerateCommand struct{ m *Main }

// Run writes --lines lines to standard output. The defaults write the
// benchmarks' mix; the other flags make it as diverse as a real fleet's.
func (c *GenerateCommand) Run(ctx context.Context, args []string) error {
	fset := c.m.newFlagSet("generate", "generate [--lines N] [--seed N] [--errors SHARE] [--malformed SHARE] [--transport SHARE] [--other SHARE] [--start TIME] [--step DURATION | --span DURATION] [--vendors LIST] [--codes N] [--endpoints N] [--services N] [--runtime docker|cri]")
	lines := fset.Int("lines", 100_000, "how many `N` lines to write")
	seed := fset.Int64("seed", 1, "random `SEED`: the same seed writes the same lines")
	errs := fset.Float64("errors", 0.2, "share `F` of lines that are errors with a response, 0 to 1")
	malformed := fset.Float64("malformed", 0.001, "share `F` of malformed lines, 0 to 1")
	transport := fset.Float64("transport", 0, "share `F` of calls that got no response (timeouts, refused, DNS, TLS), 0 to 1")
	other := fset.Float64("other", 0, "share `F` of lines that are not requests (the application's other log lines, skipped), 0 to 1")
	start := fset.String("start", "", "`TIME` of the first line, RFC 3339 (default: now minus the span)")
	step := fset.Duration("step", 10*time.Millisecond, "`DURATION` between lines")
	span := fset.Duration("span", 0, "time `DURATION` the lines cover (sets --step to span / lines)")
	vendors := fset.String("vendors", "", "comma-separated vendor `IDS` to write (default: every vendor with a sample; see apierr codes)")
	codes := fset.Int("codes", 0, "codes per vendor, `N` most frequent first (default 0: all of the catalog's)")
	endpoints := fset.Int("endpoints", 1, "`N` endpoints per vendor")
	services := fset.Int("services", 0, "`N` calling services named on the lines (default 0: none)")
	runtime := fset.String("runtime", "", "write each line as the container `RUNTIME` logs it: docker (json-file) or cri (containerd, CRI-O); default: plain lines")
	if err := parseFlags(fset, args); err != nil {
		return err
	}
	share := func(f float64) bool { return f >= 0 && f <= 1 }
	switch {
	case *lines < 0:
		return usageErrorf("generate: --lines must be 0 or more")
	case !share(*errs) || !share(*malformed) || !share(*transport) || !share(*other) || *errs+*malformed+*transport+*other > 1:
		return usageErrorf("generate: --errors, --malformed, --transport and --other are shares from 0 to 1, together at most 1")
	case *codes < 0 || *endpoints < 0 || *services < 0:
		return usageErrorf("generate: --codes, --endpoints and --services must be 0 or more")
	case *span < 0 || *step < 0:
		return usageErrorf("generate: --span and --step must be 0 or more")
	case *runtime != "" && *runtime != "docker" && *runtime != "cri":
		return usageErrorf("generate: --runtime is docker or cri")
	}
	cat, err := classify.Load(classify.Builtin())
	if err != nil {
		return err
	}
	g := traffic.New(cat, *seed)
	g.Errors, g.Malformed, g.Transport, g.Other, g.Step = *errs, *malformed, *transport, *other, *step
	if *span > 0 && *lines > 0 {
		g.Step = *span / time.Duration(*lines)
	}
	g.Codes, g.Endpoints, g.Services = *codes, *endpoints, serviceNames(*services)
	if *vendors != "" {
		known := map[string]bool{}
		for _, id := range cat.Vendors() {
			known[id] = true
		}
		for _, id := range strings.Split(*vendors, ",") {
			id = strings.ToLower(strings.TrimSpace(id))
			if !known[id] {
				ids := cat.Vendors()
				sort.Strings(ids)
				return usageErrorf("generate: --vendors: unknown vendor %q (known: %s)", id, strings.Join(ids, ", "))
			}
			g.Vendors = append(g.Vendors, id)
		}
	}
	g.Start = time.Now().UTC().Add(-time.Duration(*lines) * g.Step)
	if *start != "" {
		if g.Start, err = time.Parse(time.RFC3339, *start); err != nil {
			return usageErrorf("--start: %v", err)
		}
	}
	w := bufio.NewWriterSize(c.m.Stdout, 1<<20)
	buf, framed := make([]byte, 0, 4096), make([]byte, 0, 8192)
	for i := 0; i < *lines; i++ {
		buf = g.Append(buf[:0])
		out := buf
		if *runtime != "" {
			at := g.Start.Add(time.Duration(i) * g.Step)
			framed = appendFramed(framed[:0], *runtime, at, buf)
			out = framed
		}
		if _, err := w.Write(out); err != nil {
			return err
		}
		if i%65536 == 0 && ctx.Err() != nil {
			break
		}
	}
	return w.Flush()
}

// serviceNames returns n calling services' names.
func serviceNames(n int) []string {
	base := []string{"checkout", "billing", "search", "notifications", "inventory", "shipping", "accounts", "loyalty"}
	var names []string
	for i := 0; i < n; i++ {
		name := base[i%len(base)]
		if i >= len(base) {
			name = fmt.Sprintf("%s-%d", name, i/len(base)+1)
		}
		names = append(names, name)
	}
	return names
}

// appendFramed appends line (ending in a newline) as a container runtime
// writes it to its log file at time at: Docker's json-file driver as one
// JSON object, CRI as "<time> stdout F <line>".
func appendFramed(dst []byte, runtime string, at time.Time, line []byte) []byte {
	if runtime == "cri" {
		dst = at.UTC().AppendFormat(dst, time.RFC3339Nano)
		dst = append(dst, " stdout F "...)
		return append(dst, line...)
	}
	text, _ := json.Marshal(string(line)) // a string always encodes
	dst = append(dst, `{"log":`...)
	dst = append(dst, text...)
	dst = append(dst, `,"stream":"stdout","time":"`...)
	dst = at.UTC().AppendFormat(dst, time.RFC3339Nano)
	return append(dst, "\"}\n"...)
}
