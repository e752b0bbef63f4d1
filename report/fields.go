package report

// The second round's report sections. Their JSON names are the contract of
// `apierr report --format json`: add fields, never rename or remove one.

// HostRow is one host's line: a host is one database (or one daemon) of a
// fleet, named by its config's host.
type HostRow struct {
	Host      string  `json:"host"`
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
}

// HostCount is how often a failure occurred on one host.
type HostCount struct {
	Host  string `json:"host"`
	Count int64  `json:"count"`
}

// ServiceRow is one calling service's line.
type ServiceRow struct {
	Service   string  `json:"service"`
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
}

// ServiceCount is how often a failure occurred in one calling service.
type ServiceCount struct {
	Service string `json:"service"`
	Count   int64  `json:"count"`
}

// Latency is a set of latency percentiles, in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// EndpointRow is one (vendor, endpoint) line, with its latency.
type EndpointRow struct {
	Vendor    string   `json:"vendor"`
	Endpoint  string   `json:"endpoint"`
	Requests  int64    `json:"requests"`
	Errors    int64    `json:"errors"`
	ErrorRate float64  `json:"error_rate"`
	Latency   *Latency `json:"latency_ms,omitempty"`
}

// SourceInfo says where a report's numbers come from.
type SourceInfo struct {
	Kind string   `json:"kind"` // db, prometheus or remote
	URLs []string `json:"urls"` // the databases' paths or the engines' and daemons' URLs
}

// Missing is a source that did not answer.
type Missing struct {
	Source string `json:"source"`
	Error  string `json:"error"`
}

// PreviousTotals sums the failures of the previous window.
type PreviousTotals struct {
	Errors    int64 `json:"errors"`
	Retryable int64 `json:"retryable"`
	Unknown   int64 `json:"unknown"`
}
