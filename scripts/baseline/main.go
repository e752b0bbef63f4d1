// Command baseline does the least of apierr ingest's job, for the
// benchmark's comparison: it parses each line with fastjson (a fast,
// allocation-free JSON parser), reads the status, the URL's host and the
// error code of the body, and counts errors by (vendor host, code). It
// classifies nothing, keeps no endpoints, latencies or times and writes no
// database. It is not part of apierr.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"sort"
	"strconv"

	"github.com/valyala/fastjson"
)

type key struct{ host, code string }

func main() {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	counts := map[key]int{}
	var p, pb fastjson.Parser
	for sc.Scan() {
		v, err := p.ParseBytes(sc.Bytes())
		if err != nil {
			counts[key{"", "malformed"}]++
			continue
		}
		status := v.GetInt("status")
		var e *fastjson.Value
		switch b := v.Get("response_body"); {
		case b == nil:
		case b.Type() == fastjson.TypeString:
			s := b.GetStringBytes()
			if len(s) > 0 && s[0] == '{' {
				e, _ = pb.ParseBytes(s)
			}
		case b.Type() == fastjson.TypeObject:
			e = b
		}
		if status < 400 && (e == nil || e.Get("error") == nil) {
			continue
		}
		host := hostOf(v.GetStringBytes("url"))
		code := ""
		if e != nil {
			for _, path := range [][]string{{"key"}, {"error_code"}, {"code"}, {"error", "code"}} {
				if c := e.Get(path...); c != nil {
					if c.Type() == fastjson.TypeString {
						code = string(c.GetStringBytes())
					} else {
						code = c.String()
					}
					break
				}
			}
		}
		if code == "" {
			code = "http_" + strconv.Itoa(status)
		}
		counts[key{string(host), code}]++
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].host != keys[j].host {
			return keys[i].host < keys[j].host
		}
		return keys[i].code < keys[j].code
	})
	for _, k := range keys {
		fmt.Println(counts[k], k.host, k.code)
	}
}

// hostOf returns the host of an absolute URL.
func hostOf(u []byte) []byte {
	if i := bytes.Index(u, []byte("://")); i >= 0 {
		u = u[i+3:]
	}
	if i := bytes.IndexAny(u, "/?#"); i >= 0 {
		u = u[:i]
	}
	return u
}
