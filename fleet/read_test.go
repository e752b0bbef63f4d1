package fleet

import (
	"reflect"
	"testing"

	"github.com/prometheus/common/model"

	"github.com/apierr/apierr/report"
	"github.com/apierr/apierr/storage"
)

// TestHostRows_Services: counters with a service label give a host's
// services and each code's services, and the same vendor and code rows
// as counters without one.
func TestHostRows_Services(t *testing.T) {
	pt := func(v float64, labels ...string) *point {
		m := model.Metric{}
		for i := 0; i < len(labels); i += 2 {
			m[model.LabelName(labels[i])] = model.LabelValue(labels[i+1])
		}
		return &point{m: m, v: v}
	}
	h := newHostRows("log-a")
	all := func(model.Metric) bool { return true }
	for _, p := range []*point{
		pt(10, "__name__", requestsMetric, "vendor", "stripe", "service", "checkout"),
		pt(5, "__name__", requestsMetric, "vendor", "stripe", "service", ""),
		pt(3, "__name__", errorsMetric, "vendor", "stripe", "code", "card_declined", "category", "business_rule", "retry", "no", "service", "checkout"),
		pt(1, "__name__", errorsMetric, "vendor", "stripe", "code", "card_declined", "category", "business_rule", "retry", "no", "service", ""),
		pt(2, "__name__", malformedMetric, "reason", "json"),
	} {
		h.add(p, all)
	}
	s := h.source(nil)
	if want := []storage.VendorCount{{Vendor: "stripe", Requests: 15, Errors: 4}}; !reflect.DeepEqual(s.Vendors, want) {
		t.Errorf("Vendors=%+v, want %+v", s.Vendors, want)
	}
	if len(s.Codes) != 1 || s.Codes[0].Count != 4 {
		t.Errorf("Codes=%+v, want card_declined 4", s.Codes)
	}
	if want := []storage.ServiceCount{{Service: "checkout", Requests: 10, Errors: 3}}; !reflect.DeepEqual(s.Services, want) {
		t.Errorf("Services=%+v, want %+v", s.Services, want)
	}
	if want := []storage.CodeServiceCount{{Vendor: "stripe", Code: "card_declined", Service: "checkout", Count: 3}}; !reflect.DeepEqual(s.CodeServices, want) {
		t.Errorf("CodeServices=%+v, want %+v", s.CodeServices, want)
	}
	r := report.Build(report.Window{}, report.Window{}, []report.Source{s}, report.Options{By: report.ByService})
	if len(r.Groups) != 1 || r.Groups[0].Key != "checkout" || r.Groups[0].Failures[0].Count != 3 || r.Totals.Malformed != 2 {
		t.Errorf("Groups=%+v Totals=%+v, want checkout with 3 card_declined, 2 malformed", r.Groups, r.Totals)
	}
}
