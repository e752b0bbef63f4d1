package classify_test

import (
	"math/rand/v2"
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
	for _, tc := range secretPaths {
		f.Add("POST", tc.path)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		e := classify.Endpoint(method, path)
		if len(e) > 160 || !utf8.ValidString(e) {
			t.Fatalf("Endpoint(%q, %q)=%q: too long or not UTF-8", method, path, e)
		}
		// Placeholders are stable: a template's own segments stay.
		for _, ph := range []string{"{id}", "{uuid}", "{hex}", "{email}", "{code}", "{token}"} {
			if got := classify.Endpoint("", "/"+ph); got != "/"+ph {
				t.Fatalf("Endpoint(%q)=%q, want it unchanged", "/"+ph, got)
			}
		}
	})
}

// secretPaths hold secrets as real integrations send them in URL paths;
// the secret part of each must not survive templating.
var secretPaths = []struct{ path, secret string }{
	{"/services/T0123ABCD/B0456EFGH/XyZaBcDeFgHiJkLmNoPqRsTu", "XyZaBcDeFgHiJkLmNoPqRsTu"},        // Slack webhook, letters only
	{"/services/T0123ABCD/B0456EFGH/v8Kq2mR7xTn4Lp9Wz3Ya6Hc1", "v8Kq2mR7xTn4Lp9Wz3Ya6Hc1"},        // Slack webhook, letters and digits
	{"/services/T0123ABCD/B0456EFGH/qwhvzkpmrtxsldfgbncjwyer", "qwhvzkpmrtxsldfgbncjwyer"},        // lower-case letters only
	{"/services/T0123ABCD/B0456EFGH/QWHVZKPMRTXSLDFGBNCJWYER", "QWHVZKPMRTXSLDFGBNCJWYER"},        // upper-case letters only
	{"/api/password/reset/kTfWqPzRbNmXcVyLhGdS", "kTfWqPzRbNmXcVyLhGdS"},                          // reset token
	{"/v1/invite/accept/mzqxwvkjplrtnbgdhfcs", "mzqxwvkjplrtnbgdhfcs"},                            // invitation token, lower case
	{"/v1/files/dGhpcyBpcyBhIHNlY3JldCB0b2tlbg", "dGhpcyBpcyBhIHNlY3JldCB0b2tlbg"},                // base64url
	{"/v1/files/ZXhhbXBsZS1zZWNyZXQ-dmFsdWVfaGVyZQ", "ZXhhbXBsZS1zZWNyZXQ-dmFsdWVfaGVyZQ"},        // base64url with - and _
	{"/v1/share/QkFTRS1zZWNyZXQ_bGV0dGVycw", "QkFTRS1zZWNyZXQ_bGV0dGVycw"},                        // base64url letters around _
	{"/auth/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhYmMifQ.c2lnbmF0dXJl", "eyJhbGciOiJIUzI1NiJ9"},        // JWT
	{"/hooks/catch/XKQZVWPLMNBRTGHD/", "XKQZVWPLMNBRTGHD"},                                        // webhook key
	{"/bot/AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage", "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"}, // bot token
	{"/v1/magic-link/yRbvQmHfTzXkWnLpDcGs", "yRbvQmHfTzXkWnLpDcGs"},
}

// wordPaths are ordinary endpoints: their segments stay as they are.
var wordPaths = []string{
	"/api/v1/orders", "/v1/products", "/api/v3/oauth/clients/customer-groups", "/backend/jsonrpc/v1",
	"/api/v3/oauth/clients/contacts/find-or-create", "/api/v3/oauth/clients/loyalty-transactions",
	"/api/v3/oauth/clients/promotion-attributes", "/v1/customers/balance_transactions",
	"/v1/payment_intents", "/v1/checkout/sessions", "/repos/octo/hello/pulls", "/v1/chat/completions",
	"/api/chat.postMessage", "/v1.0/me/mailFolders", "/services/data/sobjects/Account/describe",
	"/admin/api/storefront_access_tokens", "/v1/subscriptions/items", "/v2/loyalties/members",
	"/v1/vouchers/qualification", "/v1/organizations/memberships", "/api/getUserInfo",
	"/v1/createPaymentIntent", "/management/v1/projects", "/oauth/token", "/v1/webhook_endpoints",
}

func TestEndpoint_Secrets(t *testing.T) {
	for _, tc := range secretPaths {
		got := classify.Endpoint("POST", tc.path)
		if strings.Contains(got, tc.secret) {
			t.Errorf("Endpoint(%q)=%q: the secret survives", tc.path, got)
		}
		for part := range strings.SplitSeq(tc.secret, ".") {
			if len(part) >= 10 && strings.Contains(got, part) {
				t.Errorf("Endpoint(%q)=%q: %q survives", tc.path, got, part)
			}
		}
	}
	for _, p := range wordPaths {
		if got, want := classify.Endpoint("GET", p), "GET "+strings.TrimSuffix(p, "/"); got != want {
			t.Errorf("Endpoint(GET %q)=%q, want it unchanged", p, got)
		}
	}
	// Random strings of letters, as secret generators make them: at
	// least 99% of 20-letter and longer ones become placeholders.
	r := rand.New(rand.NewPCG(1, 2))
	for _, alphabet := range []string{"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"} {
		for _, n := range []int{20, 24, 32} {
			kept := 0
			const tries = 2000
			for range tries {
				b := make([]byte, n)
				for i := range b {
					b[i] = alphabet[r.IntN(len(alphabet))]
				}
				if strings.Contains(classify.Endpoint("GET", "/hooks/"+string(b)), string(b)) {
					kept++
				}
			}
			if kept > tries/100 {
				t.Errorf("%d-letter secrets from %.26s...: %d of %d kept, want at most 1%%", n, alphabet, kept, tries)
			}
		}
	}
}

// AppendEndpoint appends to what dst holds, cuts and mends only its own
// part, and gives what Endpoint gives.
func TestAppendEndpoint(t *testing.T) {
	paths := []string{"/api/v1/orders/12345/process", "", "/", "/v1/x?y=1#z", "/a//b/", "/" + strings.Repeat("abcdefgh/", 40),
		"/caf\xe9/\xff\xfe/orders", "/v1/" + strings.Repeat("é", 100)}
	for _, p := range paths {
		for _, prefix := range []string{"", "prefix \xff"} {
			got := string(classify.AppendEndpoint([]byte(prefix), "GET", p))
			if want := prefix + classify.Endpoint("GET", p); got != want {
				t.Errorf("AppendEndpoint(%q, GET, %q) = %q, want %q", prefix, p, got, want)
			}
			if !utf8.ValidString(got[len(prefix):]) || len(got)-len(prefix) > 160 {
				t.Errorf("AppendEndpoint(%q, GET, %q) = %q: invalid or too long", prefix, p, got)
			}
		}
	}
}
