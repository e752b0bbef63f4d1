package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// containerRuntime writes an application's lines as a container runtime
// does, and rotates its file as the kubelet or Docker does.
type containerRuntime struct {
	name string
	file string // the live file, under the logs directory
	glob string // the input's glob, under the logs directory
	// frame wraps one message in the runtime's lines, cut into parts of
	// at most part bytes.
	frame func(t time.Time, stream, msg string, part int) string
	// rotate moves the live file away (generation gen) and compresses
	// older ones; the runtime then writes a new live file.
	rotate func(tb testing.TB, path string, gen int)
}

var containerRuntimes = []containerRuntime{
	{
		name: "CRI",
		file: "pods/shop_checkout-7d9f8b6c5d-x2k4p_0b1c2d3e/api/0.log",
		glob: "pods/*/*/*.log*",
		frame: func(t time.Time, stream, msg string, part int) string {
			var b strings.Builder
			ts := t.Format(time.RFC3339Nano)
			for len(msg) > part {
				fmt.Fprintf(&b, "%s %s P %s\n", ts, stream, msg[:part])
				msg = msg[part:]
			}
			fmt.Fprintf(&b, "%s %s F %s\n", ts, stream, msg)
			return b.String()
		},
		// The kubelet renames 0.log to 0.log.<time> and gzips the
		// rotated files but the newest.
		rotate: func(tb testing.TB, path string, gen int) {
			stamp := func(g int) string { return fmt.Sprintf("%s.20261120-1000%02d", path, g) }
			mustRename(tb, path, stamp(gen))
			if gen > 1 {
				gzipAway(tb, stamp(gen-1), stamp(gen-1)+".gz")
			}
		},
	},
	{
		name: "Docker",
		file: "docker/4f3c/4f3c-json.log",
		glob: "docker/4f3c/4f3c-json.log*",
		frame: func(t time.Time, stream, msg string, part int) string {
			var b strings.Builder
			msg += "\n"
			for len(msg) > 0 {
				p := msg[:min(part, len(msg))]
				msg = msg[len(p):]
				line, _ := json.Marshal(struct {
					Log    string `json:"log"`
					Stream string `json:"stream"`
					Time   string `json:"time"`
				}{p, stream, t.Format(time.RFC3339Nano)})
				b.Write(line)
				b.WriteByte('\n')
			}
			return b.String()
		},
		// Docker (max-file, compress) renames -json.log to -json.log.1,
		// the older ones to .2.gz, .3.gz, ...
		rotate: func(tb testing.TB, path string, gen int) {
			for k := gen; k >= 2; k-- {
				if _, err := os.Stat(fmt.Sprintf("%s.%d.gz", path, k)); err == nil {
					mustRename(tb, fmt.Sprintf("%s.%d.gz", path, k), fmt.Sprintf("%s.%d.gz", path, k+1))
				}
			}
			if gen > 1 {
				gzipAway(tb, path+".1", path+".2.gz")
			}
			mustRename(tb, path, path+".1")
		},
	},
}

func mustRename(tb testing.TB, from, to string) {
	tb.Helper()
	if err := os.Rename(from, to); err != nil {
		tb.Error(err)
	}
}

// gzipAway compresses from to to, and removes from.
func gzipAway(tb testing.TB, from, to string) {
	tb.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		tb.Error(err)
		return
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	if err := os.WriteFile(to+".tmp", b.Bytes(), 0o644); err != nil {
		tb.Error(err)
	}
	mustRename(tb, to+".tmp", to)
	os.Remove(from)
}

// TestRun_ContainerKillRestart writes container logs as a runtime does
// (long messages in parts, stderr lines between a message's parts, writes
// that stop in the middle of a frame or of a message), rotates them as the
// kubelet or Docker does, and kills the daemon with SIGKILL at random
// moments. At the end every count equals one clean pass over the lines
// the application printed.
func TestRun_ContainerKillRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes for several seconds")
	}
	for k, rt := range containerRuntimes {
		t.Run(rt.name, func(t *testing.T) {
			dir := t.TempDir()
			logs := filepath.Join(dir, "logs")
			path := filepath.Join(logs, rt.file)
			os.MkdirAll(filepath.Dir(path), 0o755)
			dbPath := filepath.Join(dir, "apierr.db")
			config := filepath.Join(dir, "apierr.yaml")
			os.WriteFile(config, []byte(fmt.Sprintf("db: %s\ninputs:\n  - paths: [%q]\nflush_interval: 50ms\nmetrics_listen: \"\"\n",
				dbPath, filepath.Join(logs, rt.glob))), 0o644)

			const total = 4500
			rng := rand.New(rand.NewSource(int64(k) + 10))
			killRng := rand.New(rand.NewSource(int64(k) + 20))
			var all []string
			writerDone := make(chan struct{})
			go func() {
				defer close(writerDone)
				gen := 0
				for i := 0; i < total; {
					var b strings.Builder
					for n := 1 + rng.Intn(60); n > 0 && i < total; n-- {
						at := trafficStart.Add(time.Duration(i) * time.Second)
						msg := testTraffic(i)
						all = append(all, msg)
						whole := rt.frame(at, "stdout", msg, 40+rng.Intn(200))
						if i%9 == 0 {
							// A stderr line between the message's parts.
							cut := strings.IndexByte(whole, '\n') + 1
							e := fmt.Sprintf("stderr line %d", i)
							all = append(all, e)
							whole = whole[:cut] + rt.frame(at, "stderr", e, 100) + whole[cut:]
						}
						b.WriteString(whole)
						i++
					}
					// Written in pieces cut anywhere: in a frame, between
					// a message's parts.
					w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
					if err != nil {
						t.Error(err)
						return
					}
					s := b.String()
					for len(s) > 0 {
						n := min(len(s), 1+rng.Intn(4096))
						w.WriteString(s[:n])
						s = s[n:]
						time.Sleep(time.Duration(rng.Intn(3)) * time.Millisecond)
					}
					w.Close()
					time.Sleep(time.Duration(5+rng.Intn(30)) * time.Millisecond)
					if i/1500 > gen {
						gen = i / 1500
						rt.rotate(t, path, gen)
					}
				}
			}()

			killUntilDone(t, config, dbPath, dir, &all, writerDone, killRng)
		})
	}
}
