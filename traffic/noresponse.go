package traffic

import (
	"strconv"
	"strings"
	"time"
)

// failures are how HTTP clients log a call that got no response, with
// {url} and {host} to fill in: the spellings of Go's net/http, Java's
// java.net, Python's requests/httpx/urllib3/aiohttp, Node's axios/undici,
// PHP's Guzzle/cURL and .NET's HttpClient.
var failures = []struct {
	msg      string
	duration int // ms: a timeout takes the client's timeout
}{
	{`Post "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, 30000},
	{`Get "{url}": dial tcp 203.0.113.7:443: connect: connection refused`, 2},
	{`Get "{url}": dial tcp: lookup {host} on 127.0.0.53:53: no such host`, 5},
	{`Get "{url}": tls: failed to verify certificate: x509: certificate has expired or is not yet valid`, 40},
	{"java.net.SocketTimeoutException: Read timed out", 10000},
	{"java.net.ConnectException: Connection refused", 3},
	{"java.net.UnknownHostException: {host}", 4},
	{"requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='{host}', port=443): Read timed out. (read timeout=10)", 10000},
	{"httpx.ConnectError: [Errno 111] Connection refused", 2},
	{"aiohttp.client_exceptions.ClientConnectorDNSError: Cannot connect to host {host}:443 ssl:default [Name or service not known]", 6},
	{"Error: connect ETIMEDOUT 203.0.113.7:443", 5000},
	{"Error: connect ECONNREFUSED 203.0.113.7:443", 2},
	{"Error: read ECONNRESET", 120},
	{"Error: getaddrinfo ENOTFOUND {host}", 3},
	{"cURL error 28: Operation timed out after 30001 milliseconds with 0 bytes received", 30001},
	{"cURL error 6: Could not resolve host: {host}", 4},
	{"cURL error 7: Failed to connect to {host} port 443 after 3 ms: Connection refused", 3},
	{"cURL error 60: SSL certificate problem: unable to get local issuer certificate", 35},
	{"System.Threading.Tasks.TaskCanceledException: The request was canceled due to the configured HttpClient.Timeout of 100 seconds elapsing.", 100000},
	{"System.Net.Http.HttpRequestException: No such host is known. ({host}:443)", 4},
}

// noResponse appends a call that got no response: status 0 (or none) and
// the client's error; some POSTs carry an Idempotency-Key.
func (g *Generator) noResponse(dst []byte, ts time.Time) []byte {
	v := &g.vendors[g.rng.Intn(len(g.vendors))]
	f := failures[g.rng.Intn(len(failures))]
	method := "GET"
	if g.rng.Intn(2) == 0 {
		method = "POST"
	}
	url := v.host + g.path(v)
	host := strings.TrimPrefix(strings.TrimPrefix(v.host, "https://"), "http://")
	msg := strings.NewReplacer("{url}", url, "{host}", host).Replace(f.msg)
	dst = g.head(dst, ts, method, url, 0, f.duration)
	if method == "POST" && g.rng.Intn(3) == 0 {
		dst = append(dst, `,"request_headers":{"Idempotency-Key":"`...)
		dst = strconv.AppendInt(dst, g.rng.Int63(), 36)
		dst = append(dst, `"}`...)
	}
	dst = append(dst, `,"error":`...)
	dst = appendJSONString(dst, msg)
	return append(dst, "}\n"...)
}

// others are the application's own log lines, between its request lines:
// not requests, so skipped.
var others = []string{
	`{"ts":"{ts}","level":"info","msg":"user logged in","user_id":{n}}`,
	`{"ts":"{ts}","level":"debug","msg":"cache miss","key":"product:{n}"}`,
	`{"ts":"{ts}","level":"info","msg":"order placed","order_id":{n},"total_cents":4599}`,
	`{"ts":"{ts}","level":"warning","msg":"slow query","table":"orders","took_ms":{n}}`,
}

// other appends one of the application's other lines.
func (g *Generator) other(dst []byte, ts time.Time) []byte {
	line := others[g.rng.Intn(len(others))]
	line = strings.NewReplacer("{ts}", ts.Format(time.RFC3339Nano), "{n}", strconv.Itoa(g.rng.Intn(100_000))).Replace(line)
	return append(append(dst, line...), '\n')
}
