package ingest

// The log shapes the auto mapping knows. Most shapes differ only in their
// field names, which one list of candidate paths per field covers. A few
// reuse a name with another meaning (a "duration" in seconds, nanoseconds
// or milliseconds; a "time" that is a duration; a "service" that is the
// vendor), so a line's markers, keys found anywhere in it, decide which
// reading applies once the whole line has been seen.

// Markers of the shapes, one bit each.
const (
	shOTel      uint16 = 1 << iota // "attributes": an OpenTelemetry record (Elasticsearch exporter)
	shEnvoy                        // Envoy/Istio access log: response_code, upstream_cluster
	shTraefik                      // Traefik access log: OriginStatus, DownstreamStatus, RequestHost
	shKong                         // Kong file/http-log: upstream_uri, latencies
	shTelescope                    // Laravel Telescope entry: content.uri
	shStructlog                    // structlog: "event" as a string, response_status at the top
	shHAR                          // HAR entry: startedDateTime
	shMsg                          // "msg"
	shLevel                        // "level" as a string
	shTimeKey                      // "time"
	shECS                          // "@timestamp"
	shOTLP                         // an OTLP/JSON export line (set by the OTLP path)
)

// shSlog is a Go logger's line (log/slog, logrus): msg, a textual level and
// time. Go encodes a time.Duration as integer nanoseconds.
const shSlog = shMsg | shLevel | shTimeKey

var markers = []struct {
	path string
	bit  uint16
	str  bool
}{
	{"attributes", shOTel, false},
	{"response_code", shEnvoy, false},
	{"upstream_cluster", shEnvoy, false},
	{"OriginStatus", shTraefik, false},
	{"DownstreamStatus", shTraefik, false},
	{"RequestHost", shTraefik, false},
	{"upstream_uri", shKong, false},
	{"latencies", shKong, false},
	{"content.uri", shTelescope, false},
	{"response_status", shStructlog, false},
	{"event", shStructlog, true}, // structlog's message key; ECS's "event" is an object
	{"startedDateTime", shHAR, false},
	{"msg", shMsg, false},
	{"level", shLevel, true},
	{"time", shTimeKey, false},
	{"@timestamp", shECS, false},
}

var (
	always      = cond{}
	inKong      = cond{need: shKong}
	notKong     = cond{not: [2]uint16{shKong}}
	inHAR       = cond{need: shHAR}
	notHAR      = cond{not: [2]uint16{shHAR}}
	notOTel     = cond{not: [2]uint16{shOTel, shOTLP}}
	inStructlog = cond{need: shStructlog}
	inSlog      = cond{need: shSlog, not: [2]uint16{shStructlog}}
	plainDur    = cond{not: [2]uint16{shStructlog, shSlog}}
)

