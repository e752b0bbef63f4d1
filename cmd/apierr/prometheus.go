package main

import (
	"context"
	"flag"
	"strings"
	"time"

	"github.com/apierr/apierr/classify"
	"github.com/apierr/apierr/fleet"
	"github.com/apierr/apierr/report"
)

// `apierr report --prometheus URL`: the fleet's report from the counters
// in an engine with the Prometheus query API (Prometheus, Thanos, Mimir,
// VictoriaMetrics). Counts are exact deltas of the counters (package
// fleet); what metrics cannot carry comes from the catalog or stays empty.

// promFlags are --prometheus and the flags that go with it.
type promFlags struct {
	fset       *flag.FlagSet
	url, match string
	creds      credentialFlags
}

// addPromFlags registers --prometheus and its credentials on fset; call it
// before addRemoteFlags, which registers --timeout when nothing has.
func addPromFlags(fset *flag.FlagSet) *promFlags {
	o := &promFlags{fset: fset}
	fset.StringVar(&o.url, "prometheus", "", "build the fleet's report from the counters in the engine at `URL` (Prometheus, Thanos, Mimir, VictoriaMetrics)")
	o.creds.register(fset, "prometheus", "the --prometheus engine")
	fset.StringVar(&o.match, "prometheus-match", "", "label `MATCHERS` that select apierr's targets, such as 'job=\"apierr\"'")
	if fset.Lookup("timeout") == nil {
		fset.Duration("timeout", 10*time.Second, "a source that does not answer within `DURATION` is reported as missing")
	}
	return o
}

// active says whether --prometheus was given.
func (o *promFlags) active() bool { return o.url != "" }

// read returns the fleet's rows for window (only vendor's, if set).
func (o *promFlags) read(ctx context.Context, m *Main, cat *classify.Catalog, window report.Window, vendor string, others bool) (*fleet.Fleet, error) {
	if others {
		return nil, usageErrorf("give --prometheus alone, not with --db or --remote")
	}
	token, user, password, err := o.creds.read(m.Getenv)
	if err != nil {
		return nil, err
	}
	p := fleet.NewPrometheus(o.url)
	p.BearerToken, p.Username, p.Password, p.CAFile, p.Match = token, user, password, o.creds.ca, o.match
	if g, ok := o.fset.Lookup("timeout").Value.(flag.Getter); ok {
		if d, ok := g.Get().(time.Duration); ok && d > 0 {
			p.Timeout = d
		}
	}
	return p.Read(ctx, window, report.PreviousOf(window), report.TrendStep(window), fleet.Filter{Vendor: vendor}, catalogEntries(cat))
}

// catalogEntries gives the catalog's message, status and range of a known code:
// what the counters do not carry.
func catalogEntries(cat *classify.Catalog) func(vendor, code string) (fleet.Entry, bool) {
	entries := map[[2]string]fleet.Entry{}
	for _, v := range cat.Vendors() {
		for _, e := range cat.Entries(v) {
			entries[[2]string{e.Vendor, e.Code}] = fleet.Entry{Message: e.Message, HTTPStatus: e.Status, Range: e.Range}
		}
	}
	return func(vendor, code string) (fleet.Entry, bool) {
		e, ok := entries[[2]string{strings.ToLower(vendor), code}]
		return e, ok
	}
}
