package classify_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/ingest"
)

// transportSpellings are errors as HTTP clients log them when a call got no
// response, by language and library, with the code each must map to.
var transportSpellings = []struct{ client, err, code string }{
	// Go net/http, net, crypto/tls.
	{"go", `Get "https://api.example.com/v1/x": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, "timeout"},
	{"go", `Post "https://api.example.com/v1/x": dial tcp 203.0.113.7:443: i/o timeout`, "timeout"},
	{"go", `Get "https://api.example.com/": net/http: TLS handshake timeout`, "timeout"},
	{"go", `Get "https://api.example.com/": dial tcp 203.0.113.7:443: connect: connection refused`, "connection_refused"},
	{"go", `Get "https://api.example.com/": dial tcp: lookup api.example.com on 127.0.0.53:53: no such host`, "dns"},
	{"go", `Get "https://api.example.com/": read tcp 10.0.0.2:51234->203.0.113.7:443: read: connection reset by peer`, "connection_reset"},
	{"go", `Post "https://api.example.com/v1/x": EOF`, "connection_reset"},
	{"go", `Post "https://api.example.com/v1/x": write tcp 10.0.0.2:51234->203.0.113.7:443: write: broken pipe`, "connection_reset"},
	{"go", `Get "https://api.example.com/": tls: failed to verify certificate: x509: certificate signed by unknown authority`, "tls"},
	{"go", `Get "https://api.example.com/": x509: certificate has expired or is not yet valid`, "tls"},
	{"go", `Get "https://api.example.com/": dial tcp 203.0.113.7:443: connect: no route to host`, "network"},
	// Java (java.net, java.net.http, javax.net.ssl, OkHttp).
	{"java", "java.net.SocketTimeoutException: Read timed out", "timeout"},
	{"java", "java.net.SocketTimeoutException: connect timed out", "timeout"},
	{"java", "java.net.http.HttpTimeoutException: request timed out", "timeout"},
	{"java", "java.net.http.HttpConnectTimeoutException: HTTP connect timed out", "timeout"},
	{"java", "java.net.ConnectException: Connection refused", "connection_refused"},
	{"java", "java.net.UnknownHostException: api.example.com", "dns"},
	{"java", "java.net.UnknownHostException: api.example.com: Name or service not known", "dns"},
	{"java", "java.net.SocketException: Connection reset", "connection_reset"},
	{"java", "java.io.IOException: HTTP/1.1 header parser received no bytes", "connection_reset"},
	{"java", "javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target", "tls"},
	{"java", "java.net.NoRouteToHostException: No route to host", "network"},
	// Python requests / urllib3 / httpx / aiohttp.
	{"python", "requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='api.example.com', port=443): Read timed out. (read timeout=10)", "timeout"},
	{"python", "requests.exceptions.ConnectTimeout: HTTPSConnectionPool(host='api.example.com', port=443): Max retries exceeded with url: /v1/x (Caused by ConnectTimeoutError(<urllib3.connection.HTTPSConnection object at 0x7f>, 'Connection to api.example.com timed out. (connect timeout=5)'))", "timeout"},
	{"python", "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.example.com', port=443): Max retries exceeded with url: /v1/x (Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x7f>: Failed to establish a new connection: [Errno 111] Connection refused'))", "connection_refused"},
	{"python", "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.example.com', port=443): Max retries exceeded with url: / (Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x7f>: Failed to establish a new connection: [Errno -2] Name or service not known'))", "dns"},
	{"python", "urllib3.exceptions.NameResolutionError: <urllib3.connection.HTTPSConnection object at 0x7f>: Failed to resolve 'api.example.com' ([Errno -3] Temporary failure in name resolution)", "dns"},
	{"python", "requests.exceptions.ConnectionError: ('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))", "connection_reset"},
	{"python", "requests.exceptions.ConnectionError: ('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))", "connection_reset"},
	{"python", "requests.exceptions.SSLError: HTTPSConnectionPool(host='api.example.com', port=443): Max retries exceeded with url: / (Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)')))", "tls"},
	{"python", "httpx.ConnectTimeout", "timeout"},
	{"python", "httpx.ReadTimeout: The read operation timed out", "timeout"},
	{"python", "httpx.ConnectError: [Errno 111] Connection refused", "connection_refused"},
	{"python", "httpx.ConnectError: [Errno 8] nodename nor servname provided, or not known", "dns"},
	{"python", "httpx.RemoteProtocolError: Server disconnected without sending a response.", "connection_reset"},
	{"python", "aiohttp.client_exceptions.ClientConnectorError: Cannot connect to host api.example.com:443 ssl:default [Connect call failed ('203.0.113.7', 443)]", "network"},
	{"python", "aiohttp.client_exceptions.ClientConnectorError: Cannot connect to host api.example.com:443 ssl:default [Connection refused]", "connection_refused"},
	{"python", "aiohttp.client_exceptions.ClientConnectorDNSError: Cannot connect to host api.example.com:443 ssl:default [Name or service not known]", "dns"},
	{"python", "aiohttp.client_exceptions.ServerDisconnectedError: Server disconnected", "connection_reset"},
	{"python", "aiohttp.client_exceptions.ClientConnectorCertificateError: Cannot connect to host api.example.com:443 ssl:True [SSLCertVerificationError: (1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed')]", "tls"},
	{"python", "asyncio.exceptions.TimeoutError", "timeout"},
	// Node (axios, undici/fetch, got).
	{"node", "Error: connect ETIMEDOUT 203.0.113.7:443", "timeout"},
	{"node", "AxiosError: timeout of 5000ms exceeded (ECONNABORTED)", "timeout"},
	{"node", "ECONNABORTED", "timeout"},
	{"node", "TypeError: fetch failed (cause: ConnectTimeoutError: Connect Timeout Error (attempted address: api.example.com:443, timeout: 10000ms) UND_ERR_CONNECT_TIMEOUT)", "timeout"},
	{"node", "HeadersTimeoutError: Headers Timeout Error UND_ERR_HEADERS_TIMEOUT", "timeout"},
	{"node", "TimeoutError: The operation was aborted due to timeout", "timeout"},
	{"node", "RequestError: Timeout awaiting 'request' for 5000ms", "timeout"},
	{"node", "Error: connect ECONNREFUSED 127.0.0.1:443", "connection_refused"},
	{"node", "Error: read ECONNRESET", "connection_reset"},
	{"node", "Error: socket hang up", "connection_reset"},
	{"node", "SocketError: other side closed UND_ERR_SOCKET", "connection_reset"},
	{"node", "Error: getaddrinfo ENOTFOUND api.example.com", "dns"},
	{"node", "Error: getaddrinfo EAI_AGAIN api.example.com", "dns"},
	{"node", "Error: certificate has expired CERT_HAS_EXPIRED", "tls"},
	{"node", "Error: unable to verify the first certificate UNABLE_TO_VERIFY_LEAF_SIGNATURE", "tls"},
	{"node", "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames", "tls"},
	{"node", "Error: connect EHOSTUNREACH 203.0.113.7:443", "network"},
	// PHP Guzzle / cURL.
	{"php", "GuzzleHttp\\Exception\\ConnectException: cURL error 28: Operation timed out after 30001 milliseconds with 0 bytes received (see https://curl.haxx.se/libcurl/c/libcurl-errors.html)", "timeout"},
	{"php", "cURL error 28: Resolving timed out after 2511 milliseconds", "timeout"},
	{"php", "cURL error 6: Could not resolve host: api.example.com (see https://curl.haxx.se/libcurl/c/libcurl-errors.html) for https://api.example.com/v1/x", "dns"},
	{"php", "cURL error 7: Failed to connect to api.example.com port 443 after 3 ms: Connection refused", "connection_refused"},
	{"php", "[curl] 7: Failed connect to api.example.com:443; Operation now in progress", "connection_refused"},
	{"php", "cURL error 35: OpenSSL SSL_connect: Connection reset by peer in connection to api.example.com:443", "tls"},
	{"php", "cURL error 60: SSL certificate problem: unable to get local issuer certificate", "tls"},
	{"php", "cURL error 56: Recv failure: Connection reset by peer", "connection_reset"},
	{"php", "cURL error 52: Empty reply from server", "connection_reset"},
	// .NET HttpClient.
	{"dotnet", "System.Threading.Tasks.TaskCanceledException: The request was canceled due to the configured HttpClient.Timeout of 100 seconds elapsing.", "timeout"},
	{"dotnet", "System.Threading.Tasks.TaskCanceledException: A task was canceled.", "timeout"},
	{"dotnet", "System.Net.Http.HttpRequestException: No such host is known. (api.example.com:443)", "dns"},
	{"dotnet", "System.Net.Http.HttpRequestException: Name or service not known (api.example.com:443)", "dns"},
	{"dotnet", "System.Net.Http.HttpRequestException: No connection could be made because the target machine actively refused it. (api.example.com:443)", "connection_refused"},
	{"dotnet", "System.Net.Http.HttpRequestException: Connection refused (api.example.com:443)", "connection_refused"},
	{"dotnet", "System.Net.Http.HttpRequestException: An error occurred while sending the request. ---> System.IO.IOException: Unable to read data from the transport connection: An existing connection was forcibly closed by the remote host.", "connection_reset"},
	{"dotnet", "System.Net.Http.HttpRequestException: The SSL connection could not be established, see inner exception. ---> System.Security.Authentication.AuthenticationException: The remote certificate is invalid", "tls"},
	{"dotnet", "System.Net.Sockets.SocketException (10060): A connection attempt failed because the connected party did not properly respond after a period of time", "timeout"},
	{"dotnet", "System.Net.Http.HttpRequestException: The response ended prematurely.", "connection_reset"},
	// Anything else without a response is a network failure.
	{"any", "something went wrong", "network"},
}

// TestClassify_Transport classifies a call without a response under every
// spelling, method and idempotency key: the code from the spelling, the
// category from the code, the verdict from the method and the key.
func TestClassify_Transport(t *testing.T) {
	cl := classify.NewClassifier(MustLoad(t))
	methods := []struct {
		method string
		key    bool
		retry  classify.Retry
	}{
		{"GET", false, classify.RetryBackoff},
		{"PUT", false, classify.RetryBackoff},
		{"DELETE", false, classify.RetryBackoff},
		{"HEAD", false, classify.RetryBackoff},
		{"POST", false, classify.RetryNo},
		{"PATCH", false, classify.RetryNo},
		{"POST", true, classify.RetryBackoff},
		{"PATCH", true, classify.RetryBackoff},
		{"", false, classify.RetryNo}, // a method the log does not give is not known to be safe
	}
	for _, sp := range transportSpellings {
		for _, m := range methods {
			rec := &ingest.Record{Method: m.method, Host: "api.picqer.com", Path: "/api/v1/orders", Error: []byte(sp.err), IdempotencyKey: m.key}
			ev := cl.Classify(rec)
			want := classify.Network
			if sp.code == "timeout" {
				want = classify.Timeout
			}
			if !ev.Error || ev.Code != sp.code || ev.Category != want || ev.Retry != m.retry || !ev.Known || ev.HTTPStatus != 0 || ev.Vendor != "picqer" {
				t.Errorf("%s %q %s key=%v: got %+v, want picqer %s %s %s", sp.client, sp.err, m.method, m.key, ev, sp.code, want, m.retry)
			}
			if ev.Why == "" || ev.Doc == "" || ev.Message == "" {
				t.Errorf("%s %q: Why=%q Doc=%q Message=%q, want all set", sp.client, sp.err, ev.Why, ev.Doc, ev.Message)
			}
		}
	}
	// Reports group stored errors by code and verdict: the reason follows.
	cat := MustLoad(t)
	if got := cat.Why("picqer", "timeout", classify.Timeout, classify.RetryNo); got == cat.Why("picqer", "timeout", classify.Timeout, classify.RetryBackoff) {
		t.Errorf("Why for a timeout that must not be retried = the one for a safe retry: %q", got)
	}
}

// TestClassify_TransportGolden classifies the records of
// testdata/classify/generic/transport.records (one JSON object per line:
// method, url, host, error, idempotency_key) and compares with the golden.
func TestClassify_TransportGolden(t *testing.T) {
	cl := classify.NewClassifier(MustLoad(t))
	const in, golden = "../testdata/classify/generic/transport.records", "../testdata/classify/generic/transport.golden"
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		var r struct {
			Method, Host, Path, Error string
			IdempotencyKey            bool `json:"idempotency_key"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		ev := cl.Classify(&ingest.Record{Method: r.Method, Host: r.Host, Path: r.Path, Error: []byte(r.Error), IdempotencyKey: r.IdempotencyKey})
		enc.Encode(struct {
			Line int `json:"line"`
			classify.Event
		}{n, ev})
	}
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./classify -update)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("%s differs from %s:\n%s", in, golden, diffLines(want, out.Bytes()))
	}
}

// TestClassify_NoResponseNoError: status 0 without an error is not a
// transport failure (the decoder reports such a line as malformed).
func TestClassify_NoResponseNoError(t *testing.T) {
	ev := classify.NewClassifier(MustLoad(t)).Classify(&ingest.Record{Method: "GET", Host: "api.example.com"})
	if ev.Error {
		t.Fatalf("got %+v, want no error", ev)
	}
}