// autoPaths lists, per field and most preferred first, the paths of the
// auto mapping and when each applies. The sources of each shape's names:
//   - ECS: https://www.elastic.co/guide/en/ecs/current/ecs-http.html
//   - OpenTelemetry HTTP semantic conventions:
//     https://opentelemetry.io/docs/specs/semconv/http/http-spans/
//   - Envoy/Istio: https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage
//     and https://istio.io/latest/docs/tasks/observability/logs/access-log/
//   - Traefik: https://doc.traefik.io/traefik/observability/access-logs/
//   - Kong: https://developer.konghq.com/plugins/file-log/
//   - Laravel Telescope: https://github.com/laravel/telescope (ClientRequestWatcher)
//   - HAR 1.2: http://www.softwareishard.com/blog/har-12-spec/
var autoPaths = []struct {
	field Field
	path  string
	cond  cond
}{
	{FieldTime, "ts", always},
	{FieldTime, "time", notHAR}, // in HAR, "time" is the duration
	{FieldTime, "timestamp", always},
	{FieldTime, "@timestamp", always},
	{FieldTime, "startedDateTime", always}, // HAR
	{FieldTime, "StartUTC", always},        // Traefik
	{FieldTime, "start_time", always},      // Envoy
	{FieldTime, "started_at", always},      // Kong, epoch ms
	{FieldTime, "timeUnixNano", always},    // OTLP
	{FieldTime, "observedTimeUnixNano", always},
	{FieldTime, "created_at", always}, // Telescope
	{FieldTime, "request.time", always},
	{FieldTime, "request.started_at", always},
	{FieldTime, "date", always},

	{FieldMethod, "method", always},
	{FieldMethod, "request.method", always},
	{FieldMethod, "http.request.method", always},
	{FieldMethod, "http.method", always},
	{FieldMethod, "RequestMethod", always}, // Traefik
	{FieldMethod, "content.method", always},
	{FieldMethod, "verb", always},

	{FieldURL, "url", always},
	{FieldURL, "uri", always},
	{FieldURL, "request.url", always},
	{FieldURL, "request.uri", always},
	{FieldURL, "url.full", always},
	{FieldURL, "url.original", always},
	{FieldURL, "http.url", always},
	{FieldURL, "request_url", always},
	{FieldURL, "content.uri", always},
	{FieldURL, "ServiceURL", always},

	{FieldHost, "host", always},
	{FieldHost, "request.host", always},
	{FieldHost, "service.host", inKong}, // the upstream, not the gateway of request.url
	{FieldHost, "url.domain", always},
	{FieldHost, "server.address", always},
	{FieldHost, "http.host", always},
	{FieldHost, "destination.domain", always},
	{FieldHost, "destination.address", always},
	{FieldHost, "authority", always},   // Envoy
	{FieldHost, "RequestHost", always}, // Traefik
	{FieldHost, "upstream_host", always},

	{FieldPath, "path", always},
	{FieldPath, "request.path", always},
	{FieldPath, "upstream_uri", inKong},
	{FieldPath, "url.path", always},
	{FieldPath, "RequestPath", always},

	{FieldStatus, "status", always},
	{FieldStatus, "status_code", always},
	{FieldStatus, "response.status", always},
	{FieldStatus, "response.status_code", always},
	{FieldStatus, "response.statusCode", always},
	{FieldStatus, "http.response.status_code", always},
	{FieldStatus, "http.status_code", always},
	{FieldStatus, "statusCode", always},
	{FieldStatus, "response_status", always}, // structlog
	{FieldStatus, "content.response_status", always},
	{FieldStatus, "response_code", always}, // Envoy
	{FieldStatus, "OriginStatus", always},  // Traefik: the vendor's answer
	{FieldStatus, "DownstreamStatus", always},

	{FieldLatency, "duration_ms", always},
	{FieldLatency, "latency_ms", always},
	{FieldLatency, "elapsed_ms", always},
	{FieldLatency, "response_time_ms", always},
	{FieldLatency, "duration:s", inStructlog}, // httpx's elapsed.total_seconds()
	{FieldLatency, "duration:ns", inSlog},     // Go's time.Duration
	{FieldLatency, "duration", plainDur},
	{FieldLatency, "latency", always},
	{FieldLatency, "elapsed:s", inStructlog},
	{FieldLatency, "elapsed", always},
	{FieldLatency, "response.duration_ms", always},
	{FieldLatency, "response.time_taken:ns", always},
	{FieldLatency, "event.duration:ns", always},
	{FieldLatency, "OriginDuration:ns", always}, // Traefik
	{FieldLatency, "Duration:ns", always},
	{FieldLatency, "latencies.proxy", always}, // Kong: the upstream's time
	{FieldLatency, "latencies.request", always},
	{FieldLatency, "content.duration", always},
	{FieldLatency, "time", inHAR},

	{FieldBody, "response_body", always},
	{FieldBody, "response.body", always},
	{FieldBody, "http.response.body.content", always},
	{FieldBody, "response.content.text", always}, // HAR
	{FieldBody, "response.body_content", always},
	{FieldBody, "content.response", always}, // Telescope
	{FieldBody, "resp_body", always},
	{FieldBody, "body", notOTel}, // an OpenTelemetry body is the log message

	{FieldHeaders, "response_headers", always},
	{FieldHeaders, "response.headers", always},
	{FieldHeaders, "http.response.header", always},
	{FieldHeaders, "http.response.headers", always},
	{FieldHeaders, "content.response_headers", always},
	{FieldHeaders, "origin_*", always}, // Traefik
	{FieldHeaders, "downstream_*", always},

	{FieldRequestHeaders, "request_headers", always},
	{FieldRequestHeaders, "request.headers", always},
	{FieldRequestHeaders, "http.request.header", always},
	{FieldRequestHeaders, "http.request.headers", always},
	{FieldRequestHeaders, "content.headers", always},
	{FieldRequestHeaders, "request_*", always}, // Traefik

	{FieldError, "error.message", always},
	{FieldError, "error", always},
	{FieldError, "err.message", always},
	{FieldError, "err", always},
	{FieldError, "exception.message", always},
	{FieldError, "response._error", always}, // Chrome's HAR
	{FieldError, "upstream_transport_failure_reason", always},
	{FieldError, "response_code_details", always},

	{FieldErrorType, "error.type", always},
	{FieldErrorType, "exception.type", always},
	{FieldErrorType, "error.code", always},
	{FieldErrorType, "err.code", always},
	{FieldErrorType, "response_flags", always}, // Envoy: UF, UT, ...

	{FieldTraceID, "trace_id", always},
	{FieldTraceID, "traceId", always},
	{FieldTraceID, "trace.id", always},
	{FieldTraceID, "traceID", always},
	{FieldTraceID, "TraceId", always},
	{FieldTraceID, "request_id", always},
	{FieldTraceID, "requestId", always},
	{FieldTraceID, "http.request.id", always},
	{FieldTraceID, "correlation_id", always},

	{FieldService, "service.name", notKong}, // in Kong, the vendor's service entity
	{FieldService, "resource.attributes.service.name", always},
	{FieldService, "resource.service.name", always},
	{FieldService, "service_name", always},
}

// shapeName names the shape of a decoded line from its markers and the
// path its status came from (none for a call that got no response).
func shapeName(bits uint16, statusPath string) string {
	switch {
	case bits&shOTLP != 0:
		return "otlp"
	case bits&shHAR != 0:
		return "har"
	case bits&shKong != 0:
		return "kong"
	case bits&shTraefik != 0:
		return "traefik"
	case bits&shEnvoy != 0:
		return "envoy"
	case bits&shTelescope != 0:
		return "telescope"
	case bits&shStructlog != 0:
		return "structlog"
	case bits&shOTel != 0:
		return "otel"
	case bits&shSlog == shSlog:
		return "slog"
	case statusPath == "http.response.status_code" && bits&shECS != 0:
		return "ecs"
	case statusPath == "http.response.status_code":
		return "otel"
	}
	for i := 0; i < len(statusPath); i++ {
		if statusPath[i] == '.' {
			return "nested"
		}
	}
	return "flat"
}
