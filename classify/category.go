package classify

// Category is what kind of failure an error is. The vocabulary is fixed
// (the classification contract): reports, metrics and alerting rules key on it.
type Category string

// The categories.
const (
	Auth          Category = "auth"
	Permission    Category = "permission"
	Validation    Category = "validation"
	NotFound      Category = "not_found"
	Conflict      Category = "conflict"
	BusinessRule  Category = "business_rule"
	Configuration Category = "configuration"
	RateLimit     Category = "rate_limit"
	Quota         Category = "quota"
	InProgress    Category = "in_progress"
	Server        Category = "server"
	Upstream      Category = "upstream"
	Unavailable   Category = "unavailable"
	Protocol      Category = "protocol"
	Timeout       Category = "timeout" // no response in time
	Network       Category = "network" // no response: refused, reset, DNS, TLS
	Unknown       Category = "unknown"
)

// Categories lists every category, in the order reports show them.
var Categories = []Category{Auth, Permission, Validation, NotFound, Conflict, BusinessRule,
	Configuration, RateLimit, Quota, InProgress, Server, Upstream, Unavailable, Protocol, Timeout, Network, Unknown}

// Retry is the retry verdict of an error.
type Retry string

// The retry verdicts.
const (
	RetryBackoff Retry = "retry"       // transient: retry with exponential backoff and jitter
	RetryAfter   Retry = "retry_after" // throttled or busy: wait for Retry-After or the limit's reset
	RetryNo      Retry = "no"          // permanent: something must change first
)

// Retries lists every verdict.
var Retries = []Retry{RetryBackoff, RetryAfter, RetryNo}

// Valid reports whether c is in the vocabulary.
func (c Category) Valid() bool {
	for _, k := range Categories {
		if c == k {
			return true
		}
	}
	return false
}

// Valid reports whether r is in the vocabulary.
func (r Retry) Valid() bool { return r == RetryBackoff || r == RetryAfter || r == RetryNo }

// Retryable reports whether a retry can succeed at all.
func (r Retry) Retryable() bool { return r == RetryBackoff || r == RetryAfter }

// defaultWhy is the reason given for a verdict when the catalog entry has
// no reason of its own.
var defaultWhy = map[Category]string{
	Auth:          "credentials are missing, invalid or expired: refresh or fix them, then retry once",
	Permission:    "the credentials lack the right: grant it; the same call fails until then",
	Validation:    "the request is invalid: the same data fails again, fix it",
	NotFound:      "the object does not exist: retrying returns the same answer",
	Conflict:      "the object already exists or is already linked: reconcile instead of retrying",
	BusinessRule:  "a domain rule refuses this request: it does not pass unchanged",
	Configuration: "the account, program or shop is not set up or inactive: an operator must act",
	RateLimit:     "throttled: wait for Retry-After or the limit's reset, then retry",
	Quota:         "a plan or usage limit is used up: retrying does not help before it resets or is raised",
	InProgress:    "the resource is busy: wait, then retry",
	Server:        "the vendor failed internally: retry with exponential backoff and jitter",
	Upstream:      "the vendor's own dependency failed: retry with backoff",
	Unavailable:   "gateway error or outage: retry with exponential backoff and jitter",
	Protocol:      "the integration uses the API wrongly: fix the client code",
	Timeout:       "no response in time: the call may have taken effect; retry when it is safe to repeat",
	Network:       "no response (connection refused or reset, DNS, TLS): retry when it is safe to repeat",
	Unknown:       "nothing says this is transient: do not retry blindly",
}
