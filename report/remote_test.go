package report_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apierr/apierr/report"
	"github.com/apierr/apierr/storage"
)

// TestWriteSource: a Source survives its trip between a daemon and
// `apierr report --remote` whole, maps with (vendor, code) keys included.
func TestWriteSource(t *testing.T) {
	t0 := time.Date(2000, 1, 2, 3, 4, 5, 0, time.UTC)
	w := report.Window{From: t0, To: t0.Add(time.Hour)}
	src := report.Source{
		Vendors:    []storage.VendorCount{{Vendor: "piggy", Requests: 10, Errors: 3, Retryable: 1}},
		Codes:      []storage.CodeCount{{Vendor: "piggy", Code: "55031", HTTPStatus: 400, Category: "not_found", Retry: "no", Known: true, Count: 3, FirstSeen: t0, LastSeen: t0.Add(time.Minute)}},
		Endpoints:  []storage.EndpointCount{{Vendor: "piggy", Code: "55031", Endpoint: "GET /x/{id}", Count: 3}},
		Samples:    []storage.SampleCount{{Vendor: "piggy", Code: "55031", Message: "<b>\u202e\x1b[31m", Count: 3}},
		Malformed:  []storage.ReasonCount{{Reason: "not JSON", Count: 2}},
		Trend:      map[string][]int64{"piggy": {1, 2}},
		GroupTrend: map[[2]string][]int64{{"piggy", "55031"}: {1, 2}},
		FirstSeen:  map[[2]string]time.Time{{"piggy", "55031"}: t0},
	}
	var b bytes.Buffer
	if err := report.WriteSource(&b, w, src); err != nil {
		t.Fatal(err)
	}
	gotW, got, err := report.ReadSourceJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	if gotW != w {
		t.Errorf("window=%v, want %v", gotW, w)
	}
	if !reflect.DeepEqual(got, src) {
		t.Errorf("source=%+v\nwant %+v", got, src)
	}

	for _, tc := range []struct{ name, in string }{
		{"NotJSON", "hello"},
		{"OtherJSON", `{"totals":{"requests":1}}`},
		{"BadRows", `{"format":"apierr-source/1","rows":{"Vendors":"x"}}`},
		{"BadKey", `{"format":"apierr-source/1","rows":{"FirstSeen":[{"k":"piggy","v":"2000-01-02T03:04:05Z"}]}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := report.ReadSourceJSON(strings.NewReader(tc.in)); err == nil {
				t.Error("read as rows")
			}
		})
	}
	t.Run("NewerFields", func(t *testing.T) {
		in := `{"format":"apierr-source/1","rows":{"Vendors":[{"Vendor":"a","Requests":1}],"FromTheFuture":[1,2]}}`
		_, got, err := report.ReadSourceJSON(strings.NewReader(in))
		if err != nil || len(got.Vendors) != 1 {
			t.Errorf("rows with a field this version does not know: %v %+v", err, got)
		}
	})
}
