package daemon

import (
	"strconv"
	"testing"

	"github.com/apierr/apierr/classify"
)

// The interner gives equal strings for equal bytes, owns them (the bytes
// may change after), and starts afresh past its bound.
func TestInterner(t *testing.T) {
	var in interner
	b := []byte("GET /v1/orders/{id}")
	s := in.get(b)
	b[0] = 'P'
	if s != "GET /v1/orders/{id}" || in.get([]byte("GET /v1/orders/{id}")) != s {
		t.Fatalf("interned %q, want it unchanged by its bytes", s)
	}
	for i := range maxInterned + 10 {
		if got := in.get([]byte(strconv.Itoa(i))); got != strconv.Itoa(i) {
			t.Fatalf("get(%d) = %q", i, got)
		}
		if len(in) > maxInterned {
			t.Fatalf("holds %d, bound %d", len(in), maxInterned)
		}
	}
	var red interner
	msg := "No contact with email jane.doe@example.com"
	for range 2 {
		if got, want := red.redact(msg), classify.Redact(msg); got != want {
			t.Errorf("redact = %q, want %q", got, want)
		}
	}
}
