// Command diverse writes the benchmark's diverse traffic: the lines of
// `apierr generate` spread over a longer span, each request's path given
// one of many resources, so that the counts fall into thousands of
// (vendor, code, endpoint) groups and tens of thousands of minute rows, as
// real traffic does. It is not part of apierr.
//
// usage: go run ./scripts/diverse [-lines N] [-span D] [-endpoints E] [-seed S] > diverse.jsonl
package main

import (
	"bufio"
	"bytes"
	"flag"
	"log"
	"math/rand"
	"os"
	"strconv"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/traffic"
)

func main() {
	lines := flag.Int("lines", 1_000_000, "lines to write")
	span := flag.Duration("span", 5*time.Hour, "time from the first line to the last")
	endpoints := flag.Int("endpoints", 1, "resources per vendor path (Zipf-like: a few are frequent); each multiplies the groups")
	seed := flag.Int64("seed", 1, "random seed")
	flag.Parse()
	cat, err := classify.Load(classify.Builtin())
	if err != nil {
		log.Fatal(err)
	}
	g := traffic.New(cat, *seed)
	g.Start = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	g.Step = *span / time.Duration(max(*lines, 1))
	rng := rand.New(rand.NewSource(*seed))
	zipf := rand.NewZipf(rng, 1.1, 4, uint64(max(*endpoints, 1)-1))
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	var buf, out []byte
	urlKey := []byte(`"url":"`)
	for range *lines {
		buf = g.Append(buf[:0])
		// Put the resource after the path: "…/path/r17/123".
		i := bytes.Index(buf, urlKey)
		if i < 0 {
			w.Write(buf)
			continue
		}
		j := bytes.IndexByte(buf[i+len(urlKey):], '"')
		if j < 0 {
			w.Write(buf)
			continue
		}
		end := i + len(urlKey) + j
		url := buf[i+len(urlKey) : end]
		if q := bytes.IndexByte(url, '?'); q >= 0 {
			end = i + len(urlKey) + q
		}
		out = append(out[:0], buf[:end]...)
		if out[len(out)-1] != '/' {
			out = append(out, '/')
		}
		out = append(out, 'r')
		out = strconv.AppendUint(out, zipf.Uint64(), 10)
		out = append(out, '/')
		out = strconv.AppendInt(out, int64(rng.Intn(1_000_000)), 10)
		out = append(out, buf[end:]...)
		w.Write(out)
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
}
