// Command baseline does the job of apierr ingest the plain way, for the
// benchmark's comparison: encoding/json decodes every line into a struct,
// then the body of every error, and errors are counted by host and code.
// It is not part of apierr.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"sort"
)

type line struct {
	Status int             `json:"status"`
	URL    string          `json:"url"`
	Body   json.RawMessage `json:"response_body"`
}

type envelope struct {
	Code      any `json:"code"`
	ErrorCode any `json:"error_code"`
	Key       any `json:"key"`
	Error     any `json:"error"`
}

func main() {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	counts := map[string]int{}
	for sc.Scan() {
		var l line
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			counts["malformed"]++
			continue
		}
		body := []byte(l.Body)
		var s string
		if json.Unmarshal(body, &s) == nil {
			body = []byte(s)
		}
		var e envelope
		isJSON := json.Unmarshal(body, &e) == nil
		if l.Status < 400 && !(isJSON && e.Error != nil) {
			continue
		}
		host := ""
		if u, err := url.Parse(l.URL); err == nil {
			host = u.Host
		}
		code := fmt.Sprint("http_", l.Status)
		for _, c := range []any{e.Key, e.ErrorCode, e.Code} {
			if c != nil {
				code = fmt.Sprint(c)
				break
			}
		}
		counts[host+" "+code]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Println(counts[k], k)
	}
}
