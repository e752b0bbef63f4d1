package classify_test

import (
	"strings"
	"testing"

	"github.com/apierr/apierr/classify"
)

// TestClassify_Gaps covers what the catalog authors found the classifier
// getting wrong: a known code behind an unknown one, verdicts that only the
// message tells, plain-text codes, and a string code that repeats the status.
func TestClassify_Gaps(t *testing.T) {
	cat := MustLoad(t)
	tests := []struct {
		name, line string
		vendor     string
		code       string
		category   classify.Category
		retry      classify.Retry
		known      bool
	}{
		// A known code later in the envelope's paths wins over an unknown one.
		{"StripeUnlistedDeclineCode", `{"url":"https://api.stripe.com/v1/charges","status":402,"body":{"error":{"code":"card_declined","decline_code":"brand_new_decline","message":"Your card was declined.","type":"card_error"}}}`,
			"stripe", "card_declined", classify.BusinessRule, classify.RetryNo, true},
		{"StripeListedDeclineCode", `{"url":"https://api.stripe.com/v1/charges","status":402,"body":{"error":{"code":"card_declined","decline_code":"insufficient_funds","message":"m","type":"card_error"}}}`,
			"stripe", "insufficient_funds", classify.BusinessRule, classify.RetryNo, true},
		{"StripeNothingKnown", `{"url":"https://api.stripe.com/v1/charges","status":400,"body":{"error":{"code":"brand_new_code","decline_code":"brand_new_decline","message":"m"}}}`,
			"stripe", "brand_new_decline", classify.Validation, classify.RetryNo, false},
		{"PayPalUnknownIssueKnownName", `{"url":"https://api-m.paypal.com/v2/checkout/orders","status":422,"body":{"name":"UNPROCESSABLE_ENTITY","details":[{"issue":"SOMETHING_NEW","description":"d"}],"message":"m"}}`,
			"paypal", "UNPROCESSABLE_ENTITY", classify.Validation, classify.RetryNo, true},
		{"GraphUnknownCodeKnownInnerError", `{"url":"https://graph.microsoft.com/v1.0/me","status":404,"body":{"error":{"code":"SomethingNew","message":"m","innerError":{"code":"itemNotFound"}}}}`,
			"msgraph", "itemNotFound", classify.NotFound, classify.RetryNo, true},
		{"GraphKnownCodeFirst", `{"url":"https://graph.microsoft.com/v1.0/me","status":404,"body":{"error":{"code":"itemNotFound","message":"m","innerError":{"code":"resourceNotFound"}}}}`,
			"msgraph", "itemNotFound", classify.NotFound, classify.RetryNo, true},
		{"GraphInnerStatusEcho", `{"url":"https://graph.microsoft.com/v1.0/users","status":429,"body":{"error":{"code":"SomethingNew","message":"m","innerError":{"code":"429"}}}}`,
			"msgraph", "SomethingNew", classify.RateLimit, classify.RetryAfter, false},

		// Message rules.
		{"GitHubSecondaryRateLimit403", `{"url":"https://api.github.com/repos/o/r/issues","status":403,"body":{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest"}}`,
			"github", "http_403", classify.RateLimit, classify.RetryAfter, true},
		{"GitHubPrimaryRateLimit403", `{"url":"https://api.github.com/user","status":403,"body":{"message":"API rate limit exceeded for user ID 1."}}`,
			"github", "http_403", classify.RateLimit, classify.RetryAfter, true},
		{"GitHubPlain403", `{"url":"https://api.github.com/repos/o/r","status":403,"body":{"message":"Resource not accessible by integration"}}`,
			"github", "http_403", classify.Permission, classify.RetryNo, true},
		{"SendGridCredits", `{"url":"https://api.sendgrid.com/v3/mail/send","status":401,"body":{"errors":[{"message":"Maximum credits exceeded","field":null,"help":null}]}}`,
			"sendgrid", "http_401", classify.Quota, classify.RetryNo, true},
		{"SendGridBadKey", `{"url":"https://api.sendgrid.com/v3/mail/send","status":401,"body":{"errors":[{"message":"The provided authorization grant is invalid, expired, or revoked","field":null,"help":null}]}}`,
			"sendgrid", "http_401", classify.Auth, classify.RetryNo, true},
		{"SendGridBlocked", `{"url":"https://api.sendgrid.com/v3/mail/send","status":403,"body":{"errors":[{"message":"You are TEMPORARILY BLOCKED from sending emails due to repeated bad requests.","field":null}]}}`,
			"sendgrid", "http_403", classify.RateLimit, classify.RetryAfter, true},

		// Plain-text codes (Slack incoming webhooks).
		{"SlackWebhookChannelNotFound", `{"url":"https://hooks.slack.com/services/T0/B0/x","status":404,"response_body":"channel_not_found"}`,
			"slack", "channel_not_found", classify.NotFound, classify.RetryNo, true},
		{"SlackWebhookInvalidPayload", `{"url":"https://hooks.slack.com/services/T0/B0/x","status":400,"response_body":"invalid_payload\n"}`,
			"slack", "invalid_payload", classify.Validation, classify.RetryNo, true},
		{"SlackWebhookNoText", `{"url":"https://hooks.slack.com/services/T0/B0/x","status":400,"response_body":"no_text"}`,
			"slack", "no_text", classify.Validation, classify.RetryNo, true},
		{"SlackWebhookActionProhibited", `{"url":"https://hooks.slack.com/services/T0/B0/x","status":403,"response_body":"action_prohibited"}`,
			"slack", "action_prohibited", classify.Permission, classify.RetryNo, true},
		{"SlackWebhookUnknownText", `{"url":"https://hooks.slack.com/services/T0/B0/x","status":410,"response_body":"channel_is_gone_now"}`,
			"slack", "channel_is_gone_now", classify.BusinessRule, classify.RetryNo, false},
		{"SlackWebhookSentence", `{"url":"https://hooks.slack.com/services/T0/B0/x","status":400,"response_body":"Bad things happened"}`,
			"slack", "http_400", classify.Validation, classify.RetryNo, true},
		{"SlackTextIn200IsNoError", `{"url":"https://hooks.slack.com/services/T0/B0/x","status":200,"response_body":"ok"}`,
			"slack", "", "", "", false},

		// A string code that repeats the status is no code.
		{"StringStatusEcho", `{"url":"https://api.example.net/x","status":429,"body":{"error":{"code":"429","message":"m","status":"RESOURCE_EXHAUSTED"}}}`,
			"api.example.net", "RESOURCE_EXHAUSTED", classify.RateLimit, classify.RetryAfter, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := classifyLine(t, cat, tc.line)
			if ev.Vendor != tc.vendor || ev.Code != tc.code || ev.Category != tc.category || ev.Retry != tc.retry || ev.Known != tc.known {
				t.Fatalf("got %+v\nwant vendor=%s code=%s %s %s known=%v", ev, tc.vendor, tc.code, tc.category, tc.retry, tc.known)
			}
		})
	}
}

// TestCatalog_WhyMessageRule checks the reason given for a stored error
// whose verdict a message rule decided: the rule's, when only one rule
// gives that verdict.
func TestCatalog_WhyMessageRule(t *testing.T) {
	cat := MustLoad(t)
	if got := cat.Why("sendgrid", "http_401", classify.Quota, classify.RetryNo); !strings.Contains(got, "credits") {
		t.Errorf("sendgrid http_401 quota: Why=%q, want the credits rule's reason", got)
	}
	if got := cat.Why("sendgrid", "http_401", classify.Auth, classify.RetryNo); !strings.Contains(got, "API key") {
		t.Errorf("sendgrid http_401 auth: Why=%q, want the status entry's reason", got)
	}
	if got := cat.Why("github", "http_403", classify.RateLimit, classify.RetryAfter); strings.Contains(got, "secondary") {
		t.Errorf("github http_403 rate_limit: Why=%q, two rules give this verdict: want no single rule's reason", got)
	}
}
