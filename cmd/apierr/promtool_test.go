package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The Prometheus files shipped in etc/prometheus, relative to this package.
const (
	promDir        = "../../etc/prometheus"
	promRules      = promDir + "/apierr-rules.yml"
	promAlerts     = promDir + "/apierr-alerts.yml"
	promTestsGlob  = promDir + "/tests/*.yml"
	promScrapeConf = promDir + "/prometheus.yml"
)

// ruleFile is the part of a Prometheus rule file these tests read.
type ruleFile struct {
	Groups []struct {
		Rules []struct {
			Record string `yaml:"record"`
			Alert  string `yaml:"alert"`
			Expr   string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// ruleTestFile is the part of a promtool unit test file these tests read.
type ruleTestFile struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
		PromQLExprTest []struct {
			Expr       string `yaml:"expr"`
			ExpSamples []any  `yaml:"exp_samples"`
		} `yaml:"promql_expr_test"`
	} `yaml:"tests"`
}

func readPromYAML(tb testing.TB, path string, v any) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
}

// TestPromtool_CheckRules: promtool accepts the rule files and the scrape
// configuration.
func TestPromtool_CheckRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (Debian: apt-get install prometheus); .ci/run installs it")
	}
	for _, args := range [][]string{
		{"check", "rules", promRules, promAlerts},
		// The scrape configuration names the rule files by their
		// installed paths; check it for syntax without them.
		{"check", "config", "--syntax-only", promScrapeConf},
	} {
		if out, err := exec.Command(promtool, args...).CombinedOutput(); err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}

// TestPromtool_TestRules runs the rules' unit tests, and checks that every
// recording rule and every alert has one: each recorded series is the
// expression of a test with expected samples, and each alert is tested
// both firing and quiet.
func TestPromtool_TestRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (Debian: apt-get install prometheus); .ci/run installs it")
	}
	files, err := filepath.Glob(promTestsGlob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no unit test files match %s", promTestsGlob)
	}
	sort.Strings(files)

	// Coverage: which records and alerts the test files exercise.
	recorded := map[string]bool{} // record name → has expected samples
	firing := map[string]bool{}   // alert → a case expects it to fire
	quiet := map[string]bool{}    // alert → a case expects no alert
	for _, f := range files {
		var tf ruleTestFile
		readPromYAML(t, f, &tf)
		for _, tc := range tf.Tests {
			for _, e := range tc.PromQLExprTest {
				if len(e.ExpSamples) > 0 {
					recorded[e.Expr] = true
				}
			}
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					firing[a.Alertname] = true
				} else {
					quiet[a.Alertname] = true
				}
			}
		}
	}
	for _, path := range []string{promRules, promAlerts} {
		var rf ruleFile
		readPromYAML(t, path, &rf)
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				switch {
				case r.Record != "" && !recorded[r.Record]:
					t.Errorf("%s: recording rule %s has no promql_expr_test with expected samples under %s", path, r.Record, promTestsGlob)
				case r.Alert != "" && !firing[r.Alert]:
					t.Errorf("%s: alert %s has no test case where it fires", path, r.Alert)
				case r.Alert != "" && !quiet[r.Alert]:
					t.Errorf("%s: alert %s has no test case where it stays quiet", path, r.Alert)
				}
			}
		}
	}

	if testing.Short() {
		t.Skip("promtool test rules takes seconds")
	}
	out, err := exec.Command(promtool, append([]string{"test", "rules"}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}
