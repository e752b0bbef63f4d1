package ingest_test

import (
	"testing"

	"github.com/apierr/apierr/ingest"
)

func TestServiceFromPath(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name, path, want string
	}{
		{"Pods", "/var/log/pods/shop_checkout-7d4b9c8f6d-x2k9p_0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0/checkout/0.log", "shop/checkout"},
		{"PodsRestarted", "/var/log/pods/shop_checkout-7d4b9c8f6d-x2k9p_0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0/checkout/3.log", "shop/checkout"},
		{"PodsOtherReplica", "/var/log/pods/shop_checkout-7d4b9c8f6d-q8wzt_99999999-4f50-6172-8394-a5b6c7d8e9f0/checkout/0.log", "shop/checkout"},
		{"PodsRotated", "/var/log/pods/shop_checkout-7d4b9c8f6d-x2k9p_0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0/checkout/0.log.20261120-100000", "shop/checkout"},
		{"PodsRotatedGz", "/var/log/pods/shop_checkout-7d4b9c8f6d-x2k9p_0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0/checkout/0.log.20261120-100000.gz", "shop/checkout"},
		{"PodsSidecar", "/var/log/pods/shop_checkout-7d4b9c8f6d-x2k9p_0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0/istio-proxy/0.log", "shop/istio-proxy"},
		{"PodsStatefulSet", "/var/log/pods/billing_ledger-0_5a5a5a5a-4f50-6172-8394-a5b6c7d8e9f0/ledger/1.log", "billing/ledger"},
		{"PodsHostMountedElsewhere", "/host/var/log/pods/shop_web-abcde_uid/web/0.log", "shop/web"},
		{"Containers", "/var/log/containers/checkout-7d4b9c8f6d-x2k9p_shop_checkout-" + id + ".log", "shop/checkout"},
		{"ContainersDashedName", "/var/log/containers/ledger-0_billing_ledger-writer-" + id + ".log", "billing/ledger-writer"},
		{"ContainersShortID", "/var/log/containers/web-1_shop_web-0123abcd.log", ""},
		{"Docker", "/var/lib/docker/containers/" + id + "/" + id + "-json.log", ""},
		{"DockerRotated", "/var/lib/docker/containers/" + id + "/" + id + "-json.log.1", ""},
		{"Plain", "/var/log/egress/app.jsonl", ""},
		{"PodsNotALog", "/var/log/pods/shop_web-abcde_uid/web/notes.txt", ""},
		{"PodsTwoFields", "/var/log/pods/shop_web/web/0.log", ""},
		{"Relative", "pods/shop_web-abcde_uid/web/0.log", "shop/web"},
		{"Empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ingest.ServiceFromPath(tc.path); got != tc.want {
				t.Fatalf("ServiceFromPath=%q, want %q", got, tc.want)
			}
		})
	}
}

func TestParsePodLogPath(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		path string
		want ingest.PodLog
	}{
		{"/var/log/pods/shop_checkout-7d4b9c8f6d-x2k9p_0b1c2d3e/checkout/0.log",
			ingest.PodLog{Namespace: "shop", Pod: "checkout-7d4b9c8f6d-x2k9p", Container: "checkout", Workload: "checkout"}},
		{"/var/log/containers/ledger-0_billing_ledger-" + id + ".log",
			ingest.PodLog{Namespace: "billing", Pod: "ledger-0", Container: "ledger", Workload: "ledger"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			got, ok := ingest.ParsePodLogPath(tc.path)
			if !ok || got != tc.want {
				t.Fatalf("ParsePodLogPath=%+v %v, want %+v", got, ok, tc.want)
			}
		})
	}
}

func TestWorkload(t *testing.T) {
	for _, tc := range []struct{ pod, want string }{
		{"checkout-7d4b9c8f6d-x2k9p", "checkout"},           // Deployment
		{"checkout-api-5f6b8c9d7-jq4zw", "checkout-api"},    // Deployment, shorter hash
		{"node-agent-x2k9p", "node-agent"},                  // DaemonSet, ReplicaSet, Job
		{"ledger-0", "ledger"},                              // StatefulSet
		{"ledger-12", "ledger"},                             // StatefulSet
		{"nightly-export-29412345-b7t6q", "nightly-export"}, // CronJob's Job
		{"web-store", "web-store"},                          // vowels: not a suffix
		{"kube-apiserver-node1", "kube-apiserver-node1"},    // static pod: as is
		{"standalone", "standalone"},
		{"trailing-", "trailing-"},
	} {
		t.Run(tc.pod, func(t *testing.T) {
			if got := ingest.Workload(tc.pod); got != tc.want {
				t.Fatalf("Workload=%q, want %q", got, tc.want)
			}
		})
	}
}
